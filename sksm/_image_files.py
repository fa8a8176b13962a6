"""Reading and writing image files: Pillow, and for what Pillow cannot hold
(16-bit and float colour) tifffile and imagecodecs, the ``files`` extra.

Everything is checked before it is decoded: the file exists and is a file,
its pixel count is within Pillow's decompression-bomb limit, it holds one
frame unless all were asked for, and a depth Pillow would truncate goes to a
library that keeps it (or is refused with what to install).
"""

import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

__all__ = ["check_output_path", "read_image", "write_image"]

#: Formats that hold several frames, by Pillow's format name.
_MULTI_FRAME = {"TIFF", "GIF", "PNG", "WEBP"}
_FILES_EXTRA = 'pip install "sksm[files]"'


def _format_of(path):
    """Pillow's format name for the extension of ``path``, or None."""
    return Image.registered_extensions().get(Path(path).suffix.lower())


def _max_pixels():
    # Pillow raises DecompressionBombError beyond twice its warning limit.
    limit = Image.MAX_IMAGE_PIXELS
    return None if limit is None else 2 * limit


def _check_pixels(path, count):
    limit = _max_pixels()
    if limit is not None and count > limit:
        raise ValueError(f"{path}: refused, the image is too large ({count} "
                         f"pixels, the limit is {limit}; possible "
                         "decompression bomb).")


def _check_exists(path):
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder, not an image file.")
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file.")
    return path


