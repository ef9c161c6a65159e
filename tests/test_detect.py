import functools
import io
import json

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw, ImageEnhance
from scipy import ndimage

from benchmarks.bench_detect import chart_legend, text_case, text_page
from benchmarks.common import ROOT
from depix import Depixelator, InputError, pixelate_region
from depix.cli import main
from depix.detect import (
    MAX_CODEC_CANDIDATES,
    Mosaic,
    _accept,
    _carved,
    _codec_grid,
    _edge_votes,
    _lattices,
    _line_is_blocks,
    _line_phase,
    _merged,
    _refine_side,
    _whole_blocks,
    find_mosaics,
    planes_and_luma,
)
from depix.model import DepixNet, ModelConfig
from tests.conftest import smooth_photo


def textured_photo(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A photo-like RGB image with texture: smooth waves, random sharp-edged shapes and strong noise."""
    image = Image.fromarray(smooth_photo(rng, height, width))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        r = int(rng.integers(4, 30))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    noisy = np.asarray(image).astype(float) + rng.normal(0, 10, (height, width, 3))
    return np.clip(noisy, 0, 255).astype(np.uint8)


def jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def iou(a: tuple, b: tuple) -> float:
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return ix * iy / (a[2] * a[3] + b[2] * b[3] - ix * iy)


@functools.cache
def _decoded_example(name: str) -> Image.Image:
    return Image.open(ROOT / "examples" / f"{name}.jpg").convert("RGB")


def example(name: str) -> Image.Image:
    """One of the example photos (moose, cat), decoded once per test run; a copy, free to change."""
    return _decoded_example(name).copy()


def match(found: list[Mosaic], box: tuple, size: int) -> Mosaic:
    """The detection that overlaps a true mosaic most; it must have the true block size."""
    best = max(found, key=lambda m: iou(m.box, box), default=None)
    assert best is not None, f"nothing found for {box}"
    assert best.block_size == size, (best, box, size)
    return best


# Several mosaics per image: in the middle, touching the top-left corner, touching the right and bottom border
# with partial blocks there, and with sizes that do not divide the box.
BOXES = [((0, 0, 70, 52), 8), ((152, 118, 88, 82), 6), ((80, 20, 50, 45), 5)]


@pytest.fixture(scope="module")
def photos():
    rng = np.random.default_rng(7)
    return [Image.fromarray(smooth_photo(rng, 200, 240)), Image.fromarray(textured_photo(rng, 200, 240))]


@pytest.mark.parametrize("which", [0, 1])
def test_several_mosaics_exact_boxes_sizes_and_offsets(photos, which):
    image = photos[which]
    for box, size in BOXES:
        image = pixelate_region(image, box=box, block_size=size)
    found = find_mosaics(image)
    assert len(found) == len(BOXES)
    for box, size in BOXES:
        m = match(found, box, size)
        assert m.box == box  # blocks cut at the right and bottom border are part of the box
        assert (m.offset[0] - box[0]) % size == 0 and (m.offset[1] - box[1]) % size == 0
        assert 0 <= m.score <= 1


def test_result_types_and_inputs(photos, tmp_path):
    image = pixelate_region(photos[0], box=(40, 30, 96, 80), block_size=8)
    image.save(tmp_path / "m.png")
    for source in (image, np.asarray(image), tmp_path / "m.png", str(tmp_path / "m.png")):
        (m,) = find_mosaics(source)
        assert m == Mosaic((40, 30, 96, 80), 8, (40, 30), m.score)
        assert all(isinstance(v, int) for v in (*m.box, m.block_size, *m.offset)) and isinstance(m.score, float)


@pytest.mark.parametrize("mode", ["L", "RGBA", "I;16"])
def test_other_modes(photos, mode):
    base = photos[1]
    image = base.convert(mode) if mode != "I;16" else Image.fromarray(np.asarray(base.convert("L"), np.uint16) * 257)
    (m,) = find_mosaics(pixelate_region(image, box=(30, 40, 120, 90), block_size=10))
    assert m.box == (30, 40, 120, 90) and m.block_size == 10


def grid_mosaic(image: Image.Image, box: tuple, size: int, origin: tuple) -> Image.Image:
    """GIMP Pixelize / Photoshop Mosaic style: means of whole blocks of an image-wide grid, pasted into a box."""
    values = np.asarray(image, np.float64)
    h, w = values.shape[:2]
    rows, cols = (np.arange(h) - origin[1]) // size, (np.arange(w) - origin[0]) // size
    key = (rows - rows.min())[:, None] * (w + size) + (cols - cols.min())[None]
    out = values.copy()
    for c in range(3):
        sums = np.bincount(key.ravel(), weights=values[..., c].ravel())
        out[..., c] = np.round(sums / np.maximum(np.bincount(key.ravel()), 1))[key]
    x, y, bw, bh = box
    result = values.copy()
    result[y : y + bh, x : x + bw] = out[y : y + bh, x : x + bw]
    return Image.fromarray(result.astype(np.uint8))


def test_image_wide_grid_with_partial_blocks_on_every_side(photos):
    box = (33, 27, 150, 118)  # the grid starts at (3, 5): partial blocks on all four sides
    (m,) = find_mosaics(grid_mosaic(photos[1], box, 12, (3, 5)))
    assert m.box == box and m.block_size == 12
    assert (m.offset[0] - 3) % 12 == 0 and (m.offset[1] - 5) % 12 == 0


@pytest.mark.parametrize(
    ("colour", "size", "box"),
    [(0.3, 16, (373, 225, 164, 148)), (0.3, 8, (586, 196, 160, 154)), (0.3, 8, (644, 190, 113, 168)),
     (0.1, 16, (344, 28, 207, 144)), (0.1, 32, (208, 72, 194, 140))],
)  # fmt: skip
def test_jpeg_grid_from_the_corner_on_jpegs_own_grid(colour, size, box):
    # GIMP lays its grid from the image's corner: blocks of 8, 16, 24 or 32 px lie on JPEG's own 8 x 8 blocks. In
    # muted colours many of them decode exactly constant, as a lossless mosaic's, but not all: JPEG blurs colour
    # over the block borders. Judged as exactly constant cells, only scattered pieces of the mosaic were found.
    image = ImageEnhance.Color(example("moose")).enhance(colour)
    found = find_mosaics(jpeg(grid_mosaic(image, box, size, (0, 0)), 85))
    m = match(found, box, size)
    assert iou(m.box, box) >= 0.9 and m.offset[0] % size == 0 and m.offset[1] % size == 0


@pytest.mark.parametrize(("box", "size"), [((30, 60, 180, 27), 16), ((100, 20, 21, 150), 12), ((7, 90, 200, 19), 10)])
def test_lossless_strip_one_block_and_a_part_high(photos, box, size):
    # A strip over the eyes or a line of text: one full line of blocks and a line of partial blocks beside it.
    (m,) = find_mosaics(pixelate_region(photos[1], box=box, block_size=size))
    assert m.box == box and m.block_size == size and m.offset == box[:2]


@pytest.mark.parametrize(
    ("name", "box", "size"),
    [("cat", (51, 216, 11, 80), 8), ("cat", (157, 14, 23, 70), 15), ("moose", (414, 227, 54, 14), 12),
     ("moose", (573, 332, 73, 18), 16), ("moose", (393, 349, 21, 86), 16)],
)  # fmt: skip
def test_lossless_strip_short_or_over_a_smooth_area(name, box, size):
    # Four or five blocks, too few to make the whole lattice lossless, or blocks over a smooth area that step by a
    # level or two: a line of exactly constant cells beside a line of exactly constant partial ones is still a strip.
    photo = example(name)
    (m,) = find_mosaics(pixelate_region(photo, box=box, block_size=size))
    assert m.box == box and m.block_size == size and m.offset == box[:2]


@pytest.mark.parametrize(
    ("name", "box", "size", "quality"),
    [("cat", (130, 208, 78, 35), 19, None), ("cat", (116, 76, 90, 11), 8, None), ("cat", (112, 29, 23, 87), 12, 85),
     ("moose", (426, 439, 178, 34), 18, 85), ("moose", (326, 344, 27, 165), 18, 85)],
)  # fmt: skip
def test_strip_phase_from_its_inner_line_and_outer_edges(name, box, size, quality):
    # Across a strip only its inner line and its outer edges step: the partial blocks' edge at another phase than
    # the full blocks', whose edge may step little into the exterior. The phase of most steps is tried.
    photo = example(name)
    image = pixelate_region(photo, box=box, block_size=size)
    m = match(find_mosaics(image if quality is None else jpeg(image, quality)), box, size)
    assert iou(m.box, box) >= 0.9 and (m.offset[0] - box[0]) % size == 0 and (m.offset[1] - box[1]) % size == 0


def test_lossless_strip_between_two_partial_lines(photos):
    # GIMP's grid from the image's corner may cut a strip's blocks above and below one full line of them.
    box = (20, 40, 200, 30)  # 8 px of blocks, a full line of 16 px, 6 px
    (m,) = find_mosaics(grid_mosaic(photos[1], box, 16, (0, 0)))
    assert m.box == box and m.block_size == 16 and m.offset[0] % 16 == 0 and m.offset[1] % 16 == 0


@pytest.mark.parametrize(
    ("name", "box", "size", "origin"),
    [("cat", (290, 81, 152, 21), 17, None), ("cat", (11, 233, 162, 32), 18, None),
     ("moose", (341, 145, 15, 132), 11, None), ("moose", (300, 200, 180, 30), 16, (0, 0)),
     ("moose", (520, 50, 70, 240), 32, (0, 0))],
)  # fmt: skip
def test_strip_one_block_and_a_part_high_after_jpeg(name, box, size, origin):
    # After JPEG a strip's blocks are calm but not constant, and its partial line is told from the exterior by the
    # learned partial verdict; depix's strips (origin None) and GIMP's, cut on both sides by its grid from the corner.
    photo = example(name)
    if origin is None:
        image, (ox, oy) = pixelate_region(photo, box=box, block_size=size), box[:2]
    else:
        image, (ox, oy) = grid_mosaic(photo, box, size, origin), origin
    m = match(find_mosaics(jpeg(image, 85)), box, size)
    assert iou(m.box, box) >= 0.9 and (m.offset[0] - ox) % size == 0 and (m.offset[1] - oy) % size == 0


@pytest.mark.parametrize(
    ("name", "box", "size"),
    [("moose", (717, 101, 18, 195), 11), ("moose", (243, 455, 159, 23), 15), ("cat", (65, 189, 134, 24), 16)],
)
def test_strip_after_jpeg_goes_on_over_its_flat_blocks(name, box, size):
    # Blocks of a flat part of the strip differ from no neighbour, so they add nothing to the evidence; they still
    # belong to it, walled across the line by the exterior (the box was a quarter short at one end).
    photo = example(name)
    m = match(find_mosaics(jpeg(pixelate_region(photo, box=box, block_size=size), 85)), box, size)
    assert iou(m.box, box) >= 0.9


@pytest.mark.parametrize(
    ("width", "height", "count", "gradient", "quality"),
    [(9, 42, 9, True, None), (22, 58, 15, True, None), (13, 53, 8, False, 95), (17, 51, 9, False, 95),
     (22, 58, 6, False, 85), (26, 31, 13, False, None), (15, 27, 10, False, None), (24, 33, 10, True, 85),
     (15, 45, 11, False, 75), (10, 50, 15, False, 85)],
)  # fmt: skip
def test_no_mosaic_in_a_row_of_swatches(width, height, count, gradient, quality):
    # Each swatch is one colour from top to bottom: its cells change across the row only, clearly, which a mosaic's
    # blocks never do (those over a smooth sky match along a row too, but step by a few levels to the next). A bar
    # one cell high and the page beside it make a box whose only kept cells lie in one line: a strip at most, and
    # its partial line goes on in the swatches' colours. After JPEG the page cells at the bar's ends ring, so that
    # some of them differ from their neighbours and are kept with the swatches: most pairs along the swatches match.
    for transposed in (False, True):
        image = chart_legend(np.random.default_rng(width * height), width, height, count, gradient)
        image = image.transpose(Image.TRANSPOSE) if transposed else image
        assert find_mosaics(image if quality is None else jpeg(image, quality)) == []


def test_sampled_mosaic(photos):
    x, y, w, h = 50, 40, 140, 105
    region = photos[1].crop((x, y, x + w, y + h)).resize((w // 7, h // 7), Image.NEAREST).resize((w, h), Image.NEAREST)
    image = photos[1].copy()
    image.paste(region, (x, y))
    (m,) = find_mosaics(image)
    assert m.box == (x, y, w, h) and m.block_size == 7


def tinted(luma: np.ndarray) -> Image.Image:
    """An RGB photo of a luma field: green and blue follow it, a little weaker."""
    rgb = np.stack([luma, 0.9 * luma + 10, 0.8 * luma + 20], -1)
    return Image.fromarray(np.clip(np.round(rgb), 0, 255).astype(np.uint8))


@pytest.mark.parametrize(("seed", "box"), [(0, (48, 32, 192, 160)), (1, (52, 36, 160, 128))])
def test_lossless_blocks_of_16_on_a_codec_grid_over_a_smooth_area(seed, box):
    # The grid starts on JPEG's (or WebP's) and the blocks step by a level or two: exactly constant 16 x 16 cells
    # in many colours are a mosaic all the same (a codec's flat blocks are 4 x 4 or 8 x 8).
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:240, 0:320]
    luma = 90 + 0.08 * x + 0.05 * y + rng.normal(0, 2, x.shape)
    (m,) = find_mosaics(pixelate_region(tinted(luma), box=box, block_size=16))
    assert m.box == box and m.block_size == 16


@pytest.mark.parametrize(("seed", "box", "size", "origin"), [(0, (60, 40, 102, 99), 26, (11, 5)),
                                                             (1, (40, 50, 120, 110), 20, (3, 7))])  # fmt: skip
def test_lossless_large_blocks_over_a_smooth_sky(seed, box, size, origin):
    # Blocks larger than a codec's that step by less than a level: too few step clearly for the lattice to be judged
    # lossless by its steps, but its cells are exactly constant, in many colours.
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:240, 0:320]
    luma = 150 + 0.05 * x + 0.03 * y + rng.normal(0, 2, x.shape)
    (m,) = find_mosaics(grid_mosaic(tinted(luma), box, size, origin))
    assert m.box == box and m.block_size == size


def test_lossless_blocks_are_taken_whole():
    # GIMP's blocks of 24 px from the image's corner are exactly constant on JPEG's 8 x 8 grid too: found there
    # first, they are the coarser lattice's blocks. A mosaic of 8 px blocks stays one.
    photo = example("moose")
    box = (200, 150, 175, 64)
    values, _ = planes_and_luma(grid_mosaic(photo, box, 24, (0, 0)))
    whole = _whole_blocks(values, Mosaic(box, 8, (200, 152), 0.5))
    assert (whole.box, whole.block_size, whole.offset) == (box, 24, (216, 168))
    values, _ = planes_and_luma(grid_mosaic(photo, box, 8, (0, 0)))
    assert _whole_blocks(values, Mosaic(box, 8, (200, 152), 0.5)) == Mosaic(box, 8, (200, 152), 0.5)


@pytest.mark.parametrize(("seed", "box"), [(2, (50, 34, 188, 120)), (3, (81, 47, 150, 101))])
def test_lossless_blocks_of_4_off_a_codec_grid_over_a_smooth_area(seed, box):
    # Exactly constant 4 x 4 cells that step by about a level, on a grid that no codec's blocks start on.
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:200, 0:300]
    luma = 120 + 0.08 * x - 0.05 * y + rng.normal(0, 2, x.shape)
    (m,) = find_mosaics(pixelate_region(tinted(luma), box=box, block_size=4))
    assert m.box == box and m.block_size == 4


@pytest.mark.parametrize(("seed", "quality"), [(4, None), (6, 85), (9, 85)])
def test_small_box_of_large_blocks(seed, quality):
    # 76 x 86 pixels of 29-pixel blocks: two by two full blocks and partial blocks on two sides.
    box, size = (60, 40, 76, 86), 29
    photo = Image.fromarray(textured_photo(np.random.default_rng(seed), 200, 240))
    image = pixelate_region(photo, box=box, block_size=size)
    (m,) = find_mosaics(image if quality is None else jpeg(image, quality))
    assert m.block_size == size and iou(m.box, box) >= (1.0 if quality is None else 0.9)


def test_partial_blocks_stop_at_a_saturated_exterior():
    # Over a black exterior one value runs on past a block's width: that is the exterior, not a partial block.
    image = textured_photo(np.random.default_rng(6), 200, 240)
    image[:60, 78:] = 0  # above all but the first column of blocks
    box, size = (50, 60, 140, 84), 28
    (m,) = find_mosaics(pixelate_region(Image.fromarray(image), box=box, block_size=size))
    assert (m.box, m.block_size) == (box, size)


def test_partial_blocks_beside_a_white_backdrop_in_most_rows():
    # The right partial column is white where a white backdrop lies beyond it: those rows cannot tell where the
    # blocks end, so the two rows of coloured partial blocks below decide.
    image = textured_photo(np.random.default_rng(3), 200, 240)
    image[:130, 170:] = 255
    box, size = (40, 40, 143, 140), 26  # five full columns of blocks and a partial one 13 pixels wide
    (m,) = find_mosaics(pixelate_region(Image.fromarray(image), box=box, block_size=size))
    assert (m.box, m.block_size) == (box, size)


@pytest.mark.parametrize("quality", [95, 85])
def test_jpeg(photos, quality):
    image = photos[1]
    truths = [((20, 16, 104, 88), 8), ((140, 90, 96, 100), 12)]
    for box, size in truths:
        image = pixelate_region(image, box=box, block_size=size)
    found = find_mosaics(jpeg(image, quality))
    assert len(found) == 2
    for box, size in truths:
        assert iou(match(found, box, size).box, box) >= 0.9


@pytest.mark.parametrize(("which", "box", "size"), [(0, (40, 30, 150, 119), 20), (1, (40, 30, 100, 90), 24)])
def test_jpeg_large_blocks(photos, which, box, size):
    # A row of partial blocks almost a block high whose steps are weaker than the full blocks'; few large cells.
    (m,) = find_mosaics(jpeg(pixelate_region(photos[which], box=box, block_size=size), 85))
    assert m.block_size == size and iou(m.box, box) >= 0.9


@pytest.mark.parametrize(("box", "size", "quality"), [((40, 20, 93, 73), 20, 85), ((40, 20, 116, 92), 24, 75),
                                                     ((40, 20, 118, 94), 24, 75)])  # fmt: skip
def test_jpeg_partial_blocks_to_the_pixel(photos, box, size, quality):
    # Partial blocks over texture: JPEG ripples fade their steps near the border; the box still ends within a pixel.
    (m,) = find_mosaics(jpeg(pixelate_region(photos[1], box=box, block_size=size), quality))
    assert m.block_size == size and max(abs(a - b) for a, b in zip(m.box, box, strict=True)) <= 1


def test_row_phase_from_lines_of_steps(photos):
    # A mosaic three blocks high gives few row edges to pair with its columns; the rows' phase is then read from
    # its lines of steps, which repeat at the block size, while one long straight edge elsewhere counts once.
    box, size = (60, 50, 128, 102), 31
    image = pixelate_region(photos[1], box=box, block_size=size)
    ImageDraw.Draw(image).rectangle((0, 170, 239, 199), fill=(20, 20, 20))
    luma = np.asarray(jpeg(image, 85).convert("L"), np.float32)
    assert _line_phase(luma, size, (0, 0, 240, 200)) == box[1] % size
    assert _line_phase(luma.T, size, (0, 0, 200, 240)) == box[0] % size
    assert _line_phase(np.asarray(jpeg(photos[1], 85).convert("L"), np.float32), size, (0, 0, 240, 200)) is None


def test_row_phase_from_short_lines_of_steps():
    # After JPEG the lines of a mosaic two blocks high step clearly in a dozen rows or so, not in all of them: such
    # lines a block apart still give the phase, where one short edge of a texture does not.
    rng = np.random.default_rng(0)
    luma = rng.normal(128, 12, (200, 240)).astype(np.float32)
    size, rows = 31, slice(60, 73)  # 13 rows of steps

    def step_at(x: int) -> None:  # flat on both sides of column x, a step of 10 levels or so between
        luma[rows, x - 8 : x] = 100.0
        luma[rows, x : x + 8] = 110.0 + x % 3

    for x in (71, 102, 133):
        step_at(x)
    assert _line_phase(luma.T, size, (0, 0, 200, 240)) == 71 % size
    luma[rows, 60:140] = rng.normal(128, 12, (13, 80))
    step_at(102)
    assert _line_phase(luma.T, size, (0, 0, 200, 240)) is None


def test_a_line_amid_a_lattice_of_another_size_gives_no_phase():
    # One line of steps far above the rest is a strip's inner line; the same line with others as far from it on
    # both sides is one of a mosaic's lines, and no phase of a smaller block fits them.
    rng = np.random.default_rng(2)
    luma = rng.normal(128, 12, (200, 240)).astype(np.float32)

    def step_at(x: int, rows: slice) -> None:
        luma[rows, x - 8 : x] = 100.0
        luma[rows, x : x + 8] = 110.0 + x % 3

    step_at(80, slice(10, 190))
    assert _line_phase(luma.T, 17, (0, 0, 200, 240)) == 80 % 17
    for x in (57, 103):
        step_at(x, slice(60, 110))
    assert _line_phase(luma.T, 17, (0, 0, 200, 240)) is None


def test_jpeg_faint_mosaic_over_haze():
    # Blocks over a hazy, low-contrast area differ by a few levels: few strong steps, but the cells are calm.
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[:300, :320]
    haze = 110 + 20 * np.sin(xx / 23.0) * np.cos(yy / 31.0) + 0.05 * yy
    rgb = np.stack([haze - 10, haze, haze + 12], axis=-1) + rng.normal(0, 1.5, (300, 320, 3))
    box, size = (121, 61, 83, 178), 17
    image = pixelate_region(Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)), box=box, block_size=size)
    (m,) = find_mosaics(jpeg(image, 85))
    assert m.block_size == size and iou(m.box, box) >= 0.9


def test_lines_on_jpeg_block_borders_count_less():
    # A heavily compressed photo steps at every 8th column all over; a mosaic three blocks wide has only its own
    # few lines of steps, which must outweigh those of JPEG's blocks that happen to share one phase.
    rng = np.random.default_rng(3)
    blocky = jpeg(Image.fromarray(textured_photo(rng, 320, 300)), 10)
    box, size = (101, 61, 79, 159), 26
    luma = np.asarray(jpeg(pixelate_region(blocky, box=box, block_size=size), 85).convert("L"), np.float32)
    assert _line_phase(luma.T, size, (0, 0, 320, 300)) == box[0] % size


def _candidates(luma: np.ndarray) -> list:
    """The plain edge pass's candidate lattices of an image's luma, as detection proposes them."""
    rows = _edge_votes(luma.T, 3, 64)
    return _lattices(luma, _edge_votes(luma, 3, 64), (rows[1], rows[0], rows[2]))


def test_jpeg_block_lattices_leave_room_for_other_candidates():
    # JPEG's blocks vote for every multiple of 8 at every phase that is a multiple of 8, all over a large photo.
    rng = np.random.default_rng(3)
    box, size = (907, 401, 79, 159), 26
    image = pixelate_region(jpeg(Image.fromarray(textured_photo(rng, 768, 1024)), 10), box=box, block_size=size)
    candidates = _candidates(np.asarray(jpeg(image, 85).convert("L"), np.float32))
    assert sum(_codec_grid(*c[1:4]) for c in candidates) <= MAX_CODEC_CANDIDATES
    assert (size, box[0] % size, box[1] % size) in [c[1:4] for c in candidates]


def test_a_large_mosaics_coarser_lattices_leave_room_for_a_small_one():
    # A large mosaic's edges also vote for two, three and four times its blocks at its phase (neighbouring blocks
    # that happen to be equal): those lattices must not crowd out a small mosaic's elsewhere in the image.
    rng = np.random.default_rng(11)
    image = Image.fromarray(textured_photo(rng, 600, 800))
    large, small = ((100, 97, 290, 300), 16), ((522, 441, 57, 82), 8)
    for box, size in (large, small):
        image = pixelate_region(image, box=box, block_size=size)
    coded = jpeg(image, 85)
    candidates = [c[1:4] for c in _candidates(np.asarray(coded.convert("L"), np.float32))]
    assert (32, 100 % 32, 97 % 32) not in candidates  # on the large mosaic's lines: found with it
    found = find_mosaics(coded)
    for box, size in (large, small):
        assert iou(match(found, box, size).box, box) >= 0.9


# Blocks over a smooth sky keep one value along a row and step to the next row only: after JPEG they are not
# evidence on their own, but they belong to the box when they step to a neighbour. With large blocks, JPEG also
# rings a few pixels into the sky block above each strong step, and the sky rows reach more than two blocks
# beyond the blocks that differ from all sides.
@pytest.mark.parametrize(
    ("seed", "colour", "slope", "ground", "box", "size"),
    [(5, (90, 140, 230), (0.5, 0.4, -0.2), 120, (60, 20, 150, 170), 13),
     (0, (60, 90, 200), (0.3, 0.3, -0.1), 110, (50, 21, 110, 169), 29)],
)  # fmt: skip
def test_jpeg_blocks_over_a_sky_gradient_are_in_the_box(seed, colour, slope, ground, box, size):
    rng = np.random.default_rng(seed)
    yy = np.mgrid[:260, :280][0]
    sky = np.stack([c + s * yy for c, s in zip(colour, slope, strict=True)], axis=-1)
    image = np.clip(sky + rng.normal(0, 1.0, sky.shape), 0, 255).astype(np.uint8)
    image[ground:] = textured_photo(rng, 260 - ground, 280)
    found = find_mosaics(jpeg(pixelate_region(Image.fromarray(image), box=box, block_size=size), 85))
    assert iou(match(found, box, size).box, box) >= 0.9


# The top line of blocks lies over a smooth sky above the ground, and so does the exterior line above it: after
# JPEG the box must keep the first (its lattice still steps faintly) and leave out the second. Above the first, the
# sky looks as much like partial blocks as like an exterior: the box may take up to a partial block's width of it.
@pytest.mark.parametrize(("seed", "level", "slope"), [(0, 90, 0.15), (1, 90, 0.15), (5, 150, -0.2), (11, 150, -0.2)])
def test_jpeg_box_ends_between_two_smooth_lines(seed, level, slope):
    rng = np.random.default_rng(seed)
    rows = np.arange(260, dtype=float)[:, None, None]
    image = np.clip(level + slope * rows + rng.normal(0, 1.0 if level == 150 else 1.5, (260, 280, 3)), 0, 255)
    image[108:] = textured_photo(rng, 152, 280)
    box, size = (40, 88, 132, 112), 20
    found = find_mosaics(jpeg(pixelate_region(Image.fromarray(image.astype(np.uint8)), box=box, block_size=size), 85))
    x, y, w, h = match(found, box, size).box
    assert box[1] - size < y <= box[1] and (x, w, y + h) == (box[0], box[2], box[1] + box[3])


# The last full row of blocks is one colour (a flat band), so it does not step between its blocks; the partial
# row below it does, and after JPEG it still belongs to the box.
@pytest.mark.parametrize("seed", [0, 2, 4, 7])
def test_jpeg_partial_row_below_a_row_of_one_colour(seed):
    rng = np.random.default_rng(seed)
    size, box = 24, (40, 40, 150, 4 * 24 + 21)
    image = textured_photo(rng, 240, 260)
    image[40 + 3 * size : 40 + 4 * size] = np.clip(np.array([90, 150, 80]) + rng.normal(0, 1, (size, 260, 3)), 0, 255)
    found = find_mosaics(jpeg(pixelate_region(Image.fromarray(image), box=box, block_size=size), 85))
    best = match(found, box, size)
    assert abs(best.box[1] + best.box[3] - (box[1] + box[3])) <= 3, best


# The upper line of blocks lies over a faint haze: its blocks differ by less than a level, so they vote for
# nothing, but after JPEG its lattice still steps above the blocks' calm inside, and it joins the box.
@pytest.mark.parametrize("seed", [6, 11])
def test_jpeg_line_of_blocks_over_a_haze_joins_the_box(seed):
    rng = np.random.default_rng(seed)
    haze = ndimage.gaussian_filter(rng.normal(0, 1, (260, 280)), 12)
    haze *= 1.0 / haze.std()
    image = np.clip((140 + haze)[..., None] + np.array([0, 15, 60]) + rng.normal(0, 0.8, (260, 280, 3)), 0, 255)
    image[110:] = textured_photo(rng, 150, 280)
    box, size = (40, 58, 150, 166), 26
    found = find_mosaics(jpeg(pixelate_region(Image.fromarray(image.astype(np.uint8)), box=box, block_size=size), 85))
    assert iou(match(found, box, size).box, box) >= 0.9


def ridge_and_hill(seed: int, height: int = 300, width: int = 320) -> Image.Image:
    """A bright sky above a wavy ridge, a smooth grey haze below it, and a dark textured hillside across the bottom."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:height, :width].astype(float)
    haze = 200 - 0.12 * y + ndimage.gaussian_filter(rng.normal(0, 3, (height, width)), 3)
    ridge = 70 + 6 * np.sin(x / 17 + seed) + 3 * np.sin(x / 5)
    lum = np.where(y < ridge, 235 + ndimage.gaussian_filter(rng.normal(0, 4, (height, width)), 1), haze)
    ground = 60 + ndimage.gaussian_filter(rng.normal(0, 14, (height, width)), 1.2)
    lum = np.where(y > 250 - 0.35 * x + 4 * np.sin(x / 9), ground, lum)
    return Image.fromarray(np.clip(lum[..., None] * np.array([0.97, 1.0, 1.04]), 0, 255).astype(np.uint8))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_jpeg_calm_middle_of_a_mosaic_between_two_lines_of_blocks(seed):
    # Blocks step along the ridge at the top and along the hillside at the bottom; in between, over the haze, they
    # are calm, for lines and lines. After JPEG the learned cell verdict weighs the calm lines as a little against
    # and the blocks beyond them as far more for: one box, from the ridge to the bottom.
    box, size = (60, 60, 190, 210), 10
    (m,) = find_mosaics(jpeg(pixelate_region(ridge_and_hill(seed), box=box, block_size=size), 85))
    assert m.block_size == size and max(abs(a - b) for a, b in zip(m.box, box, strict=True)) <= 2, m


@pytest.mark.parametrize("seed", [0, 1])
def test_jpeg_mosaic_is_carved_out_of_a_calm_area_around_it(seed):
    # A mosaic over a textured object amid a smooth backdrop, after JPEG: out of the lattice's cells over the
    # whole image, the learned verdict's most likely box is the mosaic's full cells.
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:340, 0:408]
    luma = 120 + 0.05 * x + 0.03 * y + 3 * np.sin(x / 40) * np.cos(y / 50)
    texture = ndimage.gaussian_filter(rng.normal(0, 1, x.shape), 4) * 120
    inside = (x - 204) ** 2 / 90**2 + (y - 170) ** 2 / 80**2 < 1
    luma = luma + np.where(inside, texture, 0)
    box, size = (119, 102, 170, 136), 17
    values, luma = planes_and_luma(jpeg(pixelate_region(tinted(luma), box=box, block_size=size), 85))
    assert _carved(values, luma, size, (0, 0, 24 * size, 20 * size)) == (6, 14, 7, 17)


