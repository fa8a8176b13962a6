"""Writing image files, and checking before any work that they can be."""

import errno
import os
from contextlib import contextmanager
from numbers import Integral
from pathlib import Path

import numpy as np
from PIL import Image

from .._validation import check_positive
from ._common import _FILES_EXTRA, _format_of
from ._metadata import _kept, _png_with, _source_info

#: Formats that hold several frames, by Pillow's format name.
_MULTI_FRAME = {"TIFF", "GIF", "PNG", "WEBP"}
#: Formats with a lossy quality.
_QUALITY_FORMATS = {"JPEG", "WEBP"}
#: JPEG and WebP quality when the source is not a JPEG whose tables are kept
#: (Pillow's own default, 75, visibly loses detail).
DEFAULT_QUALITY = 95


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
                      source=None, quality=None):
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
    quality : int, default=None
        The JPEG or WebP quality that will be asked of :func:`write_image`.

    Returns
    -------
    format : str
        Pillow's name of the format, for example 'PNG'.

    Raises
    ------
    ValueError
        Saying what to do instead: for an unknown extension, a folder, a
        missing or read-only folder, the input file itself, a format that
        cannot hold the frames or the bit depth, a missing optional
        package, or a ``quality`` out of 1 to 100 or for a format that has
        none.
    TypeError
        For a ``quality`` that is not an integer.
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
    _check_quality(quality, path, fmt)
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


def _check_quality(quality, path, fmt):
    if quality is None:
        return
    if isinstance(quality, (bool, np.bool_)) or not isinstance(quality,
                                                               Integral):
        raise TypeError(f"quality must be an integer from 1 to 100, got "
                        f"{type(quality).__name__} {quality!r}.")
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be from 1 to 100 (95 keeps fine "
                         f"detail, 75 is Pillow's default), got {quality}.")
    if fmt not in _QUALITY_FORMATS:
        raise ValueError(f"{path}: a quality applies to JPEG and WebP files, "
                         f"and {fmt} has none (it keeps every pixel); leave "
                         "the quality out, or write .jpg or .webp.")


def _need(module, path, what):
    try:
        __import__(module)
    except ImportError:
        raise ValueError(f"{path}: writing a {what} needs {module}: "
                         f"{_FILES_EXTRA}.") from None


def write_image(path, image, *, all_frames=False, data_range=None,
                source=None, quality=None):
    """Write an image array; the format follows the file name.

    uint8 pixels are written as 8-bit, uint16 as 16-bit (PNG and TIFF;
    colour needs the ``files`` extra).  Float pixels are written as 32-bit
    float to TIFF (values kept as they are), and elsewhere as 8-bit: divided
    by ``data_range``, clipped to [0, 1] and scaled to 0-255.  Booleans
    become 0 and 255.

    Parameters
    ----------
    path : str or path-like
        The output file; its extension chooses the format.
    image : ndarray of shape (height, width) or (height, width, 3)
        With a leading frame axis when ``all_frames``.
    all_frames : bool, default=False
        Write the frames of a stack as one multi-frame file (TIFF, GIF, PNG,
        WebP).
    data_range : float, default=None
        The white level of float pixels written to an 8-bit format (255 for
        an image on the 0-255 scale); None: 1.  Integer pixels, and float
        pixels written to TIFF, are written as they are.
    source : str or path-like, default=None
        The file the image was read from (by :func:`read_image`).  Kept from
        it: the colour profile (ICC) when the format holds one (JPEG, PNG,
        TIFF, WebP; a ``UserWarning`` says when it cannot); the EXIF data of
        a JPEG, PNG or WebP source in a JPEG, PNG or WebP file, with the
        orientation set to 1 (reading turned the pixels upright) and the
        pixel dimensions set to the image's; and, for a JPEG written from a
        JPEG without ``quality``, the source's quantisation tables and
        chroma subsampling: its quality.
    quality : int from 1 to 100, default=None
        JPEG or WebP quality; None: that of a JPEG ``source``, else 95
        (Pillow's own default, 75, visibly loses fine detail).

    Raises
    ------
    ValueError
        For NaN or infinite pixels, float pixels far outside [0,
        ``data_range``] for an 8-bit format, a shape or dtype that no file
        holds, an extension that names no format, a depth the format cannot
        hold, a ``quality`` out of range or for a format without one, or a
        ``source`` that cannot be read.
    TypeError
        For non-numeric pixels.
    OSError
        When the file cannot be written (a full disk, no permission), with
        a message that names the file and what to do; a file it started is
        removed.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from pathlib import Path
    >>> from sksm.image import read_image, write_image
    >>> scaled = np.array([[0.0, 127.5], [255.0, 51.0]], dtype=np.float32)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     write_image(Path(folder) / "a.png", scaled, data_range=255)
    ...     print(read_image(Path(folder) / "a.png"))
    [[  0 128]
     [255  51]]
    """
    arr, kind = _frames_kind(image, all_frames)
    fmt = _format_of(path)
    if fmt is None:
        check_output_path(path)  # raises, naming the extension
    white = 1.0 if data_range is None else check_positive(
        data_range, "data_range", "the white level of the float pixels")
    frames = list(arr) if all_frames else [arr]
    if fmt != "TIFF" and arr.dtype.kind == "f":
        _check_white_level(arr, white, path, fmt)
        frames = [np.rint(np.clip(f / white, 0, 1) * 255).astype(np.uint8)
                  for f in frames]
    # the encoders want C-contiguous pixels (a moved channel axis is not)
    frames = [np.ascontiguousarray(f) for f in frames]
    dtype = frames[0].dtype
    check_output_path(path, (dtype, kind), n_frames=len(frames),
                      quality=quality)
    icc = exif = None
    info = dict.fromkeys(("format", "icc", "exif", "qtables", "subsampling"))
    if source is not None:
        info = _source_info(source)
        icc, exif = _kept(info, source, path, fmt, kind, frames[0].shape)
    with _writing(path):
        if kind == "colour" and (dtype == np.uint16 or dtype.kind == "f"):
            if fmt == "TIFF":
                import tifffile

                tags = [] if icc is None else [(34675, 7, len(icc), icc, True)]
                tifffile.imwrite(path, np.stack(frames) if all_frames
                                 else frames[0], photometric="rgb",
                                 extratags=tags)
            else:
                import imagecodecs

                Path(path).write_bytes(_png_with(
                    imagecodecs.png_encode(frames[0]), icc, exif))
            return
        options = _save_options(fmt, quality, info, icc, exif)
        if dtype.kind == "f":
            frames = [f.astype(np.float32) for f in frames]
        images = [Image.fromarray(f) for f in frames]
        if len(images) > 1:
            images[0].save(path, format=fmt, save_all=True,
                           append_images=images[1:], **options)
        else:
            images[0].save(path, format=fmt, **options)


