"""DICOM reader: series of classic single-frame files and enhanced multi-frame files.

CPython only (extra ``meshseg[dicom]``): pydicom is imported inside the functions,
never at module level. Pixel data are decoded by pydicom's own decoders (uncompressed,
RLE Lossless) and pylibjpeg plug-ins (``pylibjpeg-libjpeg``: JPEG lossless and
JPEG-LS, also JPEG baseline; ``pylibjpeg-openjpeg``: JPEG 2000).

The geometry is computed here, not taken from a converter: frames are ordered by
their ``ImagePositionPatient`` projected on the slice normal (the cross product of
the ``ImageOrientationPatient`` row and column directions), whatever their order in
the files or in an enhanced file's frame list; oblique orientations and gantry tilt
go into the affine; uneven slice spacing is reported and resampled to an even grid.

Nothing patient-identifying is read into the result: only geometry, pixel values,
rescale, ``SeriesDescription`` and ``SeriesNumber`` (the series' name).
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field

import nibabel as nib
import numpy as np

from meshseg.errors import InputImageError

INSTALL = "Install the DICOM support: pip install 'meshseg[dicom]'."
_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
_SAME_POSITION_MM = 0.01
_UNEVEN_FRACTION = 0.01


@dataclass
class Series:
    """DICOM files of one series (same SeriesInstanceUID)."""

    uid: str
    description: str
    number: str
    paths: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        """``<description>_<number>``, reduced to safe file-name characters."""
        return series_name(self.description, self.number)


def is_dicom(head: bytes) -> bool:
    """True for a DICOM Part 10 file (``DICM`` after the 128-byte preamble)."""
    return head[128:132] == b"DICM"


def series_name(description: str, number: str) -> str:
    """A file-name-safe series name from its description and number."""
    text = "_".join(part for part in (description.strip(), str(number).strip()) if part)
    text = re.sub(r"[^A-Za-z0-9.+-]+", "_", text).strip("._") or "series"
    return text[:80]


def group_series(paths) -> tuple[list[Series], list[tuple[str, str]]]:
    """Group DICOM files by SeriesInstanceUID (headers only; pixels are not read).

    Returns
    -------
    series : list of Series
        In the order their first file appears in `paths`; files keep their order.
    failures : list of (path, message)
        Files that are not readable DICOM images.
    """
    pydicom = _pydicom()
    groups: dict[str, Series] = {}
    failures = []
    for path in paths:
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        except Exception as err:  # noqa: BLE001 - pydicom raises many kinds
            failures.append((path, f"is not a readable DICOM file ({type(err).__name__})."))
            continue
        uid = str(ds.get("SeriesInstanceUID", "") or "")
        if "Rows" not in ds or "Columns" not in ds:
            failures.append((path, "is a DICOM file without an image (e.g. a report or a "
                             "presentation state)."))
            continue
        if not uid:
            uid = "no-uid:" + hashlib.sha256(os.fsencode(path)).hexdigest()
        if uid not in groups:
            groups[uid] = Series(uid, str(ds.get("SeriesDescription", "") or ""),
                                 str(ds.get("SeriesNumber", "") or ""))
        groups[uid].paths.append(path)
    return list(groups.values()), failures


def is_dicom_file(path) -> bool:
    """True for a readable file starting like a DICOM Part 10 file."""
    try:
        with open(path, "rb") as handle:
            return is_dicom(handle.read(132))
    except OSError:
        return False


def series_at(path) -> Series:
    """The one DICOM series that `path` names (for ``meshseg segment`` and the DICOM SEG).

    - a folder: the DICOM files in it and its sub-folders (hidden files and DICOMDIR
      skipped) must form exactly one series; several are a named error listing them;
    - a DICOM file: its series, i.e. the DICOM files beside it (the same folder, not
      sub-folders) with its SeriesInstanceUID; the others there are ignored.

    Files keep their sorted path order (slices are ordered by position when read).

    Raises
    ------
    InputImageError
        A folder without DICOM images, a folder of several series, a file that is not
        a DICOM image.
    """
    path = os.fspath(path)
    name = os.path.basename(os.path.normpath(path)) or path
    if os.path.isdir(path):
        found = []
        for root, dirs, names in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            found += [os.path.join(root, n) for n in sorted(names)
                      if not n.startswith(".") and n != "DICOMDIR"]
        series, _ = group_series([p for p in found if is_dicom_file(p)])
        if not series:
            raise InputImageError(name, "is a folder without DICOM images.",
                                  "Give a folder holding one DICOM series, one of its files, "
                                  "or a NIfTI/MGZ file.")
        if len(series) > 1:
            listed = ", ".join(f"{one.name} ({len(one.paths)} files)" for one in series)
            raise InputImageError(name, f"holds {len(series)} DICOM series: {listed}.",
                                  "Give the folder of one series, or one file of it (its "
                                  "series is read from the files beside it), or use "
                                  "`meshseg batch` for all of them.")
        return series[0]
    alone, _ = group_series([path]) if is_dicom_file(path) else ([], [])
    if not alone:
        raise InputImageError(name, "is not a DICOM image file.",
                              "Give a DICOM image file or a folder of one series.")
    mine = alone[0]
    folder = os.path.dirname(path) or "."
    beside = sorted(os.path.join(folder, n) for n in os.listdir(folder)
                    if not n.startswith(".") and n != "DICOMDIR")
    series, _ = group_series([p for p in beside if is_dicom_file(p)])
    same = next((one for one in series if one.uid == mine.uid), None)
    return same if same is not None and not mine.uid.startswith("no-uid:") else mine


@dataclass
class _Frame:
    position: np.ndarray          # ImagePositionPatient (LPS, mm)
    orientation: np.ndarray       # ImageOrientationPatient (6,)
    spacing: tuple[float, float]  # PixelSpacing (row spacing, column spacing)
    slope: float
    inter: float
    order: tuple                  # tie-break among frames at one position
    pixels: object                # callable -> 2D array (rows, columns)
    shape: tuple[int, int]
    thickness: float | None = None


def read_series(paths, name: str, *, max_voxels: int = 512**3 // 2):
    """Read a DICOM series (classic files and/or one enhanced file) as a validated Scan.

    Parameters
    ----------
    paths : list of path
        The series' files.
    name : str
        The name shown in messages and given to the scan (e.g. ``T1_MPRAGE_3``).
    max_voxels : int
        Largest volume accepted.

    Returns
    -------
    meshseg.loading.Scan
        RAS NIfTI image (sform and qform code 1), ``source_format`` ``"dicom"``,
        notices (uneven spacing, several images per position, tilt).

    Raises
    ------
    InputImageError
        With the series name: unreadable or undecodable files, missing geometry,
        mixed orientations or matrix sizes, or a volume that fails the usual checks.
    """
    frames = []
    for number, path in enumerate(paths, start=1):
        frames.extend(_frames(path, name, number, len(paths)))
    if not frames:
        raise InputImageError(name, "holds no DICOM image frames.", "Load the series' folder.")
    data, affine, notices = _volume(frames, name, max_voxels)
    image = nib.Nifti1Image(data, affine)
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    from meshseg.loading import load_scan

    scan = load_scan(image.to_bytes(), name, max_voxels=max_voxels)
    from dataclasses import replace

    return replace(scan, notices=tuple(notices) + scan.notices, source_format="dicom")


def _pydicom():
    try:
        import pydicom
    except ImportError as err:
        raise InputImageError("DICOM", "cannot be read: pydicom is not installed.",
                              INSTALL) from err
    return pydicom


def _frames(path, name: str, number: int, count: int) -> list[_Frame]:
    """The image frames of one file (one for classic, NumberOfFrames for enhanced)."""
    pydicom = _pydicom()
    where = f"file {number} of {count}"
    try:
        ds = pydicom.dcmread(path)
    except Exception as err:  # noqa: BLE001
        raise InputImageError(name, f"{where} is not a readable DICOM file "
                              f"({type(err).__name__}).", "Check that the series is complete.") \
            from err
    if "PixelData" not in ds and "FloatPixelData" not in ds:
        raise InputImageError(name, f"{where} has no pixel data.", "Load image series only.")
    if int(ds.get("SamplesPerPixel", 1)) != 1:
        raise InputImageError(name, f"{where} stores colour pixels, not grey-scale intensities.",
                              "Load the original grey-scale MRI series.")
    frames_in_file = int(ds.get("NumberOfFrames", 1) or 1)
    decode = _decoder(ds, name, where)
    if "PerFrameFunctionalGroupsSequence" in ds:
        return _enhanced_frames(ds, decode, name, where, frames_in_file)
    if frames_in_file > 1:
        raise InputImageError(name, f"{where} is a multi-frame image without per-frame "
                              "geometry (not an enhanced MR/CT image).",
                              "Export the series as classic single-frame DICOM or as NIfTI.")
    position = _floats(ds.get("ImagePositionPatient"), 3, name, where, "ImagePositionPatient")
    orientation = _floats(ds.get("ImageOrientationPatient"), 6, name, where,
                          "ImageOrientationPatient")
    spacing = _floats(ds.get("PixelSpacing"), 2, name, where, "PixelSpacing")
    order = (_int(ds.get("AcquisitionNumber")), _int(ds.get("InstanceNumber")), number)
    return [_Frame(position, orientation, (spacing[0], spacing[1]),
                   float(ds.get("RescaleSlope", 1) or 1), float(ds.get("RescaleIntercept", 0) or 0),
                   order, lambda: decode()[...], (int(ds.Rows), int(ds.Columns)),
                   _float(ds.get("SpacingBetweenSlices", ds.get("SliceThickness"))))]


def _enhanced_frames(ds, decode, name, where, count) -> list[_Frame]:
    """Frames of an enhanced multi-frame file, from its functional groups."""
    per_frame = ds.PerFrameFunctionalGroupsSequence
    if len(per_frame) != count:
        raise InputImageError(name, f"{where} lists {len(per_frame)} frame geometries for "
                              f"{count} frames.", "Re-export the series.")
    shared = ds.SharedFunctionalGroupsSequence[0] if "SharedFunctionalGroupsSequence" in ds \
        else None
    cache = {}

    def pixels(index):
        def get():
            if "all" not in cache:
                cache["all"] = decode().reshape(count, int(ds.Rows), int(ds.Columns))
            return cache["all"][index]
        return get

    frames = []
    for index, group in enumerate(per_frame):
        def find(sequence, keyword, group=group):
            for source in (group, shared):
                if source is not None and sequence in source and len(source[sequence].value):
                    item = source[sequence][0]
                    if keyword in item:
                        return item[keyword].value
            return None
        frame_where = f"{where}, frame {index + 1}"
        position = _floats(find("PlanePositionSequence", "ImagePositionPatient"), 3, name,
                           frame_where, "ImagePositionPatient")
        orientation = _floats(find("PlaneOrientationSequence", "ImageOrientationPatient"), 6,
                              name, frame_where, "ImageOrientationPatient")
        spacing = _floats(find("PixelMeasuresSequence", "PixelSpacing"), 2, name, frame_where,
                          "PixelSpacing")
        slope = find("PixelValueTransformationSequence", "RescaleSlope")
        inter = find("PixelValueTransformationSequence", "RescaleIntercept")
        order = (_int(find("FrameContentSequence", "StackID")),
                 _int(find("FrameContentSequence", "TemporalPositionIndex")),
                 _int(find("FrameContentSequence", "InStackPositionNumber")), index)
        thickness = _float(find("PixelMeasuresSequence", "SpacingBetweenSlices")
                           or find("PixelMeasuresSequence", "SliceThickness"))
        frames.append(_Frame(position, orientation, (spacing[0], spacing[1]),
                             float(slope if slope not in (None, "") else 1),
                             float(inter if inter not in (None, "") else 0), order,
                             pixels(index), (int(ds.Rows), int(ds.Columns)), thickness))
    return frames


def _decoder(ds, name: str, where: str):
    """A function returning the file's decoded pixels; decoding errors name the syntax."""
    def decode():
        try:
            return np.asarray(ds.pixel_array)
        except Exception as err:  # noqa: BLE001 - missing plug-ins raise RuntimeError
            syntax = getattr(ds.file_meta.get("TransferSyntaxUID"), "name", "unknown")
            hint = INSTALL if isinstance(err, (RuntimeError, ImportError, NotImplementedError)) \
                else "The file is probably damaged: export the series again."
            raise InputImageError(name, f"{where}: its pixel data ({syntax}) cannot be decoded "
                                  f"({err}).", hint) from err
    return decode


