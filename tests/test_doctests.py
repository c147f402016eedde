"""The examples in the public docstrings run and print what they say."""

import doctest
import importlib

import pytest

# the modules the public API (``jaxvae.__all__``) comes from, and the spec
MODULES = sorted(
    {
        getattr(importlib.import_module("jaxvae"), name).__module__
        for name in importlib.import_module("jaxvae").__all__
    }
    | {"jaxvae.spec", "jaxvae.latent", "jaxvae.losses", "jaxvae.models"}
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed"


def test_the_examples_are_there():
    attempted = 0
    for name in MODULES:
        finder = doctest.DocTestFinder()
        attempted += sum(len(t.examples) for t in finder.find(importlib.import_module(name)))
    assert attempted >= 15  # ModelSpec, make_model, encode, reparameterize, the losses, the grids
