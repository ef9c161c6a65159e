"""The challenge workflow: challenge-style test sets, predictions for test_set.pkl, and the official score."""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from depix.blocks import estimate_block_size
from depix.errors import InputError
from depix.model import DepixNet
from depix.preprocessing import prepare_image, to_grayscale
from depix.restore import restore_batch

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}
COURSE_RANGES = {"width": (4, 32), "height": (4, 32), "size": (4, 16)}


def shrink_to_square(image: Image.Image, side: int = 64) -> np.ndarray:
    """Grayscale (1, side, side) uint8 view of a photo: shorter side resized bilinearly, then centre crop."""
    image = image.convert("RGB")
    scale = side / min(image.size)
    w, h = max(side, round(image.width * scale)), max(side, round(image.height * scale))
    image = image.resize((w, h), Image.BILINEAR)
    left, top = (w - side) // 2, (h - side) // 2
    return to_grayscale(np.asarray(image.crop((left, top, left + side, top + side))))


def make_test_set(
    images: Sequence[np.ndarray], per_image: int = 1, seed: int = 0
) -> tuple[dict[str, tuple[np.ndarray, ...]], list[np.ndarray]]:
    """A challenge-style test set (course ranges) and its flattened targets from (1, H, W) uint8 images."""
    rng = np.random.default_rng(seed)
    pixelated, known, targets = [], [], []
    for image in images:
        h, w = image.shape[-2:]
        for _ in range(per_image):
            width = min(int(rng.integers(*COURSE_RANGES["width"], endpoint=True)), w)
            height = min(int(rng.integers(*COURSE_RANGES["height"], endpoint=True)), h)
            x = int(rng.integers(w - width, endpoint=True))
            y = int(rng.integers(h - height, endpoint=True))
            size = int(rng.integers(*COURSE_RANGES["size"], endpoint=True))
            p, k, t = prepare_image(image, x, y, width, height, size)
            pixelated.append(p)
            known.append(k)
            targets.append(t.reshape(-1))
    return {"pixelated_images": tuple(pixelated), "known_arrays": tuple(known)}, targets


def load_photo_folder(folder: str | Path) -> list[np.ndarray]:
    """Every image below a folder (sorted by path) as a 64x64 grayscale challenge view."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"image folder not found: {folder}")
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    views = []
    for path in paths:
        try:
            with Image.open(path) as image:
                views.append(shrink_to_square(image))
        except (OSError, ValueError, Image.DecompressionBombError):
            continue  # a folder of photos may hold broken files; they are simply not used
    if not views:
        raise InputError(f"no readable images in {folder}")
    return views


def identity_predictions(images: Sequence[np.ndarray], knowns: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The baseline: the pixelated values themselves."""
    return [image[~known].astype(np.uint8) for image, known in zip(images, knowns, strict=True)]


def unknown_box(known: np.ndarray) -> tuple[int, int, int, int]:
    """(x, y, width, height) of the bounding box of the unknown pixels of a known array."""
    rows = np.nonzero(~known.reshape(known.shape[-2:]).all(axis=1))[0]
    cols = np.nonzero(~known.reshape(known.shape[-2:]).all(axis=0))[0]
    return int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)


@torch.no_grad()
def model_predictions(
    model: DepixNet | None,
    images: Sequence[np.ndarray],
    knowns: Sequence[np.ndarray],
    batch_size: int = 128,
    tta: bool = False,
    progress: bool = False,
) -> list[np.ndarray]:
    """The model's predictions of the unknown pixels (None: the membrane fill), rounded and clipped to uint8."""
    from tqdm import tqdm

    device = next(model.parameters()).device if model is not None else torch.device("cpu")
    predictions: list[np.ndarray] = []
    bar = tqdm(total=len(images), unit="image", disable=not progress)
    for start in range(0, len(images), batch_size):
        chunk_images = np.stack([np.asarray(i) for i in images[start : start + batch_size]])
        chunk_known = np.stack([np.asarray(k) for k in knowns[start : start + batch_size]])
        boxes = [unknown_box(k) for k in chunk_known]
        sizes = [
            estimate_block_size(image[0, y : y + h, x : x + w])
            for image, (x, y, w, h) in zip(chunk_images, boxes, strict=True)
        ]
        pixelated = torch.from_numpy(chunk_images).to(device, torch.float32)
        unknown = torch.from_numpy(~chunk_known).to(device)
        sizes, offsets = torch.tensor(sizes, device=device), torch.tensor(boxes, device=device)[:, :2]
        restored = restore_batch(model, pixelated, unknown, sizes, offsets, tta=tta)
        restored = restored.round().clamp(0, 255).to(torch.uint8).cpu().numpy()
        predictions += [r[~k] for r, k in zip(restored, chunk_known, strict=True)]
        bar.update(len(chunk_known))
    bar.close()
    return predictions


def score(predictions: Sequence[np.ndarray], targets: Sequence[np.ndarray]) -> float:
    """The official metric: mean over images of the RMSE of the unknown pixels (0..255 scale)."""
    if len(predictions) != len(targets):
        raise InputError(f"{len(predictions)} predictions but {len(targets)} targets")
    rmses = []
    for i, (p, t) in enumerate(zip(predictions, targets, strict=True)):
        if p.shape != t.shape:
            raise InputError(f"prediction {i} has {p.size} values but its target has {t.size}")
        rmses.append(np.sqrt(np.mean((p.astype(np.float64) - t.astype(np.float64)) ** 2)))
    return float(np.mean(rmses))
