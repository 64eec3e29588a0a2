"""Load a scan from a path or from bytes, and check that it can be segmented.

One code path serves the CLI (a path) and the browser (bytes plus the file's
name): the content, not the extension, decides the format (gzip magic, NIfTI-1
and NIfTI-2 ``sizeof_hdr`` in either byte order and their magic, MGH version 1).
Headers are checked before any voxel data is decompressed, so a header that
claims 1024^3 voxels is refused without allocating them.

See `load_scan` for how 4D data, NaN voxels, scaling and orientation are handled.
"""

from __future__ import annotations

import codecs
import itertools
import logging
import math
import os
import struct
import warnings
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import NamedTuple

import nibabel as nib
import numpy as np
from nibabel.freesurfer.mghformat import DATA_OFFSET as MGH_DATA_OFFSET
from nibabel.freesurfer.mghformat import MGHHeader
from nibabel.spatialimages import HeaderDataError

from meshseg.errors import InputImageError

_GZIP_MAGIC = b"\x1f\x8b"
_HEAD_BYTES = 1024
_IN_CHUNK = 1 << 16
_OUT_CHUNK = 1 << 22
_NIFTI1_MAGIC = {b"n+1\x00": "nifti1", b"ni1\x00": "pair"}
_NIFTI2_MAGIC = {b"n+2\x00\r\n\x1a\n": "nifti2", b"ni2\x00\r\n\x1a\n": "pair"}
_MAX_AXIS = 32767  # NIfTI-1 stores dimensions as int16
_DEFLATE_MAX_RATIO = 1032  # deflate cannot expand data more than about 1032:1
_MIN_CONTRAST_STEPS = 256  # scaled intensities must keep at least this many float32 steps
_READS = "MeshSeg reads NIfTI (.nii, .nii.gz) and FreeSurfer MGH (.mgh, .mgz) volumes."
_REEXPORT = "Re-export the scan as NIfTI from the software that made it."
_REFETCH = "The download or copy was probably cut short: get the file again."
_FIX_SCALING = "Set scl_slope to 1 and scl_inter to 0 in the header (or re-export the scan)."
_NEED_3D = "MeshSeg needs a 3D head scan, such as a T1-weighted MRI saved as .nii.gz."
_SIGNATURES = (
    (b"\x89PNG", "is a PNG picture, not a 3D scan."),
    (b"\xff\xd8\xff", "is a JPEG picture, not a 3D scan."),
    (b"%PDF", "is a PDF document, not a 3D scan."),
    (b"PK\x03\x04", "is a ZIP archive; extract it and load the .nii or .nii.gz file inside."),
    (b"\x89HDF", "is an HDF5 file, not a NIfTI or MGH volume."),
)


@dataclass(frozen=True)
class Scan:
    """A validated 3D scan.

    Attributes
    ----------
    name : str
        The file's base name as the user knows it.
    image : nibabel.Nifti1Image
        3D image with finite voxel values and an invertible affine.
    notices : tuple of str
        Things the user should know (e.g. which volume of a 4D file is used).
    source_format : str
        ``"nifti1"``, ``"nifti2"`` or ``"mgh"``.
    """

    name: str
    image: nib.Nifti1Image
    notices: tuple[str, ...]
    source_format: str


class _Layout(NamedTuple):
    """Where the first 3D volume lies in the (decompressed) file."""

    shape: tuple[int, int, int]
    volumes: int
    dtype: np.dtype
    offset: int
    slope: float
    inter: float
    offset_was_zero: bool = False  # vox_offset 0 in a single file: data assumed after header


