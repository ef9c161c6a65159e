"""Mosaic regions on an image: boxes and masks, their block grid, and the pixelation itself."""

import math

import numpy as np
from PIL import Image

from depix.errors import InputError
from depix.images import from_planes, open_image, to_planes


def parse_box(box: "tuple[int, int, int, int] | str", width: int, height: int) -> tuple[int, int, int, int]:
    """A checked (x, y, w, h) box from a tuple or an "x,y,w,h" string, inside a width x height image."""
    if isinstance(box, str):
        parts = [p.strip() for p in box.replace(" ", ",").split(",") if p.strip()]
        try:
            box = tuple(int(p) for p in parts)
        except ValueError:
            raise InputError(f"a box is four whole numbers 'x,y,w,h', got {box!r}") from None
    if len(box) != 4 or not all(isinstance(v, int | np.integer) for v in box):
        raise InputError(f"a box is four whole numbers (x, y, w, h), got {box!r}")
    x, y, w, h = (int(v) for v in box)
    if w < 1 or h < 1:
        raise InputError(f"the box must have a positive width and height, got {w}x{h}")
    if x < 0 or y < 0 or x + w > width or y + h > height:
        raise InputError(f"the box ({x}, {y}, {w}, {h}) is not inside the {width}x{height} image")
    return x, y, w, h


def region_mask(
    width: int,
    height: int,
    box: "tuple[int, int, int, int] | str | None" = None,
    mask: "np.ndarray | Image.Image | None" = None,
) -> np.ndarray:
    """The (H, W) bool mask of a box or of a mask array/image (nonzero or opaque pixels are marked)."""
    if (box is None) == (mask is None):
        raise InputError("give either a box or a mask of the region")
    if box is not None:
        x, y, w, h = parse_box(box, width, height)
        out = np.zeros((height, width), bool)
        out[y : y + h, x : x + w] = True
        return out
    if isinstance(mask, Image.Image):
        mask = np.asarray(mask.getchannel("A") if "A" in mask.getbands() else mask.convert("L"))
    mask = np.asarray(mask)
    if mask.ndim == 3:
        mask = mask.any(axis=2)
    if mask.shape != (height, width):
        raise InputError(f"the mask is {mask.shape[1]}x{mask.shape[0]} but the image is {width}x{height}")
    if not mask.any():
        raise InputError("the mask marks no pixel")
    return mask.astype(bool)


def check_region_size(region: np.ndarray) -> None:
    """A mosaic region must span at least 2x2 pixels."""
    ys, xs = np.nonzero(region)
    if ys.max() - ys.min() < 1 or xs.max() - xs.min() < 1:
        raise InputError("the marked region is too small: it must span at least 2x2 pixels")


def snap_to_grid(mask: np.ndarray, size: int, offset: tuple[int, int]) -> np.ndarray:
    """Every pixel of every grid block that the mask touches."""
    height, width = mask.shape
    ox, oy = offset
    block_rows = (np.arange(height) - oy) // size
    block_cols = (np.arange(width) - ox) // size
    rows0, cols0 = block_rows - block_rows.min(), block_cols - block_cols.min()
    touched = np.zeros((rows0.max() + 1, cols0.max() + 1), bool)
    ys, xs = np.nonzero(mask)
    touched[rows0[ys], cols0[xs]] = True
    return touched[rows0][:, cols0]


def check_block_size(block_size: int, width: int, height: int) -> int:
    """A checked block size: a whole number from 2 to the image's larger side."""
    if isinstance(block_size, bool) or not isinstance(block_size, int | np.integer):
        raise InputError(f"the block size must be a whole number, got {block_size!r}")
    if block_size < 2 or block_size > max(width, height):
        raise InputError(f"the block size must be between 2 and {max(width, height)}, got {block_size}")
    return int(block_size)


def pixelate_region(
    image: "str | Image.Image | np.ndarray",
    box: "tuple[int, int, int, int] | str | None" = None,
    mask: "np.ndarray | Image.Image | None" = None,
    block_size: int = 16,
    offset: tuple[int, int] | None = None,
) -> Image.Image:
    """Mosaic a box (blocks cut at its border) or every grid block a mask touches: rounded block means."""
    image = open_image(image)
    width, height = image.size
    block_size = check_block_size(block_size, width, height)
    marked = region_mask(width, height, box, mask)
    check_region_size(marked)
    if offset is None:
        ys, xs = np.nonzero(marked)
        offset = (int(xs.min()), int(ys.min()))
    # A box is pixelated exactly (blocks cut at its border); a mask takes every block it touches.
    region = marked if box is not None else snap_to_grid(marked, block_size, offset)
    planes = to_planes(image)
    values = planes.values.copy()
    ox, oy = offset
    ys, xs = np.nonzero(region)
    keys = ((ys - oy) // block_size) * (width + block_size) + (xs - ox) // block_size
    _, block, counts = np.unique(keys, return_inverse=True, return_counts=True)
    for channel in values:
        sums = np.bincount(block, weights=channel[ys, xs].astype(np.float64))
        channel[ys, xs] = np.round(sums / counts)[block]
    return from_planes(planes, values)


def estimate_grid(
    values: np.ndarray, region: np.ndarray, origin: tuple[int, int] | None = None
) -> tuple[int, tuple[int, int]] | None:
    """Block size and grid origin (x, y) of a clean mosaic over a region of (C, H, W) planes, or None.

    With an origin, only the size is estimated; without one, the origin too.
    """
    ys, xs = np.nonzero(region)
    top, left, bottom, right = ys.min(), xs.min(), ys.max() + 1, xs.max() + 1
    patch = values[:, top:bottom, left:right]
    inside = region[top:bottom, left:right]
    # Value changes between neighbours that both lie in the region mark block edges (image coordinates).
    col_edge = np.any(patch[:, :, 1:] != patch[:, :, :-1], axis=0) & inside[:, 1:] & inside[:, :-1]
    row_edge = np.any(patch[:, 1:] != patch[:, :-1], axis=0) & inside[1:] & inside[:-1]
    cols = np.nonzero(col_edge.any(axis=0))[0] + 1 + left
    rows = np.nonzero(row_edge.any(axis=1))[0] + 1 + top
    if origin is None:
        # Edges lie a multiple of the block size apart; the first edge fixes the origin. With too few edges
        # to measure, the region's corner is the best guess (as when a box was pixelated).
        spacing = [*np.diff(cols).tolist(), *np.diff(rows).tolist()]
        size = math.gcd(*spacing) if spacing else 0
        if size >= 2:
            ox = int(left + (cols[0] - left) % size) if cols.size else int(left)
            oy = int(top + (rows[0] - top) % size) if rows.size else int(top)
            return size, (ox, oy)
        origin = (int(left), int(top))
    ox, oy = origin
    if cols.size + rows.size == 0:
        return int(max(bottom - oy, right - ox, 2)), (ox, oy)  # one flat block
    # Every edge lies a multiple of the size from the origin; the gcd is the largest size that explains them
    # all, and its blocks are unions of true blocks of one value, so their means stay right.
    size = math.gcd(*(cols - ox).tolist(), *(rows - oy).tolist())
    return (size, (ox, oy)) if size >= 2 else None
