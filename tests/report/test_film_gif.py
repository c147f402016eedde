"""The film as an animated GIF: one frame per epoch, each naming its epoch, on fixed axes."""

import numpy as np
from PIL import Image

from jaxvae.report.film import Panel, fixed_limits, render_frames, write_film

CLASSES = [str(i) for i in range(10)]


def frames(epochs=4, n=300):
    rng = np.random.default_rng(0)
    start = rng.normal(size=(n, 2)) * 0.1
    return np.stack([start * (1 + 10 * e) for e in range(epochs)])  # codes spreading out


def test_gif_has_one_frame_per_epoch(tmp_path):
    labels = np.arange(300) % 10
    panels = [
        Panel("AE", frames(), [4.0, 3.0, 2.0, 1.0]),
        Panel("VAE", frames() / 2, [5, 4, 3, 2], "test -ELBO"),
    ]
    path = write_film(tmp_path / "film.gif", panels, labels, [1, 2, 3, 4], CLASSES)
    with Image.open(path) as gif:
        assert gif.n_frames == 4 and gif.is_animated
        gif.seek(3)
        last = np.asarray(gif.convert("RGB"))
    rendered = render_frames(panels, labels, [1, 2, 3, 4], CLASSES)
    assert len(rendered) == 4 and rendered[0].size == rendered[-1].size
    # the GIF's last frame is the last rendered frame (up to the GIF's 256-colour palette)
    assert np.mean(np.abs(last.astype(int) - np.asarray(rendered[-1]).astype(int))) < 3
    changed = np.any(np.asarray(rendered[0]) != np.asarray(rendered[-1]), axis=-1)
    assert changed.mean() > 0.005  # the dots moved between the first and the last epoch


def test_axes_hold_every_frame():
    f = frames()
    (x0, x1), (y0, y1) = fixed_limits(f)
    inside = (f[..., 0] >= x0) & (f[..., 0] <= x1) & (f[..., 1] >= y0) & (f[..., 1] <= y1)
    assert inside.mean() > 0.98
