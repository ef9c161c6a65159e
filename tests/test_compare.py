import math

import numpy as np
from PIL import Image

from depix import pixelate_region
from depix.compare import bicubic_baseline, rmse_psnr


def test_rmse_psnr_by_hand():
    a = Image.fromarray(np.zeros((4, 4), np.uint8))
    b = Image.fromarray(np.full((4, 4), 10, np.uint8))
    region = np.zeros((4, 4), bool)
    region[:2] = True
    rmse, psnr = rmse_psnr(a, b, region)
    assert rmse == 10 and math.isclose(psnr, 20 * math.log10(25.5))
    assert rmse_psnr(a, a, region) == (0.0, math.inf)


def test_bicubic_baseline_keeps_outside_and_flat_mosaics():
    flat = Image.fromarray(np.full((40, 50, 3), 90, np.uint8))
    region = np.zeros((40, 50), bool)
    region[5:29, 7:39] = True
    np.testing.assert_array_equal(np.asarray(bicubic_baseline(flat, region, 8, (7, 5))), np.asarray(flat))
    ramp = Image.fromarray(np.tile(np.arange(0, 250, 5, dtype=np.uint8), (40, 1)))
    pixelated = pixelate_region(ramp, box=(7, 5, 32, 24), block_size=8)
    result = np.asarray(bicubic_baseline(pixelated, region, 8, (7, 5)), float)
    np.testing.assert_array_equal(result[~region], np.asarray(pixelated, float)[~region])
    inside = (slice(5, 29), slice(7, 39))
    assert (
        np.abs(result[inside] - np.asarray(ramp, float)[inside]).mean()
        < np.abs(np.asarray(pixelated, float)[inside] - np.asarray(ramp, float)[inside]).mean()
    )
