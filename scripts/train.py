#!/usr/bin/env python3
"""Train one model: the same implementation as ``jaxvae train`` (see ``--help``)."""

import sys

from jaxvae.commands.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
