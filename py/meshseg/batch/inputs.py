"""Expand command-line inputs into named batch items.

An input is a file, a folder (searched recursively) or a ZIP archive (extracted into
a work folder, then searched like a folder). DICOM files, wherever they were found,
are grouped into series by SeriesInstanceUID: one item per series, named after its
description and number. Every other file is one item, named after the file.
The data files of detached NRRD headers (``.nhdr``) belong to their header's item.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from meshseg.readers import companion_files
from meshseg.readers.dicom import group_series, is_dicom

_SKIP_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini", "DICOMDIR"}
_SKIP_DIRS = {"__MACOSX", ".git"}
_EXTENSIONS = (".nii.gz", ".nii", ".mgz", ".mgh", ".nrrd", ".nhdr", ".dcm", ".gz", ".zip")


class UsageError(ValueError):
    """An input that does not exist (the command line is wrong, not an item)."""


@dataclass(frozen=True)
class Item:
    """One scan to segment.

    Attributes
    ----------
    name : str
        Unique name in the batch, used for output files (``<name>_<model>_labels.nii.gz``).
    kind : str
        ``"file"`` (NIfTI, MGH, NRRD, or anything load_scan will name as unreadable),
        ``"dicom"`` (a series) or ``"error"`` (failed while expanding).
    paths : tuple of str
        The file(s) to read.
    sha256 : str
        sha256 of the input (for a DICOM series: of its files' sha256s, sorted).
    error : str
        For kind ``"error"``: the message.
    input : str
        What the user gave, shown in the manifest (a file name, never a DICOM field
        other than the series description and number).
    """

    name: str
    kind: str
    paths: tuple[str, ...]
    sha256: str
    error: str = ""
    input: str = ""
    files: int = field(default=1)


def expand(inputs, workdir) -> list[Item]:
    """The items of `inputs` (paths), in a deterministic order.

    Parameters
    ----------
    inputs : list of path
        Files, folders and ZIP archives.
    workdir : path
        Where ZIP archives are extracted (removed by the caller afterwards).

    Raises
    ------
    UsageError
        When an input does not exist.
    """
    files: list[tuple[str, str]] = []  # (path, name shown)
    errors: list[Item] = []
    for given in inputs:
        path = Path(given)
        if not path.exists():
            raise UsageError(f"{given}: no such file or folder")
        if path.is_dir():
            files += _walk(path, path.name)
        elif _is_zip(path):
            target = Path(workdir) / f"{_stem(path.name)}-{_sha256_file(path)[:12]}"
            try:
                _extract(path, target)
            except (zipfile.BadZipFile, OSError, ValueError) as err:
                errors.append(_error_item(path.name, str(path), f"{path.name}: is a damaged ZIP "
                                          f"archive ({err}). Get the archive again."))
                continue
            files += _walk(target, path.name)
        else:
            files.append((str(path), path.name))
    return _items(files) + errors


def bids_items(dataset) -> tuple[list[Item], dict]:
    """The items of a BIDS dataset's T1w images, and item name -> its image.

    Parameters
    ----------
    dataset : meshseg.export.bids.layout.Dataset

    Each item is named after its image's file (``sub-01_ses-1_T1w``: unique in a BIDS
    dataset) and shown as ``<dataset folder>/<path in the dataset>``; an image whose name
    breaks the BIDS rules is an error item with its message.
    """
    items, images, used = [], {}, set()
    for image in dataset.images:
        name = _unique(image.stem, used)
        shown = f"{dataset.name}/{image.relpath}"
        if image.error:
            items.append(_error_item(name, shown, image.error, sha=_sha256_file(image.path)))
        else:
            items.append(Item(name, "file", (str(image.path),), _sha256_file(image.path),
                              input=shown))
        images[name] = image
    return items, images


def _items(files: list[tuple[str, str]]) -> list[Item]:
    companions = {os.path.abspath(c) for path, _ in files for c in companion_files(path)}
    singles, dicoms = [], []
    for path, shown in files:
        if os.path.abspath(path) in companions:
            continue
        (dicoms if _head_is_dicom(path) else singles).append((path, shown))
    items = []
    used: set[str] = set()
    for path, shown in singles:
        parts = [path] + [c for c in companion_files(path) if os.path.isfile(c)]
        items.append(Item(_unique(_stem(os.path.basename(path)), used), "file", tuple(parts),
                          _sha256_many(parts), input=shown))
    if dicoms:
        items += _dicom_items(dicoms, used)
    return items


def _dicom_items(dicoms: list[tuple[str, str]], used: set[str]) -> list[Item]:
    shown_of = dict(dicoms)
    try:
        series, failures = group_series([path for path, _ in dicoms])
    except Exception as err:  # noqa: BLE001 - pydicom missing: one named error
        return [_error_item(_unique("dicom", used), f"{len(dicoms)} DICOM files", str(err),
                            files=len(dicoms))]
    items = []
    for one in series:
        name = _unique(one.name, used)
        items.append(Item(name, "dicom", tuple(one.paths), _sha256_many(sorted(one.paths)),
                          input=f"DICOM series {name} ({len(one.paths)} files)",
                          files=len(one.paths)))
    for path, message in failures:
        shown = shown_of[path]
        items.append(_error_item(_unique(_stem(os.path.basename(path)), used), shown,
                                 f"{os.path.basename(path)}: {message}", sha=_sha256_file(path)))
    return items


def _error_item(name: str, shown: str, message: str, sha: str = "", files: int = 1) -> Item:
    return Item(name, "error", (), sha, error=message, input=shown, files=files)


def _walk(folder: Path, shown_root: str) -> list[tuple[str, str]]:
    found = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
        for name in sorted(names):
            if name in _SKIP_NAMES or name.startswith("."):
                continue
            path = os.path.join(root, name)
            shown = os.path.join(shown_root, os.path.relpath(path, folder))
            found.append((path, shown))
    return found


def _is_zip(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(4) == b"PK\x03\x04"


def _extract(archive: Path, target: Path) -> None:
    """Extract, refusing members that would land outside `target` (zip slip)."""
    root = target.resolve()
    with zipfile.ZipFile(archive) as zipped:
        for member in zipped.infolist():
            destination = (root / member.filename).resolve()
            if root != destination and root not in destination.parents:
                raise ValueError(f"member {member.filename!r} points outside the archive")
        zipped.extractall(root)


def _head_is_dicom(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            return is_dicom(handle.read(132))
    except OSError:
        return False


def _stem(name: str) -> str:
    lower = name.lower()
    for ext in _EXTENSIONS:
        if lower.endswith(ext) and len(name) > len(ext):
            return name[: -len(ext)]
    return name


def _unique(name: str, used: set[str]) -> str:
    candidate, number = name, 2
    while candidate in used:
        candidate, number = f"{name}-{number}", number + 1
    used.add(candidate)
    return candidate


def _sha256_file(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _sha256_many(paths) -> str:
    if len(paths) == 1:
        return _sha256_file(paths[0])
    digest = hashlib.sha256()
    for path in paths:
        digest.update(_sha256_file(path).encode())
    return digest.hexdigest()
