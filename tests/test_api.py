"""Each public jitted function composes under a caller's jit, vmap, grad and scan."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import assert_trees_equal, trees_equal

import jaxvae


@pytest.fixture(scope="module")
def images():
    return jnp.asarray(jaxvae.load_bundled("test").images[:8])


@pytest.fixture(scope="module", params=["ae", "vae"])
def model(request):
    return jaxvae.make_model(request.param, key=jax.random.key(0))


def test_encode_decode_shapes(model, images):
    mean, logvar = jaxvae.encode(model, images)
    assert mean.shape == (8, 2)
    assert (logvar is None) == isinstance(model, jaxvae.AutoEncoder)
    assert jaxvae.decode(model, mean).shape == (8, 28, 28)


def test_encode_decode_under_jit_and_vmap(model, images):
    direct = jaxvae.decode(model, jaxvae.encode(model, images).mean)
    jitted = jax.jit(lambda m, x: jaxvae.decode(m, jaxvae.encode(m, x).mean))(model, images)
    mapped = jax.vmap(lambda x: jaxvae.decode(model, jaxvae.encode(model, x).mean))(images)
    np.testing.assert_allclose(jitted, direct, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(mapped, direct, rtol=1e-5, atol=1e-5)


def test_grad_through_losses_and_reparameterize(images):
    vae = jaxvae.make_model("vae", key=jax.random.key(0))
    grads = jax.grad(lambda m: jaxvae.vae_loss(m, images, key=jax.random.key(1)).total.mean())(vae)
    norms = [float(jnp.abs(g).sum()) for g in jax.tree.leaves(grads)]
    assert all(np.isfinite(norms)) and sum(n > 0 for n in norms) == len(norms)
    # d z / d mean = 1 and d z / d logvar = eps / 2 * exp(logvar / 2)
    key = jax.random.key(3)
    eps = jax.random.normal(key, (2,))
    dmean, dlogvar = jax.grad(lambda m, lv: jaxvae.reparameterize(m, lv, key=key).sum(), argnums=(0, 1))(
        jnp.zeros(2), jnp.zeros(2)
    )
    np.testing.assert_allclose(dmean, 1.0)
    np.testing.assert_allclose(dlogvar, eps / 2, rtol=1e-6)


def test_reparameterize_under_vmap_over_keys():
    keys = jax.random.split(jax.random.key(0), 5)
    z = jax.vmap(lambda k: jaxvae.reparameterize(jnp.zeros(3), jnp.zeros(3), key=k))(keys)
    assert z.shape == (5, 3) and len({tuple(np.asarray(r)) for r in z}) == 5


def test_train_step_under_scan_and_vmap_over_seeds(images):
    opt = optax.adam(1e-3)

    def run(seed):
        key = jax.random.key(seed)
        state = jaxvae.create_train_state(jaxvae.make_model("vae", key=key), opt, key=key)

        def body(state, _):
            return jaxvae.train_step(state, images, optimizer=opt)

        state, terms = jax.lax.scan(body, state, length=3)
        return terms.total

    losses = jax.jit(jax.vmap(run))(jnp.arange(2))
    assert losses.shape == (2, 3)
    assert np.all(losses[:, -1] < losses[:, 0])
    assert not np.allclose(losses[0], losses[1])


def test_decode_grid_composes_and_equals_pointwise(model):
    grid = jnp.asarray(jaxvae.grid_points((-2, 2), (-1, 1), 4))
    decoded = jaxvae.decode_grid(model, grid)
    assert decoded.shape == (4, 4, 28, 28)
    pointwise = np.stack(
        [[jax.nn.sigmoid(jaxvae.decode(model, grid[i, j])) for j in range(4)] for i in range(4)]
    )
    np.testing.assert_allclose(decoded, pointwise, rtol=1e-5, atol=1e-6)
    under_jit = jax.jit(jaxvae.decode_grid)(model, grid)
    np.testing.assert_allclose(under_jit, decoded, rtol=1e-5, atol=1e-6)


def test_same_seed_gives_identical_parameters():
    a = jaxvae.make_model("vae", key=jax.random.key(42))
    b = jaxvae.make_model("vae", key=jax.random.key(42))
    c = jaxvae.make_model("vae", key=jax.random.key(43))
    assert_trees_equal(a, b)
    assert not trees_equal(a, c)


def test_grid_helpers():
    grid = jaxvae.grid_points((0, 1), (0, 2), 3)
    np.testing.assert_allclose(grid[0, 0], [0, 2])  # top-left is (x min, y max)
    np.testing.assert_allclose(grid[-1, -1], [1, 0])
    quantiles = jaxvae.prior_quantile_grid(3)
    np.testing.assert_allclose(quantiles[1, 1], [0, 0], atol=1e-6)
    np.testing.assert_allclose(quantiles[0, 0], [-1.6448536, 1.6448536], rtol=1e-5)


def test_bfloat16_compute_keeps_float32_params_and_outputs(images):
    model = jaxvae.make_model(jaxvae.ModelSpec("vae", dtype="bfloat16"), key=jax.random.key(0))
    assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(model))
    mean, logvar = jaxvae.encode(model, images)
    assert mean.dtype == logvar.dtype == jaxvae.decode(model, mean).dtype == jnp.float32
    reference = jaxvae.make_model("vae", key=jax.random.key(0))
    np.testing.assert_allclose(mean, jaxvae.encode(reference, images).mean, rtol=0.1, atol=0.05)
    opt = optax.adam(1e-3)
    state = jaxvae.create_train_state(model, opt, key=jax.random.key(1))
    state, terms = jaxvae.train_step(state, images, optimizer=opt)
    assert np.isfinite(float(terms.total))
