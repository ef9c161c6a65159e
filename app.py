"""depix web demo: restore pixelated regions of photos in the browser, plus /restore and /pixelate API endpoints.

Run: python app.py [--host 127.0.0.1] [--port 7860] [--share] [--auth USER:PASS] [--checkpoint PATH_OR_REPO_ID]
                   [--time-limit 60] [--max-file-size 64mb] [--max-pixels 40000000] [--queue-size 64]
"""

import argparse
import contextvars
import functools
import html
import logging
import math
import os
import re
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
from gradio.utils import get_upload_folder
from PIL import Image

from depix import Depixelator, InputError, pixelate_region
from depix.compare import bicubic_baseline, rmse_psnr
from depix.detect import Mosaic, find_mosaics
from depix.images import MAX_PIXELS, open_image
from depix.model import DEFAULT_CHECKPOINT
from depix.mosaic import parse_box, region_mask, snap_to_grid

logger = logging.getLogger("depix.app")

RESTORE_MODE = "My image is already pixelated: restore it"
TRY_MODE = "Try it: pixelate a clean photo, then restore it"
AUTO_BLOCK = "Auto (estimated)"
MANUAL_BLOCK = "Set by hand"
DEFAULT_BLOCK = 12
PIXELATE_DEFAULT_BLOCK = 16  # what block size 0 means for /pixelate, where nothing can be estimated
MIN_SIDE = 4  # a marked region narrower than this holds no mosaic worth restoring
MAX_FILE_SIZE = "64mb"  # uploads above this are refused by Gradio before they reach a handler
TIME_LIMIT = 60.0  # seconds a request may take before the user gets an error instead of the result
QUEUE_SIZE = 64  # requests waiting beyond this are turned away at once ("This application is currently busy")
CACHE_SWEEP = (600, 3600)  # every 10 minutes, delete uploads and results older than an hour
EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
NOTHING_FOUND = "No pixelated region was found automatically: mark it with the brush or type a box"
NOTHING_MARKED = "Nothing is marked: paint over the region with the brush, or type a box x,y,w,h"
NO_IMAGE = "No image yet: upload a photo, paste one, or pick an example below"

EXAMPLES = [
    ["grace-hopper-pixelated.png", RESTORE_MODE, "176,144,180,168", AUTO_BLOCK, 12],
    ["raccoon-pixelated.png", RESTORE_MODE, "264,128,128,112", AUTO_BLOCK, 8],
    ["moose.jpg", TRY_MODE, "320,200,140,160", AUTO_BLOCK, 10],
    ["cat.jpg", TRY_MODE, "120,70,240,100", MANUAL_BLOCK, 10],
]

CSS = """
#depix-header {text-align: center}
#depix-header p {margin: 0.2em 0}
#depix-status {min-height: 1.5em}
"""


# ---------------------------------------------------------------------------------------------------------------
# Errors: users see one clear sentence, never a traceback.


def _sentence(message: str) -> str:
    """A library message as a sentence for the page; escaped because Gradio renders error text as HTML."""
    message = message.strip()
    if "could not find a block grid" in message:  # the library's wording names an offset the page has no field for
        message = (
            "could not find the mosaic's block grid in the marked region: mark only pixelated blocks "
            "(the brush must stay inside the mosaic), or choose 'Set by hand' and give the block size"
        )
    message = message[:1].upper() + message[1:]
    if not message.endswith((".", "!", "?")):
        message += "."
    return html.escape(message, quote=False)


