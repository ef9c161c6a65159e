import numpy as np
import pytest
import torch
from PIL import Image

from depix import Depixelator, InputError, pixelate_region
from depix.model import DepixNet, ModelConfig
from tests.conftest import smooth_photo


@pytest.fixture(scope="module")
def depixelator():
    torch.manual_seed(0)
    return Depixelator(DepixNet(ModelConfig(base_channels=8, depth=2, convs_per_level=1, max_channels=16)))


@pytest.fixture(scope="module")
def photo():
    return Image.fromarray(smooth_photo(np.random.default_rng(3), 150, 200))


def rmse(a, b, box):
    x, y, w, h = box
    a, b = (np.asarray(i, dtype=float)[y : y + h, x : x + w] for i in (a, b))
    return np.sqrt(np.mean((a - b) ** 2))


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "LA", "P", "I;16", "CMYK"])
def test_same_size_and_mode_outside_untouched_and_consistent(depixelator, photo, mode):
    image = photo.convert(mode) if mode != "I;16" else Image.fromarray(np.asarray(photo.convert("L"), np.uint16) * 257)
    if mode in ("RGBA", "LA"):
        image.putalpha(Image.fromarray(np.random.default_rng(1).integers(0, 256, (150, 200), dtype=np.uint8)))
    box = (30, 40, 75, 50)
    pixelated = pixelate_region(image, box=box, block_size=8)
    restored = depixelator.restore(pixelated, box=box, block_size=8)
    expected_mode = "RGB" if mode == "P" else mode
    assert restored.size == image.size and restored.mode == expected_mode
    before, after = np.asarray(pixelated.convert(expected_mode)), np.asarray(restored)
    outside = np.ones(before.shape[:2], bool)
    outside[40:90, 30:105] = False
    np.testing.assert_array_equal(after[outside], before[outside])
    if mode in ("RGBA", "LA"):
        np.testing.assert_array_equal(np.asarray(restored.getchannel("A")), np.asarray(image.getchannel("A")))
    again = np.asarray(pixelate_region(restored, box=box, block_size=8)).astype(int)
    assert np.abs(again - before.astype(int)).max() <= (1 if mode != "CMYK" else 3)


@pytest.mark.parametrize("size", [3, 5, 8, 13, 24])
def test_estimated_block_size_equals_given(depixelator, photo, size):
    box = (17, 9, 120, 100)
    pixelated = pixelate_region(photo, box=box, block_size=size)
    given = depixelator.restore(pixelated, box=box, block_size=size)
    estimated = depixelator.restore(pixelated, box=box)
    np.testing.assert_array_equal(np.asarray(given), np.asarray(estimated))


def test_restoration_beats_the_mosaic(depixelator, photo):
    box = (20, 20, 120, 96)
    pixelated = pixelate_region(photo, box=box, block_size=12)
    restored = depixelator.restore(pixelated, box=box)
    assert rmse(restored, photo, box) < 0.85 * rmse(pixelated, photo, box)


def test_mask_with_offset_grid(depixelator, photo):
    mask = np.zeros((150, 200), bool)
    mask[50:70, 60:90] = True  # a brush stroke; the mosaic is every 8-block it touches, grid at (4, 2)
    pixelated = pixelate_region(photo, mask=mask, block_size=8, offset=(4, 2))
    changed = np.any(np.asarray(pixelated) != np.asarray(photo), axis=2)
    ys, xs = np.nonzero(changed)
    assert (xs.min() - 4) % 8 == 0 and (ys.min() - 2) % 8 == 0
    restored = depixelator.restore(pixelated, mask=mask)
    again = pixelate_region(restored, mask=mask, block_size=8, offset=(4, 2))
    assert np.abs(np.asarray(again, int) - np.asarray(pixelated, int)).max() <= 1
    outside = ~changed
    np.testing.assert_array_equal(np.asarray(restored)[outside], np.asarray(pixelated)[outside])


