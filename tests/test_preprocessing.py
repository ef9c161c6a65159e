import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from depix.preprocessing import pixelate, prepare_image, to_grayscale


def reference_gray_pixel(r: float, g: float, b: float) -> float:
    """The spec's conversion for one pixel, written with scalar math."""

    def linear(c: float) -> float:
        c = c / 255
        return c / 12.92 if c < 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    y = 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
    return (12.92 * y if y < 0.0031308 else 1.055 * y ** (1 / 2.4) - 0.055) * 255


@given(arrays(np.uint8, st.tuples(st.integers(1, 6), st.integers(1, 6), st.just(3))))
def test_grayscale_matches_scalar_reference(image):
    gray = to_grayscale(image)
    assert gray.shape == (1, *image.shape[:2]) and gray.dtype == np.uint8
    for (i, j), value in np.ndenumerate(gray[0]):
        assert value == round(reference_gray_pixel(*map(float, image[i, j])))


@given(arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 5), st.just(3)), elements=st.floats(0, 255)))
def test_grayscale_keeps_float(image):
    gray = to_grayscale(image)
    assert gray.dtype == np.float64
    for (i, j), value in np.ndenumerate(gray[0]):
        assert math.isclose(value, reference_gray_pixel(*image[i, j]), rel_tol=1e-12, abs_tol=1e-9)


def test_grayscale_of_2d_is_a_copy():
    image = np.arange(12, dtype=np.int32).reshape(3, 4)
    gray = to_grayscale(image)
    assert gray.shape == (1, 3, 4) and gray.dtype == np.int32
    gray[0, 0, 0] = 99
    assert image[0, 0] == 0


def test_grayscale_extremes_and_integer_dtypes():
    image = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0]]], dtype=np.uint8)
    assert to_grayscale(image).tolist() == [[[0, 255, 127]]]
    assert to_grayscale(image.astype(np.int64)).dtype == np.int64


@pytest.mark.parametrize("shape", [(4,), (2, 3, 4), (2, 3, 1), (1, 2, 3, 3)])
def test_grayscale_rejects_bad_shapes(shape):
    with pytest.raises(ValueError):
        to_grayscale(np.zeros(shape, dtype=np.uint8))


def reference_pixelate(image, x, y, width, height, size):
    """Pixel-by-pixel: every pixel of the rectangle gets the truncated mean of its (cut) block."""
    out = image.copy()
    for r in range(y, y + height):
        for c in range(x, x + width):
            top = y + (r - y) // size * size
            left = x + (c - x) // size * size
            block = image[..., top : min(top + size, y + height), left : min(left + size, x + width)]
            out[..., r, c] = block.mean(axis=(-2, -1))
    return out


@st.composite
def rectangles(draw, dtype=np.uint8):
    h, w = draw(st.integers(2, 20)), draw(st.integers(2, 20))
    width, height = draw(st.integers(2, w)), draw(st.integers(2, h))
    x, y = draw(st.integers(0, w - width)), draw(st.integers(0, h - height))
    size = draw(st.integers(2, 25))
    image = draw(arrays(dtype, (1, h, w), elements=st.integers(0, 255)))
    return image, x, y, width, height, size


@settings(max_examples=200)
@given(rectangles())
def test_pixelate_partial_blocks_and_truncation(case):
    image, x, y, width, height, size = case
    result = pixelate(image, x, y, width, height, size)
    np.testing.assert_array_equal(result, reference_pixelate(image, x, y, width, height, size))
    outside = np.ones(image.shape, bool)
    outside[..., y : y + height, x : x + width] = False
    np.testing.assert_array_equal(result[outside], image[outside])


def test_integer_means_are_truncated_not_rounded():
    image = np.array([[[0, 1, 10], [1, 1, 10]]], dtype=np.uint8)  # block mean 0.75 -> 0
    assert pixelate(image, 0, 0, 2, 2, 2)[0, :, :2].tolist() == [[0, 0], [0, 0]]
    as_float = pixelate(image.astype(np.float32), 0, 0, 2, 2, 2)
    assert as_float.dtype == np.float32 and as_float[0, 0, 0] == pytest.approx(0.75)


@settings(max_examples=100)
@given(rectangles())
def test_prepare_image_outputs(case):
    image, x, y, width, height, size = case
    pixelated, known, target = prepare_image(image, x, y, width, height, size)
    assert known.dtype == bool and known.shape == image.shape
    assert (~known).sum() == width * height and not known[..., y : y + height, x : x + width].any()
    np.testing.assert_array_equal(target, image[..., y : y + height, x : x + width])
    assert target.dtype == image.dtype and pixelated.dtype == image.dtype


def test_prepare_image_leading_dimensions():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (2, 3, 1, 9, 9), dtype=np.uint8)
    pixelated, known, target = prepare_image(image, 1, 2, 5, 4, 3)
    assert pixelated.shape == image.shape and known.shape == image.shape and target.shape == (2, 3, 1, 4, 5)
    for i in range(2):
        for j in range(3):
            np.testing.assert_array_equal(pixelated[i, j], pixelate(image[i, j], 1, 2, 5, 4, 3))


@pytest.mark.parametrize(
    "shape, args",
    [
        ((9, 9), (0, 0, 2, 2, 2)),
        ((2, 9, 9), (0, 0, 2, 2, 2)),
        ((1, 9, 9), (0, 0, 1, 2, 2)),
        ((1, 9, 9), (0, 0, 2, 1, 2)),
        ((1, 9, 9), (0, 0, 2, 2, 1)),
        ((1, 9, 9), (-1, 0, 2, 2, 2)),
        ((1, 9, 9), (8, 0, 2, 2, 2)),
        ((1, 9, 9), (0, -1, 2, 2, 2)),
        ((1, 9, 9), (0, 8, 2, 2, 2)),
    ],
)
def test_every_value_error(shape, args):
    with pytest.raises(ValueError):
        prepare_image(np.zeros(shape, dtype=np.uint8), *args)
    with pytest.raises(ValueError):
        pixelate(np.zeros(shape, dtype=np.uint8), *args)
