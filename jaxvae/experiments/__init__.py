"""The experiments, as functions a user can call from Python: each trains (``jaxvae.runs``),
measures (``jaxvae.study``) and writes its report (``jaxvae.report``).

``demo`` (``run_demo``), ``why`` (``run_why``, the pull-against-noise ablation), ``sweep``
(``run_sweep``, over the KL weight), ``heldout`` (``evaluate_run``, likelihoods), ``explore``
(the explorer page of any trained runs) and ``judge`` (``run_judge_build``: a judge built from the
recipe, validated, written with its provenance). The demo, the ablation and the sweep are short scripts over
a ``jaxvae.study.study.Study``. The commands in ``jaxvae.commands`` are thin wrappers around them.
"""
