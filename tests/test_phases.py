"""Training phases as data: MDGAN and Reg-GAN steps equal reference updates written from the papers'
algorithms, a phase repeated or skipped as declared, and bad phase declarations named."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from kgan.models import GAN, MDGAN, RegularizedGAN
from kgan.models.phases import Phase, Update, record_streams
from conftest import tiny_mlp_gan_nets

LATENT = 8
D_STEPS = 2


def points(n=16, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 2)).astype("float32")


def net(inputs, outputs, seed, name, dict_out=True):
    keras.utils.set_random_seed(seed)
    x = keras.Input((inputs,))
    h = keras.layers.Dense(16, activation="tanh")(x)
    out = keras.layers.Dense(outputs)(h)
    return keras.Model(x, {"logit": out, "features": h} if dict_out else out, name=name)


def copy(model):
    twin = keras.models.clone_model(model)
    twin.set_weights(model.get_weights())
    return twin


def adam():
    return keras.optimizers.Adam(1e-2)


def mean(t):
    return tf.reduce_mean(t)


sp = tf.nn.softplus  # the non-saturating loss: d_real = softplus(-d), d_fake = softplus(d), g = softplus(-d)


def apply(opt, loss_fn, variables, tape_vars=None):
    with tf.GradientTape() as tape:
        loss = loss_fn()
    opt.apply(tape.gradient(loss, variables), variables)
    return loss


def assert_same(model_nets, ref_nets):
    for name, a in model_nets.items():
        for u, v in zip(a.get_weights(), ref_nets[name].get_weights()):
            np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6, err_msg=name)


def test_mdgan_step_equals_algorithm_1():
    """Che et al. 2017, Algorithm 1, written out with GradientTape: manifold step (D1, then G and E),
    diffusion step (D2, then G), with the model's own draws."""
    lambda1, lambda2 = 0.3, 0.7
    G, E = net(LATENT, 2, 0, "g", False), net(2, LATENT, 1, "e", False)
    D1, D2 = net(2, 1, 2, "d1"), net(2, 1, 3, "d2")
    ref = {"generator": copy(G), "encoder": copy(E), "discriminator": copy(D1), "diffusion_discriminator": copy(D2)}
    gan = MDGAN(G, D1, E, D2, lambda1=lambda1, lambda2=lambda2, ema_decay=None, seed=4)
    gan.compile(d_optimizer=adam(), g_optimizer=adam(), e_optimizer=adam(), d2_optimizer=adam(),
                loss="non_saturating", d_steps=D_STEPS, run_eagerly=True)
    x = points(16)
    n = len(x) // D_STEPS
    # the draws the step will make (generator step 0), from the model's stream API
    z = {u: gan.make_batch(None, None, n, u).z for u in ("diffusion_d/0", "diffusion_d/1", "diffusion_g/0")}
    with record_streams() as draws:
        hist = gan.fit(tf.data.Dataset.from_tensor_slices(x).batch(16), epochs=1, verbose=0).history
    assert {"diffusion_d/0/z", "diffusion_d/1/z", "diffusion_g/0/z"} <= {name for name, _ in draws}

    g, e, d1, d2 = (ref[k] for k in ("generator", "encoder", "discriminator", "diffusion_discriminator"))
    opt = {k: adam() for k in ("d", "g", "e", "d2")}
    xs = tf.split(tf.constant(x), D_STEPS)
    # manifold step: D1 separates x from G(E(x)), d_steps times
    for k in range(D_STEPS):
        rec = tf.stop_gradient(g(e(xs[k])))
        apply(opt["d"], lambda: mean(sp(-d1(xs[k])["logit"])) + mean(sp(d1(rec)["logit"])), d1.trainable_variables)
    # manifold step: G and E minimise lambda1 ||x - G(E(x))||^2 + lambda2 (-log D1(G(E(x))))
    with tf.GradientTape(persistent=True) as tape:
        rec = g(e(xs[-1]))
        m_loss = lambda1 * mean(tf.square(xs[-1] - rec)) + lambda2 * mean(sp(-d1(rec)["logit"]))
    grads_g, grads_e = tape.gradient(m_loss, g.trainable_variables), tape.gradient(m_loss, e.trainable_variables)
    opt["g"].apply(grads_g, g.trainable_variables)
    opt["e"].apply(grads_e, e.trainable_variables)
    # diffusion step: D2 separates G(E(x)) (real) from G(z) (fake), d_steps times
    for k in range(D_STEPS):
        real, fake = tf.stop_gradient(g(e(xs[k]))), tf.stop_gradient(g(z[f"diffusion_d/{k}"]))
        apply(opt["d2"], lambda: mean(sp(-d2(real)["logit"])) + mean(sp(d2(fake)["logit"])), d2.trainable_variables)
    # diffusion step: G minimises -log D2(G(z))
    g_loss = apply(opt["g"], lambda: mean(sp(-d2(g(z["diffusion_g/0"]))["logit"])), g.trainable_variables)

    assert_same({k: getattr(gan, k) for k in ref}, ref)
    np.testing.assert_allclose(hist["m_loss"][0], float(m_loss), rtol=1e-5)
    np.testing.assert_allclose(hist["g_loss"][0], float(g_loss), rtol=1e-5)


