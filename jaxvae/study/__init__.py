"""The study: do the AE-versus-VAE claims hold? Measures and verdicts, no figures, no HTML.

``classifier`` and ``judge`` build the validated "is this a digit" measure; ``generative`` scores
any generator's images in a feature space; ``holes`` measures a 2-D code map; ``measures`` gives
every number of one trained model; ``verdicts`` grades the claims by fixed rules; ``experiment``
holds what every experiment of the study shares (the data, the judge, trained seeds, one run's
measures). ``judge_cache`` keeps a judge across report folders; ``samplers`` draws latent points
(the prior, the code box, fitted densities, midpoints); ``prior_holes`` finds the prior's mass where
the codes are thin; ``why`` holds the pull-against-noise questions and their rules; ``seed_count``
finds how many seeds keep the verdicts from flipping; ``phases`` times an experiment's phases.
"""