@pytest.mark.parametrize(("photo", "size"), [("moose", 3), ("moose", 4), ("cat", 4), (None, 3)])
def test_jpeg_a_patch_of_small_blocks_grows_to_the_whole_mosaic(photo, size):
    # After heavy JPEG, blocks of 3-4 px pass the cell tests in a patch only (most cells ripple too much to count
    # as flat). The learned verdict, weighed again around its box while that grows, takes in the whole mosaic.
    image = Image.fromarray(textured_photo(np.random.default_rng(3), 240, 300)) if photo is None else example(photo)
    box = (37, 29, 170, 150)
    found = find_mosaics(jpeg(pixelate_region(image, box=box, block_size=size), 75))
    assert iou(match(found, box, size).box, box) >= 0.9


@pytest.mark.parametrize(("photo", "size", "quality"), [("moose", 4, 85), ("cat", 3, 85), (None, 4, 75)])
def test_jpeg_small_blocks_most_of_whose_cells_ripple(photo, size, quality):
    # Over fur or grass, JPEG leaves a third of 3-4 px cells rippling more than a calm block may: hundreds of
    # cells that still step clearly, far above their ripples, are a mosaic all the same.
    image = Image.fromarray(textured_photo(np.random.default_rng(3), 240, 300)) if photo is None else example(photo)
    box = (37, 29, 170, 150)
    found = find_mosaics(jpeg(pixelate_region(image, box=box, block_size=size), quality))
    assert iou(match(found, box, size).box, box) >= 0.9