def friendly_errors(fn: Callable) -> Callable:
    """Turn InputError and unexpected failures into gr.Error messages (unexpected ones are logged)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except InputError as e:
            raise gr.Error(_sentence(str(e)), print_exception=False) from None
        except MemoryError:
            logger.exception("out of memory in %s", fn.__name__)
            raise gr.Error("The image is too large for this server's memory: try a smaller one.") from None
        except Exception:
            logger.exception("unexpected error in %s", fn.__name__)
            raise gr.Error(
                "Something went wrong while processing the image (the error was logged). "
                "Please try again, or another image or region.",
                print_exception=False,
            ) from None

    return wrapper


def _error(message: str) -> gr.Error:
    return gr.Error(_sentence(message), print_exception=False)


def time_limited(seconds: float, workers: int) -> Callable[[Callable], Callable]:
    """A decorator: the handler runs on a worker thread, and after `seconds` its caller gets a gr.Error instead.

    Python cannot stop a thread, so a computation that runs over is abandoned, not stopped: it finishes in its
    worker and its result is dropped (one not started yet, waiting for a worker, is cancelled). The workers are
    shared and as many as the queue runs at once, so abandoned computations never take more CPU than the queue
    would give to requests anyway; while they hold workers, new requests wait, and the wait counts towards their
    own limit, so nobody waits longer than `seconds`.
    """
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="depix-handler")

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            # In the caller's context: gr.Progress finds its event through context variables.
            future = pool.submit(contextvars.copy_context().run, fn, *args, **kwargs)
            try:
                return future.result(timeout=seconds)
            except FutureTimeout:
                future.cancel()
                logger.warning("%s took longer than %g s: abandoned", fn.__name__, seconds)
                raise gr.Error(
                    f"Processing took longer than {seconds:g} s, the limit on this server: try a smaller image "
                    "or region, or try again when the server is less busy.",
                    print_exception=False,
                ) from None

        return wrapper

    return decorate


# ---------------------------------------------------------------------------------------------------------------
# From the page's inputs to the library's arguments.


def editor_image(value: dict | None, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """The uploaded photo from an ImageEditor value, size-checked; opaque RGBA becomes RGB."""
    background = value.get("background") if isinstance(value, dict) else None
    if background is None:
        raise _error(NO_IMAGE)
    image = open_image(background, max_pixels)
    if image.mode == "RGBA" and image.getchannel("A").getextrema() == (255, 255):
        image = image.convert("RGB")  # the editor always sends RGBA; an opaque photo should come back as RGB
    return image


def editor_mask(value: dict | None, size: tuple[int, int]) -> np.ndarray | None:
    """The (H, W) bool mask of every pixel painted on the editor's layers, or None when nothing is painted."""
    layers = (value.get("layers") or []) if isinstance(value, dict) else []
    mask = np.zeros((size[1], size[0]), bool)
    for layer in layers:
        if layer is None:
            continue
        layer = layer if isinstance(layer, Image.Image) else Image.fromarray(np.asarray(layer))
        alpha = layer.getchannel("A") if "A" in layer.getbands() else layer.convert("L")
        if alpha.size != size:  # a canvas of another size than the photo: scale the strokes onto the photo
            alpha = alpha.resize(size, Image.Resampling.NEAREST)
        mask |= np.asarray(alpha) > 0
    return mask if mask.any() else None


def _check_region_size(width: int, height: int) -> None:
    if width < MIN_SIDE or height < MIN_SIDE:
        raise _error(
            f"the marked region is too small ({width}x{height} pixels): mark at least {MIN_SIDE}x{MIN_SIDE} "
            "pixels, the whole pixelated area"
        )


def parse_region(
    image: Image.Image, box_text: str | None, mask: np.ndarray | None
) -> tuple[tuple[int, int, int, int] | None, np.ndarray | None]:
    """The checked (box, mask) pair to use: a typed box wins over brush strokes; (None, None) when nothing is marked."""
    box_text = (box_text or "").strip()
    if box_text:
        box = parse_box(box_text, *image.size)
        _check_region_size(box[2], box[3])
        return box, None
    if mask is not None:
        ys, xs = np.nonzero(mask)
        _check_region_size(int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1))
        return None, mask
    return None, None


def block_size_of(choice: str, value: float | None) -> int | None:
    """The block size to pass to the library: None for Auto."""
    if choice == AUTO_BLOCK:
        return None
    return _whole_block_size(value)


def _whole_block_size(value: float | None) -> int:
    if value is None or not math.isfinite(float(value)) or float(value) != int(value):
        raise _error(f"the block size must be a whole number of pixels, got {value!r}")
    return int(value)


# ---------------------------------------------------------------------------------------------------------------
# The work itself: thin calls into depix.


