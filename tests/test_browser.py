"""The web demo in a real browser (Debian's chromium through Playwright), used as a new user would.

Refresh the README screenshot with:  python tests/test_browser.py docs/app.png [--checkpoint PATH_OR_REPO_ID]
"""

import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
# Gradio's queue calls pandas in ways pandas 3 deprecates: not ours to fix, and noise in every run.
pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")
CHROMIUM = os.environ.get("DEPIX_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BOX = (96, 72, 168, 120)  # the pixelated region of the test photo: the middle, where the stroke goes
BLOCK = 12

if shutil.which(CHROMIUM) is None:
    if os.environ.get("CI"):
        raise RuntimeError(f"the browser test must run in CI, but there is no chromium at {CHROMIUM}")
    pytest.skip(f"no chromium at {CHROMIUM} (apt-get install -y chromium)", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from depix import pixelate_region  # noqa: E402
from tests.conftest import smooth_photo  # noqa: E402
from tests.test_app import free_port, small_checkpoint, start_app  # noqa: E402


def open_browser(playwright):
    """Debian's chromium, headless (Playwright's own browsers are never downloaded)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def fetch(page, url: str) -> Image.Image:
    """An image the page shows, fetched in the page's session."""
    response = page.request.get(url)
    assert response.ok, url
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"depix-browser-{time.monotonic_ns()}.png"
    path.write_bytes(response.body())
    image = Image.open(path)
    image.load()
    path.unlink()
    return image


def open_page(browser, url: str):
    """A new page on the app, once its image editor is ready to take an upload."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    # The editor draws on a canvas it creates after the page loads; an upload before that is lost.
    page.locator("#depix-editor canvas").first.wait_for(state="attached", timeout=30_000)
    page.wait_for_timeout(300)
    return page


def upload(page, photo: Path) -> None:
    """Upload a photo into the editor and wait until the editor shows it."""
    page.locator("#depix-editor input[type=file]").set_input_files(str(photo))
    page.get_by_text("Upload an image").wait_for(state="hidden", timeout=30_000)
    page.wait_for_timeout(500)  # the editor fits the photo into the canvas after loading it


def upload_and_paint(page, photo: Path) -> None:
    """Upload a photo into the editor and paint a short stroke through the middle of the canvas."""
    upload(page, photo)
    box = page.locator("#depix-editor canvas").first.bounding_box()
    # The photo is centred in the canvas, and so is the mosaic in the photo: a stroke through the centre hits it.
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx - 30, cy)
    page.mouse.down()
    page.mouse.move(cx + 30, cy + 2, steps=3)
    page.mouse.up()


def slider_images(page, timeout_ms: int = 60_000) -> tuple[Image.Image, Image.Image]:
    """The before and after images shown by the before/after slider, once it shows a result."""
    images = page.locator("#depix-slider img")
    images.nth(1).wait_for(timeout=timeout_ms)
    sources = [images.nth(i).get_attribute("src") for i in range(2)]
    return fetch(page, sources[0]), fetch(page, sources[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    demo, url = start_app(small_checkpoint(tmp_path_factory.mktemp("checkpoint")))
    yield url
    demo.close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = open_browser(playwright)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("browser") / "pixelated.png"
    clean = Image.fromarray(smooth_photo(np.random.default_rng(5), 264, 360))
    pixelate_region(clean, box=BOX, block_size=BLOCK).save(path)
    return path


def test_upload_paint_and_restore_in_a_real_browser(server, browser, photo, tmp_path):
    page = open_page(browser, server)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sync_api.expect(page.get_by_text("depix: restore pixelated images")).to_be_visible()
    upload_and_paint(page, photo)
    page.locator("#depix-run").click()
    try:
        before, after = slider_images(page)
    except sync_api.TimeoutError:
        page.screenshot(path=str(tmp_path / "failed.png"), full_page=True)
        raise AssertionError(f"no result; the page looked like {tmp_path / 'failed.png'}") from None
    sync_api.expect(page.locator("#depix-status")).to_contain_text("Restored the painted region")
    page.screenshot(path=str(tmp_path / "app.png"), full_page=True)
    page.close()
    original = np.asarray(Image.open(photo).convert("RGB")).astype(int)
    before, after = np.asarray(before.convert("RGB")).astype(int), np.asarray(after.convert("RGB")).astype(int)
    # The page sent the photo at full resolution and unaltered, and showed the result losslessly.
    assert before.shape == after.shape == original.shape
    assert np.array_equal(before, original)
    changed = np.any(after != original, axis=2)
    x, y, w, h = BOX
    assert changed[y : y + h, x : x + w].any(), "the marked region was not restored"
    outside = np.ones_like(changed)
    outside[y : y + h, x : x + w] = False
    assert not changed[outside].any(), "pixels outside the mosaic changed"
    assert not errors, errors


def test_errors_show_as_messages_and_the_page_keeps_working(server, browser, photo):
    page = open_page(browser, server)
    page.locator("#depix-run").click()  # no image yet
    sync_api.expect(page.get_by_text("No image yet").first).to_be_visible(timeout=30_000)
    upload(page, photo)
    box_field = page.locator("#depix-box textarea, #depix-box input").first
    box_field.fill("0,0,999,10")
    page.locator("#depix-run").click()
    sync_api.expect(page.get_by_text("is not inside the 360x264 image").first).to_be_visible(timeout=30_000)
    box_field.fill(",".join(map(str, BOX)))
    page.locator("#depix-run").click()
    _, after = slider_images(page)
    assert after.size == (360, 264)
    page.close()


def save_readme_screenshot(target: Path, checkpoint: str | None) -> None:
    """Open the page, restore the first example, and save a screenshot of the page (for the README)."""
    from app import build_demo, launch, load_depixelator

    demo = build_demo(load_depixelator(checkpoint, "cpu"))
    _, url, _ = launch(demo, port=free_port(), prevent_thread_lock=True)
    try:
        with sync_api.sync_playwright() as playwright:
            browser = open_browser(playwright)
            page = open_page(browser, url)
            page.locator("tbody tr, .gallery-item").first.click()
            page.wait_for_timeout(2000)
            page.locator("#depix-run").click()
            slider_images(page)
            page.evaluate("window.scrollTo(0, 0)")
            page.wait_for_timeout(1000)
            page.screenshot(path=str(target))  # the first screenful: the editor, the controls and the result
            browser.close()
    finally:
        demo.close()


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="save a screenshot of the demo for the README")
    parser.add_argument("target", type=Path)
    parser.add_argument("--checkpoint", help="default: the shipped checkpoint")
    options = parser.parse_args()
    save_readme_screenshot(options.target, options.checkpoint)
    print(f"wrote {options.target}")
