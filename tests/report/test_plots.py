"""Figures that must draw whatever the numbers are."""

import numpy as np
from PIL import Image

from jaxvae.report import plots


def test_prior_classes_draws_runs_that_agree_exactly(tmp_path):
    # three runs with the same shares (0.1 each): their mean rounds an ulp past the shares themselves
    counts = {"sampler": np.ones((3, 10), int), "other": np.arange(30).reshape(3, 10) + 1}
    share = counts["sampler"] / 10
    assert np.any(share.mean(0) > share.max(0))  # the case that made matplotlib refuse the error bars
    path = plots.prior_classes(tmp_path / "classes.png", counts, [str(i) for i in range(10)])
    assert Image.open(path).size[0] > 0
