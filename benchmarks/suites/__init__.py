"""The benchmark suites: each module times one thing and has ``run(bench)``, which prints its table
and emits its rows (``benchmarks.harness.Bench``)."""