def test_regularized_gan_step_equals_eq_3_updates():
    """Che et al. 2017, Eq. 3: d_steps D updates, then G on T_G and E on T_E from one forward pass."""
    lambda1, lambda2 = 0.5, 0.4
    G, E = net(LATENT, 2, 0, "g", False), net(2, LATENT, 1, "e", False)
    D = net(2, 1, 2, "d")
    ref = {"generator": copy(G), "encoder": copy(E), "discriminator": copy(D)}
    gan = RegularizedGAN(G, D, E, lambda1=lambda1, lambda2=lambda2, ema_decay=None, seed=9)
    gan.compile(d_optimizer=adam(), g_optimizer=adam(), e_optimizer=adam(), loss="non_saturating",
                d_steps=D_STEPS, run_eagerly=True)
    x = points(16, seed=1)
    n = len(x) // D_STEPS
    z = {u: gan.make_batch(None, None, n, u).z for u in ("d/0", "d/1", "g/0")}
    hist = gan.fit(tf.data.Dataset.from_tensor_slices(x).batch(16), epochs=1, verbose=0).history

    g, e, d = ref["generator"], ref["encoder"], ref["discriminator"]
    opt = {k: adam() for k in ("d", "g", "e")}
    xs = tf.split(tf.constant(x), D_STEPS)
    for k in range(D_STEPS):
        fake = tf.stop_gradient(g(z[f"d/{k}"]))
        apply(opt["d"], lambda: mean(sp(-d(xs[k])["logit"])) + mean(sp(d(fake)["logit"])), d.trainable_variables)
    with tf.GradientTape(persistent=True) as tape:
        adv = mean(sp(-d(g(z["g/0"]))["logit"]))
        rec = g(e(xs[-1]))
        t_e = lambda1 * mean(tf.square(xs[-1] - rec)) + lambda2 * mean(sp(-d(rec)["logit"]))
        t_g = adv + t_e
    grads_g, grads_e = tape.gradient(t_g, g.trainable_variables), tape.gradient(t_e, e.trainable_variables)
    opt["g"].apply(grads_g, g.trainable_variables)
    opt["e"].apply(grads_e, e.trainable_variables)

    assert_same({k: getattr(gan, k) for k in ref}, ref)
    np.testing.assert_allclose(hist["e_loss"][0], float(t_e), rtol=1e-5)
    np.testing.assert_allclose(hist["g_loss"][0], float(t_g), rtol=1e-5)


class TwoGeneratorSteps(GAN):
    """A toy method: two generator updates per step, each on fresh noise."""

    def phases(self):
        d, g = self.loss_names()
        return (Phase("d", "d_losses", d, [Update("d_optimizer", "d_variables")], total="d_loss",
                      repeat="d_steps", data="slice"),
                Phase("g", "g_losses", g, [Update("g_optimizer", "g_variables")], total="g_loss", repeat=2,
                      data="labels"))


