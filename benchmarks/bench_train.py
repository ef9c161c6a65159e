"""Training throughput of a config on this machine (samples per second, data loading included).

python benchmarks/bench_train.py [--config train/configs/depix-unet.toml] [--steps 30]
"""

import argparse
import time
import tomllib
from pathlib import Path

import torch

from benchmarks.common import print_table
from depix.model import DepixNet, ModelConfig
from train.train import autocast_dtype, per_image_rmse, training_batch
from train.views import ViewBatches, ViewConfig, load_photos, read_manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", type=Path, default=Path("train/configs/depix-unet.toml"))
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    config = tomllib.loads(args.config.read_text())
    device = torch.device("cpu")
    views = ViewConfig(**config.get("views", {}))
    photos = load_photos(read_manifest(config["manifest"], "train")[:40], views.max_side)
    batch_size = config["optim"]["batch_size"]
    loader = torch.utils.data.DataLoader(
        ViewBatches(photos, batch_size, views, 0, 0, 0), batch_size=None, num_workers=1, prefetch_factor=4
    )
    model = DepixNet(ModelConfig(**config["model"])).to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    amp = autocast_dtype(device)
    start, done = None, 0
    for step, data in enumerate(loader):
        if step == 5:  # warm-up steps excluded
            start = time.perf_counter()
        if step == 5 + args.steps:
            break
        batch, original = training_batch(data, device)
        with torch.autocast("cpu", dtype=amp or torch.float32, enabled=amp is not None):
            loss = per_image_rmse(model(batch).float(), original, batch.unknown)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        done += batch_size if start else 0
    seconds = time.perf_counter() - start
    parameters = sum(p.numel() for p in model.parameters())
    print_table(
        ["config", "parameters", "batch", "precision", "threads", "samples/s"],
        [
            [
                args.config.name,
                f"{parameters:,}",
                batch_size,
                str(amp or "float32"),
                torch.get_num_threads(),
                done / seconds,
            ]
        ],  # fmt: skip
    )


if __name__ == "__main__":
    main()
