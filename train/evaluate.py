"""Evaluate a checkpoint on the challenge-style validation set and write the table into its model card.

python -m train.evaluate [--checkpoint checkpoints/depix-unet] [--manifest data/photos/manifest.csv]
"""

import argparse
import json
import time
from pathlib import Path

import torch

from depix.challenge import identity_predictions, model_predictions, score
from depix.model import load, resolve_checkpoint
from train.card import metrics_table, write_card
from train.train import validation_set


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", help="checkpoint folder or repo id (default: the shipped one)")
    parser.add_argument("--manifest", type=Path, default=Path("data/photos/manifest.csv"))
    parser.add_argument("--per-image", type=int, default=16, help="samples per validation photo")
    parser.add_argument("--no-tta", action="store_true", help="skip the 8x slower test-time averaging row")
    parser.add_argument("--no-card", action="store_true", help="print only; leave the model card alone")
    args = parser.parse_args()

    directory = resolve_checkpoint(args.checkpoint)
    model = load(directory)
    test_set, targets, _ = validation_set(args.manifest, args.per_image)
    images, knowns = test_set["pixelated_images"], test_set["known_arrays"]
    metrics: dict = {}
    methods = {
        "identity": lambda: identity_predictions(images, knowns),
        "fill": lambda: model_predictions(None, images, knowns),
        "model": lambda: model_predictions(model, images, knowns),
    }
    if not args.no_tta:
        methods["model_tta"] = lambda: model_predictions(model, images, knowns, tta=True)
    with torch.inference_mode():
        for name, predict in methods.items():
            start = time.perf_counter()
            predictions = predict()
            metrics[f"{name}_ms"] = 1000 * (time.perf_counter() - start) / len(images)
            metrics[name] = score(predictions, targets)
    print(f"{len(images)} validation samples from {args.manifest}, torch threads: {torch.get_num_threads()}\n")
    print(metrics_table(metrics))
    if args.no_card:
        return
    config = json.loads((directory / "config.json").read_text())
    config["metrics"] = {**config.get("metrics", {}), **metrics}
    (directory / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    training = config.get("training", {"name": directory.name})
    parameters = sum(p.numel() for p in model.parameters())
    write_card(directory, {**training, "manifest_sha256": config.get("manifest_sha256")}, config["metrics"], parameters)
    print(f"\nupdated {directory / 'README.md'} and config.json")


if __name__ == "__main__":
    main()
