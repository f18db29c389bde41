"""The fast training step gives the weights, optimizer state and logs of the step as it was before the
speed work (docs/speed.md, "Where the ops go"): a few steps of the base GAN and of the methods with the
most extra passes, on the 2D MLPs of the speed benchmark (smaller batch), against the saved results of the
earlier implementation in ``tests/fixtures/speed_equivalence.npz``.

The fixture was written by this file's ``__main__`` on the commit before the optimisations
(``python tests/test_speed_equivalence.py --write``); rewrite it only when a change is *meant* to change
the numbers."""
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "fixtures", "speed_equivalence.npz")
#: (method, protocol, labels): the base GAN, and the methods with extra passes / phases / B x B terms
CASES = (("gan", "grid25", False), ("mdgan", "grid25", False), ("maem", "grid25", False),
         ("reacgan", "grid25", True), ("adaptivemix", "grid25", False))
STEPS, BATCH = 3, 64
#: options that keep a case at the settings the fixture was written with, where a row's default changed later
#: for reasons other than speed (MaEM rows: DLLE's stop-gradient moved to the official code's side)
FIXTURE_SETTINGS = {"maem": {"dlle_detach": "original"}}


def _data(labels, d_steps):
    import tensorflow as tf

    import kgan.data

    b = BATCH * d_steps
    x, y = kgan.data.load_arrays("grid25", n=b * STEPS, seed=0)
    ds = tf.data.Dataset.from_tensor_slices((x, y.astype("int32")) if labels else x)
    return ds.batch(b, drop_remainder=True)


def _optimizers(gan):
    return sorted((name, opt) for name, opt in vars(gan).items() if name.endswith("optimizer") and opt is not None)


def _digest(value, n=128):
    """A variable as up to ``n`` of its entries (evenly spaced, the first and last included) and its sum and
    sum of squares (float64): small enough to keep in the repository, and any change of the weights shows."""
    flat = np.asarray(value, dtype="float64").reshape(-1)
    picks = flat[np.unique(np.linspace(0, flat.size - 1, min(n, flat.size)).round().astype(int))]
    return np.concatenate([picks, [flat.sum(), np.square(flat).sum()]])


def run_case(method, protocol, labels):
    """Train ``method`` for STEPS steps from seed 0; its variables, optimizer variables and last logs."""
    import keras

    from kgan.tuning import build_model

    keras.utils.set_random_seed(0)
    gan = build_model(method, protocol, values=FIXTURE_SETTINGS.get(method), seed=0)
    hist = gan.fit(_data(labels, gan.d_steps), epochs=1, steps_per_epoch=STEPS, verbose=0, shuffle=False).history
    out = {f"w/{i}/{v.name}": _digest(v.numpy()) for i, v in enumerate(gan.weights)}
    for name, opt in _optimizers(gan):
        for i, v in enumerate(opt.variables):
            out[f"opt/{name}/{i}/{v.name}"] = _digest(v.numpy())
    for k, v in hist.items():
        out[f"log/{k}"] = np.asarray(v[-1], dtype="float64")
    return out


def write_fixture():
    arrays = {}
    for method, protocol, labels in CASES:
        for k, v in run_case(method, protocol, labels).items():
            arrays[f"{method}|{k}"] = v
    os.makedirs(os.path.dirname(FIXTURE), exist_ok=True)
    np.savez_compressed(FIXTURE, **arrays)
    print(f"wrote {FIXTURE}: {len(arrays)} arrays")


@pytest.mark.parametrize("method,protocol,labels", CASES, ids=[c[0] for c in CASES])
def test_step_matches_saved_results(method, protocol, labels):
    saved = np.load(FIXTURE)
    expected = {k.split("|", 1)[1]: saved[k] for k in saved.files if k.startswith(method + "|")}
    got = run_case(method, protocol, labels)
    assert sorted(got) == sorted(expected), "the model's variables or logs differ from the saved set"
    for k, v in expected.items():
        # float32 kernels fused differently (one Adam kernel instead of a dozen ops) differ in the last bits
        np.testing.assert_allclose(got[k], v, rtol=2e-5, atol=2e-5, err_msg=f"{method}: {k}")


if __name__ == "__main__":
    if "--write" in sys.argv:
        sys.path.insert(0, os.path.dirname(HERE))
        write_fixture()


def _tiny_run(fast, optimizer, num_classes=None, ema_decay=0.9):
    """Weights, optimizer variables and logs of 2 steps of a tiny GAN (EMA on, labels optional)."""
    import keras
    import tensorflow as tf

    from conftest import tiny_mlp_gan_nets
    from kgan.models import GAN, fast_paths

    saved = fast_paths.FAST_PATHS
    fast_paths.FAST_PATHS = fast
    try:
        G, D = tiny_mlp_gan_nets(num_classes=num_classes)
        gan = GAN(G, D, num_classes=num_classes, ema_decay=ema_decay, seed=3)
        gan.compile(d_optimizer=optimizer(), g_optimizer=optimizer(), gp_weight=1.0, d_steps=2)
        rng = np.random.default_rng(1)
        x = rng.normal(size=(32, 2)).astype("float32")
        ds = (tf.data.Dataset.from_tensor_slices((x, rng.integers(0, 3, 32).astype("int32"))) if num_classes
              else tf.data.Dataset.from_tensor_slices(x)).batch(16)
        logs = gan.fit(ds, epochs=1, verbose=0).history
        return ([v.numpy() for v in gan.weights] + [v.numpy() for v in gan.d_optimizer.variables]
                + [v.numpy() for v in gan.g_optimizer.variables], {k: v[-1] for k, v in logs.items()})
    finally:
        fast_paths.FAST_PATHS = saved


@pytest.mark.parametrize("name,optimizer,num_classes", [
    ("adam", lambda: __import__("keras").optimizers.Adam(1e-2, beta_1=0.5), None),
    ("adam, embeddings (IndexedSlices gradients)", lambda: __import__("keras").optimizers.Adam(1e-2), 3),
    ("amsgrad (Keras's path)", lambda: __import__("keras").optimizers.Adam(1e-2, amsgrad=True), None),
    ("adam with clipnorm (Keras's path)", lambda: __import__("keras").optimizers.Adam(1e-2, clipnorm=0.1), None),
    ("sgd (Keras's path)", lambda: __import__("keras").optimizers.SGD(1e-2, momentum=0.9), None),
])
def test_fast_paths_match_keras(name, optimizer, num_classes):
    """The fused Adam update and the direct tracker sums give Keras's numbers (optimizers they do not cover
    fall back to ``optimizer.apply``). The tolerance is float32 rounding: with the WGAN-GP term and
    ``d_steps=2`` two runs of Keras's own path differ by up to 3e-8 here (the order in which the graph
    executor sums gradients is not fixed), so bit equality is not the test."""
    (w_fast, logs_fast), (w_keras, logs_keras) = (_tiny_run(True, optimizer, num_classes),
                                                  _tiny_run(False, optimizer, num_classes))
    assert len(w_fast) == len(w_keras)
    for a, b in zip(w_fast, w_keras):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7, err_msg=name)
    assert sorted(logs_fast) == sorted(logs_keras)
    for k in logs_keras:
        np.testing.assert_allclose(logs_fast[k], logs_keras[k], rtol=1e-6, atol=1e-7, err_msg=k)
