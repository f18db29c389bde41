"""Class-conditioning losses: ReACGAN's data-to-data cross-entropy and ACGAN's classifier loss.

* :class:`D2DCE` -- the data-to-data cross-entropy of ReACGAN (Kang et al.,
  "Rebooting ACGAN", NeurIPS 2021, Eq. 7), in two variants: the paper's
  formula (default) and the official StudioGAN code's row-max shift.
* :class:`ClassifierCrossEntropy` -- the auxiliary classifier's softmax
  cross-entropy (ACGAN, Odena et al. 2017, Eq. 2-3).

Both are ``keras.losses.Loss`` subclasses. Called as ``loss(y_true, y_pred)``
they use Keras' reduction, which -- like every Keras loss -- divides by the
number of replicas under a ``tf.distribute`` strategy. kgan models instead
call :meth:`D2DCE.per_sample` / :meth:`ClassifierCrossEntropy.per_sample` and
take the mean themselves, because the base GAN scales every loss term for the
replica count once (``GAN.scaled``).
"""
import keras
import tensorflow as tf

from kgan.utils import check_bool, check_choice

__all__ = ["D2DCE", "ClassifierCrossEntropy", "D2DCE_VARIANTS"]

#: ``"exact"``: the paper's formula; ``"official"``: StudioGAN's code (row-max shift).
D2DCE_VARIANTS = ("exact", "official")

_MASKED = -1e9  # stands for -inf in masked log-sum-exp entries (exp underflows to exactly 0)


def _as_labels(labels, name="labels"):
    labels = tf.convert_to_tensor(labels)
    if labels.dtype.is_floating or labels.dtype == tf.bool or labels.dtype == tf.string:
        raise TypeError(f"`{name}` must hold integer class ids; received dtype {labels.dtype.name}.")
    if labels.shape.rank == 2 and labels.shape[-1] == 1:
        labels = tf.reshape(labels, [-1])
    if labels.shape.rank != 1:
        raise ValueError(
            f"`{name}` must be integer class ids of shape (batch,) (not one-hot); received shape "
            f"{tuple(labels.shape)}.")
    return tf.cast(labels, tf.int32)


def _keras_labels(y_true):
    # keras.losses.Loss.__call__ converts y_true to the loss dtype (float): back to class ids.
    y_true = tf.convert_to_tensor(y_true)
    return tf.cast(tf.round(y_true), tf.int32) if y_true.dtype.is_floating else y_true


def _check_2d(name, x):
    x = tf.convert_to_tensor(x)
    if x.shape.rank != 2:
        raise ValueError(f"`{name}` must have shape (batch, dim); received shape {tuple(x.shape)}.")
    return tf.cast(x, tf.float32)


def _replica():
    """(number of replicas in sync, this replica's id); (1, 0) outside tf.distribute."""
    ctx = tf.distribute.get_replica_context()
    if ctx is None:  # cross-replica context: nothing to gather
        return 1, 0, None
    return ctx.num_replicas_in_sync, ctx.replica_id_in_sync_group, ctx


