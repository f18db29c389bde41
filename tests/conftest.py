"""Test set-up: two logical CPU devices (for MirroredStrategy tests) before any TF op."""
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KGAN_OFFLINE", "1")  # tests never reach for the internet

import tensorflow as tf  # noqa: E402

_cpus = tf.config.list_physical_devices("CPU")
try:
    tf.config.set_logical_device_configuration(_cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)
except RuntimeError:  # already initialised by an earlier import: tests needing 2 devices will say so
    pass

import itertools  # noqa: E402

# Every MirroredStrategy made in one process numbers its collective groups from the
# same base, and TF's collective executor keeps the first strategy's instances: a
# later strategy whose n-th collective differs in type (an all_gather in ReACGAN's
# D2D-CE or MaEM-GAN's replay buffer vs a gradient all-reduce) is aborted with
# "Collective instance N expected type ...". Give each strategy its own key range,
# as TensorFlow's own tests do. (One strategy per process, as in `kgan train`, never
# meets this.)
_key_bases = itertools.count(1)
_mirrored_init = tf.distribute.MirroredStrategy.__init__


def _mirrored_init_with_own_keys(self, *args, **kwargs):
    tf.distribute.MirroredStrategy._collective_key_base = 1_000_000 * next(_key_bases)
    _mirrored_init(self, *args, **kwargs)


tf.distribute.MirroredStrategy.__init__ = _mirrored_init_with_own_keys

import keras  # noqa: E402
import pytest  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def _float32_policy():
    keras.mixed_precision.set_dtype_policy("float32")
    yield
    keras.mixed_precision.set_dtype_policy("float32")


def tiny_mlp_gan_nets(latent_dim=8, num_classes=None, data_dim=2, seed=0):
    """Small G and D for fast tests of the base model (not kgan.nets on purpose:
    the base must work with any user network returning a logit or a dict)."""
    keras.utils.set_random_seed(seed)
    z = keras.Input((latent_dim,), name="z")
    x = keras.Input((data_dim,), name="x")
    g_in, d_in = [z], [x]
    gz, dx = z, x
    if num_classes:
        yg = keras.Input((), dtype="int32", name="y")
        yd = keras.Input((), dtype="int32", name="y")
        g_in.append(yg)
        d_in.append(yd)
        gz = keras.layers.Concatenate()([z, keras.layers.Embedding(num_classes, 4)(yg)])
        dx = keras.layers.Concatenate()([x, keras.layers.Embedding(num_classes, 4)(yd)])
    h = keras.layers.Dense(16, activation="tanh")(gz)
    G = keras.Model(g_in if num_classes else z, keras.layers.Dense(data_dim)(h))
    h = keras.layers.Dense(16, activation="tanh")(dx)
    D = keras.Model(d_in if num_classes else x, {"logit": keras.layers.Dense(1)(h), "features": h})
    return G, D
