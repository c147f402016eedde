"""The experiments, as functions a user can call from Python: each trains (``jaxvae.runs``),
measures (``jaxvae.study``) and writes its report (``jaxvae.report``).

``demo.run_demo``, ``sweep.run_sweep`` and ``heldout.evaluate_run``; the commands in
``jaxvae.commands`` are thin wrappers around them.
"""
