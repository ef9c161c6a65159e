"""Colour restoration quality and speed on real photos.

    python -m benchmarks.bench_restore [--checkpoint PATH] [--per-photo 4] [--skip-memory] [--jpeg]

Quality: the corpus's validation photos with a longer side of at least 512 px (scaled to at most 1024),
regions of 64-256 px, blocks of 8-32 px, pixelated with depix.pixelate_region. Speed: a 1024x1024 RGB photo
with a 256x256 region at block 16. Memory: peak resident memory restoring a 1024x1024 region of a
4096x4096 RGB image, in a fresh process.
"""

import argparse
import io
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from benchmarks.common import corpus_photos, print_table, scaled_down
from depix import Depixelator, pixelate_region
from depix.compare import bicubic_baseline


def quality(depixelator: Depixelator, per_photo: int, jpeg: int | None = None) -> dict[str, list[float]]:
    """Per-region RMSE of each method on the colour photos; jpeg: the mosaic image saved as JPEG at this quality."""
    rng = np.random.default_rng(0)
    classical = Depixelator(None)
    errors: dict[str, list[float]] = {"identity": [], "bicubic": [], "membrane fill": [], "depix": []}
    for photo in corpus_photos():
        if max(photo.size) < 512:
            continue
        photo = scaled_down(photo, 1024)
        original = np.asarray(photo)
        for _ in range(per_photo):
            w, h = (int(rng.integers(64, min(256, s) + 1)) for s in photo.size)
            x, y = int(rng.integers(0, photo.width - w + 1)), int(rng.integers(0, photo.height - h + 1))
            size = int(rng.integers(8, 33))
            pixelated = pixelate_region(photo, box=(x, y, w, h), block_size=size)
            if jpeg is not None:
                buffer = io.BytesIO()
                pixelated.save(buffer, "JPEG", quality=jpeg)
                pixelated = Image.open(buffer).convert("RGB")
            region = np.zeros((photo.height, photo.width), bool)
            region[y : y + h, x : x + w] = True
            box = (x, y, w, h)
            results = {
                "identity": np.asarray(pixelated),
                "bicubic": np.asarray(bicubic_baseline(pixelated, region, size, (x, y))),
                "membrane fill": np.asarray(classical.restore(pixelated, box=box, block_size=size, offset=(x, y))),
                "depix": np.asarray(depixelator.restore(pixelated, box=box, block_size=size, offset=(x, y))),
            }
            for name, result in results.items():
                diff = result[y : y + h, x : x + w].astype(float) - original[y : y + h, x : x + w]
                errors[name].append(float(np.sqrt(np.mean(diff**2))))
    return errors


def quality_table(errors: dict[str, list[float]]) -> None:
    identity, bicubic = np.mean(errors["identity"]), np.mean(errors["bicubic"])
    rows = []
    for name, values in errors.items():
        rmse = float(np.mean(values))
        psnr = float(np.mean([20 * np.log10(255 / max(v, 1e-6)) for v in values]))
        rows.append([name, len(values), rmse, psnr, rmse / identity, rmse / bicubic])
    print_table(["method", "regions", "RMSE", "PSNR (dB)", "x identity", "x bicubic"], rows)


def jpeg_table(depixelator: Depixelator, per_photo: int) -> None:
    """The same regions when the mosaic image was saved as JPEG (block size and grid given)."""
    rows = []
    for level in (95, 85, 75):
        errors = {name: float(np.mean(values)) for name, values in quality(depixelator, per_photo, level).items()}
        depix = errors["depix"]
        rows.append([level, *errors.values(), depix / errors["identity"], depix / errors["bicubic"]])
    header = ["JPEG quality", *(f"{name} RMSE" for name in ("identity", "bicubic", "membrane fill", "depix"))]
    print_table([*header, "depix x identity", "depix x bicubic"], rows)


def speed(depixelator: Depixelator) -> None:
    photo = max(corpus_photos(), key=lambda p: min(p.size)).resize((1024, 1024), Image.LANCZOS)
    box = (384, 384, 256, 256)
    pixelated = pixelate_region(photo, box=box, block_size=16)
    rows = []
    for label, kwargs in [("block given", {"block_size": 16}), ("block estimated", {})]:
        times = []
        for _ in range(11):
            start = time.perf_counter()
            depixelator.restore(pixelated, box=box, **kwargs)
            times.append(time.perf_counter() - start)
        times = sorted(times[1:])  # the first call warms up
        rows.append([f"1024x1024 RGB, 256x256 region, block 16, {label}", statistics.median(times), times[-1]])
    print_table(["case", "p50 s", "max s"], rows)


def memory(checkpoint: str | None) -> None:
    """Peak memory of a fresh process that restores a 4096x4096 PNG, as a user of the API or CLI would."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "pixelated.png"
        rng = np.random.default_rng(0)
        image = Image.fromarray(rng.integers(0, 256, (4096, 4096, 3), dtype=np.uint8))
        pixelate_region(image, box=(1000, 1000, 1024, 1024), block_size=16).save(path)
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent process across fork and exec.
        code = f"""
from pathlib import Path
from depix import Depixelator
def peak():
    line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmHWM"))
    return int(line.split()[1]) / 1024
d = Depixelator.from_pretrained({checkpoint!r}, device="cpu")
before = peak()
d.restore({str(path)!r}, box=(1000, 1000, 1024, 1024), block_size=16)
print(before, peak())
"""
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, after = map(float, result.stdout.split())
    print_table(
        ["case", "peak RSS after loading the model (MB)", "peak RSS after restoring (MB)"],
        [["4096x4096 RGB PNG, 1024x1024 region, block 16", before, after]],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint")
    parser.add_argument("--per-photo", type=int, default=4)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--jpeg", action="store_true", help="also the quality on mosaics saved as JPEG 95/85/75")
    args = parser.parse_args()
    depixelator = Depixelator.from_pretrained(args.checkpoint, device="cpu")
    print(f"torch threads: {torch.get_num_threads()}\n")
    quality_table(quality(depixelator, args.per_photo))
    print()
    if args.jpeg:
        jpeg_table(depixelator, args.per_photo)
        print()
    speed(depixelator)
    if not args.skip_memory:
        print()
        memory(args.checkpoint)


if __name__ == "__main__":
    main()