def load_scan(source: str | os.PathLike | bytes | bytearray | memoryview,
              name: str | None = None, *, max_voxels: int = 512**3 // 2,
              min_extent: int = 16, min_fov_mm: float = 60.0) -> Scan:
    """Read a NIfTI-1/2 or MGH/MGZ scan and check that it can be segmented.

    Parameters
    ----------
    source : path-like or bytes-like
        A file path, or the file's content (gzip-compressed or not).
    name : str, optional
        The file name shown in messages; required with bytes, defaults to the
        path's base name.
    max_voxels : int, optional
        Largest number of voxels in the 3D volume (checked on the header).
    min_extent : int, optional
        Fewest voxels along any axis.
    min_fov_mm : float, optional
        A field of view below this on two or more axes is too small for a head.

    Returns
    -------
    Scan
        The 3D image, with notices.

    Raises
    ------
    InputImageError
        If the content is not a readable NIfTI/MGH volume that could be a head
        scan; the message names the file, the problem and what would work.

    Notes
    -----
    - 4D: the first volume is used and a notice says so. Trailing singleton
      dimensions (e.g. 64 x 64 x 64 x 1 x 1) are squeezed; anything else beyond
      four dimensions is refused.
    - NaN voxels: replaced by 0 with a notice when they are fewer than 1% of the
      voxels, refused otherwise. Infinite voxels are refused.
    - Scaled integer data (NIfTI ``scl_slope``/``scl_inter``) become float32; other
      data keep their stored dtype (in native byte order).
    - Orientation follows nibabel (``img.affine``: sform when ``sform_code > 0``,
      else qform, else the voxel sizes); a notice reports a qform and sform that
      disagree by more than 1e-3 mm anywhere in the volume, or a header without any.
    - The result is always a `nibabel.Nifti1Image` (NIfTI-2 and MGH are converted
      with the same affine), loaded eagerly so a damaged file fails here.
    - No invented geometry: a zero, negative or non-finite voxel size that the
      affine would be built from is refused (nibabel would silently use 1 mm or
      its absolute value); when a valid sform gives the geometry instead, a
      notice says the header's pixdim is ignored.
    - Header faults are named: ``dim[0]`` outside 1..7, a ``vox_offset`` inside the
      header or not finite, an infinite ``scl_slope``, an ``scl_inter``/``scl_slope``
      that wipes out the contrast in float32, a used qform whose quaternion is not a
      rotation (or whose offsets or voxel sizes are not finite), a used sform with NaN
      or infinite values, MGH direction cosines that are not unit perpendicular axes,
      an unknown voxel type. A ``vox_offset`` of 0 in a single ``.nii`` file is read from
      byte 352 (NIfTI-1) or 544 (NIfTI-2) with a notice, only when the file size matches
      exactly.
    - A damaged qform beside a valid sform (which gives the geometry) is ignored with a
      notice (the image's qform code becomes 0); unknown ``xyzt_units`` codes are a
      notice too (voxel sizes are read as mm, as always).
    - Absurd geometry is refused: voxels more than 100 m from the scanner's origin, a
      field of view over 10 m along an axis.
    - nibabel's header repairs (including what its global logger reports when the
      image is made) and Python warnings become notices (prefixed ``nibabel:``);
      nothing is written to stderr.
    - Sizes are checked before allocating: the voxel buffer grows with the data
      actually present, so a short file claiming a huge volume costs no memory. A file
      shorter than all the volumes its header describes is refused as truncated, even
      when the first volume is complete.
    """
    raw, name = _read_source(source, name)
    converted = _other_format(raw, name, source, max_voxels)
    if converted is not None:
        return converted(min_extent=min_extent, min_fov_mm=min_fov_mm)
    log = _Collector()
    with warnings.catch_warnings(record=True) as caught, log.instead_of(nib.imageglobals.logger):
        warnings.simplefilter("always")
        scan = _load(raw, name, max_voxels, min_extent, min_fov_mm)
    extra = tuple(_repair_notice(text) for text in log.messages)
    extra += tuple(f"nibabel: {w.message}" for w in caught)
    notices = tuple(dict.fromkeys(scan.notices + extra))
    return Scan(scan.name, scan.image, notices, scan.source_format)


def _load(raw: memoryview, name: str, max_voxels: int, min_extent: int,
          min_fov_mm: float) -> Scan:
    """`load_scan` after reading the source (Python warnings are caught by the caller)."""
    compressed = bytes(raw[:2]) == _GZIP_MAGIC
    head = (_inflate(raw, _HEAD_BYTES, name, drain=False)[0] if compressed
            else bytes(raw[:_HEAD_BYTES]))
    source_format = _identify(head, name)
    header, repairs = _parse_header(head, source_format, name)
    layout = _layout(header, source_format, name)
    _check_dtype(layout.dtype, name)
    _check_size(layout.shape, max_voxels, name)
    transform_notices = _check_transforms(header, source_format, name)
    affine = _affine(header, source_format)
    _check_geometry(layout.shape, affine, min_extent, min_fov_mm, name)
    notices = repairs + transform_notices + _units_notices(header, source_format)
    notices += _volume_notices(layout)
    notices += _orientation_notices(header, source_format, layout.shape, head)
    data, offset_notices = _read_volume(raw, compressed, layout, name)
    _check_scaling(data, layout, name)
    data = _apply_scaling(data, layout)
    data, value_notices = _check_values(data, name)
    image = _to_nifti1(data, affine, header, source_format)
    return Scan(name, image, notices + offset_notices + value_notices, source_format)


# --- hook: formats read by meshseg.readers (NRRD), validated as NIfTI ---------------------


def _other_format(raw: memoryview, name: str, source, max_voxels: int):
    """A function finishing `load_scan` for a format a reader in meshseg.readers claims,
    else None. The reader's NIfTI bytes go through load_scan's own checks."""
    from meshseg.readers import convert_other

    path = None if isinstance(source, (bytes, bytearray, memoryview)) else os.fspath(source)
    converted = convert_other(raw, name, path, max_voxels)
    if converted is None:
        return None

    def finish(**checks) -> Scan:
        scan = load_scan(converted.nifti, name, max_voxels=max_voxels, **checks)
        return replace(scan, notices=converted.notices + scan.notices,
                       source_format=converted.source_format)
    return finish


# -------------------------------------------------------------------------------------------


