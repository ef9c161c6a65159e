import csv
import io
import json
import os
import subprocess
import sys

import numpy as np
import torch
from PIL import Image

from depix.model import DepixNet, ModelConfig, load
from depix.mosaic import pixelate_region
from tests.conftest import smooth_photo
from train.card import started_from
from train.jpeg import compress
from train.train import init_record, per_image_rmse, training_batch
from train.views import ViewBatches, ViewConfig, load_photos, read_manifest


def test_the_network_learns_a_fixed_batch(photo_dir):
    torch.manual_seed(0)
    photos = load_photos(read_manifest(photo_dir / "manifest.csv", "train"), 128)
    data = next(iter(ViewBatches(photos, 16, ViewConfig(), seed=0, rank=0, start_step=0)))
    batch, original = training_batch(data, torch.device("cpu"))
    model = DepixNet(ModelConfig(base_channels=8, depth=2, convs_per_level=1, max_channels=16))
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        loss = per_image_rmse(model(batch), original, batch.unknown)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.9 * losses[0]


def test_batches_are_reproducible(photo_dir):
    photos = load_photos(read_manifest(photo_dir / "manifest.csv", "train"), 128)
    a = next(iter(ViewBatches(photos, 8, ViewConfig(), seed=1, rank=0, start_step=5)))
    b = list(zip(range(6), ViewBatches(photos, 8, ViewConfig(), seed=1, rank=0, start_step=0), strict=False))[5][1]
    assert torch.equal(a["images"], b["images"]) and torch.equal(a["rects"], b["rects"])


def train_command(photo_dir, tmp_path, *extra, launcher=(sys.executable, "-m", "train.train")):
    return [*launcher, "--config", "train/configs/smoke.toml", "--manifest", str(photo_dir / "manifest.csv"),
            "--run-dir", str(tmp_path / "run"), "--checkpoint-dir", str(tmp_path / "ck"), *extra]  # fmt: skip


