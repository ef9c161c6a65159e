"""Reading images of every kind into float channel planes, and writing results back in the input's mode."""

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from depix.errors import InputError

MAX_PIXELS = 40_000_000  # larger images are refused before they are decoded
_NATIVE = {"L", "RGB", "I;16", "I;16L", "I;16B", "I", "F"}  # restored as they are, channel by channel
# What Pillow raises for damaged files: these and, e.g. for a TIFF frame without a size, TypeError.
_BROKEN = (OSError, EOFError, SyntaxError, ValueError, TypeError, IndexError, struct.error)


@dataclass
class Planes:
    """An image as float channel planes (C, H, W), the scale of its values, and how to rebuild it."""

    values: np.ndarray  # (C, H, W) float32
    maximum: float  # 255 for 8-bit images, 65535 for 16-bit ones
    mode: str  # the mode to give back
    work_mode: str  # the mode the planes were taken from
    alpha: Image.Image | None


def open_image(source: "str | Path | Image.Image | np.ndarray", max_pixels: int = MAX_PIXELS) -> Image.Image:
    """A PIL image from a path, PIL image or array, EXIF orientation applied, size checked before decoding."""
    if isinstance(source, np.ndarray):
        return _from_array(source)
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise InputError(f"image not found: {path}")
        try:
            image = Image.open(path)
        except UnidentifiedImageError:
            raise InputError(f"{path.name} is not an image file depix can read") from None
        except Image.DecompressionBombError:
            raise InputError(f"{path.name} is too large to open safely") from None
        except _BROKEN as e:
            raise InputError(f"cannot read {path.name}: the file is broken or truncated ({e})") from None
    elif isinstance(source, Image.Image):
        image = source
    else:
        raise InputError(f"expected an image path, PIL image or numpy array, got {type(source).__name__}")
    width, height = image.size
    if width < 1 or height < 1:
        raise InputError(f"the image is empty ({width}x{height})")
    if width * height > max_pixels:
        raise InputError(f"the image has {width * height / 1e6:.1f} megapixels; the limit is {max_pixels / 1e6:.0f}")
    try:
        if getattr(image, "n_frames", 1) > 1:
            image.seek(0)  # animations: the first frame
        image.load()
        return ImageOps.exif_transpose(image) or image
    except _BROKEN as e:
        raise InputError(f"the image data is broken or truncated: {e}") from None


def _from_array(array: np.ndarray) -> Image.Image:
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)) or 0 in array.shape:
        raise InputError(f"an image array must be (H, W), (H, W, 3) or (H, W, 4), got shape {array.shape}")
    if array.dtype == np.uint16 and array.ndim == 2:
        return Image.fromarray(array)  # mode I;16
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise InputError("the image array holds NaN or infinite values")
        scale = 255.0 if array.max() <= 1.0 else 1.0
        array = np.clip(np.round(array * scale), 0, 255)
    if array.dtype != np.uint8:
        if array.min() < 0 or array.max() > 255:
            raise InputError(f"an {array.dtype} image array must hold values 0..255")
        array = array.astype(np.uint8)
    return Image.fromarray(array)


def to_planes(image: Image.Image) -> Planes:
    """Split an image into float channel planes; alpha is kept aside untouched."""
    mode = image.mode
    if mode == "P":
        work = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode == "PA":
        work = image.convert("RGBA")
    elif mode in _NATIVE or mode in ("LA", "RGBA"):
        work = image
    else:  # CMYK, YCbCr, LAB, HSV, 1: restore in RGB or L and convert back
        work = image.convert("L" if mode == "1" else "RGB")
    alpha = None
    if work.mode in ("LA", "RGBA"):
        alpha = work.getchannel("A")
        work = work.convert(work.mode[:-1])
    values = np.array(work, dtype=np.float32)  # a writable copy, also for F images: restored in place
    values = values[None] if values.ndim == 2 else values.transpose(2, 0, 1)
    maximum = 65535.0 if work.mode.startswith("I;16") or work.mode == "I" else 255.0
    return Planes(np.ascontiguousarray(values), maximum, mode, work.mode, alpha)


def from_planes(planes: Planes, values: np.ndarray) -> Image.Image:
    """Rebuild an image in the original mode from restored planes (rounded and clipped in place)."""
    values = np.clip(np.round(values, out=values), 0, planes.maximum, out=values)  # in place: big images
    if planes.work_mode == "F":
        image = Image.fromarray(values[0].astype(np.float32), mode="F")
    elif planes.work_mode in ("I", "I;16", "I;16L", "I;16B"):
        image = Image.fromarray(values[0].astype(np.int32 if planes.work_mode == "I" else np.uint16))
        image = image if planes.work_mode == "I" else image.convert(planes.work_mode)
    elif values.shape[0] == 1:
        image = Image.fromarray(values[0].astype(np.uint8), mode="L")
    else:
        image = Image.fromarray(values.transpose(1, 2, 0).astype(np.uint8), mode="RGB")
    if planes.alpha is not None:
        image.putalpha(planes.alpha)
    if planes.mode == "P":
        return image  # a palette cannot hold restored colours: RGB (or RGBA) is the sensible result
    if image.mode != planes.mode:
        image = image.convert(planes.mode)
    return image