def describe(scan: Scan) -> dict:
    """Summarise a scan for the UI and the CLI.

    Parameters
    ----------
    scan : Scan
        A loaded scan.

    Returns
    -------
    dict
        ``name``, ``shape``, ``voxel_size_mm``, ``orientation`` (axis codes
        such as ``"LIA"``), ``dtype``, ``source_format`` and ``notices``, all
        plain Python values (JSON-serialisable).
    """
    image = scan.image
    return {
        "name": scan.name,
        "shape": [int(s) for s in image.shape],
        "voxel_size_mm": [round(float(v), 4) for v in nib.affines.voxel_sizes(image.affine)],
        "orientation": "".join(nib.aff2axcodes(image.affine)),
        "dtype": str(image.dataobj.dtype),
        "source_format": scan.source_format,
        "notices": list(scan.notices),
    }


def _read_source(source, name: str | None) -> tuple[memoryview, str]:
    """The file's bytes and the name to show for it."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        if name is None:
            raise TypeError("load_scan needs `name` (the original file name) with bytes")
        return memoryview(source).cast("B"), os.path.basename(name)
    path = os.fspath(source)
    name = os.path.basename(path if name is None else name)
    try:
        with open(path, "rb") as handle:
            return memoryview(handle.read()), name
    except OSError as err:
        raise InputImageError(name, f"cannot be read ({err.strerror}).",
                              "Check the path and the file's permissions.") from err


def _gunzip_chunks(raw: memoryview, name: str):
    """Yield the decompressed content of (possibly multi-member) gzip data in bounded chunks."""
    inflater, pos, pending = zlib.decompressobj(wbits=31), 0, b""
    while True:
        if not pending:
            pending = raw[pos:pos + _IN_CHUNK]
            pos += len(pending)
        chunk = inflater.decompress(pending, _OUT_CHUNK)
        pending = inflater.unconsumed_tail
        if chunk:
            yield chunk
        if inflater.eof:
            pos -= len(inflater.unused_data)
            if bytes(raw[pos:pos + 2]) != _GZIP_MAGIC:
                return
            inflater, pending = zlib.decompressobj(wbits=31), b""
        elif not chunk and not pending and pos >= len(raw):
            raise InputImageError(name, "is a truncated gzip file: the compressed data stop early.",
                                  _REFETCH)


def _inflate(raw: memoryview, limit: int, name: str, *,
             drain: bool) -> tuple[bytearray, int]:
    """The first `limit` decompressed bytes, and how many bytes the stream holds.

    With `drain`, the stream is checked to its end (the count is then the total;
    without it, the count stops at `limit`). The buffer grows with the data
    actually decompressed (pre-sized in full only when the gzip trailer's size
    field and the compression ratio both allow it), so a tiny file whose header
    claims a huge volume allocates nothing big.
    """
    possible = min(limit, _DEFLATE_MAX_RATIO * len(raw))
    isize = int.from_bytes(raw[-4:], "little") if len(raw) >= 4 else 0  # size mod 2**32
    out = bytearray(possible if isize >= possible else min(possible, _OUT_CHUNK))
    kept = total = 0
    try:
        for chunk in _gunzip_chunks(raw, name):
            total += len(chunk)
            take = min(len(chunk), limit - kept)
            if take:
                if kept + take > len(out):
                    out.extend(bytes(min(max(len(out), kept + take - len(out)),
                                         limit - len(out))))
                out[kept:kept + take] = memoryview(chunk)[:take]
                kept += take
            if kept == limit and not drain:
                break
    except zlib.error as err:
        raise InputImageError(name, f"is a damaged gzip file ({err}).", _REFETCH) from err
    del out[kept:]
    return out, total


def _identify(head: bytes, name: str) -> str:
    """'nifti1', 'nifti2' or 'mgh' from the first bytes, or an error that says what it is."""
    sizeof_hdr = {int.from_bytes(head[:4], order) for order in ("little", "big")}
    if 348 in sizeof_hdr and len(head) >= 348:
        kind = _NIFTI1_MAGIC.get(bytes(head[344:348]), "analyze")
    elif 540 in sizeof_hdr and len(head) >= 540:
        kind = _NIFTI2_MAGIC.get(bytes(head[4:12]), "analyze")
    elif head[:4] == b"\x00\x00\x00\x01" and len(head) >= MGH_DATA_OFFSET:
        kind = "mgh"
    else:
        raise _unrecognised(head, name)
    if kind in ("pair", "analyze"):
        raise InputImageError(
            name, "is the header of a NIfTI/Analyze .hdr/.img pair, without its image data.",
            "Convert the pair to a single .nii.gz file (e.g. with nibabel or FSL) and load that.")
    return kind


def _unrecognised(head: bytes, name: str) -> InputImageError:
    """The error for content that is neither NIfTI nor MGH, saying what it looks like."""
    if not head:
        return InputImageError(name, "is empty (0 bytes).",
                               "Check that the file was saved or uploaded completely.")
    if head.startswith(b"NRRD"):
        return InputImageError(name, "is an NRRD file, which MeshSeg does not read.",
                               "Convert it to NIfTI (.nii.gz), e.g. with 3D Slicer "
                               "(Save, format .nii.gz), and load that.")
    if head[128:132] == b"DICM":
        return InputImageError(name, "is a DICOM file, which MeshSeg does not read directly.",
                               "Convert the whole series folder to NIfTI with dcm2niix "
                               "(dcm2niix -z y <folder>) and load the .nii.gz.")
    for magic, problem in _SIGNATURES:
        if head.startswith(magic):
            return InputImageError(name, problem, _READS)
    if _looks_like_text(head):
        return InputImageError(name, "is a text file, not an image.", _READS)
    sizeof_hdr = {int.from_bytes(head[:4], order) for order in ("little", "big")}
    if sizeof_hdr & {348, 540} and len(head) < max(sizeof_hdr & {348, 540}):
        return InputImageError(name, f"is truncated: only {len(head)} bytes, shorter than "
                               "a NIfTI header.", _REFETCH)
    return InputImageError(name, "is not a NIfTI or MGH/MGZ file (unrecognised content).", _READS)


def _looks_like_text(head: bytes) -> bool:
    """True when the bytes are UTF-8 (maybe cut mid-character) without control characters."""
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(bytes(head), final=False)
    except UnicodeDecodeError:
        return False
    return all(ch.isprintable() or ch in "\t\r\n" for ch in text)


def _parse_header(head: bytes, source_format: str, name: str) -> tuple[object, tuple[str, ...]]:
    """The nibabel header of the identified format, and nibabel's repairs as notices.

    ``dim[0]`` is checked first, in the byte order ``sizeof_hdr`` gives: nibabel
    guesses the byte order from ``dim[0]`` and would report unrelated faults.
    """
    if source_format in ("nifti1", "nifti2"):
        _check_dim0(head, source_format, name)
    klass = {"nifti1": nib.Nifti1Header, "nifti2": nib.Nifti2Header}.get(source_format, MGHHeader)
    size = {"nifti1": 348, "nifti2": 540}.get(source_format, MGH_DATA_OFFSET)
    repairs = _Collector()
    try:
        header = klass(binaryblock=bytes(head[:size]), check=False)
    except (HeaderDataError, KeyError, ValueError) as err:
        raise InputImageError(name, f"has an invalid {source_format.upper()} header ({err}).",
                              _REEXPORT) from err
    if source_format != "mgh":
        _check_stored_numbers(header, name)
    zoom_notices = _check_voxel_sizes(header, source_format, name)
    try:
        header.check_fix(logger=repairs.logger, error_level=40)
    except (HeaderDataError, KeyError, ValueError) as err:
        raise InputImageError(name, f"has an invalid {source_format.upper()} header ({err}).",
                              _REEXPORT) from err
    messages = [text for text in repairs.messages if not (zoom_notices and "pixdim" in text)]
    return header, zoom_notices + tuple(_repair_notice(text) for text in messages)


def _repair_notice(text: str) -> str:
    return f"nibabel: the header needed a repair: {text}."


class _Collector(logging.Handler):
    """Collects nibabel's header-repair messages instead of letting them reach stderr."""

    def __init__(self) -> None:
        super().__init__(level=30)
        self.messages: list[str] = []
        self.logger = logging.Logger("meshseg.header_repairs", level=30)
        self.logger.propagate = False
        self.logger.addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    @contextmanager
    def instead_of(self, logger: logging.Logger):
        """Within the block, `logger`'s records come here instead of to its handlers.

        nibabel checks a header again whenever an image is made from it and logs
        what it cannot repair to its global logger, which prints to stderr.
        """
        handlers, propagate = list(logger.handlers), logger.propagate
        logger.handlers[:] = [self]
        logger.propagate = False
        try:
            yield self
        finally:
            logger.handlers[:] = handlers
            logger.propagate = propagate


