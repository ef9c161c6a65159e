"""The course's data set of randomly pixelated grayscale images and its padding collate function."""

import glob
import os

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from depix.preprocessing import prepare_image, to_grayscale


class RandomImagePixelationDataset(Dataset):
    """Every *.jpg below a folder, each with one random rectangle pixelated (seeded by its index)."""

    def __init__(
        self,
        image_dir: str,
        width_range: tuple[int, int],
        height_range: tuple[int, int],
        size_range: tuple[int, int],
        dtype: np.dtype | type | None = None,
    ) -> None:
        for name, (low, high) in (("width", width_range), ("height", height_range), ("size", size_range)):
            if low < 2 or low > high:
                raise ValueError(f"{name}_range must satisfy 2 <= min <= max, got ({low}, {high})")
        pattern = os.path.join(os.path.abspath(image_dir), "**", "*.jpg")
        self.image_files = sorted(os.path.abspath(p) for p in glob.glob(pattern, recursive=True))
        self.width_range = width_range
        self.height_range = height_range
        self.size_range = size_range
        self.dtype = dtype

    def __len__(self) -> int:
        return len(self.image_files)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
        path = self.image_files[index]
        with Image.open(path) as img:
            image = to_grayscale(np.array(img, dtype=self.dtype))
        height_px, width_px = image.shape[-2:]
        # The draw order is part of the spec: the same index must give the same rectangle everywhere.
        rng = np.random.default_rng(seed=index)
        width = min(int(rng.integers(self.width_range[0], self.width_range[1], endpoint=True)), width_px)
        height = min(int(rng.integers(self.height_range[0], self.height_range[1], endpoint=True)), height_px)
        x = int(rng.integers(width_px - width, endpoint=True))
        y = int(rng.integers(height_px - height, endpoint=True))
        size = int(rng.integers(self.size_range[0], self.size_range[1], endpoint=True))
        pixelated, known, target = prepare_image(image, x, y, width, height, size)
        return pixelated, known, target, path


def stack_with_padding(
    batch: list[tuple[np.ndarray, np.ndarray, np.ndarray, str]],
) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor], list[str]]:
    """Collate items: images padded with 0 and known arrays with True to the largest H and W."""
    height = max(item[0].shape[-2] for item in batch)
    width = max(item[0].shape[-1] for item in batch)
    pixelated = np.zeros((len(batch), 1, height, width), dtype=batch[0][0].dtype)
    known = np.ones((len(batch), 1, height, width), dtype=bool)
    for i, (image, known_array, _, _) in enumerate(batch):
        h, w = image.shape[-2:]
        pixelated[i, :, :h, :w] = image
        known[i, :, :h, :w] = known_array
    targets = [torch.from_numpy(np.asarray(item[2])) for item in batch]
    paths = [item[3] for item in batch]
    return torch.from_numpy(pixelated), torch.from_numpy(known), targets, paths
