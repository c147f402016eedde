import jax
import jax.numpy as jnp
import numpy as np

import jaxvae


def test_kl_closed_form_values():
    zeros = jnp.zeros((3, 2))
    np.testing.assert_allclose(jaxvae.kl_standard_normal(zeros, zeros), 0.0, atol=1e-7)
    # mean 1, var 1 in each of 2 dims: 0.5 * (1 + 1 - 1 - 0) * 2 = 1
    np.testing.assert_allclose(jaxvae.kl_standard_normal(jnp.ones((1, 2)), jnp.zeros((1, 2))), [1.0])
    # mean 0, var e: 0.5 * (e - 1 - 1)
    np.testing.assert_allclose(
        jaxvae.kl_standard_normal(jnp.zeros((1, 1)), jnp.ones((1, 1))), [0.5 * (np.e - 2)], rtol=1e-6
    )


def test_kl_matches_monte_carlo():
    mean, logvar = jnp.array([0.7, -1.2]), jnp.array([-0.5, 0.8])
    z = jaxvae.reparameterize(
        jnp.broadcast_to(mean, (200_000, 2)), jnp.broadcast_to(logvar, (200_000, 2)), key=jax.random.key(0)
    )
    log_q = jax.scipy.stats.norm.logpdf(z, mean[None], jnp.exp(0.5 * logvar)[None]).sum(-1)
    log_p = jax.scipy.stats.norm.logpdf(z).sum(-1)
    np.testing.assert_allclose(jnp.mean(log_q - log_p), jaxvae.kl_standard_normal(mean, logvar), rtol=2e-2)


def test_bernoulli_nll_matches_formula():
    logits = jnp.array([[-2.0, 0.0, 3.0]])
    x = jnp.array([[0.0, 0.5, 1.0]])
    p = jax.nn.sigmoid(logits)
    expected = -jnp.sum(x * jnp.log(p) + (1 - x) * jnp.log1p(-p), axis=-1)
    np.testing.assert_allclose(jaxvae.bernoulli_nll(logits, x), expected, rtol=1e-6)


def _reference_nll(logits, x):
    """The summed sigmoid cross-entropy written plainly, for autodiff to differentiate."""
    return jnp.sum(jax.nn.softplus(logits) - x * logits, axis=-1)


def test_bernoulli_nll_derivatives_match_autodiff_in_both_arguments():
    logits = 8.0 * jax.random.normal(jax.random.key(0), (3, 784))
    x = jax.random.uniform(jax.random.key(1), (3, 784))
    weights = jnp.array([0.5, -1.0, 2.0])
    for argnums in (0, 1, (0, 1)):

        def grad(nll, argnums=argnums):
            return jax.grad(lambda logits, x: jnp.sum(weights * nll(logits, x)), argnums=argnums)(logits, x)

        pairs = zip(
            jax.tree.leaves(grad(jaxvae.bernoulli_nll)), jax.tree.leaves(grad(_reference_nll)), strict=True
        )
        for ours, reference in pairs:
            np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-6)
    tangents = (jnp.ones_like(logits), -jnp.ones_like(x))
    _, ours = jax.jvp(jaxvae.bernoulli_nll, (logits, x), tangents)
    _, reference = jax.jvp(_reference_nll, (logits, x), tangents)
    np.testing.assert_allclose(ours, reference, rtol=1e-5)
    # second derivatives too: d2/dl2 = sigmoid(l) (1 - sigmoid(l)) on the diagonal
    point = logits[0, :4]
    hessian = jax.hessian(lambda z: jnp.sum(jaxvae.bernoulli_nll(z, x[0, :4])))(point)
    p = jax.nn.sigmoid(point)
    np.testing.assert_allclose(hessian, jnp.diag(p * (1 - p)), rtol=1e-5, atol=1e-7)
    # saturated logits: finite values and gradients sigmoid(l) - x
    big = jnp.array([-100.0, -30.0, 30.0, 100.0])
    target = jnp.array([0.0, 1.0, 0.0, 1.0])
    np.testing.assert_allclose(jaxvae.bernoulli_nll(big, target), 60.0, rtol=1e-6)
    np.testing.assert_allclose(jax.grad(jaxvae.bernoulli_nll)(big, target), [0.0, -1.0, 1.0, 0.0], atol=1e-7)


def test_reparameterize_moments_and_keys():
    mean, logvar = jnp.full((100_000, 1), 2.0), jnp.full((100_000, 1), np.log(0.25))
    z = jaxvae.reparameterize(mean, logvar, key=jax.random.key(1))
    assert abs(float(z.mean()) - 2.0) < 0.01 and abs(float(z.std()) - 0.5) < 0.01
    again = jaxvae.reparameterize(mean, logvar, key=jax.random.key(1))
    other = jaxvae.reparameterize(mean, logvar, key=jax.random.key(2))
    np.testing.assert_array_equal(z, again)
    assert not np.array_equal(z, other)


def test_loss_terms_add_up():
    images = jaxvae.load_bundled("test").images[:16]
    vae = jaxvae.make_model("vae", key=jax.random.key(0))
    terms = jaxvae.vae_loss(vae, images, key=jax.random.key(1), beta=0.5)
    assert terms.total.shape == (16,)
    np.testing.assert_allclose(terms.total, terms.reconstruction + 0.5 * terms.kl, rtol=1e-6)
    np.testing.assert_allclose(
        jaxvae.negative_elbo(vae, images, key=jax.random.key(1)), terms.reconstruction + terms.kl, rtol=1e-6
    )
    ae = jaxvae.make_model("ae", key=jax.random.key(0))
    ae_terms = jaxvae.ae_loss(ae, images)
    np.testing.assert_array_equal(ae_terms.kl, 0.0)
    np.testing.assert_array_equal(ae_terms.total, ae_terms.reconstruction)
    # uint8 images and the same images as [0, 1] floats give the same loss
    np.testing.assert_allclose(jaxvae.ae_loss(ae, images / 255.0).total, ae_terms.total, rtol=1e-5)
