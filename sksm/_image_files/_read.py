"""Reading image files, keeping their bit depth."""

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, ImageSequence

from ._common import _FILES_EXTRA, _check_pixels, _read_error, _Refusal


def _check_exists(path):
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder, not an image file.")
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file.")
    return path


def _png_header(path):
    """(width, height, bit depth, colour type) of a PNG, or None."""
    with open(path, "rb") as f:
        head = f.read(26)
    if len(head) < 26 or head[:8] != b"\x89PNG\r\n\x1a\n" \
            or head[12:16] != b"IHDR":
        return None
    width = int.from_bytes(head[16:20], "big")
    height = int.from_bytes(head[20:24], "big")
    return width, height, head[24], head[25]


def _deep_colour(path, im):
    """True for colour pixels of more than 8 bits, which Pillow truncates."""
    if im.format == "PNG":
        header = _png_header(path)
        # colour types 2 (RGB), 4 (gray + alpha) and 6 (RGBA) at 16 bits
        return header is not None and header[2] == 16 and header[3] in (2, 4, 6)
    if im.format == "TIFF":
        bits = im.tag_v2.get(258, (8,))
        bits = bits if isinstance(bits, tuple) else (bits,)
        return im.mode not in ("I;16", "I;16B", "I;16L", "I", "F") \
            and max(bits) > 8
    return False


def _orient(arr, orientation):
    """Apply an EXIF orientation (1-8) to an array (height, width, ...)."""
    ops = {2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1],
           4: lambda a: a[::-1], 5: lambda a: np.swapaxes(a, 0, 1),
           6: lambda a: np.swapaxes(a, 0, 1)[:, ::-1],
           7: lambda a: np.swapaxes(a, 0, 1)[::-1, ::-1],
           8: lambda a: np.swapaxes(a, 0, 1)[::-1]}
    op = ops.get(orientation)
    return arr if op is None else np.ascontiguousarray(op(arr))


def _read_deep(path, fmt, all_frames, orientation):
    """16-bit or float colour with tifffile (TIFF) or imagecodecs (PNG)."""
    try:
        if fmt == "TIFF":
            import tifffile
        else:
            import imagecodecs
    except ImportError:
        raise _Refusal(
            f"{path} holds colour pixels of more than 8 bits, which Pillow "
            f"would cut to 8: {_FILES_EXTRA} to keep them.") from None
    if fmt == "TIFF":
        with tifffile.TiffFile(path) as tif:
            pages = tif.pages
            for page in pages:
                _check_pixels(path, int(page.imagelength) * int(page.imagewidth))
            # planar pages (samples stored apart) come as (samples, y, x)
            frames = [np.moveaxis(page.asarray(), 0, -1)
                      if page.axes.startswith("S") else page.asarray()
                      for page in pages]
    else:
        width, height = _png_header(path)[:2]
        _check_pixels(path, width * height)
        with open(path, "rb") as f:
            frames = [imagecodecs.png_decode(f.read())]
    out = []
    for arr in frames:
        if arr.ndim == 3 and arr.shape[-1] in (2, 4):  # drop alpha
            arr = arr[..., :-1]
        if arr.ndim == 3 and arr.shape[-1] == 1:
            arr = arr[..., 0]
        if arr.dtype.kind == "f":
            arr = arr.astype(np.float32)
        elif arr.dtype != np.uint16:
            arr = arr.astype(np.uint16)
        out.append(_orient(arr, orientation))
    return out if all_frames else out[:1]


def _frame_array(frame, path):
    """One Pillow frame as an array, keeping its bit depth."""
    mode = frame.mode
    if mode in ("1", "P", "LA", "PA", "RGBA", "CMYK", "YCbCr", "LAB", "HSV",
                "La", "RGBa", "RGBX", "L;16"):
        frame = frame.convert("L" if mode in ("1", "LA", "La") else "RGB")
    elif mode.startswith("I;16"):
        return np.asarray(frame, dtype=np.uint16)
    elif mode == "I":
        arr = np.asarray(frame)
        if arr.min() < 0 or arr.max() > 65535:
            raise _Refusal(f"{path}: 32-bit integer pixels out of the "
                           "16-bit range; convert the file to 16 bits.")
        return arr.astype(np.uint16)
    elif mode == "F":
        return np.asarray(frame, dtype=np.float32)
    return np.asarray(frame)


def read_image(path, *, all_frames=False):
    """Read a PNG, JPEG, TIFF (or other Pillow) file, keeping its bit depth.

    The EXIF orientation is applied, so the array is upright as viewers show
    the file.  16-bit and float colour files need the ``files`` extra
    (``pip install "sksm[files]"``: tifffile and imagecodecs), since Pillow
    reads them as 8-bit; without it they are refused, never truncated.

    Parameters
    ----------
    path : str or path-like
        The image file.
    all_frames : bool, default=False
        False: the file must hold one image.  True: read every frame of an
        animation or a multi-page file, as a stack.

    Returns
    -------
    image : ndarray
        (height, width) for grayscale, (height, width, 3) for colour, with
        a leading frame axis when ``all_frames``; uint8 for 8-bit files,
        uint16 for 16-bit ones, float32 for float TIFFs.  An alpha channel
        is dropped; palette images become colour.

    Raises
    ------
    FileNotFoundError, IsADirectoryError
        For a path that is not a file.
    ValueError
        For a file that is not an image, is truncated, holds several frames
        (without ``all_frames``) or frames of different shapes, is so large
        that it may be a decompression bomb (pixels, or PNG text metadata
        that inflates past Pillow's limit), cannot be read (permissions), or
        holds deep colour without the ``files`` extra.  The message names
        the file and what to do.
    """
    path = _check_exists(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                n_frames = getattr(im, "n_frames", 1)
                if n_frames > 1 and not all_frames:
                    raise _Refusal(
                        f"{path} holds {n_frames} frames (an animation or a "
                        "multi-page file): read them all with "
                        "read_image(path, all_frames=True) (the command line "
                        "restores every frame), or save the one you want "
                        "as a file of its own.")
                orientation = im.getexif().get(0x0112, 1)
                if _deep_colour(path, im):
                    frames = _read_deep(path, im.format, all_frames,
                                        orientation)
                else:
                    frames = [_frame_array(ImageOps.exif_transpose(frame),
                                           path)
                              for frame in ImageSequence.Iterator(im)]
    except _Refusal:
        raise
    except Exception as exc:  # noqa: BLE001 - every decoder's own kinds
        raise _read_error(path, exc) from None
    if not all_frames:
        return frames[0]
    shapes = {(f.shape, f.dtype) for f in frames}
    if len(shapes) > 1:
        raise ValueError(f"{path}: its frames differ in shape or depth "
                         f"({sorted(str(s) for s in shapes)}); save them as "
                         "files of their own.")
    return np.stack(frames)
