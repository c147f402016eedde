"""The latent explorer, in a real browser: the page's decoder against jaxvae.decode, offline."""

import json
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxvae
from jaxvae.commands.cli import main
from jaxvae.runs.single import train

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HOW = "to run it: apt-get install chromium, and pip install playwright (or pip install -e '.[test]')"


def _train_both(root, epochs, arch="mlp"):
    """An AE and a VAE of ``arch`` trained on the bundled digits in ROOT/ae and ROOT/vae: the models."""
    data = jaxvae.load_bundled("train"), jaxvae.load_bundled("test")
    models = {}
    for kind in ("ae", "vae"):
        spec = jaxvae.ModelSpec(kind, arch=arch)
        config = jaxvae.TrainConfig(model=spec, dataset="mnist_5k", epochs=epochs, out=str(root / kind))
        models[kind] = train(config, data=data, progress=False).state.model
    return models


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return root, _train_both(root, epochs=2)


@pytest.fixture(scope="module")
def page_dir(runs, tmp_path_factory):
    root, _ = runs
    out = tmp_path_factory.mktemp("explorer")
    assert main(["explore", str(root / "ae"), str(root / "vae"), "--out", str(out)]) == 0
    return out


def test_explorer_data_holds_each_decoder(page_dir, runs):
    text = (page_dir / "explorer_data.js").read_text()
    data = json.loads(text[text.index("=") + 1 : text.rindex(";")])
    assert set(data["models"]) == {"ae", "vae"} and data["count"] == 4500
    decoder = data["models"]["vae"]["decoder"]
    assert decoder["arch"] == "mlp"
    assert [(layer["in"], layer["out"]) for layer in decoder["layers"]] == [(2, 256), (256, 512), (512, 784)]
    page = (page_dir / "explorer.html").read_text()
    assert "://" not in page.replace("file://", "")  # nothing remote, not even a link
    assert '<script src="explorer_data.js">' in page


def test_explore_rejects_a_latent_that_is_not_2d(tmp_path, capsys):
    config = jaxvae.TrainConfig(
        model=jaxvae.ModelSpec("ae", latent_dim=3), dataset="mnist_5k", epochs=1, out=str(tmp_path / "r")
    )
    train(config, progress=False)
    assert main(["explore", str(tmp_path / "r"), "--out", str(tmp_path / "page")]) == 2
    assert "needs a 2-D latent" in capsys.readouterr().err


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip(f"no chromium on this machine; {HOW}")
    playwright_api = pytest.importorskip("playwright.sync_api", reason=f"playwright is not installed; {HOW}")
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
        )
        yield launched
        launched.close()


def _open(browser, page_dir, **context):
    page = browser.new_context(viewport={"width": 1400, "height": 2000}, **context).new_page()
    seen = {"requests": [], "errors": []}
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.goto((page_dir / "explorer.html").as_uri())
    return page, seen


def _decoded(page, name):
    """The page's decoded image of panel ``name`` as pixel means, read back from its canvas."""
    values = page.evaluate(
        """name => {
            const canvas = document.querySelector(`[data-model="${name}"] canvas.jx-decoded`);
            return Array.from(canvas.getContext("2d").getImageData(0, 0, 28, 28).data);
        }""",
        name,
    )
    rgba = np.asarray(values, np.float64).reshape(28, 28, 4)
    return (255.0 - rgba[..., 0]) / 255.0


def _expected(model, z):
    return np.asarray(jax.nn.sigmoid(jaxvae.decode(model, jnp.asarray([z], jnp.float32))))[0]


