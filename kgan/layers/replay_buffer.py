"""A FIFO replay buffer of discriminator codes, kept as Keras state.

MaEM-GAN (Liu et al., AAAI 2023, "RB-MaEM") estimates the entropy of the
generated distribution in the discriminator's embedding space with a nearest
neighbour search over the last N codes (N = 1024 in the paper). This module
holds those codes as *model state*: ``keras.Variable``\\s created in
``__init__``, so they are

* saved and restored with the model (``.keras`` files, ``BackupAndRestore``);
* placed by the active ``tf.distribute`` strategy (create the layer, or the
  model that owns it, inside ``strategy.scope()``).

Distribution. Under ``MirroredStrategy`` every replica sees only its slice of
the global batch. :meth:`ReplayBuffer.write` first gathers the codes of the
whole global batch with ``ReplicaContext.all_gather`` (replica 0's rows first,
which is the order of the global batch), so every replica writes the same
rows in the same order and all copies of the buffer stay identical -- and
identical to the buffer a single device would hold after the same global
batch. The variables use ``aggregation="only_first_replica"``: the replicas'
(identical) new values are reduced by taking replica 0's.

FIFO semantics (checked by the tests). ``size`` rows, a write pointer
``pointer`` (the row the next code goes to) and a fill count ``count``.
Writing ``n`` codes puts them in rows ``pointer, pointer + 1, ...`` modulo
``size``, overwriting the oldest entries once the buffer is full; the buffer
never grows or shrinks. (The official MaEM-GAN code drops ``batch_size``
entries but adds one per step, so its buffer shrinks to a single batch after
17 steps at batch 64; this layer does not reproduce that.) When ``n > size``
only the last ``size`` codes are kept.
"""
import keras
import tensorflow as tf

from kgan.utils import check_bool, check_positive_int


@keras.saving.register_keras_serializable(package="kgan")
class ReplayBuffer(keras.layers.Layer):
    """FIFO buffer of the last ``size`` codes of width ``code_dim``.

    Args:
        size: number of codes kept (N; the paper uses 1024). Must be >= 1.
        code_dim: width of a code (m, the discriminator's code size).
        gather: under ``tf.distribute``, gather the global batch before
            writing (default True; see the module docstring). With False each
            replica would write its own slice and replicas' buffers would only
            agree on replica 0's rows -- use it only without a strategy.

    Call: ``memory = buffer(codes)`` returns the valid rows *before* the write
    (the neighbours ``codes`` are searched among) and then writes ``codes``.
    ``buffer.read()`` and ``buffer.write(codes)`` do the two halves.

    Example:
        >>> buf = kgan.layers.ReplayBuffer(4, 2)
        >>> buf.write(tf.constant([[1., 0.], [0., 1.], [1., 1.]]))
        >>> buf.read().numpy()            # the 3 codes written so far
        >>> buf.write(tf.constant([[2., 2.], [3., 3.]]))
        >>> buf.ordered().numpy()         # oldest first: [0,1], [1,1], [2,2], [3,3]
    """

    def __init__(self, size, code_dim, gather=True, **kwargs):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        self.size = check_positive_int("size", size)
        self.code_dim = check_positive_int("code_dim", code_dim)
        self.gather = check_bool("gather", gather)
        self.values = self.add_weight(shape=(self.size, self.code_dim), initializer="zeros",
                                      dtype="float32", trainable=False, name="values",
                                      aggregation="only_first_replica")
        self.pointer = self.add_weight(shape=(), initializer="zeros", dtype="int32", trainable=False,
                                       name="pointer", aggregation="only_first_replica")
        self.count = self.add_weight(shape=(), initializer="zeros", dtype="int32", trainable=False,
                                     name="count", aggregation="only_first_replica")
        self.built = True

    # ------------------------------------------------------------------ checks
    def _check_codes(self, codes):
        codes = tf.convert_to_tensor(codes)
        if codes.shape.rank != 2:
            raise ValueError(
                f"ReplayBuffer {self.name!r} takes codes of shape (batch, code_dim={self.code_dim}); "
                f"received shape {tuple(codes.shape)}.")
        if codes.shape[-1] is not None and codes.shape[-1] != self.code_dim:
            raise ValueError(
                f"Code dimension mismatch: ReplayBuffer {self.name!r} holds codes of width "
                f"code_dim={self.code_dim} but received codes of width {codes.shape[-1]} "
                f"(shape {tuple(codes.shape)}). Build the buffer with the discriminator's code size.")
        return tf.cast(codes, tf.float32)

    # ------------------------------------------------------------------ read / write
    def read(self):
        """The valid rows (``count`` of them), in storage order, as a (count, code_dim) tensor.

        Rows are written from row 0 onwards, so before the buffer is full the
        valid rows are exactly ``values[:count]``; once full, all rows are.
        """
        return tf.identity(self.values[:tf.convert_to_tensor(self.count)])

    def ordered(self):
        """The valid rows oldest first (a FIFO view, for inspection and tests)."""
        count = tf.convert_to_tensor(self.count)
        full = tf.equal(count, self.size)
        start = tf.where(full, tf.convert_to_tensor(self.pointer), 0)
        idx = (start + tf.range(count)) % self.size
        return tf.gather(tf.convert_to_tensor(self.values), idx)

    def _global(self, codes):
        ctx = tf.distribute.get_replica_context()
        if (not self.gather or ctx is None or ctx.num_replicas_in_sync == 1
                or tf.distribute.in_cross_replica_context()):
            return codes
        return ctx.all_gather(codes, axis=0)

    def write(self, codes):
        """Append ``codes`` (n, code_dim) FIFO (gathered over replicas first).

        Gradients never flow into the buffer: the codes are stop-gradient'ed.
        """
        codes = tf.stop_gradient(self._global(self._check_codes(codes)))
        n = tf.shape(codes)[0]
        keep = tf.minimum(n, self.size)
        codes = codes[n - keep:]
        pointer = tf.convert_to_tensor(self.pointer)
        # the kept codes are the last `keep` of n: they land where they would
        # have landed had all n been written one after another
        rows = (pointer + (n - keep) + tf.range(keep)) % self.size
        new_values = tf.tensor_scatter_nd_update(tf.convert_to_tensor(self.values), rows[:, None], codes)
        self.values.assign(new_values)
        self.pointer.assign((pointer + n) % self.size)
        self.count.assign(tf.minimum(tf.convert_to_tensor(self.count) + n, self.size))
        return new_values

    def reset(self):
        """Empty the buffer (count and pointer 0, rows zero)."""
        self.values.assign(tf.zeros_like(self.values))
        self.pointer.assign(0)
        self.count.assign(0)

    def call(self, codes):
        memory = self.read()
        with tf.control_dependencies([memory]):
            self.write(codes)
        return memory

    def compute_output_shape(self, input_shape):
        return (None, self.code_dim)

    def get_config(self):
        config = super().get_config()
        config.update(size=self.size, code_dim=self.code_dim, gather=self.gather)
        return config