@pytest.mark.parametrize("direction", [-1, 1])
def test_a_calm_line_of_blocks_joins_the_box_when_blocks_lie_beyond_it(direction):
    # Lines of cells beside a box's side, outwards: one calm line (blocks of one value over an even area: unsure
    # on its own), then a line of blocks that step from row to row, then texture. The box takes in both lines.
    rng = np.random.default_rng(0)
    size, rows = 12, 10
    lines = [rng.normal(128, 30, (rows * size, size))]  # texture
    lines.append(np.repeat(rng.integers(40, 220, rows), size)[:, None].repeat(size, axis=1).astype(float))
    lines.append(np.full((rows * size, size), 100.0))  # the calm line
    lines += [np.repeat(rng.integers(40, 220, rows), size)[:, None].repeat(size, axis=1).astype(float)] * 6
    luma = np.concatenate(lines if direction < 0 else lines[::-1], axis=1)
    luma += rng.normal(0, 0.2, luma.shape)
    width = luma.shape[1]
    side, other = (3 * size, width) if direction < 0 else (width - 3 * size, 0)
    assert _refine_side(luma, size, side, other, (0, rows * size), direction) == side + direction * 2 * size


@pytest.mark.parametrize("seed", [2, 3, 4, 5])
def test_a_dim_line_of_blocks_that_slopes_a_little_is_not_cut(seed):
    # A line of cells over a dim area after JPEG: each cell slopes a little inside, and from one row of blocks to the
    # next the line steps by a level or so, too little above the ripples for most single columns. Over all its
    # columns the lattice still steps well above the ripples: unsure (left to the cells around), not cut. The same
    # slope without the lattice's steps is cut.
    rng = np.random.default_rng(seed)
    size, rows, lo = 8, 12, 3  # the lattice's lines off JPEG's 8 x 8 grid
    verdicts = []
    for stepping in (True, False):
        luma = np.tile(50 + 0.5 * np.arange(40, dtype=float), (120, 1))
        if stepping:
            luma[lo : lo + rows * size] += np.repeat(np.cumsum(rng.choice([-1.3, 1.3], rows)), size)[:, None]
        luma += rng.normal(0, 0.45, luma.shape)
        verdicts.append(_line_is_blocks(luma, size, 16, (lo, lo + rows * size)))
    assert verdicts == [None, False]


