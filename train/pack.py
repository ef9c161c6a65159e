"""Pack the corpus small enough to copy to a remote training machine.

python -m train.pack data/pack [--manifest data/photos/manifest.csv] [--max-side 1024] [--quality 85]

Training keeps photos in memory at most max_side large (train/configs: views.max_side), so shrinking them to that
size first loses nothing but a JPEG re-encoding. The packed manifest keeps every row (source, licence, split) with
the new path, size and sha256, and records the original's sha256 in `packed_from`.
"""

import argparse
import csv
import hashlib
import sys
from pathlib import Path

from PIL import Image


def pack(manifest: Path, out: Path, max_side: int, quality: int) -> tuple[int, int]:
    """Write shrunk JPEG copies and their manifest.csv to out; returns (photos, bytes written)."""
    with manifest.open(newline="") as f:
        rows = list(csv.DictReader(f))
    packed, total = [], 0
    for row in rows:
        name = row["path"] if row["path"].lower().endswith(".jpg") else row["path"] + ".jpg"  # a.png, a.jpg stay apart
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        with Image.open(manifest.parent / row["path"]) as image:
            image.draft("RGB", (max_side, max_side))
            image = image.convert("RGB")
            image.thumbnail((max_side, max_side), Image.LANCZOS)
            image.save(target, "JPEG", quality=quality)
            width, height = image.size
        data = target.read_bytes()
        total += len(data)
        packed.append(
            {
                **row,
                "path": target.relative_to(out).as_posix(),
                "width": width,
                "height": height,
                "sha256": hashlib.sha256(data).hexdigest(),
                "packed_from": row.get("sha256", ""),
            }
        )
    with (out / "manifest.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(packed[0]))
        writer.writeheader()
        writer.writerows(packed)
    return len(packed), total


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m train.pack", description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path, help="output folder")
    parser.add_argument("--manifest", type=Path, default=Path("data/photos/manifest.csv"))
    parser.add_argument("--max-side", type=int, default=1024)
    parser.add_argument("--quality", type=int, default=85, help="JPEG quality")
    args = parser.parse_args(argv)
    if not args.manifest.is_file():
        print(f"error: no corpus manifest at {args.manifest} (build it with python -m train.photos)", file=sys.stderr)
        return 1
    count, size = pack(args.manifest, args.out, args.max_side, args.quality)
    print(f"packed {count} photos, {size / 2**20:.1f} MiB, into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
