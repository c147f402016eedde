#!/usr/bin/env python3
"""The AE-versus-VAE report: the same implementation as ``jaxvae demo`` (see ``--help``)."""

import sys

from jaxvae.commands.cli import main

if __name__ == "__main__":
    sys.exit(main(["demo", *sys.argv[1:]]))
