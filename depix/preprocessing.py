"""The course's image functions: grayscale conversion and rectangle pixelation, bit-exact with the challenge."""

import numpy as np


def to_grayscale(image: np.ndarray) -> np.ndarray:
    """Convert an (H, W) or (H, W, 3) image with values 0..255 to shape (1, H, W) by sRGB luminance."""
    if image.ndim == 2:
        return image.copy()[None]
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must have shape (H, W) or (H, W, 3), got {image.shape}")
    # The arithmetic order below is the spec's; changing it changes the last bit of float results.
    rgb = image / 255
    linear = np.where(rgb < 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    y_linear = 0.2126 * linear[..., 0] + 0.7152 * linear[..., 1] + 0.0722 * linear[..., 2]
    gray = np.where(y_linear < 0.0031308, 12.92 * y_linear, 1.055 * y_linear ** (1 / 2.4) - 0.055)
    gray = gray * 255
    if np.issubdtype(image.dtype, np.integer):
        gray = np.round(gray)
    return gray.astype(image.dtype)[None]


def _check_rectangle(image: np.ndarray, x: int, y: int, width: int, height: int, size: int) -> None:
    if image.ndim < 3 or image.shape[-3] != 1:
        raise ValueError(f"image must have shape (..., 1, H, W), got {image.shape}")
    if width < 2 or height < 2 or size < 2:
        raise ValueError(f"width, height and size must be >= 2, got {width}, {height}, {size}")
    if x < 0 or x + width > image.shape[-1]:
        raise ValueError(f"x={x} with width={width} does not fit an image of width {image.shape[-1]}")
    if y < 0 or y + height > image.shape[-2]:
        raise ValueError(f"y={y} with height={height} does not fit an image of height {image.shape[-2]}")


def pixelate(image: np.ndarray, x: int, y: int, width: int, height: int, size: int) -> np.ndarray:
    """Return a copy of a (..., 1, H, W) image with the rectangle replaced by size x size block means."""
    _check_rectangle(image, x, y, width, height, size)
    result = image.copy()
    for block_y in range(y, y + height, size):
        rows = slice(block_y, min(block_y + size, y + height))
        for block_x in range(x, x + width, size):
            cols = slice(block_x, min(block_x + size, x + width))
            # Assigning the float mean into an integer array truncates it, as the course did.
            result[..., rows, cols] = result[..., rows, cols].mean(axis=(-2, -1), keepdims=True)
    return result


def prepare_image(
    image: np.ndarray, x: int, y: int, width: int, height: int, size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixelate a rectangle; return (pixelated_image, known_array, target_array) as the course defines."""
    pixelated = pixelate(image, x, y, width, height, size)
    known = np.ones_like(image, dtype=bool)
    known[..., y : y + height, x : x + width] = False
    target = image[..., y : y + height, x : x + width].copy()
    return pixelated, known, target
