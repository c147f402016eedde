#!/usr/bin/env python3
"""Screenshot the latent explorer of a page in headless Chromium (Debian's chromium, playwright).

    python scripts/screenshot_explorer.py report/explorer.html docs/images/explorer.png

It draws a 7 on the pad (one stroke of pointer events), pins the autoencoder's point at (3, 8) and
hovers the VAE's at (-1, 1), then shoots the explorer from the pad to the maps' legend.
"""

import argparse
import shutil
import sys
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("page", help="explorer.html or a demo report's index.html")
    parser.add_argument("out", help="the PNG to write")
    args = parser.parse_args()
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        print("screenshot_explorer: no chromium (apt-get install chromium)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=browser, args=["--no-sandbox", "--disable-gpu"])
        page = launched.new_page(viewport={"width": 1400, "height": 1600})
        page.goto(Path(args.page).resolve().as_uri())
        page.evaluate("document.querySelector('.jx-draw').scrollIntoView()")  # the report: far down
        pad = page.query_selector("#jx-pad").bounding_box()
        seven = [(60, 50), (110, 47), (160, 48), (150, 90), (130, 130), (112, 175), (104, 198)]
        page.mouse.move(pad["x"] + seven[0][0], pad["y"] + seven[0][1])
        page.mouse.down()
        for x, y in seven[1:]:
            page.mouse.move(pad["x"] + x, pad["y"] + y, steps=4)
        page.mouse.up()
        for name, z, click in (("ae", (3.0, 8.0), True), ("vae", (-1.0, 1.0), False)):
            point = page.evaluate(f"jaxvaeExplorer.clientPoint('{name}', {z[0]}, {z[1]})")
            page.mouse.move(point["x"], point["y"])
            if click:
                page.mouse.click(point["x"], point["y"])
        top = page.query_selector(".jx-draw").bounding_box()
        bottom = page.query_selector("#jx-legend").bounding_box()  # the panels, then the colours
        clip = {"x": 0, "y": top["y"], "width": 1400, "height": bottom["y"] + bottom["height"] - top["y"]}
        page.screenshot(path=args.out, clip=clip)
        launched.close()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
