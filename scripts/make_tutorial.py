"""Make docs/tutorial.ipynb from docs/tutorial.py: convert (jupytext), run top to bottom (nbclient),
and keep the outputs, so that GitHub shows the pictures.

    python scripts/make_tutorial.py            # writes docs/tutorial.ipynb (a few minutes of CPU)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "docs" / "tutorial.py"
NOTEBOOK = ROOT / "docs" / "tutorial.ipynb"


def executed(source: Path = SOURCE, timeout: int = 1800) -> nbformat.NotebookNode:
    """The notebook of ``source`` after running every cell in a fresh kernel (raises if one fails)."""
    notebook = jupytext.read(source)
    NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": ROOT}}
    ).execute()
    return notebook


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=NOTEBOOK, help="where to write the notebook")
    args = parser.parse_args()
    began = time.perf_counter()
    notebook = executed()
    nbformat.write(notebook, args.out)
    print(f"wrote {args.out} in {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
