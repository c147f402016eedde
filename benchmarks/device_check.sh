#!/usr/bin/env bash
# One command for a lent accelerator (at most ~10 minutes): the matmul peak; VAE training at batch
# 128, 1024 and 8192, the MLP and the conv networks (their convolutions in both forms); the ensemble suite at N = 1, 8 and 64; the runs axis over every visible device;
# and the default demo end to end with its phase table. Every step appends JSON rows tagged with the
# device to OUT/rows.jsonl and its output to OUT/log.txt; a step that runs past its time limit is
# stopped and named, and the next one runs.
#
#   benchmarks/device_check.sh [--small] [OUT]      (OUT default: benchmarks/results/device-check)
#
# --small: the same steps at toy size (batch 128, N = 1 and 2, the quick demo on mnist_5k), to test
# the script on a CPU in about two minutes. Set PYTHON to choose the interpreter (default: python3);
# without jaxvae installed, run it from the repository root with PYTHONPATH=. .
set -uo pipefail

small=0
if [[ "${1:-}" == "--small" ]]; then small=1; shift; fi
if [[ "${1:-}" == -* ]]; then echo "usage: $0 [--small] [OUT]" >&2; exit 2; fi
out="${1:-benchmarks/results/device-check}"
python="${PYTHON:-python3}"
mkdir -p "$out" || exit 2
rows="$out/rows.jsonl"
log="$out/log.txt"
here="$(cd "$(dirname "$0")" && pwd)"
failed=()

step() {  # step NAME SECONDS COMMAND...: run COMMAND with a time limit, its output to the log
  local name="$1" limit="$2"; shift 2
  echo "== $name (at most ${limit}s)" | tee -a "$log"
  local began=$SECONDS
  timeout --signal=INT --kill-after=10 "$limit" "$@" 2>&1 | tee -a "$log"
  local status=${PIPESTATUS[0]}
  echo "== $name: exit $status after $((SECONDS - began))s" | tee -a "$log"
  if [[ $status -ne 0 ]]; then failed+=("$name (exit $status)"); fi
}

bench=("$python" "$here/run.py" --out "$rows" --dtypes float32 --loops scan --models vae)
if [[ $small -eq 1 ]]; then
  sizes=(--batch-sizes 128); runs=(--runs 1 2); axis=(--runs 2); repeats=(--repeats 1)
  forms=(--conv-forms patches)  # XLA's convolutions take minutes an epoch on a CPU
  demo=(--quick --dataset mnist_5k)
else
  sizes=(--batch-sizes 128 1024 8192); runs=(--runs 1 8 64); axis=(--runs 8 64); repeats=(--repeats 3)
  forms=(--conv-forms xla patches)
  demo=()
fi

step peak 60 "${bench[@]}" --suites peak "${repeats[@]}"
step train 120 "${bench[@]}" --suites train "${sizes[@]}" "${repeats[@]}"
step train_conv 150 "${bench[@]}" --suites train --archs conv "${forms[@]}" "${sizes[@]}" "${repeats[@]}"
step ensemble 120 "${bench[@]}" --suites ensemble --batch-sizes 128 "${runs[@]}" "${repeats[@]}"
step runs_axis 90 "${bench[@]}" --suites runs_axis --batch-sizes 128 "${axis[@]}" "${repeats[@]}"
rm -rf "$out/demo"
step demo 300 "$python" -m jaxvae.commands.cli demo "${demo[@]}" --out "$out/demo" --no-progress
if [[ -f "$out/demo/metrics.json" ]]; then
  "$python" "$here/demo_row.py" "$out/demo" --out "$rows" > /dev/null
fi

echo "rows: $rows; log: $log"
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "steps that did not finish: ${failed[*]}" >&2
  exit 1
fi
