"""The challenge's file formats: prediction serialization and a safe reader for test_set.pkl."""

import io
import math
import pickle
from pathlib import Path

import numpy as np

from depix.errors import InputError


def serialize(predictions: list[np.ndarray]) -> bytes:
    """Encode 1-D uint8 prediction arrays in the course's length-prefixed byte format."""
    if not isinstance(predictions, list | tuple):
        raise TypeError(f"predictions must be a list of numpy arrays, got {type(predictions).__name__}")
    if len(predictions) == 0:
        raise ValueError("predictions must not be empty")
    for i, prediction in enumerate(predictions):
        if not isinstance(prediction, np.ndarray):
            raise TypeError(f"prediction {i} must be a numpy array, got {type(prediction).__name__}")
        if prediction.dtype != np.uint8:
            raise TypeError(f"prediction {i} must have dtype uint8, got {prediction.dtype}")
        if prediction.ndim != 1:
            raise ValueError(f"prediction {i} must be 1-D, got shape {prediction.shape}")
        if prediction.size == 0:
            raise ValueError(f"prediction {i} is empty")
    max_len = max(len(p) for p in predictions)
    n_bytes = math.ceil(math.log2(max_len) / 8)
    out = io.BytesIO()
    out.write(n_bytes.to_bytes(1, "big"))
    for prediction in predictions:
        out.write((len(prediction) - 1).to_bytes(n_bytes, "big"))
        out.write(prediction.tobytes())
    return out.getvalue()


def deserialize(data: bytes) -> list[np.ndarray]:
    """Decode bytes written by serialize() back into a list of 1-D uint8 arrays."""
    if len(data) == 0:
        raise InputError("serialized predictions are empty")
    n_bytes = data[0]
    position = 1
    predictions = []
    while position < len(data):
        if position + n_bytes > len(data):
            raise InputError(f"serialized data is truncated in a length field at byte {position}")
        length = int.from_bytes(data[position : position + n_bytes], "big") + 1
        position += n_bytes
        if position + length > len(data):
            raise InputError(f"serialized data is truncated: entry {len(predictions)} needs {length} bytes")
        predictions.append(np.frombuffer(data[position : position + length], dtype=np.uint8).copy())
        position += length
    return predictions


# Exactly what numpy needs to rebuild plain arrays (numpy 1.x and 2.x module names); nothing else may load.
_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),
}


class _ArrayOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only numpy arrays are allowed")
        if module.startswith("numpy.core."):
            module = "numpy._core." + module.removeprefix("numpy.core.")
        return super().find_class(module, name)


def load_test_set(path: str | Path) -> dict[str, tuple[np.ndarray, ...]]:
    """Read a challenge test_set.pkl without running pickled code, and check its arrays."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"test set not found: {path}")
    try:
        with path.open("rb") as f:
            data = _ArrayOnlyUnpickler(f).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError) as e:
        raise InputError(f"{path} is not a valid test set pickle: {e}") from None
    if not isinstance(data, dict) or not {"pixelated_images", "known_arrays"} <= data.keys():
        raise InputError(f"{path} must hold a dict with 'pixelated_images' and 'known_arrays'")
    images, knowns = data["pixelated_images"], data["known_arrays"]
    if not isinstance(images, tuple | list) or not isinstance(knowns, tuple | list):
        raise InputError(f"{path}: 'pixelated_images' and 'known_arrays' must be sequences of arrays")
    if len(images) != len(knowns):
        raise InputError(f"{path}: {len(images)} images but {len(knowns)} known arrays")
    if len(images) == 0:
        raise InputError(f"{path}: the test set is empty")
    for i, (image, known) in enumerate(zip(images, knowns, strict=True)):
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[0] != 1:
            raise InputError(f"{path}: image {i} must be a (1, H, W) uint8 array, got {_describe(image)}")
        if not isinstance(known, np.ndarray) or known.dtype != bool or known.shape != image.shape:
            raise InputError(f"{path}: known array {i} must be bool of shape {image.shape}, got {_describe(known)}")
        if known.all():
            raise InputError(f"{path}: known array {i} marks no unknown pixel")
    return {"pixelated_images": tuple(images), "known_arrays": tuple(knowns)}


def _describe(value: object) -> str:
    if isinstance(value, np.ndarray):
        return f"{value.dtype} array of shape {value.shape}"
    return type(value).__name__
