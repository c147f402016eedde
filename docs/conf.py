"""Sphinx configuration of jaxvae's reference: the public API from its docstrings, the README, the
docs/ pages, the benchmarks' README and the tutorial notebook as committed (not executed again).

The source folder is the repository's root, so that the pages' links between README.md, docs/ and
benchmarks/README.md resolve as they do when the files are read in the repository. Build it, warnings
as errors, from the root:

    python -m sphinx -W --keep-going -c docs -b html . docs/_build/html
"""

from pygments.lexers.special import TextLexer
from sphinx.highlighting import lexers

project = "jaxvae"
author = "the jaxvae developers"
copyright = "2026, the jaxvae developers"

extensions = [
    "myst_nb",  # Markdown pages and the notebook, as jax, flax and optax do
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",  # the Args: / Returns: sections of the docstrings
    "sphinx.ext.viewcode",
]
root_doc = "docs/index"
include_patterns = [
    "README.md",
    "docs/*.md",
    "docs/*.rst",
    "docs/*.ipynb",
    "docs/images/*",
    "benchmarks/README.md",
    "jaxvae/_bundled/PROVENANCE.md",
]
exclude_patterns = ["docs/_build", ".venv", "**/.ipynb_checkpoints"]
nb_execution_mode = "off"  # the notebook's outputs are the ones scripts/make_tutorial.py committed
myst_heading_anchors = 3  # links to a page's sections (measures.md#how-many-seeds-8)

autodoc_member_order = "bysource"
autodoc_typehints = "description"
napoleon_google_docstring = True
napoleon_numpy_docstring = False

# docs/design.md draws the layers as a mermaid diagram: shown as its text, which reads as it is
lexers["mermaid"] = TextLexer()

html_extra_path = ["_root"]  # index.html at the top, leading to docs/index.html
html_theme = "sphinx_book_theme"
html_title = "jaxvae"
html_theme_options = {"show_toc_level": 2}
