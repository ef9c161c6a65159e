"""Shared setup for the benchmark scripts: validation photos and a Markdown table printer."""

import csv
from pathlib import Path

from PIL import Image

MANIFEST = Path("data/photos/manifest.csv")


def val_photos(manifest: Path = MANIFEST, min_side: int = 0) -> list[Image.Image]:
    """The corpus's validation photos as RGB images (build the corpus first: python -m train.photos)."""
    if not manifest.exists():
        raise SystemExit(f"{manifest} not found: build the corpus first with `python -m train.photos`")
    with manifest.open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == "val"]
    photos = [Image.open(manifest.parent / r["path"]).convert("RGB") for r in rows]
    return [p for p in photos if min(p.size) >= min_side]


def print_table(header: list[str], rows: list[list[object]]) -> None:
    """Print a Markdown table."""
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row) + " |")
