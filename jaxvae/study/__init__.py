"""The study: do the AE-versus-VAE claims hold? Measures and verdicts, no figures, no HTML.

``classifier`` and ``judge`` build the validated "is this a digit" measure; ``generative`` scores
any generator's images in a feature space; ``holes`` measures a 2-D code map; ``measures`` gives
every number of one trained model; ``verdicts`` grades the claims by fixed rules; ``experiment``
holds what every experiment of the study shares (the data, the judge, trained seeds, one run's
measures).
"""
