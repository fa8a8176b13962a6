"""What a written file keeps of the file it was read from: the colour
profile, the EXIF data, a JPEG's quantisation tables."""

import struct
import warnings
import zlib

from PIL import Image, JpegImagePlugin, UnidentifiedImageError

from ._common import _format_of, _read_error

#: Formats whose files Pillow writes with a colour profile, with EXIF data.
_ICC_FORMATS = {"JPEG", "PNG", "TIFF", "WEBP"}
_EXIF_FORMATS = {"JPEG", "PNG", "WEBP"}


def _source_info(source):
    """What of the file ``source`` an output can keep, as a dict.

    'format' (Pillow's name), 'icc' (the colour profile, bytes), 'exif' (a
    ``PIL.Image.Exif`` of a JPEG, PNG or WebP source: a TIFF's EXIF is its
    own file structure), 'qtables' and 'subsampling' (of a JPEG).  Missing
    entries are None.
    """
    info = dict.fromkeys(("format", "icc", "exif", "qtables", "subsampling"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as im:
                info["format"] = im.format
                info["icc"] = im.info.get("icc_profile") or None
                if im.format in ("JPEG", "MPO", "PNG", "WEBP"):
                    exif = im.getexif()
                    info["exif"] = exif if len(exif) else None
                if im.format in ("JPEG", "MPO"):
                    info["format"] = "JPEG"
                    info["qtables"] = im.quantization or None
                    sampling = JpegImagePlugin.get_sampling(im)
                    info["subsampling"] = sampling if sampling >= 0 else None
    except UnidentifiedImageError:
        if _format_of(source) == "TIFF":  # float colour: tifffile reads it
            info.update(format="TIFF", icc=_tiff_icc(source))
    except Exception as exc:  # noqa: BLE001
        raise _read_error(source, exc) from None
    return info


def _tiff_icc(path):
    try:
        import tifffile
    except ImportError:
        return None
    try:
        with tifffile.TiffFile(path) as tif:
            tag = tif.pages[0].tags.get(34675)  # InterColorProfile
            return None if tag is None else bytes(tag.value)
    except Exception as exc:  # noqa: BLE001
        raise _read_error(path, exc) from None


def _kept(info, source, path, fmt, kind, shape):
    """``(icc, exif)`` for the output: what it can hold of ``info``; warns
    about a colour profile that it cannot."""
    icc, exif = info["icc"], None
    if icc is not None:
        space = icc[16:20] if len(icc) >= 20 else b"?"
        wanted = b"RGB " if kind == "colour" else b"GRAY"
        if space != wanted:
            warnings.warn(
                f"{path}: the colour profile of {source} is not kept: it "
                f"describes {space.decode('latin-1').strip()} pixels, and "
                f"the image written is {kind} (its pixels were converted on "
                "reading); colours may look different.", UserWarning,
                stacklevel=3)
            icc = None
        elif fmt not in _ICC_FORMATS:
            warnings.warn(
                f"{path}: a {fmt} file cannot hold the colour profile (ICC) "
                f"of {source}, so its colours may look different; write .png, "
                ".jpg, .tif or .webp to keep it.", UserWarning, stacklevel=3)
            icc = None
    if info["exif"] is not None and fmt in _EXIF_FORMATS:
        exif = info["exif"]
        height, width = shape[:2]
        if 0x0112 in exif:  # the orientation: reading applied it
            exif[0x0112] = 1
        for tags, keys in ((exif, (0x0100, 0x0101)),  # image width, length
                           (exif.get_ifd(0x8769), (0xA002, 0xA003))):
            for key, value in zip(keys, (width, height)):
                if key in tags:  # pixel dimensions: those written
                    tags[key] = value
        exif = exif.tobytes()
    return icc, exif


def _png_chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def _png_with(png, icc, exif):
    """PNG bytes with an iCCP and an eXIf chunk after the header (IHDR)."""
    chunks = b""
    if icc is not None:
        chunks += _png_chunk(b"iCCP", b"ICC profile\0\0" + zlib.compress(icc))
    if exif is not None:
        chunks += _png_chunk(b"eXIf", exif[6:] if exif.startswith(
            b"Exif\0\0") else exif)
    end_of_header = 8 + 8 + 13 + 4  # signature, IHDR's length+type, data, CRC
    return png[:end_of_header] + chunks + png[end_of_header:]
