"""Test setup: 4 fake CPU devices (for the data-parallel tests) and no silent rank promotion."""

from pathlib import Path

import jax
import numpy as np
import pytest

jax.config.update("jax_num_cpu_devices", 4)
jax.config.update("jax_numpy_rank_promotion", "raise")
# full float32 matmuls on every backend (GPUs default to TF32), so tolerances mean the same there
jax.config.update("jax_default_matmul_precision", "float32")

# the team's copy of MNIST beside the repository: only a cross-check of the package's checksums
SHARED_MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"


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


def _distance(xs, ys) -> float:
    """Euclidean distance between two parameter pytrees of the same structure."""
    pairs = zip(jax.tree.leaves(xs), jax.tree.leaves(ys), strict=True)
    return float(np.sqrt(sum(np.sum((np.asarray(x) - np.asarray(y)) ** 2) for x, y in pairs)))


@pytest.fixture
def distance():
    """``distance(a, b)`` between parameter pytrees. Two runs that differ only in summation order
    (devices, processes, kernels) drift apart, and Adam turns tiny differences in near-zero gradients
    into full-size steps, so compare how far apart two runs ended with how far training moved them."""
    return _distance