def test_a_declared_phase_runs_as_often_as_declared_on_its_own_streams():
    G, D = tiny_mlp_gan_nets()
    gan = TwoGeneratorSteps(G, D, ema_decay=None)
    gan.compile(d_optimizer=adam(), g_optimizer=adam(), d_steps=3, run_eagerly=True)
    with record_streams() as draws:
        hist = gan.fit(tf.data.Dataset.from_tensor_slices(points(24)).batch(24), epochs=1, verbose=0).history
    assert [name for name, _ in draws] == ["d/0/z", "d/1/z", "d/2/z", "g/0/z", "g/1/z"]
    assert int(gan.d_optimizer.iterations.numpy()) == 3 and int(gan.g_optimizer.iterations.numpy()) == 2
    assert gan.tracker_names() == ["d_loss", "g_loss", "d_adv", "g_adv"] and set(hist) == set(gan.tracker_names())


def test_a_phase_without_terms_is_skipped_and_an_update_without_terms_too():
    G, D = tiny_mlp_gan_nets(latent_dim=LATENT)
    md = MDGAN(G, D, net(2, LATENT, 1, "e", False), net(2, 1, 3, "d2"), lambda1=0.0, lambda2=0.0)
    md.compile(d_optimizer=adam(), g_optimizer=adam(), run_eagerly=True)
    assert [p.name for p in md.active_phases()] == ["manifold_d", "diffusion_d", "diffusion_g"]
    assert "m_loss" not in md.tracker_names()
    G, D = tiny_mlp_gan_nets(latent_dim=LATENT)
    reg = RegularizedGAN(G, D, net(2, LATENT, 1, "e", False), lambda1=0.0, lambda2=0.0)
    reg.compile(d_optimizer=adam(), g_optimizer=adam(), run_eagerly=True)
    reg.fit(tf.data.Dataset.from_tensor_slices(points(8)).batch(8), epochs=1, verbose=0)
    assert "e_loss" not in reg.tracker_names() and int(reg.e_optimizer.iterations.numpy()) == 0


def _bad(**change):
    fields = dict(name="d", losses="d_losses", names=["d_adv"], updates=[Update("d_optimizer", "d_variables")],
                  total="d_loss", repeat="d_steps", data="slice")
    fields.update(change)

    class Bad(GAN):
        def phases(self):
            return (Phase(**fields),
                    Phase("g", "g_losses", ["g_adv"], [Update("g_optimizer", "g_variables")], total="g_loss",
                          data="labels"))

    return Bad(*tiny_mlp_gan_nets())


@pytest.mark.parametrize("change,message", [
    ({"repeat": 0}, r"repeat must be a positive int or 'd_steps'; received repeat=0"),
    ({"repeat": 2}, r"data='slice'.*needs repeat='d_steps'; received repeat=2"),
    ({"data": "all"}, r"data must be one of .*received data='all'"),
    ({"losses": "d_loss_terms"}, r"losses='d_loss_terms' is not a method"),
    ({"updates": [Update("h_optimizer", "d_variables")]}, r"optimizer='h_optimizer' is not an optimizer"),
    ({"updates": [Update("d_optimizer", "d_variables", terms=["d_r1"])]}, r"terms \['d_r1'\].*does not declare"),
    ({"updates": []}, r"declares no Update"),
    ({"name": "g"}, r"phase 'g' is declared twice"),
    ({"total": "g_loss"}, r"logged names \['g_loss'\] are declared more than once"),
])
def test_bad_phases_are_named(change, message):
    with pytest.raises(ValueError, match=message):
        _bad(**change).compile(d_optimizer=adam(), g_optimizer=adam())


def test_terms_that_differ_from_the_declared_names_are_named():
    gan = _bad(names=["d_adv", "d_extra"])
    gan.compile(d_optimizer=adam(), g_optimizer=adam(), run_eagerly=True)
    with pytest.raises(ValueError, match=r"phase 'd' returned the loss terms \['d_adv'\], not the declared "
                                         r"\['d_adv', 'd_extra'\]"):
        gan.fit(tf.data.Dataset.from_tensor_slices(points(8)).batch(8), epochs=1, verbose=0)
