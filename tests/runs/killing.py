"""Shared by the kill -9 tests: run a jaxvae command, SIGKILL it mid-run, then run it to the end."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jaxvae


def kill_then_finish(args: list[str], killed_dir: Path, straight_dir: Path, *, after_checkpoint: int) -> int:
    """Start ``jaxvae ARGS --out killed_dir``, SIGKILL it once checkpoint ``after_checkpoint`` exists,
    then run the same command to the end in ``killed_dir`` (resuming) and, uninterrupted, in
    ``straight_dir``; all three in fresh processes, so that they share one XLA CPU configuration (the
    test process has 4 fake devices). Returns the checkpoint the killed run had reached."""
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
    interrupted_at = jaxvae.runs.checkpoint.latest_checkpoint(killed_dir)
    assert interrupted_at is not None
    for out in (killed_dir, straight_dir):
        command = [sys.executable, "-m", "jaxvae.commands.cli", *args, "--out", str(out)]
        subprocess.run(command, env=env, check=True, capture_output=True)
    return interrupted_at
