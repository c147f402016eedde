"""Reading a ``jax.profiler`` trace: how long the device was busy, and with matrix products alone."""

from __future__ import annotations

import gzip
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax

# XLA's CPU runtime runs a program's operations on these host threads; the other events there are
# the runtime's own bookkeeping
XLA_CPU_THREADS = "tf_XLAEigen"
XLA_CPU_RUNTIME_EVENTS = ("ThunkExecutor", "ThreadpoolListener", "SlinkyThreadPool", "end: ")


def profiled(fn: Callable[[], Any], log_dir: Path, matmuls: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Run ``fn`` once under ``jax.profiler`` and summarise the device activity in its trace.

    The Perfetto trace is left in ``log_dir`` (open it at ui.perfetto.dev). The summary counts the
    device-side operations (kernels, copies) and how much of the wall time they kept the device busy:
    a low busy fraction means the step is bound by launches and gaps, not by the work in them. On the
    CPU backend the operations are the events of XLA's compute threads (fusions, matmuls, copies);
    there an Eigen matmul may report less than its full time, as it finishes on a worker thread.
    It also gives how long matrix multiplications alone kept the device busy: operations named in
    ``matmuls`` (from ``matmul_names`` of the compiled program) and library GEMM kernels.
    """
    began = time.perf_counter()
    with jax.profiler.trace(str(log_dir), create_perfetto_trace=True):
        fn()
    wall = time.perf_counter() - began
    traces = sorted(log_dir.rglob("perfetto_trace.json.gz"))
    if not traces:
        return {"profile": str(log_dir)}
    with gzip.open(traces[-1], "rt") as f:
        events = json.load(f)
    events = events.get("traceEvents", events) if isinstance(events, dict) else events
    ops = operation_events(events)
    if not ops:
        processes = sorted(
            str(e.get("args", {}).get("name"))
            for e in events
            if e.get("ph") == "M" and e.get("name") == "process_name"
        )
        return {"profile": str(traces[-1]), "profile_device_ops": 0, "profile_processes": processes}
    busy = merged_length([(e["ts"], e["ts"] + e["dur"]) for e in ops]) / 1e6
    by_name: dict[str, float] = {}
    for e in ops:
        by_name[e["name"]] = by_name.get(e["name"], 0.0) + e["dur"] / 1e3
    top = sorted(by_name.items(), key=lambda item: -item[1])[:8]
    wanted = frozenset(m.replace(".", "_") for m in matmuls)
    matmul_ops = [e for e in ops if is_matmul(str(e["name"]), wanted)]
    return {
        "profile": str(traces[-1]),
        "profile_wall_ms": 1e3 * wall,
        "profile_device_ops": len(ops),
        "profile_device_busy_ms": 1e3 * busy,
        "profile_matmul_ops": len(matmul_ops),
        "profile_matmul_busy_ms": merged_length([(e["ts"], e["ts"] + e["dur"]) for e in matmul_ops]) / 1e3,
        "profile_top_ops_ms": {name[:80]: round(ms, 3) for name, ms in top},
    }


def operation_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The timed events of a trace that are the program's operations: those of the accelerator's
    processes, or on a CPU backend those of XLA's compute threads."""

    def named(kind: str, prefix: str) -> set[Any]:
        return {
            (e["pid"], e.get("tid")) if kind == "thread_name" else e["pid"]
            for e in events
            if e.get("ph") == "M"
            and e.get("name") == kind
            and str(e.get("args", {}).get("name", "")).startswith(prefix)
        }

    timed = [e for e in events if e.get("ph") == "X" and "dur" in e]
    device_pids = named("process_name", "/device:")
    if device_pids:
        return [e for e in timed if e.get("pid") in device_pids]
    threads = named("thread_name", XLA_CPU_THREADS)
    return [
        e
        for e in timed
        if (e.get("pid"), e.get("tid")) in threads and not str(e["name"]).startswith(XLA_CPU_RUNTIME_EVENTS)
    ]


# kernels of the GPU matmul libraries (cuBLAS, CUTLASS) are named by the library, not by XLA


GEMM_KERNEL = re.compile(r"gemm|xmma|cutlass", re.IGNORECASE)


def matmul_names(hlo_text: str) -> frozenset[str]:
    """Names of the instructions of a compiled program's HLO text that multiply matrices: dots,
    convolutions, and fusions or custom calls whose called computation holds one. Dots become
    fusions and custom calls after optimisation, so the called computations are read too."""
    computations: dict[str, str] = {}
    for block in re.split(r"\n(?=\S)", hlo_text):  # a computation starts at column 0
        header = re.match(r"(?:ENTRY\s+)?%?([\w.\-]+)", block)
        if header:
            computations[header.group(1)] = block
    multiplies = {name for name, body in computations.items() if re.search(r"\s(dot|convolution)\(", body)}
    names = set()
    for line in hlo_text.splitlines():
        instruction = re.match(r"\s*(?:ROOT\s+)?%?([\w.\-]+)\s*=\s*\S+\s+(\w[\w-]*)\(", line)
        if not instruction:
            continue
        name, opcode = instruction.groups()
        called = re.findall(r"(?:calls|to_apply)=%?([\w.\-]+)", line)
        if opcode in ("dot", "convolution") or any(c in multiplies for c in called):
            names.add(name)
    return frozenset(names)


def is_matmul(op: str, matmuls: frozenset[str]) -> bool:
    """Whether a trace's operation ``op`` multiplies matrices: an instruction of ``matmuls``, names
    compared with dots as underscores (GPU traces write them so), or a library GEMM kernel."""
    return op.replace(".", "_") in matmuls or bool(GEMM_KERNEL.search(op))


def merged_length(intervals: list[tuple[float, float]]) -> float:
    """Total length covered by a set of intervals (overlaps counted once)."""
    total, end = 0.0, float("-inf")
    for a, b in sorted(intervals):
        if b > end:
            total += b - max(a, end)
            end = b
    return total
