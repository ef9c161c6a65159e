import json

import numpy as np
import pytest
import torch

from depix.blocks import make_grid, pixelate_batch
from depix.challenge import restore_batch
from depix.errors import InputError
from depix.model import Batch, DepixNet, ModelConfig, load, resolve_checkpoint, save
from depix.preprocessing import to_grayscale
from tests.conftest import smooth_photo

SMALL = ModelConfig(base_channels=8, depth=2, convs_per_level=1, max_channels=16, unshuffle=2)


def random_model(seed=0):
    torch.manual_seed(seed)
    model = DepixNet(SMALL)
    with torch.no_grad():  # the head starts at zero; make the network do something
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    return model.eval()


def mosaic(h, w, box, size, seed=0):
    rng = np.random.default_rng(seed)
    images = torch.from_numpy(rng.integers(0, 256, (2, 1, h, w)).astype(np.float32))
    x, y, bw, bh = box
    unknown = torch.zeros(2, 1, h, w, dtype=torch.bool)
    unknown[..., y : y + bh, x : x + bw] = True
    sizes, offsets = torch.tensor([size, size]), torch.tensor([[x, y], [x, y]])
    return pixelate_batch(images, unknown, sizes, offsets), unknown, sizes, offsets


@pytest.mark.parametrize("shape, box, size", [((64, 64), (5, 9, 30, 20), 6), ((37, 53), (0, 0, 53, 11), 4)])
def test_restoration_is_consistent_with_the_mosaic(shape, box, size):
    pixelated, unknown, sizes, offsets = mosaic(*shape, box, size)
    with torch.no_grad():
        restored = restore_batch(random_model(), pixelated, unknown, sizes, offsets)
    assert restored.shape == pixelated.shape
    assert torch.equal(restored[~unknown], pixelated[~unknown])
    again = pixelate_batch(restored.round().clamp(0, 255), unknown, sizes, offsets)
    assert (again - pixelated).abs().max() <= 1


def test_tta_is_consistent_too():
    pixelated, unknown, sizes, offsets = mosaic(40, 40, (3, 4, 25, 30), 5)
    with torch.no_grad():
        restored = restore_batch(random_model(), pixelated, unknown, sizes, offsets, tta=True)
    grid = make_grid(pixelated, unknown, sizes, offsets)
    means = grid.mean(restored)
    assert bool(((means >= grid.low - 1e-3) & (means <= grid.high + 1e-3)).all())


def test_save_and_load_round_trip(tmp_path):
    model = random_model()
    save(model, tmp_path / "ck", {"metrics": {"model": 1.0}})
    loaded = load(tmp_path / "ck")
    assert json.loads((tmp_path / "ck" / "config.json").read_text())["metrics"] == {"model": 1.0}
    for a, b in zip(model.state_dict().values(), loaded.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    pixelated, unknown, sizes, offsets = mosaic(32, 32, (4, 4, 20, 20), 4)
    grid = make_grid(pixelated, unknown, sizes, offsets)
    model = model.to(memory_format=torch.channels_last)  # as load() does: the same kernels, the same bits
    with torch.no_grad():
        assert torch.equal(model(Batch(pixelated, unknown, sizes, offsets, grid)),
                           loaded(Batch(pixelated, unknown, sizes, offsets, grid)))  # fmt: skip


def test_load_errors(tmp_path):
    save(random_model(), tmp_path / "ck")
    config = json.loads((tmp_path / "ck" / "config.json").read_text())
    config["architecture"]["base_channels"] = 12
    (tmp_path / "ck" / "config.json").write_text(json.dumps(config))
    with pytest.raises(InputError, match="does not match"):
        load(tmp_path / "ck")
    (tmp_path / "ck" / "config.json").write_text("{")
    with pytest.raises(InputError, match="bad config.json"):
        load(tmp_path / "ck")
    (tmp_path / "ck" / "model.safetensors").write_bytes(b"\x00" * 20)
    (tmp_path / "ck" / "config.json").write_text(json.dumps({"architecture": {}}))
    with pytest.raises(InputError):
        load(tmp_path / "ck")
    with pytest.raises(InputError, match="missing"):
        load(tmp_path)


def test_hub_repo_ids_use_the_hub_client(tmp_path, monkeypatch):
    save(random_model(), tmp_path / "snapshot")
    calls = []

    def fake_snapshot_download(repo_id, allow_patterns):
        calls.append(repo_id)
        return str(tmp_path / "snapshot")

    monkeypatch.setattr("huggingface_hub.snapshot_download", fake_snapshot_download)
    assert isinstance(load("someone/depix-weights"), DepixNet) and calls == ["someone/depix-weights"]


def test_hub_offline_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(InputError, match="Hugging Face Hub"):
        resolve_checkpoint("nobody/not-cached-anywhere")


def test_tiles_give_the_untiled_result_without_seams():
    model = load()  # the shipped weights: a realistic correction
    photo = smooth_photo(np.random.default_rng(3), 160, 200)
    images = torch.from_numpy(to_grayscale(photo).astype(np.float32))[None]
    unknown = torch.zeros_like(images, dtype=torch.bool)
    unknown[..., 20:150, 10:190] = True
    sizes, offsets = torch.tensor([8]), torch.tensor([[10, 20]])
    pixelated = pixelate_batch(images, unknown, sizes, offsets)
    grid = make_grid(pixelated, unknown, sizes, offsets)
    with torch.no_grad():
        whole = model(Batch(pixelated, unknown, sizes, offsets, grid))
        tiled = model(Batch(pixelated, unknown, sizes, offsets, grid), tile=64)  # 4 x 3 tiles
    assert not torch.equal(whole, tiled)
    assert (whole - tiled).abs().mean() < 0.5  # the blended tiles see nearly all the context the whole image gives
    means = grid.mean(tiled)  # every block keeps its mean, tiled or not
    assert bool(((means >= grid.low - 1e-3) & (means <= grid.high + 1e-3)).all())
    # No seams: neighbouring pixels differ no more than in the untiled result.
    for dim in (-1, -2):
        assert tiled.diff(dim=dim).abs().mean() < whole.diff(dim=dim).abs().mean() + 0.2