@keras.saving.register_keras_serializable(package="kgan")
class D2DCE(keras.losses.Loss):
    """Data-to-data cross-entropy (ReACGAN, Kang et al. 2021, Sec. 4.2, Eq. 7).

    For sample ``i`` with unit embedding ``f_i``, class proxy ``v_{y_i}`` (both on
    the unit hypersphere, see :class:`kgan.layers.HypersphereProjection`),
    positive margin ``m_p``, negative margin ``m_n`` (default ``1 - m_p``) and
    temperature ``T``::

        pos_i  = relu((m_p - cos(f_i, v_{y_i})) / T)
        s_ij   = (cos(f_i, f_j) - m_n) / T                      for j != i
        neg_ij = exp(relu(s_ij))   for the j with y_j != y_i   (false-negative mask:
                                                                same-class samples are
                                                                not negatives)
        L_i    = pos_i + log(exp(-pos_i) + sum_j neg_ij)
               = log(1 + exp(pos_i) * sum_j neg_ij)

    and the loss is the mean of ``L_i``. ``L_i`` is zero when every other
    sample shares the class of ``i`` (no negatives left), with a zero, finite
    gradient.

    Variants (``variant=``):

    * ``"exact"`` (default): the formula above, evaluated as a numerically
      stable log-sum-exp (a pure shift that does not change the value).
    * ``"official"``: StudioGAN's ``Data2DataCrossEntropyLoss``
      (``src/utils/losses.py``) subtracts ``stop_gradient(max_j s_ij)`` (the row
      max over all ``j != i``, same-class samples included, taken before the
      relu) from the negative terms only::

          L_i = pos_i + log(exp(-pos_i) + sum_j mask_ij exp(relu(s_ij) - max_k s_ik))

      Because ``exp(-pos_i)`` is not shifted, this is not a log-sum-exp shift:
      it changes the value and the relative weight of the positive and
      negative terms (mean over random unit vectors, B=16, d=8, 4 classes:
      3.7 for the official code vs 4.8 for the formula). Use it to reproduce StudioGAN numbers.

    Under ``tf.distribute`` (``gather=True``, default) the embeddings and
    labels of all replicas are gathered with
    ``tf.distribute.get_replica_context().all_gather`` (differentiable: its
    gradient all-reduces and slices), so each replica's rows see the negatives
    of the whole global batch and a ``MirroredStrategy`` step equals a
    single-device step on the same global batch. ``gather=False`` keeps
    negatives per replica (cheaper, but the loss then depends on the replica
    count). The per-sample values returned are those of this replica's rows.

    Args:
        margin_pos: ``m_p`` (0.98 in ReACGAN / StudioGAN).
        margin_neg: ``m_n``; None means ``1 - margin_pos`` (as StudioGAN).
        temperature: ``T`` > 0 (0.5 in ReACGAN's CIFAR-10 config).
        variant: ``"exact"`` (paper, default) or ``"official"`` (StudioGAN code).
        gather: gather negatives across replicas (default True).

    Call it as ``loss(labels, {"embed": f, "proxy": v})`` (Keras reduction) or
    ``loss.per_sample(f, v, labels)`` (per-sample values, no replica scaling).

    Example:
        >>> f = tf.math.l2_normalize(tf.random.normal([8, 16]), -1)
        >>> v = tf.math.l2_normalize(tf.random.normal([8, 16]), -1)
        >>> y = tf.constant([0, 1, 2, 3, 0, 1, 2, 3])
        >>> D2DCE()(y, {"embed": f, "proxy": v}).shape
        TensorShape([])
    """

    def __init__(self, margin_pos=0.98, margin_neg=None, temperature=0.5, variant="exact",
                 gather=True, name="d2dce", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.margin_pos = _check_margin("margin_pos", margin_pos)
        self.margin_neg = None if margin_neg is None else _check_margin("margin_neg", margin_neg)
        try:
            temperature = float(temperature)
        except (TypeError, ValueError):
            raise ValueError(f"`temperature` must be a number > 0; received temperature={temperature!r}.") from None
        if not temperature > 0 or temperature == float("inf"):
            raise ValueError(f"`temperature` must be a finite number > 0; received temperature={temperature!r}.")
        self.temperature = temperature
        self.variant = check_choice("variant", variant, D2DCE_VARIANTS)
        self.gather = check_bool("gather", gather)

    @property
    def m_n(self):
        return 1.0 - self.margin_pos if self.margin_neg is None else self.margin_neg

    def per_sample(self, embed, proxy, labels):
        """``L_i`` for this replica's rows, shape (B,), float32.

        Args:
            embed: (B, d) sample embeddings ``f_i`` (normalised here again, so
                any non-zero vectors work; unit vectors are unchanged).
            proxy: (B, d) the proxies ``v_{y_i}`` of each sample's class.
            labels: (B,) integer class ids ``y_i``.
        """
        f = tf.math.l2_normalize(_check_2d("embed", embed), axis=-1, epsilon=1e-12)
        v = tf.math.l2_normalize(_check_2d("proxy", proxy), axis=-1, epsilon=1e-12)
        y = _as_labels(labels)
        if f.shape[0] is not None and y.shape[0] is not None and f.shape[0] != y.shape[0]:
            raise ValueError(f"`embed` has {f.shape[0]} rows but `labels` has {y.shape[0]}.")
        n_local = tf.shape(f)[0]
        n_rep, rid, ctx = _replica()
        if self.gather and n_rep > 1:
            # one collective; labels travel as float32 (exact below 2**24) because int32
            # tensors live in host memory and cannot be batched with device tensors
            gathered = ctx.all_gather(tf.concat([f, tf.cast(y[:, None], tf.float32)], axis=1), axis=0)
            f_all = gathered[:, :-1]
            y_all = tf.cast(tf.round(gathered[:, -1]), tf.int32)
            offset = rid * n_local
        else:
            f_all, y_all, offset = f, y, 0
        n_all = tf.shape(f_all)[0]
        if f.shape[0] is not None and f.shape[0] < 2 and not (self.gather and n_rep > 1):
            raise ValueError(
                f"D2D-CE needs a batch of at least 2 samples (negatives come from the other "
                f"samples); received a batch of {f.shape[0]}.")
        check = tf.debugging.assert_greater_equal(
            n_all, 2, message="D2D-CE needs a batch of at least 2 samples (negatives come from "
                              "the other samples); received a batch of 1")
        with tf.control_dependencies([check]):
            f_all = tf.identity(f_all)

        t, m_p, m_n = self.temperature, self.margin_pos, self.m_n
        pos = tf.nn.relu((m_p - tf.reduce_sum(f * v, axis=-1)) / t)                  # (B,)
        s = (tf.matmul(f, f_all, transpose_b=True) - m_n) / t                        # (B, N)
        rows = tf.range(n_local) + offset
        not_self = tf.not_equal(rows[:, None], tf.range(n_all)[None, :])
        negative = tf.logical_and(not_self, tf.not_equal(y[:, None], y_all[None, :]))
        if self.variant == "official":
            row_max = tf.stop_gradient(tf.reduce_max(tf.where(not_self, s, _MASKED), axis=1))
            terms = tf.where(negative, tf.nn.relu(s) - row_max[:, None], _MASKED)
            neg_sum = tf.reduce_sum(tf.exp(terms), axis=1)
            return pos + tf.math.log(tf.exp(-pos) + neg_sum)
        r = tf.where(negative, tf.nn.relu(s), _MASKED)
        shift = tf.stop_gradient(tf.maximum(-pos, tf.reduce_max(r, axis=1)))
        total = tf.exp(-pos - shift) + tf.reduce_sum(tf.exp(r - shift[:, None]), axis=1)
        return pos + shift + tf.math.log(total)

    def call(self, y_true, y_pred):
        if isinstance(y_pred, dict):
            missing = {"embed", "proxy"} - set(y_pred)
            if missing:
                raise ValueError(f"D2DCE: `y_pred` must hold 'embed' and 'proxy'; missing {sorted(missing)}.")
            embed, proxy = y_pred["embed"], y_pred["proxy"]
        elif isinstance(y_pred, (list, tuple)) and len(y_pred) == 2:
            embed, proxy = y_pred
        else:
            raise ValueError("D2DCE: `y_pred` must be {'embed': f, 'proxy': v} or (f, v); "
                             f"received {type(y_pred).__name__}.")
        return self.per_sample(embed, proxy, _keras_labels(y_true))

    def get_config(self):
        return {"margin_pos": self.margin_pos, "margin_neg": self.margin_neg,
                "temperature": self.temperature, "variant": self.variant, "gather": self.gather,
                "name": self.name, "reduction": self.reduction}


def _check_margin(name, value):
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be a number in [0, 1]; received {name}={value!r}.") from None
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"`{name}` must be in [0, 1] (a cosine-similarity margin); received {name}={value!r}.")
    return v