def _mosaic_under(
    image: Image.Image, marked: np.ndarray, whole_blocks: bool
) -> tuple[Mosaic, tuple[int, int, int, int]] | None:
    """The detected mosaic that overlaps the marked pixels most, and the box of the marks inside it; or None.

    With whole_blocks (brush strokes), the box takes every block the marks touch, as the library does for masks.
    """
    best, best_overlap = None, None
    for mosaic in find_mosaics(image):
        overlap = marked & region_mask(*image.size, box=mosaic.box)
        if overlap.any() and (best_overlap is None or overlap.sum() > best_overlap.sum()):
            best, best_overlap = mosaic, overlap
    if best is None:
        return None
    if whole_blocks:
        best_overlap = snap_to_grid(best_overlap, best.block_size, best.offset)
    # Nothing outside the mosaic: what spilled over it is not pixelated and must stay as it is.
    ys, xs = np.nonzero(best_overlap & region_mask(*image.size, box=best.box))
    return best, (int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1))


def restore_image(
    depixelator: Depixelator,
    image: Image.Image,
    box: tuple[int, int, int, int] | None,
    mask: np.ndarray | None,
    block_size: int | None,
) -> tuple[Image.Image, str]:
    """Restore a marked region, or every automatically found mosaic when nothing is marked; and a status note."""
    if box is not None or mask is not None:
        how = "the typed box" if box is not None else "the painted region"
        try:
            restored = depixelator.restore(image, box=box, mask=mask, block_size=block_size)
        except InputError as e:
            # The block grid is estimated from exactly equal pixels, which JPEG noise and brush strokes that
            # spill over the mosaic's border both break; detection copes with both, so ask it before giving up.
            if block_size is not None or "block grid" not in str(e):
                raise
            found = _mosaic_under(image, region_mask(*image.size, box=box, mask=mask), whole_blocks=box is None)
            if found is None:
                raise
            mosaic, inside = found
            restored = depixelator.restore(image, box=inside, block_size=mosaic.block_size, offset=mosaic.offset)
            return restored, f"Restored {how} ({mosaic.block_size} px blocks, found by automatic detection)."
        size = f"{block_size} px blocks" if block_size else "block size estimated"
        return restored, f"Restored {how} ({size})."
    found = find_mosaics(image)
    if not found:
        raise _error(NOTHING_FOUND)
    for mosaic in found:  # with the detected grid origin: a box may cut blocks
        image = depixelator.restore(image, box=mosaic.box, block_size=mosaic.block_size, offset=mosaic.offset)
    return image, f"Restored {len(found)} automatically found region{'s' if len(found) > 1 else ''}."


def try_it(
    depixelator: Depixelator,
    image: Image.Image,
    box: tuple[int, int, int, int] | None,
    mask: np.ndarray | None,
    block_size: int,
    estimate: bool,
) -> dict[str, Any]:
    """Pixelate a clean photo, restore it (estimating the block size if asked), and score both against the original."""
    if box is None and mask is None:
        raise _error(NOTHING_MARKED)
    pixelated = pixelate_region(image, box=box, mask=mask, block_size=block_size)
    if box is not None:
        offset = (box[0], box[1])
        region = region_mask(*image.size, box=box)
        restored = depixelator.restore(pixelated, box=box, block_size=None if estimate else block_size)
    else:
        ys, xs = np.nonzero(mask)
        offset = (int(xs.min()), int(ys.min()))  # where pixelate_region starts its grid for a mask
        region = snap_to_grid(mask, block_size, offset)
        restored = depixelator.restore(
            pixelated,
            mask=region,
            block_size=None if estimate else block_size,
            offset=None if estimate else offset,
        )
    bicubic = bicubic_baseline(pixelated, region, block_size, offset)
    scores = {
        "Pixelated input": rmse_psnr(image, pixelated, region),
        "Bicubic upscaling": rmse_psnr(image, bicubic, region),
        "depix": rmse_psnr(image, restored, region),
    }
    return {"pixelated": pixelated, "restored": restored, "region": region, "scores": scores}