def _check_stored_numbers(header, name: str) -> None:
    """Refuse a NaN or infinite ``vox_offset`` and an infinite ``scl_slope`` (NIfTI).

    Runs before nibabel's checks, which would fail on them with a raw Python error
    (or, for the slope, silently drop the scaling: nibabel treats 0 and NaN, which
    writers use for "no scaling", and also +-inf as unscaled).
    """
    offset = float(header["vox_offset"])
    if not math.isfinite(offset):
        raise InputImageError(name, f"has vox_offset = {offset:g} in its header, so where its "
                              "voxels start is unknown; the file is damaged.", _REEXPORT)
    slope = float(header["scl_slope"])
    if math.isinf(slope):
        raise InputImageError(name, f"has scl_slope = {slope:g} in its header, so its "
                              "intensities are unknown; the file is damaged.", _FIX_SCALING)


def _check_dim0(head: bytes, source_format: str, name: str) -> None:
    """Refuse a ``dim[0]`` (number of dimensions) outside 1..7."""
    order = "<" if int.from_bytes(head[:4], "little") in (348, 540) else ">"
    if source_format == "nifti1":
        dim0 = struct.unpack_from(order + "h", head, 40)[0]
    else:
        dim0 = struct.unpack_from(order + "q", head, 16)[0]
    if not 1 <= dim0 <= 7:
        raise InputImageError(name, f"has dim[0] = {dim0} in its header: the number of "
                              "dimensions must be 1 to 7, so the header is damaged.", _REEXPORT)


