"""Fit the learned cell verdict of mosaic detection (depix/cell_model.json) on synthetic JPEG mosaics.

python -m train.fit_cells [--manifest data/photos/manifest.csv] [--trials 2] [--out depix/cell_model.json]

Every train photo (shrunk to 1024 px) gets mean mosaics of random boxes and block sizes, and so do pages of
text (screenshots, where a glyph cut by the lattice must not pass as a block); all are saved as JPEG at
qualities 95, 85 and 75. On the true lattice, around the mosaic, every cell whole inside the box or whole
outside it is a sample: depix.detect.cell_features against inside or not. A one-hidden-layer network learns
the verdict. The photos the detection benchmark samples from the train split are left out, so its held-out
figures stay on photos the verdict never saw. About 14 minutes on 2 CPU cores.
"""

import argparse
import json
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from benchmarks.bench_detect import encode, text_case
from benchmarks.common import draw_sample
from depix.detect import CELL_FEATURES, cell_features, planes_and_luma, verdict_window
from depix.mosaic import pixelate_region
from train.views import load_photos, read_manifest

QUALITIES = (95, 85, 75)
HIDDEN = 16
BENCHMARK_SAMPLE = 60  # bench_detect --sample 60 (the first draw), then --exclude-sample 60 (the held-out one)


def fitting_photos(manifest: Path) -> list[Path]:
    """The train photos outside both of the detection benchmark's train samples."""
    paths = read_manifest(manifest, "train")
    first = set(draw_sample(len(paths), BENCHMARK_SAMPLE))
    rest = [p for i, p in enumerate(paths) if i not in first]
    held = set(draw_sample(len(rest), BENCHMARK_SAMPLE))
    return [p for i, p in enumerate(rest) if i not in held]


def fitting_jobs(manifest: Path, trials: int) -> list[tuple[np.ndarray | None, int]]:
    """(photo, seed) pairs: trials random mosaics of each fitting photo (shrunk to 1024 px), and a page of text
    (photo None) for every four of them."""
    photos = load_photos(fitting_photos(manifest), 1024)
    jobs = [(photo, 1000 * i + t) for i, photo in enumerate(photos) for t in range(trials)]
    return jobs + [(None, 10**7 + k) for k in range(len(jobs) // 4)]


def samples(job: tuple[np.ndarray | None, int]) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels (1: a block) of the cells around one random mosaic of a photo (None: a page of text),
    at each quality."""
    photo, seed = job
    rng = np.random.default_rng(seed)
    if photo is None:
        _, mosaic, box, size = text_case(rng, "mean")
    else:
        image = Image.fromarray(photo)
        w, h = (int(rng.integers(64, min(256, side) + 1)) for side in image.size)
        box = (int(rng.integers(0, image.width - w + 1)), int(rng.integers(0, image.height - h + 1)), w, h)
        size = int(rng.integers(4, 41))
        mosaic = pixelate_region(image, box=box, block_size=size)
    features, labels = [], []
    for quality in QUALITIES:
        values, luma = planes_and_luma(encode(mosaic, quality))
        x, y, bw, bh = box  # the mosaic's grid starts at the box's corner: its full cells end a partial block short
        x0, y0, rows, cols = verdict_window((x, y, x + bw // size * size, y + bh // size * size), size, luma.shape)
        if rows < 2 or cols < 2:
            continue
        left, top = x0 + size * np.arange(cols), y0 + size * np.arange(rows)
        across = np.clip(np.minimum(left + size, x + bw) - np.maximum(left, x), 0, None) / size
        down = np.clip(np.minimum(top + size, y + bh) - np.maximum(top, y), 0, None) / size
        inside = down[:, None] * across[None, :]
        whole = (inside == 0) | (inside == 1)  # partial blocks are neither
        features.append(cell_features(values, luma, size, x0, y0, rows, cols)[whole])
        labels.append(inside[whole])
    if not features:
        return np.zeros((0, len(CELL_FEATURES)), np.float32), np.zeros(0, np.float32)
    return np.concatenate(features), np.concatenate(labels).astype(np.float32)


def fit(x: np.ndarray, y: np.ndarray, steps: int) -> tuple[torch.nn.Sequential, float]:
    """A tanh network of HIDDEN units fitted to standardised features by full-batch Adam; its final loss."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], HIDDEN), torch.nn.Tanh(), torch.nn.Linear(HIDDEN, 1))
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(net(xt)[:, 0], yt)
        loss.backward()
        optimizer.step()
    return net, loss.item()


def network_weights(
    net: torch.nn.Sequential, mean: "np.ndarray | torch.Tensor", std: "np.ndarray | torch.Tensor"
) -> dict:
    """A one-hidden-layer network and its input standardisation as depix.detect reads them (JSON lists)."""
    return {
        "mean": mean.tolist(),
        "std": std.tolist(),
        "w1": net[0].weight.detach().numpy().T.tolist(),
        "b1": net[0].bias.detach().numpy().tolist(),
        "w2": net[2].weight.detach().numpy()[0].tolist(),
        "b2": float(net[2].bias.detach()[0]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", type=Path, default=Path("data/photos/manifest.csv"))
    parser.add_argument("--trials", type=int, default=2, help="mosaics per photo (and one text page per 2 photos)")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--out", type=Path, default=Path("depix/cell_model.json"))
    args = parser.parse_args()

    jobs = fitting_jobs(args.manifest, args.trials)
    with Pool(2) as pool:
        parts = pool.map(samples, jobs, chunksize=8)
    # One photo in five checks the fit; the rest fit it.
    check = np.concatenate([np.full(len(f), (k // args.trials) % 5 == 0) for k, (f, _) in enumerate(parts)])
    x, y = (np.concatenate([p[i] for p in parts]) for i in (0, 1))
    mean, std = x[~check].mean(axis=0), x[~check].std(axis=0) + 1e-6
    standard = ((x - mean) / std).astype(np.float32)
    net, loss = fit(standard[~check], y[~check], args.steps)
    with torch.no_grad():
        logit = net(torch.from_numpy(standard[check]))[:, 0]
        held = float(torch.nn.functional.binary_cross_entropy_with_logits(logit, torch.from_numpy(y[check])))
        accuracy = float(((logit > 0).numpy() == (y[check] > 0.5)).mean())
    print(f"{len(jobs)} mosaics, {len(y)} cells ({y.mean():.3f} blocks); loss {loss:.4f}, "
          f"on the check photos {held:.4f}, accuracy {accuracy:.4f}")  # fmt: skip
    weights = network_weights(net, mean, std) | {"prior": float(y[~check].mean())}
    args.out.write_text(json.dumps(weights) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
