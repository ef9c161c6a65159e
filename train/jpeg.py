"""JPEG compression of batches of grayscale images, done on the training device: mosaics as people share them.

Baseline JPEG of one channel: 8x8 blocks on a grid that starts anywhere relative to the view (the view is a crop
of a larger image), a DCT, each coefficient rounded to a multiple of the quality's luminance quantisation table
(libjpeg's scaling), and back. Colour JPEG also subsamples and quantises the chroma more coarsely: a range of
qualities down to 60 covers errors of that size.
"""

import math

import torch
import torch.nn.functional as F

# The luminance table of the JPEG standard (ITU-T T.81, Annex K), quality 50.
LUMA_TABLE = [
    [16, 11, 10, 16, 24, 40, 51, 61],
    [12, 12, 14, 19, 26, 58, 60, 55],
    [14, 13, 16, 24, 40, 57, 69, 56],
    [14, 17, 22, 29, 51, 87, 80, 62],
    [18, 22, 37, 56, 68, 109, 103, 77],
    [24, 35, 55, 64, 81, 104, 113, 92],
    [49, 64, 78, 87, 103, 121, 120, 101],
    [72, 92, 95, 98, 112, 100, 103, 99],
]


def quantisation_tables(quality: torch.Tensor) -> torch.Tensor:
    """(N, 8, 8) luminance tables of libjpeg for (N,) qualities 1..100."""
    q = quality.to(torch.float32).clamp(1, 100).view(-1, 1, 1)
    scale = torch.where(q < 50, 5000 / q, 200 - 2 * q)
    base = torch.tensor(LUMA_TABLE, dtype=torch.float32, device=quality.device)
    return torch.floor((base * scale + 50) / 100).clamp(1, 255)


def _dct_matrix(device: torch.device) -> torch.Tensor:
    """The orthonormal 8-point DCT-II; its 2-D form has the JPEG standard's scaling."""
    k = torch.arange(8, dtype=torch.float32, device=device)
    matrix = torch.cos(math.pi * (2 * k.view(1, 8) + 1) * k.view(8, 1) / 16) * math.sqrt(2 / 8)
    matrix[0] /= math.sqrt(2)
    return matrix


def compress(images: torch.Tensor, quality: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) images on 0..255 as a JPEG encoder and decoder return them, at (N,) qualities.

    phase (N, 2) is where each image's JPEG grid starts, (x, y) in 0..7: the view's pixel (x, y) begins a block.
    """
    n, _, h, w = images.shape
    device = images.device
    # Shift each image onto a grid from (0, 0): pad it (the edge repeated, as encoders do at an image's edge) and
    # cut a window that starts `shift` pixels before the view, a multiple of 8 in size.
    shift = (-phase) % 8
    size_h, size_w = 8 * math.ceil((h + 7) / 8), 8 * math.ceil((w + 7) / 8)
    padded = F.pad(images.float(), (8, 16, 8, 16), mode="replicate")[:, 0]
    window = _crop(padded, 8 - shift, size_h, size_w)
    blocks = window.view(n, size_h // 8, 8, size_w // 8, 8).permute(0, 1, 3, 2, 4) - 128
    dct = _dct_matrix(device)
    table = quantisation_tables(quality).view(n, 1, 1, 8, 8)
    coefficients = torch.round(dct @ blocks @ dct.T / table) * table
    decoded = (dct.T @ coefficients @ dct + 128).round().clamp(0, 255)
    decoded = decoded.permute(0, 1, 3, 2, 4).reshape(n, size_h, size_w)
    out = _crop(decoded, shift, h, w)
    return out.unsqueeze(1).to(images.dtype)


def _crop(images: torch.Tensor, corner: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """(N, h, w) windows of (N, H, W) images, each from its own top-left corner (N, 2) = (x, y)."""
    n, device = images.shape[0], images.device
    rows = corner[:, 1].view(n, 1, 1) + torch.arange(h, device=device).view(1, h, 1)
    cols = corner[:, 0].view(n, 1, 1) + torch.arange(w, device=device).view(1, 1, w)
    return images[torch.arange(n, device=device).view(n, 1, 1), rows, cols]
