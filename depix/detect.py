"""Finding mosaics automatically: where an image was pixelated, its block size and its grid origin.

A mosaic leaves block edges: steps that are flat on both sides and run straight along a whole block.
1. Edges: in bands of 8 rows (columns), the columns (rows) where most rows step; the gap to the next edge
   of the band, when it is a block size, is a vote for that size and the edge's phase.
2. Lattices: where column votes and row votes of one size meet, each pair of phases is a candidate grid,
   heavier ones first. Strong votes of one way alone (a mosaic a few blocks high) take the other way's phase
   from where its lines of steps gather; one whose lines all lie on a heavier, finer one's is that mosaic seen
   coarser (equal neighbouring blocks) and is dropped. Then lattices of small steps that JPEG spread over three
   pixels (large blocks of a smooth sky); and lattices of any step, however small, between exactly constant
   pixels (a lossless mosaic of a grainy area, whose blocks differ by a level or less), checked only as mosaics
   of exactly constant cells in several colours; and lattices of edges where a band's mean step stands out
   (faint blocks amid ripples or grain, whose single steps drown in them after JPEG).
3. Cells: on a candidate grid every cell is checked. Lossless images: a mosaic's cells are exactly constant.
   After JPEG: calm inside compared with the steps at its borders, and two cells differ by a step right at
   their shared border (a smooth gradient spreads its change out). Cells vote for a box around them (the
   box with the largest sum of votes wins); a flat exterior, a wall or a white page, votes against.
4. The box is accepted on dense, many-coloured cells with clear steps (or, after JPEG, steps far above the
   cells' ripples, hundreds of such cells of blocks of a few pixels where a third of the cells ripple, four or
   five calm large blocks on a plain lattice, or a faint lattice that steps far more at its lines than between
   them inside the box and not around it, or less around it when it is clearer inside;
   losslessly, thousands of exactly constant pixels in blocks larger than a codec's). After JPEG
   a small learned network (trained by train/fit_cells.py on synthetic JPEG mosaics) weighs every cell up to 8
   lines around the box as a block or not, from its flatness, slope and ripples inside and the steps at its
   borders; the box of cells with the largest sum of that evidence replaces the box (a mosaic's calm stretch
   between lines of blocks joins it), and is weighed again around while it grows (small blocks pass the cell
   tests in patches); a side it grew to the image's border steps back over lines where the lattice shows no step
   (a flat backdrop). Then each outer line of cells is judged on its own: the lattice steps
   along it, or its cells are flat inside where a smooth exterior slopes; lines that fail are cut (not while the
   whole line's lattice still steps well above its ripples: dim blocks), lines beyond
   that pass join. Then the box is grown
   by the partial blocks cut at its border (after JPEG: the median width by a second small learned network,
   trained by train/fit_partials.py, that scores each column beyond the edge from its steps, calm and drift
   against the blocks' and the exterior's; or as far as the blocks' calm lasts before a textured exterior).
   Pieces of one lattice within a block of each other are one mosaic (small blocks after JPEG pass the cell tests
   in patches).
A whole image upscaled by nearest neighbour (k x k constant cells from the origin) is first brought back to
its own pixels. A mosaic over a flat area leaves no trace there: its box can only cover what shows.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from depix.images import open_image, to_planes

MIN_BLOCK, MAX_BLOCK = 3, 64
TILE = 16  # candidate regions are found on a grid of TILE x TILE tiles
BAND = 8  # block edges are found in bands of BAND rows (or columns)
MAX_CANDIDATES = 24  # lattices checked per image, most voted first (bounds the time on busy images)
MAX_SOFT_CANDIDATES = 3  # further lattices of small steps that JPEG spread over a few pixels
MAX_EXACT_CANDIDATES = 6  # further lattices of exactly constant cells with tiny steps (lossless images)
MAX_MEAN_CANDIDATES = 3  # further lattices from the mean steps of bands of rows (faint blocks in ripples)
MAX_CODEC_CANDIDATES = 6  # of which at most this many lie on a codec's grid (JPEG's 8 x 8 blocks and multiples)
UPSCALES = (4, 3, 2)  # whole-image nearest upscaling factors undone before detection
SLOPE = 0.6  # the most a mosaic cell's inside slopes after JPEG (mean of one half minus the other, 0..255)
STRONG = 3.0  # a mean luma step (0..255) across a cell's borders that counts as evidence of block edges
CELL_MODEL = Path(__file__).with_name("cell_model.json")  # weights of the learned cell verdict (train/fit_cells.py)
PARTIAL_MODEL = Path(__file__).with_name("partial_model.json")  # the learned partial width's (train/fit_partials.py)
REACH = 8  # lines of cells beyond a lossy box that the learned verdict may take in at a time
GROWTH = 16  # the most times it does (a patch of small blocks that passed the cell tests grows to the mosaic)


@dataclass(frozen=True)
class Mosaic:
    """A pixelated region: box (x, y, w, h), block size, grid origin (x, y) and a confidence in 0..1."""

    box: tuple[int, int, int, int]
    block_size: int
    offset: tuple[int, int]
    score: float


def find_mosaics(
    image: "str | Path | Image.Image | np.ndarray", min_block: int = MIN_BLOCK, max_block: int = MAX_BLOCK
) -> list[Mosaic]:
    """Every pixelated region of an image with its block size and grid origin, most confident first."""
    values, luma = planes_and_luma(image)
    factor = _upscale_factor(luma)
    if factor == 1:
        found = _detect(values, min_block, max_block)
    else:
        # A nearest-upscaled image: find the mosaics on the original pixels, then scale them back up.
        c, h, w = values.shape
        small = values.reshape(c, h // factor, factor, w // factor, factor).mean(axis=(2, 4))
        found = [
            Mosaic(
                (m.box[0] * factor, m.box[1] * factor, m.box[2] * factor, m.box[3] * factor),
                m.block_size * factor,
                (m.offset[0] * factor, m.offset[1] * factor),
                m.score,
            )
            for m in _detect(small, max(2, -(-min_block // factor)), max_block // factor)
        ]
    return sorted(found, key=lambda m: -m.score)


def planes_and_luma(image: "str | Path | Image.Image | np.ndarray") -> tuple[np.ndarray, np.ndarray]:
    """An image's (C, H, W) values on 0..255 and their (H, W) luma, as detection reads them."""
    planes = to_planes(open_image(image))
    values = planes.values * np.float32(255.0 / planes.maximum)
    return values, _luma(values)


def _luma(values: np.ndarray) -> np.ndarray:
    if values.shape[0] >= 3:
        return (0.299 * values[0] + 0.587 * values[1] + 0.114 * values[2]).astype(np.float32)
    return values[0]


def _upscale_factor(luma: np.ndarray) -> int:
    """The factor k when the whole image is k x k constant cells from the origin (a nearest upscale), else 1."""
    h, w = luma.shape
    for k in UPSCALES:
        if h % k or w % k or min(h, w) < 16 * k:
            continue
        if _on_cell_borders(luma, k) and _on_cell_borders(luma.T, k):
            return k
    return 1


