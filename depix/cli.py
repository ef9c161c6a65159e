"""The depix command line: python -m depix SUBCOMMAND ... (or the `depix` console script)."""

import argparse
import pickle
import sys
from pathlib import Path

from depix.errors import InputError


def _write_bytes(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as e:
        raise InputError(f"cannot write {path}: {e.strerror or e}") from None


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"file not found: {path}") from None
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror or e}") from None


def cmd_challenge(args: argparse.Namespace) -> None:
    from depix.challenge import identity_predictions, model_predictions
    from depix.serialization import load_test_set, serialize

    test_set = load_test_set(args.test_set)
    images, knowns = test_set["pixelated_images"], test_set["known_arrays"]
    if args.baseline == "identity":
        predictions = identity_predictions(images, knowns)
    else:
        from depix.model import load

        model = load(args.checkpoint, device=_device(args.device))
        predictions = model_predictions(model, images, knowns, tta=args.tta, progress=True)
    _write_bytes(args.output, serialize(predictions))
    print(f"wrote {len(predictions)} predictions to {args.output}")


def cmd_make_testset(args: argparse.Namespace) -> None:
    from depix.challenge import load_photo_folder, make_test_set
    from depix.serialization import serialize

    if args.per_image < 1:
        raise InputError(f"--per-image must be at least 1, got {args.per_image}")
    test_set, targets = make_test_set(load_photo_folder(args.image_dir), args.per_image, args.seed)
    _write_bytes(args.output, pickle.dumps(test_set, protocol=4))
    _write_bytes(args.targets, serialize(targets))
    print(f"wrote {len(targets)} samples to {args.output} and their targets to {args.targets}")


def cmd_score(args: argparse.Namespace) -> None:
    from depix.challenge import score
    from depix.serialization import deserialize

    predictions = deserialize(_read_bytes(args.predictions))
    targets = deserialize(_read_bytes(args.targets))
    print(f"{score(predictions, targets):.4f}")


LOSSLESS_SUFFIXES = {".png", ".tif", ".tiff", ".bmp", ".webp"}


