"""depix: restore pixelated (mosaic) regions of images with a convolutional network."""

from depix.errors import InputError

__version__ = "0.1.0"
__all__ = ["InputError", "__version__"]