def _layout(header, source_format: str, name: str) -> _Layout:
    """Shape, dtype and data offset of the first 3D volume; refuses 2D and 5D+ images."""
    try:
        shape = tuple(int(s) for s in header.get_data_shape())
        dtype = np.dtype(header.get_data_dtype())
        slope, inter = (1.0, 0.0) if source_format == "mgh" else header.get_slope_inter()
    except HeaderDataError as err:
        raise InputImageError(name, f"has an invalid header ({err}).", _REEXPORT) from err
    except KeyError as err:  # nibabel's code tables (an MGH ``type`` NIfTI's check lets by)
        field = "type" if source_format == "mgh" else "datatype"
        raise InputImageError(name, f"has an unknown voxel data type in its header ({field} = "
                              f"{int(header[field])}).", _REEXPORT) from err
    offset = MGH_DATA_OFFSET if source_format == "mgh" else int(header.get_data_offset())
    offset_was_zero = source_format != "mgh" and offset == 0
    if offset_was_zero:
        offset = header.single_vox_offset
    shown = " x ".join(map(str, shape))
    if not shape or min(shape) < 1:
        raise InputImageError(name, f"has an empty dimension (shape {shown}).", _NEED_3D)
    while len(shape) > 3 and shape[-1] == 1:
        shape = shape[:-1]
    if len(shape) > 4:
        raise InputImageError(name, f"has {len(shape)} dimensions (shape {shown}).",
                              "MeshSeg reads a 3D volume (or the first volume of a 4D series): "
                              "save the volume to segment as its own file.")
    spatial = (shape + (1, 1, 1))[:3]
    if sum(s > 1 for s in spatial) < 3:
        raise InputImageError(name, f"is a 2D image (shape {shown}), not a 3D volume.", _NEED_3D)
    volumes = shape[3] if len(shape) == 4 else 1
    if slope is None:
        slope, inter = 1.0, 0.0
    return _Layout(spatial, volumes, dtype, offset, slope, inter, offset_was_zero)


def _check_dtype(dtype: np.dtype, name: str) -> None:
    """Refuse voxel types that are not one real number per voxel."""
    if dtype.names is not None or dtype.kind == "V":
        raise InputImageError(name, "stores RGB colour voxels, not grey-scale intensities.",
                              "Load the original grey-scale scan (one intensity per voxel).")
    if dtype.kind == "c":
        raise InputImageError(name, f"stores complex numbers ({dtype.name}), "
                              "not a real-valued image.",
                              "Save the magnitude image as real values (e.g. float32).")
    if dtype.kind not in "uif" or (dtype.kind == "f" and dtype.itemsize > 8):
        raise InputImageError(name, f"stores voxels as {dtype.name}, which MeshSeg cannot use.",
                              "Save it with integer or float32 voxels.")


def _check_size(shape: tuple[int, int, int], max_voxels: int, name: str) -> None:
    """Refuse, from the header alone, a volume too large for the browser."""
    voxels = shape[0] * shape[1] * shape[2]
    if voxels > max_voxels or max(shape) > _MAX_AXIS:
        raise InputImageError(
            name, f"is too large: {' x '.join(map(str, shape))} voxels "
            f"({voxels / 1e6:.1f} million; the limit is {max_voxels / 1e6:.1f} million).",
            "Resample it to about 1 mm voxels (e.g. 256 x 256 x 256) and load that.")


def _check_voxel_sizes(header, source_format: str, name: str) -> tuple[str, ...]:
    """Refuse zero, negative or non-finite voxel sizes that the affine would be built from.

    Runs on the header as stored, before nibabel's repairs.

    nibabel replaces a zero ``pixdim`` by 1 and a negative one by its absolute value;
    MeshSeg does not invent geometry. With ``sform_code > 0`` the sform, not
    ``pixdim``, gives the geometry: a bad ``pixdim`` is then only a notice.
    For MGH the voxel sizes are ``delta`` (used when goodRASFlag is set).
    """
    if source_format == "mgh":
        field, sizes = "delta", np.asarray(header["delta"], float)[:3]
    else:
        field, sizes = "pixdim", np.asarray(header["pixdim"], float)[1:4]
    bad = [axis for axis, size in enumerate(sizes) if not (np.isfinite(size) and size > 0)]
    if not bad:
        return ()
    shown = ", ".join(f"{field}[{axis + 1}] = {sizes[axis]:g}" for axis in bad)
    if source_format != "mgh" and int(header["sform_code"]) > 0:
        return (f"The header's voxel sizes are invalid ({shown}); the sform gives the "
                "geometry and is used.",)
    what = ("zero" if all(sizes[a] == 0 for a in bad) else "negative"
            if all(sizes[a] < 0 for a in bad) else "invalid")
    raise InputImageError(name, f"has {what} voxel sizes in its header ({shown}), so its "
                          "geometry and volumes in mL are unknown.",
                          "Fix them in the header (e.g. re-export with dcm2niix); MeshSeg "
                          "does not guess 1 mm.")