def test_pointer_decodes_match_jaxvae_decode_offline(browser, page_dir, runs, capsys):
    _, models = runs
    page, seen = _open(browser, page_dir)
    for name, model in models.items():
        box = page.evaluate(f"jaxvaeExplorer.panels['{name}'].box")
        (x0, x1), (y0, y1) = box
        centre = [(x0 + x1) / 2, (y0 + y1) / 2]
        points = [
            centre,
            [x0 + 0.2 * (x1 - x0), y1 - 0.3 * (y1 - y0)],
            [x1 + 10 * (x1 - x0), y0 - 8 * (y1 - y0)],
        ]
        for z in points:
            target = page.evaluate(f"jaxvaeExplorer.clientPoint('{name}', {z[0]}, {z[1]})")
            for _ in range(12):  # zoom out until the point is on the map
                if target["inside"]:
                    break
                page.click(f"[data-model='{name}'] button:has-text('zoom out')")
                target = page.evaluate(f"jaxvaeExplorer.clientPoint('{name}', {z[0]}, {z[1]})")
            assert target["inside"], (name, z)
            page.mouse.move(target["x"], target["y"])
            shown_z = page.evaluate(f"jaxvaeExplorer.panels['{name}'].z")
            assert np.allclose(shown_z, z, atol=2 * page.evaluate(f"jaxvaeExplorer.panels['{name}'].scale"))
            got, want = _decoded(page, name), _expected(model, shown_z)
            assert np.max(np.abs(got - want)) <= 2 / 255, (name, shown_z, np.max(np.abs(got - want)))
        far = page.evaluate(f"document.querySelector(`[data-model='{name}'] .jx-info`).textContent")
        assert "far from the data" in far  # the last point lies ten boxes away
    stats = page.evaluate("jaxvaeExplorer.stats")
    with capsys.disabled():
        print(
            f"\nexplorer: {stats['decodes']} decodes in headless Chromium, "
            f"{stats['totalMs'] / stats['decodes']:.2f} ms per point on average, "
            f"{stats['maxMs']:.2f} ms at most"
        )
    assert all(url.startswith("file://") for url in seen["requests"]), seen["requests"]
    assert sorted(url.rsplit("/", 1)[-1] for url in seen["requests"]) == ["explorer.html", "explorer_data.js"]
    assert seen["errors"] == []


@pytest.fixture(scope="module")
def conv_page(tmp_path_factory):
    """A page of two conv models (one epoch on the bundled digits) and the models."""
    root = tmp_path_factory.mktemp("conv")
    models = _train_both(root, epochs=1, arch="conv")
    assert main(["explore", str(root / "ae"), str(root / "vae"), "--out", str(root / "page")]) == 0
    return root / "page", models


@pytest.mark.parametrize("arch", ["mlp", "conv"])
def test_the_pages_decoders_equal_jaxvae_decode_within_1e_4(browser, page_dir, runs, conv_page, arch, capsys):
    """The page's own decoder (before the canvas rounds it to bytes), MLP and conv, against
    jaxvae.decode: inside the code box and far outside it; each decode timed in the page."""
    folder, models = (page_dir, runs[1]) if arch == "mlp" else conv_page
    page, seen = _open(browser, folder)
    for name, model in models.items():
        (x0, x1), (y0, y1) = page.evaluate(f"jaxvaeExplorer.panels['{name}'].box")
        points = [[(x0 + x1) / 2, (y0 + y1) / 2], [x0, y1], [x1 + 10 * (x1 - x0), y0 - 8 * (y1 - y0)]]
        for z in points:
            got = np.asarray(page.evaluate(f"jaxvaeExplorer.decodeAt('{name}', {z[0]}, {z[1]})"))
            want = _expected(model, z).reshape(-1)
            assert np.max(np.abs(got - want)) <= 1e-4, (arch, name, z, np.max(np.abs(got - want)))
        timing = """([name, x0, step, y0]) => {
            const began = performance.now();
            for (let i = 0; i < 50; i++) jaxvaeExplorer.decodeAt(name, x0 + i * step, y0);
            return (performance.now() - began) / 50;
        }"""
        ms = page.evaluate(timing, [name, x0, (x1 - x0) / 50, y0])
        with capsys.disabled():
            print(f"\nexplorer, {arch} {name}: {ms:.2f} ms per decode in headless Chromium")
    assert seen["errors"] == []


