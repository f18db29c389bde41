"""A small stand-in for the 2015 Inception graph (classify_image_graph_def.pb), for offline tests.

It has the real graph's node names and the shapes that matter: a JPEG-decoding
input chain ending in ``ExpandDims`` (1, H, W, 3), ``ResizeBilinear`` to 299x299
(TF1 resize: ``align_corners=False``, no half-pixel centres), ``Sub`` / ``Mul``
scaling ``(u - 128) / 128``, a strided 13x13 convolution (23x23x16), a 1x1
convolution to 2048 channels, ``pool_3`` (1, 1, 1, 2048), ``pool_3/_reshape``
hard-coded to [1, 2048] (as in the real graph: it breaks batches), and
``softmax/logits/MatMul`` (2048 x 1008) + bias -> ``softmax``. It is a real
frozen GraphDef, written to a file and loaded by kgan's own code path.
"""
import numpy as np

CHANNELS = 16


def weights(seed=0):
    rng = np.random.default_rng(seed)
    return {
        "w1": (rng.normal(size=(13, 13, 3, CHANNELS)) * 0.05).astype("float32"),
        "w2": (rng.normal(size=(1, 1, CHANNELS, 2048)) * 0.3).astype("float32"),
        "w": (rng.normal(size=(2048, 1008)) * 0.05).astype("float32"),
        "b": rng.normal(size=(1008,)).astype("float32"),
    }


def build_graph_def(seed=0):
    import tensorflow as tf

    p = weights(seed)
    g = tf.Graph()
    with g.as_default():
        raw = tf.compat.v1.placeholder(tf.string, [], name="DecodeJpeg/contents")
        img = tf.io.decode_jpeg(raw, channels=3, name="DecodeJpeg")
        x = tf.cast(img, tf.float32, name="Cast")
        x = tf.expand_dims(x, 0, name="ExpandDims")
        x = tf.raw_ops.ResizeBilinear(images=x, size=tf.constant([299, 299], name="ResizeBilinear/size"),
                                      align_corners=False, half_pixel_centers=False, name="ResizeBilinear")
        x = tf.subtract(x, tf.constant(128.0, name="Sub/y"), name="Sub")
        x = tf.multiply(x, tf.constant(1.0 / 128.0, name="Mul/y"), name="Mul")
        h = tf.nn.relu(tf.nn.conv2d(x, tf.constant(p["w1"], name="conv/conv2d_params"), strides=[1, 13, 13, 1],
                                    padding="VALID", name="conv/Conv2D"), name="conv")
        h = tf.nn.relu(tf.nn.conv2d(h, tf.constant(p["w2"], name="mixed_10/conv/conv2d_params"),
                                    strides=[1, 1, 1, 1], padding="VALID", name="mixed_10/conv/Conv2D"),
                       name="mixed_10/join")
        pool = tf.nn.avg_pool2d(h, ksize=[1, 23, 23, 1], strides=[1, 1, 1, 1], padding="VALID", name="pool_3")
        flat = tf.reshape(pool, tf.constant([1, 2048], name="pool_3/_reshape/shape"), name="pool_3/_reshape")
        mm = tf.matmul(flat, tf.constant(p["w"], name="softmax/weights"), name="softmax/logits/MatMul")
        logits = tf.add(mm, tf.constant(p["b"], name="softmax/biases"), name="softmax/logits")
        tf.nn.softmax(logits, name="softmax")
    return g.as_graph_def()


def write_graph(path, seed=0):
    with open(path, "wb") as fh:
        fh.write(build_graph_def(seed).SerializeToString())
    return str(path)


def tf1_bilinear_resize(img, size=299):
    """TF1 ``ResizeBilinear`` (align_corners=False, no half-pixel centres) of (H, W, C) in numpy."""
    h, w = img.shape[:2]

    def axis(n_in):
        src = np.arange(size) * (n_in / size)
        lo = np.floor(src).astype(int)
        hi = np.minimum(lo + 1, n_in - 1)
        return lo, hi, src - lo

    y0, y1, fy = axis(h)
    x0, x1, fx = axis(w)
    top = img[y0][:, x0] * (1 - fx)[None, :, None] + img[y0][:, x1] * fx[None, :, None]
    bottom = img[y1][:, x0] * (1 - fx)[None, :, None] + img[y1][:, x1] * fx[None, :, None]
    return top * (1 - fy)[:, None, None] + bottom * fy[:, None, None]


def reference_pool_and_logits(u_resized, seed=0):
    """pool_3 and unbiased logits of the stand-in for already-resized 299x299 8-bit images, by hand."""
    p = weights(seed)
    out_pool, out_logits = [], []
    for img in np.asarray(u_resized, np.float64):
        x = (img - 128.0) / 128.0
        patches = x[:299, :299].reshape(23, 13, 23, 13, 3).transpose(0, 2, 1, 3, 4).reshape(23, 23, -1)
        h = np.maximum(patches @ p["w1"].astype(np.float64).reshape(-1, CHANNELS), 0.0)
        h = np.maximum(h @ p["w2"].astype(np.float64).reshape(CHANNELS, 2048), 0.0)
        pool = h.mean(axis=(0, 1))
        out_pool.append(pool)
        out_logits.append(pool @ p["w"].astype(np.float64))
    return np.array(out_pool), np.array(out_logits)
