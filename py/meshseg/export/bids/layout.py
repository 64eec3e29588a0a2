"""Find the T1w images of a BIDS dataset and read their names.

A BIDS dataset is a folder with ``dataset_description.json`` at its root; its T1w images
are ``sub-<label>/[ses-<label>/]anat/sub-<label>[_ses-<label>][_<key>-<label>...]_T1w.nii[.gz]``.
Nothing else of the dataset is read (sidecars, other data types, ``derivatives/``,
``sourcedata/``). A T1w whose name breaks the rules (a key a T1w may not carry, a label
with other characters than letters and digits, a subject or session that is not its
folder's) is kept with a named error: it becomes a failed batch item, the others run.

The page does the same in ``site/js/batch/bids.js`` (the entity lists are
:data:`meshseg.constants.BIDS`).

Examples
--------
>>> parse_name("sub-01_ses-pre_acq-fast_run-2_T1w.nii.gz")
(('sub', '01'), ('ses', 'pre'), ('acq', 'fast'), ('run', '2'))
>>> check_image("sub-01/ses-pre/anat/sub-01_ses-pre_T1w.nii")
''
>>> check_image("sub-01/anat/sub-02_T1w.nii.gz")
'sub-01/anat/sub-02_T1w.nii.gz: its subject (sub-02) is not its folder sub-01.'
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from meshseg.constants import BIDS
from meshseg.export.registry import ExportError

DESCRIPTION = "dataset_description.json"
T1W_SUFFIX = "T1w"
EXTENSIONS = (".nii.gz", ".nii")
_LABEL = re.compile(r"^[0-9A-Za-z]+$")
_IMAGE = re.compile(r"^(sub-[^/]+)/(?:(ses-[^/]+)/)?anat/([^/]+_T1w\.nii(?:\.gz)?)$")


@dataclass(frozen=True)
class Image:
    """One T1w image of the dataset.

    Attributes
    ----------
    path : Path
        The file.
    relpath : str
        Its path inside the dataset, with ``/`` (``sub-01/anat/sub-01_T1w.nii.gz``).
    entities : tuple of (key, label)
        The entities of its name, in the name's order (``sub`` first); empty on error.
    error : str
        Why its name is not a BIDS T1w name ("" when it is).
    """

    path: Path
    relpath: str
    entities: tuple = ()
    error: str = ""

    @property
    def stem(self) -> str:
        """The file name without its extension (``sub-01_ses-1_T1w``)."""
        return image_stem(os.path.basename(self.relpath))


@dataclass(frozen=True)
class Dataset:
    """A BIDS dataset's root, its name, its dataset_description.json and T1w images."""

    root: Path
    name: str
    description: dict
    images: tuple


def image_stem(filename: str) -> str:
    """`filename` without ``.nii.gz`` or ``.nii``.

    >>> image_stem("sub-01_T1w.nii.gz"), image_stem("sub-01_T1w.nii")
    ('sub-01_T1w', 'sub-01_T1w')
    """
    for ext in EXTENSIONS:
        if filename.endswith(ext):
            return filename[: -len(ext)]
    return filename


def parse_name(filename: str) -> tuple:
    """The entities of a T1w file name, in its order; ExportError naming what is wrong.

    >>> parse_name("sub-01_foo-1_T1w.nii.gz")
    Traceback (most recent call last):
    ...
    meshseg.export.registry.ExportError: sub-01_foo-1_T1w.nii.gz: foo- is not an entity \
a T1w name may carry (sub, ses, task, acq, ce, rec, run, echo, part, chunk).
    """
    stem = image_stem(filename)
    parts = stem.split("_")
    if stem == filename or parts[-1] != T1W_SUFFIX:
        raise ExportError(f"{filename}: is not a T1w image (a name ending in _T1w.nii.gz "
                          "or _T1w.nii).")
    allowed = BIDS["t1w_entities"]
    entities = []
    for part in parts[:-1]:
        key, sep, label = part.partition("-")
        if not sep or not key:
            raise ExportError(f"{filename}: {part!r} is not a key-label pair such as acq-fast.")
        if key not in allowed:
            raise ExportError(f"{filename}: {key}- is not an entity a T1w name may carry "
                              f"({', '.join(allowed)}).")
        if not _LABEL.match(label):
            raise ExportError(f"{filename}: the label of {key}- ({label!r}) may hold only "
                              "letters and digits.")
        if any(key == seen for seen, _ in entities):
            raise ExportError(f"{filename}: {key}- is given twice.")
        entities.append((key, label))
    if not entities or entities[0][0] != "sub":
        raise ExportError(f"{filename}: a BIDS name starts with sub-<label>.")
    return tuple(entities)