@pytest.mark.parametrize("seed", [3, 4, 7])
def test_jpeg_box_does_not_grow_over_a_flat_backdrop(seed):
    # The mosaic's right blocks meet a backdrop of one colour that runs to the image's right border. After JPEG the
    # learned verdict takes its flat cells for blocks (a mosaic over it would look the same), but no lattice line
    # steps there: the box ends where the blocks show (a partial block of 5 px lies over the backdrop).
    image = textured_photo(np.random.default_rng(seed), 240, 320)
    image[:, 180:] = np.array([170, 225, 80])
    box, size = (60, 50, 125, 130), 10
    found = find_mosaics(jpeg(pixelate_region(Image.fromarray(image), box=box, block_size=size), 85))
    best = match(found, box, size)
    assert best.box[0] + best.box[2] <= 190 and iou(best.box, box) >= 0.9, best


def test_pieces_of_one_lattice_are_joined():
    # Small blocks after JPEG pass the cell tests in patches: pieces on one lattice within a block of each other
    # are one mosaic; other lattices, other sizes and pieces further apart stay apart.
    pieces = [Mosaic((140, 142, 139, 44), 4, (140, 142), 0.9), Mosaic((142, 122, 77, 18), 4, (144, 122), 0.8)]
    others = [
        Mosaic((143, 100, 40, 16), 4, (143, 100), 0.5),  # one pixel off the lattice
        Mosaic((140, 60, 40, 40), 4, (140, 60), 0.5),  # more than a block away
        Mosaic((200, 100, 40, 15), 5, (200, 100), 0.5),  # another block size
    ]
    (joined, *rest) = _merged(pieces + others)
    assert joined == Mosaic((140, 122, 139, 64), 4, (140, 122), 0.9)
    assert rest == others


