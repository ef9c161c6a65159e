"""Training samples made on the fly: grayscale views of corpus photos with random mosaic rectangles."""

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import IterableDataset, get_worker_info

from depix.challenge import COURSE_RANGES, shrink_to_square
from depix.preprocessing import to_grayscale


@dataclass
class ViewConfig:
    """How views and rectangles are drawn."""

    view_size: int = 64
    max_side: int = 1024  # photos are kept in memory at most this large
    whole_fraction: float = 0.3  # views of the whole photo shrunk to the view size, as in the challenge
    gray_mix_fraction: float = 0.3  # random channel mixes instead of the luminance conversion
    wide_fraction: float = 0.25  # rectangles from the wide ranges instead of the course's
    wide_size: tuple[int, int] = (2, 16)


def read_manifest(manifest: str | Path, split: str) -> list[Path]:
    """Paths of the photos of one split of a corpus manifest.csv."""
    manifest = Path(manifest)
    with manifest.open(newline="") as f:
        rows = [row for row in csv.DictReader(f) if row["split"] == split]
    return [manifest.parent / row["path"] for row in rows]


def load_photos(paths: list[Path], max_side: int) -> list[np.ndarray]:
    """Photos as RGB uint8 arrays, shrunk so the longer side is at most max_side."""
    photos = []
    for path in paths:
        with Image.open(path) as image:
            image.draft("RGB", (max_side, max_side))  # JPEG decoders can shrink while decoding
            image = image.convert("RGB")
            image.thumbnail((max_side, max_side), Image.LANCZOS)
            photos.append(np.asarray(image))
    return photos


def make_view(photo: np.ndarray, whole: np.ndarray, rng: np.random.Generator, config: ViewConfig) -> np.ndarray:
    """One (side, side) uint8 grayscale view: the whole photo or a random crop, turned, flipped and grayed.

    whole is the photo shrunk to the view size as the challenge does (shrink_to_square), computed once per photo.
    """
    side = config.view_size
    if rng.random() < config.whole_fraction:
        view = whole
    else:
        image = Image.fromarray(photo)
        h, w = photo.shape[:2]
        crop = int(round(np.exp(rng.uniform(np.log(side), np.log(min(h, w))))))
        left, top = int(rng.integers(w - crop, endpoint=True)), int(rng.integers(h - crop, endpoint=True))
        box = (left, top, left + crop, top + crop)
        rgb = np.asarray(image.resize((side, side), Image.BILINEAR, box=box, reducing_gap=2.0))
        if rng.random() < config.gray_mix_fraction:
            weights = rng.dirichlet(np.ones(3))
            view = np.clip(np.round(rgb.astype(np.float64) @ weights), 0, 255).astype(np.uint8)
        else:
            view = to_grayscale(rgb)[0]
    view = np.rot90(view, int(rng.integers(4)))
    if rng.random() < 0.5:
        view = view[:, ::-1]
    return np.ascontiguousarray(view)


def draw_rectangle(rng: np.random.Generator, side: int, config: ViewConfig) -> tuple[int, int, int, int, int]:
    """(x, y, width, height, block size): the course's ranges, or sometimes wider ones."""
    if rng.random() < config.wide_fraction:
        low, high = (4, side), config.wide_size
        width, height = int(rng.integers(*low, endpoint=True)), int(rng.integers(*low, endpoint=True))
        size = int(rng.integers(*high, endpoint=True))
    else:
        width = int(rng.integers(*COURSE_RANGES["width"], endpoint=True))
        height = int(rng.integers(*COURSE_RANGES["height"], endpoint=True))
        size = int(rng.integers(*COURSE_RANGES["size"], endpoint=True))
    x = int(rng.integers(side - width, endpoint=True))
    y = int(rng.integers(side - height, endpoint=True))
    return x, y, width, height, size


class ViewBatches(IterableDataset):
    """Endless batches {"images": (B, 1, S, S) uint8, "rects": (B, 5) long}, deterministic per step."""

    def __init__(
        self, photos: list[np.ndarray], batch_size: int, config: ViewConfig, seed: int, rank: int, start_step: int
    ) -> None:
        self.photos = photos
        self.wholes = [shrink_to_square(Image.fromarray(photo), config.view_size)[0] for photo in photos]
        self.batch_size = batch_size
        self.config = config
        self.seed = seed
        self.rank = rank
        self.start_step = start_step

    def __iter__(self):
        info = get_worker_info()
        workers, worker = (info.num_workers, info.id) if info else (1, 0)
        step = self.start_step + worker
        while True:
            # Seeding by (seed, rank, step) makes every batch reproducible, also after a resume.
            rng = np.random.default_rng([self.seed, self.rank, step])
            picks = rng.integers(len(self.photos), size=self.batch_size)
            images = np.stack([make_view(self.photos[i], self.wholes[i], rng, self.config) for i in picks])
            rects = [draw_rectangle(rng, self.config.view_size, self.config) for _ in picks]
            yield {"images": torch.from_numpy(images[:, None]), "rects": torch.tensor(rects)}
            step += workers
