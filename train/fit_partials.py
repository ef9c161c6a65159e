"""Fit the learned partial-block width of mosaic detection (depix/partial_model.json) on synthetic JPEG mosaics.

python -m train.fit_partials [--manifest data/photos/manifest.csv] [--trials 2] [--out depix/partial_model.json]

Every train photo (shrunk to 1024 px) outside the detection benchmark's samples gets mean mosaics of random boxes
(64-256 px) and block sizes (4-40 px): depix's, whose grid starts at the box's corner, and GIMP/Photoshop's, an
image-wide grid at a random origin that leaves partial blocks on any side; a page of text gets one too. Each is
saved as JPEG at qualities 95, 85 and 75. At each side of the true full cells, depix.detect.partial_features of the
columns beyond is a sample, with the true partial width. A one-hidden-layer network scores each column; a width
scores the sum of its columns' scores, and the fit maximises the true width's share of all (a softmax over the
widths); detection takes the median width of that softmax (depix.detect.partial_width). About 4 minutes on 2
CPU cores.
"""

import argparse
import json
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from benchmarks.bench_detect import encode, mean_grid, text_case
from depix.detect import PARTIAL_FEATURES, partial_features, partial_width, planes_and_luma
from depix.mosaic import pixelate_region
from train.fit_cells import fitting_jobs, network_weights

QUALITIES = (95, 85, 75)
HIDDEN = 24


def sides(luma: np.ndarray, box: tuple, size: int, origin: tuple[int, int]) -> list[tuple[np.ndarray, int]]:
    """Features and true partial width at each side of a mosaic's full cells (grid from origin; none under 2 x 2)."""
    x, y, w, h = box
    out = []
    spans = []
    for start, length, phase in ((x, w, origin[0]), (y, h, origin[1])):
        first = phase + -(-(start - phase) // size) * size  # the first grid line inside the box
        last = phase + (start + length - phase) // size * size
        spans.append((first, last, first - start, start + length - last))
    (x0, x1, *_), (y0, y1, *_) = spans
    if x1 - x0 < 2 * size or y1 - y0 < 2 * size:
        return out
    for plane, (a0, a1, low, high), (b0, b1) in ((luma, spans[0], (y0, y1)), (luma.T, spans[1], (x0, x1))):
        for edge, direction, truth in ((a0, -1, low), (a1, 1, high)):
            limit = min(size - 1, plane.shape[1] - edge if direction > 0 else edge)
            if limit > 0:
                features = partial_features(plane, size, b0, (b1 - b0) // size, edge, direction, limit)
                out.append((features, min(truth, limit)))
    return out


def samples(job: tuple[np.ndarray | None, int]) -> list[tuple[np.ndarray, int]]:
    """The sides of one random mosaic of a photo (None: a page of text), at each quality."""
    photo, seed = job
    rng = np.random.default_rng(seed)
    if photo is None:
        _, mosaic, box, size = text_case(rng, "mean")
        origin = box[:2]
    else:
        image = Image.fromarray(photo)
        w, h = (int(rng.integers(64, min(256, side) + 1)) for side in image.size)
        box = (int(rng.integers(0, image.width - w + 1)), int(rng.integers(0, image.height - h + 1)), w, h)
        size = int(rng.integers(4, 41))
        if seed % 2:
            origin = (int(rng.integers(0, size)), int(rng.integers(0, size)))
            mosaic = mean_grid(image, box, size, origin)
        else:
            origin, mosaic = box[:2], pixelate_region(image, box=box, block_size=size)
    out = []
    for quality in QUALITIES:
        out += sides(planes_and_luma(encode(mosaic, quality))[1], box, size, origin)
    return out


class WidthScorer(torch.nn.Module):
    """Scores of every width 0..limit of padded sides (the sum of the scores of its columns)."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(features, HIDDEN), torch.nn.Tanh(), torch.nn.Linear(HIDDEN, 1))

    def forward(self, x: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        score = self.net(x)[..., 0].masked_fill(~present, 0.0)
        widths = torch.cat([torch.zeros(len(x), 1), torch.cumsum(score, dim=1)], dim=1)
        valid = torch.cat([torch.ones(len(x), 1, dtype=torch.bool), present], dim=1)
        return widths.masked_fill(~valid, -1e9)


def padded(parts: list[tuple[np.ndarray, int]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sides as one (sides, columns, features) tensor, the mask of real columns and the true widths."""
    longest = max(len(f) for f, _ in parts)
    x = np.zeros((len(parts), longest, len(PARTIAL_FEATURES)), np.float32)
    present = np.zeros((len(parts), longest), bool)
    for i, (f, _) in enumerate(parts):
        x[i, : len(f)], present[i, : len(f)] = f, True
    return torch.from_numpy(x), torch.from_numpy(present), torch.tensor([t for _, t in parts])


def fit(x: torch.Tensor, present: torch.Tensor, truth: torch.Tensor, epochs: int) -> tuple[WidthScorer, float]:
    """A WidthScorer fitted to standardised features by minibatch Adam; its final loss."""
    torch.manual_seed(0)
    model = WidthScorer(x.shape[2])
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=1e-4)
    for _ in range(epochs):
        order = torch.randperm(len(x))
        for start in range(0, len(x), 2048):
            batch = order[start : start + 2048]
            loss = torch.nn.functional.cross_entropy(model(x[batch], present[batch]), truth[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model, loss.item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", type=Path, default=Path("data/photos/manifest.csv"))
    parser.add_argument("--trials", type=int, default=8, help="mosaics per photo (and a page of text per 4)")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--out", type=Path, default=Path("depix/partial_model.json"))
    args = parser.parse_args()

    with Pool(2) as pool:
        parts = pool.map(samples, fitting_jobs(args.manifest, args.trials), chunksize=8)
    # One job in five checks the fit; the rest fit it.
    check = [side for k, part in enumerate(parts) if k % 5 == 0 for side in part]
    used = [side for k, part in enumerate(parts) if k % 5 for side in part]
    x, present, truth = padded(used)
    mean, std = x[present].mean(dim=0), x[present].std(dim=0) + 1e-6
    model, loss = fit((x - mean) / std * present[..., None], present, truth, args.epochs)
    cx, cpresent, ctruth = padded(check)
    with torch.no_grad():
        scores = model.net((cx - mean) / std)[..., 0].numpy()
    width = torch.tensor([partial_width(s[m]) for s, m in zip(scores, cpresent.numpy(), strict=True)])
    print(f"{len(parts)} mosaics, {len(used)} sides fitted (loss {loss:.4f}), {len(check)} checked: "
          f"width exact {float((width == ctruth).float().mean()):.3f}, "
          f"within 2 px {float(((width - ctruth).abs() <= 2).float().mean()):.3f}")  # fmt: skip
    weights = network_weights(model.net, mean, std)
    args.out.write_text(json.dumps(weights) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
