"""Time the challenge workflow: predicting N challenge-style images with the shipped checkpoint.

python benchmarks/bench_challenge.py [--images 6635] [--checkpoint PATH]
"""

import argparse
import time

import numpy as np
import torch

from benchmarks.common import corpus_photos, print_table
from depix.challenge import identity_predictions, make_test_set, model_predictions, score, shrink_to_square
from depix.model import load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=6635)
    parser.add_argument("--checkpoint")
    parser.add_argument("--tta", action="store_true", help="also time the 8x test-time averaging")
    args = parser.parse_args()
    views = [shrink_to_square(p) for p in corpus_photos()]
    per_image = -(-args.images // len(views))
    test_set, targets = make_test_set(views, per_image=per_image, seed=7)
    images = test_set["pixelated_images"][: args.images]
    knowns = test_set["known_arrays"][: args.images]
    targets = targets[: args.images]
    model = load(args.checkpoint)
    methods = [
        ("identity", lambda: identity_predictions(images, knowns)),
        ("membrane fill", lambda: model_predictions(None, images, knowns)),
        ("depix model", lambda: model_predictions(model, images, knowns)),
    ]
    if args.tta:
        methods.append(("depix model + 8x TTA", lambda: model_predictions(model, images, knowns, tta=True)))
    rows = []
    for name, predict in methods:
        start = time.perf_counter()
        with torch.inference_mode():
            predictions = predict()
        seconds = time.perf_counter() - start
        rows.append([name, len(images), score(predictions, targets), seconds, 1000 * seconds / len(images)])
    print(f"torch threads: {torch.get_num_threads()}, numpy {np.__version__}\n")
    print_table(["method", "images", "score (mean RMSE)", "seconds", "ms per image"], rows)


if __name__ == "__main__":
    main()
