"""Train the depixelation network.

python -m train.train --config train/configs/depix-unet.toml [--resume] [--device auto]
torchrun --nproc_per_node 2 -m train.train --config ...      (DistributedDataParallel)
"""

import argparse
import csv
import hashlib
import json
import math
import os
import time
import tomllib
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from depix.blocks import make_grid, pixelate_batch
from depix.challenge import identity_predictions, make_test_set, model_predictions, score, shrink_to_square
from depix.model import Batch, DepixNet, ModelConfig, load, resolve_checkpoint, save
from train.card import write_card
from train.jpeg import compress
from train.views import ViewBatches, ViewConfig, load_photos, read_manifest

LOG_FIELDS = ["step", "samples", "loss", "lr", "samples_per_s", "val_score", "elapsed_s"]
# --fit-schedule times FIT_TIMED steps after FIT_WARMUP steps (loader workers and kernels warming up).
FIT_WARMUP, FIT_TIMED = 50, 200


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--resume", action="store_true", help="continue from the run folder's last state")
    parser.add_argument(
        "--init", type=Path, help="start from this checkpoint folder's weights (fresh optimizer and schedule)"
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    parser.add_argument("--run-dir", type=Path, help="state, log and curves (default runs/<name>)")
    parser.add_argument("--checkpoint-dir", type=Path, help="exported best weights (default checkpoints/<name>)")
    parser.add_argument("--minutes", type=float, help="stop (and save) after this much training time")
    parser.add_argument("--max-steps", type=int, help="override the config's optim.max_steps")
    parser.add_argument(
        "--fit-schedule",
        action="store_true",
        help="with --minutes: measure the speed, then shorten max_steps so the schedule ends when time runs out",
    )
    parser.add_argument("--manifest", type=Path, help="override the config's corpus manifest")
    parser.add_argument("--workers", type=int, help="override the config's data loading processes (run.workers)")
    parser.add_argument("--push-to-hub", metavar="REPO", help="upload the exported checkpoint to this HF repo")
    return parser.parse_args()


def pick_device(name: str, local_rank: int) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank)
        name = "mps" if torch.backends.mps.is_available() else "cpu"
    return torch.device("cuda", local_rank) if name == "cuda" else torch.device(name)


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """bfloat16 where the hardware computes it natively; float32 (None) elsewhere, where bf16 is emulated."""
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu":
        flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
        return torch.bfloat16 if ("avx512_bf16" in flags or "amx_bf16" in flags) else None
    return None


def training_batch(data: dict, device: torch.device, jpeg: dict | None = None) -> tuple[Batch, torch.Tensor]:
    """Mosaic a batch of views as the course does (truncated block means) and prepare the network input.

    jpeg (a config's [jpeg] table) saves a fraction of the mosaicked views as JPEG, at qualities drawn uniformly.
    """
    images = data["images"].to(device, non_blocking=True).float()
    rects = data["rects"].to(device, non_blocking=True)
    n, _, h, w = images.shape
    rows = torch.arange(h, device=device).view(1, 1, h, 1)
    cols = torch.arange(w, device=device).view(1, 1, 1, w)
    x, y, width, height, size = (rects[:, i].view(n, 1, 1, 1) for i in range(5))
    unknown = (rows >= y) & (rows < y + height) & (cols >= x) & (cols < x + width)
    offset = rects[:, :2]
    pixelated = pixelate_batch(images, unknown, rects[:, 4], offset)
    if jpeg and jpeg["fraction"] > 0:
        chosen = torch.rand(n, device=device) < jpeg["fraction"]
        quality = torch.randint(jpeg["min_quality"], jpeg["max_quality"] + 1, (n,), device=device)
        phase = torch.randint(0, 8, (n, 2), device=device)
        pixelated[chosen] = compress(pixelated[chosen], quality[chosen], phase[chosen])
    grid = make_grid(pixelated, unknown, rects[:, 4], offset)
    return Batch(pixelated, unknown, rects[:, 4], offset, grid), images


