"""Readers for scan formats beyond NIfTI and MGH, one module per format.

Each reader turns its format into a NIfTI-1 image in RAS world coordinates plus
notices; :func:`meshseg.loading.load_scan` then validates that image exactly as it
validates a NIfTI file, so every format yields the same checked ``Scan``.

- ``nrrd``  (``.nrrd``, ``.nhdr`` + data file): pure Python (pynrrd), CPython and Pyodide.
- ``dicom`` (series of files or enhanced multi-frame files): CPython only, extra
  ``meshseg[dicom]``; pydicom is imported lazily, so nothing here needs it in Pyodide.
  A DICOM series is several files, so it is read by :func:`meshseg.readers.dicom.read_series`
  (the batch command groups files into series), not through ``load_scan``.
"""

from __future__ import annotations

import os
from typing import NamedTuple


class Converted(NamedTuple):
    """A scan read by a format reader: NIfTI-1 bytes, notices and the source format."""

    nifti: bytes
    notices: tuple[str, ...]
    source_format: str


def convert_other(raw: memoryview, name: str, path: str | None,
                  max_voxels: int) -> Converted | None:
    """The scan as NIfTI bytes when a registered reader claims its content, else None.

    Parameters
    ----------
    raw : memoryview
        The file's content.
    name : str
        The file's name as the user knows it (its extension may decide, e.g. ``.nhdr``).
    path : str or None
        Where the file lies (None for bytes): readers whose data live in a second
        file (a detached NRRD header) find it beside this path.
    max_voxels : int
        Largest volume accepted, checked on the header before any data is read.
    """
    from meshseg.readers import nrrd

    for reader in (nrrd,):
        if reader.claims(bytes(raw[:16]), name):
            return reader.convert(raw, name, path, max_voxels)
    return None


def companion_files(path: str | os.PathLike) -> list[str]:
    """Data files that belong to `path` (e.g. the .raw of a .nhdr), as absolute paths."""
    from meshseg.readers import nrrd

    return nrrd.data_files(path)