# ---------------------------------------------------------------------- #
# Reading
# ---------------------------------------------------------------------- #
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
        raise ValueError(
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
            raise ValueError(f"{path}: 32-bit integer pixels out of the "
                             "16-bit range.")
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
        that it may be a decompression bomb, or holds deep colour without
        the ``files`` extra.
    """
    path = _check_exists(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                n_frames = getattr(im, "n_frames", 1)
                if n_frames > 1 and not all_frames:
                    raise ValueError(
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
    except (Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        raise ValueError(f"{path}: refused, the image is too large "
                         f"(possible decompression bomb: {exc}).") from None
    except UnidentifiedImageError:
        raise ValueError(f"{path}: not an image file Pillow can read (PNG, "
                         "JPEG, TIFF, ...; a float colour TIFF needs "
                         f"{_FILES_EXTRA}).") from None
    except (OSError, SyntaxError, EOFError) as exc:
        raise ValueError(f"{path}: cannot read the image ({exc}); the file "
                         "may be truncated or damaged.") from None
    if not all_frames:
        return frames[0]
    shapes = {(f.shape, f.dtype) for f in frames}
    if len(shapes) > 1:
        raise ValueError(f"{path}: its frames differ in shape or depth "
                         f"({sorted(str(s) for s in shapes)}); save them as "
                         "files of their own.")
    return np.stack(frames)


# ---------------------------------------------------------------------- #
# Writing
# ---------------------------------------------------------------------- #
def _frames_kind(image, all_frames):
    """Validate what is to be written; return (array, 'gray' or 'colour')."""
    arr = np.asarray(image)
    if arr.dtype == bool:
        arr = arr.astype(np.uint8) * 255
    if arr.dtype.kind not in "uif":
        raise TypeError(f"Cannot write an image of dtype {arr.dtype}.")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise ValueError("The image holds NaN or infinite pixels; refusing "
                         "to write it (they would become arbitrary values).")
    ndim = arr.ndim - (1 if all_frames else 0)
    if ndim == 3 and arr.shape[-1] == 3:
        kind = "colour"
    elif ndim == 2:
        kind = "gray"
    else:
        raise ValueError(
            f"Cannot write an image of shape {arr.shape}: expected (height, "
            "width) or (height, width, 3)"
            + (" after the frame axis." if all_frames else "."))
    if arr.dtype.kind in "ui" and arr.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"Cannot write {arr.dtype} pixels: convert to uint8 "
                         "or uint16.")
    return arr, kind


def check_output_path(path, image_kind=None, *, n_frames=1, overwrite=True,
                      source=None):
    """Check, before any work, that an image can be written at ``path``.

    Parameters
    ----------
    path : str or path-like
        The output file; its extension chooses the format.
    image_kind : tuple of (dtype, {'gray', 'colour'}), default=None
        The dtype and kind of what will be written, if known.
    n_frames : int, default=1
        Frames to write (several need a multi-frame format).
    overwrite : bool, default=True
        False: refuse to write over ``source``.
    source : str or path-like, default=None
        The input file, which ``path`` must not be unless ``overwrite``.

    Returns
    -------
    format : str
        Pillow's name of the format, for example 'PNG'.

    Raises
    ------
    ValueError
        Saying what to do instead: for an unknown extension, a folder, a
        missing or read-only folder, the input file itself, a format that
        cannot hold the frames or the bit depth, or a missing optional
        package.
    """
    path = Path(path)
    fmt = _format_of(path)
    if fmt is None:
        raise ValueError(f"{path}: cannot tell the image format from the "
                         f"extension {path.suffix!r}; use .png, .tif, .jpg "
                         "or another that Pillow writes.")
    if path.is_dir():
        raise ValueError(f"{path} is a folder; give a file name.")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ValueError(f"{path}: the folder {folder} does not exist.")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"{path}: the folder {folder} is not writable.")
    if source is not None and path.exists() and not overwrite \
            and path.resolve() == Path(source).resolve():
        raise ValueError(f"{path} is the input file; give another output, or "
                         "--overwrite to replace it.")
    if n_frames > 1 and fmt not in _MULTI_FRAME:
        raise ValueError(f"{path}: {fmt} holds one image, and the input has "
                         f"{n_frames} frames; use .tif (or .gif, .png, "
                         ".webp).")
    if image_kind is not None:
        dtype, kind = image_kind
        dtype = np.dtype(dtype)
        if dtype == np.uint16 and fmt not in ("PNG", "TIFF"):
            raise ValueError(f"{path}: {fmt} holds 8-bit pixels and the "
                             "image has 16; use .png or .tif.")
        if dtype.kind == "f" and kind == "colour" and fmt == "TIFF":
            _need("tifffile", path, "float colour TIFF")
        if dtype == np.uint16 and kind == "colour":
            if fmt == "PNG":
                _need("imagecodecs", path, "16-bit colour PNG")
            elif fmt == "TIFF":
                _need("tifffile", path, "16-bit colour TIFF")
            if n_frames > 1 and fmt != "TIFF":
                raise ValueError(f"{path}: several 16-bit colour frames are "
                                 "written as TIFF only; use .tif.")
    return fmt


def _need(module, path, what):
    try:
        __import__(module)
    except ImportError:
        raise ValueError(f"{path}: writing a {what} needs {module}: "
                         f"{_FILES_EXTRA}.") from None


def write_image(path, image, *, all_frames=False):
    """Write an image array; the format follows the file name.

    uint8 pixels are written as 8-bit, uint16 as 16-bit (PNG and TIFF;
    colour needs the ``files`` extra).  Float pixels are written as 32-bit
    float to TIFF (values kept as they are), and elsewhere taken as [0, 1],
    clipped and written as 8-bit.  Booleans become 0 and 255.

    Parameters
    ----------
    path : str or path-like
        The output file; its extension chooses the format.
    image : ndarray of shape (height, width) or (height, width, 3)
        With a leading frame axis when ``all_frames``.
    all_frames : bool, default=False
        Write the frames of a stack as one multi-frame file (TIFF, GIF, PNG,
        WebP).

    Raises
    ------
    ValueError
        For NaN or infinite pixels, a shape or dtype that no file holds, an
        extension that names no format, or a depth the format cannot hold.
    TypeError
        For non-numeric pixels.
    OSError
        When the file cannot be written (folder missing, disk full).
    """
    arr, kind = _frames_kind(image, all_frames)
    frames = list(arr) if all_frames else [arr]
    fmt = _format_of(path)
    if fmt != "TIFF" and arr.dtype.kind == "f":
        frames = [np.rint(np.clip(f, 0, 1) * 255).astype(np.uint8)
                  for f in frames]
    # the encoders want C-contiguous pixels (a moved channel axis is not)
    frames = [np.ascontiguousarray(f) for f in frames]
    dtype = frames[0].dtype
    check_output_path(path, (dtype, kind), n_frames=len(frames))
    if kind == "colour" and (dtype == np.uint16 or dtype.kind == "f"):
        if fmt == "TIFF":
            import tifffile

            tifffile.imwrite(path, np.stack(frames) if all_frames
                             else frames[0], photometric="rgb")
        else:
            import imagecodecs

            Path(path).write_bytes(imagecodecs.png_encode(frames[0]))
        return
    if dtype.kind == "f":
        frames = [f.astype(np.float32) for f in frames]
    images = [Image.fromarray(f) for f in frames]
    if len(images) > 1:
        images[0].save(path, format=fmt, save_all=True,
                       append_images=images[1:])
    else:
        images[0].save(path, format=fmt)
