import numpy as np
import pytest
import torch
from PIL import Image

from depix.data import RandomImagePixelationDataset, stack_with_padding
from depix.preprocessing import prepare_image, to_grayscale


def test_files_are_sorted_absolute_jpgs_found_recursively(photo_dir):
    (photo_dir / "not_a_jpg.png").write_bytes(b"x")
    dataset = RandomImagePixelationDataset(str(photo_dir), (4, 32), (4, 32), (4, 16))
    assert len(dataset) == 8
    assert dataset.image_files == sorted(dataset.image_files)
    assert all(p.startswith("/") and p.endswith(".jpg") for p in dataset.image_files)


# Expected rectangles (x, y, width, height, size) for 64x64 images and the course ranges, from the spec's
# draw order with numpy's default_rng(seed=index).
EXPECTED = {0: (18, 11, 28, 22, 8), 1: (36, 44, 17, 18, 4), 7: (23, 38, 31, 22, 11), 42: (38, 17, 6, 26, 9)}


@pytest.mark.parametrize("index", sorted(EXPECTED))
def test_random_draw_order(tmp_path, index):
    rng = np.random.default_rng(5)
    for i in range(index + 1):
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(tmp_path / f"{i:03d}.jpg")
    dataset = RandomImagePixelationDataset(str(tmp_path), (4, 32), (4, 32), (4, 16))
    pixelated, known, target, path = dataset[index]
    x, y, width, height, size = EXPECTED[index]
    image = to_grayscale(np.array(Image.open(path)))
    expected = prepare_image(image, x, y, width, height, size)
    for got, want in zip((pixelated, known, target), expected, strict=True):
        np.testing.assert_array_equal(got, want)
    assert path == dataset.image_files[index]


def test_width_is_capped_by_small_images(tmp_path):
    Image.fromarray(np.full((6, 5, 3), 100, np.uint8)).save(tmp_path / "a.jpg")
    _, known, target, _ = RandomImagePixelationDataset(str(tmp_path), (30, 40), (30, 40), (2, 3))[0]
    assert target.shape == (1, 6, 5) and not known.any()


def test_dtype_is_passed_to_numpy(photo_dir):
    pixelated, _, target, _ = RandomImagePixelationDataset(str(photo_dir), (4, 8), (4, 8), (2, 4), np.float64)[0]
    assert pixelated.dtype == np.float64 and target.dtype == np.float64


@pytest.mark.parametrize(
    "ranges", [((1, 5), (4, 5), (4, 5)), ((4, 5), (6, 5), (4, 5)), ((4, 5), (4, 5), (1, 1)), ((3, 2), (4, 4), (2, 2))]
)
def test_bad_ranges(tmp_path, ranges):
    with pytest.raises(ValueError):
        RandomImagePixelationDataset(str(tmp_path), *ranges)


def test_stack_with_padding_values():
    a = (np.full((1, 2, 3), 5, np.uint8), np.zeros((1, 2, 3), bool), np.arange(4, dtype=np.uint8), "a")
    b = (np.full((1, 4, 2), 7, np.uint8), np.zeros((1, 4, 2), bool), np.arange(2, dtype=np.uint8), "b")
    pixelated, known, targets, paths = stack_with_padding([a, b])
    assert pixelated.shape == (2, 1, 4, 3) and pixelated.dtype == torch.uint8
    assert pixelated[0, 0].tolist() == [[5, 5, 5], [5, 5, 5], [0, 0, 0], [0, 0, 0]]
    assert pixelated[1, 0].tolist() == [[7, 7, 0]] * 4
    assert known.dtype == torch.bool and known[0, 0].tolist() == [[False] * 3] * 2 + [[True] * 3] * 2
    assert known[1, 0].tolist() == [[False, False, True]] * 4
    assert [t.tolist() for t in targets] == [[0, 1, 2, 3], [0, 1]] and paths == ["a", "b"]