def _check_transforms(header, source_format: str, name: str) -> tuple[str, ...]:
    """Refuse a damaged sform, qform or MGH direction cosines that the affine is built from.

    Runs on the repaired header (invalid codes are 0 by then). nibabel would fail on
    these with a raw ValueError (a quaternion that is not a rotation) or give NaN.
    A damaged qform beside a valid sform (which nibabel uses) is only a notice: its
    code is set to 0 and its fields are cleared, so nothing later reads it.
    """
    if source_format == "mgh":
        _check_mgh_directions(header, name)
        return ()
    sform_code = int(header["sform_code"])
    if sform_code > 0:
        srow = np.array([header[f"srow_{axis}"] for axis in "xyz"], float)
        if not np.all(np.isfinite(srow)):
            raise InputImageError(name, "has NaN or infinite values in its header's sform "
                                  f"(srow_x/y/z = {_numbers(srow)}); the file is damaged.",
                                  _REEXPORT)
    if int(header["qform_code"]) == 0:
        return ()
    problem = _qform_problem(header)
    if problem is None:
        return ()
    if sform_code > 0:
        header["qform_code"] = 0
        for field in _QUATERN + _QOFFSET:
            header[field] = 0
        return (f"The header's qform is damaged ({problem}): it is ignored and the sform "
                "gives the geometry.",)
    raise InputImageError(name, f"has a damaged qform in its header: {problem}; the file is "
                          "damaged or not a NIfTI file.", _REEXPORT)


_QUATERN = ("quatern_b", "quatern_c", "quatern_d")
_QOFFSET = ("qoffset_x", "qoffset_y", "qoffset_z")
_MAX_WORLD_MM = 1e5  # no scanner puts a voxel 100 m from its origin
_MAX_FOV_MM = 1e4  # no scan is 10 m across
_MIN_VOXEL_MM = 1e-6  # the smallest singular value _check_geometry accepts


def _numbers(values) -> str:
    return "(" + ", ".join(f"{v:.4g}" for v in np.ravel(values)) + ")"


def _qform_problem(header) -> str | None:
    """What makes the header's qform unusable (quaternion, offsets, voxel sizes), or None."""
    bcd = np.array([header[field] for field in _QUATERN], float)
    shown = f"the quaternion quatern_b/c/d = {_numbers(bcd)}"
    if not np.all(np.isfinite(bcd)):
        return f"{shown} is not finite"
    try:
        header.get_qform_quaternion()
    except ValueError:  # nibabel: "w2 should be positive" (b^2 + c^2 + d^2 > 1)
        norm2 = sum(float(v) * float(v) for v in bcd)  # inf, not a numpy overflow warning
        return f"{shown} is not a rotation (b^2 + c^2 + d^2 = {norm2:.7g}, more than 1)"
    offsets = np.array([header[field] for field in _QOFFSET], float)
    if not np.all(np.isfinite(offsets)) or np.abs(offsets).max() > _MAX_WORLD_MM:
        return f"qoffset_x/y/z = {_numbers(offsets)} is not a position in the scanner"
    zooms = np.asarray(header["pixdim"], float)[1:4]
    if not np.all(np.isfinite(zooms) & (zooms >= _MIN_VOXEL_MM) & (zooms <= _MAX_FOV_MM)):
        return f"pixdim[1..3] = {_numbers(zooms)} are not voxel sizes"
    return None


def _check_mgh_directions(header, name: str) -> None:
    """Refuse MGH direction cosines (Mdc) that are not unit, perpendicular axes, or a
    non-finite centre (Pxyz_c): the affine and the voxel sizes would not match ``delta``."""
    mdc = np.asarray(header["Mdc"], float)
    centre = np.asarray(header["Pxyz_c"], float)
    if not (np.all(np.isfinite(mdc)) and np.all(np.isfinite(centre))):
        raise InputImageError(name, "has NaN or infinite direction cosines or centre (Mdc, "
                              "Pxyz_c) in its MGH header; the file is damaged.", _REEXPORT)
    if np.abs(mdc @ mdc.T - np.eye(3)).max() > 1e-3:
        raise InputImageError(name, "has direction cosines (Mdc) in its MGH header that are "
                              "not unit-length, perpendicular axes; the file is damaged.",
                              _REEXPORT)


def _units(header) -> tuple[str, str]:
    """The header's (space, time) units, ``"unknown"`` for codes NIfTI does not define."""
    code = int(header["xyzt_units"])
    labels = nib.nifti1.unit_codes.label
    space, time = code % 8, code - code % 8
    return labels.get(space, "unknown"), labels.get(time, "unknown")


def _units_notices(header, source_format: str) -> tuple[str, ...]:
    """A notice when ``xyzt_units`` holds codes NIfTI does not define."""
    if source_format == "mgh":
        return ()
    code = int(header["xyzt_units"])
    labels = nib.nifti1.unit_codes.label
    if code % 8 in labels and code - code % 8 in labels:
        return ()
    return (f"The header's xyzt_units ({code}) is not a valid units code: it is ignored and "
            "the voxel sizes are read as mm.",)


