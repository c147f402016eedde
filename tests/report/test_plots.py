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
    pixels = np.asarray(Image.open(path).convert("RGB")).astype(int)
    drawn = np.abs(pixels - 255).sum(-1) > 60  # clearly not the white background
    assert drawn.mean() > 0.02  # bars, error bars, axes and labels are drawn
    assert len(np.unique(pixels[drawn].reshape(-1, 3) // 32, axis=0)) >= 3  # in more than one colour


def test_each_class_gets_its_own_colour_and_mnist_keeps_tab10():
    from matplotlib.colors import Normalize

    from jaxvae.report.plots import class_colours

    assert class_colours(10) == {"cmap": "tab10", "vmin": -0.5, "vmax": 9.5}
    for count in (12, 26):
        keywords = class_colours(count)
        norm, cmap = Normalize(keywords["vmin"], keywords["vmax"]), keywords["cmap"]
        colours = {tuple(np.round(cmap(norm(c)), 6)) for c in range(count)}
        assert len(colours) == count, count