def _volume(frames: list[_Frame], name: str, max_voxels: int):
    """Stack frames into (columns, rows, slices) data and an RAS affine, with notices."""
    notices = []
    shapes = {frame.shape for frame in frames}
    if len(shapes) > 1:
        raise InputImageError(name, f"mixes images of different sizes ({len(shapes)} sizes).",
                              "Load one series at a time (e.g. not a localiser with the scan).")
    orientation = frames[0].orientation
    if any(np.abs(f.orientation - orientation).max() > 1e-4 for f in frames):
        raise InputImageError(name, "mixes slices with different orientations (e.g. a "
                              "three-plane localiser).", "Load a single volumetric series.")
    row, col = orientation[:3], orientation[3:]
    if min(np.linalg.norm(row), np.linalg.norm(col)) < 1e-3:
        raise InputImageError(name, "has a zero ImageOrientationPatient vector.",
                              "Re-export the series.")
    row, col = row / np.linalg.norm(row), col / np.linalg.norm(col)
    if abs(float(row @ col)) > 1e-3:
        raise InputImageError(name, "has non-perpendicular row and column directions.",
                              "Re-export the series.")
    normal = np.cross(row, col)
    rows, columns = frames[0].shape
    if rows * columns * len(frames) > 2 * max_voxels:
        raise InputImageError(name, f"is too large: {len(frames)} images of {rows} x {columns}.",
                              "Resample it to about 1 mm voxels and load that.")
    frames = sorted(frames, key=lambda f: (float(f.position @ normal), f.order))
    distance = np.array([float(f.position @ normal) for f in frames])
    frames, distance, note = _first_per_position(frames, distance, name)
    notices += note
    spacing = frames[0].spacing
    slope_inter = {(f.slope, f.inter) for f in frames}
    stack = np.stack([np.asarray(f.pixels()) for f in frames], axis=-1)   # (rows, cols, n)
    if slope_inter != {(1.0, 0.0)}:
        slopes = np.array([f.slope for f in frames], dtype=np.float64)
        inters = np.array([f.inter for f in frames], dtype=np.float64)
        stack = (stack * slopes + inters).astype(np.float32)
    data = np.ascontiguousarray(np.transpose(stack, (1, 0, 2)))         # (cols, rows, n)
    affine = np.eye(4)
    affine[:3, 0] = row * spacing[1]
    affine[:3, 1] = col * spacing[0]
    affine[:3, 3] = frames[0].position
    if len(frames) == 1:
        affine[:3, 2] = normal * (frames[0].thickness or 1.0)
    else:
        gaps = np.diff(distance)
        step = float(np.median(gaps))
        drift = (frames[-1].position - frames[0].position) / (distance[-1] - distance[0])
        affine[:3, 2] = drift * step
        in_plane = np.linalg.norm(drift - normal)
        if in_plane > 1e-3:
            angle = np.degrees(np.arctan(in_plane))
            notices.append(f"The slices are sheared by {angle:.1f} degrees (gantry tilt): "
                           "the label image keeps the sheared geometry.")
        if np.abs(gaps - step).max() > max(_SAME_POSITION_MM, _UNEVEN_FRACTION * step):
            data, count = _even(data, distance, step)
            notices.append(f"Uneven slice spacing ({gaps.min():.3g} to {gaps.max():.3g} mm "
                           f"between {len(frames)} slices): resampled to {count} slices "
                           f"{step:.3g} mm apart by linear interpolation; the label image is "
                           "on that even grid.")
    return data, _LPS_TO_RAS @ affine, notices


