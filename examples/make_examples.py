"""Rebuild the demo's examples from data/photos (see LICENCES.md): PYTHONPATH=. python examples/make_examples.py"""

from pathlib import Path

from PIL import Image

from depix import pixelate_region

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = ROOT / "data" / "photos"
OUT = Path(__file__).resolve().parent

# (source, output name, size or None, box to pixelate or None, block size)
EXAMPLES = [
    ("matplotlib/grace_hopper-a8ca6d73.jpg", "grace-hopper-pixelated.png", None, (176, 144, 180, 168), 12),
    ("scipy/face-8427488f.png", "raccoon-pixelated.png", (512, 384), (264, 128, 128, 112), 8),
    ("gcompris/moose-2252a671.webp", "moose.jpg", (768, 512), None, 0),
    ("skimage/chelsea-596aa1e7.png", "cat.jpg", None, None, 0),
]


def main() -> None:
    """Write the examples next to this script."""
    for source, name, size, box, block_size in EXAMPLES:
        image = Image.open(PHOTOS / source).convert("RGB")
        if size is not None:
            image = image.resize(size, Image.Resampling.LANCZOS)
        if box is not None:
            # Pixelated examples stay PNG: a lossy format would blur the block edges that the grid estimate reads.
            pixelate_region(image, box=box, block_size=block_size).save(OUT / name, optimize=True)
        else:
            image.save(OUT / name, quality=90)
        print(f"{name}: {image.size[0]}x{image.size[1]}, {(OUT / name).stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
