"""Command-line flags generated from the config dataclasses: one ``--flag`` per field."""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

ArgumentTarget = argparse.ArgumentParser | argparse._ArgumentGroup  # a parser or a group of its flags


def _field_type(field_owner: type, field: dataclasses.Field[Any]) -> tuple[Any, bool]:
    """The scalar type argparse should parse, and whether the field is a tuple (``nargs='+'``)."""
    hints = typing.get_type_hints(field_owner)
    hint = hints[field.name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    origin = typing.get_origin(hint)
    if origin is tuple:
        return args[0], True
    if origin in (typing.Union, types.UnionType):
        return args[0], False
    return hint, False


def _flag_fields(config_cls: type) -> list[tuple[str | None, dataclasses.Field[Any], type]]:
    """Each flag's field as (the nested dataclass field it sits in or None, the field, its owner):
    a field whose default is a dataclass (a ``ModelSpec``) gives one flag per field of its own."""
    flags: list[tuple[str | None, dataclasses.Field[Any], type]] = []
    hints = typing.get_type_hints(config_cls)
    for field in dataclasses.fields(config_cls):
        inner = hints[field.name]
        if isinstance(inner, type) and dataclasses.is_dataclass(inner):
            flags += [(field.name, f, inner) for f in dataclasses.fields(inner)]
        else:
            flags.append((None, field, config_cls))
    return flags


def _dest(field: dataclasses.Field[Any]) -> str:
    return str(field.metadata.get("flag", field.name))


def add_config_flags(parser: ArgumentTarget, config_cls: type, defaults: Any = None) -> None:
    """Add one ``--flag`` per dataclass field (and per field of a nested dataclass, such as a
    ``ModelSpec``), with its help and default; a field's ``flag`` metadata renames its flag."""
    defaults = defaults or config_cls()
    for outer, field, owner in _flag_fields(config_cls):
        scalar, is_tuple = _field_type(owner, field)
        default = getattr(getattr(defaults, outer) if outer else defaults, field.name)
        kwargs: dict[str, Any] = {"type": scalar, "default": default}
        if scalar is bool:  # a switch: off unless given
            kwargs = {"action": "store_true", "default": default}
        elif is_tuple:
            kwargs["nargs"] = "+"
        shown = " ".join(map(str, default)) if is_tuple else default
        help_text = field.metadata.get("help", "")
        suffix = "" if default is None or "(default:" in help_text else f" (default: {shown})"
        kwargs["help"] = help_text + suffix
        parser.add_argument("--" + _dest(field).replace("_", "-"), dest=_dest(field), **kwargs)


def config_from_args(config_cls: type, args: argparse.Namespace) -> Any:
    """The config that ``add_config_flags``' flags give, nested dataclasses rebuilt."""
    values: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {}
    for outer, field, _ in _flag_fields(config_cls):
        value = getattr(args, _dest(field))
        value = tuple(value) if isinstance(value, list) else value
        if outer:
            nested.setdefault(outer, {})[field.name] = value
        else:
            values[field.name] = value
    hints = typing.get_type_hints(config_cls)
    return config_cls(**values, **{name: hints[name](**v) for name, v in nested.items()})


class OneLineParser(argparse.ArgumentParser):
    """Report a bad flag as one ``jaxvae: error:`` line (``--help`` still shows the usage)."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"jaxvae: error: {message} (see {self.prog} --help)\n")


def add_experiment_flags(parser: argparse.ArgumentParser, config_cls: type, quick: dict[str, Any]) -> None:
    """An experiment's flags: its config's fields, ``--quick`` (``quick`` for every flag left at its
    default) and ``--no-progress``."""
    add_config_flags(parser, config_cls)
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"a fast smoke run: {', '.join(f'{k}={v}' for k, v in quick.items())}, for each of these "
        "flags left at its default",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def run_experiment(
    args: argparse.Namespace,
    config_cls: type,
    experiment: Callable[..., dict[str, Any]],
    tables: Callable[[dict[str, Any]], str],
) -> int:
    """Run an experiment with the config its flags give, print its tables and where its report is."""
    config = config_from_args(config_cls, args)
    if args.quick:
        config = config.quick()
    config = config.validate()
    metrics = experiment(config, progress=not args.no_progress)
    print(tables(metrics))
    print(f"\nReport: {Path(config.out) / 'index.html'}")
    return 0
