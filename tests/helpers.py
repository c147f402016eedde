"""What several test modules share: comparing pytrees, processes to start and kill, files to write
and damage. Tests import these from here, never from one another."""

import gzip
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jax
import numpy as np
import pytest

# jaxvae is imported inside the functions: conftest imports this module before it configures jax

# the team's copy of MNIST beside the repository: only a cross-check of the package's checksums
SHARED_MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
# a small, fast `jaxvae train` run (the distributed and runs-axis tests)
TRAIN_FLAGS = ["--dataset", "mnist_5k", "--epochs", "2", "--batch-size", "100", "--seed", "3"]


# --- pytrees -------------------------------------------------------------------------------------


def _host(leaf: Any) -> np.ndarray:
    """A leaf on the host; a typed PRNG key as its key data."""
    if isinstance(leaf, jax.Array) and jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
        leaf = jax.random.key_data(leaf)
    return np.asarray(leaf)


def _pairs(a: Any, b: Any) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(path, leaf of a, leaf of b) for two pytrees that must have the same structure."""
    structure_a, structure_b = jax.tree.structure(a), jax.tree.structure(b)
    assert structure_a == structure_b, f"different tree structures:\n{structure_a}\n{structure_b}"
    pairs = zip(jax.tree_util.tree_flatten_with_path(a)[0], jax.tree.leaves(b), strict=True)
    return [(jax.tree_util.keystr(path), _host(x), _host(y)) for (path, x), y in pairs]


def assert_trees_equal(a: Any, *others: Any) -> None:
    """Every tree in ``others`` has ``a``'s structure and bitwise its leaves (PRNG keys included)."""
    for b in others:
        for path, x, y in _pairs(a, b):
            np.testing.assert_array_equal(x, y, err_msg=f"at {path}")


def assert_trees_close(a: Any, b: Any, *, rtol: float = 1e-7, atol: float = 0.0) -> None:
    """``a`` and ``b`` have the same structure and leaves equal within ``rtol`` and ``atol``."""
    for path, x, y in _pairs(a, b):
        np.testing.assert_allclose(x, y, rtol=rtol, atol=atol, err_msg=f"at {path}")


def trees_equal(a: Any, b: Any) -> bool:
    """Whether two trees of the same structure are bitwise equal."""
    return all(np.array_equal(x, y) for _, x, y in _pairs(a, b))


def tree_distance(a: Any, b: Any) -> float:
    """Euclidean distance between two parameter pytrees of the same structure."""
    return float(np.sqrt(sum(np.sum((x - y) ** 2) for _, x, y in _pairs(a, b))))


# --- processes -----------------------------------------------------------------------------------


def kill_then_finish(args: list[str], killed_dir: Path, straight_dir: Path, *, after_checkpoint: int) -> int:
    """Start ``jaxvae ARGS --out killed_dir``, SIGKILL it once checkpoint ``after_checkpoint`` exists,
    then run the same command to the end in ``killed_dir`` (resuming) and, uninterrupted, in
    ``straight_dir``; all three in fresh processes, so that they share one XLA CPU configuration (the
    test process has 4 fake devices). Returns the checkpoint the killed run had reached."""
    from jaxvae.runs.checkpoint import latest_checkpoint

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "jaxvae.commands.cli", *args, "--out", str(killed_dir)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 240
    while not (killed_dir / "checkpoints" / str(after_checkpoint)).exists():
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    interrupted_at = latest_checkpoint(killed_dir)
    assert interrupted_at is not None
    for out in (killed_dir, straight_dir):
        command = [sys.executable, "-m", "jaxvae.commands.cli", *args, "--out", str(out)]
        subprocess.run(command, env=env, check=True, capture_output=True)
    return interrupted_at


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def launch(run_dir: Path, num_processes: int, devices_per_process: int, *extra: str) -> list[str]:
    """Start ``jaxvae train [EXTRA]`` once per process and wait for all of them; returns their outputs."""
    address = f"localhost:{free_port()}"
    env = {**os.environ, "JAX_NUM_CPU_DEVICES": str(devices_per_process), "JAX_PLATFORMS": "cpu"}
    command = [sys.executable, "-m", "jaxvae.commands.cli", "train", *TRAIN_FLAGS, "--out", str(run_dir)]
    command += ["--no-progress", "--coordinator-address", address, "--num-processes", str(num_processes)]
    command += extra
    procs = [
        subprocess.Popen(
            [*command, "--process-id", str(i)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(num_processes)
    ]
    outputs = []
    for proc in procs:
        try:
            out, _ = proc.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            pytest.fail("a training process did not finish within 300 s")
        outputs.append(out)
        assert proc.returncode == 0, out
    return outputs


# --- files ---------------------------------------------------------------------------------------


def idx_bytes(array: np.ndarray) -> bytes:
    """``array`` as an IDX file of unsigned bytes."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_split(directory, split="train", n=5, *, gz=True, images=None, labels=None):
    """Write a split's two IDX files (random ones unless given) into ``directory``."""
    from jaxvae.sources import idx_filenames

    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8) if images is None else images
    labels = rng.integers(0, 10, (n,), dtype=np.uint8) if labels is None else labels
    image_name, label_name = idx_filenames(split)
    for name, array in ((image_name, images), (label_name, labels)):
        payload = idx_bytes(array)
        if gz:
            (directory / f"{name}.gz").write_bytes(gzip.compress(payload))
        else:
            (directory / name).write_bytes(payload)
    return images, labels


def checkpoint_data_files(run_dir, epoch):
    """The array data files of one checkpoint (orbax's OCDBT data), largest first."""
    folder = Path(run_dir) / "checkpoints" / str(epoch) / "arrays"
    files = [p for p in folder.rglob("*") if p.is_file() and p.parent.name == "d"]
    return sorted(files, key=lambda p: -p.stat().st_size)


def flip_bytes(path, count=8, seed=0):
    """XOR a few bytes in the middle of ``path``, as bit rot or a bad copy would."""
    content, rng = bytearray(path.read_bytes()), random.Random(seed)
    for _ in range(count):
        i = rng.randrange(len(content) // 4, 3 * len(content) // 4)
        content[i] ^= 0xFF
    path.write_bytes(bytes(content))


# --- the quick experiments' judge ----------------------------------------------------------------


def with_test_compile_cache(env: dict[str, str]) -> dict[str, str]:
    """``env`` for a ``jaxvae`` subprocess that reads and writes the test run's cache of compiled
    programs (tests/conftest.py), as the test processes themselves do."""
    return env | {
        "JAX_COMPILATION_CACHE_DIR": os.environ["JAXVAE_TEST_XLA_CACHE"],
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
    }


def write_png_folder(root: Path, splits: dict[str, Any]) -> Path:
    """Each split's images (a ``Dataset``) as PNG files ROOT/<split>/<label>/<index>.png: a data set
    of your own as a folder (``--dataset ROOT``), in the order it was written."""
    from PIL import Image

    for split, data in splits.items():
        for i, (image, label) in enumerate(zip(data.images, data.labels, strict=True)):
            folder = root / split / str(label)
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(folder / f"{i:05d}.png")
    return root
