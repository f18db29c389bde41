"""Classes a third-party discriminator can tell from generated samples (Che et al., ICLR 2017, Sec. 4.1).

Che et al. call the count "missing modes". It is not a count of absent modes:
a class is counted when a fresh real-vs-fake classifier still calls its
held-out real samples real with confidence, which happens for every class the
generator draws imperfectly, present or not. Measured on stacked digits, MDGAN
hit all 1000 modes and the count said 529-831 "missing". So kgan reports it as
``distinguishable_classes`` with the per-class scores behind it, and counts the
modes a generator hits with ``mode_counts`` (``modes``).
"""
import numpy as np

from kgan.utils import check_positive_int, check_probability


def _build_discriminator(input_shape, seed):
    import keras

    L = keras.layers
    init = lambda k: keras.initializers.GlorotUniform(seed=seed + k)  # noqa: E731
    inp = keras.Input(input_shape)
    if len(input_shape) == 3:  # images: a small conv net
        h = L.Conv2D(32, 3, strides=2, padding="same", kernel_initializer=init(1))(inp)
        h = L.LeakyReLU(0.2)(h)
        h = L.Conv2D(64, 3, strides=2, padding="same", kernel_initializer=init(2))(h)
        h = L.LeakyReLU(0.2)(h)
        h = L.GlobalAveragePooling2D()(h)
    else:
        h = L.Flatten()(inp) if len(input_shape) > 1 else inp
        h = L.Dense(128, kernel_initializer=init(1))(h)
        h = L.LeakyReLU(0.2)(h)
    h = L.Dense(64, kernel_initializer=init(3))(h)
    h = L.LeakyReLU(0.2)(h)
    out = L.Dense(1, kernel_initializer=init(4))(h)
    return keras.Model(inp, out, name="kgan_missing_mode_discriminator")


def distinguishable_classes(real_x, real_y, fake_x, *, threshold=0.7, epochs=5, batch_size=128,
                            eval_fraction=0.5, num_classes=None, seed=0, verbose=0):
    """Classes whose real samples a third-party discriminator still tells from generated ones
    (Che et al. 2017's "missing modes"; see the module docstring for why kgan does not call it that).

    A fresh binary classifier D (small conv net for images, MLP otherwise) is
    trained to tell real (label 1) from generated (label 0) samples on a part
    of the real data and the same number of generated samples (sampled with
    replacement if there are fewer). For every class c, the score is the mean
    of ``D(x)`` (a probability) over held-out real samples of class c. If the
    generator misses mode c, nothing generated looks like those samples, and D
    calls them real with high confidence; but D does the same for a class the
    generator draws badly. A class is *distinguishable* when its score exceeds
    ``threshold`` (0.7, as Che et al. 2017, Sec. 4.1.2).

    The absolute score depends on D's capacity and training length (a D trained
    to convergence separates imperfect samples everywhere): compare models only
    with identical settings. Defaults here: 5 epochs, Adam 1e-3, half the real
    data held out for scoring.

    Args:
        real_x: real samples (N, ...) (images NHWC or vectors).
        real_y: their int class labels (N,).
        fake_x: generated samples (M, ...) of the same shape.
        threshold: score above which a class is missing (default 0.7).
        epochs, batch_size: D's training.
        eval_fraction: share of real samples (per class) held out for scoring.
        num_classes: number of classes (default ``max(real_y) + 1``).
        seed: seeds the split, the sampling and D's initialisation.

    Returns:
        dict: ``scores`` (list, mean D on held-out real samples of each class;
        NaN for a class with no held-out sample), ``mean_score`` (their mean),
        ``distinguishable`` (list of class ids), ``num_distinguishable`` (int),
        ``threshold``.
    """
    import keras

    check_probability("threshold", threshold)
    check_positive_int("epochs", epochs)
    check_positive_int("batch_size", batch_size)
    if not 0.0 < float(eval_fraction) < 1.0:
        raise ValueError(f"`eval_fraction` must be in (0, 1); received eval_fraction={eval_fraction!r}.")
    real_x = np.asarray(real_x, dtype=np.float32)
    fake_x = np.asarray(fake_x, dtype=np.float32)
    real_y = np.asarray(real_y).reshape(-1).astype(np.int64)
    if real_x.shape[1:] != fake_x.shape[1:]:
        raise ValueError(f"`real_x` and `fake_x` must have the same sample shape; received "
                         f"{real_x.shape} and {fake_x.shape}.")
    if len(real_y) != len(real_x):
        raise ValueError(f"`real_y` must hold one label per real sample ({len(real_x)}); received {len(real_y)}.")
    for nm, arr in (("real_x", real_x), ("fake_x", fake_x)):
        if len(arr) == 0 or not np.all(np.isfinite(arr)):
            raise ValueError(f"`{nm}` must be non-empty and finite; received shape {arr.shape}.")
    k = int(real_y.max()) + 1 if num_classes is None else check_positive_int("num_classes", num_classes)
    if real_y.min() < 0 or real_y.max() >= k:
        raise ValueError(f"`real_y` must lie in [0, {k}); received values in [{real_y.min()}, {real_y.max()}].")

    rng = np.random.default_rng(seed)
    train_idx, eval_idx = [], []
    for c in range(k):
        idx = rng.permutation(np.flatnonzero(real_y == c))
        n_eval = int(round(len(idx) * eval_fraction))
        if len(idx) >= 2:
            n_eval = min(max(n_eval, 1), len(idx) - 1)
        eval_idx.append(idx[:n_eval])
        train_idx.append(idx[n_eval:])
    train_idx = np.concatenate(train_idx)
    eval_idx = np.concatenate(eval_idx)
    fake_idx = rng.choice(len(fake_x), size=len(train_idx), replace=len(fake_x) < len(train_idx))
    x = np.concatenate([real_x[train_idx], fake_x[fake_idx]])
    t = np.concatenate([np.ones(len(train_idx)), np.zeros(len(fake_idx))]).astype(np.float32)
    order = rng.permutation(len(x))

    d = _build_discriminator(real_x.shape[1:], seed)
    d.compile(optimizer=keras.optimizers.Adam(1e-3), loss=keras.losses.BinaryCrossentropy(from_logits=True))
    d.fit(x[order], t[order], batch_size=batch_size, epochs=epochs, verbose=verbose, shuffle=True)

    logits = d.predict(real_x[eval_idx], batch_size=1024, verbose=0).reshape(-1)
    probs = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
    y_eval = real_y[eval_idx]
    scores = [float(probs[y_eval == c].mean()) if np.any(y_eval == c) else float("nan") for c in range(k)]
    found = [c for c, s in enumerate(scores) if s > threshold]
    return {"scores": scores, "mean_score": float(np.nanmean(scores)), "distinguishable": found,
            "num_distinguishable": len(found), "threshold": float(threshold)}


def missing_modes(real_x, real_y, fake_x, **kwargs):
    """Che et al.'s name for :func:`distinguishable_classes` (same result, plus the keys
    ``missing`` / ``num_missing`` under their old names). Prefer the new name: the count is of
    classes told apart from the generated samples, not of absent modes."""
    out = distinguishable_classes(real_x, real_y, fake_x, **kwargs)
    out.update(missing=out["distinguishable"], num_missing=out["num_distinguishable"])
    return out
