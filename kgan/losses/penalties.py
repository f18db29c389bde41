"""Gradient penalties on the discriminator.

* :func:`r1_penalty` -- Mescheder et al. 2018, Eq. 9: ``gamma/2 * E_x ||grad_x D(x)||^2`` on reals.
* :func:`gradient_penalty` -- WGAN-GP, Gulrajani et al. 2017, Alg. 1:
  ``E (||grad D(x_hat)||_2 - 1)^2`` with ``x_hat = u x + (1 - u) G(z)``,
  ``u ~ U(0, 1)`` per sample (uniform interpolation weights).

Both take ``logit_fn(x) -> (B, 1)`` so they work with conditional
discriminators (the caller closes over the labels).
"""
import tensorflow as tf


def _sq_grad_norm(logit_fn, x):
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(logit_fn(x))
    grads = tape.gradient(total, x)
    return tf.reduce_sum(tf.reshape(tf.square(grads), [tf.shape(x)[0], -1]), axis=1)


def r1_penalty(logit_fn, x_real):
    """Per-sample ``||grad_x D(x)||^2`` on real samples (multiply by gamma/2)."""
    return _sq_grad_norm(logit_fn, tf.convert_to_tensor(x_real))


def gradient_penalty(logit_fn, x_real, x_fake, u):
    """Per-sample WGAN-GP term ``(||grad D(x_hat)|| - 1)^2``.

    ``u`` holds one uniform weight per sample, shape (B,).
    """
    x_real = tf.convert_to_tensor(x_real)
    u = tf.reshape(tf.cast(u, x_real.dtype), [-1] + [1] * (x_real.shape.rank - 1))
    x_hat = u * x_real + (1.0 - u) * tf.cast(x_fake, x_real.dtype)
    norm = tf.sqrt(_sq_grad_norm(logit_fn, x_hat) + 1e-12)
    return tf.square(norm - 1.0)
