"""The ``jaxvae`` command line: a dispatcher over one module per command.

Every failure the project anticipates (bad data, bad config, bad checkpoint, a full disk, a run
folder in use) is printed as one ``jaxvae: error: ...`` line with exit status 2, never as a
traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from jaxvae.commands import demo, explore, judge, sweep, train, why
from jaxvae.commands import eval as eval_command
from jaxvae.commands.flags import OneLineParser
from jaxvae.commands.process import enable_compile_cache, log_to_stderr, without_closed_loop_noise
from jaxvae.errors import JaxvaeError
from jaxvae.runs.files import os_reason

COMMANDS = (train, demo, eval_command, explore, sweep, why, judge)  # in the order --help lists them

DESCRIPTION = """\
Autoencoders versus variational autoencoders on MNIST, in JAX.

  jaxvae demo     train both models with a 2-D latent, test the AE-versus-VAE claims, write a report
  jaxvae train    train one model and write its run directory (config, metrics, checkpoints)
  jaxvae explore  a page that decodes any point of trained 2-D latent spaces live in the browser
  jaxvae sweep    VAEs over a grid of KL weights, trained as one program: how much overlap fills the space
  jaxvae why      the KL's pull or the noise: AE, RAE, noisy AE and VAE measured alike (an ablation)
  jaxvae eval     held-out -ELBO, IWAE-k bounds and the exact 2-D log-likelihood of a trained VAE
  jaxvae judge    build a data set's judge from the recipe (MNIST's ships with jaxvae)

Data: MNIST ships inside the package (checked against its checksums on load); --data-dir or
$JAXVAE_DATA_DIR (the standard IDX files) take precedence. Fashion-MNIST comes from those, Debian's
dataset-fashion-mnist, tensorflow-datasets' cache or a download. --dataset mnist_5k is a balanced
5,000-digit subset of MNIST for quick runs.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="jaxvae", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what jaxvae is doing")
    parser.add_argument(
        "--no-compile-cache",
        action="store_true",
        help="do not keep compiled XLA programs in $JAXVAE_CACHE_DIR/xla (default: keep them, so a "
        "second run compiles in a fraction of the time)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.add_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``jaxvae`` console script."""
    sys.unraisablehook = without_closed_loop_noise(sys.unraisablehook)
    args = build_parser().parse_args(argv)
    log_to_stderr(verbose=args.verbose)
    enable_compile_cache(not args.no_compile_cache)
    try:
        return int(args.handler(args))
    except JaxvaeError as e:
        print(f"jaxvae: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # the file system failed where no module expected it (a full disk mid-figure)
        where = f"{e.filename}: " if e.filename else ""
        print(f"jaxvae: error: {where}{os_reason(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("jaxvae: interrupted; completed checkpoints are kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