def close_up(image: Image.Image, region: np.ndarray) -> Image.Image:
    """The region's bounding box with a margin of a quarter of its size: where the three images differ."""
    ys, xs = np.nonzero(region)
    margin = max(8, (int(np.ptp(ys)) + int(np.ptp(xs))) // 8)
    left, top = max(0, int(xs.min()) - margin), max(0, int(ys.min()) - margin)
    right, bottom = min(image.width, int(xs.max()) + 1 + margin), min(image.height, int(ys.max()) + 1 + margin)
    return image.crop((left, top, right, bottom))


def scores_table(scores: dict[str, tuple[float, float]]) -> str:
    """A Markdown table of RMSE and PSNR per method."""
    lines = ["| Method | RMSE ↓ | PSNR ↑ |", "|---|---:|---:|"]
    for name, (rmse, psnr) in scores.items():
        lines.append(f"| {name} | {rmse:.2f} | {psnr:.2f} dB |")
    lines.append("")
    lines.append("*Against the original photo, over the pixelated region only (0–255 scale).*")
    return "\n".join(lines)


def save_png(image: Image.Image, name: str) -> str:
    """Write a lossless PNG into a fresh folder of Gradio's cache (swept by delete_cache); its path."""
    folder = Path(get_upload_folder()) / f"depix-{uuid.uuid4().hex}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    image.save(path, format="PNG", compress_level=1)  # level 6 takes ~3x as long for ~4% fewer bytes
    return str(path)


# ---------------------------------------------------------------------------------------------------------------
# Event handlers.


def make_handlers(
    depixelator: Depixelator, time_limit: float = TIME_LIMIT, concurrency: int = 2
) -> dict[str, Callable]:
    """The page's and the API's event handlers, bound to one loaded model, each limited to time_limit seconds.

    concurrency: how many requests of each handler the queue runs at once.
    """

    @friendly_errors
    def run(
        editor: dict | None,
        mode: str,
        box_text: str,
        block_choice: str,
        block_value: float,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's documented way to get a progress bar)
    ) -> tuple:
        """The main button: restore, or pixelate-then-restore in the try-it mode."""
        started = time.perf_counter()
        progress(0.05, desc="Reading the image")
        image = editor_image(editor, depixelator.max_pixels)
        painted = editor_mask(editor, image.size)
        box, mask = parse_region(image, box_text, painted)
        note = ""
        if box is not None and painted is not None:
            note = " The typed box was used; clear it to use your brush strokes instead."
        if mode == TRY_MODE:
            progress(0.2, desc="Pixelating, then restoring with the network")
            size = _whole_block_size(block_value)
            result = try_it(depixelator, image, box, mask, size, estimate=block_choice == AUTO_BLOCK)
            progress(0.9, desc="Preparing the results")
            pixelated = save_png(result["pixelated"], "pixelated.png")
            restored = save_png(result["restored"], "depix-restored.png")
            shown = {"original": image, "pixelated": result["pixelated"], "restored": result["restored"]}
            views = [save_png(close_up(im, result["region"]), f"close-up-{name}.png") for name, im in shown.items()]
            seconds = time.perf_counter() - started
            status = f"Pixelated with {size} px blocks and restored in {seconds:.1f} s.{note}"
            return (
                (pixelated, restored),
                gr.DownloadButton(value=restored, visible=True),
                gr.Column(visible=True),
                *views,
                scores_table(result["scores"]),
                status,
            )
        progress(0.2, desc="Restoring with the network")
        restored_image, done = restore_image(depixelator, image, box, mask, block_size_of(block_choice, block_value))
        progress(0.9, desc="Preparing the result")
        before = save_png(image, "input.png")
        restored = save_png(restored_image, "depix-restored.png")
        status = f"{done[:-1]} in {time.perf_counter() - started:.1f} s.{note}"
        return (
            (before, restored),
            gr.DownloadButton(value=restored, visible=True),
            gr.Column(visible=False),
            None,
            None,
            None,
            "",
            status,
        )

    @friendly_errors
    def detect(editor: dict | None) -> tuple[str, str]:
        """The Detect button: find mosaics, put the first box in the box field, list all in the status line."""
        image = editor_image(editor, depixelator.max_pixels)
        found = find_mosaics(image)
        if not found:
            raise _error(NOTHING_FOUND)
        listed = "; ".join(
            f"`{','.join(map(str, m.box))}` ({m.block_size} px blocks, confidence {m.score:.2f})" for m in found
        )
        if len(found) == 1:
            status = f"Found a pixelated region: {listed}. It is in the box field now: press Restore."
        else:
            status = (
                f"Found {len(found)} pixelated regions: {listed}. The first is in the box field now; "
                "clear the field to restore them all."
            )
        return ",".join(map(str, found[0].box)), status

    @friendly_errors
    def api_restore(
        image: str | None,
        box: str | None,
        block_size: float | None,
        progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> str:
        """Restore the mosaic in box "x,y,w,h" (empty: find it automatically); block size 0 = estimate. A PNG path."""
        if image is None:
            raise _error("no image was given")
        progress(0.1, desc="Reading the image")
        picture = open_image(image, depixelator.max_pixels)
        region, _ = parse_region(picture, box, None)
        size = None if not block_size else _whole_block_size(block_size)
        progress(0.3, desc="Restoring with the network")
        restored, _ = restore_image(depixelator, picture, region, None, size)
        return save_png(restored, "depix-restored.png")

    @friendly_errors
    def api_pixelate(image: str | None, box: str | None, block_size: float | None) -> str:
        """Pixelate box "x,y,w,h" with the block size (0 = 16 px). A PNG path."""
        if image is None:
            raise _error("no image was given")
        picture = open_image(image, depixelator.max_pixels)
        region, _ = parse_region(picture, box, None)
        if region is None:
            raise _error("give the region to pixelate as a box x,y,w,h")
        size = PIXELATE_DEFAULT_BLOCK if not block_size else _whole_block_size(block_size)
        return save_png(pixelate_region(picture, box=region, block_size=size), "pixelated.png")

    handlers = {"run": run, "detect": detect, "api_restore": api_restore, "api_pixelate": api_pixelate}
    limit = time_limited(time_limit, workers=concurrency * len(handlers))
    return {name: limit(handler) for name, handler in handlers.items()}


def mode_changed(mode: str, block_choice: str) -> tuple:
    """Words and controls that follow the mode: button label, slider, try-it panel."""
    trying = mode == TRY_MODE
    return (
        gr.Button(value="Pixelate, then restore" if trying else "Restore"),
        gr.Slider(interactive=trying or block_choice == MANUAL_BLOCK),
        gr.Column(visible=trying),
    )


def readable_image_input(component: gr.Image) -> gr.Image:
    """Make an image input report unreadable uploads clearly (PIL's own errors reach the client as a bare failure)."""
    # Wrapped on the instance: a gr.Image subclass would make Gradio write an app.pyi stub next to this file.
    original = component.preprocess

    @functools.wraps(original)
    def preprocess(payload: Any) -> Any:
        try:
            return original(payload)
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            raise _error("the file is not an image depix can read: use PNG, JPEG, WebP, TIFF, BMP or GIF") from None

    component.preprocess = preprocess
    return component


# ---------------------------------------------------------------------------------------------------------------
# The page.


def build_demo(
    depixelator: Depixelator, concurrency: int = 2, time_limit: float = TIME_LIMIT, queue_size: int = QUEUE_SIZE
) -> gr.Blocks:
    """The Gradio Blocks app around a loaded Depixelator (whose max_pixels limits the images)."""
    handlers = make_handlers(depixelator, time_limit, concurrency)
    with gr.Blocks(title="depix: restore pixelated images", delete_cache=CACHE_SWEEP) as demo:
        gr.Markdown(
            "# depix: restore pixelated images\n"
            "Mark a pixelated (mosaic) region of a photo and a neural network estimates what the blocks hide. "
            "The result is a plausible guess, not the hidden original.",
            elem_id="depix-header",
        )
        with gr.Row(equal_height=False):
            with gr.Column(scale=1):
                mode = gr.Radio([RESTORE_MODE, TRY_MODE], value=RESTORE_MODE, label="What do you want to do?")
                editor = gr.ImageEditor(
                    label="Your image: paint over the mosaic",
                    type="pil",
                    image_mode="RGBA",
                    sources=("upload", "clipboard"),
                    transforms=(),
                    layers=False,
                    brush=gr.Brush(colors=[("#ff1493", 0.6), ("#00e5ff", 0.6)], color_mode="fixed"),
                    eraser=gr.Eraser(),
                    format="png",
                    height=520,
                    elem_id="depix-editor",
                )
                box = gr.Textbox(
                    label="…or type the region as a box: x,y,w,h",
                    placeholder="e.g. 176,144,180,168 (used instead of the brush when filled)",
                    elem_id="depix-box",
                )
                with gr.Row():
                    block_choice = gr.Radio([AUTO_BLOCK, MANUAL_BLOCK], value=AUTO_BLOCK, label="Block size")
                    block_value = gr.Slider(
                        2,
                        64,
                        value=DEFAULT_BLOCK,
                        step=1,
                        label="Block size (pixels)",
                        info="In the try-it mode: the size used to pixelate.",
                        interactive=False,
                    )
                with gr.Row():
                    detect_button = gr.Button("Detect the mosaic", variant="secondary", scale=1)
                    run_button = gr.Button("Restore", variant="primary", scale=2, elem_id="depix-run")
                status = gr.Markdown(elem_id="depix-status")
            with gr.Column(scale=1):
                slider = gr.ImageSlider(
                    label="Before / after (drag the handle)",
                    type="filepath",
                    format="png",
                    interactive=False,
                    max_height=560,
                    elem_id="depix-slider",
                )
                download = gr.DownloadButton("Download the result (full-resolution PNG)", visible=False)
                with gr.Column(visible=False) as try_panel:
                    gr.Markdown("**Close-up of the marked region**")
                    with gr.Row():
                        views = [
                            gr.Image(
                                label=label,
                                format="png",
                                type="filepath",
                                interactive=False,
                                buttons=["fullscreen"],
                                height=220,
                            )
                            for label in ("Original", "Pixelated", "depix")
                        ]
                    scores = gr.Markdown()
        gr.Examples(
            [[str(EXAMPLES_DIR / row[0]), *row[1:]] for row in EXAMPLES if (EXAMPLES_DIR / row[0]).exists()],
            inputs=[editor, mode, box, block_choice, block_value],
            label="Examples: pick one, then press the button",
            cache_examples=False,
        )
        gr.Markdown(
            "Tips: the brush marks every block it touches, so paint inside the mosaic. Auto estimates the block "
            "size from the marked region; if that fails, set it by hand. Large photos are shown scaled but "
            "processed at full resolution. Uploads and results are deleted from the server after an hour."
        )

        # The public API: clean endpoints on hidden components; the page's own events are private.
        with gr.Column(visible=False):
            api_image = readable_image_input(gr.Image(label="image", type="filepath", image_mode=None))
            api_box = gr.Textbox(label="box", value="")
            api_block = gr.Number(label="block_size", value=0, precision=0)
            api_result = gr.Image(label="result", type="filepath", format="png")
            restore_trigger = gr.Button("restore")
            pixelate_trigger = gr.Button("pixelate")
        restore_trigger.click(
            handlers["api_restore"],
            [api_image, api_box, api_block],
            api_result,
            api_name="restore",
            api_description="Restore the mosaic inside box 'x,y,w,h' (empty: find it automatically); "
            "block_size 0 = estimate it. Returns a PNG of the same size.",
        )
        pixelate_trigger.click(
            handlers["api_pixelate"],
            [api_image, api_box, api_block],
            api_result,
            api_name="pixelate",
            api_description="Pixelate box 'x,y,w,h' with square blocks of block_size pixels (0 = 16). Returns a PNG.",
        )

        run_button.click(
            handlers["run"],
            [editor, mode, box, block_choice, block_value],
            [slider, download, try_panel, *views, scores, status],
            api_name="ui_run",  # callable (the tests drive the page's event through it) but not listed
            api_visibility="undocumented",
        )
        detect_button.click(
            handlers["detect"], editor, [box, status], api_name="ui_detect", api_visibility="undocumented"
        )
        mode.change(mode_changed, [mode, block_choice], [run_button, block_value, try_panel], api_visibility="private")
        block_choice.change(
            mode_changed, [mode, block_choice], [run_button, block_value, try_panel], api_visibility="private"
        )
    demo.queue(default_concurrency_limit=concurrency, max_size=queue_size)
    return demo


# ---------------------------------------------------------------------------------------------------------------
# Start-up.


def load_depixelator(checkpoint: str | None, device: str = "auto") -> Depixelator:
    """Load the model once; a Hugging Face repo id that cannot be fetched falls back to the shipped checkpoint."""
    try:
        return Depixelator.from_pretrained(checkpoint, device=device)
    except InputError as e:
        is_repo_id = checkpoint is not None and not Path(checkpoint).exists() and str(checkpoint).count("/") == 1
        if not is_repo_id or not (DEFAULT_CHECKPOINT / "config.json").exists():
            raise
        print(f"warning: {e} (offline?); using the shipped checkpoint {DEFAULT_CHECKPOINT}", file=sys.stderr)
        return Depixelator.from_pretrained(None, device=device)


def launch(
    demo: gr.Blocks,
    host: str = "127.0.0.1",
    port: int = 7860,
    share: bool = False,
    auth: tuple[str, str] | None = None,
    prevent_thread_lock: bool = False,
    max_file_size: str | int = MAX_FILE_SIZE,
) -> tuple:
    """Serve the app with the demo's look and upload limit (bytes, or a size like "64mb")."""
    return demo.launch(
        server_name=host,
        server_port=port,
        share=share,
        auth=auth,
        prevent_thread_lock=prevent_thread_lock,
        max_file_size=max_file_size,
        theme=gr.themes.Soft(primary_hue="indigo", secondary_hue="pink"),
        css=CSS,
        footer_links=["api", "gradio"],
    )


def file_size(text: str) -> int:
    """Bytes from a size such as 64mb, 500kb, 1gb or a plain number of bytes (an argparse type)."""
    match = re.fullmatch(r"(\d+)\s*(b|kb|mb|gb)?", text.strip(), re.IGNORECASE)
    if not match or int(match[1]) < 1:
        raise argparse.ArgumentTypeError(f"expected a size such as 64mb or 500kb, got {text!r}")
    return int(match[1]) * 1024 ** ["b", "kb", "mb", "gb"].index((match[2] or "b").lower())


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description="depix web demo")
    p.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"), help="address to listen on")
    p.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")), help="port")
    p.add_argument("--share", action="store_true", help="also make a public gradio.live link (needs internet)")
    p.add_argument("--auth", metavar="USER:PASS", help="ask for this user name and password")
    p.add_argument("--checkpoint", help="checkpoint folder or Hugging Face repo id (default: the shipped one)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    p.add_argument("--concurrency", type=int, default=2, help="requests of each kind processed at the same time")
    p.add_argument("--time-limit", type=float, default=TIME_LIMIT, metavar="SECONDS", help="longest a request may take")
    p.add_argument("--max-file-size", type=file_size, default=MAX_FILE_SIZE, help="largest upload, e.g. 64mb")
    p.add_argument("--max-pixels", type=int, default=MAX_PIXELS, help="largest image, in pixels (width x height)")
    p.add_argument("--queue-size", type=int, default=QUEUE_SIZE, help="requests that may wait; more are turned away")
    args = p.parse_args(argv)
    if args.auth is not None and (":" not in args.auth or not args.auth.split(":", 1)[0]):
        p.error("--auth takes USER:PASS")
    for name in ("concurrency", "max_pixels", "queue_size"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if not args.time_limit > 0:  # also refuses nan
        p.error("--time-limit must be a positive number of seconds")
    return args


def main(argv: list[str] | None = None) -> None:
    """Load the model once, build the page and serve it."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # Gradio's own start-up requests are not news
    args = parse_args(argv)
    started = time.perf_counter()
    try:
        depixelator = load_depixelator(args.checkpoint, args.device)
    except InputError as e:
        hint = "" if args.checkpoint else " (train one, or pass --checkpoint FOLDER_OR_REPO_ID)"
        sys.exit(f"error: {e}{hint}")
    logger.info("model loaded on %s in %.2f s", depixelator.device, time.perf_counter() - started)
    depixelator.max_pixels = args.max_pixels
    auth = tuple(args.auth.split(":", 1)) if args.auth else None
    demo = build_demo(depixelator, args.concurrency, args.time_limit, args.queue_size)
    launch(demo, args.host, args.port, args.share, auth, max_file_size=args.max_file_size)


if __name__ == "__main__":
    main()