def test_a_coarser_lattice_inside_a_mosaic_is_no_mosaic_of_its_own():
    # Equal neighbouring blocks (two white blocks over a gap between lines of text) make a coarser lattice of
    # constant cells: a piece of it that lies half or more inside a mosaic on that mosaic's lattice is dropped.
    fine = Mosaic((125, 183, 218, 64), 4, (125, 183), 0.9)
    pieces = [Mosaic((177, 235, 28, 16), 8, (177, 235), 0.6), Mosaic((297, 179, 32, 16), 8, (297, 179), 0.6)]
    others = [
        Mosaic((178, 235, 28, 16), 8, (178, 235), 0.5),  # off the fine lattice
        Mosaic((177, 241, 28, 16), 8, (177, 241), 0.5),  # less than half inside
        Mosaic((177, 235, 30, 15), 6, (177, 235), 0.5),  # blocks not whole multiples of the fine ones
    ]
    assert _merged([*pieces, fine, *others]) == [fine, *others]


@pytest.mark.parametrize(("seed", "quality"), [(2, 95), (2, 85), (3, 85), (4, 85), (5, 95), (7, 95), (7, 85)])
def test_jpeg_mosaic_over_text(seed, quality):
    # After JPEG a page's white (or at quality 95 some grey blocks too) is exactly constant, as blocks are when
    # lossless: cells of one or two colours, or a few of many, must not make the lattice be judged as lossless.
    # Seed 4: a partial row that hardly steps ends where the calm does; seed 5: a row of white blocks over the
    # margin goes on into the page's white, no partial row.
    _, image, box, size = text_case(np.random.default_rng(seed), "mean")
    (m,) = find_mosaics(jpeg(image, quality))
    assert m.block_size == size and iou(m.box, box) >= 0.9


@pytest.mark.parametrize("factor", [2, 3])
def test_whole_image_upscaled(photos, factor):
    image = pixelate_region(photos[1], box=(30, 20, 100, 80), block_size=6)
    big = image.resize((image.width * factor, image.height * factor), Image.NEAREST)
    (m,) = find_mosaics(big)
    assert m.block_size == 6 * factor
    assert m.box == (30 * factor, 20 * factor, 100 * factor, 80 * factor)