def _on_cell_borders(luma: np.ndarray, k: int) -> bool:
    """Whether the changes between columns gather between columns k*i - 1 and k*i, in almost every busy tile.

    A phase of the k-cycle that holds far more change than any other marks cell borders; JPEG blurs this
    but keeps it clear, and a mosaic over part of the image does not make most tiles show it.
    """
    t = 8 * k
    h, w = (luma.shape[0] // t) * t, (luma.shape[1] // t) * t
    d = np.zeros((h, w), np.float32)
    d[:, :-1] = np.abs(np.diff(luma[:h, :w], axis=1))  # d[:, x]: the change from column x to x + 1
    phases = d.reshape(h // t, t, w // t, t // k, k).sum(axis=(1, 3))  # (tile rows, tile cols, k)
    across = phases[..., k - 1]
    other = np.delete(phases, k - 1, axis=2).max(axis=2)
    busy = phases.sum(axis=2) > t * t  # a mean change of at least 1 per pixel
    if np.count_nonzero(busy) < 4:
        return False
    whole = across[busy].sum() >= 1.8 * other[busy].sum()
    return bool(whole and np.mean(across[busy] >= 1.5 * other[busy]) >= 0.8)


def _steps(luma: np.ndarray, kind: str = "plain") -> np.ndarray:
    """Mosaic-like steps between columns x and x+1: flat on both sides, repeated in the row above or below.

    kind "plain": a step of at least a level, twice any change within two pixels of it. "soft": a step that JPEG
    spread over three pixels (a block edge of a few levels inside a JPEG block of a smooth area), the largest of
    the three and three times any change in the two pixels beyond. "exact": any change between exactly constant
    sides, however small (blocks of a grainy area differ by a level or less), and only those.
    """
    d = np.diff(luma, axis=1)
    a = np.abs(d)
    if kind == "soft":
        step = _spread_steps(d, peak=0.4)  # single pixels ripple: most of the step in one column
    else:
        away = _changes_beside(a)
        near = np.maximum(np.maximum(away(-2), away(-1)), np.maximum(away(1), away(2)))
        step = (a > 0) & (near == 0) if kind == "exact" else (a >= 1.0) & (a >= 2.0 * near)
    # A block edge runs along the whole block with one step value; texture rarely repeats one.
    return _both_rows(step[1:] & step[:-1] & (np.abs(d[1:] - d[:-1]) <= 0.4 * a[1:] + 2.0))


def _both_rows(pair: np.ndarray) -> np.ndarray:
    """Rows (one more than pair has) marked where pair[i] holds for rows i and i + 1: both rows of each pair."""
    out = np.zeros((pair.shape[0] + 1, *pair.shape[1:]), bool)
    out[1:] |= pair
    out[:-1] |= pair
    return out


def _edge_votes(
    luma: np.ndarray, min_block: int, max_block: int, kind: str = "plain"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Block edges across rows: (y, x, spacing) for each band of BAND rows and each edge at a block start x.

    An edge is a column where most rows of the band step (after JPEG, single steps drown in ripples, lines do
    not), or with kind "mean", where the band's mean step stands out; its spacing is the distance to the next edge
    of the band, when that is a block size.
    """
    h = luma.shape[0] // BAND * BAND
    if h == 0:
        return np.zeros(0, int), np.zeros(0, int), np.zeros(0, int)
    if kind == "mean":
        edge = _band_mean_edges(luma[:h])
    else:
        edge = _steps(luma, kind)[:h].reshape(h // BAND, BAND, -1).sum(axis=1) >= BAND // 2
    band, col = np.nonzero(edge)
    gap = np.diff(col)
    ok = (np.diff(band) == 0) & (gap >= min_block) & (gap <= max_block)
    # Each gap is a vote at both its edges (the edge before and the edge after the block).
    index = np.nonzero(ok)[0]
    ys = np.concatenate([band[index], band[index + 1]]) * BAND + BAND // 2
    xs = np.concatenate([col[index], col[index + 1]]) + 1
    return ys, xs, np.concatenate([gap[index], gap[index]])


def _changes_beside(a: np.ndarray) -> Callable[[int], np.ndarray]:
    """away(k): for each of the changes a (rows, columns), the change k columns to the right (left when negative)."""
    n = a.shape[1]
    pad = np.pad(a, ((0, 0), (3, 3)))  # the image border counts as flat
    return lambda k: pad[:, 3 + k : 3 + k + n]


def _spread_steps(d: np.ndarray, peak: float = 0.0) -> np.ndarray:
    """Where the signed changes d between neighbouring columns make a step that JPEG spread over three columns.

    The change over the three is at least 1.5 levels and three times any change in the two columns beyond; the
    middle one is the largest, and at least a share peak of the three's.
    """
    a = np.abs(d)
    away = _changes_beside(a)
    signed = np.pad(d, ((0, 0), (1, 1)))
    spread = signed[:, :-2] + d + signed[:, 2:]
    width = np.abs(spread)
    beyond = np.maximum(np.maximum(away(-3), away(-2)), np.maximum(away(2), away(3)))
    step = (a >= np.maximum(away(-1), away(1))) & (d * spread > 0) & (a >= peak * width)
    return step & (width >= 1.5) & (width >= 3.0 * beyond)


def _band_mean_edges(luma: np.ndarray) -> np.ndarray:
    """Block edges from the mean step of each band of BAND rows: (bands, columns - 1), True where the band steps.

    A block edge steps by the same amount in every row of a band: the band's mean keeps it and averages JPEG's
    ripples, and a texture's changes, away (spread over three columns, as JPEG leaves a step).
    """
    d = np.diff(luma, axis=1)
    edge = _spread_steps(d.reshape(luma.shape[0] // BAND, BAND, -1).mean(axis=1))
    # A lattice's lines run on through the band above or below; a texture's chance steps seldom do.
    return _both_rows(edge[1:] & edge[:-1])


def _detect(values: np.ndarray, min_block: int, max_block: int) -> list[Mosaic]:
    luma = _luma(values)
    h, w = luma.shape
    if h < 2 * min_block or w < 2 * min_block:
        return []
    passes = {}
    for kind in ("plain", "soft", "exact", "mean"):
        across = _edge_votes(luma, min_block, max_block, kind)
        yd, xd, sd = _edge_votes(luma.T, min_block, max_block, kind)
        passes[kind] = [(kind == "exact", *c[1:]) for c in _lattices(luma, across, (xd, yd, sd))]
    # Three more passes add lattices that no pass before proposed, after theirs. Small steps that JPEG spread over a
    # few pixels (large blocks of a smooth area); losslessly, steps between exactly constant sides (blocks of a
    # grainy area step by less than a level), where only exactly constant cells count; and the mean steps of bands
    # of rows (after JPEG, faint blocks amid ripples step clearly on average, but few rows step on their own).
    known = {c[1:4] for c in passes["plain"]}
    candidates = passes["plain"]
    for kind, most in (("soft", MAX_SOFT_CANDIDATES), ("exact", MAX_EXACT_CANDIDATES), ("mean", MAX_MEAN_CANDIDATES)):
        new = [c for c in passes[kind] if c[1:4] not in known][:most]
        if kind != "exact":  # checked as exactly constant cells, an exact lattice does not stand for the others
            known |= {c[1:4] for c in new}
        candidates = candidates + new
    found: list[Mosaic] = []
    claimed = np.zeros((h, w), bool)
    for exact, size, ox, oy, window in candidates:
        x0, y0, x1, y1 = window
        if claimed[y0:y1, x0:x1].mean() > 0.5:
            continue  # mostly a mosaic found already: its edges also vote for multiples of its size
        for m in _verify(values, luma, size, ox, oy, window, claimed, exact):
            bx, by, bw, bh = m.box
            claimed[by : by + bh, bx : bx + bw] = True
            found.append(m)
    return [_whole_blocks(values, m) for m in _merged(found)]


def _whole_blocks(values: np.ndarray, m: Mosaic) -> Mosaic:
    """The mosaic with its blocks taken whole: a multiple of its block size, where that lattice's cells inside the box
    are all exactly constant, in several colours (a coarse lossless mosaic's blocks are constant on a finer lattice
    too, and on JPEG's grid its blocks of 8 px may be verified first)."""
    x, y, w, h = m.box
    s, (ox, oy) = m.block_size, m.offset
    gx0, gy0 = x + (ox - x) % s, y + (oy - y) % s
    nc, nr = (x + w - gx0) // s, (y + h - gy0) // s
    if nc < 2 or nr < 2:
        return m
    block = values[:, gy0 : gy0 + nr * s, gx0 : gx0 + nc * s].reshape(values.shape[0], nr, s, nc, s)
    if np.any(block.max(axis=(2, 4)) != block.min(axis=(2, 4))):
        return m  # not a lossless mosaic's constant cells
    colour = block[:, :, 0, :, 0]  # (C, rows, cols)
    # Cells in groups of equal ones equal many of their neighbours both ways (a mosaic's blocks seldom do).
    if min(np.all(np.diff(colour, axis=axis) == 0, axis=0).mean() for axis in (1, 2)) < 0.3:
        return m
    for k in range(min(MAX_BLOCK // s, nr, nc), 1, -1):
        for i in range(k):
            for j in range(k):
                rows, cols = (nr - i) // k, (nc - j) // k
                if rows * cols < 4:
                    continue
                groups = colour[:, i : i + rows * k, j : j + cols * k].reshape(-1, rows, k, cols, k)
                whole = np.all(groups == groups[:, :, :1, :, :1])
                if whole and len(np.unique(groups[:, :, 0, :, 0].reshape(groups.shape[0], -1), axis=1).T) >= 3:
                    return Mosaic(m.box, k * s, (gx0 + j * s, gy0 + i * s), m.score)
    return m


def _merged(found: list[Mosaic]) -> list[Mosaic]:
    """Mosaics with pieces of one lattice that touch joined into their bounding box.

    Small blocks after JPEG pass the cell tests in patches; the pieces of one mosaic share its lattice (or one's
    is a whole multiple of the other's) and lie within a block of each other; the mosaic is a rectangle around
    them, with the finer lattice.
    """
    out = list(found)

    def first_pair() -> tuple[int, int] | None:
        pairs = ((i, j) for i in range(len(out)) for j in range(i + 1, len(out)))
        return next(((i, j) for i, j in pairs if _pieces_of_one(out[i], out[j])), None)

    while pair := first_pair():  # again after each join: a joined box may meet pieces it did not meet before
        a, b = out[pair[0]], out.pop(pair[1])
        (ax, ay, aw, ah), (bx, by, bw, bh) = a.box, b.box
        x0, y0, x1, y1 = min(ax, bx), min(ay, by), max(ax + aw, bx + bw), max(ay + ah, by + bh)
        offset = (min(a.offset[0], b.offset[0]), min(a.offset[1], b.offset[1]))
        size = min(a.block_size, b.block_size)
        out[pair[0]] = Mosaic((x0, y0, x1 - x0, y1 - y0), size, offset, max(a.score, b.score))
    return [m for m in out if not any(_coarser_view(m, other) for other in out)]


def _coarser_view(a: Mosaic, b: Mosaic) -> bool:
    """Whether a lies half or more inside b on a coarser lattice of b's: b's blocks in equal pairs, not a mosaic."""
    return _on_finer_lines((a.block_size, *a.offset, _edges(a.box)), (b.block_size, *b.offset, _edges(b.box)))


def _edges(box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """A box (x, y, w, h) as its edges (x0, y0, x1, y1)."""
    x, y, w, h = box
    return x, y, x + w, y + h


def _on_finer_lines(coarse: tuple, fine: tuple) -> bool:
    """Whether a lattice (size, ox, oy, (x0, y0, x1, y1)) lies on a finer one's lines, half or more inside its area."""
    (size, ox, oy, area), (step, fx, fy, fine_area) = coarse, fine
    aligned = (ox - fx) % step == 0 and (oy - fy) % step == 0
    whole = (area[2] - area[0]) * (area[3] - area[1])
    return size > step and size % step == 0 and aligned and _common_area(area, fine_area) >= 0.5 * whole


def _common_area(a: tuple, b: tuple) -> int:
    """The area two rectangles (x0, y0, x1, y1) share."""
    return max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))


def _pieces_of_one(a: Mosaic, b: Mosaic) -> bool:
    """Whether two mosaics share a lattice and lie within a block of each other.

    One piece's blocks may be whole multiples of the other's: over a flat area, neighbouring blocks that are
    equal make a coarser lattice of constant cells. Such pieces are one mosaic only side by side with the same
    extent across (one rectangle cut in two), not a coarse mosaic of its own next to a fine one.
    """
    size = min(a.block_size, b.block_size)
    (ax, ay, aw, ah), (bx, by, bw, bh) = a.box, b.box
    sizes_fit = a.block_size == b.block_size
    if not sizes_fit and max(a.block_size, b.block_size) % size == 0:
        rows = abs(ay - by) <= size and abs(ay + ah - by - bh) <= size
        cols = abs(ax - bx) <= size and abs(ax + aw - bx - bw) <= size
        sizes_fit = rows or cols
    same = sizes_fit and (a.offset[0] - b.offset[0]) % size == 0 and (a.offset[1] - b.offset[1]) % size == 0
    return same and ax - size <= bx + bw and bx - size <= ax + aw and ay - size <= by + bh and by - size <= ay + ah


def _lattices(
    luma: np.ndarray, across: tuple, down: tuple
) -> list[tuple[int, int, int, int, tuple[int, int, int, int]]]:
    """Candidate lattices (weight, size, ox, oy, window): places where edges of one spacing and phase cross."""
    out = [c for size in np.union1d(across[2], down[2]) for c in _lattices_of_size(luma, across, down, int(size))]
    out.sort(key=lambda c: -c[0])
    # A mosaic's edges also vote for multiples of its blocks (equal neighbours leave gaps of two or three blocks):
    # such a coarser view is found with the finer lattice or not at all, but would crowd out another mosaic's.
    kept: list = []
    for c in out:
        if not any(_coarser_lattice(c, finer) for finer in kept):
            kept.append(c)
    out = kept
    # A JPEG's own blocks vote for every multiple of 8 at every phase that is a multiple of 8 all over the image:
    # left unbounded, those lattices crowd out a mosaic of another size.
    codec = [c for c in out if _codec_grid(*c[1:4])]
    out = [c for c in out if not _codec_grid(*c[1:4]) or c in codec[:MAX_CODEC_CANDIDATES]]
    return out[:MAX_CANDIDATES]


def _coarser_lattice(c: tuple, finer: tuple) -> bool:
    """Whether candidate c's lines all lie on a finer (not a codec's) candidate's lines, over most of c's window."""
    return not _codec_grid(*finer[1:4]) and _on_finer_lines(c[1:], finer[1:])


def _lattices_of_size(luma: np.ndarray, across: tuple, down: tuple, size: int) -> list:
    """Candidate lattices of one block size: edge groups of both ways that meet, or strong ones of one way."""
    h, w = luma.shape
    tile = max(TILE, 2 * size)  # neighbouring tiles join: edges up to two blocks apart belong together
    th, tw = -(-h // tile), -(-w // tile)
    groups = []
    for ys, xs, spacing, phase_of in ((*across, across[1]), (*down, down[0])):
        chosen = spacing == size
        flat = (ys[chosen] // tile) * tw + xs[chosen] // tile
        phases = phase_of[chosen] % size
        found = []
        for phase in np.nonzero(np.bincount(phases, minlength=size) >= 3)[0]:
            votes = np.bincount(flat[phases == phase], minlength=th * tw).reshape(th, tw)
            near = ndimage.binary_dilation(votes > 0, np.ones((3, 3), bool))  # a tile's gap is bridged
            labels, n = ndimage.label(near)
            totals = np.bincount(labels.ravel(), weights=votes.ravel(), minlength=n + 1)
            for index, sl in enumerate(ndimage.find_objects(labels), start=1):
                if totals[index] >= 3:
                    found.append((int(phase), votes * (labels == index), sl))
        groups.append(found)

    def window(r0: int, r1: int, c0: int, c1: int) -> tuple[int, int, int, int]:
        return max(0, (c0 - 1) * tile), max(0, (r0 - 1) * tile), min(w, (c1 + 1) * tile), min(h, (r1 + 1) * tile)

    def density(votes: int, r0: int, r1: int, c0: int, c1: int) -> float:
        # A mosaic votes from most of its tiles (about 2 tile / size edges by tile / BAND bands each way);
        # noise that happens to fit a grid votes here and there.
        return votes / ((r1 - r0) * (c1 - c0) * 2 * (tile / size) * (tile / BAND))

    out = []
    # A mosaic has edges both ways in one place: pair the column groups with the row groups they meet, and
    # count the votes where they meet (a grid of noise all over the image must not lend its votes).
    paired = [[False] * len(groups[0]), [False] * len(groups[1])]
    for i, (ox, vx, sx) in enumerate(groups[0]):
        for j, (oy, vy, sy) in enumerate(groups[1]):
            r0, r1 = max(sx[0].start, sy[0].start), min(sx[0].stop, sy[0].stop)
            c0, c1 = max(sx[1].start, sy[1].start), min(sx[1].stop, sy[1].stop)
            if r0 >= r1 or c0 >= c1:
                continue
            nx, ny = int(vx[r0:r1, c0:c1].sum()), int(vy[r0:r1, c0:c1].sum())
            if nx >= 3 and ny >= 3 and nx + ny >= 8 and density(nx + ny, r0, r1, c0, c1) >= 0.025:
                paired[0][i] = paired[1][j] = True
                # Votes grow as area / size: weigh by size so large blocks compete; codec grids come last.
                weight = (nx + ny) * size * (0.25 if _codec_grid(size, ox, oy) else 1.0)
                out.append((weight, size, ox, oy, window(r0, r1, c0, c1)))
    # Edges one way only (a mosaic a few blocks high, or one whose blocks match along the other way): the other
    # way's phase is where its lines of steps gather, if one phase clearly has most of them.
    for axis in (0, 1):
        for (phase, votes, sl), done in zip(groups[axis], paired[axis], strict=True):
            n = int(votes.sum())
            if done or n < 8 or density(2 * n, sl[0].start, sl[0].stop, sl[1].start, sl[1].stop) < 0.05:
                continue
            box = window(sl[0].start, sl[0].stop, sl[1].start, sl[1].stop)
            if axis == 0:
                ox, oy = phase, _line_phase(luma, size, box)
            else:
                ox, oy = _line_phase(luma.T, size, (box[1], box[0], box[3], box[2])), phase
            if ox is not None and oy is not None:
                out.append((n * size * (0.25 if _codec_grid(size, ox, oy) else 0.5), size, ox, oy, box))
    return out


def _line_phase(luma: np.ndarray, size: int, window: tuple[int, int, int, int]) -> int | None:
    """The phase (mod size) of a window's lines of block-edge steps, if one phase clearly has most of them."""
    x0, y0, x1, y1 = window
    if y1 - y0 <= 2 * size:
        return None
    hits = _steps(luma[y0:y1, x0:x1].T).sum(axis=0)  # hits[i]: steps from row y0 + i into the next row
    # A line is a row with at least one and a half bands' width of steps (after JPEG, a few large blocks' lines
    # step in few rows); each weighs at most four bands' width, so that one long straight edge does not outweigh a
    # mosaic's lines, which repeat at the block size.
    lines = np.nonzero(hits >= 1.5 * BAND)[0]
    starts = y0 + 1 + lines  # the rows where the next block would start
    phase = starts % size
    # JPEG's block borders (every 8th line) step all over a heavily compressed photo: they count for less.
    weight = np.bincount(phase, weights=np.minimum(hits[lines], 4 * BAND) * np.where(starts % 8 == 0, 0.25, 1.0),
                         minlength=size)  # fmt: skip
    order = np.argsort(weight)
    best = int(order[-1])
    if np.count_nonzero(phase == best) >= 2 and weight[best] >= 1.5 * weight[order[-2]]:
        return best
    # A strip one block and a part thick has a single inner line, and steps into the exterior at its outer edges
    # (the partial blocks' less than a block from the inner line, the full blocks' perhaps little). Where nothing
    # else steps much, the phase of most steps is taken: of one line that has twice the steps of any other phase, or
    # of at most three lines at the two phases that stand clear of the rest, two of them less than a block apart (a
    # bar's two edges, one colour between them, fit any block a little smaller). Steps are counted in full here,
    # whatever JPEG's grid (its own lines would be many).
    full = np.bincount(phase, weights=hits[lines], minlength=size)
    first, second, third = (int(i) for i in np.argsort(full)[:-4:-1])
    if np.count_nonzero(phase == first) == 1 and full[first] >= max(2 * BAND, 2.0 * full[second]):
        # Not a line amid a lattice of another size (a mosaic's lines as far from it on both sides).
        at = starts[phase == first][0]
        if not np.any(np.isin(at - (starts - at), starts) & (starts != at)):
            return first
    pair = starts[np.isin(phase, (first, second))]
    if full[second] >= max(2 * BAND, 1.5 * full[third]) and len(pair) <= 3 and np.diff(pair).min() < size:
        return first
    return None


@dataclass
class _Cells:
    """Statistics of the full lattice cells in a window: the grid and (rows, cols) arrays."""

    size: int
    x0: int  # left edge of the first cell column
    y0: int
    spread: np.ndarray  # largest value range of a channel inside the cell
    inner: np.ndarray  # mean |luma step| between neighbours inside the cell
    line: np.ndarray  # the largest mean |luma step| along a line inside the cell
    outline: np.ndarray  # a step on a line next to a border inside the cell (a drawn outline, a shifted grid)
    colour: np.ndarray  # (C, rows, cols) cell means
    right: np.ndarray  # (rows, cols - 1) mean |luma step| across the border to the right neighbour
    down: np.ndarray  # (rows - 1, cols) the same to the neighbour below


def _cells(values: np.ndarray, luma: np.ndarray, size: int, ox: int, oy: int, window: tuple) -> _Cells | None:
    """Statistics of the full lattice cells inside a window (x0, y0, x1, y1)."""
    wx0, wy0, wx1, wy1 = window
    gx0, gy0 = wx0 + (ox - wx0) % size, wy0 + (oy - wy0) % size
    nc, nr = (wx1 - gx0) // size, (wy1 - gy0) // size
    if nc < 2 or nr < 2:
        return None
    c = values.shape[0]
    block = values[:, gy0 : gy0 + nr * size, gx0 : gx0 + nc * size].reshape(c, nr, size, nc, size)
    spread = (block.max(axis=(2, 4)) - block.min(axis=(2, 4))).max(axis=0)
    lum = luma[gy0 : gy0 + nr * size, gx0 : gx0 + nc * size]
    cell = lum.reshape(nr, size, nc, size)
    inner = (np.abs(np.diff(cell, axis=3)).mean(axis=(1, 3)) + np.abs(np.diff(cell, axis=1)).mean(axis=(1, 3))) / 2
    colour = block.mean(axis=(2, 4))
    across, along = np.abs(np.diff(cell, axis=3)).mean(axis=1), np.abs(np.diff(cell, axis=1)).mean(axis=3)
    cols = size * np.arange(1, nc)
    right = np.abs(lum[:, cols] - lum[:, cols - 1]).reshape(nr, size, nc - 1).mean(axis=1)
    rows = size * np.arange(1, nr)
    down = np.abs(lum[rows] - lum[rows - 1]).reshape(nr - 1, nc, size).mean(axis=2)
    borders = _spread(right, down, (nr, nc))
    # The strongest line of steps inside (not next to the border, where compression ripples gather): an edge
    # inside a cell (a drawn shape, a lattice too large) shows there when the mean over the cell hides it.
    # JPEG also rings up to 7 pixels from a strong step (within its 8 x 8 block): lines that close to a border
    # count only when they step more than half as much as that border.
    if size < 5:
        line = np.maximum(across.max(axis=2), along.max(axis=1))
    else:
        margin = min(7, max(1, (size - 4) // 3))
        line = np.maximum(across[:, :, margin:-margin].max(axis=2), along[:, margin:-margin].max(axis=1))
        if margin > 1:  # left, right, upper and lower zones, in the order of borders
            zones = (across[:, :, 1:margin].max(axis=2), across[:, :, -margin:-1].max(axis=2),
                     along[:, 1:margin].max(axis=1), along[:, -margin:-1].max(axis=1))  # fmt: skip
            for near, border in zip(zones, borders, strict=True):
                line = np.maximum(line, np.where(near > 0.5 * border, near, 0.0))
    outline = _outlined(lum, size) | _outlined(lum.T, size).T
    # A lattice one pixel off puts the blocks' steps on the lines next to the cell borders, and ripples on the
    # borders: the lines next to a border must not step much more than the border itself.
    present = _spread(np.ones_like(right, bool), np.ones_like(down, bool), (nr, nc), bool)
    next_lines = (across[:, :, 0], across[:, :, -1], along[:, 0], along[:, -1])
    for line_next, border, there in zip(next_lines, borders, present, strict=True):
        outline |= there & (line_next > np.maximum(3.0, 1.5 * border))
    return _Cells(size, gx0, gy0, spread, inner, line, outline, colour, right, down)


def _outlined(lum: np.ndarray, size: int) -> np.ndarray:
    """Cells with a one-pixel line along their left or right border (a drawn outline, not a block edge).

    Such a line is a step at the border and the opposite step right next to it; a block edge after JPEG
    only ripples next to its step.
    """
    nr, nc = lum.shape[0] // size, lum.shape[1] // size
    out = np.zeros((nr, nc), bool)
    if nc < 2:
        return out
    cols = size * np.arange(1, nc)
    mean = lambda d: d.reshape(nr, size, nc - 1).mean(axis=1)  # noqa: E731
    border = mean(lum[:, cols] - lum[:, cols - 1])
    after, before = mean(lum[:, cols + 1] - lum[:, cols]), mean(lum[:, cols - 1] - lum[:, cols - 2])
    strong = np.abs(border) >= 8.0
    out[:, 1:] |= strong & (after * border < 0) & (np.abs(after) >= 0.5 * np.abs(border))
    out[:, :-1] |= strong & (before * border < 0) & (np.abs(before) >= 0.5 * np.abs(border))
    return out


def _spread(right: np.ndarray, down: np.ndarray, shape: tuple[int, int], dtype: type = np.float32) -> list:
    """The four neighbour values of every cell (0 where there is no neighbour): left, right, up, down."""
    out = [np.zeros(shape, dtype) for _ in range(4)]
    out[0][:, 1:], out[1][:, :-1], out[2][1:], out[3][:-1] = right, right, down, down
    return out


def _verify(
    values: np.ndarray,
    luma: np.ndarray,
    size: int,
    ox: int,
    oy: int,
    region: tuple,
    claimed: np.ndarray,
    exact: bool = False,
    jpeg_rules: bool = False,
) -> list[Mosaic]:
    """The mosaics on one lattice near a candidate region: boxes of constant cells that differ from each other.

    exact: a lattice of tiny steps between exactly constant cells, a mosaic only where such cells are many.
    jpeg_rules: on JPEG's grid, judge cells by the JPEG rules even where exactly constant cells are several.
    """
    h, w = luma.shape
    x0, y0, x1, y1 = region
    margin = 3 * size
    window = (max(0, x0 - margin), max(0, y0 - margin), min(w, x1 + margin), min(h, y1 + margin))
    for _ in range(4):
        grid = _grid(values, luma, size, ox, oy, window, claimed, exact, jpeg_rules)
        if grid is None:
            return []
        boxes = _boxes(grid)
        # A box that reaches the window's side where the image goes on: look again with a larger window.
        cells = grid["cells"]
        nr, nc = cells.spread.shape
        grown = list(window)
        for r0, r1, c0, c1 in boxes:
            reach = size * max(4, r1 - r0, c1 - c0)
            if c0 == 0 and cells.x0 >= size:
                grown[0] = max(0, cells.x0 - reach)
            if r0 == 0 and cells.y0 >= size:
                grown[1] = max(0, cells.y0 - reach)
            if c1 == nc and cells.x0 + (nc + 1) * size <= w:
                grown[2] = min(w, cells.x0 + nc * size + reach)
            if r1 == nr and cells.y0 + (nr + 1) * size <= h:
                grown[3] = min(h, cells.y0 + nr * size + reach)
        if tuple(grown) == window:
            break
        window = tuple(grown)
    consistent, keep, evidence, lossless = grid["consistent"], grid["keep"], grid["evidence"], grid["lossless"]
    shape = cells.spread.shape

    def measure(r0: int, r1: int, c0: int, c1: int) -> tuple[dict, tuple, int] | None:
        """A box of cells' features, its edges (x0, y0, x1, y1) and its count of kept cells (None: too few)."""
        part = np.zeros(shape, bool)
        part[r0:r1, c0:c1] = keep[r0:r1, c0:c1]
        count = np.count_nonzero(part)
        # A small box of large blocks (76 x 86 pixels of 29-pixel blocks) has four full cells, or five where a
        # calm cell outside joins them after JPEG. Such a box is a mosaic only with partial blocks on two sides
        # or, after JPEG, a plain lattice (checked below).
        few = count == 4 or (count == 5 and not lossless)
        if (count < 6 and not (few and size >= 16)) or r1 - r0 < 2 or c1 - c0 < 2:
            return None
        steps = np.concatenate([cells.right[part[:, 1:] & part[:, :-1]], cells.down[part[1:] & part[:-1]]])
        features = {
            "codec_grid": _codec_grid(size, cells.x0, cells.y0, exact=lossless),
            "size": size,
            "constant": int(np.count_nonzero(consistent[r0:r1, c0:c1])),
            "lossless": lossless,
            "cells": count,
            "density": float(consistent[r0:r1, c0:c1].mean()),
            "strong": np.count_nonzero(part & evidence) / count,
            "step": float(np.median(steps)) if steps.size else 0.0,
            "ripple": float(np.median(cells.inner[part])),
            # Lossless cells are exactly constant: any two values are two colours, however close.
            "colours": len(np.unique(np.round(cells.colour[:, part] / (1 if lossless else 4)), axis=1).T),
            "jpeg_rules": jpeg_rules,
            "stripes": _stripes(cells.colour[:, r0:r1, c0:c1], part[r0:r1, c0:c1], consistent[r0:r1, c0:c1], lossless),
        }
        bx, by = cells.x0 + c0 * size, cells.y0 + r0 * size
        edges = (bx, by, bx + (c1 - c0) * size, by + (r1 - r0) * size)
        if not lossless and size >= 6:
            features.update(_lattice_contrast(luma, size, edges))
        return features, edges, count

    out = []
    for r0, r1, c0, c1 in boxes:
        # Kept cells in one line only, the rest calm and matching each other (the page beside a row of swatches):
        # a strip at most.
        rows, cols = (np.nonzero(keep[r0:r1, c0:c1].any(axis=axis))[0] for axis in (1, 0))
        if len(rows) == 1 < r1 - r0:
            r0, r1 = r0 + int(rows[0]), r0 + int(rows[0]) + 1
        elif len(cols) == 1 < c1 - c0:
            c0, c1 = c0 + int(cols[0]), c0 + int(cols[0]) + 1
        if min(r1 - r0, c1 - c0) == 1:
            # One full line of blocks: a mosaic only with a line of partial blocks beside it (a strip over the
            # eyes or a line of text, one block and a part high).
            edges = (cells.x0 + c0 * size, cells.y0 + r0 * size, cells.x0 + c1 * size, cells.y0 + r1 * size)
            # Blocks calm (after JPEG, one in ten may ring), most of them differing from a neighbour.
            line = np.s_[r0:r1, c0:c1]
            box = None
            if consistent[line].mean() >= 0.9 and keep[line].mean() >= 0.75:
                # Too few to make the lattice lossless, a short line's exactly constant cells still are.
                if lossless or np.all(cells.spread[line] == 0):
                    box = _lossless_strip(values, luma, size, edges)
                else:
                    box = _lossy_strip(values, luma, size, edges, _calm_reach(consistent, (r0, r1, c0, c1)))
            if box is not None:
                offset = (int(edges[0]), int(edges[1]))
                out.append(Mosaic(box, size, offset, round(min(1.0, max(r1 - r0, c1 - c0) / 20), 3)))
            continue
        measured = measure(r0, r1, c0, c1)
        if measured is None:
            continue
        features, edges, count = measured
        if not _accept(features):
            # After JPEG a mosaic amid a smooth area joins the area's calm cells in one large box, too faint as a
            # whole to pass. The box of at least 20 cells that the learned verdict finds most likely blocks inside
            # it is judged on its own.
            carved = _carved(values, luma, size, edges) if not lossless and count >= 30 else None
            if carved is None:
                continue
            measured = measure(r0 + carved[0], r0 + carved[1], c0 + carved[2], c0 + carved[3])
            if measured is None or measured[2] < 20 or not _accept(measured[0]):
                continue
            features, edges, count = measured
        if not lossless:
            edges = _lossy_refine(luma, size, _learned_extent(values, luma, size, edges))
        bx, by = edges[:2]
        box = _with_partial_blocks(values, luma, size, edges, lossless)
        # Flat panes or tiles end at their grid lines: partial blocks beyond the full cells are part of the proof.
        partial = min(box[2], box[3]) - 2 * size
        if count < 6 and partial < 0.5 * size and not (partial > 0 and _plain_lattice(features)):
            continue
        score = features["density"] * min(1.0, 0.5 + features["strong"]) * min(1.0, count / 20)
        out.append(Mosaic(box, size, (int(bx), int(by)), round(float(score), 3)))
    if grid["codec"]:
        judged = _verify(values, luma, size, ox, oy, region, claimed, jpeg_rules=True)
        if _covers_more(judged, out):
            return judged
    return out


def _stripes(colour: np.ndarray, kept: np.ndarray, calm: np.ndarray, lossless: bool) -> bool:
    """Whether a box's kept cells (colours (C, rows, cols)) change clearly one way and not at all the other: a row of
    swatches (a chart's legend, a palette), each one colour from end to end, not a mosaic's blocks.

    Along a swatch only its end cells are kept (the others match both neighbours that way): the calm cells between
    a column's (or row's) first and last kept ones are compared. Blocks over a smooth sky or a landscape's bands may
    match along a row to a level or two, and step clearly to the next row; swatches match exactly, or after JPEG
    in luma to half a level (JPEG blurs their colour, kept at half resolution, over the borders) in three pairs of
    four or more (the page at a swatch's end rings, and a cell of it that differs from its neighbours is kept).
    """
    lum = _luma(colour)
    for axis in (1, 2):  # down the columns, then along the rows
        inside = calm & (np.cumsum(kept, axis=axis - 1) > 0)
        inside &= np.flip(np.cumsum(np.flip(kept, axis - 1), axis - 1), axis - 1) > 0
        pairs = (inside[1:] & inside[:-1]) if axis == 1 else (inside[:, 1:] & inside[:, :-1])
        others = (kept[:, 1:] & kept[:, :-1]) if axis == 1 else (kept[1:] & kept[:-1])
        if lossless:
            along = np.abs(np.diff(colour, axis=axis)).max(axis=0)[pairs]
        else:
            along = np.abs(np.diff(lum, axis=axis - 1))[pairs]
        across = np.abs(np.diff(colour, axis=3 - axis)).max(axis=0)[others]
        if (
            along.size >= 3
            and across.size >= 3
            and np.median(across) >= 8.0
            and (np.all(along == 0) if lossless else np.mean(along <= 0.5) >= 0.75)
        ):
            return True
    return False


def _lossless_strip(values: np.ndarray, luma: np.ndarray, size: int, edges: tuple) -> tuple[int, int, int, int] | None:
    """The box (x, y, w, h) of a lossless mosaic one full line of cells (x0, y0, x1, y1) and a partial line thick.

    The full line holds at least 4 exactly constant blocks of 6 px or more, half stepping by a level or more to the
    next, in 4 colours or more; beside it on one side or both lies a line of exactly constant partial blocks, 2 px or
    more, that change where the full blocks change (half of them by a level or more) and differ from them. A line of
    flat swatches has no such second line and a flat backdrop does not change along it. On a codec's grid the steps
    must be clear (STRONG): a JPEG's sky decoded flat in 8 x 8 blocks steps by a level or two.
    """
    x0, y0, x1, y1 = edges
    if y1 - y0 != size:  # a column of blocks: the same, transposed
        box = _lossless_strip(values.transpose(0, 2, 1), luma.T, size, (y0, x0, y1, x1))
        return None if box is None else (box[1], box[0], box[3], box[2])
    n = (x1 - x0) // size
    full = values[:, y0:y1, x0:x1].reshape(values.shape[0], size, n, size)
    if size < 6 or n < 4 or np.any(full.max(axis=(1, 3)) != full.min(axis=(1, 3))):
        return None
    colours, level = full[:, 0, :, 0], luma[y0, x0:x1:size]  # (C, n) and (n,)
    # Blocks over a smooth area step by a level or two; off a codec's grid nothing else leaves a line of exactly
    # constant cells with a second line of them beside it that changes where it does.
    clear = STRONG if _codec_grid(size, x0, y0, exact=True) else 1.0
    if len(np.unique(colours, axis=1).T) < 4 or np.mean(np.abs(np.diff(level)) >= clear) < 0.5:
        return None
    height = values.shape[1]
    thickness = []
    for direction in (-1, 1):
        room = y0 if direction < 0 else height - y1
        # The thickest partial line that is exactly constant within every block and changes where the blocks do
        # (depix's strips have one, below or right; GIMP's grid may cut blocks on both sides).
        for thick in range(min(size - 1, room), 1, -1):
            lo, hi = (y0 - thick, y0) if direction < 0 else (y1, y1 + thick)
            part = values[:, lo:hi, x0:x1].reshape(values.shape[0], thick, n, size)
            if np.any(part.max(axis=(1, 3)) != part.min(axis=(1, 3))):
                continue
            beyond = y0 - thick - 1 if direction < 0 else y1 + thick
            flat_on = 0 <= beyond < height and np.all(values[:, beyond, x0:x1] == values[:, lo, x0:x1])
            steps = np.abs(np.diff(luma[lo, x0:x1:size])) >= clear
            apart = np.any(part[:, 0, :, 0] != colours, axis=0)
            if not flat_on and np.mean(steps) >= 0.5 and np.mean(apart) >= 0.75:
                break
        else:
            thick = 0
        thickness.append(thick)
    above, below = thickness
    if above + below == 0:
        return None
    # Partial blocks at the ends, as beside any box.
    left, right = (_partial(values, luma, size, (y0, y1), x, d, True) for x, d in ((x0, -1), (x1, 1)))
    return int(x0 - left), int(y0 - above), int(x1 + right - x0 + left), int(size + above + below)


def _calm_reach(consistent: np.ndarray, line: tuple[int, int, int, int]) -> tuple[int, int]:
    """How many calm cells go on from each end of a line of cells (r0, r1, c0, c1: one row or column), each between
    cells that are not calm across the line: blocks of a flat area, which differ from no neighbour."""
    r0, r1, c0, c1 = line
    if r1 - r0 != 1:
        return _calm_reach(consistent.T, (c0, c1, r0, r1))
    row = consistent[r0]
    walled = np.ones_like(row)
    for r in (r0 - 1, r1):
        if 0 <= r < consistent.shape[0]:
            walled &= ~consistent[r]
    calm = row & walled
    before = np.cumprod(calm[:c0][::-1]).sum()
    after = np.cumprod(calm[c1:]).sum()
    return int(before), int(after)


def _lossy_strip(
    values: np.ndarray, luma: np.ndarray, size: int, edges: tuple, reach: tuple[int, int] = (0, 0)
) -> tuple[int, int, int, int] | None:
    """The box (x, y, w, h) of a lossy mosaic one full line of calm cells (x0, y0, x1, y1) and a partial line thick.

    The full line holds at least 5 blocks of 8 px or more that step by 4 levels or more (half of them by STRONG), in
    4 colours or more; beside it on one side or both lies a line of partial blocks, 2 px or more (as the learned
    partial verdict measures it), whose mean steps stand out at the full blocks' lines and that differ from them.
    Stripes across the line (a fence, blades of grass) make such lines too, but their steps go on beyond them.
    reach: the calm cells before and after the line that belong to it (_calm_reach), taken in once it passes.
    """
    x0, y0, x1, y1 = edges
    if y1 - y0 != size:  # a column of blocks: the same, transposed
        box = _lossy_strip(values.transpose(0, 2, 1), luma.T, size, (y0, x0, y1, x1), reach)
        return None if box is None else (box[1], box[0], box[3], box[2])
    n = (x1 - x0) // size
    if size < 8 or n < 5:
        return None
    colours = values[:, y0:y1, x0:x1].reshape(values.shape[0], size, n, size).mean(axis=(1, 3))
    level = luma[y0:y1, x0:x1].reshape(size, n, size).mean(axis=(0, 2))
    steps = np.abs(np.diff(level))
    if np.median(steps) < 4.0 or np.mean(steps >= STRONG) < 0.5 or len(np.unique(np.round(colours / 4), axis=1).T) < 4:
        return None
    height = luma.shape[0]

    def lattice(lo: int, hi: int) -> tuple[float, float]:
        """The median of rows lo:hi's mean steps at the strip's lattice lines, and between them."""
        d = np.abs(np.diff(luma[lo:hi, x0:x1], axis=1).mean(axis=0))  # the mean cancels JPEG's ripples
        phase = (np.arange(d.size) + 1) % size
        return float(np.median(d[phase == 0])), float(np.median(d[(phase >= 2) & (phase <= size - 2)]))

    full = lattice(y0, y1)[0]
    t = values.transpose(0, 2, 1)
    thickness = []
    for direction, edge in ((-1, y0), (1, y1)):
        thick = _partial(t, luma.T, size, (x0, x1), edge, direction, False)
        lo, hi = (edge - thick, edge) if direction < 0 else (edge, edge + thick)
        if thick < 2:
            thickness.append(0)
            continue
        on, off = lattice(lo, hi)
        # Partial blocks differ from the full ones right at the line between them; a row of swatches (a chart's
        # legend) goes on in one colour there, changing only at its outer edge, where JPEG blurs it into the page.
        near = (hi - 2, hi) if direction < 0 else (lo, lo + 2)
        apart = np.mean(np.abs(luma[near[0] : near[1], x0:x1].reshape(2, n, size).mean(axis=(0, 2)) - level) >= 2.0)
        if on < STRONG or on < 4.0 * (off + 0.1) or apart < 0.5:
            thickness.append(0)
            continue
        # Past the JPEG blocks that hold the strip's edge (they ring with its steps), a mosaic's lines end.
        out = lo // 8 * 8 - 8 if direction < 0 else -(-hi // 8) * 8
        out_on, out_off = lattice(max(0, out), min(height, out + 8)) if 0 <= out < height - 1 else (0.0, 0.0)
        if out_on >= 0.3 * full and out_on >= 3.0 * (out_off + 0.1):
            return None
        thickness.append(thick)
    above, below = thickness
    if above + below == 0:
        return None
    # The line goes on over calm blocks walled by the exterior across it (a flat part of the mosaic).
    x0, x1 = x0 - reach[0] * size, x1 + reach[1] * size
    left, right = (_strip_end(luma, size, (y0, y1), x, d) for x, d in ((x0, -1), (x1, 1)))
    return int(x0 - left), int(y0 - above), int(x1 - x0 + left + right), int(size + above + below)


def _strip_end(luma: np.ndarray, size: int, span: tuple[int, int], edge: int, direction: int) -> int:
    """How many columns beyond the end (edge) of a lossy strip's full line (rows span) still belong to its blocks."""
    limit = min(size - 1, luma.shape[1] - edge if direction > 0 else edge)
    if limit <= 0:
        return 0
    inside, _, strip, changes = _beyond_edge(luma, size, span, edge, direction, limit)
    # One line of blocks has no lattice lines along it: its calm, and the exterior's roughness, tell where it ends.
    return _calm_width((inside, strip, None, np.abs(np.diff(strip, axis=0)).mean(axis=0), changes), limit) or 0


def _covers_more(found: list[Mosaic], other: list[Mosaic]) -> bool:
    """Whether mosaics cover half as much again as other ones (or any, where those cover none) and most of theirs."""
    area = sum(m.box[2] * m.box[3] for m in found)
    other_area = sum(m.box[2] * m.box[3] for m in other)
    common = sum(_common_area(_edges(a.box), _edges(b.box)) for a in found for b in other)
    return area > 0 and area >= 1.5 * other_area and common >= 0.8 * other_area


def _carved(values: np.ndarray, luma: np.ndarray, size: int, edges: tuple) -> tuple[int, int, int, int] | None:
    """The box of cells (r0, r1, c0, c1) inside a lossy box of full cells that the learned verdict finds most likely
    blocks, when it is a clearly smaller part (None otherwise)."""
    x0, y0, x1, y1 = edges
    rows, cols = (y1 - y0) // size, (x1 - x0) // size
    _, (r0, r1, c0, c1) = _best_rectangle(_cell_evidence(cell_features(values, luma, size, x0, y0, rows, cols)))
    if r1 - r0 < 2 or c1 - c0 < 2 or (r1 - r0) * (c1 - c0) > 0.8 * rows * cols:
        return None
    return r0, r1, c0, c1


def _grid(
    values: np.ndarray,
    luma: np.ndarray,
    size: int,
    ox: int,
    oy: int,
    window: tuple,
    claimed: np.ndarray,
    exact: bool = False,
    jpeg_rules: bool = False,
) -> dict | None:
    """The cells of a lattice in a window and what each says: consistent (constant), kept (differs), votes.

    exact: only exactly constant cells count, and their steps may be tiny (None unless they come in several
    colours: a JPEG's smooth areas have exactly constant patches too, but few of them). jpeg_rules: on JPEG's
    grid too, the JPEG rules judge the cells ("codec" in the result: they did not, for exactly constant cells).
    """
    cells = _cells(values, luma, size, ox, oy, window)
    if cells is None:
        return None
    shape = cells.spread.shape
    sides = _spread(cells.right, cells.down, shape)
    present = _spread(np.ones_like(cells.right), np.ones_like(cells.down), shape)
    typical = sum(sides) / np.maximum(sum(present), 1)  # the mean step across the cell's borders
    constant = cells.spread == 0
    # Exactly constant cells with steps around them, side by side: after JPEG, ripples from the steps leave
    # none, or (at high quality) a scattered few.
    constant_r, constant_d = constant[:, 1:] & constant[:, :-1], constant[1:] & constant[:-1]
    paired = constant & (sum(_spread(constant_r, constant_d, shape, np.int32)) >= 2)
    # Such cells, stepping, in 4 colours or more make a lattice lossless: stepping by a level or more, or by any
    # step for exact lattices and for blocks larger than a codec's (over a smooth sky they step by a level or less).
    faint = exact or (size > 16 and not _codec_grid(size, cells.x0, cells.y0))
    stepping = paired & (typical > 0 if faint else typical >= 1.0)
    count = np.count_nonzero(stepping)
    many = count >= 4 and len(np.unique(cells.colour[:, stepping], axis=1).T) >= 4
    if exact and not many:
        return None
    lum = _luma(cells.colour)
    jump_r, jump_d = np.abs(np.diff(lum, axis=1)), np.abs(np.diff(lum, axis=0))
    nr, nc = shape
    unclaimed = ~claimed[cells.y0 + size * np.arange(nr)][:, cells.x0 + size * np.arange(nc)]

    def judged(lossless: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Consistent cells, kept cells (they differ from a neighbour) and how many neighbours each differs from."""
        if lossless:
            consistent = constant.copy()
            diff_r = np.abs(np.diff(cells.colour, axis=2)).max(axis=0) > 0
            diff_d = np.abs(np.diff(cells.colour, axis=1)).max(axis=0) > 0
            same_r, same_d = ~diff_r, ~diff_d  # exactly one colour
        else:
            # After lossy compression a block keeps small ripples, small next to the steps at its border ...
            consistent = (cells.inner <= np.maximum(1.0, 0.4 * typical)) & ~cells.outline
            consistent &= cells.line <= np.maximum(3.0, 0.7 * typical)
            # ... and two blocks differ by a step right at their border, where a smooth gradient spreads it out.
            # The step must also stand out from the ripples on both sides, as texture's do not.
            ripple_r = np.maximum(cells.inner[:, 1:], cells.inner[:, :-1])
            ripple_d = np.maximum(cells.inner[1:], cells.inner[:-1])
            diff_r = (jump_r >= 1.0) & (cells.right >= np.maximum(0.6 * jump_r, 1.5 * ripple_r))
            diff_d = (jump_d >= 1.0) & (cells.down >= np.maximum(0.6 * jump_d, 1.5 * ripple_d))
            same_r, same_d = jump_r < 1.0, jump_d < 1.0  # within JPEG's noise
        consistent &= unclaimed
        both_r, both_d = consistent[:, 1:] & consistent[:, :-1], consistent[1:] & consistent[:-1]
        n_diff = sum(_spread(diff_r & both_r, diff_d & both_d, shape, np.int32))
        n_same = sum(_spread(same_r & both_r, same_d & both_d, shape, np.int32))
        # Kept cells differ from a neighbour: a flat exterior (a wall, a white page) is constant too, but one colour.
        return consistent, consistent & (n_diff >= 1) & (n_same <= 1), n_diff

    lossy = None if exact else judged(False)  # exact lattices are judged as lossless whatever the JPEG rules say
    # Lossless blocks are exactly constant, in many colours, and make at least a quarter of the cells that pass as
    # blocks by the JPEG rules (the rest: an exterior's calm cells). After JPEG, flat areas are often exactly
    # constant too (saturated white, a panel's grey: a block of one value decodes to one value), but in a colour or
    # two; at high quality, so are some grey blocks, but few of them. On JPEG's own grid, exactly constant cells
    # are its blocks decoded from their mean alone: a blocky JPEG saved losslessly passes as a mosaic by the JPEG
    # rules, so there they are judged as exactly constant cells, whatever their count (codec). So are a mosaic's
    # blocks there (GIMP's blocks of 8, 16, 24 or 32 px from the image's corner), but after JPEG only some of them:
    # JPEG keeps colour at half resolution and blurs it over the block borders. The caller judges such a lattice
    # by the JPEG rules too (jpeg_rules), and keeps what covers far more.
    codec = not exact and not jpeg_rules and count >= 4 and _jpeg_grid(size, cells.x0, cells.y0)
    lossless = (
        exact
        or codec
        or (not jpeg_rules and many and np.count_nonzero(constant & lossy[1]) >= 0.25 * np.count_nonzero(lossy[1]))
    )
    consistent, keep, n_diff = judged(True) if lossless else lossy
    evidence = keep & (typical >= STRONG) & (n_diff >= 2)
    # Each cell votes for a box around it: mosaic cells for, other cells against, flat ones slightly against (an
    # exterior as flat as the mosaic's smooth parts must not be taken in) unless they step to a neighbour (blocks
    # over a sky's gradient: one value along a row, a step to the next row); boxes maximise the sum of votes.
    calm = np.where(n_diff >= 1, 0.3, -0.1)
    if lossless:
        vote = np.where(consistent, np.where(keep, 1.0, calm), -2.0)
    else:
        vote = np.where(consistent, np.where(keep, np.where(typical >= STRONG, 1.0, 0.5), calm), -1.0)
    return {"cells": cells, "consistent": consistent, "keep": keep, "evidence": evidence, "vote": vote,
            "lossless": lossless, "codec": codec}  # fmt: skip


def _boxes(grid: dict) -> list[tuple[int, int, int, int]]:
    """Boxes of cells (r0, r1, c0, c1) around groups of kept cells, each the box with the most votes."""
    labels, _ = ndimage.label(ndimage.binary_dilation(grid["keep"], np.ones((5, 5), bool)))
    boxes = []
    for index, sl in enumerate(ndimage.find_objects(labels), start=1):
        # The box may reach a few cells further (calm blocks over a sky's gradient), never into another group.
        sl = tuple(slice(max(0, s.start - 3), s.stop + 3) for s in sl)
        local = np.where((labels[sl] > 0) & (labels[sl] != index), -10.0, grid["vote"][sl])
        for _ in range(4):
            total, (r0, r1, c0, c1) = _best_rectangle(local)
            if total < 4:
                break
            local[r0:r1, c0:c1] = -10.0
            box = (sl[0].start + r0, sl[0].start + r1, sl[1].start + c0, sl[1].start + c1)
            boxes.append(box)
    return boxes


def _codec_grid(size: int, x0: int, y0: int, exact: bool = False) -> bool:
    """Whether a lattice could be a codec's own: JPEG's 8 x 8 blocks (and their multiples), WebP's 4 x 4.

    After lossy compression any lattice of 4 px may be: JPEG keeps colour at half resolution, so pixels come in
    pairs, and over a smooth area the pairs line up into cells of 4. Exactly constant cells (exact) of 4 px come
    from WebP's blocks only, which start at multiples of 4.
    """
    if size == 4 and not exact:
        return True
    return _jpeg_grid(size, x0, y0) or (size in (4, 8, 16) and (x0 | y0) % 4 == 0)


def _jpeg_grid(size: int, x0: int, y0: int) -> bool:
    """Whether a lattice lies on JPEG's own grid: whole 8 x 8 blocks (or multiples) from a multiple of 8."""
    return size % 8 == 0 and x0 % 8 == 0 and y0 % 8 == 0


def _accept(f: dict) -> bool:
    """Whether a lattice component is a mosaic: dense, many colours, clear steps between cells."""
    if f.get("stripes"):
        return False
    clear = f["strong"] >= 0.4 and f["step"] >= 2.0 and f["colours"] >= 5
    # A faint lattice (no cell steps clearly, the median step is under 2 levels) over short edges: the banding of a
    # smooth gradient (runs of one level, a few pixels wide) makes such lattices by chance, lossless or not.
    dim = f["strong"] < 0.2 and f["step"] < 2.0
    short = f["cells"] * f["size"] < 150
    if f["lossless"]:
        if f["codec_grid"] and f["size"] <= 8 and f["cells"] < 12:
            return False  # a lossy codec's blocks of a smooth area (WebP's 4 x 4, JPEG's 8 x 8) decode exactly flat
        # Exactly constant cells are evidence in themselves, unless they may be a codec's blocks: 4 x 4 or 8 x 8, or
        # on its grid larger ones in few colours (JPEG's 16 x 16 units decode flat over a smooth sky, one level apart).
        codec_blocks = f["codec_grid"] and (f["size"] <= 8 or f["colours"] < 20)
        large = f["constant"] >= 30 and f["colours"] >= 10 and f["density"] >= 0.97 and not codec_blocks
        large = large and not (dim and short)
        # Two by two blocks: four colours and four clear steps between them.
        few = f["cells"] == 4 and f["colours"] == 4 and f["strong"] == 1.0 and f["step"] >= 2.0
        # Blocks larger than any codec's: a few thousand exactly constant pixels in cells of several colours are
        # evidence even where the blocks barely differ (a mosaic of a dim, even area).
        area = f["constant"] * f["size"] ** 2
        big = f["size"] > 16 and area >= 3000 and f["density"] >= 0.97 and f["colours"] >= min(f["cells"], 5)
        return f["density"] >= 0.9 and (clear or large or few or big)
    # After JPEG also a faint lattice of few cells whose steps fall between the lattice lines too (banding, some of
    # it upscaled).
    if dim and (short or (f["cells"] < 20 and f.get("off_share", 0.0) > 0.15)):
        return False
    # On JPEG's grid where its blocks decoded exactly constant (jpeg_rules): those of a smooth area step by a level or
    # two and come in few colours (a large photo's blocky sky at its own size passed otherwise).
    if f.get("jpeg_rules") and f["step"] < 4.0 and f["colours"] < 20:
        return False
    if f["cells"] <= 5:  # two by two large blocks after JPEG (and a cell beside them): calm, of several colours,
        # with steps far above the ripples. Half of them may step less than STRONG where the lattice is plain.
        strong = f["strong"] == 1.0 or (_plain_lattice(f) and f["strong"] >= 0.5)
        clear = f["colours"] >= 4 and strong and f["step"] >= 4.0 and f["ripple"] <= 0.1 * f["step"]
        # Or blocks calm inside (ripples under a level) on a plain lattice, none of them stepping to two neighbours:
        # two rows of blocks of one colour each. Clean images' few-cell plain lattices rippled 1.7 levels or more.
        # Every cell must be calm: a coarser lattice of a mosaic (pairs of its blocks) has cells that are not.
        calm = (
            _plain_lattice(f) and f["density"] >= 0.9 and f["colours"] >= 3 and f["step"] >= 4.0 and f["ripple"] <= 0.8
        )
        return clear or calm
    # Small lossy finds need more proof: flat drawings (swatches, checkboxes) on a grid pass the cell tests.
    # Proof grows with the length of the block edges checked, so fewer large cells are as good as many small.
    enough = (f["cells"] >= 9 and f["cells"] * max(f["size"], 8) >= 144) or f["strong"] >= 0.75
    # A dozen cells or fewer need lattice lines that step far more than the rest of the box: a texture of bumps
    # about a block apart (a lizard's scales) steps clearly at some lines, but between them too.
    enough = enough and (f["cells"] > 12 or f.get("inside", np.inf) >= 8.0)
    # On JPEG's grid its own 8 x 8 blocks step at the lattice lines: most cells must be calm there, unless the lines
    # step by far more than a smooth area's blocks decoded from their mean alone (GIMP's grid starts at the image's
    # corner: its blocks of 8, 16, 24 or 32 px lie on JPEG's).
    jpeg_like = f["codec_grid"] and f["size"] >= 8 and not (_plain_lattice(f) and f["step"] >= 6.0)
    dense = f["density"] >= (0.9 if jpeg_like else 0.75)
    if dense and clear and enough and f["ripple"] <= 0.35 * f["step"]:
        return True
    # Blocks of a few pixels after JPEG: a third of the cells ripple too much to pass as calm, but hundreds of
    # cells that step clearly, far above the ripples inside, make no texture's lattice.
    small = f["size"] <= 7 and f["cells"] >= 100 and f["colours"] >= 50 and f["density"] >= 0.55
    if small and f["strong"] >= 0.5 and f["step"] >= 4.0 and f["ripple"] <= 0.35 * f["step"]:
        return True
    # A few blocks larger than any codec's (a small box of large blocks): half of them step clearly at their
    # borders, far above the ripples inside.
    if f["size"] > 16 and f["cells"] >= 5 and clear and f["strong"] >= 0.5 and f["step"] >= 4.0:
        return f["density"] >= 0.9 and f["ripple"] <= 0.2 * f["step"]
    # A faint mosaic of a calm area: along the cell borders inside the box the lattice steps far more than
    # between other columns, and around the box it does not (a resized photo's faint lattice runs on), or far
    # less than inside. Fewer, larger cells need a clearer lattice.
    inside = f.get("inside", 0.0)
    alone = inside >= 6.0 and f.get("around", np.inf) <= max(1.5, inside / 10) and f.get("border", 0.0) >= 0.6
    # A plain lattice (its lines step 20 times more than the rest of the box, by 1.5 levels or more) along enough
    # edge length also makes a mosaic of cells a little less calm or of fewer colours: dark texture next to white,
    # a few large blocks. Flat drawings on a grid (swatches) step far more, but over short edges.
    plain = alone and inside >= 20.0 and f["border"] >= 1.5 and f["cells"] * f["size"] >= 150
    if plain and not f["codec_grid"] and f["density"] >= 0.85 and f["colours"] >= 4:
        return f["ripple"] <= 0.3 * f["step"]
    if f["codec_grid"] or f["density"] < 0.9:
        return False
    many = f["cells"] >= 10 and f["colours"] >= 8
    large = f["size"] > 16 and f["cells"] >= 5 and f["colours"] >= 5 and inside >= 12.0
    if alone and (many or large) and f["ripple"] <= 0.3 * f["step"]:
        return True
    # Blocks larger than JPEG's on a lattice that steps 12 times more at its lines than between them may stand out
    # less from what lies around (a horizon, a fur's edge): 6 times. Clean images' such lattices stepped 8 times.
    clearer = inside >= 12.0 and f.get("around", np.inf) <= inside / 6 and f.get("border", 0.0) >= 0.6
    if clearer and f["size"] > 12 and f["cells"] >= 5 and f["colours"] >= 4 and f["ripple"] <= 0.3 * f["step"]:
        return True
    # A mosaic of a hazy or dark area: few strong steps, but far above the calm inside of its cells, whose median
    # step may be under 2 levels (a pale wall's blocks; no clean image's calm lattice stepped over 1 level so); or
    # many cells with clear steps, too many to be a drawing.
    faint = (
        f["strong"] >= 0.2
        and f["step"] >= 1.5
        and f["ripple"] <= 0.15 * f["step"]
        and f["colours"] >= 8
        and f["cells"] * f["size"] >= 300
    )
    # Or dozens of cells of 20 colours or more, hardly any stepping clearly, on a lattice that steps at its lines four
    # times more than between them (0.6 levels or more), and no more around the box than between its lines: a
    # faint mosaic of a smooth area. Clean images' such lattices stepped a quarter of a level at their lines.
    faint = faint or (
        f["cells"] >= 40
        and f["colours"] >= 20
        and inside >= 4.0
        and f.get("around", np.inf) <= 1.3
        and f.get("border", 0.0) >= 0.6
        and f["ripple"] <= 0.35 * f["step"]
    )
    # Hundreds of cells of 50 colours or more, two in five stepping clearly, may ripple up to half their step inside
    # (elsewhere 0.35): blocks of 8-12 px off JPEG's grid put a block's corner in every JPEG block, which rings. No
    # clean image's lattice came near: those of 60 cells or more that stepped clearly as often had few colours and
    # rippled twice their step (blocks of 3 px).
    ripples = 0.5 if f["colours"] >= 50 and f["strong"] >= 0.4 else 0.35
    many = f["cells"] >= 100 and f["colours"] >= 30 and f["step"] >= 2.0 and f["ripple"] <= ripples * f["step"]
    if faint or many:
        return True
    # A large mosaic of a smooth area: many calm cells with small steps right at their borders (off JPEG's grid).
    return f["cells"] >= 40 and f["colours"] >= 10 and f["step"] >= 1.5 and f["ripple"] <= 0.5


def _plain_lattice(f: dict) -> bool:
    """Whether a lossy lattice's lines step far more than the rest of its box (20 times), and little around it."""
    return f.get("inside", 0.0) >= 20.0 and f.get("around", np.inf) <= 2.5


def _lattice_contrast(luma: np.ndarray, size: int, edges: tuple[int, int, int, int]) -> dict[str, float]:
    """How a lattice steps at its lines compared with between them: inside a box of full cells and around it.

    inside: the median step at the lattice lines over the median step between them; border: that median step;
    off_share: the share of steps between the lines that reach half of it; around: the ratio inside measures, over
    a ring two cells wide around the box (infinite when no ring fits in the image).
    """
    x0, y0, x1, y1 = edges
    h, w = luma.shape
    ring = []
    for rx0, ry0, rx1, ry1 in ((x0 - 2 * size, y0 - 2 * size, x1 + 2 * size, y0), (x0 - 2 * size, y1, x1 + 2 * size,
                               y1 + 2 * size), (x0 - 2 * size, y0, x0, y1), (x1, y0, x1 + 2 * size, y1)):  # fmt: skip
        rx0, ry0 = rx0 + size * max(0, -(rx0 // size)), ry0 + size * max(0, -(ry0 // size))  # whole cells, inside
        ring.append(_border_steps(luma, size, (rx0, ry0, min(rx1, w), min(ry1, h))))
    on, off = _border_steps(luma, size, edges)
    out = {"inside": float(np.median(on) / (np.median(off) + 0.05)), "border": float(np.median(on)), "around": np.inf}
    out["off_share"] = float(np.mean(off >= 0.5 * np.median(on)))
    around = [part for part in ring if part[0].size and part[1].size]
    if around:
        ring_on, ring_off = (np.concatenate([part[i] for part in around]) for i in (0, 1))
        out["around"] = float(np.median(ring_on) / (np.median(ring_off) + 0.05))
    return out


def _border_steps(luma: np.ndarray, size: int, box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The steps (|mean of signed steps| along one cell) across the lattice lines of a box, and between them.

    The mean along a cell cancels JPEG's ripples, which a block's own step, the same all along, survives; lines
    next to a lattice line are left out, where JPEG spreads the step.
    """
    x0, y0, x1, y1 = box
    on, off = [], []
    for image, (a0, a1), (b0, b1) in ((luma, (x0, x1), (y0, y1)), (luma.T, (y0, y1), (x0, x1))):
        rows = (b1 - b0) // size
        if rows < 1 or a1 - a0 < 2 * size:
            continue
        d = np.diff(image[b0 : b0 + rows * size, a0:a1], axis=1)  # d[:, j]: column a0 + j into a0 + j + 1
        means = np.abs(d.reshape(rows, size, -1).mean(axis=1))
        phase = (np.arange(means.shape[1]) + 1) % size
        on.append(means[:, phase == 0].ravel())
        off.append(means[:, (phase >= 2) & (phase <= size - 2)].ravel())
    if not on:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(on), np.concatenate(off)


def _with_partial_blocks(values: np.ndarray, luma: np.ndarray, size: int, edges: tuple, lossless: bool) -> tuple:
    """The box (x, y, w, h) of full cells (x0, y0, x1, y1) grown by the partial blocks found on each side."""
    x0, y0, x1, y1 = edges  # each side is measured along the full cells only, where the grid lines are
    t = values.transpose(0, 2, 1)
    left = _partial(values, luma, size, (y0, y1), x0, -1, lossless)
    right = _partial(values, luma, size, (y0, y1), x1, 1, lossless)
    top = _partial(t, luma.T, size, (x0, x1), y0, -1, lossless)
    bottom = _partial(t, luma.T, size, (x0, x1), y1, 1, lossless)
    return int(x0 - left), int(y0 - top), int(x1 + right - x0 + left), int(y1 + bottom - y0 + top)


def _partial(
    values: np.ndarray, luma: np.ndarray, size: int, span: tuple[int, int], edge: int, direction: int, lossless: bool
) -> int:
    """How many columns beyond a vertical cell edge (outwards in direction) still belong to the blocks."""
    w = luma.shape[1]
    room = w - edge if direction > 0 else edge
    limit = min(size - 1, room)
    lo, hi = span
    rows = (hi - lo) // size
    if limit <= 0 or rows < 1:
        return 0
    if not lossless:
        return _lossy_partial(luma, size, lo, rows, edge, direction, limit)
    # One column more where the image goes on: a run of one value a whole block wide is a flat exterior (a
    # saturated sky or backdrop), not a partial block, which is narrower than a block.
    probe = limit + 1 if room > limit else limit
    cols = edge + direction * np.arange(probe) - (0 if direction > 0 else 1)
    strip = values[:, lo : lo + rows * size, cols].reshape(values.shape[0], rows, size, probe)
    flat = (strip.max(axis=2) - strip.min(axis=2)).max(axis=0) == 0  # (rows, probe)
    same = np.ones_like(flat)
    same[:, 1:] = (strip[:, :, :, 1:] == strip[:, :, :, :-1]).all(axis=(0, 2))
    runs = np.cumprod(flat & same, axis=1).sum(axis=1)  # the leading columns that keep the block's value
    # A row whose partial block (if any) runs on into such an exterior cannot tell where the blocks end: the
    # other rows decide (a mosaic's white blocks on a white backdrop, its coloured ones beside).
    widths = runs[runs <= limit]
    if widths.size < min(rows, max(2, rows / 3)):
        return 0
    # The width most of those rows agree on: a flat exterior in a few rows must not widen the box.
    for width in range(limit, 0, -1):
        if np.mean(widths >= width) >= 0.6:
            return width
    return 0


def _grid_lines_go_on(
    luma: np.ndarray,
    size: int,
    lo: int,
    rows: int,
    cols: np.ndarray,
    off_codec: bool = False,
    reduce: Callable[..., np.ndarray] = np.mean,
) -> tuple[np.ndarray, np.ndarray] | None:
    """For columns of the image: the steps where rows lo + k * size meet (reduced over those lines: mean or median),
    and the mean ripples between them.

    With off_codec, rows that meet on JPEG's 8 x 8 block borders are left out (they step in a smooth sky too);
    None when no lattice line is left.
    """
    d = np.abs(np.diff(luma[lo : lo + rows * size, cols], axis=0))
    boundary = lo + 1 + np.arange(d.shape[0])  # d[i]: the step from row boundary - 1 into row boundary
    usable = boundary % 8 != 0 if off_codec else np.ones(d.shape[0], bool)
    on_line = ((boundary - lo) % size == 0) & usable
    if not on_line.any():
        return None
    return reduce(d[on_line], axis=0), d[~on_line & usable].mean(axis=0)


def cell_features(
    values: np.ndarray, luma: np.ndarray, size: int, x0: int, y0: int, rows: int, cols: int
) -> np.ndarray:
    """Evidence that lattice cells are mosaic blocks, (rows, cols, len(CELL_FEATURES)), for cells from (x0, y0).

    values: (C, H, W) on 0..255; luma: its (H, W) luma.
    """
    s, (h, w) = size, luma.shape
    cell = luma[y0 : y0 + rows * s, x0 : x0 + cols * s].reshape(rows, s, cols, s)
    m = 0 if s < 6 else 1 if s < 10 else 2  # JPEG rings next to a block's edge: the inside leaves it out
    inner = cell[:, m : s - m, :, m : s - m]
    half = max(1, (s - 2 * m) // 2)
    # A block is flat inside; a smooth area slopes, and its change over one pixel is the same inside as at a border.
    slope = np.abs(inner[..., :half].mean(axis=(1, 3)) - inner[..., -half:].mean(axis=(1, 3)))
    slope += np.abs(inner[:, :half].mean(axis=(1, 3)) - inner[:, -half:].mean(axis=(1, 3)))
    across, down = np.diff(inner, axis=3), np.diff(inner, axis=1)
    ripple = (np.abs(across).mean(axis=(1, 3)) + np.abs(down).mean(axis=(1, 3))) / 2
    if s - 2 * m >= 2:
        # Steps along whole lines inside the cell, their signs kept along the line: JPEG's ripples cancel out.
        lines_across, lines_down = np.abs(across.mean(axis=1)), np.abs(down.mean(axis=3))
        between = (lines_across.mean(axis=2) + lines_down.mean(axis=1)) / 2
        strongest = np.maximum(lines_across.max(axis=2), lines_down.max(axis=1))
    else:
        between = strongest = np.zeros((rows, cols), np.float32)
    # The same kind of step right at each of the cell's four borders (NaN at the image's edge).
    ys, xs = y0 + np.arange(rows * s), x0 + np.arange(cols * s)
    at_x = [np.abs((luma[ys, x] - luma[ys, x - 1]).reshape(rows, s).mean(axis=1)) if 0 < x < w
            else np.full(rows, np.nan, np.float32) for x in x0 + s * np.arange(cols + 1)]  # fmt: skip
    at_y = [np.abs((luma[y, xs] - luma[y - 1, xs]).reshape(cols, s).mean(axis=1)) if 0 < y < h
            else np.full(cols, np.nan, np.float32) for y in y0 + s * np.arange(rows + 1)]  # fmt: skip
    v, hz = np.stack(at_x, axis=1), np.stack(at_y, axis=0)
    borders = np.stack([v[:, :-1], v[:, 1:], hz[:-1], hz[1:]], axis=-1)
    known = np.isfinite(borders)
    mean = np.nanmean(np.where(known, borders, np.nan), axis=-1, keepdims=True)
    borders = -np.sort(-np.where(known, borders, mean), axis=-1)
    chroma = np.zeros((rows, cols), np.float32)
    if values.shape[0] >= 3:
        for a in (0, 2):  # red and blue against green
            c = (values[a] - values[1])[y0 : y0 + rows * s, x0 : x0 + cols * s].reshape(rows, s, cols, s)
            c = c[:, m : s - m, :, m : s - m]
            chroma += (np.abs(np.diff(c, axis=3)).mean(axis=(1, 3)) + np.abs(np.diff(c, axis=1)).mean(axis=(1, 3))) / 2
    level = cell.mean(axis=(1, 3)) / 255.0
    # JPEG's own 8 x 8 block borders step in any photo: the share of the cell's borders that lie on them.
    on_x, on_y = (x0 + s * np.arange(cols + 1)) % 8 == 0, (y0 + s * np.arange(rows + 1)) % 8 == 0
    codec = (on_x[None, :-1] + 0.0 + on_x[None, 1:] + on_y[:-1, None] + on_y[1:, None]) / 4
    ones = np.ones((rows, cols), np.float32)
    out = [*np.log1p(np.moveaxis(borders, -1, 0)), np.log1p(between), np.log1p(strongest), np.log1p(slope),
           np.log1p(ripple), np.log1p(chroma), np.log((np.median(borders, axis=-1) + 0.1) / (between + 0.1)), level,
           np.minimum(level, 1 - level), np.log(s) * ones, codec * ones, known.mean(axis=-1)]  # fmt: skip
    return np.nan_to_num(np.stack(out, axis=-1).astype(np.float32))


CELL_FEATURES = ["border 1st", "border 2nd", "border 3rd", "border 4th", "between", "strongest line", "slope",
                 "ripple", "chroma ripple", "border / between", "level", "near black or white", "log size",
                 "on JPEG grid", "borders known"]  # fmt: skip


@cache
def _learned(path: Path) -> dict[str, np.ndarray]:
    return {k: np.asarray(v, np.float32) for k, v in json.loads(path.read_text()).items()}


def _learned_scores(path: Path, features: np.ndarray) -> np.ndarray:
    """The score a learned one-hidden-layer network (weights in a JSON file) gives each of the features' rows."""
    p = _learned(path)
    x = (features - p["mean"]) / p["std"]
    return np.tanh(x @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"]


def _cell_evidence(features: np.ndarray) -> np.ndarray:
    """Per lattice cell: the log-likelihood ratio of mosaic block against not, from the learned verdict."""
    prior = _learned(CELL_MODEL)["prior"]
    # The verdict was trained on cells where blocks made up a share `prior` of them: without that prior, what is
    # left weighs the evidence alone, and a box's sum of it is its likelihood against no mosaic.
    return _learned_scores(CELL_MODEL, features) - np.log(prior / (1 - prior))


def verdict_window(edges: tuple, size: int, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """The cells the learned verdict weighs around a box of full cells (x0, y0, x1, y1) in an (H, W) image:
    the first cell's corner (x, y) and the rows and columns of cells, REACH lines beyond the box where they fit."""
    x0, y0, x1, y1 = edges
    h, w = shape
    gx0, gy0 = x0 - size * min(REACH, x0 // size), y0 - size * min(REACH, y0 // size)
    rows = min((y1 - gy0) // size + REACH, (h - gy0) // size)
    cols = min((x1 - gx0) // size + REACH, (w - gx0) // size)
    return gx0, gy0, rows, cols


def _learned_extent(values: np.ndarray, luma: np.ndarray, size: int, edges: tuple) -> tuple[int, int, int, int]:
    """A lossy box of full cells (x0, y0, x1, y1) moved to the box of cells the learned verdict finds most likely.

    Cells are weighed up to REACH lines beyond the box: a mosaic's calm stretch between blocks joins when blocks
    lie beyond it. From a box that grew they are weighed again, so a patch of small blocks (the part whose cells
    passed the cell tests after JPEG) grows to the whole mosaic. A box far from the first (another group of blocks)
    leaves it as it was.
    """
    found = edges
    for _ in range(GROWTH):
        x0, y0, x1, y1 = found
        gx0, gy0, rows, cols = verdict_window(found, size, luma.shape)
        _, (r0, r1, c0, c1) = _best_rectangle(_cell_evidence(cell_features(values, luma, size, gx0, gy0, rows, cols)))
        new = (gx0 + c0 * size, gy0 + r0 * size, gx0 + c1 * size, gy0 + r1 * size)
        common = _common_area(found, new)
        union = (x1 - x0) * (y1 - y0) + (new[2] - new[0]) * (new[3] - new[1]) - common
        # The box may move to one that overlaps it or grow around it, not leave it for another group of blocks.
        left = common < 0.3 * union and common < 0.8 * (x1 - x0) * (y1 - y0)
        if r1 - r0 < 2 or c1 - c0 < 2 or left or new == found:
            break
        found = new
    if found == edges:
        return edges
    # The verdict takes a flat exterior's cells for blocks (a mosaic over it would look the same). Where a side grew
    # over them to the image's border, nothing beyond marks where the blocks end: it steps back over lines where
    # the lattice shows no step, as the box covers only what shows. A line of partial blocks nearly a block wide
    # passes as blocks too: then the side steps back to the full cells (the partial blocks are measured later).
    out = list(found)
    for axis, image in ((0, luma), (1, luma.T)):
        lo, rows = found[1 - axis], (found[3 - axis] - found[1 - axis]) // size
        for side, direction in ((axis, -1), (axis + 2, 1)):
            border = found[side] <= size if direction < 0 else found[side] >= image.shape[1] - size
            while (
                border
                and (out[side] - edges[side]) * direction > 0
                and _blank_line(image, size, lo, rows, out[side], direction)
            ):
                out[side] -= direction * size
            inner = out[side] - direction * size
            if (out[side] - edges[side]) * direction > 0 and _partial_line(image, size, lo, rows, inner, direction):
                out[side] = inner
    return tuple(out)


def _blank_line(image: np.ndarray, size: int, lo: int, rows: int, edge: int, direction: int) -> bool:
    """Whether the line of cells just inside a column edge (inwards against direction) shows no lattice: along its
    lines of cells (off JPEG's grid) the columns step by less than half a level on average."""
    at = edge - size if direction > 0 else edge
    steps = _grid_lines_go_on(image, size, lo, rows, np.arange(at, at + size), off_codec=True)
    return steps is not None and steps[0].mean() < 0.5


def _lossy_refine(luma: np.ndarray, size: int, edges: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """A lossy box of full cells (x0, y0, x1, y1) with each side moved to where its lines of cells stop being blocks.

    A box from cell votes is often a line of cells off after JPEG: a mosaic's calm parts vote for nothing and a
    smooth exterior votes a little for itself. Each outer line of cells is judged on its own (_line_is_blocks):
    lines that are clearly not blocks are cut, lines beyond the box that clearly are join it.
    """
    x0, y0, x1, y1 = edges
    for _ in range(3):
        before = (x0, y0, x1, y1)
        for axis in (0, 1):
            image, (a0, a1), span = (luma, (x0, x1), (y0, y1)) if axis == 0 else (luma.T, (y0, y1), (x0, x1))
            a0 = _refine_side(image, size, a0, a1, span, -1)
            a1 = _refine_side(image, size, a1, a0, span, 1)  # after a0 moved: the sides must not cross
            if axis == 0:
                x0, x1 = a0, a1
            else:
                y0, y1 = a0, a1
        if (x0, y0, x1, y1) == before:
            break
    return x0, y0, x1, y1


def _refine_side(image: np.ndarray, size: int, side: int, other: int, span: tuple[int, int], direction: int) -> int:
    """One side of a box (a column edge of image; direction -1: the left side, 1: the right) cut or grown by lines."""

    verdicts: dict[int, bool | None] = {}

    def blocks_inside(edge: int) -> bool | None:  # the verdict on the line of cells just inside an edge, judged once
        if edge not in verdicts:
            verdicts[edge] = _line_is_blocks(image, size, edge if direction < 0 else edge - size, span)
        return verdicts[edge]

    while (side - other) * direction > 2 * size and blocks_inside(side) is False:
        side -= direction * size
    rows = (span[1] - span[0]) // size
    for _ in range(8):
        outer = side + direction * size
        if outer < 0 or outer > image.shape[1]:
            break
        verdict = blocks_inside(outer)
        if verdict is None:
            # A calm line (blocks over an even area, or an even exterior) is taken in when a line of blocks lies
            # right beyond it: blocks on the mosaic's own lattice do not go on past it.
            beyond = outer + direction * size
            if 0 <= beyond <= image.shape[1] and blocks_inside(beyond):
                side = outer
                continue
        if not verdict:
            break
        if _partial_line(image, size, span[0], rows, side, direction):
            break  # a partial block (its steps end before the line does), measured to the pixel later
        side = outer
    return side


def _partial_line(image: np.ndarray, size: int, lo: int, rows: int, edge: int, direction: int) -> bool:
    """Whether the line of cells beyond a column edge (outwards in direction) holds partial blocks after lossy
    compression: their steps go on for half a block or more, but end before a whole one."""
    room = image.shape[1] - edge if direction > 0 else edge
    return size // 2 <= _lossy_partial(image, size, lo, rows, edge, direction, min(size, room) - 1) < size - 1


def _line_is_blocks(image: np.ndarray, size: int, at: int, span: tuple[int, int]) -> bool | None:
    """Whether columns at..at + size, over the rows of span, are a line of mosaic cells: True, False or unsure.

    Blocks: the lattice steps between the cells along most of the line, or the cells are flat (no slope inside,
    where a smooth exterior has one) and still step faintly at the lattice. Not blocks: cells that slope steeply,
    or slope and hardly step at the lattice. A flat exterior and a mosaic over it look alike: unsure.
    """
    rows = (span[1] - span[0]) // size
    if rows < 2:
        return None  # no lattice line runs along a single cell
    typical = None  # the cells' typical slope inside; small cells are too small to tell one from JPEG's ripples
    if size >= 8:
        cells = image[span[0] : span[0] + rows * size, at : at + size].reshape(rows, size, size)
        inside = cells[:, 2 : size - 2, 2 : size - 2]  # JPEG rings next to a block's edge: leave it out
        half = (size - 4) // 2
        slope = np.abs(inside[:, :, :half].mean(axis=(1, 2)) - inside[:, :, -half:].mean(axis=(1, 2)))
        slope += np.abs(inside[:, :half].mean(axis=(1, 2)) - inside[:, -half:].mean(axis=(1, 2)))
        typical = float(np.median(slope))
    flat = typical is not None and typical <= SLOPE

    def stepping(cols: np.ndarray) -> tuple[float, float, bool, bool]:
        # The share of columns that step at the lattice lines: on average, and on most lines (one exterior edge
        # along a lattice line steps a lot on one line only).
        shares = []
        for reduce in (np.mean, np.median):
            steps, ripples = _grid_lines_go_on(image, size, span[0], rows, cols, reduce=reduce)
            shares.append(float(np.mean(steps >= 2.0 * ripples + 0.5)))
        off_codec = _grid_lines_go_on(image, size, span[0], rows, cols, off_codec=True)
        faint = off_codec is not None and _faint_lattice(*off_codec)
        # Over all its columns the lattice still steps well above the ripples between its lines (dim blocks whose
        # single columns drown in JPEG's ripples); a smooth or textured exterior changes as much between them.
        lattice = off_codec is not None and off_codec[0].mean() >= 1.8 * off_codec[1].mean() + 0.1
        return shares[0], shares[1], faint, lattice

    # Both halves of the line: a partial block next to the box is blocks in one half only.
    halves = [stepping(cols) for cols in (np.arange(at, at + size // 2), np.arange(at + size // 2, at + size))]
    if typical is not None and typical > 3 * SLOPE:
        return False  # cells that slope this much are no blocks, whatever steps an exterior edge makes on the lattice
    if all(most >= 0.85 or (flat and faint) for _, most, faint, _ in halves):
        return True
    lattice = all(steps for *_, steps in halves)
    if typical is not None and not flat and max(share for share, *_ in halves) < 0.5 and not lattice:
        return False
    return None


def _faint_lattice(steps: np.ndarray, ripples: np.ndarray) -> bool:
    """Whether calm cells (small ripples) still step at the lattice lines, well above their ripples."""
    return ripples.mean() <= 0.5 and steps.mean() >= 2.0 * ripples.mean() + 0.05


def _lossy_partial(luma: np.ndarray, size: int, lo: int, rows: int, edge: int, direction: int, limit: int) -> int:
    """Partial block width after lossy compression, as the learned verdict weighs the columns beyond the edge."""
    if rows < 2:
        return 0
    columns = _columns_beyond(luma, size, lo, rows, edge, direction, limit)
    width = partial_width(_learned_scores(PARTIAL_MODEL, _column_features(columns, size, limit)))
    # Partial blocks of one colour along the edge do not step and are as calm as an even exterior: where a textured
    # exterior follows, the calm judged against the full blocks and the roughness further out says more.
    wide = _calm_width(columns, limit)
    return width if wide is None else max(width, wide)


def _columns_beyond(
    luma: np.ndarray, size: int, lo: int, rows: int, edge: int, direction: int, limit: int
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The columns of the last full cell before a vertical cell edge and up to 8 past the widest partial block
    beyond it (outwards in direction), over rows lo .. lo + rows * size of full cells (two rows or more).

    Returns how many lie inside, their strip of luma, and per column the mean step at the lattice lines, the mean
    ripple between them and the mean change from the column before (0 for the first).
    """
    inside, cols, strip, changes = _beyond_edge(luma, size, (lo, lo + rows * size), edge, direction, limit)
    steps, ripples = _grid_lines_go_on(luma, size, lo, rows, cols)
    return inside, strip, steps, ripples, changes


def _beyond_edge(
    luma: np.ndarray, size: int, span: tuple[int, int], edge: int, direction: int, limit: int
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """The columns of the last full cell before a vertical cell edge and up to 8 past the widest partial block
    beyond it (outwards in direction), over rows span: how many lie inside, their indices, their strip of luma
    and per column the mean change from the column before (0 for the first)."""
    w = luma.shape[1]
    inside = min(size, edge if direction > 0 else w - edge)
    reach = min(limit + 8, w - edge if direction > 0 else edge)
    cols = edge + direction * np.arange(-inside, reach) - (0 if direction > 0 else 1)
    strip = luma[span[0] : span[1], cols]
    changes = np.zeros(len(cols), np.float32)
    changes[1:] = np.abs(np.diff(strip, axis=1)).mean(axis=0)
    return inside, cols, strip, changes


def partial_width(scores: np.ndarray) -> int:
    """The partial width that the learned scores of the columns beyond an edge make the median guess.

    Each column scores how much it looks like the blocks (steps where rows of blocks meet, calm between them, no
    change from the first column beyond) against the exterior further out; a width's log-likelihood is the sum of
    its columns' scores. The median, not the likeliest width: where partial blocks and exterior look alike (a flat
    backdrop) any width is as likely, and the middle one errs least.
    """
    total = np.concatenate([[0.0], np.cumsum(scores)])
    likelihood = np.exp(total - total.max())
    return int(np.count_nonzero(np.cumsum(likelihood) < 0.5 * likelihood.sum()))


def _calm_width(columns: tuple, limit: int) -> int | None:
    """How far the columns beyond a cell edge (_columns_beyond) stay about as calm as the blocks inside, up to where
    the exterior's roughness begins (None: the 8 columns past the widest partial block are not clearly rougher than
    the blocks).

    A column's roughness is its change along the edge (between the lattice lines) plus its change from the column
    before it. A partial block is flat like the full ones; JPEG rings in the last few columns before a rough exterior,
    so the width ends where roughness reaches halfway to the exterior's.
    """
    inside, strip, _, ripples, changes = columns
    if strip.shape[1] - inside < limit + 4 or inside < 4:
        return None
    rough = ripples + changes
    rough[inside] = 2 * ripples[inside]  # the step across the edge is the lattice's, no roughness
    blocks = float(np.median(rough[1 : inside - 1]))
    beyond = rough[inside:]
    exterior = float(np.median(beyond[limit : limit + 8]))  # past any partial block
    # Without a step from the full blocks into the first column beyond, nothing tells a partial block from an
    # exterior as calm as the blocks (a page's white beyond a row of white blocks over the margin).
    if exterior < 4.0 * blocks + 0.5 or changes[inside] < blocks + 0.5:
        return None
    high = beyond[: limit + 1] >= (blocks + exterior) / 2
    width = int(np.argmax(high)) if high.any() else limit
    calm = np.median(beyond[:width]) if width else blocks
    # Not as calm: an exterior that grows rougher further out; far calmer: a flat exterior (a page, a backdrop) that
    # JPEG leaves smoother than any block, ringing next to the others.
    return width if 0.1 * blocks <= calm <= 2.0 * blocks + 0.3 else None


PARTIAL_FEATURES = ["step", "ripple", "change", "next change", "step / blocks'", "ripple / blocks'",
                    "roughness / exterior's", "roughness / blocks'", "blocks' step", "blocks' ripple",
                    "exterior", "exterior seen", "distance", "share of room", "largest change so far",
                    "mean step so far / blocks'", "step before", "ripple before", "step after", "ripple after",
                    "change across the edge", "block size", "drift", "drift / blocks'", "slope", "blocks' drift",
                    "mean drift", "mean drift / blocks'", "mean drift / blocks' ripple"]  # fmt: skip


def partial_features(
    luma: np.ndarray, size: int, lo: int, rows: int, edge: int, direction: int, limit: int
) -> np.ndarray:
    """Evidence that columns beyond a vertical cell edge are partial blocks, (limit, len(PARTIAL_FEATURES)).

    The columns are those outwards from edge in direction, over rows lo .. lo + rows * size of full cells (two rows
    of them or more); all measures are log(1 + levels), and differences of them stand for ratios.
    """
    return _column_features(_columns_beyond(luma, size, lo, rows, edge, direction, limit), size, limit)


def _column_features(columns: tuple, size: int, limit: int) -> np.ndarray:
    """partial_features of the columns beyond an edge (_columns_beyond)."""
    inside, strip, steps, ripples, changes = columns
    d = np.diff(strip, axis=1)
    slopes = np.zeros(strip.shape[1], np.float32)
    slopes[1:] = np.abs(d.mean(axis=0))
    out = strip[:, inside : inside + limit] - strip[:, inside : inside + 1]  # from the first column beyond
    drift, mean_drift = np.abs(out).mean(axis=0), np.abs(out.mean(axis=0))
    # The blocks' own measures: across the last full cell (its first column left out, a lattice line lies before it).
    own = strip[:, inside - 1] - strip[:, max(0, inside - size + 1)]
    own_drift, own_mean_drift = float(np.abs(own).mean()), float(np.abs(own.mean()))
    block_step = float(np.median(steps[:inside]))
    block_ripple = float(np.median(ripples[1:inside])) if inside > 2 else float(ripples[:inside].mean())
    block_change = float(np.median(changes[1:inside])) if inside > 1 else 0.0
    rough = ripples + changes
    beyond = rough[inside + limit :]  # past the widest partial block
    seen = len(beyond) >= 3
    exterior = float(np.median(beyond)) if seen else block_ripple + block_change
    j = np.arange(limit)
    k = inside + j
    before, after = k - 1, np.minimum(k + 1, strip.shape[1] - 1)
    lg = np.log1p
    features = [
        lg(steps[k]), lg(ripples[k]), lg(changes[k]), lg(changes[after]),
        lg(steps[k]) - lg(block_step), lg(ripples[k]) - lg(block_ripple),
        lg(rough[k]) - lg(exterior), lg(rough[k]) - lg(block_ripple + block_change),
        np.full(limit, lg(block_step)), np.full(limit, lg(block_ripple)), np.full(limit, lg(exterior)),
        np.full(limit, float(seen)), j / size, (j + 1) / (limit + 1),
        lg(np.maximum.accumulate(changes[k])), lg(np.cumsum(steps[k]) / (j + 1)) - lg(block_step),
        lg(steps[before]), lg(ripples[before]), lg(steps[after]), lg(ripples[after]),
        np.full(limit, lg(changes[inside])), np.full(limit, np.log(size) / np.log(40)),
        lg(drift), lg(drift) - lg(own_drift), lg(slopes[k]), np.full(limit, lg(own_drift)),
        lg(mean_drift), lg(mean_drift) - lg(own_mean_drift), lg(mean_drift) - lg(block_ripple),
    ]  # fmt: skip
    return np.stack(features, axis=1).astype(np.float32)


def _best_rectangle(vote: np.ndarray) -> tuple[float, tuple[int, int, int, int]]:
    """The rows r0:r1 and columns c0:c1 whose votes add up to the most, and that sum."""
    nr, nc = vote.shape
    rows = np.zeros((nr + 1, nc))
    rows[1:] = np.cumsum(vote, axis=0)
    best, where = 0.0, (0, 0, 0, 0)
    for r0 in range(nr):
        # Column sums over rows r0:r1 for every r1, then the best run of columns for each (Kadane by prefix sums).
        prefix = np.zeros((nr - r0, nc + 1))
        prefix[:, 1:] = np.cumsum(rows[r0 + 1 :] - rows[r0], axis=1)
        lowest = np.minimum.accumulate(prefix, axis=1)
        gain = prefix[:, 1:] - lowest[:, :-1]
        i, c = np.unravel_index(int(gain.argmax()), gain.shape)
        if gain[i, c] > best:
            best = float(gain[i, c])
            where = (r0, r0 + i + 1, int(prefix[i, : c + 1].argmin()), c + 1)
    return best, where
