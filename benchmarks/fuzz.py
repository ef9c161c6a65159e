"""Fuzz decoding and restoring: random and damaged files and arrays, random regions, block sizes and grid offsets.

    python -m benchmarks.fuzz [--minutes 1] [--checkpoint PATH_OR_REPO_ID]

Every case must end with a restored image or an InputError (a clear message for the user); any other exception
is a failure, printed with the input that caused it. tests/test_hardening.py runs the same cases for a few
seconds; this runs them for as long as asked, and prints a Markdown table of what happened to each kind of input.
"""

import argparse
import io
import tempfile
import time
import traceback
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from PIL import Image

from benchmarks.common import print_table
from depix import Depixelator, InputError, pixelate_region

MODES = ("1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16", "I", "F")
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP")
KINDS = (
    "image file",
    "image file, truncated",
    "image file, corrupted",
    "image array",
    "random bytes",
    "PNG header + random bytes",
    "random bytes as an array",
)
ARRAYS = {  # how an RGB uint8 photo is handed over as an array
    "uint8 RGB": lambda a: a,
    "uint8 RGBA": lambda a: np.dstack([a, a[..., :1]]),
    "uint8 (H, W)": lambda a: a[..., 0],
    "uint8 (H, W, 1)": lambda a: a[..., :1],
    "uint8 (H, W, 2)": lambda a: a[..., :2],
    "uint16 (H, W)": lambda a: a[..., 0].astype(np.uint16) * 257,
    "int32 RGB": lambda a: a.astype(np.int32),
    "int16 RGB minus 128": lambda a: a.astype(np.int16) - 128,
    "float32 RGB 0..1": lambda a: a.astype(np.float32) / 255,
    "float64 RGB 0..255": lambda a: a.astype(np.float64),
    "bool (H, W)": lambda a: a[..., 0] > 127,
}
RAW_DTYPES = ("uint8", "uint16", "int32", "float32", "float64", "bool")


def photo(width: int, height: int, seed: int) -> np.ndarray:
    """A smooth random (H, W, 3) uint8 photo: a few random colours, upscaled."""
    coarse = np.random.default_rng(seed).integers(0, 256, (4, 4, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC))


def encode(image: Image.Image, fmt: str, mode: str) -> tuple[bytes, str]:
    """The image's bytes in that format and mode, or in RGB where the format cannot store the mode; and the mode."""
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings(action="ignore"):  # e.g. saving I as PNG, deprecated in Pillow 12
            image.convert(mode).save(buffer, fmt)
    except (OSError, ValueError, KeyError):  # e.g. JPEG cannot store alpha, GIF cannot store 16 bits
        mode, buffer = "RGB", io.BytesIO()
        image.convert("RGB").save(buffer, fmt)
    return buffer.getvalue(), mode


PNG_HEADER = encode(Image.fromarray(photo(80, 60, 0)), "PNG", "RGB")[0][:64]  # a real signature and header chunk


@dataclass
class Case:
    """One fuzz input: a file's bytes or an array, and the arguments to restore it with."""

    kind: str  # one of KINDS, for the summary
    description: str  # enough to rebuild the input
    source: bytes | np.ndarray  # bytes are given to depix as a file
    box: tuple[int, int, int, int] | None  # None: find the mosaics automatically
    block_size: int | None  # None: estimate it
    offset: tuple[int, int] | None

    def __str__(self) -> str:
        return f"{self.description}, box={self.box}, block_size={self.block_size}, offset={self.offset}"


def boxes_inside(width: int, height: int) -> st.SearchStrategy:
    """Boxes (x, y, w, h) inside a width x height image."""
    return st.tuples(st.integers(0, width - 1), st.integers(0, height - 1)).flatmap(
        lambda xy: st.tuples(
            st.just(xy[0]), st.just(xy[1]), st.integers(1, width - xy[0]), st.integers(1, height - xy[1])
        )
    )


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """Fuzz cases: random photos, mostly partly pixelated, intact, damaged or random bytes, as files or arrays.

    Half the time the mosaic is restored (its block size given or estimated), else anything is asked: automatic
    detection, a box inside the photo or anywhere, any block size and grid offset.
    """
    width, height, seed = draw(st.integers(1, 96)), draw(st.integers(1, 96)), draw(st.integers(0, 2**16))
    pixels, description = photo(width, height, seed), f"{width}x{height} photo, seed {seed}"
    mosaic = draw(st.none() | boxes_inside(width, height) | boxes_inside(width, height))  # two times in three
    block = draw(st.integers(2, 16))
    try:
        pixels = np.asarray(pixelate_region(pixels, box=mosaic, block_size=block)) if mosaic else pixels
        description += f", pixelated in {mosaic} with {block} px blocks" if mosaic else ""
    except InputError:  # a block larger than the photo, or a region too small to pixelate
        mosaic = None
    kind = draw(st.sampled_from(KINDS))
    if kind.startswith("image file"):
        fmt, mode = draw(st.sampled_from(FORMATS)), draw(st.sampled_from(MODES))
        source, mode = encode(Image.fromarray(pixels), fmt, mode)
        description += f", {fmt} {mode} ({len(source)} bytes)"
        if kind.endswith("truncated"):
            end = draw(st.integers(0, len(source) - 1))
            source, description = source[:end], f"{description} truncated to {end} bytes"
        elif kind.endswith("corrupted"):
            changes = draw(st.lists(st.tuples(st.integers(0, len(source) - 1), st.integers(0, 255)), min_size=1))
            data = bytearray(source)
            for position, value in changes:
                data[position] = value
            source, description = bytes(data), f"{description} with the bytes (position, value) {changes}"
    elif kind == "image array":
        name = draw(st.sampled_from(sorted(ARRAYS)))
        source, description = ARRAYS[name](pixels), f"{description}, as a {name} array"
    else:
        tail = draw(st.binary(max_size=400))
        source = PNG_HEADER + tail if kind.startswith("PNG") else tail
        description = f"{kind}: {tail.hex()}"
        if kind.endswith("array"):
            dtype, columns = draw(st.sampled_from(RAW_DTYPES)), draw(st.integers(1, 40))
            channels = draw(st.sampled_from([0, 1, 3, 4, 5]))
            source = as_array(source, dtype, columns, channels)
            description += f" as {dtype} {source.shape}"
    if mosaic and draw(st.booleans()):  # half the time the mosaic itself, its block size given or estimated
        box, block_size, offset = mosaic, draw(st.sampled_from([block, None])), None
    else:  # else anything: automatic detection, a box inside the photo or anywhere, any block size and offset
        box = draw(st.none() | boxes_inside(width, height) | st.tuples(*[st.integers(-5, 100)] * 4))
        block_size = draw(st.none() | st.integers(2, 16) | st.integers(-2, 100))
        offset = draw(st.none() | st.tuples(*[st.integers(-5, 40)] * 2))
    return Case(kind, description, source, box, block_size, offset)


