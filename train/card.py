"""The model card (README.md) written beside every exported checkpoint."""

from pathlib import Path

ROWS = [
    ("identity", "identity: the pixelated values"),
    ("fill", "membrane fill (classical, no learning)"),
    ("model", "depix network"),
    ("model_tta", "depix network, 8 flips/turns averaged"),
]


def metrics_table(metrics: dict) -> str:
    """Markdown table of the challenge-style validation scores in metrics."""
    lines = ["| method | val score (mean per-image RMSE) | ratio to identity | ms per image |", "|---|---|---|---|"]
    identity = metrics.get("identity")
    for key, label in ROWS:
        if key not in metrics:
            continue
        ratio = f"{metrics[key] / identity:.3f}" if identity else ""
        ms = metrics.get(f"{key}_ms")
        lines.append(f"| {label} | {metrics[key]:.3f} | {ratio} | {f'{ms:.2f}' if ms is not None else ''} |")
    return "\n".join(lines)


def started_from(config: dict) -> str:
    """The card's words on the weights a run started from, if it did not start from scratch."""
    init = config.get("init")
    if not init:
        return ""
    return f" that started from the weights of `{init['checkpoint']}` (trained on {init['samples']:,} samples before)"


def jpeg_views(config: dict) -> str:
    """The card's words on views saved as JPEG during training, if any were."""
    jpeg = config.get("jpeg")
    if not jpeg or not jpeg.get("fraction"):
        return ""
    share, qualities = f"{100 * jpeg['fraction']:.0f}%", f"{jpeg['min_quality']}-{jpeg['max_quality']}"
    return f" In its last run, {share} of the mosaicked views were saved as JPEG at quality {qualities}."


def write_card(directory: Path, config: dict, metrics: dict, parameters: int) -> None:
    """Write README.md for a checkpoint folder."""
    text = f"""---
license: cc-by-sa-4.0
tags: [image-restoration, depixelation, pytorch]
---
# {directory.name}: a depixelation U-Net

Restores the pixelated (mosaic) region of a grayscale image. Input: the pixelated image, the mask of unknown
pixels, the block size and grid; it starts from a classical membrane fill (the smoothest image that keeps every
block's mean), predicts a correction with a U-Net ({parameters:,} parameters), and projects the result so that
every block keeps its known mean. Pixelating the output again gives back the input. Colour images are restored
channel by channel.

## Data
Real photos from open-source packages (Debian, PyPI, npm; the corpus manifest lists every photo's source, path
and licence: CC-BY / CC-BY-SA / GPL / public domain and others); views at the challenge scale (whole photos shrunk
to 64x64) and random crops at several scales, grayscale, flips and turns.{jpeg_views(config)}
Corpus manifest sha256: `{config.get("manifest_sha256", "?")}`; training config `{config["name"]}`
(train/configs/).

## Metrics
Challenge-style validation set built from the corpus's validation photos (64x64 grayscale, course ranges:
rectangles 4-32 px, blocks 4-16 px), after {metrics.get("step", "?")} training steps
({metrics.get("samples", 0):,} samples){started_from(config)}:

{metrics_table(metrics)}

## Limits
Trained on a few hundred photos: faces, text and fine textures come back plausible, not true. A mosaic removes
information; the restoration is a guess consistent with the block means, not the original. Blocks larger than
16 px are restored at a reduced scale.

## Use
```python
from depix import Depixelator

restored = Depixelator.from_pretrained("checkpoints/{directory.name}").restore("photo.png", box=(x, y, w, h))
```
"""
    (directory / "README.md").write_text(text)