def _first_per_position(frames, distance, name):
    """Keep one frame per slice position when every position holds the same number."""
    groups = np.concatenate([[0], np.cumsum(np.diff(distance) > _SAME_POSITION_MM)])
    counts = np.bincount(groups)
    if counts.max() == 1:
        return frames, distance, []
    if counts.min() != counts.max():
        raise InputImageError(name, f"has {len(counts)} slice positions holding between "
                              f"{counts.min()} and {counts.max()} images each.",
                              "Export a single volume (one image per slice position).")
    keep = [int(min(np.flatnonzero(groups == g), key=lambda i: frames[i].order))
            for g in range(len(counts))]
    note = (f"{counts.max()} images at each of the {len(counts)} slice positions (several "
            "echoes, time points or volumes): using the first volume.")
    return [frames[i] for i in keep], distance[keep], [note]


def _even(data: np.ndarray, distance: np.ndarray, step: float):
    """Linear interpolation along the slice axis onto slices `step` apart from the first."""
    count = int(round((distance[-1] - distance[0]) / step)) + 1
    targets = distance[0] + step * np.arange(count)
    upper = np.clip(np.searchsorted(distance, targets, side="right"), 1, len(distance) - 1)
    lower = upper - 1
    weight = ((targets - distance[lower]) / (distance[upper] - distance[lower])).clip(0, 1)
    source = data.astype(np.float32)
    out = source[:, :, lower] * (1 - weight) + source[:, :, upper] * weight
    if data.dtype.kind in "iu":
        out = np.rint(out).astype(data.dtype)
    return np.ascontiguousarray(out, dtype=out.dtype), count


def _floats(value, count: int, name: str, where: str, keyword: str) -> np.ndarray:
    try:
        values = np.array([float(v) for v in value], dtype=np.float64)
    except (TypeError, ValueError):
        values = np.zeros(0)
    if values.size != count or not np.all(np.isfinite(values)):
        raise InputImageError(name, f"{where} has no valid {keyword}, so its place in space "
                              "is unknown.", "Export the series with its geometry (any scanner "
                              "export does), or as NIfTI.")
    return values


def _float(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) and number > 0 else None


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