def _check_white_level(arr, white, path, fmt):
    """Refuse float pixels that do not lie on the scale of ``white``."""
    if not arr.size:
        return
    low, high = float(arr.min()), float(arr.max())
    if low < -white or high > 2 * white:
        raise ValueError(
            f"{path}: the float pixels run from {low:.4g} to {high:.4g}, but "
            f"an 8-bit {fmt} file takes them on a scale from 0 to {white:g} "
            f"(data_range={white:g}, their white level): pass their white "
            "level as data_range (e.g. 255), or write a .tif, which keeps "
            "float values.")


def _save_options(fmt, quality, info, icc, exif):
    """The keywords of Pillow's ``save`` for ``fmt``."""
    options = {}
    if icc is not None:
        options["icc_profile"] = icc
    if exif is not None:
        options["exif"] = exif
    if fmt == "JPEG" and quality is None and info["qtables"]:
        # the source's quality: its tables (libjpeg's quality is only the
        # scale of the standard tables, which cameras do not all use)
        options["qtables"] = info["qtables"]
    elif fmt in _QUALITY_FORMATS:
        options["quality"] = DEFAULT_QUALITY if quality is None else quality
    if fmt == "JPEG" and info["subsampling"] is not None:
        options["subsampling"] = info["subsampling"]
    return options


@contextmanager
def _writing(path):
    """Name ``path`` and what to do in an ``OSError`` of writing it, and
    remove the file if it was started here (a full disk leaves a part)."""
    existed = os.path.lexists(path)
    try:
        yield
    except OSError as exc:
        if not existed:
            try:
                os.remove(path)
            except OSError:
                pass
        raise _write_error(path, exc) from exc


_WRITE_ADVICE = {
    errno.ENOSPC: "no space left on the device; free some space or write to "
                  "another disk",
    getattr(errno, "EDQUOT", -1): "the disk quota is exceeded; free some "
                                  "space or write to another disk",
    errno.EACCES: "permission denied; check the permissions of the file and "
                  "its folder, or write elsewhere",
    errno.EPERM: "operation not permitted; check the permissions of the file "
                 "and its folder, or write elsewhere",
    errno.EROFS: "the file system is read-only; write elsewhere",
}


def _write_error(path, exc):
    reason = _WRITE_ADVICE.get(exc.errno) or (
        f"{exc.strerror or exc}; check the folder and the disk, or write "
        "elsewhere")
    error = type(exc)(f"{path}: cannot write the image: {reason}.")
    error.errno = exc.errno
    return error
