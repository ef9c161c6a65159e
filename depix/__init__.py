"""depix: restore pixelated (mosaic) regions of images with a convolutional network."""

from depix.errors import InputError
from depix.mosaic import pixelate_region
from depix.restore import Depixelator

__version__ = "0.1.0"
__all__ = ["Depixelator", "InputError", "pixelate_region", "__version__"]
