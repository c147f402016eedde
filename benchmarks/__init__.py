"""jaxvae's benchmarks: ``run.py`` (the command) over a table of suites (``suites/``), a harness
(``harness.py``: environment, timing, data, rows) and a profile reader (``profile.py``)."""
