"""Reading the members of an ``.npz`` archive as a hostile file.

The low floor of :mod:`sksm.io`: every ``.npy`` header is matched against the
one form numpy writes, sizes are checked against the archive before any
array is inflated, and the JSON header is bounded in length and depth.
Faults raise :class:`_Invalid`, which :func:`sksm.io.load_model` turns into a
``ValueError`` naming the file.
"""

import json
import os
import re
import zipfile

import numpy as np

__all__ = ["MAX_INFLATION"]

#: A compressed member may inflate to at most this many times its stored
#: size (plus 1 MiB); ``save_model`` stores members uncompressed.
MAX_INFLATION = 50
_SLACK = 2 ** 20
_MAX_HEADER_CHARS = 2 ** 16   # of the JSON header
_MAX_DEPTH = 8                # of its nesting
_MAX_MEMBERS = 64
_NPY_HEADER = 10_000          # bytes of an .npy header, numpy's own default


class _Invalid(Exception):
    """A fault of the file; :func:`load_model` adds the file's name."""


def _archive_size(path):
    if isinstance(path, (str, os.PathLike)):
        return os.path.getsize(path)
    position = path.tell()
    size = path.seek(0, os.SEEK_END)
    path.seek(position)
    return size


#: The header numpy writes: its three keys in sorted order, a dtype string, a
#: boolean and a tuple of sizes, padded with spaces to a newline.
_NPY_LAYOUT = re.compile(
    r"\{'descr': '([<>|=]?[A-Za-z]\d{0,9})', "
    r"'fortran_order': (True|False), "
    r"'shape': \(((?:\d{1,19}, ?){0,32}\d{0,19})\), ?\} *\n?")


def _open_npy(archive, info, key):
    """The member's stream and its ``(shape, fortran_order, dtype)``.

    The header is matched against the one form numpy writes, character by
    character, instead of being handed to Python's parser (as numpy's own
    reader does), whose memory grows with whatever a tampered header holds.
    """
    stream = archive.open(info)
    try:
        magic = stream.read(8)
        if magic[:6] != b"\x93NUMPY" or magic[6:8] not in (b"\x01\x00",
                                                         b"\x02\x00"):
            raise ValueError("no .npy magic string of version 1 or 2")
        width = 2 if magic[6] == 1 else 4
        length = int.from_bytes(stream.read(width), "little")
        if length > _NPY_HEADER:
            raise ValueError(f"a header of {length} bytes")
        text = stream.read(length)
        match = _NPY_LAYOUT.fullmatch(text.decode("latin-1"))
        if len(text) != length or match is None:
            raise ValueError("a header not in numpy's form")
        descr, fortran, sizes = match.groups()
        shape = tuple(int(n) for n in sizes.replace(" ", "").split(",") if n)
        layout = (shape, fortran == "True", np.dtype(descr))
    except (ValueError, TypeError, OSError, EOFError, zipfile.BadZipFile) \
            as exc:
        stream.close()
        raise _Invalid(f"member {key!r} is not an .npy array "
                       f"({type(exc).__name__}: {str(exc)[:200]})") from None
    return stream, layout


def _read_exactly(stream, nbytes, key, info):
    data = stream.read(nbytes)
    if len(data) != nbytes or stream.read(1):
        raise _Invalid(f"member {key!r} holds {info.file_size} bytes, which "
                       "does not match its .npy header")
    return data


def _read_header(archive, info):
    stream, (shape, _, dtype) = _open_npy(archive, info, "header")
    with stream:
        if dtype.kind != "U" or shape != ():
            raise _Invalid("the header is not one string")
        if dtype.itemsize // 4 > _MAX_HEADER_CHARS:
            raise _Invalid(f"a header of {dtype.itemsize // 4} characters "
                           f"(at most {_MAX_HEADER_CHARS})")
        data = _read_exactly(stream, dtype.itemsize, "header", info)
    codec = "utf-32-be" if dtype.byteorder == ">" else "utf-32-le"
    try:  # the codec checks every code point, which numpy does not
        text = data.decode(codec).rstrip("\x00")
    except UnicodeError:
        raise _Invalid("the header is not text") from None
    if _depth(text) > _MAX_DEPTH:
        raise _Invalid(f"the header is nested more than {_MAX_DEPTH} deep")
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise _Invalid("the header is not JSON") from None


def _depth(text):
    """Deepest nesting of brackets and braces in JSON ``text``."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", text)
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _read_layout(archive, info, key, spec, dims):
    """Check a member's .npy header against ``spec``; bind named dims."""
    stream, (shape, fortran, dtype) = _open_npy(archive, info, key)
    stream.close()
    if dtype.kind != "f" or dtype.itemsize not in (4, 8):
        raise _Invalid(f"{key} must hold finite floats (float32 or float64), "
                       f"found dtype {dtype}")
    expected = (None,) if spec.kind == "curve" else spec.shape
    if len(shape) != len(expected):
        raise _Invalid(f"{key} has shape {shape}, which does not match its "
                       f"{len(expected)} dimensions")
    for size, dim in zip(shape, expected):
        if dim is None:
            continue
        if isinstance(dim, str):
            if dims.get(dim) is None:
                dims[dim] = size
            dim = dims[dim]
        if size != dim:
            raise _Invalid(f"{key} has shape {shape}, which does not match "
                           f"the parameters and the other arrays")
    nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if nbytes > info.file_size:
        raise _Invalid(f"{key} declares {nbytes} bytes of data in a member "
                       f"of {info.file_size} bytes")
    return shape, dtype, fortran


def _read_data(archive, info, key, shape, dtype, fortran):
    stream, _ = _open_npy(archive, info, key)
    with stream:
        count = int(np.prod(shape, dtype=object))
        data = _read_exactly(stream, count * dtype.itemsize, key, info)
    order = "F" if fortran else "C"
    value = np.frombuffer(data, dtype=dtype).reshape(shape, order=order)
    return value.astype(dtype.newbyteorder("="), order="C")