@keras.saving.register_keras_serializable(package="kgan")
class ClassifierCrossEntropy(keras.losses.Loss):
    """The auxiliary classifier's softmax cross-entropy (ACGAN, Odena et al. 2017, Eq. 2-3).

    ``L_i = -log softmax(c_i)[y_i]`` for class logits ``c_i`` (D's
    ``"class_logits"``, a linear head without bias as in StudioGAN) and label
    ``y_i``. ACGAN's discriminator minimises it on real samples with their
    labels (and, in the original paper, on generated samples with the labels
    they were drawn with -- ``ACGAN(classify_fakes=True)``); the generator
    minimises it on generated samples with the sampled labels
    (StudioGAN ``CrossEntropyLoss``, weight ``cond_lambda`` = 1).

    Call it as ``loss(labels, class_logits)`` (Keras reduction) or
    ``loss.per_sample(class_logits, labels)`` (no replica scaling).

    Example:
        >>> ClassifierCrossEntropy()(tf.constant([1]), tf.constant([[0.0, 0.0]])).numpy()  # log 2
        0.6931472
    """

    def __init__(self, name="classifier_cross_entropy", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def per_sample(self, class_logits, labels):
        """Per-sample cross-entropy, shape (B,), float32."""
        logits = _check_2d("class_logits", class_logits)
        y = _as_labels(labels)
        return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)

    def call(self, y_true, y_pred):
        return self.per_sample(y_pred, _keras_labels(y_true))

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}
