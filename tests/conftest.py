import os

import numpy as np
import pytest
from PIL import Image

# The app and the hub client must never reach the internet from tests.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def smooth_photo(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A photo-like RGB uint8 image: smooth waves plus a little noise."""
    yy, xx = np.mgrid[:height, :width]
    channels = [
        127 + 90 * np.sin(xx / rng.uniform(4, 30) + c) * np.cos(yy / rng.uniform(4, 30) + rng.uniform(0, 3))
        for c in range(3)
    ]
    image = np.stack(channels, axis=-1) + rng.normal(0, 6, (height, width, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


@pytest.fixture
def photo_dir(tmp_path):
    """A folder of 8 small JPEG photos (nested one level) and a manifest.csv with a train/val split."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    rows = ["path,split"]
    for i in range(8):
        name = f"sub/p{i}.jpg" if i % 2 else f"p{i}.jpg"
        Image.fromarray(smooth_photo(rng, int(rng.integers(80, 160)), int(rng.integers(80, 160)))).save(folder / name)
        rows.append(f"{name},{'val' if i < 2 else 'train'}")
    (folder / "manifest.csv").write_text("\n".join(rows) + "\n")
    return folder
