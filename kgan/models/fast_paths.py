"""Fast paths of the training step: the Adam update and the metric trackers
with fewer kernels, bit for bit the numbers of Keras's general path.

A GAN step on small networks (the 2D MLPs) is bound by the number of kernels
TensorFlow launches, not by arithmetic: Keras's ``optimizer.apply`` runs about
29 kernels per variable and ``Mean.update_state`` about twelve per scalar.
:func:`fused_adam_apply` and :func:`track` do the same updates with about 14
and 2. ``FAST_PATHS = False`` (this module's switch) sends every update
through Keras's general path; ``benchmarks/step_ops.py``,
``benchmarks/step_variants.py`` and ``tests/test_speed_equivalence.py``
compare the two.
"""
import keras
import tensorflow as tf


#: The fused optimizer and tracker updates (:func:`fused_adam_apply`, :func:`track`); False runs every
#: update through Keras's general path (benchmarks/step_ops.py and the equivalence tests compare the two).
FAST_PATHS = True


def _read(variable):
    """The float32 value of a Keras variable, read once (no autocast)."""
    return tf.raw_ops.ReadVariableOp(resource=variable.handle, dtype=tf.float32)


def _single_device():
    """True outside any ``tf.distribute`` strategy (variables are plain resource variables)."""
    return not tf.distribute.has_strategy() and tf.distribute.get_replica_context() is not None


#: :func:`fused_adam_apply` with TensorFlow's ``ResourceApplyAdam`` kernel (one kernel per variable)
#: instead of Keras's op sequence; off by default because the kernel rounds ``1 - beta_2`` differently
#: (see :func:`fused_adam_apply`).
ADAM_KERNEL = False


def fused_adam_apply(optimizer, grads, variables):
    """``optimizer.apply(grads, variables)`` for a plain ``keras.optimizers.Adam``
    with the per-variable work cut to the update itself; False (nothing done)
    when the optimizer or the context needs Keras's general path.

    The update is Keras's ``Adam.update_step``, the same ops in the same order
    on the same float32 constants, so the numbers are bit for bit Keras's:
    ``alpha = lr sqrt(1 - b2^t) / (1 - b1^t)``, ``m += (g - m)(1 - b1)``,
    ``v += (g^2 - v)(1 - b2)``, ``w -= m alpha / (sqrt(v) + eps)``,
    ``t = iterations + 1``, then ``iterations += 1``. What is saved: the step
    size ``alpha`` (learning rate, powers, square root) is computed once per
    optimizer instead of once per variable, ``assign_add`` is one
    ``AssignAddVariableOp`` instead of read-add-assign, and the gradient
    filtering, name scopes and distribution plumbing of ``optimizer.apply`` are
    skipped: about 14 kernels per variable instead of 29. The variables are the
    optimizer's own, so checkpoints and ``.keras`` files are unchanged.

    With ``ADAM_KERNEL = True`` each variable is one ``ResourceApplyAdam`` kernel
    (the same formula); that kernel forms ``1 - b2`` in float32 where Keras
    rounds the float64 ``1 - b2``, so ``v`` differs in its 5th significant digit
    (``b2 = 0.999``), and a gradient entry near zero can then get an Adam step of
    the other sign: not bit-identical, hence off by default.

    Only when: the optimizer is exactly ``keras.optimizers.Adam`` (no subclass,
    no ``LossScaleOptimizer``), without amsgrad, weight decay, clipping, EMA,
    gradient accumulation or loss-scale factor; every gradient is present and
    a tensor (an embedding's ``IndexedSlices`` gradient gets Keras's ``update_step``); no variable has a constraint or overwrites with its gradient; float32
    variables; no ``tf.distribute`` strategy (there the optimizer all-reduces).
    """
    opt = optimizer
    if (not FAST_PATHS or type(opt) is not keras.optimizers.Adam or opt.amsgrad or opt.weight_decay is not None
            or opt.clipnorm is not None or opt.clipvalue is not None or opt.global_clipnorm is not None
            or opt.use_ema or opt.gradient_accumulation_steps or opt.loss_scale_factor is not None
            or not opt.built or not grads or not _single_device()
            or not all(isinstance(b, (int, float)) for b in (opt.beta_1, opt.beta_2, opt.epsilon))):
        return False
    for g, v in zip(grads, variables):
        if (not isinstance(g, (tf.Tensor, tf.IndexedSlices)) or v.dtype != "float32" or v.constraint is not None
                or getattr(v, "overwrite_with_gradient", False)):
            return False
    try:
        slots = [(opt._momentums[opt._get_variable_index(v)], opt._velocities[opt._get_variable_index(v)])
                 for v in variables]
    except (AttributeError, KeyError, ValueError):
        return False
    with tf.name_scope(opt.name):
        lr = tf.cast(opt.learning_rate, tf.float32)
        step = tf.cast(opt.iterations + 1, tf.float32)
        beta_1_power = tf.pow(tf.cast(opt.beta_1, tf.float32), step)
        beta_2_power = tf.pow(tf.cast(opt.beta_2, tf.float32), step)
        if ADAM_KERNEL:
            beta_1, beta_2 = tf.constant(opt.beta_1, tf.float32), tf.constant(opt.beta_2, tf.float32)
            epsilon = tf.constant(opt.epsilon, tf.float32)
            for g, v, (m, s) in zip(grads, variables, slots):
                tf.raw_ops.ResourceApplyAdam(var=v.handle, m=m.handle, v=s.handle, beta1_power=beta_1_power,
                                             beta2_power=beta_2_power, lr=lr, beta1=beta_1, beta2=beta_2,
                                             epsilon=epsilon, grad=tf.convert_to_tensor(g), use_locking=False, use_nesterov=False)
        else:
            alpha = lr * tf.sqrt(1 - beta_2_power) / (1 - beta_1_power)
            # Python floats, as Keras's update_step: float64 arithmetic, then one float32 constant each
            c1 = tf.constant(1 - opt.beta_1, tf.float32)
            c2 = tf.constant(1 - opt.beta_2, tf.float32)
            epsilon = tf.constant(opt.epsilon, tf.float32)
            for g, v, (m, s) in zip(grads, variables, slots):
                if isinstance(g, tf.IndexedSlices):  # an embedding's gradient: Keras's own update of it
                    opt.update_step(g, v, opt.learning_rate)
                    continue
                tf.raw_ops.AssignAddVariableOp(resource=m.handle, value=(g - _read(m)) * c1)
                tf.raw_ops.AssignAddVariableOp(resource=s.handle, value=(tf.square(g) - _read(s)) * c2)
                tf.raw_ops.AssignSubVariableOp(resource=v.handle,
                                               value=(_read(m) * alpha) / (tf.sqrt(_read(s)) + epsilon))
        opt.iterations.assign_add(1)
    return True


def track(tracker, value):
    """``tracker.update_state(value)`` for a scalar ``value``: a ``keras.metrics.Mean``
    on one device gets its two sums added directly (``total += value``,
    ``count += 1``, the same numbers as ``update_state``) with two kernels
    instead of about twelve; anything else calls ``update_state``."""
    if (FAST_PATHS and type(tracker) is keras.metrics.Mean and tracker.dtype == "float32" and _single_device()
            and getattr(value, "shape", None) is not None and value.shape.rank == 0):
        tf.raw_ops.AssignAddVariableOp(resource=tracker.total.handle, value=tf.cast(value, tf.float32))
        tf.raw_ops.AssignAddVariableOp(resource=tracker.count.handle, value=tf.constant(1.0, tf.float32))
    else:
        tracker.update_state(value)