def per_image_rmse(restored: torch.Tensor, original: torch.Tensor, unknown: torch.Tensor) -> torch.Tensor:
    """The challenge metric as a loss: mean over images of the RMSE over unknown pixels."""
    squared = ((restored - original) ** 2 * unknown).sum(dim=(1, 2, 3))
    return torch.sqrt(squared / unknown.sum(dim=(1, 2, 3)) + 1e-6).mean()


def learning_rate(step: int, optim: dict) -> float:
    """Linear warm-up, then cosine decay to 1% of the peak."""
    if step < optim["warmup_steps"]:
        return optim["lr"] * (step + 1) / optim["warmup_steps"]
    progress = min(1.0, (step - optim["warmup_steps"]) / max(1, optim["max_steps"] - optim["warmup_steps"]))
    return optim["lr"] * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * progress)))


def validation_set(manifest: Path, per_image: int) -> tuple[dict, list[np.ndarray], dict]:
    """The fixed challenge-style validation set from the corpus's val photos, and baseline scores."""
    from PIL import Image

    views = []
    for path in read_manifest(manifest, "val"):
        with Image.open(path) as image:
            views.append(shrink_to_square(image))
    test_set, targets = make_test_set(views, per_image=per_image, seed=12345)
    images, knowns = test_set["pixelated_images"], test_set["known_arrays"]
    baselines = {"identity": score(identity_predictions(images, knowns), targets)}
    return test_set, targets, baselines


def evaluate(model: DepixNet, test_set: dict, targets: list[np.ndarray], tta: bool = False) -> float:
    model.eval()
    predictions = model_predictions(model, test_set["pixelated_images"], test_set["known_arrays"], tta=tta)
    model.train()
    return score(predictions, targets)