def ui_screenshot(seed: int) -> Image.Image:
    """A flat UI: title bar, buttons, a side panel with text, a table with grid lines, flat swatches."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (400, 300), (236, 239, 242))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 400, 28), fill=(33, 150, 243))
    for i in range(5):
        draw.rounded_rectangle((8 + 40 * i, 36, 40 + 40 * i, 60), 4, fill=(76, 175, 80), outline=(200, 200, 200))
        draw.text((14 + 40 * i, 42), "Btn", fill=(0, 0, 0))
    draw.rectangle((0, 68, 120, 300), fill=(250, 250, 250))
    for i in range(8):
        draw.text((10, 78 + 20 * i), f"Item {i}", fill=(40, 40, 40))
    for r in range(7):
        draw.rectangle((130, 80 + 20 * r, 380, 100 + 20 * r), fill=(255, 255, 255) if r % 2 else (245, 247, 250))
        for c in range(5):
            draw.text((134 + 50 * c, 84 + 20 * r), str(int(rng.integers(0, 999))), fill=(20, 20, 20))
        draw.line((130, 80 + 20 * r, 380, 80 + 20 * r), fill=(200, 200, 200))
    for c in range(6):
        draw.line((130 + 50 * c, 80, 130 + 50 * c, 220), fill=(200, 200, 200))
    for i in range(8):
        for j in range(2):
            colour = tuple(int(v) for v in rng.integers(0, 256, 3))
            draw.rectangle((130 + 24 * i, 240 + 24 * j, 146 + 24 * i, 256 + 24 * j), fill=colour, outline=(90, 90, 90))
    return image


def test_no_false_alarms_on_clean_images():
    rng = np.random.default_rng(11)
    clean = [Image.fromarray(smooth_photo(rng, 160, 200)) for _ in range(3)]
    clean += [Image.fromarray(textured_photo(rng, 160, 200)) for _ in range(3)]
    flat = np.full((160, 200, 3), 200, np.uint8)
    flat[:, 100:] = (40, 90, 160)  # two flat walls
    clean += [Image.fromarray(flat), ui_screenshot(0), ui_screenshot(1), text_page(rng, 480, 360)]
    for image in clean:
        assert find_mosaics(image) == []
        assert find_mosaics(jpeg(image, 85)) == []


def test_tiny_and_flat_images():
    assert find_mosaics(np.zeros((4, 4), np.uint8)) == []
    assert find_mosaics(np.full((50, 60, 3), 128, np.uint8)) == []


def test_cli_detect_prints_json(photos, tmp_path, capsys):
    pixelate_region(photos[0], box=(40, 30, 96, 80), block_size=8).save(tmp_path / "m.png")
    photos[0].save(tmp_path / "clean.png")
    assert main(["detect", str(tmp_path / "m.png"), str(tmp_path / "clean.png")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [r["file"] for r in report] == [str(tmp_path / "m.png"), str(tmp_path / "clean.png")]
    (m,) = report[0]["mosaics"]
    assert m["box"] == [40, 30, 96, 80] and m["block_size"] == 8 and m["offset"] == [40, 30]
    assert 0 <= m["score"] <= 1 and report[1]["mosaics"] == []
    assert main(["detect", str(tmp_path / "missing.png")]) == 2
    assert "not found" in capsys.readouterr().err


@pytest.fixture(scope="module")
def depixelator():
    torch.manual_seed(0)
    return Depixelator(DepixNet(ModelConfig(base_channels=8, depth=2, convs_per_level=1, max_channels=16)))


def test_restore_without_a_box_uses_detection(photos, depixelator):
    image = photos[0]
    for box, size in BOXES[:2]:
        image = pixelate_region(image, box=box, block_size=size)
    restored = depixelator.restore(image)
    expected = image
    for box, size in BOXES[:2]:
        expected = depixelator.restore(expected, box=box, block_size=size, offset=box[:2])
    assert np.array_equal(np.asarray(restored), np.asarray(expected))
    assert not np.array_equal(np.asarray(restored), np.asarray(image))


def test_restore_without_a_box_and_no_mosaic_says_so(photos, depixelator):
    with pytest.raises(InputError, match="no pixelated region was found"):
        depixelator.restore(photos[0])


# Above the mosaic lies a smooth sky that darkens upwards: after JPEG its cells are calm and step a little into
# each other, so they vote for the box; but inside each cell the sky slopes, where a block is flat. (JPEG rings
# in the two rows next to the box's edge: a partial row that thin may be taken.)
@pytest.mark.parametrize("seed", [0, 5, 10])
def test_jpeg_box_stops_at_a_sloping_sky(seed):
    rng = np.random.default_rng(seed)
    height, width = 260, 300
    sky = 60 + 0.9 * np.arange(height)[:, None, None] + np.array([10, 0, -20]) + rng.normal(0, 0.6, (height, width, 3))
    image = np.clip(sky, 0, 255)
    image[120:] = textured_photo(rng, height - 120, width)
    box, size = (60, 120, 180, 120), 20
    found = find_mosaics(jpeg(pixelate_region(Image.fromarray(image.astype(np.uint8)), box=box, block_size=size), 85))
    x, y, w, h = match(found, box, size).box
    assert box[1] - 2 <= y <= box[1] and (x, w, y + h) == (box[0], box[2], box[1] + box[3])


@pytest.mark.parametrize(("size", "quality"), [(4, 85), (5, 75)])
def test_jpeg_small_blocks_over_a_smooth_photo(size, quality):
    # Cells this small are no use for telling a flat block from a sloping exterior: the box's lines are judged by
    # the lattice's steps alone, and the judging never walks a side past the other.
    image = Image.fromarray(smooth_photo(np.random.default_rng(5), 200, 240))
    box = (40, 30, 150, 120)
    found = find_mosaics(jpeg(pixelate_region(image, box=box, block_size=size), quality))
    for x, y, w, h in (m.box for m in found):
        assert x >= 0 and y >= 0 and x + w <= 240 and y + h <= 200


@pytest.mark.parametrize("seed", [78, 143])
def test_jpeg_box_sides_never_cross(seed):
    # A box's lines are judged from both sides in turn, so that cutting from one side sees what the other cut: on
    # these strongly compressed smooth photos, cuts from both sides at once once left boxes of negative size.
    rng = np.random.default_rng(seed)
    height, width = int(rng.integers(8, 400)), int(rng.integers(8, 400))
    rng.random()
    image = Image.fromarray(smooth_photo(rng, height, width))
    rng.integers(0, 3)
    for x, y, w, h in (m.box for m in find_mosaics(jpeg(image, int(rng.integers(40, 100))))):
        assert x >= 0 and y >= 0 and w > 0 and h > 0 and x + w <= width and y + h <= height


def dim_photo(seed: int, height: int = 220, width: int = 260) -> Image.Image:
    """A dim, even photo: slow waves of a few levels and noise, so that large blocks over it differ by little."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:height, :width]
    base = 60 + 6 * np.sin(xx / 17.0 + seed) * np.cos(yy / 23.0) + 0.02 * xx
    rgb = np.stack([base, base + 4, base + 9], axis=-1) + rng.normal(0, 3, (height, width, 3))
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize(("box", "size"), [((50, 40, 91, 127), 24), ((30, 30, 129, 90), 31)])
def test_few_large_blocks_that_barely_differ(seed, box, size):
    # Three by five (four by two) exactly constant blocks a few levels apart: too few steps to be clear, but
    # thousands of constant pixels in blocks larger than any codec's.
    (m,) = find_mosaics(pixelate_region(dim_photo(seed), box=box, block_size=size))
    assert (m.box, m.block_size) == (box, size)


@pytest.mark.parametrize("seed", [0, 3, 5, 6, 7])
def test_jpeg_two_rows_of_large_blocks_each_of_one_colour(seed):
    # Two by two blocks of 29 px (and partial ones) after JPEG, the upper row over one even band and the lower row
    # over another: no block steps to two neighbours, but they are calm inside and the lattice steps far more at
    # its lines than between them, and than around the box.
    rng = np.random.default_rng(seed)
    image = textured_photo(rng, 220, 260).astype(float)
    box, size = (60, 50, 76, 79), 29
    x, y = box[:2]
    for row, colour in enumerate(([150, 140, 110], [132, 122, 95])):
        band = np.array(colour) + rng.normal(0, 4, (size, 2 * size, 3))
        image[y + row * size : y + (row + 1) * size, x : x + 2 * size] = band
    photo = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
    found = find_mosaics(jpeg(pixelate_region(photo, box=box, block_size=size), 85))
    assert iou(match(found, box, size).box, box) >= 0.9


def test_jpeg_few_large_blocks():
    # Three by two full blocks of 32 pixels and partial ones after JPEG: half the blocks step clearly.
    box, size = (40, 30, 127, 73), 32
    photo = Image.fromarray(textured_photo(np.random.default_rng(4), 200, 240))
    (m,) = find_mosaics(jpeg(pixelate_region(photo, box=box, block_size=size), 85))
    assert m.block_size == size and iou(m.box, box) >= 0.9


