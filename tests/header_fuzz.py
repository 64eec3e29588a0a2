"""Seeded header fuzzing of NIfTI-1, NIfTI-2 and MGH files for `meshseg.loading.load_scan`.

Pure pieces, shared by tests/test_header_fuzz.py (CPython) and tests/fuzz_pyodide.mjs
(the page's Python under Node.js):

- `mutate(content, rng, fmt)`: bytes + generator -> mutated bytes + a description
  (random header bytes; 0 / -1 / extreme ints / +-inf / NaN / huge floats written into
  header fields, in the file's byte order or the other one; truncation).
- `encode(content, rng, compress)`: optional gzip, sometimes damaged or cut short.
- `case(family, seed)`: one reproducible case (name, bytes, description).
- `outcome(content, name)`: ``("accepted" | "refused" | "other", detail)``: a Scan that
  passes `check_scan`, an `InputImageError` naming the file, or anything else.
- `write_cases(folder, n)`: N case files plus ``cases.json`` (name, family, seed,
  description) for the page/worker check.

Reproduce a failing case: ``python -c "import header_fuzz as f; print(f.case('nifti1', 1000042))"``
from tests/ (with py/ on sys.path), then ``load_scan`` its bytes.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import struct
import warnings
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import nibabel as nib
import numpy as np

from synthetic import centred_affine, sphere_image

SHAPE = (24, 28, 20)  # at 3 mm: 72 x 84 x 60 mm, accepted with the default min_fov_mm
ZOOMS = (3.0, 3.0, 3.0)
LOAD_ARGS = {"max_voxels": 2_000_000, "min_extent": 16, "min_fov_mm": 60.0}
REAL_SCAN = "avg152T1_RL_nifti.nii.gz"

# (name, offset, struct code of one element, count) of the header fields, per format
FIELDS = {
    "nifti1": [
        ("sizeof_hdr", 0, "i", 1), ("dim_info", 39, "b", 1), ("dim", 40, "h", 8),
        ("intent_p1", 56, "f", 1), ("intent_p2", 60, "f", 1), ("intent_p3", 64, "f", 1),
        ("intent_code", 68, "h", 1), ("datatype", 70, "h", 1), ("bitpix", 72, "h", 1),
        ("slice_start", 74, "h", 1), ("pixdim", 76, "f", 8), ("vox_offset", 108, "f", 1),
        ("scl_slope", 112, "f", 1), ("scl_inter", 116, "f", 1), ("slice_end", 120, "h", 1),
        ("slice_code", 122, "b", 1), ("xyzt_units", 123, "b", 1), ("cal_max", 124, "f", 1),
        ("cal_min", 128, "f", 1), ("slice_duration", 132, "f", 1), ("toffset", 136, "f", 1),
        ("glmax", 140, "i", 1), ("glmin", 144, "i", 1), ("qform_code", 252, "h", 1),
        ("sform_code", 254, "h", 1), ("quatern_b", 256, "f", 1), ("quatern_c", 260, "f", 1),
        ("quatern_d", 264, "f", 1), ("qoffset_x", 268, "f", 1), ("qoffset_y", 272, "f", 1),
        ("qoffset_z", 276, "f", 1), ("srow_x", 280, "f", 4), ("srow_y", 296, "f", 4),
        ("srow_z", 312, "f", 4), ("magic", 344, "b", 4), ("extension", 348, "b", 4),
    ],
    "nifti2": [
        ("sizeof_hdr", 0, "i", 1), ("magic", 4, "b", 8), ("datatype", 12, "h", 1),
        ("bitpix", 14, "h", 1), ("dim", 16, "q", 8), ("intent_p1", 80, "d", 1),
        ("intent_p2", 88, "d", 1), ("intent_p3", 96, "d", 1), ("pixdim", 104, "d", 8),
        ("vox_offset", 168, "q", 1), ("scl_slope", 176, "d", 1), ("scl_inter", 184, "d", 1),
        ("cal_max", 192, "d", 1), ("cal_min", 200, "d", 1), ("slice_duration", 208, "d", 1),
        ("toffset", 216, "d", 1), ("slice_start", 224, "q", 1), ("slice_end", 232, "q", 1),
        ("qform_code", 344, "i", 1), ("sform_code", 348, "i", 1), ("quatern_b", 352, "d", 1),
        ("quatern_c", 360, "d", 1), ("quatern_d", 368, "d", 1), ("qoffset_x", 376, "d", 1),
        ("qoffset_y", 384, "d", 1), ("qoffset_z", 392, "d", 1), ("srow_x", 400, "d", 4),
        ("srow_y", 432, "d", 4), ("srow_z", 464, "d", 4), ("slice_code", 496, "i", 1),
        ("xyzt_units", 500, "i", 1), ("intent_code", 504, "i", 1), ("dim_info", 524, "b", 1),
        ("extension", 540, "b", 4),
    ],
    "mgh": [
        ("version", 0, "i", 1), ("dims", 4, "i", 4), ("type", 20, "i", 1), ("dof", 24, "i", 1),
        ("goodRASFlag", 28, "h", 1), ("delta", 30, "f", 3), ("Mdc", 42, "f", 9),
        ("Pxyz_c", 78, "f", 3),
    ],
}
HEADER_BYTES = {"nifti1": 352, "nifti2": 544, "mgh": 90}
FLOAT_SPECIALS = (0.0, -0.0, -1.0, 1.0, 0.5, 1e-30, 1e-45, 1e30, 3.4e38, -3.4e38, 1e300,
                  math.inf, -math.inf, math.nan)
_NARROW = {"b": (-128, 127), "h": (-32768, 32767), "i": (-2**31, 2**31 - 1),
           "q": (-2**63, 2**63 - 1)}


@dataclass(frozen=True)
class Base:
    """A small valid file to mutate: format, uncompressed bytes, suffix, byte order."""

    label: str
    fmt: str  # "nifti1", "nifti2" or "mgh"
    content: bytes
    order: str  # "<" or ">"


@dataclass(frozen=True)
class Case:
    family: str
    seed: int
    name: str
    content: bytes
    description: str

    def __repr__(self) -> str:  # bytes left out: a case is reproduced from (family, seed)
        return f"Case({self.family!r}, seed={self.seed}, {self.name!r}: {self.description})"


# --- mutations (pure: bytes + rng -> bytes + description) ---------------------------------


def _int_values(code: str, rng) -> list[int]:
    low, high = _NARROW[code]
    return [0, -1, 1, 2, 3, 4, 7, 8, 255, 256, 32767, -32768, 2**31 - 1, -2**31, 2**24,
            low, high, int(rng.integers(low, high, endpoint=True))]


def _special(code: str, rng) -> tuple[bytes, str]:
    """One special value packed as `code` (int or float kind chosen by the field width)."""
    if code in "fd":
        values = [*FLOAT_SPECIALS, float(rng.normal(0, 1e3))]
        value = values[int(rng.integers(len(values)))]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # float32 overflow of 1e300 -> inf is intended
            packed = struct.pack("<" + code, value) if code == "d" else (
                np.float32(value).tobytes())
        return packed, f"{code} {value!r}"
    low, high = _NARROW[code]
    candidates = [v for v in _int_values(code, rng) if low <= v <= high]
    value = candidates[int(rng.integers(len(candidates)))]
    return struct.pack("<" + code, value), f"{code} {value}"


def _field_write(buf: bytearray, fmt: str, order: str, rng) -> str:
    """Write a special int or float value over a named field (element) or an aligned slot."""
    size = len(buf)
    if rng.random() < 0.75:
        field, offset, code, count = FIELDS[fmt][int(rng.integers(len(FIELDS[fmt])))]
        element = int(rng.integers(count))
        width = struct.calcsize(code)
        offset += element * width
        where = f"{field}[{element}]" if count > 1 else field
        if rng.random() < 0.3:  # type confusion: the other kind of the same (or 4-byte) width
            code = {"b": "b", "h": "h", "i": "f", "f": "i", "q": "d", "d": "q"}[code]
            if rng.random() < 0.5 and width >= 4:
                code = "fi"[int(rng.integers(2))]
    else:
        width = [4, 4, 8, 2][int(rng.integers(4))]
        offset = int(rng.integers(0, HEADER_BYTES[fmt] // width)) * width
        code = {2: "h", 4: "if"[int(rng.integers(2))], 8: "qd"[int(rng.integers(2))]}[width]
        where = f"@{offset}"
    packed, shown = _special(code, rng)
    swap = rng.random() < 0.15
    big = (order == ">") != swap
    if big:
        packed = packed[::-1]
    end = min(offset + len(packed), size)
    buf[offset:end] = packed[:end - offset]
    return f"{shown} -> {where}" + (" (other byte order)" if swap else "")


def _random_bytes(buf: bytearray, fmt: str, rng) -> str:
    n = int(rng.integers(1, 9))
    span = min(HEADER_BYTES[fmt], len(buf))
    spots = sorted(int(p) for p in rng.integers(0, span, n))
    for spot in spots:
        buf[spot] = int(rng.integers(256))
    return f"random bytes at {spots}"


def _truncate(buf: bytearray, fmt: str, rng) -> str:
    if rng.random() < 0.5:
        cut = int(rng.integers(0, min(HEADER_BYTES[fmt] + 8, len(buf))))
    else:
        cut = int(rng.integers(0, len(buf)))
    del buf[cut:]
    return f"truncated to {cut} bytes"


def write_field(content: bytes, fmt: str, field: str, value, element: int = 0,
                order: str | None = None) -> bytes:
    """`content` with one element of a named header field set to `value` (in the field's
    own type; the byte order is the file's unless `order` is given)."""
    entry = next(f for f in FIELDS[fmt] if f[0] == field)
    _, offset, code, count = entry
    if not 0 <= element < count:
        raise IndexError(f"{field} has {count} elements")
    if order is None:
        order = ">" if fmt == "mgh" or int.from_bytes(content[:4], "big") in (348, 540) else "<"
    packed = struct.pack(order + code, value)
    at = offset + element * len(packed)
    return content[:at] + packed + content[at + len(packed):]


def mutate(content: bytes, rng: np.random.Generator, fmt: str,
           order: str = "<") -> tuple[bytes, str]:
    """1-4 seeded mutations of an uncompressed header + data, and what they were.

    Parameters
    ----------
    content : bytes
        An uncompressed NIfTI-1, NIfTI-2 or MGH file.
    rng : numpy.random.Generator
    fmt : str
        ``"nifti1"``, ``"nifti2"`` or ``"mgh"`` (which header fields exist).
    order : str
        The file's byte order (``"<"`` or ``">"``; MGH is big-endian).

    Returns
    -------
    (bytes, str)
    """
    buf = bytearray(content)
    steps = []
    for _ in range(1 + min(int(rng.geometric(0.55)) - 1, 3)):
        roll = rng.random()
        if roll < 0.6:
            steps.append(_field_write(buf, fmt, order, rng))
        elif roll < 0.9:
            steps.append(_random_bytes(buf, fmt, rng))
        else:
            steps.append(_truncate(buf, fmt, rng))
            break
    return bytes(buf), "; ".join(steps)


def encode(content: bytes, rng: np.random.Generator, compress: bool) -> tuple[bytes, str]:
    """The bytes as stored: raw, or gzip (sometimes cut short or with a damaged byte)."""
    if not compress:
        return content, ""
    packed = bytearray(gzip.compress(content, compresslevel=1, mtime=0))
    roll = rng.random()
    if roll < 0.08:
        cut = int(rng.integers(0, len(packed)))
        del packed[cut:]
        return bytes(packed), f"; gzip cut to {cut} bytes"
    if roll < 0.14:
        spot = int(rng.integers(0, len(packed)))
        packed[spot] ^= 1 << int(rng.integers(8))
        return bytes(packed), f"; gzip bit flipped at byte {spot}"
    return bytes(packed), "; gzip"


# --- the valid files mutated --------------------------------------------------------------


def _head_image(klass, dtype, seed: int, shape=SHAPE):
    affine = centred_affine(SHAPE, ZOOMS, "LAS", rotation_deg=(8.0, -5.0, 3.0),
                            centre_mm=(2.0, -10.0, 15.0))
    img = sphere_image(SHAPE, affine, centre_mm=(2.0, -10.0, 15.0), radius_mm=25.0,
                       dtype=np.float32, noise=6.0, seed=seed)
    data = np.asanyarray(img.dataobj)
    if len(shape) == 4:
        data = np.stack([data, data[::-1]], axis=3)
    data = (data + 20).astype(dtype)
    if klass is nib.MGHImage:
        return nib.MGHImage(data, affine)
    out = klass(data, affine)
    out.set_qform(affine, code=1)
    out.set_sform(affine, code=2)
    out.header.set_xyzt_units("mm", "sec")
    return out


def _nifti_bytes(klass, dtype, seed, order="<", shape=SHAPE, slope=None) -> bytes:
    img = _head_image(klass, dtype, seed, shape)
    header = img.header.as_byteswapped(order) if order == ">" else img.header
    img = klass(np.asanyarray(img.dataobj), img.affine, header)
    if slope is not None:
        img.header.set_slope_inter(*slope)
    return img.to_bytes()


@cache
def bases(family: str) -> tuple[Base, ...]:
    """The valid files of a family (built once, deterministic)."""
    if family in ("nifti1", "nifti1-gz"):
        k = nib.Nifti1Image
        return (Base("float32-le", "nifti1", _nifti_bytes(k, np.float32, 1), "<"),
                Base("int16-be-scaled", "nifti1",
                     _nifti_bytes(k, np.int16, 2, ">", slope=(2.0, 10.0)), ">"),
                Base("uint8-le", "nifti1", _nifti_bytes(k, np.uint8, 3), "<"),
                Base("float32-be-4d", "nifti1",
                     _nifti_bytes(k, np.float32, 4, ">", (*SHAPE, 2)), ">"))
    if family == "nifti2":
        k = nib.Nifti2Image
        return (Base("float32-le", "nifti2", _nifti_bytes(k, np.float32, 5), "<"),
                Base("int16-be", "nifti2", _nifti_bytes(k, np.int16, 6, ">"), ">"),
                Base("float64-le-4d", "nifti2",
                     _nifti_bytes(k, np.float64, 7, "<", (*SHAPE, 2)), "<"))
    if family == "mgh":
        return tuple(Base(f"{np.dtype(t).name}-be", "mgh",
                          _head_image(nib.MGHImage, t, 8 + i).to_bytes(), ">")
                     for i, t in enumerate((np.float32, np.uint8, np.int16, np.int32)))
    if family == "real":
        path = real_scan_path()
        if path is None:
            return ()
        return (Base("avg152T1", "nifti1", gzip.decompress(path.read_bytes()), "<"),)
    raise KeyError(family)


def real_scan_path() -> Path | None:
    """/work/shared/data/avg152T1_RL_nifti.nii.gz (or under $MESHSEG_SHARED), if present."""
    root = Path(os.environ.get("MESHSEG_SHARED", Path(__file__).resolve().parents[2] / "shared"))
    path = root / "data" / REAL_SCAN
    return path if path.exists() else None


# family -> (first seed, suffix(es) by case, gzip by case)
FAMILIES = {
    "nifti1": 1_000_000,
    "nifti1-gz": 2_000_000,
    "nifti2": 3_000_000,
    "mgh": 4_000_000,
    "real": 5_000_000,
}


def case(family: str, seed: int) -> Case:
    """The case of `family` for `seed`: same seed, same bytes (on any platform)."""
    rng = np.random.default_rng(seed)
    choices = bases(family)
    base = choices[seed % len(choices)]
    content, what = mutate(base.content, rng, base.fmt, base.order)
    if family == "nifti1":
        compress = False
    elif family in ("nifti1-gz", "mgh"):
        compress = family == "nifti1-gz" or bool(rng.random() < 0.5)
    else:
        compress = bool(rng.random() < 0.5)
    stored, packing = encode(content, rng, compress)
    suffix = {"mgh": ".mgz" if compress else ".mgh"}.get(base.fmt, ".nii.gz" if compress
                                                         else ".nii")
    name = f"{family}-{seed}{suffix}"
    return Case(family, seed, name, stored, f"{base.label}: {what}{packing}")


def cases(family: str, n: int, start: int | None = None):
    """`n` consecutive cases of a family (no cases when its bases are absent)."""
    if not bases(family):
        return
    first = FAMILIES[family] if start is None else start
    for seed in range(first, first + n):
        yield case(family, seed)


# --- outcomes ------------------------------------------------------------------------------


def header_shape(content: bytes, fmt: str) -> tuple[int, ...] | None:
    """The spatial shape the (decompressed) header claims, read independently of nibabel."""
    if content[:2] == b"\x1f\x8b":
        try:
            content = gzip.decompress(content)
        except (OSError, EOFError, ValueError):
            return None
    if fmt == "mgh":
        dims = struct.unpack_from(">4i", content, 4)
        return tuple(dims[:3])
    order = "<" if int.from_bytes(content[:4], "little") in (348, 540) else ">"
    if fmt == "nifti1":
        dims = struct.unpack_from(order + "8h", content, 40)
    else:
        dims = struct.unpack_from(order + "8q", content, 16)
    n = dims[0]
    return tuple(dims[1:1 + n]) if n >= 3 else tuple(dims[1:1 + n]) + (1,) * (3 - n)


def check_scan(scan, content: bytes, fmt: str, max_voxels: int) -> str | None:
    """What is wrong with an accepted scan (None when it is sound)."""
    image = scan.image
    if not isinstance(image, nib.Nifti1Image):
        return f"image is {type(image).__name__}"
    data = np.asanyarray(image.dataobj)
    if data.ndim != 3:
        return f"data has {data.ndim} dimensions"
    if data.dtype.kind not in "uif":
        return f"data dtype {data.dtype}"
    if data.dtype.kind == "f" and not np.all(np.isfinite(data)):
        return "data has non-finite values"
    if data.size > max_voxels:
        return f"{data.size} voxels > max_voxels {max_voxels}"
    claimed = header_shape(content, fmt)
    if claimed is not None and tuple(claimed[:3]) != data.shape:
        return f"data shape {data.shape} but the header says {claimed}"
    affine = image.affine
    if not np.all(np.isfinite(affine)):
        return f"affine not finite: {affine.tolist()}"
    zooms = nib.affines.voxel_sizes(affine)
    if not np.all(np.isfinite(zooms) & (zooms > 0)):
        return f"voxel sizes {zooms}"
    header_zooms = np.asarray(image.header.get_zooms()[:3], float)
    if not np.all(np.isfinite(header_zooms) & (header_zooms > 0)):
        return f"the image header's zooms are {header_zooms}"
    return None


def outcome(content: bytes, name: str, fmt: str, **load_args) -> tuple[str, str]:
    """``("accepted", notices)``, ``("refused", message)`` or ``("other", what escaped)``.

    Any warning escaping `load_scan` counts as "other" (turned into an error here).
    """
    from meshseg.errors import InputImageError
    from meshseg.loading import Scan, load_scan

    args = {**LOAD_ARGS, **load_args}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            scan = load_scan(content, name, **args)
    except InputImageError as err:
        if not str(err).startswith(f"{name}: "):
            return "other", f"InputImageError not naming the file: {err}"
        return "refused", str(err)
    except Exception as err:  # noqa: BLE001 - the fuzzer reports whatever escapes
        return "other", f"{type(err).__name__}: {err}"
    if not isinstance(scan, Scan):
        return "other", f"load_scan returned {type(scan).__name__}"
    wrong = check_scan(scan, content, fmt, args["max_voxels"])
    if wrong:
        return "other", f"accepted but {wrong}"
    return "accepted", " | ".join(scan.notices)


def family_format(family: str, seed: int) -> str:
    choices = bases(family)
    return choices[seed % len(choices)].fmt


def write_cases(folder, n: int, families=tuple(FAMILIES), start_offset: int = 0) -> list[dict]:
    """Write `n` cases spread over `families` into `folder`, with ``cases.json``.

    Each entry of the returned (and written) list: ``name``, ``family``, ``format``,
    ``seed``, ``description``. Families without their base file (the real scan) are
    left out.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    present = [f for f in families if bases(f)]
    entries = []
    for i in range(n):
        family = present[i % len(present)]
        seed = FAMILIES[family] + start_offset + i // len(present)
        one = case(family, seed)
        (folder / one.name).write_bytes(one.content)
        entries.append({"name": one.name, "family": family, "format": family_format(family, seed),
                        "seed": seed, "description": one.description})
    (folder / "cases.json").write_text(json.dumps(entries, indent=1))
    return entries
