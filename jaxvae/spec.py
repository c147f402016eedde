"""What a model is, as data: one frozen ``ModelSpec`` that ``make_model``, the train-state builders,
ensembles, run configs, checkpoints and the commands take and store.

A new property of a model (an architecture, say) is a new field here and a branch in
``jaxvae.models``; nothing between them changes. ``from_typed_dict`` is the one reader of a saved
dataclass (a spec, a run's config.json): wrong keys or wrong types are one ``ConfigError`` line.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field
from typing import Any, TypeVar

from jaxvae.errors import ConfigError

MODEL_KINDS = ("ae", "vae", "rae", "noisy_ae")
ARCHS = ("mlp", "conv")
# how figures and pages name each kind
MODEL_NAMES = {"ae": "Autoencoder", "vae": "VAE", "rae": "RAE", "noisy_ae": "Noisy AE"}
DTYPES = ("float32", "bfloat16")
NOISE = 1.0  # the noisy autoencoder's code noise: the width of the VAE's prior
DECODER_L2 = 1e-3  # the RAE's decoder weight decay: about 1.5 nats an image at initialisation

# the fields of a spec that fix the shapes of the parameters: a checkpoint fits only these
_SHAPE_FIELDS = ("kind", "latent_dim", "arch", "hidden_dims", "channels", "dense_dims")
HIDDEN_DIMS = (512, 256)
CHANNELS = (16, 32)
DENSE_DIMS = (256,)


@dataclass(frozen=True)
class ModelSpec:
    """One model: its kind, sizes, compute type and the kind's own fixed numbers.

    Every field is also a ``jaxvae train`` flag (``kind`` is ``--model``, the others their names with
    ``-`` for ``_``).

    >>> ModelSpec("ae", latent_dim=3).hidden_dims
    (512, 256)
    """

    kind: str = field(
        default="vae",
        metadata={
            "flag": "model",
            "help": "ae (plain autoencoder), vae, rae (the autoencoder with the KL's pull of the codes to "
            "the origin, beta 1/2 ||z||^2, and decoder weight decay) or noisy_ae (the autoencoder with "
            "fixed noise on its codes and no KL)",
        },
    )
    latent_dim: int = field(default=2, metadata={"help": "size of the bottleneck z"})
    arch: str = field(
        default="mlp",
        metadata={
            "help": "the networks: mlp (dense layers 784 -> hidden dims -> latent and back) or conv (two "
            "4x4 stride-2 convolutions, then dense layers through dense dims to the code; the decoder "
            "mirrors them with transposed convolutions)"
        },
    )
    hidden_dims: tuple[int, ...] = field(
        default=HIDDEN_DIMS, metadata={"help": "encoder hidden sizes (mlp only); the decoder mirrors them"}
    )
    channels: tuple[int, ...] = field(
        default=CHANNELS,
        metadata={"help": "channels of the two convolutions (conv only); the decoder mirrors them"},
    )
    dense_dims: tuple[int, ...] = field(
        default=DENSE_DIMS,
        metadata={
            "help": "dense hidden layers between the convolutions and the code (conv only; 0 for none); "
            "the decoder mirrors them"
        },
    )
    dtype: str = field(
        default="float32", metadata={"help": "compute type of the dense layers: float32 or bfloat16"}
    )
    noise: float = field(default=NOISE, metadata={"help": "sigma of the noise on the codes (noisy_ae only)"})
    decoder_l2: float = field(
        default=DECODER_L2, metadata={"help": "weight of the decoder's weight decay (rae only)"}
    )

    def __post_init__(self) -> None:
        if tuple(self.dense_dims) == (0,):  # "--dense-dims 0": no dense hidden layer
            object.__setattr__(self, "dense_dims", ())

    def validate(self) -> ModelSpec:
        """Reject an invalid spec with one line; returns ``self`` when valid."""
        if self.kind not in MODEL_KINDS:
            raise ConfigError(f"unknown model {self.kind!r}; choose one of {', '.join(MODEL_KINDS)}")
        if self.latent_dim < 1:
            raise ConfigError(f"latent_dim must be a positive integer, got {self.latent_dim}")
        if self.arch not in ARCHS:
            raise ConfigError(f"unknown architecture {self.arch!r}; choose one of {', '.join(ARCHS)}")
        if not self.hidden_dims or min(self.hidden_dims) < 1:
            raise ConfigError(f"hidden_dims must be positive integers, got {self.hidden_dims}")
        if len(self.channels) != 2 or min(self.channels) < 1:
            raise ConfigError(f"channels must be two positive integers, got {self.channels}")
        if self.hidden_dims != HIDDEN_DIMS and self.arch != "mlp":
            raise ConfigError("--hidden-dims sizes the MLP's layers (--arch mlp), not the conv networks'")
        if self.channels != CHANNELS and self.arch != "conv":
            raise ConfigError("--channels sizes the conv networks (--arch conv), not the MLP's")
        if self.dense_dims != DENSE_DIMS and self.arch != "conv":
            raise ConfigError("--dense-dims sizes the conv networks (--arch conv), not the MLP's")
        if any(n < 1 for n in self.dense_dims):
            raise ConfigError(f"dense_dims must be positive integers, or 0 for none, got {self.dense_dims}")
        if self.dtype not in DTYPES:
            raise ConfigError(f"dtype must be float32 or bfloat16, got {self.dtype!r}")
        if not (math.isfinite(self.noise) and self.noise > 0):
            raise ConfigError(f"noise must be a positive number, got {self.noise}")
        if not (math.isfinite(self.decoder_l2) and self.decoder_l2 >= 0):
            raise ConfigError(f"decoder_l2 must be a non-negative number, got {self.decoder_l2}")
        if self.noise != NOISE and self.kind != "noisy_ae":
            raise ConfigError(f"--noise is the noisy autoencoder's (--model noisy_ae), not {self.kind}'s")
        if self.decoder_l2 != DECODER_L2 and self.kind != "rae":
            raise ConfigError(f"--decoder-l2 is the RAE's (--model rae), not {self.kind}'s")
        return self

    @property
    def name(self) -> str:
        """How figures and pages name the kind."""
        return MODEL_NAMES[self.kind]

    def network(self) -> str:
        """The networks in a few words, as pages and tables name them: ``"MLP 784-512-256-2"``, or
        ``"conv 28x28x1-14x14x16-7x7x32-256-2"`` (4x4 stride-2 convolutions, then dense layers;
        mirrored in the decoder)."""
        if self.arch == "conv":
            first, second = self.channels
            sizes = "-".join(str(n) for n in (*self.dense_dims, self.latent_dim))
            return f"conv 28x28x1-14x14x{first}-7x7x{second}-{sizes}"
        return "MLP " + "-".join(str(n) for n in (28 * 28, *self.hidden_dims, self.latent_dim))

    @classmethod
    def of_study(cls, config: dict[str, Any], kind: str = "vae", latent_dim: int = 2) -> ModelSpec:
        """The spec of an experiment's saved config (metrics.json's ``config``); one saved before
        the architectures has the MLP's."""
        channels = tuple(config.get("channels", CHANNELS))
        dense = tuple(config.get("dense_dims", DENSE_DIMS))
        return cls(
            kind, latent_dim=latent_dim, arch=config.get("arch", "mlp"), channels=channels, dense_dims=dense
        )

    def shapes(self) -> dict[str, Any]:
        """What fixes the shapes of the parameters (a checkpoint fits only these), as saved configs
        have always named them: ``{"model": kind, "latent_dim": ..., "hidden_dims": [...]}``, with
        the architecture and its channels beside them."""
        flat = self.flat()
        return {_key(name): flat[_key(name)] for name in _SHAPE_FIELDS}

    def flat(self) -> dict[str, Any]:
        """The spec as the flat keys of a run's config.json before specs (``model`` for the kind)."""
        return {_key(f.name): _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ModelSpec:
        """The spec saved as ``to_dict()``; wrong keys or types are a ``ConfigError`` (values are
        range-checked by ``validate()``)."""
        return from_typed_dict(cls, values)

    @staticmethod
    def is_flat(values: dict[str, Any]) -> bool:
        """Whether a config holds a spec's settings flat (as config.json did before specs)."""
        nested = {_key(f.name) for f in dataclasses.fields(ModelSpec)} - {"model"}
        return not isinstance(values.get("model", {}), dict) or any(k in values for k in nested)

    @classmethod
    def from_flat(cls, values: dict[str, Any]) -> tuple[ModelSpec, dict[str, Any]]:
        """Split a flat config (a run's config.json written before specs) into its spec and the rest."""
        names = {_key(f.name): f.name for f in dataclasses.fields(cls)}
        spec = {names[k]: v for k, v in values.items() if k in names}
        return cls.from_dict(spec), {k: v for k, v in values.items() if k not in names}


def _key(name: str) -> str:
    """A spec field's name in a flat config and on the command line."""
    return "model" if name == "kind" else name


def _plain(value: Any) -> Any:
    """A field's value as JSON keeps it (tuples become lists)."""
    return list(value) if isinstance(value, tuple) else value


T = TypeVar("T")

# a field's type names, for the one-line error about a value of the wrong type
_TYPE_NAMES = {str: "string", int: "integer", float: "number", tuple: "list of integers"}


def has_type(value: Any, hint: Any) -> bool:
    """Whether ``value`` (as JSON gives it back: lists for tuples) is of the type ``hint``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is tuple:
        return isinstance(value, tuple | list) and all(has_type(v, args[0]) for v in value)
    if args:  # an optional field: X | None
        return any(has_type(value, a) for a in args)
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _type_name(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is tuple:
        return _TYPE_NAMES[tuple]
    if args:
        return " or ".join("null" if a is type(None) else _type_name(a) for a in args)
    return _TYPE_NAMES.get(hint, getattr(hint, "__name__", str(hint)))


def from_typed_dict(cls: type[T], values: Any, nested: dict[str, Any] | None = None) -> T:
    """A frozen dataclass ``cls`` from its ``to_dict()`` (say, read back from JSON).

    Unknown keys and values of the wrong type are a one-line ``ConfigError``; lists become tuples;
    ``nested`` maps a field's name to the reader of its value (a nested dataclass's ``from_dict``).
    """
    if not isinstance(values, dict):
        raise ConfigError(f"a configuration is a mapping of settings, got {type(values).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(map(str, set(values) - set(fields)))
    if unknown:
        raise ConfigError(f"unknown configuration keys: {', '.join(unknown)}")
    hints = typing.get_type_hints(cls)
    nested = nested or {}
    read: dict[str, Any] = {}
    for name, value in values.items():
        if name in nested:
            read[name] = nested[name](value)
            continue
        if not has_type(value, hints[name]):
            raise ConfigError(f"{name} must be of type {_type_name(hints[name])}, got {value!r}")
        read[name] = tuple(value) if isinstance(value, list) else value
    return cls(**read)
