import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from depix.blocks import estimate_block_size, make_grid, pixelate_batch
from depix.preprocessing import pixelate


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 16), st.integers(4, 30), st.integers(4, 30))
def test_pixelate_batch_equals_course_pixelation(seed, size, width, height):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (1, 40, 40), dtype=np.uint8)
    x, y = int(rng.integers(0, 40 - width + 1)), int(rng.integers(0, 40 - height + 1))
    unknown = torch.zeros(1, 1, 40, 40, dtype=torch.bool)
    unknown[..., y : y + height, x : x + width] = True
    ours = pixelate_batch(torch.from_numpy(image[None]).float(), unknown, torch.tensor([size]), torch.tensor([[x, y]]))
    np.testing.assert_array_equal(ours[0].numpy().astype(np.uint8), pixelate(image, x, y, width, height, size))


def test_grid_bounds_and_projection():
    pixelated = torch.tensor([[[[10.0, 10.0, 20.0], [10.0, 10.0, 20.0]]]])
    unknown = torch.ones_like(pixelated, dtype=torch.bool)
    grid = make_grid(pixelated, unknown, torch.tensor([2]), torch.tensor([[0, 0]]))
    assert grid.num_blocks == 2 and grid.counts.tolist() == [4, 2]
    assert grid.low.tolist() == [10.0, 20.0] and grid.high.tolist() == [11.0, 21.0]
    moved = grid.project(pixelated + torch.tensor([[[[5.0, -1.0, -3.0], [0.0, 0.0, 0.0]]]]))
    means = grid.mean(moved)
    assert means[0].item() == pytest.approx(11.0) and means[1].item() == pytest.approx(20.0)
    rounded = make_grid(pixelated, unknown, torch.tensor([2]), torch.tensor([[0, 0]]), rounding="round")
    assert rounded.low.tolist() == [9.5, 19.5]


@pytest.mark.parametrize("size", [2, 3, 4, 5, 7, 8, 11, 16])
def test_estimate_block_size_is_exact_or_a_safe_multiple(size):
    rng = np.random.default_rng(size)
    image = rng.integers(0, 256, (1, 40, 37), dtype=np.uint8)
    region = pixelate(image, 0, 0, 37, 40, size)[0]
    estimate = estimate_block_size(region)
    assert estimate == size
    flat = np.full((9, 9), 3, np.uint8)
    assert estimate_block_size(flat) == 9


def test_estimate_block_size_on_colour():
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[:, 4:, 2] = 50  # only the blue channel changes
    rgb[4:, :, 0] = 9
    assert estimate_block_size(rgb) == 4
