#!/usr/bin/env python3
"""Screenshot the latent explorer of a page in headless Chromium (Debian's chromium, playwright).

    python scripts/screenshot_explorer.py report/explorer.html docs/images/explorer.png

It pins the autoencoder's point at (3, 8) and hovers the VAE's at (-1, 1), then shoots the
explorer's section of the page.
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
        page = launched.new_page(viewport={"width": 1400, "height": 900})
        page.goto(Path(args.page).resolve().as_uri())
        for name, z, click in (("ae", (3.0, 8.0), True), ("vae", (-1.0, 1.0), False)):
            point = page.evaluate(f"jaxvaeExplorer.clientPoint('{name}', {z[0]}, {z[1]})")
            page.mouse.move(point["x"], point["y"])
            if click:
                page.mouse.click(point["x"], point["y"])
        page.query_selector("#explorer").screenshot(path=args.out)
        launched.close()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