def test_click_pins_and_arrow_keys_and_touch_move_the_point(browser, page_dir, runs):
    _, models = runs
    page, seen = _open(browser, page_dir, has_touch=True)
    box = page.evaluate("jaxvaeExplorer.panels['ae'].box")
    z = [(box[0][0] + box[0][1]) / 2, (box[1][0] + box[1][1]) / 2]
    target = page.evaluate(f"jaxvaeExplorer.clientPoint('ae', {z[0]}, {z[1]})")
    page.mouse.click(target["x"], target["y"])
    pinned = page.evaluate("jaxvaeExplorer.panels['ae'].z")
    assert page.evaluate("jaxvaeExplorer.panels['ae'].pinned")
    page.mouse.move(target["x"] + 60, target["y"] + 60)  # a pinned point stays
    assert page.evaluate("jaxvaeExplorer.panels['ae'].z") == pinned
    page.keyboard.press("ArrowRight")
    moved = page.evaluate("jaxvaeExplorer.panels['ae'].z")
    assert moved[0] > pinned[0] and moved[1] == pinned[1]
    assert np.max(np.abs(_decoded(page, "ae") - _expected(models["ae"], moved))) <= 2 / 255
    other = page.evaluate(f"jaxvaeExplorer.clientPoint('vae', {0.5}, {-0.5})")
    before = page.evaluate("[jaxvaeExplorer.panels.vae.pinned, jaxvaeExplorer.selected]")
    page.touchscreen.tap(other["x"], other["y"])
    tapped = page.evaluate("jaxvaeExplorer.panels.vae.z")
    selected = page.evaluate("jaxvaeExplorer.selected")
    if selected == before[1]:  # a tap off the carried images' dots pins there (or lets go of a pin)
        assert page.evaluate("jaxvaeExplorer.panels.vae.pinned") != before[0]
        assert np.allclose(tapped, [0.5, -0.5], atol=0.05)
    else:  # a tap on one selects it, pinned at its code
        assert page.evaluate("jaxvaeExplorer.panels.vae.pinned")
        codes = f"Array.from(jaxvaeExplorer.panels.vae.codes.slice({2 * selected}, {2 * selected + 2}))"
        assert np.allclose(tapped, page.evaluate(codes), atol=1e-6)
    assert seen["errors"] == []


@pytest.mark.slow
def test_the_page_runs_the_exported_judge_like_jaxvae(browser, runs, tmp_path):
    from jaxvae.report.explorer import ExplorerModel, explorer_data, write_explorer
    from jaxvae.study.classifier import digit_probability, features, train_classifier
    from jaxvae.study.far_field import typical
    from jaxvae.study.generative import realism
    from jaxvae.study.judge import Judge
    from jaxvae.study.measures import encode_codes

    _, models = runs
    train_split, test = jaxvae.load_bundled("train"), jaxvae.load_bundled("test")
    classifier = train_classifier(
        train_split.images, train_split.labels, key=jax.random.key(0), epochs=1, progress=False
    )
    codes = {
        split: encode_codes(models["vae"], jnp.asarray(data.images), key=jax.random.key(0))["mean"]
        for split, data in (("train", train_split), ("test", test))
    }
    explorer = {"vae": ExplorerModel("vae", models["vae"], codes["train"], codes["test"])}
    judge = Judge(classifier, 0.5, {})
    reference = typical(features(classifier, jnp.asarray(test.images)), test.labels, key=jax.random.key(1))
    classes = list("0123456789")
    write_explorer(tmp_path, explorer, train_split.labels, train_split.images, classes, judge, reference)
    page, seen = _open(browser, tmp_path)
    order = reference.held_out[:24]  # not in the realism's reference: none at distance 0 from it
    x = (test.images[order] / 255.0).astype(np.float32)
    x[12:] = 0.5 * x[12:] + 0.5 * x[:12]  # half of them superpositions, which the judge should doubt
    verdicts = [page.evaluate("p => jaxvaeExplorer.judge(p)", xi.ravel().tolist()) for xi in x]
    want = np.asarray(digit_probability(classifier, jnp.asarray(x)))
    np.testing.assert_allclose([v["digit"] for v in verdicts], want, atol=1e-4)
    assert want.min() < 0.5 < want.max()  # both verdicts occur among them
    want_realism = realism(
        features(classifier, jnp.asarray(x)),
        reference.features,
        reference.radii,
        query_classes=jnp.array([v["label"] for v in verdicts]),
        point_classes=reference.classes,
    )
    np.testing.assert_allclose([v["realism"] for v in verdicts], want_realism, rtol=1e-3)
    assert min(want_realism) < 1 < max(want_realism)  # realistic and not among them
    info = page.evaluate("document.querySelector(`[data-model='vae'] .jx-info`).textContent")
    assert "judge: " in info and "realism: " in info and "far from anything" not in info  # the centre
    (x0, x1), (y0, y1) = explorer_data(explorer, train_split.labels, train_split.images, classes)["models"][
        "vae"
    ]["box"]
    far = (x1 + 7 * (x1 - x0) / 2, (y0 + y1) / 2)  # on the ray to the right, at 8x the box
    page.evaluate("z => jaxvaeExplorer.panels.vae.moveTo(z[0], z[1])", list(far))
    info = page.evaluate("document.querySelector(`[data-model='vae'] .jx-info`).textContent")
    assert "realism: " in info and "8.0x its code box: far from anything the decoder was trained on" in info
    assert seen["errors"] == []


