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
        predictions = model_predictions(model, images, knowns, tta=args.tta)
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


def _device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda was asked for, but no CUDA GPU is available")
    if name == "mps" and not torch.backends.mps.is_available():
        raise InputError("--device mps was asked for, but MPS is not available")
    return name


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="depix", description="Restore pixelated regions of images.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("challenge", help="predict a challenge test_set.pkl and write serialized predictions")
    p.add_argument("test_set", type=Path, help="test_set.pkl")
    p.add_argument("-o", "--output", type=Path, required=True, help="predictions file to write")
    p.add_argument("--checkpoint", help="checkpoint folder or Hugging Face repo id (default: the shipped one)")
    p.add_argument("--baseline", choices=["identity"], help="use a baseline instead of the model")
    p.add_argument("--tta", action="store_true", help="average the model over 8 flips and turns (slower)")
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
    args = parser.parse_args(argv)
    try:
        args.run(args)
    except (InputError, FileNotFoundError) as e:
        print(f"depix: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("depix: interrupted", file=sys.stderr)
        return 130
    return 0
