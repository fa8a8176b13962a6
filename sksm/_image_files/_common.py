"""What reading and writing share: format names, the pixel limit, and the
errors that name the file and say what to do."""

from pathlib import Path

from PIL import Image, UnidentifiedImageError

_FILES_EXTRA = 'pip install "sksm[files]"'


class _Refusal(ValueError):
    """A file refused by a check of this module (its message is complete)."""


def _format_of(path):
    """Pillow's format name for the extension of ``path``, or None."""
    # every plugin: Pillow before 10 answered with those loaded so far
    # (after reading a JPEG, no .webp)
    Image.init()
    return Image.registered_extensions().get(Path(path).suffix.lower())


def _max_pixels():
    # Pillow raises DecompressionBombError beyond twice its warning limit.
    limit = Image.MAX_IMAGE_PIXELS
    return None if limit is None else 2 * limit


def _check_pixels(path, count):
    limit = _max_pixels()
    if limit is not None and count > limit:
        raise _Refusal(f"{path}: refused, the image is too large ({count} "
                       f"pixels, the limit is {limit}; possible "
                       "decompression bomb).")


def _read_error(path, exc):
    """The ValueError that names ``path`` and what to do, for ``exc`` raised
    by a decoder (Pillow, tifffile, imagecodecs) or by the file system."""
    if isinstance(exc, (Image.DecompressionBombError,
                        Image.DecompressionBombWarning)):
        return ValueError(f"{path}: refused, the image is too large "
                          f"(possible decompression bomb: {exc}).")
    if isinstance(exc, UnidentifiedImageError):
        return ValueError(f"{path}: not an image file Pillow can read (PNG, "
                          "JPEG, TIFF, ...; a float colour TIFF needs "
                          f"{_FILES_EXTRA}).")
    text = str(exc)
    if isinstance(exc, ValueError) and (
            "MAX_TEXT" in text or "text chunk" in text.lower()
            or "decompressed data too large" in text.lower()):
        # Pillow inflates PNG text chunks (zTXt, iTXt) up to a limit (its
        # message before Pillow 11: "Decompressed Data Too Large")
        return ValueError(
            f"{path}: refused, a text chunk of this PNG (metadata) inflates "
            f"past Pillow's safety limit (PngImagePlugin.MAX_TEXT_CHUNK; "
            f"Pillow says: {text}), as a decompression bomb "
            "would; if you trust the file, remove its text metadata (e.g. "
            "pngcrush -rem text FILE COPY.png) and read the copy.")
    if isinstance(exc, PermissionError):
        return ValueError(f"{path}: cannot read the file, permission denied; "
                          "check its permissions.")
    return ValueError(f"{path}: cannot read the image "
                      f"({text or type(exc).__name__}); the file may be "
                      "truncated or damaged: open it in an image viewer, or "
                      "save it again.")
