"""Training phases and random streams of a kgan model, as data.

:class:`Phase` and :class:`Update` describe the steps of a model's training
algorithm (``GAN.phases``); :class:`Batch` is what one update sees; every random
draw of a step is named (``Batch.stream``) and keyed by :func:`stream_key`, a
stable hash of the model seed and the name; :func:`record_streams` lists the
draws a step makes (the tests check that no two draws share a name or a key).
"""
import contextlib
import dataclasses
import hashlib


class Batch:
    """What one discriminator or generator update sees.

    Attributes:
        x: real samples (local to the replica), or None for a generator update.
        y: their int32 labels, or None.
        z: latent noise for the fakes, (b, latent_dim).
        y_fake: labels for the fakes (conditional models), or None.
        update: the name of this update inside the step (``"d/0"``, ``"d/1"``,
            ``"g/0"``...: phase name and repetition index); :meth:`stream` puts
            it in front of every draw's name, so each update draws afresh.
    """

    def __init__(self, x, y, z, y_fake, update="d/0"):
        self.x, self.y, self.z, self.y_fake, self.update = x, y, z, y_fake, str(update)

    def stream(self, name):
        """The full name of the random stream ``name`` in this update, e.g.
        ``batch.stream("maem/eps_real") == "d/0/maem/eps_real"``, for
        ``GAN.random_normal`` / ``random_uniform`` / ``stream_seed``. Name a draw
        ``"<method>/<what>"`` so methods combined through the MRO never collide."""
        return f"{self.update}/{name}"


def stream_key(seed, name):
    """The first component of the stateless seed of stream ``name`` for model
    seed ``seed``: a stable 64-bit hash (BLAKE2b, not Python's salted ``hash``)
    of ``"<seed>/<name>"`` as a signed int64. The second component is the step."""
    if not isinstance(name, str) or not name:
        raise TypeError(
            "A random draw is named by a non-empty string (e.g. batch.stream('mymethod/noise')); "
            f"received {name!r}.")
    digest = hashlib.blake2b(f"{int(seed)}/{name}".encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


_STREAM_RECORDERS = []


@contextlib.contextmanager
def record_streams():
    """Collect ``(name, key)`` of every stream seed made while the block runs
    (at trace time: run the step eagerly, or trace it inside the block)::

        with record_streams() as draws:
            gan.train_step(data)
        # draws == [("d/0/z", ...), ("d/0/wgan_gp/u", ...), ("g/0/z", ...), ...]
    """
    draws = []
    _STREAM_RECORDERS.append(draws)
    try:
        yield draws
    finally:
        _STREAM_RECORDERS.remove(draws)


#: What a phase's batches get of the real data (see :class:`Phase`).
PHASE_DATA = ("slice", "last", "labels")


@dataclasses.dataclass(frozen=True)
class Update:
    """One optimizer step of a :class:`Phase`.

    Attributes:
        optimizer: the model attribute holding the optimizer (``"d_optimizer"``).
        variables: the model attribute listing the variables it updates (``"d_variables"``).
        terms: the names of the loss terms whose sum it minimises; None (default)
            for all the phase's terms; an empty tuple skips the update (nothing to learn).
        log: the name of a tracker logging that sum (e.g. ``"e_loss"``), or None.
    """

    optimizer: str
    variables: str
    terms: tuple = None
    log: str = None

    def __post_init__(self):
        if self.terms is not None:
            object.__setattr__(self, "terms", tuple(self.terms))


@dataclasses.dataclass(frozen=True)
class Phase:
    """One step of a model's training algorithm, as data (:meth:`GAN.phases`).

    Each of its ``repeat`` updates builds a :class:`Batch` named
    ``"<name>/<k>"`` (so its random streams are ``"<name>/<k>/z"``...), calls
    the model's ``losses`` method on it inside one gradient tape, takes the
    gradient of every :class:`Update` (all before any is applied) and applies
    them, then logs ``total`` (the sum of the terms), each term, and each
    update's ``log``.

    Attributes:
        name: the phase's name (``"d"``, ``"g"``, ``"manifold_d"``...), unique in the model.
        losses: the name of the model method ``batch -> {term: scalar}``.
        names: the term names it returns (checked at every update); a phase with
            no names is skipped.
        updates: the :class:`Update` s made from one forward pass.
        total: the tracker of the sum of all the terms (``"d_loss"``).
        repeat: updates per ``train_step``: a positive int or ``"d_steps"``.
        data: what its batches get of the real batch: ``"slice"`` (update ``k``
            gets the ``k``-th of ``d_steps`` equal slices, x and labels; needs
            ``repeat="d_steps"``), ``"last"`` (the last slice, x and labels) or
            ``"labels"`` (the last slice's labels only, x None: a generator update).
    """

    name: str
    losses: str
    names: tuple
    updates: tuple
    total: str
    repeat: object = 1
    data: str = "slice"

    def __post_init__(self):
        object.__setattr__(self, "names", tuple(self.names))
        object.__setattr__(self, "updates", tuple(self.updates))