def _parse_pair(text: str | None, what: str) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        x, y = (int(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"{what} is two whole numbers 'x,y', got {text!r}") from None
    return x, y


def _inputs_and_outputs(inputs: list[Path], output: Path) -> list[tuple[Path, Path]]:
    """Pairs (input file, output file): folders are expanded; several inputs need an output folder."""
    from depix.challenge import IMAGE_SUFFIXES

    files: list[tuple[Path, Path]] = []
    many = len(inputs) > 1 or any(p.is_dir() for p in inputs) or output.is_dir()
    for item in inputs:
        if item.is_dir():
            found = sorted(p for p in item.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
            files += [(p, output / p.relative_to(item)) for p in found]
        elif item.is_file():
            files.append((item, output / item.name if many else output))
        else:
            raise InputError(f"input not found: {item}")
    if not files:
        raise InputError("no images found in the inputs")
    # Results in a folder are written as PNG unless the input was lossless: a restoration must not be re-encoded.
    return [(i, o if not many or o.suffix.lower() in LOSSLESS_SUFFIXES else o.with_suffix(".png")) for i, o in files]


def _save(image, path: Path) -> None:
    if path.suffix.lower() == ".png" and image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"):
        image = image.convert("RGB")  # PNG cannot hold CMYK or YCbCr: RGB is the faithful choice
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path)
    except (OSError, ValueError, KeyError) as e:
        raise InputError(f"cannot write {path}: {e}") from None


def _read_mask(path: Path | None):
    if path is None:
        return None
    from depix.images import open_image

    return open_image(path)


def cmd_restore(args: argparse.Namespace) -> None:
    from tqdm import tqdm

    from depix.restore import Depixelator

    pairs = _inputs_and_outputs(args.inputs, args.output)
    mask = _read_mask(args.mask)
    depixelator = Depixelator.from_pretrained(args.checkpoint, device=args.device)
    offset = _parse_pair(args.offset, "--offset")
    for source, target in tqdm(pairs, disable=len(pairs) < 2, unit="image"):
        restored = depixelator.restore(source, box=args.box, mask=mask, block_size=args.block, offset=offset,
                                       tta=args.tta)  # fmt: skip
        _save(restored, target)
    print(f"restored {len(pairs)} image(s) into {args.output}")


def cmd_detect(args: argparse.Namespace) -> None:
    import json

    from depix.detect import find_mosaics

    report = []
    for path in args.inputs:
        found = find_mosaics(path)
        mosaics = [{"box": list(m.box), "block_size": m.block_size, "offset": list(m.offset), "score": m.score}
                   for m in found]  # fmt: skip
        report.append({"file": str(path), "mosaics": mosaics})
    print(json.dumps(report, indent=2))


def cmd_pixelate(args: argparse.Namespace) -> None:
    from depix.mosaic import pixelate_region

    pairs = _inputs_and_outputs([args.input], args.output)
    mask = _read_mask(args.mask)
    if args.box is None and mask is None:
        raise InputError("give --box x,y,w,h or --mask MASK.png to mark the region to pixelate")
    offset = _parse_pair(args.offset, "--offset")
    for source, target in pairs:
        _save(pixelate_region(source, box=args.box, mask=mask, block_size=args.block, offset=offset), target)
    print(f"pixelated {len(pairs)} image(s) into {args.output}")


def _device(name: str) -> str:
    from depix.restore import pick_device

    return str(pick_device(name))


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line, like every other depix error."""

    def error(self, message: str) -> None:
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = _Parser(prog="depix", description="Restore pixelated regions of images.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("restore", help="restore the pixelated region of images (files or folders)")
    p.add_argument("inputs", type=Path, nargs="+", help="image files or folders")
    p.add_argument("-o", "--output", type=Path, required=True, help="output file, or folder for several inputs")
    p.add_argument("--box", help="the pixelated region as x,y,w,h (default: found automatically)")
    p.add_argument("--mask", type=Path, help="an image of the same size whose nonzero pixels mark the region")
    p.add_argument("--block", type=int, help="block size in pixels (default: estimated from the pixels)")
    p.add_argument("--offset", help="grid origin x,y (default: the box's corner, or estimated)")
    p.add_argument("--checkpoint", help="checkpoint folder or Hugging Face repo id (default: the shipped one)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    p.add_argument(
        "--tta",
        action=argparse.BooleanOptionalAction,
        help="average over 8 flips and turns (slower; default: only for blocks above 16 px, where it is cheap)",
    )
    p.set_defaults(run=cmd_restore)

    p = sub.add_parser("detect", help="find pixelated regions, their block size and grid offset (JSON)")
    p.add_argument("inputs", type=Path, nargs="+", help="image files")
    p.set_defaults(run=cmd_detect)

    p = sub.add_parser("pixelate", help="pixelate a region of an image (block means, rounded)")
    p.add_argument("input", type=Path, help="image file or folder")
    p.add_argument("-o", "--output", type=Path, required=True)
    p.add_argument("--box", help="the region as x,y,w,h")
    p.add_argument("--mask", type=Path, help="an image of the same size whose nonzero pixels mark the region")
    p.add_argument("--block", type=int, required=True, help="block size in pixels")
    p.add_argument("--offset", help="grid origin x,y (default: the region's corner)")
    p.set_defaults(run=cmd_pixelate)

    p = sub.add_parser("challenge", help="predict a challenge test_set.pkl and write serialized predictions")
    p.add_argument("test_set", type=Path, help="test_set.pkl")
    p.add_argument("-o", "--output", type=Path, required=True, help="predictions file to write")
    p.add_argument("--checkpoint", help="checkpoint folder or Hugging Face repo id (default: the shipped one)")
    p.add_argument("--baseline", choices=["identity"], help="use a baseline instead of the model")
    p.add_argument(
        "--tta",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="average the model over 8 flips and turns: a better score, 6x slower (default: on; --no-tta is faster)",
    )
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    p.set_defaults(run=cmd_challenge)

    p = sub.add_parser("make-testset", help="build a challenge-style test set from a folder of photos")
    p.add_argument("image_dir", type=Path)
    p.add_argument("-o", "--output", type=Path, required=True, help="test_set.pkl to write")
    p.add_argument("--targets", type=Path, required=True, help="serialized target values to write")
    p.add_argument("--per-image", type=int, default=1, help="samples per photo (default 1)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=cmd_make_testset)

    p = sub.add_parser("score", help="the challenge metric: mean per-image RMSE of predictions against targets")
    p.add_argument("predictions", type=Path)
    p.add_argument("targets", type=Path)
    p.set_defaults(run=cmd_score)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; bad input ends with one line on stderr and exit status 2."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, or a usage error already printed in one line
        return int(e.code or 0)
    try:
        args.run(args)
    except (InputError, FileNotFoundError, ValueError) as e:
        print("depix: error: " + " ".join(str(e).split()), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("depix: interrupted", file=sys.stderr)
        return 130
    return 0
