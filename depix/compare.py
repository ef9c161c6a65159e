"""Yardsticks for a restoration: the RMSE/PSNR scores and the bicubic baseline it is compared with."""

import math

import numpy as np
from PIL import Image


def rmse_psnr(reference: Image.Image, candidate: Image.Image, region: np.ndarray) -> tuple[float, float]:
    """RMSE (0..255 scale) and PSNR in dB of a candidate against the reference, over the region's pixels."""
    mode = "L" if reference.mode in ("L", "LA") else "RGB"
    a = np.asarray(reference.convert(mode), np.float64)[region]
    b = np.asarray(candidate.convert(mode), np.float64)[region]
    rmse = float(np.sqrt(np.mean((a - b) ** 2)))
    return rmse, (math.inf if rmse == 0 else 20 * math.log10(255.0 / rmse))


def bicubic_baseline(
    pixelated: Image.Image, region: np.ndarray, block_size: int, offset: tuple[int, int]
) -> Image.Image:
    """The classic baseline: one value per block, upscaled bicubically, pasted over the region."""
    mode = "L" if pixelated.mode in ("L", "LA") else "RGB"
    values = np.asarray(pixelated.convert(mode))
    ys, xs = np.nonzero(region)
    ox, oy = offset
    rows, cols = (ys - oy) // block_size, (xs - ox) // block_size
    r0, c0 = int(rows.min()), int(cols.min())
    shape = (int(rows.max()) - r0 + 1, int(cols.max()) - c0 + 1)
    # Every region pixel of a block holds the block's value; blocks outside the region keep their centre pixel.
    centre_y = np.clip(oy + (np.arange(shape[0]) + r0) * block_size + block_size // 2, 0, values.shape[0] - 1)
    centre_x = np.clip(ox + (np.arange(shape[1]) + c0) * block_size + block_size // 2, 0, values.shape[1] - 1)
    small = values[centre_y][:, centre_x].copy()
    small[rows - r0, cols - c0] = values[ys, xs]
    big = Image.fromarray(small).resize((shape[1] * block_size, shape[0] * block_size), Image.Resampling.BICUBIC)
    big = np.asarray(big)
    out = values.copy()
    out[ys, xs] = big[ys - (oy + r0 * block_size), xs - (ox + c0 * block_size)]
    return Image.fromarray(out)
