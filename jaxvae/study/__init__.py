"""The study: do the AE-versus-VAE claims hold? Measures and verdicts, no figures, no HTML.

``classifier`` and ``judge`` build the validated "is this a digit" measure, ``judge_cache``
builds it or keeps it across report folders, and ``shipped`` reads the one that ships with jaxvae
for MNIST; ``degenerate`` makes the degenerate images a decoder
makes far from its codes (fragments, dots, shrunken digits, blobs), with a known answer;
``generative`` scores any generator's images in a feature space; ``holes`` measures a 2-D code
map; ``far_field`` scores a decoder's decodes far outside its codes; ``measures`` gives every
number of one trained model, typed by ``records`` (which also reads them back from metrics.json),
and ``decodes`` does all of its array work (decodes, the judge's pass, the scores) in one program;
``verdicts`` grades the claims by fixed rules. ``study`` holds the ``Study`` every experiment
builds once (the data, the validated judge, the phase clock, the output folder) and its verbs
(train, measure, write); ``streams`` names the random streams. ``samplers`` draws latent points
(the prior, the code box, fitted densities, midpoints); ``prior_holes`` finds the prior's mass
where the codes are thin; ``why`` holds the pull-against-noise questions and their rules;
``seed_count`` finds how many seeds keep the verdicts from flipping; ``phases`` times an
experiment's phases.
"""
