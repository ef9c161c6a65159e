"""Shared setup for the benchmark scripts: validation photos, a Markdown table printer, the web app in a subprocess."""

import contextlib
import csv
import os
import random
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from PIL import Image

from depix.images import open_image

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = Path("data/photos/manifest.csv")
ENV = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}


def scaled_down(photo: Image.Image, side: int) -> Image.Image:
    """A copy of a photo whose longer side is at most side px (LANCZOS), as the benchmarks draw mosaics on it."""
    out = photo.copy()
    out.thumbnail((side, side), Image.LANCZOS)
    return out


def corpus_photos(
    split: str = "val", sample: int | None = None, exclude_sample: int | None = None, manifest: Path = MANIFEST
) -> list[Image.Image]:
    """The corpus's photos of one split as RGB images, or a fixed random sample of them.

    The benchmarks measure on the val photos; a sample of train photos, which no detection rule was worked out
    on, checks that a change carries over to photos it was not tuned on. Once a sample has served to work rules
    out, exclude_sample leaves it out (the photos that the same sample size would draw) for a fresh one. Build
    the corpus first with `python -m train.photos`.
    """
    if not manifest.exists():
        raise SystemExit(f"{manifest} not found: build the corpus first with `python -m train.photos`")
    with manifest.open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == split]
    if exclude_sample is not None:
        used = set(draw_sample(len(rows), exclude_sample))
        rows = [r for i, r in enumerate(rows) if i not in used]
    if sample is not None:
        rows = [rows[i] for i in draw_sample(len(rows), sample)]
    # Opened as depix opens them (upright, EXIF orientation applied): a mosaic drawn on one must line up with it.
    return [open_image(manifest.parent / r["path"]).convert("RGB") for r in rows]


def draw_sample(count: int, sample: int) -> list[int]:
    """A fixed random sample of indices below count, in order (all of them when the sample is as large)."""
    return sorted(random.Random(11).sample(range(count), sample)) if sample < count else list(range(count))


def print_table(header: list[str], rows: list[list[object]]) -> None:
    """Print a Markdown table."""
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row) + " |")


def app_checkpoint(folder: Path) -> tuple[str, str]:
    """The checkpoint for app benchmarks and a note on it: the shipped one, or its architecture with random weights.

    The random weights are saved in folder, while no checkpoint is shipped; the app's speed does not depend on them.
    """
    from depix.model import DEFAULT_CHECKPOINT, DepixNet, ModelConfig, save

    if (DEFAULT_CHECKPOINT / "config.json").exists():
        return str(DEFAULT_CHECKPOINT), ""
    save(DepixNet(ModelConfig()), folder / "random-weights")
    return str(folder / "random-weights"), " (no shipped checkpoint yet: the shipped architecture with random weights)"


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_serving(url: str, process: subprocess.Popen, timeout: float = 120) -> float:
    """Seconds until the page answers; raises if the server dies or never answers."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.perf_counter() - started
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the app did not answer within {timeout} s")


@contextlib.contextmanager
def app_server(checkpoint: str, *options: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """`python app.py` on the CPU on a free port, with more command-line options; (url, process) once it answers."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    command = [sys.executable, str(ROOT / "app.py"), "--checkpoint", checkpoint, "--port", str(port), "--device", "cpu"]
    server = subprocess.Popen([*command, *options], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_serving(url, server)
        yield url, server
    finally:
        server.terminate()
        server.wait(timeout=30)