def append_log(path: Path, row: dict) -> None:
    """Add a row to the CSV log; a second row for the same step fills in the first one's empty fields."""
    rows = []
    if path.exists():
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
    row = {k: str(row.get(k, "")) for k in LOG_FIELDS}
    if rows and rows[-1]["step"] == row["step"]:
        rows[-1] = {k: rows[-1][k] or row[k] for k in LOG_FIELDS}
    else:
        rows.append(row)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=LOG_FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def plot_curves(log_path: Path, png_path: Path, identity: float) -> None:
    """Training loss and validation score against samples seen, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with log_path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    train = [(int(r["samples"]), float(r["loss"])) for r in rows if r["loss"]]
    val = [(int(r["samples"]), float(r["val_score"])) for r in rows if r["val_score"]]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    if train:
        ax.plot(*zip(*train, strict=True), label="train loss (per-image RMSE)", alpha=0.5)
    if val:
        ax.plot(*zip(*val, strict=True), "o-", label="val score (EMA weights)")
    ax.axhline(identity, color="gray", linestyle="--", label="val identity")
    ax.set_xlabel("training samples")
    ax.set_ylabel("mean per-image RMSE (0..255)")
    ax.set_ylim(bottom=min([identity * 0.4] + [v for _, v in val]) * 0.95, top=identity * 1.05)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)
    plt.close(fig)


def main() -> None:
    args = parse_args()
    config = tomllib.loads(args.config.read_text())
    if args.max_steps:
        config["optim"]["max_steps"] = args.max_steps
    if args.manifest:
        config["manifest"] = str(args.manifest)
    if args.workers is not None:
        config["run"]["workers"] = args.workers
    name, optim, run = config["name"], config["optim"], config["run"]
    run_dir = args.run_dir or Path("runs") / name
    checkpoint_dir = args.checkpoint_dir or Path("checkpoints") / name

    distributed = "RANK" in os.environ
    rank, world, local_rank = 0, 1, 0
    if distributed:
        rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
        local_rank = int(os.environ.get("LOCAL_RANK", 0))
    device = pick_device(args.device, local_rank)
    if distributed:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        if device.type == "cpu":
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
    main_process = rank == 0
    torch.backends.cudnn.benchmark = True  # fixed input shapes: let cuDNN pick its fastest kernels
    torch.manual_seed(config["seed"])

    state_path = run_dir / "state.pt"
    model = DepixNet(ModelConfig(**config["model"])).to(device)
    if args.init and not (args.resume and state_path.exists()):  # a resumed run keeps its own weights
        start = load(args.init)
        if start.config != model.config:
            raise SystemExit(f"--init {args.init}: its architecture differs from the config's [model]")
        model.load_state_dict(start.state_dict())
        config["init"] = init_record(args.init)
    ema = DepixNet(model.config).to(device).eval()
    ema.load_state_dict(model.state_dict())
    for p in ema.parameters():
        p.requires_grad_(False)
    if device.type != "mps":
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=optim["lr"], weight_decay=optim["weight_decay"])
    step, best, elapsed = 0, math.inf, 0.0
    if args.resume and state_path.exists():
        state = torch.load(state_path, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        optimizer.load_state_dict(state["optimizer"])
        step, best, elapsed = state["step"], state["best"], state["elapsed"]
        if "init" in state:  # read when the run began: a resumed run may have overwritten that checkpoint
            config["init"] = state["init"]
        if not args.max_steps:  # a fitted schedule stays fitted
            optim["max_steps"] = state.get("max_steps", optim["max_steps"])
    trainer = DistributedDataParallel(model) if distributed else model

    manifest = Path(config["manifest"])
    manifest_sha = hashlib.sha256(manifest.read_bytes()).hexdigest()
    view_config = ViewConfig(**config.get("views", {}))
    photos = load_photos(read_manifest(manifest, "train"), view_config.max_side)
    batch_size = optim["batch_size"] // world
    batches = ViewBatches(photos, batch_size, view_config, config["seed"], rank, step)
    loader = torch.utils.data.DataLoader(
        batches,
        batch_size=None,
        num_workers=run["workers"],
        prefetch_factor=4 if run["workers"] else None,
        pin_memory=device.type == "cuda",
    )
    if main_process:
        run_dir.mkdir(parents=True, exist_ok=True)
        test_set, targets, baselines = validation_set(manifest, run["val_per_image"])
        print(f"{len(photos)} train photos, {len(targets)} val samples, val identity {baselines['identity']:.3f}")
        print(f"model: {sum(p.numel() for p in model.parameters()):,} parameters on {device}")
        if args.init and step == 0:  # export only what beats the starting weights
            best = evaluate(ema, test_set, targets)
            print(f"starting weights from {args.init}: val {best:.3f}")
    amp_dtype = autocast_dtype(device)

    def save_state() -> None:
        state = {
            "model": model.state_dict(),
            "ema": ema.state_dict(),
            "optimizer": optimizer.state_dict(),
            "step": step,
            "best": best,
            "elapsed": elapsed,
            "max_steps": optim["max_steps"],
            **({"init": config["init"]} if "init" in config else {}),
        }
        torch.save(state, run_dir / "state.tmp")
        os.replace(run_dir / "state.tmp", state_path)  # a kill during the write keeps the old state

    def validate() -> float:
        """Score the EMA weights on the val set; export them when they are the best so far."""
        nonlocal best
        val = evaluate(ema, test_set, targets)
        tqdm.write(f"step {step}: val {val:.3f} (identity {baselines['identity']:.3f})")
        if val < best:
            best = val
            metrics = {**baselines, "model": val, "step": step, "samples": step * optim["batch_size"]}
            export(ema, checkpoint_dir, config, manifest_sha, metrics)
        return val

    def log(validated: bool) -> None:
        """Append a row to the CSV log (with a validation if asked), redraw the curves, save the state."""
        nonlocal elapsed, window_start, window_samples, losses
        now = time.time()
        elapsed += now - window_start
        row = {
            "step": step,
            "samples": step * optim["batch_size"],
            "loss": f"{np.mean(losses):.4f}" if losses else "",
            "lr": f"{learning_rate(step, optim):.6f}",
            "samples_per_s": f"{window_samples / (now - window_start):.1f}" if window_samples else "",
            "elapsed_s": f"{elapsed:.0f}",
        }
        progress.set_postfix(loss=row["loss"], sps=row["samples_per_s"])
        if validated:
            row["val_score"] = f"{validate():.4f}"
        append_log(run_dir / "log.csv", row)
        if validated:
            plot_curves(run_dir / "log.csv", run_dir / "curves.png", baselines["identity"])
        save_state()
        window_start, window_samples, losses = time.time(), 0, []

    started = time.time()
    budget_end = started + 60 * args.minutes if args.minutes else math.inf
    progress = tqdm(total=optim["max_steps"], initial=step, disable=not main_process, dynamic_ncols=True)
    window_start, window_samples, losses = time.time(), 0, []
    start_step, timing_start = step, None
    for data in loader:
        if step >= optim["max_steps"] or time.time() >= budget_end:
            break
        batch, original = training_batch(data, device, config.get("jpeg"))
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, optim)
        with torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
            restored = trainer(batch)
        loss = per_image_rmse(restored.float(), original, batch.unknown)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), optim["grad_clip"])
        optimizer.step()
        with torch.no_grad():
            ema_params, params = list(ema.parameters()), list(model.parameters())
            torch._foreach_lerp_(ema_params, params, 1 - optim["ema_decay"])
        step += 1
        losses.append(loss.item())
        window_samples += batch_size * world
        progress.update(1)
        if args.fit_schedule and args.minutes and step == start_step + FIT_WARMUP:
            timing_start = time.time()
        if timing_start and step == start_step + FIT_WARMUP + FIT_TIMED:
            now = time.time()
            steps_left = int(0.98 * FIT_TIMED * (budget_end - now) / (now - timing_start))
            fitted = torch.tensor(step + steps_left, device=device)
            if distributed:
                dist.broadcast(fitted, 0)  # every process must stop at the same step
            optim["max_steps"] = int(fitted)
            progress.total = optim["max_steps"]
            progress.write(f"schedule fitted to the time left: max_steps {optim['max_steps']}")
        if not main_process:
            continue
        if step % run["save_every"] == 0 or step % run["val_every"] == 0:
            log(validated=step % run["val_every"] == 0)
    progress.close()
    if main_process:
        # The last steps (lowest learning rate) are validated and logged too, even off the val_every grid.
        if step % run["val_every"]:
            log(validated=True)
        print(f"stopped at step {step}; state in {state_path}; best weights in {checkpoint_dir}")
        if args.push_to_hub:
            push_to_hub(checkpoint_dir, args.push_to_hub)
    if distributed:
        dist.destroy_process_group()


def init_record(checkpoint: Path) -> dict:
    """Where an --init run starts: the checkpoint, and how many samples its weights had been trained on."""
    saved = json.loads((resolve_checkpoint(checkpoint) / "config.json").read_text())
    earlier = saved.get("training", {}).get("init", {}).get("samples", 0)
    return {"checkpoint": str(checkpoint), "samples": earlier + saved.get("metrics", {}).get("samples", 0)}


def export(model: DepixNet, directory: Path, config: dict, manifest_sha: str, metrics: dict) -> None:
    """Write the EMA weights as a checkpoint folder with config and model card."""
    extra = {"training": config, "manifest_sha256": manifest_sha, "metrics": metrics}
    save(model, directory, extra)
    parameters = sum(p.numel() for p in model.parameters())
    write_card(directory, {**config, "manifest_sha256": manifest_sha}, metrics, parameters)


def push_to_hub(directory: Path, repo_id: str) -> None:
    from huggingface_hub import HfApi

    try:
        api = HfApi()
        api.create_repo(repo_id, exist_ok=True)
        api.upload_folder(repo_id=repo_id, folder_path=str(directory))
        print(f"uploaded {directory} to {repo_id}")
    except Exception as e:  # any hub failure (offline, no token) must not lose the finished training
        print(f"could not upload to {repo_id}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")


if __name__ == "__main__":
    main()
