"""The demo report's story: the steps a learner follows, in order, each with its pictures.

1. compress and reconstruct; 2. the map of codes clusters by class without labels; 3. the map has
empty regions; 4. what the decoder makes there, and far outside its codes; 5. whether sampling the
AE generates; 6. the VAE's overlapping clouds; 7. the VAE's samples; 8. why. Each step names the
figures it shows (keys of metrics.json's ``figures``), one plain sentence on what they show, the
claims it tests (indices into ``jaxvae.study.verdicts.CLAIMS``), and the numbers it details. The
page (``demo_page``) and the terminal summary both walk these steps.
"""

from __future__ import annotations

from dataclasses import dataclass

from jaxvae.report.tables import FAR_FIELD_ROWS
from jaxvae.study.samplers import GMM


@dataclass(frozen=True)
class Step:
    """One step of the story."""

    title: str
    figures: tuple[str, ...]  # keys of metrics["figures"], drawn first, in this order
    shows: str  # one plain sentence: what the figures show (never what a run's numbers happen to be)
    claims: tuple[int, ...] = ()  # the claims this step tests (indices into verdicts.CLAIMS)
    measures: tuple[str, ...] = ()  # rows of tables.MAP_MEASURES in its details
    generators: tuple[str, ...] = ()  # the models whose generator rows are in its details
    explorer: bool = False  # the live explorer follows this step (it sits next to the maps)
    film: str = ""  # said after ``shows`` when the film was drawn ({film_images}: the filmed images)
    beside: str = ""  # a sampler of the AE's ``other_samplers`` whose result is stated beside the verdict


STEPS = (
    Step(
        "Compress and reconstruct",
        ("reconstructions", "training_curves"),
        "Top row: test images the models never trained on; below, each model's decode of the 2 numbers "
        "it compressed the image to. The curves show each model's loss per epoch on the training and "
        "test images.",
        measures=("test loss (nats; VAE: -ELBO)",),
    ),
    Step(
        "The map of codes clusters by class, without labels",
        ("latent_maps", "film"),
        "Each dot is one training image's code (the autoencoder's z, the VAE's posterior mean), "
        "coloured by its label, which neither model saw.",
        claims=(0,),
        measures=("5-NN label accuracy of the test codes",),
        explorer=True,
        film="The animation replays training: the codes of the same {film_images:,} training images "
        "after every epoch, on fixed axes.",
    ),
    Step(
        "The map has empty regions",
        ("empty_regions",),
        "The largest discs that hold no training code, between the clusters (inside the dashed convex "
        "hull of the codes), numbered by size, and the decode at each disc's centre with the judge's "
        "verdict.",
        claims=(1,),
        measures=(
            "empty share of the code box (50x50 cells)",
            "... of a Gaussian cloud of the same spread",
            "empty share between the clusters (inside the codes' hull)",
            "largest empty disc between the clusters (spacings)",
        ),
    ),
    Step(
        "What the decoder makes there, and far outside its codes",
        ("grid_ae", "holes", "interpolation", "rays", "by_distance"),
        "The autoencoder's decodes of an even grid over its code box (crosses on the map); the judge's "
        "score of the decode at every point of each code box (white line: the threshold); decodes "
        "along a straight line between two test images' codes; decodes along rays from the centre "
        "of each code box out to 8 times its size, each marked with the judge's verdict and its "
        "realism; and the shares of decodes the judge accepts and that are realistic against the "
        "distance to the nearest training code.",
        claims=(2, 6, 7),
        measures=(
            "accepted decodes at empty cells",
            "... at empty cells between the clusters",
            "accepted decodes at occupied cells",
            "accepted decodes on a 100x100 grid over the box",
            "'far' threshold (spacings)",
            *FAR_FIELD_ROWS,
        ),
    ),
    Step(
        "Does sampling the autoencoder generate?",
        ("samples_ae",),
        "The first 12 decoded draws of each sampler over the autoencoder's codes, with the judge's "
        "verdict above each.",
        claims=(3,),
        generators=("ae",),
        beside=GMM,
    ),
    Step(
        "The VAE's clouds overlap",
        ("grid_vae",),
        "The VAE's map with a grid at the prior's 5%..95% quantiles (left), and the grid's decodes (right).",
        claims=(4,),
        measures=(
            "empty share of the code box (50x50 cells)",
            "... with one posterior draw per image",
            "... of a Gaussian cloud of the same spread",
        ),
    ),
    Step(
        "The VAE's samples",
        ("samples_vae", "prior_classes"),
        "The first 12 decoded draws of each sampler over the VAE's codes, with the judge's verdict "
        "above each; then the share of each class among every sampler's decodes, for both models.",
        claims=(5,),
        generators=("vae",),
    ),
)
# step 8, whose numbers (each run's ratios) the page computes itself
WHY = Step(
    "Why? The pull towards the origin, or the noise of sampling",
    ("empty_ratios",),
    "How empty each set of codes leaves its code box, against a Gaussian cloud of the same spread "
    "(1x): the autoencoder's codes, the VAE's posterior means, and one draw from each VAE posterior. "
    "The VAE's KL term does two things at once: it pulls the means towards the origin, and it keeps "
    "each posterior wide, which adds noise to every code the decoder trains on. The gap between the "
    "last two bars is what that noise adds to the means' map. Which of the two fills the space alone "
    "is a separate experiment, the command jaxvae why; jaxvae sweep varies the KL's weight.",
)