STROKE = [(60, 50), (110, 47), (160, 48), (150, 90), (130, 130), (112, 175), (104, 198)]  # a 7


def _draw(page, points, pointer_type):
    """One stroke on the pad through pointer events of ``pointer_type`` (mouse, pen or touch)."""
    page.evaluate(
        """([points, type]) => {
            const pad = document.getElementById("jx-pad"), rect = pad.getBoundingClientRect();
            const at = ([x, y], kind) => pad.dispatchEvent(new PointerEvent(kind, {
                bubbles: true, pointerId: 7, pointerType: type, isPrimary: true, buttons: 1,
                clientX: rect.left + x * rect.width / 224, clientY: rect.top + y * rect.height / 224}));
            at(points[0], "pointerdown");
            points.slice(1).forEach(p => at(p, "pointermove"));
            at(points[points.length - 1], "pointerup");
        }""",
        [points, pointer_type],
    )


def _red_near(page, name, x, y):
    """Whether the map of panel ``name`` has an ellipse-red pixel within 2 CSS pixels of (x, y)."""
    return page.evaluate(
        """([name, x, y]) => {
            const panel = jaxvaeExplorer.panels[name], r = panel.ratio;
            const pixels = panel.map.getContext("2d").getImageData(Math.round((x - 2) * r),
                Math.round((y - 2) * r), Math.round(4 * r) + 1, Math.round(4 * r) + 1).data;
            for (let i = 0; i < pixels.length; i += 4) {
                if (pixels[i] > 150 && pixels[i + 1] < 110 && pixels[i + 2] < 110) return true;
            }
            return false;
        }""",
        [name, x, y],
    )


@pytest.mark.parametrize(("arch", "pointer_type"), [("mlp", "mouse"), ("conv", "pen"), ("mlp", "touch")])
def test_a_drawing_is_encoded_marked_and_reconstructed_like_jaxvae(
    browser, page_dir, runs, conv_page, arch, pointer_type, capsys
):
    """A stroke drawn on the pad: the page's 28x28 input is MNIST-like (fits 20x20, centre of mass at
    the centre); each model's code equals jaxvae.encode's on that input and its reconstruction
    jaxvae.decode's, within 1e-4; the code is marked on both maps, the VAE's with its ellipses; undo
    takes the stroke back."""
    folder, models = (page_dir, runs[1]) if arch == "mlp" else conv_page
    page, seen = _open(browser, folder, has_touch=pointer_type == "touch")
    assert page.evaluate("jaxvaeExplorer.drawing()") is None
    _draw(page, STROKE, pointer_type)
    drawn = page.evaluate("jaxvaeExplorer.drawing()")
    x = np.asarray(drawn["input"], np.float32).reshape(28, 28)
    rows, cols = np.nonzero(x > 0)
    assert max(rows.max() - rows.min(), cols.max() - cols.min()) + 1 <= 21 and x.max() > 0.9
    centre = [np.sum(x * np.arange(28)[:, None]) / x.sum(), np.sum(x * np.arange(28)[None, :]) / x.sum()]
    assert np.allclose(centre, 14, atol=0.5), centre
    for name, model in models.items():
        got = drawn["models"][name]
        posterior = jaxvae.encode(model, jnp.asarray(x)[None])
        np.testing.assert_allclose(got["mean"], np.asarray(posterior.mean)[0], atol=1e-4)
        if name == "vae":
            np.testing.assert_allclose(got["logvar"], np.asarray(posterior.logvar)[0], atol=1e-4)
        else:
            assert got["logvar"] is None
        want = _expected(model, np.asarray(got["mean"])).reshape(-1)
        assert np.max(np.abs(np.asarray(got["reconstruction"]) - want)) <= 1e-4
        assert len(got["nearest"]) == 5
        marked = page.evaluate(f"jaxvaeExplorer.panels['{name}'].marks.drawing.mean")
        np.testing.assert_allclose(marked, got["mean"], atol=1e-6)
    ellipses = page.evaluate("jaxvaeExplorer.panels['vae'].ellipses")
    assert [e["sigmas"] for e in ellipses] == [1, 2]
    assert page.evaluate("jaxvaeExplorer.panels['ae'].ellipses") == []
    for _ in range(4):  # zoom out until the 1-sigma ellipse meets its axes on the 420-pixel map
        one = page.evaluate("jaxvaeExplorer.panels['vae'].ellipses")[0]
        cx, cy, rx, ry = one["x"], one["y"], one["rx"], one["ry"]
        ends = [(cx + rx, cy), (cx - rx, cy), (cx, cy - ry), (cx, cy + ry)]
        inside = [(a, b) for a, b in ends if 2 <= a <= 418 and 2 <= b <= 418]
        if inside:
            break
        page.click("[data-model='vae'] button:has-text('zoom out')")
    assert rx >= 1 and inside and any(_red_near(page, "vae", a, b) for a, b in inside)
    # `jaxvae explore` of MNIST runs carries the judge that ships with jaxvae: its verdict on the drawing
    from jaxvae.study.classifier import digit_probability
    from jaxvae.study.shipped import load_shipped

    shipped = load_shipped("mnist").judge
    want = float(digit_probability(shipped.classifier, jnp.asarray(x)[None])[0])
    assert abs(drawn["verdict"]["digit"] - want) <= 1e-4
    info = page.evaluate("document.getElementById('jx-draw-info').textContent")
    verdict = "judge: accepted" if want >= shipped.threshold else "judge: rejected"
    assert info.startswith(verdict) and "realism" in info
    stats = page.evaluate("jaxvaeExplorer.stats")
    with capsys.disabled():
        ms = stats["encodeMs"] / stats["encodes"]
        print(f"\nexplorer, {arch}: {ms:.2f} ms per encode in headless Chromium")
    page.click("#jx-undo")
    assert page.evaluate("jaxvaeExplorer.drawing()") is None
    assert page.evaluate("jaxvaeExplorer.panels['vae'].ellipses") == []
    assert seen["errors"] == []