def rippled_photo(seed: int, height: int = 240, width: int = 300) -> Image.Image:
    """Fine ripples (water, grain) over slow waves: blocks average the ripples away and differ by a few levels."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:height, :width]
    base = 150 + 10 * np.sin(xx / 29.0 + seed) * np.cos(yy / 37.0)
    ripples = 2 * ndimage.gaussian_filter(rng.normal(0, 4, (height, width)), 0.8)
    rgb = np.stack([base + ripples + 20, base + ripples, base + ripples - 25], axis=-1)
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))


@pytest.mark.parametrize("seed", [1, 3, 5])
def test_jpeg_calm_mosaic_in_ripples(seed):
    # After JPEG the blocks barely step at their borders; what shows them is that the lattice steps far above
    # the columns between its lines inside the box and not around it. The clean photo has no such lattice.
    box, size = (80, 40, 120, 130), 14
    photo = rippled_photo(seed)
    (m,) = find_mosaics(jpeg(pixelate_region(photo, box=box, block_size=size), 85))
    assert m.block_size == size and iou(m.box, box) >= 0.9
    assert find_mosaics(jpeg(photo, 85)) == []


@pytest.mark.parametrize("seed", [2, 4, 5])
def test_jpeg_strip_two_blocks_high_in_ripples(seed):
    # A strip two blocks high: after JPEG few rows step on their own where these blocks meet (the ripples drown
    # them), but the mean step of a band of rows still stands out there.
    box, size = (40, 50, 200, 60), 28
    (m,) = find_mosaics(jpeg(pixelate_region(rippled_photo(seed), box=box, block_size=size), 85))
    assert m.block_size == size and iou(m.box, box) >= 0.9


@pytest.mark.parametrize("seed", [0, 3])
def test_jpeg_calm_mosaic_of_few_large_blocks(seed):
    # Three by four blocks of 26 pixels over ripples: too few cells for a faint lattice, unless it is far clearer.
    box, size = (80, 40, 85, 117), 26
    (m,) = find_mosaics(jpeg(pixelate_region(rippled_photo(seed), box=box, block_size=size), 85))
    assert m.block_size == size and iou(m.box, box) >= 0.9


@pytest.mark.parametrize("seed", [0, 2, 4])
def test_jpeg_partial_row_of_one_colour_over_texture(seed):
    # The last rows of blocks lie over an even band: after JPEG they hardly step between each other, but they stay
    # as calm as the blocks inside until the textured exterior starts.
    box, size = (40, 30, 150, 117), 17
    image = textured_photo(np.random.default_rng(seed), 200, 240).astype(float)
    yy, xx = np.mgrid[:200, :240]
    band = slice(box[1] + 85, box[1] + box[3])  # the last full row of blocks and the partial row
    image[band] = (110 + 0.05 * xx + 0.3 * (yy - 115))[band][..., None] + np.array([0, 8, 20])
    photo = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
    (m,) = find_mosaics(jpeg(pixelate_region(photo, box=box, block_size=size), 85))
    assert m.block_size == size and iou(m.box, box) >= 0.9


@pytest.mark.parametrize(("seed", "part"), [(0, 21), (6, 16), (11, 11)])
def test_jpeg_partial_column_of_one_colour_beside_texture(seed, part):
    # Two rows of blocks; the partial column lies over an even band, so its blocks do not step between each other,
    # and right beyond it the texture starts: the partial blocks end where the calm ends.
    size = 26
    box = (40, 50, 3 * size + part, 2 * size + 10)
    image = textured_photo(np.random.default_rng(seed), 200, 240)
    image[:, box[0] + 3 * size : box[0] + box[2]] = (120, 130, 145)
    (m,) = find_mosaics(jpeg(pixelate_region(Image.fromarray(image), box=box, block_size=size), 85))
    assert m.block_size == size and iou(m.box, box) >= 0.97


def test_blocks_in_equal_pairs_over_a_flat_band_stay_one_mosaic():
    # The left part of a wide mosaic of 10-pixel blocks lies over a flat band whose level changes every 20 pixels:
    # there its blocks come in equal pairs, a lattice of 20 of its own. Side by side with the same rows, the two
    # pieces are one mosaic, with the finer block size.
    image = textured_photo(np.random.default_rng(0), 160, 420).astype(float)
    yy, xx = np.mgrid[:160, :420]
    band = 120 + 3 * ((xx - 9) // 20 % 4) + 4 * (yy // 20 % 3)
    image[:51, :220] = band[:51, :220, None] + np.array([0, 10, 25])
    box, size = (29, 0, 350, 51), 10
    photo = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
    (m,) = find_mosaics(pixelate_region(photo, box=box, block_size=size))
    assert m.block_size == size and iou(m.box, box) >= 0.9


def grainy_photo(seed: int, height: int = 220, width: int = 260) -> Image.Image:
    """An even, grainy area (a sensor's noise over a faint gradient): blocks over it differ by a level or less."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:height, :width]
    base = 50 + 0.03 * xx + 0.02 * yy
    rgb = np.stack([base, base + 10, base + 60], axis=-1) + rng.normal(0, 4, (height, width, 3))
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize(("box", "size"), [((50, 40, 131, 97), 12), ((70, 50, 95, 145), 9)])
def test_mosaic_of_a_grainy_area(seed, box, size):
    # The mosaic shows as a calm patch in the grain, but its blocks step by a level or less, in one channel:
    # losslessly that is still a step between exactly constant blocks.
    photo = grainy_photo(seed)
    (m,) = find_mosaics(pixelate_region(photo, box=box, block_size=size))
    assert (m.box, m.block_size) == (box, size)
    assert find_mosaics(photo) == []


@pytest.mark.parametrize("seed", [21, 24])
def test_jpeg_two_by_two_large_blocks_half_of_them_faint(seed):
    # Two by two full blocks of 29 pixels and partial ones: two of the four step clearly, but the lattice's
    # lines step far more than anything else inside, and little around.
    box, size = (40, 30, 76, 86), 29
    photo = Image.fromarray(textured_photo(np.random.default_rng(seed), 240, 300))
    (m,) = find_mosaics(jpeg(pixelate_region(photo, box=box, block_size=size), 85))
    assert m.block_size == size and iou(m.box, box) >= 0.9


@pytest.mark.parametrize("seed", [0, 2, 6])
def test_jpeg_two_by_two_large_blocks_with_narrow_partial_ones(seed):
    # 64 x 74 pixels of 28-pixel blocks: partial blocks under half a block wide, so the box is less than 2.5
    # blocks each way; the plain lattice shows it is a mosaic.
    box, size = (60, 40, 64, 74), 28
    photo = Image.fromarray(textured_photo(np.random.default_rng(seed), 200, 240))
    (m,) = find_mosaics(jpeg(pixelate_region(photo, box=box, block_size=size), 85))
    assert m.block_size == size and iou(m.box, box) >= 0.9


@pytest.mark.parametrize("seed", [7, 9])
def test_jpeg_faint_lattice_of_large_blocks_over_a_dim_area(seed):
    # Six by five blocks of 28 pixels that step by about a level: the lattice's lines step far more than the
    # rest of the box, little around it.
    box, size = (30, 40, 178, 148), 28
    (m,) = find_mosaics(jpeg(pixelate_region(dim_photo(seed, 240, 300), box=box, block_size=size), 85))
    assert m.block_size == size and iou(m.box, box) >= 0.9


def faint_sky(seed: int, height: int = 300, width: int = 280) -> Image.Image:
    """A smooth, faintly varying blue sky with a little sensor noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = 120 + 30 * y / height + 6 * np.sin(x / 37 + seed) + 4 * np.cos(y / 23 + 2 * seed)
    image = base[..., None] + np.array([10, 20, 45]) + rng.normal(0, 0.7, (height, width, 3))
    return Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))


# Large blocks of a smooth sky step by a few levels; inside a JPEG block such a step is spread over three pixels,
# where no single pixel's change stands out.
@pytest.mark.parametrize(("seed", "box", "size"), [(4, (103, 39, 130, 150), 28), (11, (33, 91, 82, 172), 25)])
def test_jpeg_large_blocks_of_a_smooth_sky(seed, box, size):
    found = find_mosaics(jpeg(pixelate_region(faint_sky(seed), box=box, block_size=size), 85))
    assert iou(match(found, box, size).box, box) >= 0.9
    assert find_mosaics(jpeg(faint_sky(seed), 85)) == []


# Components as _verify measured them after JPEG 85: a mosaic of 19-pixel blocks over a dark tyre tread and the
# white background below it (its cells by the white ring, so fewer are calm, and the tread's blocks step by a level
# or two), and flat swatches of a screenshot on a 7-pixel grid, whose lattice is as plain but over short edges.
TREAD = {
    "codec_grid": False,
    "size": 19,
    "constant": 46,
    "lossless": False,
    "cells": 34,
    "density": 0.88,
    "strong": 0.35,
    "step": 3.63,
    "ripple": 0.44,
    "colours": 16,
    "inside": 35.79,
    "border": 1.79,
    "around": 1.34,
}
SWATCHES = {"codec_grid": False, "size": 7, "constant": 14, "lossless": False, "cells": 11, "density": 0.88,
            "strong": 0.55, "step": 127.01, "ripple": 1.76, "colours": 8, "inside": 147.2, "border": 65.34,
            "around": 0.9}  # fmt: skip


def test_a_plain_lattice_over_enough_edge_length_is_a_mosaic():
    assert _accept(TREAD)
    assert not _accept({**TREAD, "inside": 15.0})  # the lattice no plainer than texture's faint ones
    assert not _accept({**TREAD, "around": 5.0})  # it runs on around the box
    assert not _accept(SWATCHES)


# A mosaic of 8-pixel blocks off JPEG's grid (86 x 169 px over a dim photo, JPEG 85) as _verify measured it: every
# JPEG block holds a block's corner and rings, so the cells ripple at 0.39 of their median step, but they are
# many, of many colours, and two in five step clearly.
RINGING_BLOCKS = {"codec_grid": False, "size": 8, "constant": 206, "lossless": False, "cells": 126, "density": 0.98,
                  "strong": 0.47, "step": 2.12, "ripple": 0.83, "colours": 50, "inside": 2.92, "border": 0.88,
                  "around": 0.92}  # fmt: skip


def test_hundreds_of_ringing_cells_that_step_clearly_are_a_mosaic():
    assert _accept(RINGING_BLOCKS)
    assert not _accept({**RINGING_BLOCKS, "strong": 0.3})  # fewer clear steps: a smooth area's faint lattice
    assert not _accept({**RINGING_BLOCKS, "ripple": 1.2})  # ripples over half the step: texture
    assert not _accept({**RINGING_BLOCKS, "cells": 80, "constant": 130})
    assert not _accept({**RINGING_BLOCKS, "colours": 30})


# A mosaic of 30-pixel blocks over a pale wall and the corner of a cardboard box (156 x 148 px, JPEG 85) as _verify
# measured it: its cells are calm and of many colours, two in five step clearly, but its median step is under 2
# levels (the wall's blocks differ by about one).
PALE_WALL = {"codec_grid": False, "size": 30, "constant": 45, "lossless": False, "cells": 21, "density": 1.0,
             "strong": 0.38, "step": 1.96, "ripple": 0.22, "colours": 16, "inside": 3.54, "border": 0.38,
             "around": 1.04}  # fmt: skip


def test_a_hazy_mosaic_may_step_by_less_than_two_levels():
    assert _accept(PALE_WALL)
    assert not _accept({**PALE_WALL, "step": 1.4})  # steps as small as a smooth area's own
    assert not _accept({**PALE_WALL, "ripple": 0.35})  # ripples too close to the step: texture
    assert not _accept({**PALE_WALL, "strong": 0.15})


def lossy_features(*values: float) -> dict:
    """A lossy component off any codec's grid as _verify measures it, from its size, constant cells, cells, density,
    strong share, step, ripple, colours, inside, border and around."""
    keys = ["size", "constant", "cells", "density", "strong", "step", "ripple", "colours", "inside", "border", "around"]
    return {"codec_grid": False, "lossless": False, **dict(zip(keys, values, strict=True))}


# A mosaic of 22-pixel blocks over a pale sky and the line of trees on the horizon below it (130 x 143 px, JPEG 85)
# as _verify measured it: few cells step clearly, but the lattice steps 15 times more at its lines than between
# them. The horizon steps along lines around the box too, so the lattice stands out from around it only 7 times.
HORIZON = lossy_features(22, 30, 13, 1.0, 0.38, 0.82, 0.11, 9, 15.14, 0.76, 2.02)
# The clearest such lattice of large cells on any clean corpus photo (scaled to 1024 px, JPEG 95, 85 and 75).
CLEAN_LATTICE = lossy_features(32, 28, 14, 1.0, 0.0, 1.01, 0.18, 10, 8.08, 0.71, 2.9)


# A mosaic of 9-pixel blocks over a smooth part of a photo (73 x 200 px, JPEG 85) as _verify measured it: few cells step
# clearly and the median step is under 2 levels, but its lattice steps four times more at its lines than between
# them, and not at all around the box. A clean photo's smooth area (JPEG 95) as it measured it: the same kind of
# lattice, stepping a quarter of a level at its lines.
SMOOTH_FAINT = lossy_features(9, 167, 72, 0.99, 0.17, 1.82, 0.58, 49, 4.33, 0.7, 0.95)
CLEAN_SMOOTH = lossy_features(8, 240, 57, 1.0, 0.0, 0.92, 0.16, 37, 5.0, 0.25, 0.71)


# Two by two blocks of 29 px over an animal's cheek (76 x 79 px, JPEG 85) as _verify measured them: each row of blocks
# is about one colour, so no block steps to two neighbours, but they are calm on a plain lattice. The calmest clean
# lattice of so few cells on as plain a lattice (JPEG 95-75) rippled 1.7 levels.
TWO_ROWS = lossy_features(29, 4, 4, 1.0, 0.0, 14.29, 0.6, 4, 189.48, 14.29, 1.42)
CLEAN_FEW = lossy_features(24, 4, 4, 1.0, 0.0, 21.11, 1.69, 4, 33.41, 21.04, 1.9)


@pytest.mark.parametrize(
    ("mosaic", "changes", "clean"),
    [
        # Not six times clearer than around the box; blocks no larger than JPEG's and a half; ripples too close to
        # the step.
        (HORIZON, [{"around": 3.0}, {"size": 12}, {"ripple": 0.3}], CLEAN_LATTICE),
        # The lattice runs on around the box; too few cells; ripples too close to the step.
        (SMOOTH_FAINT, [{"around": 2.0}, {"cells": 30, "constant": 70}, {"ripple": 0.7}], CLEAN_SMOOTH),
        # Not every cell calm (a mosaic's coarser lattice, pairs of its blocks); a lattice not plain; two colours.
        (TWO_ROWS, [{"cells": 5, "density": 0.8}, {"inside": 15.0}, {"colours": 2}], CLEAN_FEW),
    ],
)
def test_faint_lattices_pass_and_the_nearest_clean_ones_do_not(mosaic, changes, clean):
    assert _accept(mosaic)
    for change in changes:
        assert not _accept({**mosaic, **change})
    assert not _accept(clean)


# Faint lattices of clean large photos at their own size (1885 x 1060 px and over) as _verify measured them: a
# smooth backdrop's banding (runs of one level, a few pixels wide, partly upscaled) lines up with a lattice of
# 14-16 px over a few cells (a photo stored losslessly), or over more cells, stepping between its lines too (one
# in five of those steps reaches half the lattice's, JPEG 85). A mosaic of 18-pixel blocks over a calm area (JPEG
# 85), as faint, spans longer edges and steps at its lines only.
BANDS_FEW = lossy_features(14, 12, 8, 1.0, 0.0, 0.89, 0.16, 7, 20.39, 1.02, 0.87)
BANDS_BETWEEN = {**lossy_features(16, 16, 11, 1.0, 0.0, 1.0, 0.14, 7, 15.0, 0.75, 2.1), "off_share": 0.22}
CALM_BLOCKS = {**lossy_features(18, 30, 11, 1.0, 0.0, 0.89, 0.11, 6, 15.56, 0.78, 2.1), "off_share": 0.1}


def test_a_faint_lattice_needs_long_edges_and_steps_at_its_lines_only():
    assert _accept(CALM_BLOCKS)
    assert not _accept({**CALM_BLOCKS, "cells": 8, "constant": 22})  # 144 px of edges
    assert not _accept({**CALM_BLOCKS, "off_share": 0.2})
    assert _accept({**CALM_BLOCKS, "off_share": 0.2, "strong": 0.3})  # some cells step clearly: not faint
    assert not _accept(BANDS_FEW)
    assert not _accept(BANDS_BETWEEN)


# A lossless clean photo's smooth gradient (rows one level apart every 4 px) as _verify measured it: exactly constant
# 4 px cells off the codec grid, 19 of them in a strip three cells wide.
LOSSLESS_BANDS = {"codec_grid": False, "size": 4, "constant": 46, "lossless": True, "cells": 19, "density": 1.0,
                  "strong": 0.0, "step": 1.0, "ripple": 0.0, "colours": 13}  # fmt: skip


def test_a_faint_lossless_lattice_needs_long_edges():
    assert not _accept(LOSSLESS_BANDS)  # 76 px of edges
    assert _accept({**LOSSLESS_BANDS, "cells": 40})
    assert _accept({**LOSSLESS_BANDS, "strong": 0.3})  # some cells step clearly: not faint


# JPEG's own 8 x 8 blocks over a clean large photo's smooth area (JPEG 85) as _verify measured them: on JPEG's grid,
# stepping clearly, but one cell in five not calm. Off that grid, or all but one in ten calm, they would be a mosaic.
JPEG_BLOCKS = {"codec_grid": True, "size": 8, "constant": 56, "lossless": False, "cells": 42, "density": 0.78,
               "strong": 0.45, "step": 3.25, "ripple": 0.91, "colours": 30, "inside": 2.73, "border": 1.5,
               "around": 2.04, "off_share": 0.36}  # fmt: skip


def test_on_jpeg_grid_most_cells_must_be_calm():
    assert not _accept(JPEG_BLOCKS)
    assert _accept({**JPEG_BLOCKS, "codec_grid": False})
    assert _accept({**JPEG_BLOCKS, "density": 0.9})


# Six exactly constant 4 x 4 cells in a clean photo saved as lossy WebP: the codec decoded a smooth area's
# blocks flat, and they differ clearly. On no codec's grid, or in a dozen cells, they would be a mosaic.
WEBP_BLOCKS = {"codec_grid": True, "size": 4, "constant": 6, "lossless": True, "cells": 6, "density": 1.0,
               "strong": 1.0, "step": 7.0, "ripple": 0.0, "colours": 6}  # fmt: skip


def test_a_few_flat_cells_on_a_codec_grid_are_no_mosaic():
    assert not _accept(WEBP_BLOCKS)
    assert _accept({**WEBP_BLOCKS, "codec_grid": False})
    assert _accept({**WEBP_BLOCKS, "cells": 12, "constant": 12})


# Exactly constant 16 x 16 cells of a clean large photo at its own size (a JPEG source, stored losslessly): JPEG's
# units decoded flat over a smooth sky, on its grid, a level or less apart, in ten colours. In twice as many colours
# they would be a mosaic (one over a smooth area steps as little).
JPEG_UNITS = {"codec_grid": True, "size": 16, "constant": 105, "lossless": True, "cells": 22, "density": 0.97,
              "strong": 0.0, "step": 0.82, "ripple": 0.0, "colours": 10}  # fmt: skip


def test_flat_units_of_a_jpeg_sky_are_no_mosaic():
    assert not _accept(JPEG_UNITS)
    assert _accept({**JPEG_UNITS, "colours": 20})
    assert _accept({**JPEG_UNITS, "codec_grid": False})


# Ten cells of 16 px over a lizard's scales in a clean photo (a JPEG source at its own size): the bumps lie about
# a block apart, so the lattice steps clearly at some lines, but between them too (only 5.4 times less).
SCALES = {"codec_grid": False, "size": 16, "constant": 11, "lossless": False, "cells": 10, "density": 0.917,
          "strong": 0.5, "step": 46.1, "ripple": 2.81, "colours": 8, "inside": 5.45, "border": 5.03,
          "around": 0.8}  # fmt: skip


def test_a_few_cells_need_a_plain_lattice():
    assert not _accept(SCALES)
    assert _accept({**SCALES, "inside": 12.0})
    assert _accept({**SCALES, "cells": 14, "constant": 15})
