"""Finding mosaics automatically: synthetic mosaics on the validation photos, false alarms on clean images.

    OMP_NUM_THREADS=1 python -m benchmarks.bench_detect [--trials 3] [--max-side 1024] [--seed 0]
        [--split val|train] [--sample N] [--exclude-sample N] [--speed-only | --photo-sizes]

Each trial puts 1 to 3 mosaics (blocks of 3-32 px, boxes of at least 3 blocks and 24 px, some touching the
image border, random grid offsets) on every validation photo (scaled to at most --max-side), then stores it
losslessly or as JPEG. A detection matches a true mosaic at IoU >= 0.5; "found" means IoU >= 0.9 and the
exact block size (the issue's bar); "visible only" leaves out mosaics that changed their box by less than
2 levels on average (over a white background or a flat sky nothing shows where the box ends). A second
table draws one mosaic per photo as bench_restore.py does (also GIMP's way: an image-wide grid from the
image's corner, whose blocks of 8, 16, 24 or 32 px lie on JPEG's own grid; and strips one block and a part
thick, as over the eyes or a line of text), a third one mosaic over the text of a screenshot (a page of text,
light or dark). False alarms: clean photos at each quality, synthetic flat UI screenshots (panels, buttons,
text, a table with grid lines, a grid of flat swatches), pages of text and charts' colour legends (a row or a
column of swatches, each one colour); a false alarm is an image with any detection. Timings are for one
thread, on whatever else the machine runs. --photo-sizes draws the second table's mosaics on small photos (under
512 px) as they are and on large ones (over 1024 px) at their own size, where the same regions cover smoother,
fainter detail; false alarms on both, clean.
"""

import argparse
import io
import time
from collections.abc import Callable
from functools import partial

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from benchmarks.common import corpus_photos, print_table, scaled_down
from depix.detect import find_mosaics
from depix.mosaic import pixelate_region

QUALITIES = [None, 95, 85, 75]
HEADER = ["setting", "mosaics", "precision", "recall", "mean IoU", "exact block", "IoU>=0.9 & exact",
          "same, visible only", "ms/image"]  # fmt: skip


def mean_grid(image: Image.Image, box: tuple[int, int, int, int], size: int, origin: tuple[int, int]) -> Image.Image:
    """GIMP Pixelize / Photoshop Mosaic style: means over whole blocks of an image-wide grid, pasted into a box."""
    values = np.asarray(image, np.float64)
    h, w = values.shape[:2]
    ox, oy = origin
    rows, cols = (np.arange(h) - oy) // size, (np.arange(w) - ox) // size
    rows, cols = rows - rows.min(), cols - cols.min()
    key = rows[:, None] * (cols.max() + 1) + cols[None]
    counts = np.bincount(key.ravel())
    out = values.copy()
    for c in range(values.shape[2]):
        means = np.bincount(key.ravel(), weights=values[..., c].ravel()) / np.maximum(counts, 1)
        out[..., c] = np.round(means[key])
    x, y, bw, bh = box
    result = values.copy()
    result[y : y + bh, x : x + bw] = out[y : y + bh, x : x + bw]
    return Image.fromarray(result.astype(np.uint8))