def _affine(header, source_format: str) -> np.ndarray:
    """The voxel-to-world affine nibabel would give the image."""
    return header.get_affine() if source_format == "mgh" else header.get_best_affine()


def _check_geometry(shape: tuple[int, int, int], affine: np.ndarray, min_extent: int,
                    min_fov_mm: float, name: str) -> None:
    """Refuse an unusable affine, and a volume too small or too thin to be a head."""
    if not np.all(np.isfinite(affine)):
        raise InputImageError(name, "has a voxel-to-world transform with NaN or infinite values.",
                              "Fix the header's qform/sform (e.g. re-export the scan).")
    if np.linalg.svd(affine[:3, :3], compute_uv=False).min() <= _MIN_VOXEL_MM:
        raise InputImageError(name, "has a singular voxel-to-world transform (a zero voxel size "
                              "or collapsed axes).", "Fix the header's qform/sform or pixdim.")
    corners = np.array(list(itertools.product(*[(0, n - 1) for n in shape] + [(1,)]))).T
    reach = float(np.abs(affine[:3] @ corners).max())
    if reach > _MAX_WORLD_MM:
        raise InputImageError(name, f"has a voxel-to-world transform that puts voxels "
                              f"{reach / 1000:.3g} m from the scanner's origin; the header is "
                              "damaged.", "Fix the header's qform/sform (e.g. re-export the scan).")
    zooms = nib.affines.voxel_sizes(affine)
    grid = f"shape {' x '.join(map(str, shape))} at {' x '.join(f'{z:.3g}' for z in zooms)} mm"
    need = (f"MeshSeg needs a 3D head scan with at least {min_extent} voxels and "
            f"{min_fov_mm:g} mm along each axis, such as a T1-weighted MRI.")
    thin = [axis for axis, n in enumerate(shape) if n < min_extent]
    if thin:
        raise InputImageError(name, f"is too small to be a head scan: {shape[thin[0]]} voxels "
                              f"along axis {thin[0] + 1} ({grid}).", need)
    fov = np.asarray(shape) * zooms
    if fov.max() > _MAX_FOV_MM:
        raise InputImageError(name, f"covers {fov.max() / 1000:.3g} m along axis "
                              f"{int(fov.argmax()) + 1}, more than any scan: its voxel sizes "
                              f"are wrong ({grid}).", "Fix the header's qform/sform or pixdim.")
    if np.count_nonzero(fov < min_fov_mm) >= 2:
        covered = " x ".join(f"{f:.0f}" for f in fov)
        raise InputImageError(name, f"covers only {covered} mm, too small to be a head scan "
                              f"({grid}).", need)


def _volume_notices(layout: _Layout) -> tuple[str, ...]:
    """A notice when only the first volume of a 4D file is used."""
    if layout.volumes == 1:
        return ()
    return (f"4D: using the first of {layout.volumes} volumes.",)


def _orientation_notices(header, source_format: str, shape: tuple[int, int, int],
                         head: bytes) -> tuple:
    """Notices about a missing orientation, or a qform and sform that disagree."""
    if source_format == "mgh":
        if int.from_bytes(head[28:30], "big", signed=True):  # goodRASFlag (nibabel resets it)
            return ()
        codes = "".join(nib.aff2axcodes(header.get_affine()))
        return ("The MGH header has no valid orientation (goodRASFlag is 0): assuming "
                f"nibabel's default {codes} axes and 1 mm voxels.",)
    qform_code, sform_code = int(header["qform_code"]), int(header["sform_code"])
    if qform_code == 0 and sform_code == 0:
        codes = "".join(nib.aff2axcodes(header.get_best_affine()))
        return ("The header has no orientation (qform and sform codes are 0): assuming "
                f"{codes} axes, so left and right may be swapped.",)
    if qform_code == 0 or sform_code == 0:
        return ()
    corners = np.array(list(itertools.product(*[(0, n - 1) for n in shape] + [(1,)]))).T
    gap = np.linalg.norm((header.get_qform() - header.get_sform()) @ corners, axis=0).max()
    if gap <= 1e-3:
        return ()
    return (f"The header's qform and sform disagree by up to {gap:.3g} mm: using the sform, "
            "as nibabel does.",)


