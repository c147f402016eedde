"""The convolutional networks: both forms of each convolution compute the same function, the
transposed convolution is the convolution's adjoint, and the spec keeps the two architectures apart."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx
from helpers import assert_trees_close

import jaxvae
from jaxvae.commands.cli import main
from jaxvae.conv import Conv, ConvTranspose, default_form, depth_to_space, space_to_depth
from jaxvae.models import make_model
from jaxvae.spec import ModelSpec
from jaxvae.train import create_train_state


@pytest.mark.parametrize(("layer", "shape"), [(Conv, (3, 28, 28, 5)), (ConvTranspose, (3, 7, 7, 5))])
def test_both_forms_of_each_layer_compute_the_same_function(layer, shape):
    x = jax.random.normal(jax.random.key(1), shape)
    xla, patches = (layer(5, 6, form=form, rngs=nnx.Rngs(0)) for form in ("xla", "patches"))
    xla.bias[...] = jax.random.normal(jax.random.key(2), (6,))  # a bias that is not zero
    patches.bias[...] = xla.bias[...]
    a, b = xla(x), patches(x)
    scale = 2 if layer is ConvTranspose else 0.5
    assert a.shape == b.shape == (3, int(shape[1] * scale), int(shape[2] * scale), 6)
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_the_transposed_convolution_is_the_convolutions_adjoint():
    conv = Conv(6, 5, form="xla", rngs=nnx.Rngs(0))
    for form in ("xla", "patches"):
        transposed = ConvTranspose(5, 6, form=form, rngs=nnx.Rngs(1))
        transposed.kernel[...] = conv.kernel[...]  # [4, 4, 6, 5]: the convolution's kernel, as is
        x, y = (
            jax.random.normal(jax.random.key(2), (2, 14, 14, 6)),
            jax.random.normal(jax.random.key(3), (2, 7, 7, 5)),
        )
        # <conv(x), y> == <x, conv^T(y)>, the biases (zero at initialisation) aside
        np.testing.assert_allclose(jnp.sum(conv(x) * y), jnp.sum(x * transposed(y)), rtol=1e-5)


def test_space_to_depth_and_back_is_the_identity():
    x = jnp.arange(2 * 4 * 6 * 3, dtype=jnp.float32).reshape(2, 4, 6, 3)
    blocks = space_to_depth(x)
    assert blocks.shape == (2, 2, 3, 12)
    np.testing.assert_array_equal(
        blocks[0, 1, 2], x[0, 2:4, 4:6].reshape(-1)
    )  # a block: (row, column, channel)
    np.testing.assert_array_equal(depth_to_space(blocks), x)


@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_a_training_epoch_is_the_same_in_both_forms(kind):
    images = jnp.asarray(jaxvae.load_bundled("train").images[:512])
    optimizer = optax.adam(1e-3)
    spec = ModelSpec(kind, arch="conv")
    trained = {}
    for form in ("xla", "patches"):
        state = create_train_state(
            make_model(spec, key=jax.random.key(0), form=form), optimizer, key=jax.random.key(1)
        )
        trained[form] = jaxvae.train_epoch(state, images, optimizer=optimizer, batch_size=128)
    np.testing.assert_allclose(trained["xla"][1].total, trained["patches"][1].total, rtol=1e-4)
    assert_trees_close(
        nnx.state(trained["xla"][0].model), nnx.state(trained["patches"][0].model), rtol=1e-3, atol=1e-4
    )


def test_the_faster_form_is_picked_by_backend():
    assert default_form("cpu") == "patches" and default_form("gpu") == "xla" and default_form("tpu") == "xla"


def test_conv_networks_shapes_and_parameter_counts():
    """The shapes of the Keras/TF examples without their full-resolution layer, 28 -> 14 -> 7 and
    back, with a dense hidden layer between the convolutions and the code."""
    vae = make_model(ModelSpec("vae", arch="conv"), key=jax.random.key(0))
    counts = {
        name: sum(np.size(p[...]) for p in jax.tree.leaves(nnx.state(getattr(vae, name))))
        for name in ("trunk", "decoder")
    }
    # trunk: 4*4*1*16 + 16 + 4*4*16*32 + 32 + 1568*256 + 256; decoder: 2*256 + 256 + 256*1568 + 1568 +
    # 4*4*32*16 + 16 + 4*4*16*1 + 1
    assert counts == {"trunk": 8_496 + 401_664, "decoder": 768 + 402_976 + 8_465}
    assert jaxvae.decode(vae, jnp.zeros((4, 3, 2))).shape == (4, 3, 28, 28)
    assert jaxvae.encode(vae, jnp.zeros((5, 28, 28), jnp.uint8)).mean.shape == (5, 2)
    wide = make_model(
        ModelSpec("ae", arch="conv", channels=(32, 64), dense_dims=(128, 64), latent_dim=16),
        key=jax.random.key(0),
    )
    assert wide.encoder.convs[1].kernel.shape == (4, 4, 32, 64)
    assert [layer.kernel.shape for layer in wide.encoder.dense.layers] == [(3136, 128), (128, 64), (64, 16)]
    assert [layer.kernel.shape for layer in wide.decoder.dense.layers] == [(16, 64), (64, 128), (128, 3136)]
    # --dense-dims 0: the first networks, a dense layer straight from the 7x7 maps to the code and back
    bare = make_model(ModelSpec("vae", arch="conv", dense_dims=(0,)), key=jax.random.key(0))
    assert ModelSpec("vae", arch="conv", dense_dims=(0,)).dense_dims == ()
    assert bare.trunk.dense is None and bare.mean_head.kernel.shape == (1568, 2)
    assert [layer.kernel.shape for layer in bare.decoder.dense.layers] == [(2, 1568)]
    assert ModelSpec("vae", arch="conv", dense_dims=(0,)).network() == "conv 28x28x1-14x14x16-7x7x32-2"
    assert ModelSpec("vae", arch="conv").network() == "conv 28x28x1-14x14x16-7x7x32-256-2"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"arch": "resnet"}, "unknown architecture 'resnet'; choose one of mlp, conv"),
        ({"arch": "conv", "hidden_dims": (64,)}, "--hidden-dims sizes the MLP's layers"),
        ({"channels": (8, 8)}, "--channels sizes the conv networks"),
        ({"arch": "conv", "channels": (8,)}, "channels must be two positive integers"),
        ({"dense_dims": (64,)}, "--dense-dims sizes the conv networks"),
        ({"arch": "conv", "dense_dims": (64, 0)}, "dense_dims must be positive integers, or 0 for none"),
    ],
)
def test_a_setting_of_the_other_architecture_is_a_one_line_error(changes, message):
    with pytest.raises(jaxvae.ConfigError, match=message):
        ModelSpec("vae", **changes).validate()


def test_train_arch_conv_writes_a_run_that_loads_back_as_conv(tmp_path, capsys):
    out = tmp_path / "run"
    flags = ["--arch", "conv", "--dataset", "mnist_5k", "--epochs", "1", "--no-progress", "--out", str(out)]
    assert main(["train", "--model", "ae", *flags]) == 0
    model, config = jaxvae.load_model(out)
    assert config.model.arch == "conv" and config.model.channels == (16, 32)
    assert model.encoder.convs[0].kernel.shape == (4, 4, 1, 16)
    assert main(["train", "--model", "ae", "--channels", "8", "8", "--out", str(tmp_path / "bad")]) == 2
    assert "--channels sizes the conv networks" in capsys.readouterr().err
