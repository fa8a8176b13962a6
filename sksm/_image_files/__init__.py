"""Reading and writing image files: Pillow, and for what Pillow cannot hold
(16-bit and float colour) tifffile and imagecodecs, the ``files`` extra.

Everything is checked before it is decoded: the file exists and is a file,
its pixel count is within Pillow's decompression-bomb limit, it holds one
frame unless all were asked for, and a depth Pillow would truncate goes to a
library that keeps it (or is refused with what to install).  Every error
names the file and says what to do.

A written file can keep what the file it was read from says about its
pixels (``source``): the colour profile, the EXIF data (with the orientation
that reading applied reset), and a JPEG's quantisation tables.
"""

from ._read import read_image
from ._write import DEFAULT_QUALITY, check_output_path, write_image

__all__ = ["DEFAULT_QUALITY", "check_output_path", "read_image",
           "write_image"]