def _read_volume(raw: memoryview, compressed: bool, layout: _Layout,
                 name: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """The first 3D volume as a writable, native-endian array in Fortran order, with notices.

    The file's size is checked against the header (every volume, not only the first)
    before the voxels are copied.
    """
    count = layout.shape[0] * layout.shape[1] * layout.shape[2]
    end = layout.offset + count * layout.dtype.itemsize
    whole = layout.offset + layout.volumes * count * layout.dtype.itemsize  # every volume
    if compressed:
        buffer, total = _inflate(raw, end, name, drain=True)
    else:
        buffer, total = raw[:end], len(raw)
    notices = ()
    if layout.offset_was_zero:
        if whole - layout.offset <= total != whole:  # (too short: "truncated" below)
            raise InputImageError(
                name, f"has vox_offset = 0 in its header, which is invalid in a single .nii "
                f"file, and its size ({total:,} bytes) does not tell where the voxels start "
                f"(expected {whole:,} with the voxels at byte {layout.offset}).", _REEXPORT)
        notices = (f"The header's vox_offset is 0 (invalid in a .nii file): reading the voxels "
                   f"from byte {layout.offset}, right after the header, as the file size "
                   "matches.",)
    if len(buffer) < end or total < whole:
        raise InputImageError(name, f"is truncated: the header describes {whole:,} bytes but the "
                              f"file holds {total:,}.", _REFETCH)
    flat = np.frombuffer(buffer, layout.dtype, count, layout.offset)
    native = layout.dtype.newbyteorder("=")
    if not compressed:
        return flat.astype(native).reshape(layout.shape, order="F"), notices
    if not layout.dtype.isnative:
        flat = flat.byteswap(inplace=True).view(native)
    return flat.reshape(layout.shape, order="F"), notices


def _check_scaling(data: np.ndarray, layout: _Layout, name: str) -> None:
    """Refuse scl_slope/scl_inter that leave too few float32 steps across the intensities."""
    if (layout.slope == 1 and layout.inter == 0) or data.size == 0:
        return
    if not (np.isfinite(layout.slope) and np.isfinite(layout.inter)):
        raise InputImageError(name, f"has non-finite intensity scaling (scl_slope = "
                              f"{layout.slope:g}, scl_inter = {layout.inter:g}).", _FIX_SCALING)
    low, high = float(np.nanmin(data)), float(np.nanmax(data))
    span = abs(layout.slope) * (high - low)
    largest = max(abs(layout.slope * low + layout.inter), abs(layout.slope * high + layout.inter))
    step = float(np.spacing(np.float32(min(largest, 3e38))))
    if span > 0 and span < _MIN_CONTRAST_STEPS * step:
        raise InputImageError(
            name, f"has intensity scaling scl_slope = {layout.slope:g}, scl_inter = "
            f"{layout.inter:g} that wipes out its contrast: the scaled values span {span:.3g} "
            f"but are about {largest:.3g}, where float32 steps are {step:.3g}.", _FIX_SCALING)


def _apply_scaling(data: np.ndarray, layout: _Layout) -> np.ndarray:
    """Apply NIfTI scl_slope/scl_inter; scaled integers become float32."""
    if layout.slope == 1 and layout.inter == 0:
        return data
    scaled = data.astype(data.dtype if data.dtype.kind == "f" else np.float32, order="F")
    scaled *= scaled.dtype.type(layout.slope)
    scaled += scaled.dtype.type(layout.inter)
    return scaled


def _check_values(data: np.ndarray, name: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """Refuse infinite, mostly-NaN or constant data; fill a few NaN with 0 (with a notice)."""
    notices = ()
    if data.dtype.kind == "f":
        bad = ~np.isfinite(data)
        n_bad = int(np.count_nonzero(bad))
        n_nan = int(np.count_nonzero(np.isnan(data[bad]))) if n_bad else 0
        if n_bad > n_nan:
            raise InputImageError(name, f"has {n_bad - n_nan:,} infinite voxel values.",
                                  "Replace them (e.g. with 0) and save the scan again.")
        if n_nan >= 0.01 * data.size:
            raise InputImageError(name, f"has {n_nan:,} NaN (not-a-number) voxels, "
                                  f"{100 * n_nan / data.size:.1f}% of the image.",
                                  "Re-export the scan with NaN replaced by 0.")
        if n_nan:
            data[bad] = 0
            notices = (f"Replaced {n_nan:,} NaN voxels ({100 * n_nan / data.size:.2g}% of the "
                       "image) with 0.",)
    low, high = data.min(), data.max()
    if low == high:
        raise InputImageError(name, f"is blank: every voxel has the value {low:g}.",
                              "Check that this is the right file; a blank volume cannot be "
                              "segmented.")
    return data, notices


def _to_nifti1(data: np.ndarray, affine: np.ndarray, header, source_format: str):
    """A Nifti1Image with the given affine; NIfTI-1 headers are kept, others converted."""
    if source_format == "nifti1":
        native = "<" if np.little_endian else ">"
        own = header if header.endianness == native else header.as_byteswapped(native)
        image = nib.Nifti1Image(data, affine, own)
        image.set_data_dtype(data.dtype)
        zooms = np.asarray(image.header.get_zooms()[:3], float)
        if not np.all(np.isfinite(zooms) & (zooms > 0)):  # pixdim ignored for the sform
            image.header.set_zooms(tuple(nib.affines.voxel_sizes(affine)))
        image.header.set_xyzt_units(*_units(header))
        return image
    image = nib.Nifti1Image(data, affine)
    if source_format == "mgh":
        image.set_qform(affine, code="scanner")
        image.set_sform(affine, code="scanner")
        image.header.set_xyzt_units("mm")
        return image
    qform_code, sform_code = int(header["qform_code"]), int(header["sform_code"])
    image.set_qform(header.get_qform() if qform_code else affine, code=qform_code)
    image.set_sform(header.get_sform() if sform_code else affine, code=sform_code)
    image.header.set_xyzt_units(*_units(header))
    return image