def sampled(image: Image.Image, box: tuple[int, int, int, int], size: int) -> Image.Image:
    """Nearest-neighbour down- then up-scaling of a box whose sides are whole blocks."""
    x, y, w, h = box
    region = image.crop((x, y, x + w, y + h))
    small = region.resize((w // size, h // size), Image.NEAREST)
    out = image.copy()
    out.paste(small.resize((w, h), Image.NEAREST), (x, y))
    return out


def encode(image: Image.Image, quality: int | None) -> Image.Image:
    """The image after a JPEG round trip at a quality (None: unchanged)."""
    if quality is None:
        return image
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert(image.mode)


def place(rng: np.random.Generator, width: int, height: int, count: int) -> list[tuple[tuple, int]]:
    """Up to count non-overlapping (box, block size) pairs, well apart, some touching the border."""
    placed: list[tuple[tuple, int]] = []
    for _ in range(count * 20):
        if len(placed) == count:
            break
        size = int(rng.choice([3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16, 20, 24, 32]))
        low = max(3 * size, 24)
        if low > min(width, height) // 2:
            continue
        w = int(rng.integers(low, max(low + 1, width // 2)))
        h = int(rng.integers(low, max(low + 1, height // 2)))
        x, y = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
        if rng.random() < 0.2:
            x = 0 if rng.random() < 0.5 else width - w
        if rng.random() < 0.2:
            y = 0 if rng.random() < 0.5 else height - h
        gap = 2 * max([size] + [s for _, s in placed])
        if all(
            x + w + gap <= bx or bx + bw + gap <= x or y + h + gap <= by or by + bh + gap <= y
            for (bx, by, bw, bh), _ in placed
        ):
            placed.append(((x, y, w, h), size))
    return placed


def mosaic(
    image: Image.Image, rng: np.random.Generator, box: tuple, size: int, kind: str
) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """The image with one mosaic of a kind and its true box.

    kind "mean": depix's (the grid starts at the box's corner); "grid": GIMP/Photoshop style, an image-wide grid
    at a random origin (a photo cropped after pixelation), so partial blocks may lie on every side; "corner": the
    same grid from the image's corner, as GIMP lays it; "sampled": nearest down-up, whole blocks only.
    """
    if kind == "mean":
        return pixelate_region(image, box=box, block_size=size), box
    if kind == "grid":
        return mean_grid(image, box, size, (int(rng.integers(0, size)), int(rng.integers(0, size)))), box
    if kind == "corner":
        return mean_grid(image, box, size, (0, 0)), box
    x, y, w, h = box
    box = (x, y, w - w % size, h - h % size)
    return sampled(image, box, size), box


def make_case(photo: Image.Image, rng: np.random.Generator, kind: str) -> tuple[Image.Image, list[tuple[tuple, int]]]:
    """A photo with 1-3 mosaics of one kind and the true (box, block size) pairs (mean mosaics by default)."""
    image = photo
    out = []
    for box, size in place(rng, photo.width, photo.height, int(rng.integers(1, 4))):
        image, box = mosaic(image, rng, box, size, kind)
        out.append((box, size))
    return image, out


def iou(a: tuple, b: tuple) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


class Tally:
    """Detection counts over many cases."""

    def __init__(self) -> None:
        self.truths = self.detections = self.true_detections = self.matched = self.exact = self.found = 0
        self.visible = self.found_visible = 0
        self.ious: list[float] = []
        self.seconds: list[float] = []

    def add(self, image: Image.Image, truths: list[tuple[tuple, int]], visible: list[bool]) -> None:
        start = time.perf_counter()
        found = find_mosaics(image)
        self.seconds.append(time.perf_counter() - start)
        self.detections += len(found)
        self.true_detections += sum(any(iou(m.box, box) >= 0.5 for box, _ in truths) for m in found)
        for (box, size), seen in zip(truths, visible, strict=True):
            self.visible += seen
            best = max(found, key=lambda m: iou(m.box, box), default=None)
            if best is None or iou(best.box, box) < 0.5:
                continue
            self.matched += 1
            self.ious.append(iou(best.box, box))
            self.exact += best.block_size == size
            hit = best.block_size == size and iou(best.box, box) >= 0.9
            self.found += hit
            self.found_visible += hit and seen
        self.truths += len(truths)

    def row(self, name: str) -> list[object]:
        return [
            name,
            self.truths,
            self.true_detections / max(1, self.detections),
            self.matched / max(1, self.truths),
            float(np.mean(self.ious)) if self.ious else 0.0,
            self.exact / max(1, self.truths),
            self.found / max(1, self.truths),
            self.found_visible / max(1, self.visible),
            f"{1000 * np.mean(self.seconds):.0f}" if self.seconds else "-",  # a group with no photo has no timing
        ]


VISIBLE = 2.0  # a mosaic that changed its box by less than this mean |difference| (0..255) is hardly there


def changed(original: Image.Image, pixelated: Image.Image, box: tuple) -> float:
    """Mean absolute change (0..255) that pixelation made inside a box."""
    x, y, w, h = box
    a, b = (np.asarray(i.convert("RGB"), np.float32)[y : y + h, x : x + w] for i in (original, pixelated))
    return float(np.abs(a - b).mean())


def ui_screenshot(rng: np.random.Generator, width: int = 480, height: int = 320) -> Image.Image:
    """A flat UI screenshot: panels, buttons, text and a table with grid lines."""
    palette = [(255, 255, 255), (240, 240, 240), (230, 233, 237), (33, 150, 243), (76, 175, 80), (50, 50, 50)]
    image = Image.new("RGB", (width, height), palette[int(rng.integers(0, 3))])
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width, 28), fill=palette[int(rng.integers(3, 6))])  # title bar
    for i in range(int(rng.integers(3, 7))):  # toolbar buttons at a regular pitch
        x = 8 + i * 40
        draw.rounded_rectangle((x, 36, x + 32, 60), 4, fill=palette[int(rng.integers(1, 5))], outline=(200, 200, 200))
        draw.text((x + 6, 42), "Btn", fill=(0, 0, 0))
    left = int(rng.integers(100, 180))
    draw.rectangle((0, 68, left, height), fill=palette[int(rng.integers(1, 3))])  # side panel
    for i in range(8):
        draw.text((10, 78 + 20 * i), f"Item {i}", fill=(40, 40, 40))
    rows, cols, cell_w, cell_h = int(rng.integers(4, 9)), int(rng.integers(3, 6)), int(rng.integers(40, 70)), 20
    top = 80
    for r in range(rows):  # a table with zebra rows and grid lines
        fill = (255, 255, 255) if r % 2 else (245, 247, 250)
        draw.rectangle((left + 10, top + r * cell_h, left + 10 + cols * cell_w, top + (r + 1) * cell_h), fill=fill)
        for c in range(cols):
            draw.text((left + 14 + c * cell_w, top + 4 + r * cell_h), f"{r * c}", fill=(20, 20, 20))
    for r in range(rows + 1):
        draw.line((left + 10, top + r * cell_h, left + 10 + cols * cell_w, top + r * cell_h), fill=(200, 200, 200))
    for c in range(cols + 1):
        draw.line((left + 10 + c * cell_w, top, left + 10 + c * cell_w, top + rows * cell_h), fill=(200, 200, 200))
    if rng.random() < 0.5:  # a checkbox grid of flat squares at a regular pitch
        for i in range(6):
            for j in range(2):
                x, y = left + 10 + i * 24, height - 60 + j * 24
                draw.rectangle((x, y, x + 16, y + 16), fill=palette[int(rng.integers(0, 5))], outline=(120, 120, 120))
    return image


def chart_legend(rng: np.random.Generator, width: int, height: int, count: int, gradient: bool) -> Image.Image:
    """A chart's colour legend on a light page: a row of count swatches, each width x height and one colour
    (stepping from red to blue, or drawn at random)."""
    image = Image.new("RGB", (480, 320), (245, 245, 245))
    draw = ImageDraw.Draw(image)
    draw.text((20, 20), "Legend: temperature", fill=(20, 20, 20))
    x0, y0 = int(rng.integers(10, 480 - width * count)), int(rng.integers(40, 320 - height))
    for k in range(count):
        colour = (255 * k // count, 60, 255 - 255 * k // count) if gradient else tuple(rng.integers(0, 256, 3).tolist())
        draw.rectangle((x0 + k * width, y0, x0 + (k + 1) * width - 1, y0 + height - 1), fill=colour)
    return image


WORDS = ["account", "address", "balance", "card", "code", "email", "invoice", "name", "number", "order", "password"]


def text_page(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """A screenshot of a page of text: lines of words in a light or dark theme, 11-20 px type."""
    dark = rng.random() < 0.3
    image = Image.new("RGB", (width, height), (30, 30, 30) if dark else (255, 255, 255))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=int(rng.integers(11, 21)))
    colour = (225, 225, 225) if dark else (25, 25, 25)
    y = 8
    while y + 2 * font.size < height:
        line = ""
        while draw.textlength(line, font=font) < width - 60:
            line += WORDS[int(rng.integers(0, len(WORDS)))] + " " + str(int(rng.integers(0, 10**4))) + " "
        draw.text((8, y), line, fill=colour, font=font)
        y += int(1.5 * font.size)
    return image


def text_case(rng: np.random.Generator, kind: str) -> tuple[Image.Image, Image.Image, tuple[int, int, int, int], int]:
    """A text page, the same with one mosaic over its text (blocks of 4-12 px), the true box and block size."""
    page = text_page(rng, int(rng.integers(400, 900)), int(rng.integers(300, 700)))
    w, h = int(rng.integers(64, 241)), int(rng.integers(40, 161))
    box = (int(rng.integers(8, page.width - w - 40)), int(rng.integers(8, page.height - h - 30)), w, h)
    size = int(rng.integers(4, 13))
    image, box = mosaic(page, rng, box, size, kind)
    return page, image, box, size


def setting(quality: int | None, kind: str = "mean") -> str:
    """A table row's name: the JPEG quality (or lossless) and, unless mean, the kind of mosaic."""
    name = "lossless" if quality is None else f"JPEG {quality}"
    return name if kind == "mean" else f"{name}, {kind} (GIMP/Photoshop style)"


def upscale(image: Image.Image, factor: int) -> Image.Image:
    """Nearest-neighbour integer upscaling of the whole image."""
    return image.resize((image.width * factor, image.height * factor), Image.NEAREST)


def speed() -> None:
    """Detection time on the largest validation photo at its own resolution: crops and the whole photo."""
    big = max(corpus_photos(), key=lambda p: p.width * p.height)
    rows = []
    for side in (512, 1024, None):
        image = big if side is None else big.crop((0, 0, side, side))
        image = pixelate_region(image, box=(image.width // 4, image.height // 4, 256, 256), block_size=12)
        for quality in (None, 85):
            coded = encode(image, quality)
            times = []
            for _ in range(3):
                start = time.perf_counter()
                find_mosaics(coded)
                times.append(time.perf_counter() - start)
            name = f"{image.width}x{image.height} RGB, {setting(quality)}"
            rows.append([name, f"{1000 * min(times):.0f}"])
    print_table(["image (one 256 x 256 mosaic)", "ms (best of 3, one thread)"], rows)


def region(rng: np.random.Generator, photo: Image.Image, sizes: tuple = ()) -> tuple[tuple, int]:
    """A box of 64-256 px on a photo and a block size of 8-32 px (or one of sizes)."""
    w, h = (int(rng.integers(64, min(256, side) + 1)) for side in photo.size)
    box = (int(rng.integers(0, photo.width - w + 1)), int(rng.integers(0, photo.height - h + 1)), w, h)
    return box, int(rng.choice(sizes)) if sizes else int(rng.integers(8, 33))


def strip(rng: np.random.Generator, photo: Image.Image) -> tuple[tuple, int]:
    """A strip on a photo, 64-256 px long, one block of 8-24 px and a partial block thick, and its block size."""
    size = int(rng.integers(8, 25))
    w, h = int(rng.integers(64, 257)), int(rng.integers(size + 2, 2 * size))
    if rng.random() < 0.5:
        w, h = h, w  # a column
    return (int(rng.integers(0, photo.width - w + 1)), int(rng.integers(0, photo.height - h + 1)), w, h), size


def one_per_photo(
    photos: list[Image.Image],
    seed: int,
    trials: int,
    quality: int | None,
    kind: str,
    draw: Callable[[np.random.Generator, Image.Image], tuple[tuple, int]] = region,
    name: str = "",
) -> list:
    """The table row for one mosaic per photo of a kind (see mosaic), its box and block size drawn by draw."""
    rng, tally = np.random.default_rng(seed), Tally()
    for photo in photos:
        for _ in range(trials):
            box, size = draw(rng, photo)
            image, box = mosaic(photo, rng, box, size, kind)
            tally.add(encode(image, quality), [(box, size)], [changed(photo, image, box) >= VISIBLE])
    return tally.row(f"{setting(quality)}, {name}" if name else setting(quality, kind))


def alarms(sets: tuple, change: Callable[[Image.Image], Image.Image]) -> list[str]:
    """For each set of clean images: how many raise a detection once changed, out of how many."""
    return [f"{sum(bool(find_mosaics(change(i))) for i in images)}/{len(images)}" for images in sets]


def by_photo_size(photos: list[Image.Image], seed: int, trials: int) -> None:
    """One mosaic per photo as in the main table, for small photos as they are and large ones at their own size."""
    groups = [
        ("under 512 px", [p for p in photos if max(p.size) < 512 and min(p.size) >= 128]),
        ("512 px and over, scaled to 1024", [scaled_down(p, 1024) for p in photos if max(p.size) >= 512]),
        ("over 1024 px, own size", [p for p in photos if max(p.size) > 1024]),
    ]
    rows = []
    for name, group in groups:
        for quality in (None, 85):
            row = one_per_photo(group, seed + 3, trials * 2, quality, "mean")
            rows.append([f"{len(group)} photos {name}, {row[0]}", *row[1:]])
    print("\n### One mosaic per photo (64-256 px regions, blocks of 8-32 px) by photo size\n")
    print_table(["photos, setting", *HEADER[1:]], rows)
    print("\n### False alarms on the same photos, clean\n")
    sets = (groups[0][1], groups[2][1])
    rows = [[setting(quality), *alarms(sets, partial(encode, quality=quality))] for quality in QUALITIES]
    print_table(["setting", groups[0][0], groups[2][0]], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3, help="mosaic images per photo and setting")
    parser.add_argument("--max-side", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--speed-only", action="store_true", help="only the timing table")
    parser.add_argument("--photo-sizes", action="store_true", help="only the table by photo size (full-size photos)")
    parser.add_argument("--split", choices=["val", "train"], default="val", help="which corpus photos")
    parser.add_argument("--sample", type=int, help="a fixed random sample of this many photos of the split")
    parser.add_argument("--exclude-sample", type=int, help="leave out the photos that --sample N draws")
    args = parser.parse_args()
    if args.speed_only:
        speed()
        return
    if args.photo_sizes:
        by_photo_size(corpus_photos(args.split, args.sample, args.exclude_sample), args.seed, args.trials)
        return
    photos = [scaled_down(p, args.max_side) for p in corpus_photos(args.split, args.sample, args.exclude_sample)]

    where = f"{len(photos)} {args.split} photos"
    print(f"\n### Mean mosaics (depix pixelate_region) on {where}, {args.trials} trials each\n")
    rows = []
    for quality in QUALITIES:
        rng, tally = np.random.default_rng(args.seed), Tally()
        for photo in photos:
            for _ in range(args.trials):
                image, truths = make_case(photo, rng, "mean")
                seen = [changed(photo, image, box) >= VISIBLE for box, _ in truths]
                tally.add(encode(image, quality), truths, seen)
        rows.append(tally.row(setting(quality)))
    print_table(HEADER, rows)

    print("\n### One mosaic per photo as in bench_restore (64-256 px regions, blocks of 8-32 px)\n")
    large = [p for p in photos if max(p.size) >= 512]
    rows = [one_per_photo(large, args.seed + 3, args.trials * 2, quality, "mean") for quality in QUALITIES]
    rows += [one_per_photo(large, args.seed + 4, args.trials, quality, "grid") for quality in (None, 85)]
    # GIMP's grid starts at the image's corner: blocks of 8, 16 (its default), 24 or 32 px lie on JPEG's own grid.
    on_jpeg_grid = partial(region, sizes=(8, 16, 24, 32))
    for quality in (None, 85):
        name = "GIMP's grid from the corner, blocks of 8/16/24/32"
        rows.append(one_per_photo(large, args.seed + 6, args.trials, quality, "corner", on_jpeg_grid, name))
    for quality in (None, 85):
        name = "a strip one block and a part thick"
        rows.append(one_per_photo(large, args.seed + 7, args.trials, quality, "mean", strip, name))
    print_table(HEADER, rows)

    print("\n### Other mosaics and whole-image upscaling\n")
    rows = []
    settings = [
        ("grid (GIMP/Photoshop style)", "grid", None, 1),
        ("grid, JPEG 85", "grid", 85, 1),
        ("sampled (nearest down-up)", "sampled", None, 1),
        ("sampled, JPEG 85", "sampled", 85, 1),
        ("mean, then upscaled x2", "mean", None, 2),
        ("mean, then upscaled x3", "mean", None, 3),
        ("mean, upscaled x2, JPEG 85", "mean", 85, 2),
    ]
    for name, kind, quality, factor in settings:
        rng, tally = np.random.default_rng(args.seed + 1), Tally()
        for photo in photos:
            small = scaled_down(photo, args.max_side // factor)
            for _ in range(max(1, args.trials // 2)):
                image, truths = make_case(small, rng, kind)
                seen = [changed(small, image, box) >= VISIBLE for box, _ in truths]
                if factor > 1:
                    image = upscale(image, factor)
                    truths = [(tuple(v * factor for v in box), size * factor) for box, size in truths]
                tally.add(encode(image, quality), truths, seen)
        rows.append(tally.row(name))
    print_table(HEADER, rows)

    print(f"\n### One mosaic over the text of a screenshot (blocks of 4-12 px), {10 * args.trials} pages\n")
    rows = []
    for kind in ("mean", "grid"):
        for quality in QUALITIES if kind == "mean" else (None, 85):
            rng, tally = np.random.default_rng(args.seed + 5), Tally()
            for _ in range(10 * args.trials):
                page, image, box, size = text_case(rng, kind)
                tally.add(encode(image, quality), [(box, size)], [changed(page, image, box) >= VISIBLE])
            rows.append(tally.row(setting(quality, kind)))
    print_table(HEADER, rows)

    print("\n### False alarms on clean images (share of images with any detection)\n")
    rows = []
    rng = np.random.default_rng(args.seed + 2)
    screenshots = [ui_screenshot(rng, int(rng.integers(320, 800)), int(rng.integers(240, 600))) for _ in range(30)]
    pages = [text_page(rng, int(rng.integers(400, 900)), int(rng.integers(300, 700))) for _ in range(30)]
    legends = []
    for i in range(30):  # rows of 6-15 swatches of 8-27 x 20-59 px, half of them turned into columns
        width, height, count = int(rng.integers(8, 28)), int(rng.integers(20, 60)), int(rng.integers(6, 16))
        legend = chart_legend(rng, width, height, min(count, 460 // width), bool(rng.random() < 0.5))
        legends.append(legend.transpose(Image.TRANSPOSE) if i % 2 else legend)
    sets = (photos, screenshots, pages, legends)
    for quality in QUALITIES:
        rows.append([setting(quality), *alarms(sets, partial(encode, quality=quality))])
    halves = [p.resize((p.width // 2, p.height // 2)) for p in photos]
    rows.append(["upscaled x2", *alarms((halves, *sets[1:]), partial(upscale, factor=2))])
    print_table(["setting", "clean photos", "UI screenshots", "text pages", "chart legends"], rows)

    print("\n### Speed\n")
    speed()


if __name__ == "__main__":
    main()
