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


def add_config_flags(parser: ArgumentTarget, config_cls: type, defaults: Any = None) -> None:
    """Add one ``--flag`` per dataclass field, with its help and default."""
    defaults = defaults or config_cls()
    for field in dataclasses.fields(config_cls):
        scalar, is_tuple = _field_type(config_cls, field)
        default = getattr(defaults, field.name)
        kwargs: dict[str, Any] = {"type": scalar, "default": default}
        if is_tuple:
            kwargs["nargs"] = "+"
        shown = " ".join(map(str, default)) if is_tuple else default
        help_text = field.metadata.get("help", "")
        suffix = "" if default is None or "(default:" in help_text else f" (default: {shown})"
        kwargs["help"] = help_text + suffix
        parser.add_argument("--" + field.name.replace("_", "-"), dest=field.name, **kwargs)


def config_from_args(config_cls: type, args: argparse.Namespace) -> Any:
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(config_cls)}
    for f in dataclasses.fields(config_cls):
        if isinstance(values[f.name], list):
            values[f.name] = tuple(values[f.name])
    return config_cls(**values)


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
    metrics = experiment(config.validate(), progress=not args.no_progress)
    print(tables(metrics))
    print(f"\nReport: {Path(config.out) / 'index.html'}")
    return 0