def test_smoke_run_saves_resumes_and_loads(photo_dir, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    first = subprocess.run(train_command(photo_dir, tmp_path, "--max-steps", "20"), capture_output=True, text=True,
                           env=env)  # fmt: skip
    assert first.returncode == 0, first.stderr[-2000:]
    second = subprocess.run(train_command(photo_dir, tmp_path, "--max-steps", "30", "--resume"), capture_output=True,
                            text=True, env=env)  # fmt: skip
    assert second.returncode == 0, second.stderr[-2000:]
    with (tmp_path / "run" / "log.csv").open() as f:
        steps = [int(row["step"]) for row in csv.DictReader(f)]
    assert steps == [10, 20, 30]  # the resumed run continued at step 20
    assert (tmp_path / "run" / "curves.png").stat().st_size > 1000
    model = load(tmp_path / "ck")
    assert isinstance(model, DepixNet)
    assert (tmp_path / "ck" / "README.md").read_text().count("| depix network |") == 1


def test_distributed_two_cpu_processes(photo_dir, tmp_path):
    launcher = (sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517",
                "-m", "train.train")  # fmt: skip
    result = subprocess.run(train_command(photo_dir, tmp_path, "--max-steps", "6", launcher=launcher),
                            capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"},
                            timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "stopped at step 6" in result.stdout
    assert (tmp_path / "ck" / "model.safetensors").exists()


def test_fit_schedule_ends_the_cosine_when_time_runs_out(photo_dir, tmp_path):
    extra = ("--max-steps", "1000000", "--minutes", "0.6", "--fit-schedule")  # 250 timed steps, on a busy machine too
    result = subprocess.run(train_command(photo_dir, tmp_path, *extra), capture_output=True, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    fitted = [line for line in (result.stdout + result.stderr).splitlines() if "schedule fitted" in line]
    assert len(fitted) == 1
    max_steps = int(fitted[0].split()[-1])
    assert 250 < max_steps < 1000000
    state = torch.load(tmp_path / "run" / "state.pt", weights_only=True)
    assert state["max_steps"] == max_steps  # a resume keeps the fitted schedule
    stopped = state["step"]
    assert f"step {stopped}: val" in result.stdout + result.stderr  # the last, lowest-rate steps are validated too
    with (tmp_path / "run" / "log.csv").open() as f:
        last = list(csv.DictReader(f))[-1]
    assert int(last["step"]) == stopped and last["val_score"]  # ... and logged, so the curve ends there


def test_init_starts_from_a_checkpoint_and_exports_only_improvements(photo_dir, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    first = subprocess.run(train_command(photo_dir, tmp_path, "--max-steps", "20"), capture_output=True, text=True,
                           env=env)  # fmt: skip
    assert first.returncode == 0, first.stderr[-2000:]
    start = json.loads((tmp_path / "ck" / "config.json").read_text())["metrics"]["model"]
    command = [*train_command(photo_dir, tmp_path / "again", "--max-steps", "20"), "--init", str(tmp_path / "ck")]
    second = subprocess.run(command, capture_output=True, text=True, env=env)
    assert second.returncode == 0, second.stderr[-2000:]
    assert f"val {start:.3f}" in second.stdout  # the same weights score the same on the same val set
    exported = tmp_path / "again" / "ck" / "config.json"
    assert not exported.exists() or json.loads(exported.read_text())["metrics"]["model"] < start


def write_checkpoint_config(folder, training: dict, samples: int) -> None:
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"training": training, "metrics": {"samples": samples}}))


def test_a_run_from_a_checkpoint_records_all_the_training_its_weights_had(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    write_checkpoint_config(first, {"name": "a"}, 1000)
    assert init_record(first) == {"checkpoint": str(first), "samples": 1000}
    write_checkpoint_config(second, {"name": "b", "init": init_record(first)}, 300)
    assert init_record(second) == {"checkpoint": str(second), "samples": 1300}
    assert started_from({"init": init_record(second)}).endswith("(trained on 1,300 samples before)")
    assert started_from({"name": "a"}) == ""


def test_simulated_jpeg_matches_a_real_encoder_on_a_shifted_grid():
    rng = np.random.default_rng(3)
    gray = np.asarray(Image.fromarray(smooth_photo(rng, 120, 136)).convert("L"))
    gray = np.asarray(pixelate_region(Image.fromarray(gray), box=(20, 30, 80, 60), block_size=9))
    view = gray[3:, 5:]  # the encoder's grid starts at (8, 8) of the image: pixel (3, 5) of the view
    for quality in (95, 75, 60):
        buffer = io.BytesIO()
        Image.fromarray(gray).save(buffer, "JPEG", quality=quality)
        real = np.asarray(Image.open(buffer), dtype=np.float32)[3:, 5:][:104, :120]  # leave out the padded edge
        ours = compress(torch.tensor(view, dtype=torch.float32)[None, None], torch.tensor([quality]),
                        torch.tensor([[3, 5]]))[0, 0, :104, :120].numpy()  # fmt: skip
        off_grid = compress(torch.tensor(view, dtype=torch.float32)[None, None], torch.tensor([quality]),
                            torch.tensor([[0, 0]]))[0, 0, :104, :120].numpy()  # fmt: skip
        # The same error size; pixel by pixel within half a level (libjpeg's integer DCT rounds differently).
        loss = np.abs(real - view[:104, :120]).mean()
        assert abs(np.abs(ours - view[:104, :120]).mean() - loss) < 0.05 * loss
        assert np.abs(ours - real).mean() < 0.5
        assert np.abs(off_grid - real).mean() > 2 * np.abs(ours - real).mean()


def test_training_batches_save_the_chosen_share_of_views_as_jpeg(photo_dir):
    photos = load_photos(read_manifest(photo_dir / "manifest.csv", "train"), 128)
    data = next(iter(ViewBatches(photos, 16, ViewConfig(), seed=0, rank=0, start_step=0)))
    plain, original = training_batch(data, torch.device("cpu"))
    for fraction in (0.0, 1.0):
        jpeg = {"fraction": fraction, "min_quality": 60, "max_quality": 60}
        batch, same_original = training_batch(data, torch.device("cpu"), jpeg)
        changed = (batch.pixelated != plain.pixelated).flatten(1).any(1)
        assert changed.all() if fraction else not changed.any()
        assert torch.equal(same_original, original)  # the target stays the photo itself


def test_the_cell_verdict_learns_blocks_from_synthetic_mosaics():
    # The detection verdict's fitting steps on photo-like images: samples of cells around JPEG mosaics, a network
    # fitted to them, and on mosaics of other images it tells the blocks from the rest.
    from train.fit_cells import fit, samples

    rng = np.random.default_rng(0)
    photos = [smooth_photo(rng, 320, 360) for _ in range(4)]
    parts = [samples((photo, seed)) for seed, photo in enumerate(photos[:3])]
    train_x, train_y = (np.concatenate([part[i] for part in parts]) for i in (0, 1))
    test_x, test_y = samples((photos[3], 99))
    assert 0.05 < train_y.mean() < 0.95 and test_x.shape[1] == train_x.shape[1]
    mean, std = train_x.mean(axis=0), train_x.std(axis=0) + 1e-6
    net, _ = fit(((train_x - mean) / std).astype(np.float32), train_y, 300)
    with torch.no_grad():
        guess = net(torch.from_numpy(((test_x - mean) / std).astype(np.float32)))[:, 0].numpy() > 0
    assert (guess == (test_y > 0.5)).mean() > 0.85


def test_the_partial_width_learns_from_synthetic_mosaics():
    # Detection's learned partial-block width: sides of JPEG mosaics (partial blocks of any width, GIMP style on
    # odd seeds), a scorer fitted to them, and on another image's mosaics its median widths are mostly right.
    from depix.detect import partial_width
    from train.fit_partials import fit, padded, samples

    rng = np.random.default_rng(0)
    photos = [smooth_photo(rng, 360, 400) for _ in range(8)]
    fitted = [side for seed, photo in enumerate(photos[:6]) for side in samples((photo, seed))]
    checked = [side for seed, photo in zip((11, 13), photos[6:], strict=True) for side in samples((photo, seed))]
    x, present, truth = padded(fitted)
    assert len(checked) >= 8 and truth.max() > 3
    mean, std = x[present].mean(dim=0), x[present].std(dim=0) + 1e-6
    model, _ = fit((x - mean) / std * present[..., None], present, truth, 60)
    with torch.no_grad():
        scores = [model.net((torch.from_numpy(f) - mean) / std)[:, 0].numpy() for f, _ in checked]
    right = [abs(partial_width(s) - t) <= 2 for s, (_, t) in zip(scores, checked, strict=True)]
    assert np.mean(right) >= 0.7