def as_array(payload: bytes, dtype: str, columns: int, channels: int) -> np.ndarray:
    """Bytes as an (H, columns[, channels]) array of dtype: as many whole rows as they fill, maybe none."""
    size = np.dtype(dtype).itemsize
    values = np.frombuffer(payload[: len(payload) // size * size], dtype)
    row = columns * max(channels, 1)
    values = values[: len(values) // row * row]
    return values.reshape(-1, columns, channels) if channels else values.reshape(-1, columns)


def run_case(depixelator: Depixelator, case: Case, folder: Path) -> None:
    """Restore the case's input as the app and the command line do; InputError means a clear refusal."""
    source = case.source
    if isinstance(source, bytes):
        source = folder / "fuzz-input"
        source.write_bytes(case.source)
    depixelator.restore(source, box=case.box, block_size=case.block_size, offset=case.offset)


def fuzz_for(depixelator: Depixelator, seconds: float, folder: Path) -> tuple[Counter, list[tuple[Case, str]]]:
    """Run cases until the time is up: counts per (kind, outcome), and every failure with its description."""
    counts: Counter = Counter()
    failures: list[tuple[Case, str]] = []
    deadline = time.monotonic() + seconds

    # Batches of fresh random cases; failures are recorded, not raised, so Hypothesis never stops to shrink them.
    @settings(
        max_examples=50, deadline=None, database=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck)
    )
    @given(case=cases())
    def batch(case: Case) -> None:
        if time.monotonic() > deadline:
            return
        try:
            run_case(depixelator, case, folder)
            counts[case.kind, "restored"] += 1
        except InputError:
            counts[case.kind, "InputError"] += 1
        except Exception as e:
            where = traceback.extract_tb(e.__traceback__)[-1]
            counts[case.kind, "failure"] += 1
            failures.append((case, f"{type(e).__name__}: {e} (at {Path(where.filename).name}:{where.lineno})"))

    while time.monotonic() < deadline:
        batch()
    return counts, failures


def main() -> None:
    """Fuzz for the given minutes and print the summary."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=1.0)
    p.add_argument("--checkpoint", help="checkpoint folder or Hugging Face repo id (default: the shipped one)")
    args = p.parse_args()

    depixelator = Depixelator.from_pretrained(args.checkpoint, device="cpu")
    warnings.filterwarnings("ignore", module="PIL")  # Pillow's complaints about the damaged files, by the thousand
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        counts, failures = fuzz_for(depixelator, args.minutes * 60, Path(tmp))
    seconds = time.perf_counter() - started

    total = sum(counts.values())
    print(f"{total} cases in {seconds:.0f} s ({total / seconds:.1f}/s); a failure is any exception but InputError")
    print()
    kinds = sorted({kind for kind, _ in counts})
    outcomes = ("restored", "InputError", "failure")
    rows = [[kind, sum(counts[kind, o] for o in outcomes), *(counts[kind, o] for o in outcomes)] for kind in kinds]
    rows.append(["all", total, *(sum(counts[kind, o] for kind in kinds) for o in outcomes)])
    print_table(["input", "cases", "restored", "InputError (clear refusal)", "failures"], rows)
    if failures:
        print()
        print("Failures by type:", dict(Counter(error.split(":", 1)[0] for _, error in failures)))
        inputs: dict[str, list[Case]] = {}
        for case, error in failures:
            inputs.setdefault(error, []).append(case)
        for error, failed in inputs.items():
            print(f"- {error}: {len(failed)} cases, the first: {failed[0]}")
    raise SystemExit(1 if failures else 0)


if __name__ == "__main__":
    main()