def test_large_blocks_are_restored_at_reduced_scale(depixelator, photo):
    box = (0, 0, 192, 144)
    pixelated = pixelate_region(photo, box=box, block_size=48)
    restored = depixelator.restore(pixelated, box=box, block_size=48)
    again = pixelate_region(restored, box=box, block_size=48)
    assert np.abs(np.asarray(again, int) - np.asarray(pixelated, int)).max() <= 1
    assert rmse(restored, photo, box) < rmse(pixelated, photo, box)


def test_exif_orientation_is_applied(depixelator, photo, tmp_path):
    path = tmp_path / "turned.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise for display
    photo.save(path, exif=exif, quality=95)
    restored = depixelator.restore(path, box=(10, 10, 40, 40), block_size=4)
    assert restored.size == (150, 200)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"box": (190, 10, 50, 50)}, "not inside"),
        ({"box": (-1, 0, 10, 10)}, "not inside"),
        ({"box": (0, 0, 0, 10)}, "positive"),
        ({"box": "a,b,c,d"}, "whole numbers"),
        ({"box": (1, 2, 3)}, "four whole numbers"),
        ({}, "box or a mask"),
        ({"mask": np.zeros((10, 10), bool)}, "mask is 10x10"),
        ({"mask": np.zeros((150, 200), bool)}, "marks no pixel"),
        ({"box": (0, 0, 20, 20), "block_size": 1}, "between 2 and"),
        ({"box": (0, 0, 20, 20), "block_size": 0}, "between 2 and"),
        ({"box": (0, 0, 20, 20), "block_size": -4}, "between 2 and"),
        ({"box": (0, 0, 20, 20), "block_size": 999}, "between 2 and"),
        ({"box": (0, 0, 20, 20), "block_size": 2.5}, "whole number"),
        ({"box": (0, 0, 20, 20), "offset": (1,)}, "offset"),
    ],
)
def test_bad_arguments(depixelator, photo, kwargs, message):
    with pytest.raises(InputError, match=message):
        depixelator.restore(photo, **kwargs)


@pytest.mark.parametrize(
    "source, message",
    [
        ("missing.png", "not found"),
        (np.zeros((0, 5), np.uint8), "shape"),
        (np.zeros((4, 4, 2), np.uint8), "shape"),
        (np.full((4, 4), np.nan), "NaN"),
        (42, "expected an image"),
    ],
)
def test_bad_images(depixelator, source, message):
    with pytest.raises(InputError, match=message):
        depixelator.restore(source, box=(0, 0, 2, 2))


def test_not_an_image_file(depixelator, tmp_path):
    (tmp_path / "fake.png").write_bytes(b"hello")
    with pytest.raises(InputError, match="not an image"):
        depixelator.restore(tmp_path / "fake.png", box=(0, 0, 2, 2))
    Image.new("RGB", (64, 64)).save(tmp_path / "cut.png")
    (tmp_path / "cut.png").write_bytes((tmp_path / "cut.png").read_bytes()[:60])
    with pytest.raises(InputError):
        depixelator.restore(tmp_path / "cut.png", box=(0, 0, 2, 2))


def test_too_many_pixels_is_refused_before_decoding(tmp_path):
    Image.new("L", (3000, 3000)).save(tmp_path / "big.png")
    small = Depixelator(DepixNet(ModelConfig(base_channels=8, depth=2, convs_per_level=1)), max_pixels=1_000_000)
    with pytest.raises(InputError, match="megapixels"):
        small.restore(tmp_path / "big.png", box=(0, 0, 10, 10))


def test_a_region_larger_than_a_tile_is_restored_in_tiles(monkeypatch):
    monkeypatch.setattr("depix.restore.TILE", 96)  # a 160 px region then needs 3 x 3 tiles
    photo = Image.fromarray(smooth_photo(np.random.default_rng(5), 200, 220))
    box = (20, 16, 160, 160)
    pixelated = pixelate_region(photo, box=box, block_size=8)
    restored = Depixelator.from_pretrained(device="cpu").restore(pixelated, box=box, block_size=8)
    again = np.asarray(pixelate_region(restored, box=box, block_size=8)).astype(int)
    assert np.abs(again - np.asarray(pixelated).astype(int)).max() <= 1
    assert rmse(restored, photo, box) < 0.9 * rmse(pixelated, photo, box)