def test_clicking_a_dot_shows_its_image_and_marks_it_on_both_maps(browser, page_dir, runs):
    _, models = runs
    page, seen = _open(browser, page_dir)
    shown = page.evaluate(
        """() => { const d = window.JAXVAE_EXPLORER, s = atob(d.shown), out = [];
                   const view = new DataView(Uint8Array.from(s, c => c.charCodeAt(0)).buffer);
                   for (let i = 0; i < s.length / 4; i++) out.push(view.getInt32(4 * i, true));
                   return out; }"""
    )
    codes = {
        name: np.asarray(page.evaluate(f"Array.from(jaxvaeExplorer.panels.{name}.codes)")).reshape(-1, 2)
        for name in models
    }
    index = shown[len(shown) // 2]
    target = page.evaluate(
        f"jaxvaeExplorer.clientPoint('ae', {codes['ae'][index][0]}, {codes['ae'][index][1]})"
    )
    assert target["inside"]
    page.mouse.click(target["x"], target["y"])
    selected = page.evaluate("jaxvaeExplorer.selected")
    assert selected in shown  # the dot under the click, or one within a pixel or two of it
    for name, model in models.items():
        assert page.evaluate(f"jaxvaeExplorer.panels.{name}.pinned")
        assert page.evaluate(f"jaxvaeExplorer.panels.{name}.marks.selected") == selected
        z = page.evaluate(f"jaxvaeExplorer.panels.{name}.z")
        np.testing.assert_allclose(z, codes[name][selected], atol=1e-6)
        reconstruction = page.evaluate(
            f"""Array.from(document.querySelector(".jx-reconstruction[data-model='{name}']")
                .getContext("2d").getImageData(0, 0, 28, 28).data)"""
        )
        got = (255.0 - np.asarray(reconstruction, np.float64).reshape(28, 28, 4)[..., 0]) / 255.0
        assert np.max(np.abs(got - _expected(model, codes[name][selected]))) <= 2 / 255
    image = page.evaluate(
        """Array.from(document.querySelector(".jx-selected-image").getContext("2d")
            .getImageData(0, 0, 28, 28).data)"""
    )
    train_images = jaxvae.load_bundled("train").images
    got = 255 - np.asarray(image).reshape(28, 28, 4)[..., 0]
    assert np.array_equal(got, train_images[selected])
    assert seen["errors"] == []
