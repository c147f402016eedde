"""Strided convolutions in two forms that compute the same function: XLA's own convolution ops, and
patches times a dense layer (a matrix product).

The convolutional autoencoders of ``jaxvae.models`` are built from these two layers: a 4x4 stride-2
convolution (the encoder's, 28 -> 14 -> 7) and its mirror, a 4x4 stride-2 transposed convolution (the
decoder's, 7 -> 14 -> 28). Each keeps one set of parameters and runs in either form:

- ``"xla"``: ``jax.lax.conv_general_dilated`` and its transpose (``jax.linear_transpose``), which an
  accelerator's libraries run fastest;
- ``"patches"``: in blocks of 2x2 pixels (``space_to_depth``) a 4x4 stride-2 convolution is a 2x2
  stride-1 one, so it runs as the 2x2 patches of the blocks (four shifted copies) times the kernel as
  one dense layer, a matrix product, whose gradient XLA's CPU backend runs several times faster than a
  convolution's; the transposed convolution likewise maps each input pixel's 2x2 patch to a 2x2 block
  of outputs (``depth_to_space``). Neither wastes a multiply on the zeros of a stride.

``default_form()`` picks by backend; ``benchmarks/`` times both, and the tests hold them equal.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

FORMS = ("xla", "patches")
KERNEL = 4  # every layer's kernel is 4x4 with stride 2: each output of the transposed one sees 2x2 inputs


def default_form(backend: str | None = None) -> str:
    """The faster form on ``backend`` (default: JAX's default backend): patches on a CPU, XLA's
    convolutions elsewhere."""
    return "patches" if (backend or jax.default_backend()) == "cpu" else "xla"


def patches(x: jax.Array, size: int, pad: tuple[int, int]) -> jax.Array:
    """The ``size`` x ``size`` patches of ``x`` [B, H, W, C] at every position (stride 1) after zero
    padding ``pad`` (before, after) on both spatial axes, as [B, H', W', size * size * C] with the
    patch's (row, column, channel) flattened in that order."""
    padded = jnp.pad(x, ((0, 0), pad, pad, (0, 0)))
    rows, cols = x.shape[1] + sum(pad) - size + 1, x.shape[2] + sum(pad) - size + 1
    shifted = [padded[:, i : i + rows, j : j + cols, :] for i in range(size) for j in range(size)]
    return jnp.concatenate(shifted, axis=-1)


def space_to_depth(x: jax.Array) -> jax.Array:
    """[B, 2H, 2W, C] -> [B, H, W, 4 C]: each 2x2 block of pixels as one pixel of (row, column,
    channel)."""
    batch, height, width, channels = x.shape
    x = x.reshape(batch, height // 2, 2, width // 2, 2, channels).transpose(0, 1, 3, 2, 4, 5)
    return x.reshape(batch, height // 2, width // 2, 4 * channels)


def depth_to_space(x: jax.Array) -> jax.Array:
    """The inverse of ``space_to_depth``: [B, H, W, 4 C] -> [B, 2H, 2W, C]."""
    batch, height, width, channels = x.shape
    x = x.reshape(batch, height, width, 2, 2, channels // 4).transpose(0, 1, 3, 2, 4, 5)
    return x.reshape(batch, 2 * height, 2 * width, channels // 4)


def _init(key: jax.Array, shape: tuple[int, ...], fan_in: int) -> jax.Array:
    """LeCun normal, as ``nnx.Linear`` and ``nnx.Conv`` initialise their kernels."""
    return jax.random.truncated_normal(key, -2.0, 2.0, shape) * np.float32(0.87962566 / np.sqrt(fan_in))


def _conv(x: jax.Array, kernel: jax.Array) -> jax.Array:
    """XLA's 4x4 stride-2 convolution, zero padding 2 before and 1 after."""
    return jax.lax.conv_general_dilated(
        x, kernel, (2, 2), ((2, 1), (2, 1)), dimension_numbers=("NHWC", "HWIO", "NHWC")
    )


# In blocks of 2x2 pixels, the convolution is a 2x2 stride-1 one: output p reads input rows 2p - 2 ..
# 2p + 1, which are the blocks p - 1 and p, so kernel row 2i + a (block offset i, row a in the block)
# becomes row i of a 2x2 kernel over blocks; the transposed convolution reads blocks s and s + 1
# (kernel rows flipped) and writes the 2x2 block of outputs s.
def block_kernel(kernel: jax.Array) -> jax.Array:
    """A 4x4 stride-2 convolution's kernel [4, 4, in, out] as the dense layer [16 in, out] over 2x2
    patches of 2x2 blocks (``space_to_depth``), patch (row, column) then block (row, column, channel)."""
    c_in, c_out = kernel.shape[2:]
    blocks = kernel.reshape(2, 2, 2, 2, c_in, c_out).transpose(0, 2, 1, 3, 4, 5)  # i, j, a, b, c, o
    return blocks.reshape(16 * c_in, c_out)


def block_kernel_transposed(kernel: jax.Array) -> jax.Array:
    """The same kernel [4, 4, out, in] as the dense layer [4 in, 4 out] of its transpose: 2x2 patches
    of the input (pixels s, s + 1) to the 2x2 block of outputs s (row, column, channel)."""
    c_out, c_in = kernel.shape[2:]
    blocks = kernel.reshape(2, 2, 2, 2, c_out, c_in)[::-1, :, ::-1]  # e -> i = 1 - e, a, e', b, o, c
    return blocks.transpose(0, 2, 5, 1, 3, 4).reshape(4 * c_in, 4 * c_out)  # i, j, c, a, b, o


class _Strided(nnx.Module):
    """What both layers keep: a 4x4 kernel of ``shape``, a bias per output channel, the form and the
    compute type (parameters stay float32)."""

    def __init__(
        self,
        shape: tuple[int, int, int, int],
        fan_in: int,
        out_channels: int,
        *,
        form: str,
        rngs: nnx.Rngs,
        dtype: jnp.dtype | None,
    ) -> None:
        self.kernel = nnx.Param(_init(rngs.params(), shape, fan_in))
        self.bias = nnx.Param(jnp.zeros((out_channels,)))
        self.form, self.dtype = form, dtype

    def operands(self, x: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        """The input, the kernel and the bias (broadcast over [B, H, W]) in the compute type."""
        kernel, bias = self.kernel[...], self.bias[...].reshape(1, 1, 1, -1)
        if self.dtype is not None:
            x, kernel, bias = x.astype(self.dtype), kernel.astype(self.dtype), bias.astype(self.dtype)
        return x, kernel, bias


class Conv(_Strided):
    """A 4x4 stride-2 convolution, zero padding 2 before and 1 after: [B, H, W, in] -> [B, H/2, W/2, out]."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        form: str,
        rngs: nnx.Rngs,
        dtype: jnp.dtype | None = None,
    ) -> None:
        shape = (KERNEL, KERNEL, in_channels, out_channels)
        super().__init__(
            shape, KERNEL * KERNEL * in_channels, out_channels, form=form, rngs=rngs, dtype=dtype
        )

    def __call__(self, x: jax.Array) -> jax.Array:
        x, kernel, bias = self.operands(x)
        if self.form == "patches":
            return patches(space_to_depth(x), 2, (1, 0)) @ block_kernel(kernel) + bias
        return _conv(x, kernel) + bias


class ConvTranspose(_Strided):
    """A 4x4 stride-2 transposed convolution: [B, H, W, in] -> [B, 2H, 2W, out], exactly the transpose
    (the adjoint) of a ``Conv`` from ``out`` to ``in`` channels with the same kernel [4, 4, out, in]."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        form: str,
        rngs: nnx.Rngs,
        dtype: jnp.dtype | None = None,
    ) -> None:
        shape = (KERNEL, KERNEL, out_channels, in_channels)
        # each output sees 2x2 of the inputs: that is its fan-in
        super().__init__(shape, 4 * in_channels, out_channels, form=form, rngs=rngs, dtype=dtype)

    def __call__(self, x: jax.Array) -> jax.Array:
        x, kernel, bias = self.operands(x)
        if self.form == "patches":
            return depth_to_space(patches(x, 2, (0, 1)) @ block_kernel_transposed(kernel)) + bias
        batch, height, width, _ = x.shape
        template = jax.ShapeDtypeStruct((batch, 2 * height, 2 * width, kernel.shape[2]), x.dtype)
        (y,) = jax.linear_transpose(lambda image: _conv(image, kernel), template)(x)
        return y + bias
