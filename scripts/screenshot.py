"""Take the README's screenshot of the page mid-dream (docs/serve.png), in headless Debian
Chromium driven by Playwright, against a real server on a free loopback port.

    .venv/bin/python scripts/screenshot.py [--out docs/serve.png]
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
WIDTH, HEIGHT = 1280, 800  # a laptop screen
SHOT_AT = 0.5  # of the dream's work: far enough in that it shows, not so far that it is done


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "serve.png")
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as results:
        server = subprocess.Popen([sys.executable, "-m", "deepdreamer", "serve", "--port", str(port),
                                   "--results", results])
        try:
            url = f"http://127.0.0.1:{port}/"
            for _ in range(120):
                try:
                    if httpx.get(url, timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.5)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
                page.goto(url)
                page.get_by_test_id("sample-button").click()
                page.get_by_test_id("preset-deep").click()
                page.get_by_test_id("dream-button").click()
                page.wait_for_function(
                    f"() => document.querySelector('[data-testid=progress-bar]').value >= {SHOT_AT}", timeout=120_000)
                shot = Path(tempfile.mkstemp(suffix=".png")[1])
                page.screenshot(path=str(shot))
                browser.close()
        finally:
            server.terminate()
            server.wait(10)
    picture = Image.open(shot).convert("RGB")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # a palette PNG keeps the README's picture small (about a tenth of full colour)
    picture.quantize(colors=192, method=Image.Quantize.MEDIANCUT).save(args.out, optimize=True)
    shot.unlink()
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
