"""Test setup: 4 fake CPU devices (for the data-parallel tests), no silent rank promotion, every test
in its own data and cache folders (the experiments score with the judge that ships with jaxvae), and an
on-disk cache of compiled programs that every worker and every later run shares."""

import os
import shutil
import tempfile
from pathlib import Path

import jax
import pytest
from helpers import tree_distance

jax.config.update("jax_num_cpu_devices", 4)
jax.config.update("jax_numpy_rank_promotion", "raise")
# full float32 matmuls on every backend (GPUs default to TF32), so tolerances mean the same there
jax.config.update("jax_default_matmul_precision", "float32")

# XLA's persistent cache of compiled programs, for every process of the test run: the tests compile
# the same programs in many tests and in each pytest-xdist worker, and again in every run while you
# work. It lives in pytest's cache folder (.pytest_cache/d/jaxvae-xla), so a second run of the fast
# tier reads what the first compiled; with -p no:cacheprovider, in a temporary folder removed at the
# end. XLA keys each program on its HLO, options and versions, so an edit never reads a stale one;
# a whole run adds about 30 MB, and `pytest --cache-clear` empties it. (No size bound: jax's bounded
# cache races between the workers, each reading the others' access times while they write them.)
# Only programs that take 0.5 s or more to compile are kept: those are what the cache saves, and
# every entry written is a serialization of a compiled program, which once crashed a long-lived
# worker (a segfault inside jaxlib, after hours of tests, never seen in a process of its own).
# The first process (the controller, or pytest alone) picks the folder and hands it to the workers
# in the environment. It is set in this process's jax config, not in $JAX_COMPILATION_CACHE_DIR, so
# that the commands the tests start as subprocesses keep their own caches (the compile-cache test
# counts theirs).
_XLA_CACHE = "JAXVAE_TEST_XLA_CACHE"
_made_cache: list[str] = []  # the temporary folder this process made, if any


@pytest.fixture(params=["mlp", "conv"])
def arch(request: pytest.FixtureRequest) -> str:
    """Each architecture of jaxvae.spec: a test that takes it holds both to its promise."""
    return str(request.param)


def pytest_configure(config: pytest.Config) -> None:
    if not os.environ.get(_XLA_CACHE):
        cache = getattr(config, "cache", None)
        if cache is not None:
            folder = str(cache.mkdir("jaxvae-xla"))
        else:
            folder = tempfile.mkdtemp(prefix="jaxvae-test-xla-")
            _made_cache.append(folder)
        os.environ[_XLA_CACHE] = folder
    jax.config.update("jax_compilation_cache_dir", os.environ[_XLA_CACHE])
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


def pytest_unconfigure(config: pytest.Config) -> None:
    for folder in _made_cache:
        shutil.rmtree(folder, ignore_errors=True)
        os.environ.pop(_XLA_CACHE, None)


def _isolate(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    monkeypatch.delenv("JAXVAE_DATA_DIR", raising=False)
    monkeypatch.setenv("JAXVAE_CACHE_DIR", str(root / "cache"))
    monkeypatch.setenv("TFDS_DATA_DIR", str(root / "tfds"))
    # in-process CLI calls must not point this whole test process at one test's XLA cache folder
    monkeypatch.setenv("JAXVAE_NO_COMPILE_CACHE", "1")


@pytest.fixture(scope="session", autouse=True)
def _isolated_session_env(tmp_path_factory):
    """Module- and session-scoped fixtures (a demo report shared by a module's tests) are set up
    before any test's own isolation: they too must not read the user's cache (a classifier cached
    there by another process would be reused)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        _isolate(monkeypatch, tmp_path_factory.mktemp("session"))
        yield


@pytest.fixture(autouse=True)
def _isolated_data_env(monkeypatch, tmp_path):
    """No test reads the user's data folders or cache, or downloads anything by accident."""
    _isolate(monkeypatch, tmp_path)


@pytest.fixture
def distance():
    """``distance(a, b)`` between parameter pytrees. Two runs that differ only in summation order
    (devices, processes, kernels) drift apart, and Adam turns tiny differences in near-zero gradients
    into full-size steps, so compare how far apart two runs ended with how far training moved them."""
    return tree_distance
