import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spl
import torch

from depix.blocks import make_grid
from depix.fill import membrane_fill
from depix.preprocessing import prepare_image


def exact_membrane(pixelated, known, grid):
    """The constrained least-squares problem solved directly (KKT system) for one image."""
    h, w = pixelated.shape
    unknown = np.argwhere(~known)
    index = -np.ones((h, w), int)
    index[unknown[:, 0], unknown[:, 1]] = np.arange(len(unknown))
    rows, cols, values, rhs = [], [], [], np.zeros(len(unknown))
    for k, (r, c) in enumerate(unknown):
        for dr, dc in ((0, 1), (1, 0), (0, -1), (-1, 0)):
            rr, cc = r + dr, c + dc
            if 0 <= rr < h and 0 <= cc < w:
                rows.append(k), cols.append(k), values.append(1.0)
                if index[rr, cc] >= 0:
                    rows.append(k), cols.append(index[rr, cc]), values.append(-1.0)
                else:
                    rhs[k] += pixelated[rr, cc]
    laplacian = sp.csr_matrix((values, (rows, cols)), (len(unknown), len(unknown)))
    block = grid.ids[0, 0].numpy()[unknown[:, 0], unknown[:, 1]]
    constraint = sp.csr_matrix((np.ones(len(unknown)), (block, np.arange(len(unknown)))))
    target = ((grid.low + grid.high) / 2 * grid.counts).numpy()
    system = sp.bmat([[laplacian, constraint.T], [constraint, None]]).tocsc()
    solution = spl.spsolve(system, np.concatenate([rhs, target]))[: len(unknown)]
    out = pixelated.astype(float)
    out[unknown[:, 0], unknown[:, 1]] = solution
    return out


def test_membrane_fill_matches_direct_solve_and_keeps_block_means():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:40, :50]
    image = np.clip(127 + 80 * np.sin(xx / 6) * np.cos(yy / 9) + rng.normal(0, 4, (40, 50)), 0, 255)
    cases = [(5, 7, 30, 20, 6), (0, 0, 50, 12, 4), (33, 25, 17, 15, 8)]  # the last two touch the border
    for x, y, width, height, size in cases:
        pixelated, known, _ = prepare_image(image.astype(np.uint8)[None], x, y, width, height, size)
        p = torch.from_numpy(pixelated[None]).float()
        u = torch.from_numpy(~known[None])
        grid = make_grid(p, u, torch.tensor([size]), torch.tensor([[x, y]]))
        fill = membrane_fill(p, u, grid, iterations=200)
        exact = exact_membrane(pixelated[0], known[0], grid)
        assert np.abs(fill[0, 0].numpy() - exact).max() < 0.05
        torch.testing.assert_close(grid.mean(fill), (grid.low + grid.high) / 2, atol=1e-3, rtol=0)
        assert torch.equal(fill[~u], p[~u])
        default = membrane_fill(p, u, grid)
        assert np.abs(default[0, 0].numpy() - exact).max() < 0.5


def test_membrane_fill_batches_are_independent():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (3, 1, 24, 24)).astype(np.float32)
    unknown = torch.zeros(3, 1, 24, 24, dtype=torch.bool)
    unknown[0, :, 2:10, 3:20] = True
    unknown[1, :, 10:24, 0:8] = True
    unknown[2, :, 5:9, 5:9] = True
    sizes, offsets = torch.tensor([4, 3, 2]), torch.tensor([[3, 2], [0, 10], [5, 5]])
    p = torch.from_numpy(images)
    together = membrane_fill(p, unknown, make_grid(p, unknown, sizes, offsets), iterations=60)
    for i in range(3):
        alone = membrane_fill(p[i : i + 1], unknown[i : i + 1], make_grid(p[i : i + 1], unknown[i : i + 1],
                              sizes[i : i + 1], offsets[i : i + 1]), iterations=60)  # fmt: skip
        torch.testing.assert_close(together[i : i + 1], alone, atol=1e-3, rtol=0)