def check_image(relpath: str) -> str:
    """"" when `relpath` is a BIDS T1w path whose name matches its folders, else why not."""
    match = _IMAGE.match(relpath)
    if not match:
        return (f"{relpath}: is not at sub-<label>/[ses-<label>/]anat/<name>_T1w.nii[.gz].")
    subject, session, filename = match.groups()
    try:
        entities = dict(parse_name(filename))
    except ExportError as err:
        return f"{os.path.dirname(relpath)}/{err}"
    if f"sub-{entities['sub']}" != subject:
        return f"{relpath}: its subject (sub-{entities['sub']}) is not its folder {subject}."
    named = f"ses-{entities['ses']}" if "ses" in entities else None
    if named != session:
        where = f"in the folder {session}" if session else "outside a ses- folder"
        return f"{relpath}: its session ({named or 'none'}) does not match: it is {where}."
    return ""


def find_images(root) -> tuple:
    """The T1w images under `root` (sorted by path), each checked (:func:`check_image`).

    Of two files with one name (``.nii`` and ``.nii.gz``) the second is an error.
    """
    root = Path(root)
    found = []
    for subject in sorted(p for p in root.glob("sub-*") if p.is_dir()):
        folders = [subject / "anat"] + sorted(s / "anat" for s in subject.glob("ses-*")
                                              if s.is_dir())
        for anat in folders:
            if not anat.is_dir():
                continue
            for path in sorted(anat.iterdir()):
                if path.is_file() and not path.name.startswith(".") and \
                        path.name.endswith(tuple(f"_{T1W_SUFFIX}{e}" for e in EXTENSIONS)):
                    found.append(path)
    images, stems = [], {}
    for path in found:
        relpath = path.relative_to(root).as_posix()
        error = check_image(relpath)
        stem = f"{os.path.dirname(relpath)}/{image_stem(path.name)}"
        if not error and stem in stems:
            error = (f"{relpath}: the dataset also has {stems[stem]}; a BIDS image is one "
                     "file.")
        entities = () if error else parse_name(path.name)
        stems.setdefault(stem, relpath)
        images.append(Image(path, relpath, entities, error))
    return tuple(images)


def read_dataset(root) -> Dataset:
    """The dataset at `root`; ExportError naming the folder when it is not a BIDS dataset
    (no dataset_description.json, one that is not a JSON object) or has no T1w image."""
    root = Path(root)
    name = root.resolve().name or str(root)
    if not root.is_dir():
        raise ExportError(f"{root}: is not a folder; --bids takes a BIDS dataset's root folder.")
    path = root / DESCRIPTION
    if not path.is_file():
        raise ExportError(f"{root}: is not a BIDS dataset: it has no {DESCRIPTION} (the file "
                          "every BIDS dataset has at its root). Give the dataset's root "
                          "folder, or run without --bids.")
    try:
        description = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ExportError(f"{root}/{DESCRIPTION}: is not valid JSON ({err}).") from None
    if not isinstance(description, dict):
        raise ExportError(f"{root}/{DESCRIPTION}: is not a JSON object.")
    images = find_images(root)
    if not images:
        raise ExportError(f"{root}: this BIDS dataset has no T1w image (no "
                          "sub-<label>/[ses-<label>/]anat/*_T1w.nii[.gz]).")
    return Dataset(root, name, description, images)
