"""NRRD reader (``.nrrd`` with attached data, ``.nhdr`` + detached data file).

Pure Python (pynrrd, numpy), so it runs unchanged in Pyodide. The NRRD geometry
(``space``, ``space directions``, ``space origin``) becomes a RAS affine; the image
is handed to ``load_scan`` as NIfTI bytes for the usual validation.
"""

from __future__ import annotations

import io
import os

import nibabel as nib
import numpy as np

from meshseg.errors import InputImageError

_MAGIC = b"NRRD000"
_REEXPORT = "Re-export it from the software that made it (e.g. 3D Slicer: Save as .nrrd)."
# NRRD world spaces and the sign flips that take them to RAS.
_TO_RAS = {
    "right-anterior-superior": (1, 1, 1), "ras": (1, 1, 1),
    "left-anterior-superior": (-1, 1, 1), "las": (-1, 1, 1),
    "left-posterior-superior": (-1, -1, 1), "lps": (-1, -1, 1),
    "scanner-xyz": (1, 1, 1), "3d-right-handed": (1, 1, 1),
}


def claims(head: bytes, name: str) -> bool:
    """True for NRRD content (magic ``NRRD000x``); the content decides, not the name."""
    return head.startswith(_MAGIC)


def convert(raw: memoryview, name: str, path: str | None, max_voxels: int):
    """The NRRD scan as NIfTI-1 bytes (RAS affine) with notices.

    Raises
    ------
    InputImageError
        For a damaged header or data, a missing detached data file, a volume
        above `max_voxels` or a layout that is not one 3D (or 4D) volume.
    """
    import nrrd  # pynrrd: pure Python

    from meshseg.readers import Converted

    handle = io.BytesIO(raw)
    try:
        header = nrrd.read_header(handle)
    except (nrrd.NRRDError, ValueError, UnicodeDecodeError) as err:
        raise InputImageError(name, f"has an invalid NRRD header ({err}).", _REEXPORT) from err
    missing = [key for key in ("type", "dimension", "sizes", "encoding") if key not in header]
    if missing:
        raise InputImageError(name, f"has an invalid NRRD header (no {', '.join(missing)} "
                              "field).", _REEXPORT)
    detached = header.get("datafile", header.get("data file"))
    if detached is not None and path is None:
        raise InputImageError(name, f"is a detached NRRD header; its voxels are in "
                              f"{os.path.basename(str(detached))}, which was not given.",
                              "Load the .nhdr file together with its data file, or save the "
                              "scan as a single .nrrd file.")
    sizes = [int(s) for s in header["sizes"]]
    spatial = _spatial_axes(header, name)
    voxels = int(np.prod([sizes[a] for a in spatial]))
    if voxels > max_voxels:
        shown = " x ".join(str(sizes[a]) for a in spatial)
        raise InputImageError(name, f"is too large: {shown} voxels ({voxels / 1e6:.1f} million; "
                              f"the limit is {max_voxels / 1e6:.1f} million).",
                              "Resample it to about 1 mm voxels and load that.")
    try:
        data = nrrd.read_data(header, handle, filename=path, index_order="F")
    except FileNotFoundError as err:
        raise InputImageError(name, f"is a detached NRRD header whose data file "
                              f"{os.path.basename(str(detached))} is missing.",
                              "Put the data file beside the .nhdr file.") from err
    except (nrrd.NRRDError, ValueError, OSError, EOFError) as err:
        raise InputImageError(name, f"has unreadable NRRD data ({err}).",
                              "The file was probably cut short: get it again.") from err
    data, notices = _first_volume(data, header, spatial)
    affine, more = _affine(header, spatial)
    image = nib.Nifti1Image(np.asarray(data), affine)
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    return Converted(image.to_bytes(), tuple(notices + more), "nrrd")


def data_files(path) -> list[str]:
    """Absolute paths of the detached data file(s) a ``.nhdr`` names (empty otherwise)."""
    path = os.fspath(path)
    if not path.lower().endswith(".nhdr"):
        return []
    import nrrd

    try:
        with open(path, "rb") as handle:
            header = nrrd.read_header(handle)
    except (OSError, nrrd.NRRDError, ValueError, UnicodeDecodeError):
        return []
    detached = header.get("datafile", header.get("data file"))
    if detached is None:
        return []
    names = detached if isinstance(detached, list) else [str(detached)]
    folder = os.path.dirname(os.path.abspath(path))
    return [os.path.normpath(os.path.join(folder, str(n))) for n in names]


def _spatial_axes(header: dict, name: str) -> list[int]:
    """Indices of the three spatial axes (by ``kinds``, else the first three)."""
    dimension = int(header["dimension"])
    kinds = [str(k).lower() for k in header.get("kinds", [])]
    if kinds and len(kinds) == dimension:
        spatial = [axis for axis, kind in enumerate(kinds) if kind in ("domain", "space")]
    else:
        spatial = list(range(min(dimension, 3)))
    if len(spatial) != 3 or dimension > 4:
        shown = " x ".join(str(int(s)) for s in header["sizes"])
        raise InputImageError(name, f"is not a 3D volume (NRRD dimension {dimension}, "
                              f"sizes {shown}).",
                              "MeshSeg needs a 3D head scan, such as a T1-weighted MRI.")
    return spatial


def _first_volume(data: np.ndarray, header: dict, spatial: list[int]):
    """The 3D volume: a fourth (list/vector/time) axis keeps its first entry, with a notice."""
    if data.ndim == 3:
        return data, []
    other = next(axis for axis in range(data.ndim) if axis not in spatial)
    count = data.shape[other]
    data = np.take(data, 0, axis=other)
    if count == 1:
        return data, []
    kind = str(header.get("kinds", ["list"] * data.ndim)[other]).lower()
    return data, [f"NRRD with {count} values per voxel (axis kind '{kind}'): "
                  "using the first."]


def _affine(header: dict, spatial: list[int]) -> tuple[np.ndarray, list[str]]:
    """The RAS voxel-to-world affine of the spatial axes, with a notice when guessed."""
    affine = np.eye(4)
    directions = header.get("space directions")
    space = str(header.get("space", "")).lower()
    if directions is not None and space in _TO_RAS:
        rows = np.asarray(directions, dtype=np.float64)
        columns = rows[spatial] if len(rows) > 3 else rows  # pynrrd: NaN rows off-space
        flips = np.asarray(_TO_RAS[space], dtype=np.float64)
        affine[:3, :3] = (columns[:, :3] * flips).T
        origin = np.asarray(header.get("space origin", np.zeros(3)), dtype=np.float64)
        affine[:3, 3] = origin[:3] * flips
        if np.all(np.isfinite(affine)):
            return affine, []
    spacings = header.get("spacings")
    zooms = [1.0, 1.0, 1.0]
    if spacings is not None:
        values = [float(spacings[a]) for a in spatial]
        zooms = [v if np.isfinite(v) and v > 0 else 1.0 for v in values]
    affine = np.diag(zooms + [1.0])
    return affine, ["The NRRD header has no usable orientation ('space' and 'space directions'): "
                    "assuming RAS axes, so left and right may be swapped."]
