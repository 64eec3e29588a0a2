"""A minimal PNG encoder and decoder (numpy and zlib only: no Pillow in the page).

:func:`encode` writes 8-bit grey, RGB or RGBA pixels with a per-row filter chosen by
the usual minimum-sum-of-absolute-differences rule; :func:`decode` reads back any
non-interlaced 8-bit PNG of those colour types (ours, or a browser canvas's), and
:func:`size` reads the width and height from the header alone.

Examples
--------
>>> import numpy as np
>>> pixels = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
>>> data = encode(pixels)
>>> data[:8] == SIGNATURE, size(data)
(True, (3, 2))
>>> bool((decode(data) == pixels).all())
True
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOUR_TYPES = {1: 0, 3: 2, 4: 6}  # channels -> PNG colour type
_CHANNELS = {v: k for k, v in _COLOUR_TYPES.items()}


class PNGError(ValueError):
    """Bytes that are not a PNG this module reads."""


def _chunk(kind: bytes, body: bytes) -> bytes:
    return (struct.pack(">I", len(body)) + kind + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))


def encode(pixels, level: int = 6) -> bytes:
    """The PNG file of `pixels`.

    Parameters
    ----------
    pixels : array_like of uint8, shape (H, W), (H, W, 3) or (H, W, 4)
        Grey, RGB or RGBA rows, top row first.
    level : int
        zlib compression level (0-9).

    Returns
    -------
    bytes

    Examples
    --------
    >>> import numpy as np
    >>> grey = np.zeros((4, 5), np.uint8)
    >>> size(encode(grey))
    (5, 4)
    """
    a = np.asarray(pixels)
    if a.dtype != np.uint8:
        raise PNGError(f"PNG pixels must be uint8, not {a.dtype}")
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in _COLOUR_TYPES or 0 in a.shape:
        raise PNGError(f"PNG pixels must be (H, W[, 3|4]), not {a.shape}")
    h, w, c = a.shape
    rows = a.reshape(h, w * c).astype(np.int16)
    left = np.zeros_like(rows)
    left[:, c:] = rows[:, :-c]
    up = np.zeros_like(rows)
    up[1:] = rows[:-1]
    upleft = np.zeros_like(rows)
    upleft[1:, c:] = rows[:-1, :-c]
    p = left + up - upleft
    pa, pb, pc = np.abs(p - left), np.abs(p - up), np.abs(p - upleft)
    paeth = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, upleft))
    candidates = np.stack([rows, rows - left, rows - up, rows - (left + up) // 2, rows - paeth])
    filtered = (candidates & 0xFF).astype(np.uint8)
    score = np.abs(filtered.view(np.int8).astype(np.int32)).sum(axis=2)  # (5, h)
    best = np.argmin(score, axis=0)
    body = np.empty((h, 1 + w * c), np.uint8)
    body[:, 0] = best
    body[:, 1:] = filtered[best, np.arange(h)]
    header = struct.pack(">IIBBBBB", w, h, 8, _COLOUR_TYPES[c], 0, 0, 0)
    return (SIGNATURE + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(body.tobytes(), level)) + _chunk(b"IEND", b""))


def _chunks(data: bytes):
    if bytes(data[:8]) != SIGNATURE:
        raise PNGError("not a PNG file (no PNG signature)")
    at = 8
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        yield kind, data[at + 8:at + 8 + length]
        at += 12 + length
        if kind == b"IEND":
            return
    raise PNGError("PNG file is cut short (no IEND chunk)")


def size(data: bytes) -> tuple[int, int]:
    """(width, height) of a PNG file, from its header.

    Examples
    --------
    >>> size(b"not a png")
    Traceback (most recent call last):
    ...
    meshseg.export.report.png.PNGError: not a PNG file (no PNG signature)
    """
    data = bytes(data)
    if data[:8] != SIGNATURE:
        raise PNGError("not a PNG file (no PNG signature)")
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise PNGError("PNG file has no IHDR header")
    return struct.unpack(">II", data[16:24])


def decode(data: bytes) -> np.ndarray:
    """The pixels of an 8-bit, non-interlaced grey, RGB or RGBA PNG: (H, W, channels) uint8.

    Examples
    --------
    >>> import numpy as np
    >>> rgba = np.random.default_rng(0).integers(0, 256, (7, 9, 4), dtype=np.uint8)
    >>> bool((decode(encode(rgba)) == rgba).all())
    True
    """
    data = bytes(data)
    header, idat = None, []
    for kind, body in _chunks(data):
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
    if header is None:
        raise PNGError("PNG file has no IHDR header")
    w, h, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in _CHANNELS or interlace:
        raise PNGError(f"PNG of bit depth {depth}, colour type {colour}, interlace {interlace}: "
                       "only 8-bit grey, RGB or RGBA without interlacing is read")
    c = _CHANNELS[colour]
    stride = w * c
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), np.uint8)
    if raw.size != h * (stride + 1):
        raise PNGError(f"PNG image data holds {raw.size} bytes, not {h * (stride + 1)}")
    raw = raw.reshape(h, stride + 1)
    out = np.zeros((h, stride), np.uint8)
    previous = np.zeros(stride, np.int32)
    for y in range(h):
        kind, line = raw[y, 0], raw[y, 1:].astype(np.int32)
        if kind == 0:
            row = line
        elif kind == 1:
            row = np.cumsum(line.reshape(w, c), axis=0).ravel() & 0xFF
        elif kind == 2:
            row = (line + previous) & 0xFF
        elif kind in (3, 4):
            row = _sequential(line, previous, c, kind)
        else:
            raise PNGError(f"PNG row {y} has unknown filter type {kind}")
        out[y] = row
        previous = row.astype(np.int32)
    return out.reshape(h, w, c)


def _sequential(line, previous, c, kind):
    """Undo the Average (3) or Paeth (4) filter of one row (each byte needs the one before)."""
    row = [0] * len(line)
    up = previous.tolist()
    for i, value in enumerate(line.tolist()):
        a = row[i - c] if i >= c else 0
        b = up[i]
        if kind == 3:
            row[i] = (value + (a + b) // 2) & 0xFF
        else:
            ul = up[i - c] if i >= c else 0
            p = a + b - ul
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - ul)
            row[i] = (value + (a if pa <= pb and pa <= pc else b if pb <= pc else ul)) & 0xFF
    return np.asarray(row, np.int32)
