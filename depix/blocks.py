"""The block grid of a mosaic: which unknown pixel belongs to which block, block means and their bounds."""

import math
from dataclasses import dataclass

import numpy as np
import torch

# How a mosaic stored each block's mean: the course truncates it, depix rounds it, other tools do either.
# The true mean of the original pixels then lies in [value + low, value + high] (in quantisation steps).
MEAN_BOUNDS = {"floor": (0.0, 1.0), "round": (-0.5, 0.5), "any": (-0.5, 1.0)}


@dataclass
class BlockGrid:
    """Blocks of a batch of (N, 1, H, W) images: unknown pixels grouped by mosaic block."""

    ids: torch.Tensor  # (N, 1, H, W) long: block index, -1 for known pixels
    pixels: torch.Tensor  # flat indices of the unknown pixels
    pixel_blocks: torch.Tensor  # block index of each of those pixels
    counts: torch.Tensor  # pixels per block
    low: torch.Tensor  # lower bound of each block's true mean (0..255 scale)
    high: torch.Tensor  # upper bound of each block's true mean

    @property
    def num_blocks(self) -> int:
        return int(self.counts.numel())

    def mean(self, x: torch.Tensor) -> torch.Tensor:
        """Mean of an (N, 1, H, W) image over each block, shape (num_blocks,)."""
        return self.mean_packed(x.reshape(-1)[self.pixels])

    def mean_packed(self, values: torch.Tensor) -> torch.Tensor:
        """Mean over each block of values given per unknown pixel (in the order of `pixels`)."""
        sums = torch.zeros(self.num_blocks, dtype=values.dtype, device=values.device)
        return sums.scatter_add_(0, self.pixel_blocks, values) / self.counts.to(values.dtype)

    def spread(self, per_block: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """Image with each unknown pixel set to its block's value and known pixels 0."""
        out = torch.zeros(like.numel(), dtype=per_block.dtype, device=like.device)
        out[self.pixels] = per_block[self.pixel_blocks]
        return out.reshape(like.shape)

    def project(self, x: torch.Tensor) -> torch.Tensor:
        """Shift each block of x so its mean lies within the block's bounds (differentiable)."""
        mean = self.mean(x)
        return x + self.spread(torch.clamp(mean, self.low.to(x.dtype), self.high.to(x.dtype)) - mean, x)

    def project_clipped(self, x: torch.Tensor, lowest: float = 0.0, highest: float = 255.0) -> torch.Tensor:
        """Shift each block so that, after clipping to [lowest, highest], its mean lies within its bounds."""
        values = x.reshape(-1)[self.pixels]
        low = torch.clamp(self.low.to(x.dtype), lowest, highest)
        high = torch.clamp(self.high.to(x.dtype), lowest, highest)
        target = torch.clamp(self.mean_packed(values.clamp(lowest, highest)), low, high)
        # The clipped mean grows monotonically with the shift: bisection finds the shift that reaches the target.
        if values.numel() == 0:
            return x.clamp(lowest, highest)
        below = torch.full_like(target, lowest - float(values.max()) - 1)
        above = torch.full_like(target, highest - float(values.min()) + 1)
        shift = torch.zeros_like(target)
        for _ in range(30):  # the interval is at most ~512 wide: 30 halvings leave it under 1e-6
            shift = (below + above) / 2
            mean = self.mean_packed((values + shift[self.pixel_blocks]).clamp(lowest, highest))
            too_low = mean < target
            below = torch.where(too_low, shift, below)
            above = torch.where(too_low, above, shift)
        moved = (values + shift[self.pixel_blocks]).clamp(lowest, highest)
        out = x.clamp(lowest, highest).reshape(-1).clone()
        out[self.pixels] = moved
        return out.reshape(x.shape)


def make_grid(
    pixelated: torch.Tensor,
    unknown: torch.Tensor,
    block_size: torch.Tensor,
    offset: torch.Tensor,
    rounding: str = "floor",
    step: float = 1.0,
) -> BlockGrid:
    """Group the unknown pixels of (N, 1, H, W) images into blocks of the given sizes and grid offsets (x, y).

    step is the size of one quantisation level in the images' units (255/65535 for 16-bit images on 0..255).
    """
    n, _, h, w = pixelated.shape
    device = pixelated.device
    size = block_size.to(device).view(n, 1, 1, 1)
    rows = torch.arange(h, device=device).view(1, 1, h, 1)
    cols = torch.arange(w, device=device).view(1, 1, 1, w)
    block_row = torch.div(rows - offset[:, 1].to(device).view(n, 1, 1, 1), size, rounding_mode="floor")
    block_col = torch.div(cols - offset[:, 0].to(device).view(n, 1, 1, 1), size, rounding_mode="floor")
    # One key per (image, block row, block col); unique() turns keys into dense block indices.
    span = h + w + 2
    key = (torch.arange(n, device=device).view(n, 1, 1, 1) * span + block_row + 1) * span + block_col + 1
    pixels = torch.nonzero(unknown.reshape(-1), as_tuple=False).squeeze(1)
    blocks, pixel_blocks = torch.unique(key.expand(n, 1, h, w).reshape(-1)[pixels], return_inverse=True)
    counts = torch.bincount(pixel_blocks, minlength=blocks.numel())
    ids = torch.full((n * h * w,), -1, dtype=torch.long, device=device)
    ids[pixels] = pixel_blocks
    grid = BlockGrid(ids.view(n, 1, h, w), pixels, pixel_blocks, counts, counts, counts)
    value = grid.mean(pixelated.to(torch.float64)).to(torch.float32)
    low, high = MEAN_BOUNDS[rounding]
    grid.low, grid.high = value + low * step, value + high * step
    return grid


def estimate_block_size(region: np.ndarray) -> int:
    """Largest block size whose grid, from the top-left pixel, explains an (H, W) or (H, W, C) clean mosaic."""
    region = np.asarray(region)
    if region.ndim == 2:
        region = region[..., None]
    h, w = region.shape[:2]
    col_changes = np.nonzero(np.any(region[:, 1:] != region[:, :-1], axis=(0, 2)))[0] + 1
    row_changes = np.nonzero(np.any(region[1:] != region[:-1], axis=(1, 2)))[0] + 1
    changes = np.concatenate([col_changes, row_changes])
    if changes.size == 0:
        return max(h, w)
    # Every block edge lies on a multiple of the block size, so the size divides the gcd of the edges; the gcd
    # itself is the safest choice: its blocks are unions of true blocks that share one value.
    return int(math.gcd(*changes.tolist()))


def pixelate_batch(
    images: torch.Tensor, unknown: torch.Tensor, block_size: torch.Tensor, offset: torch.Tensor, rounding: str = "floor"
) -> torch.Tensor:
    """Mosaic the unknown pixels of (N, 1, H, W) images: each block set to its mean, floored or rounded."""
    grid = make_grid(images, unknown, block_size, offset)
    mean = grid.mean(images.to(torch.float64))
    # floor() matches numpy's truncating assignment; round() is half-to-even like numpy's.
    value = torch.floor(mean) if rounding == "floor" else torch.round(mean)
    return torch.where(unknown, grid.spread(value, images).to(images.dtype), images)
