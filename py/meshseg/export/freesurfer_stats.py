"""The volume table as FreeSurfer's ``aseg.stats`` (what ``mri_segstats`` writes), so that
FreeSurfer's tools and the scripts written for them (``asegstats2table``, the many
aseg.stats readers) take MeshSeg's volumes.

Layout (``docs/exports/stats.md``): ``#`` comment lines (title, program, version, date,
model, input; no user, host or machine), ``# Measure`` lines for the totals, the
``# TableCol`` description of the 5 columns, ``# NRows``, ``# NTableCols`` and
``# ColHeaders Index SegId NVoxels Volume_mm3 StructName``, then one row per class of
the model, in the volume table's order (a class with no voxels has 0). SegId and
StructName: :mod:`meshseg.export.freesurfer_lut`. ``Volume_mm3`` is the exact
``NVoxels x VoxelVolume_mm3`` (to 0.001 mm^3), so it agrees with the CSV's ``ml`` x 1000
to the CSV's rounding (0.5 mm^3).

Totals (``# Measure``; descriptions hold no comma, values in mm^3):

- ``TotalLabelled, TotalLabelledVol``: every non-background label, for every model.
- ``Mask, MaskVol`` (FreeSurfer's name for the brain mask's volume): the same sum, for
  a brain-mask model (card task ``skull strip`` or ``brain mask``).

Examples
--------
>>> from types import SimpleNamespace as Facts
>>> import numpy as np
>>> card = Facts(id="m", title="M", task="subcortical", onnx={})
>>> rows = [{"label": 1, "name": "Left-Hippocampus", "voxels": 3, "ml": 0.024}]
>>> outcome = Facts(affine=np.diag([2.0, 2.0, 2.0, 1.0]), rows=rows, card=card,
...                 name="t1.nii.gz", provenance={"date": "2026-01-02T03:04:05+00:00"})
>>> text = write(outcome, name="t1_m_aseg.stats").decode()
>>> text.splitlines()[-1]
'  1    17        3       24.000  Left-Hippocampus'
>>> parsed = read_stats(text)
>>> parsed["rows"][0]["SegId"], parsed["measures"]["TotalLabelledVol"]["value"]
(17, 24.0)
"""

from __future__ import annotations

import datetime as _dt

import numpy as np

from meshseg import __version__
from meshseg.constants import image_stem
from meshseg.export.freesurfer_lut import OWN_ID_BASE, seg_ids
from meshseg.export.registry import ExportError

COLUMNS = (("Index", "Index", "NA"), ("SegId", "Segmentation Id", "NA"),
           ("NVoxels", "Number of Voxels", "unitless"), ("Volume_mm3", "Volume", "mm^3"),
           ("StructName", "Structure Name", "NA"))
#: Card tasks whose labels together are a brain mask (their total is also MaskVol).
MASK_TASKS = ("skull strip", "brain mask")
_INTEGER_COLUMNS = ("Index", "SegId", "NVoxels")


def write(outcome, *, name: str = "", seg_file: str | None = None) -> bytes:
    """The aseg.stats text of `outcome` (UTF-8).

    Parameters
    ----------
    outcome : Outcome
        Its rows (label, name, voxels), its affine (the voxel volume) and its card.
    name : str
        The file's name (unused in the text).
    seg_file : str, optional
        The label image's file name, stated as ``# SegVolFile`` (the batch knows it).
    """
    voxel_mm3 = abs(float(np.linalg.det(np.asarray(outcome.affine, dtype=np.float64)[:3, :3])))
    rows = list(outcome.rows)
    ids = seg_ids([(row["label"], row["name"]) for row in rows])
    total = sum(int(row["voxels"]) for row in rows) * voxel_mm3
    lines = _header(outcome, seg_file) + _measures(outcome.card, total)
    lines += [f"# VoxelVolume_mm3 {voxel_mm3:.10g}"] + _table_columns(len(rows))
    for index, (row, (seg_id, struct)) in enumerate(zip(rows, ids, strict=True), start=1):
        voxels = int(row["voxels"])
        lines.append(f"{index:3d} {seg_id:5d} {voxels:8d} {voxels * voxel_mm3:12.3f}  {struct}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _header(outcome, seg_file) -> list[str]:
    prov = outcome.provenance or {}
    card = outcome.card
    commit = (prov.get("meshseg") or {}).get("commit") or ""
    lines = ["# Title Segmentation Statistics", "#", "# generating_program meshseg",
             f"# cvs_version meshseg {__version__}{f' (commit {commit[:12]})' if commit else ''}"]
    if prov.get("date"):
        lines.append(f"# CreationTime {_fs_time(prov['date'])}")
    sha = (card.onnx or {}).get("sha256", "")
    lines += [f"# model {_one_line(card.id)} ({_one_line(card.title or card.task or card.id)})"
              + (f" ONNX sha256 {sha}" if sha else ""),
              "# anatomy_type volume", "#",
              f"# subjectname {_one_line(image_stem(outcome.name) or 'unknown')}"]
    if outcome.name:
        lines.append(f"# InVolFile {_one_line(outcome.name)}")
    if seg_file:
        lines.append(f"# SegVolFile {_one_line(seg_file)}")
    lines.append(f"# ColorTable FreeSurferColorLUT.txt (FreeSurfer 7 codes); a label it has "
                 f"no name for: SegId {OWN_ID_BASE} + the model's label value")
    notice = prov.get("notice")
    if notice:
        lines.append(f"# Notice {_one_line(notice)}")
    return lines


def _measures(card, total_mm3: float) -> list[str]:
    lines = [_measure("TotalLabelled", "TotalLabelledVol",
                      "Total volume of all non-background labels", total_mm3)]
    if str(card.task).lower() in MASK_TASKS:
        lines.append(_measure("Mask", "MaskVol", "Mask Volume", total_mm3))
    return lines


def _measure(name: str, short: str, description: str, value: float) -> str:
    return f"# Measure {name}, {short}, {description}, {value:.6f}, mm^3"


def _table_columns(rows: int) -> list[str]:
    lines = []
    for number, (header, field, units) in enumerate(COLUMNS, start=1):
        lines += [f"# TableCol {number:2d} ColHeader {header}",
                  f"# TableCol {number:2d} FieldName {field}",
                  f"# TableCol {number:2d} Units     {units}"]
    return lines + [f"# NRows {rows}", f"# NTableCols {len(COLUMNS)}",
                    "# ColHeaders  " + " ".join(header for header, _, _ in COLUMNS)]


def _fs_time(iso: str) -> str:
    """``2026-01-02T03:04:05+00:00`` as FreeSurfer writes times: ``2026/01/02-03:04:05-GMT``."""
    when = _dt.datetime.fromisoformat(str(iso)).astimezone(_dt.timezone.utc)
    return when.strftime("%Y/%m/%d-%H:%M:%S-GMT")


def _one_line(text) -> str:
    return " ".join(str(text).replace("#", "-").split())


def read_stats(text: str) -> dict:
    """Parse an aseg.stats text (ours, or FreeSurfer's) strictly.

    Returns
    -------
    dict
        ``headers`` (first word after ``#`` -> the rest, for the single-valued lines),
        ``measures`` (short name, e.g. ``MaskVol`` -> ``{"name", "description", "value",
        "units"}``), ``columns`` (the ColHeaders), ``rows`` (one dict per data line,
        keyed by column; Index, SegId, NVoxels as int, the other numbers as float).

    Raises
    ------
    ExportError
        Naming the line: a Measure line without its 5 comma-separated fields, a data
        line before ColHeaders or with the wrong number of fields, a blank line, NRows or
        NTableCols that disagree with the table, an Index out of order.
    """
    headers, measures, columns, rows = {}, {}, None, []
    for number, line in enumerate(str(text).splitlines(), start=1):
        where = f"aseg.stats line {number}"
        if line.startswith("#"):
            body = line[1:].strip()
            if body.startswith("Measure "):
                measures.update(_parse_measure(body[len("Measure "):], where))
            elif body.startswith("ColHeaders"):
                columns = body.split()[1:]
            elif body and not body.startswith("TableCol"):
                key, _, value = body.partition(" ")
                headers[key] = value.strip()
            continue
        if not line.strip():
            raise ExportError(f"{where}: a blank line; every line but the rows starts with #.")
        if columns is None:
            raise ExportError(f"{where}: a table row before the # ColHeaders line.")
        rows.append(_parse_row(line.split(), columns, where))
    _check_table(headers, columns, rows)
    return {"headers": headers, "measures": measures, "columns": columns or [], "rows": rows}


def _parse_measure(body: str, where: str) -> dict:
    parts = [part.strip() for part in body.split(",")]
    if len(parts) != 5:
        raise ExportError(f"{where}: a Measure line has 5 comma-separated fields "
                          f"(name, short name, description, value, units), not {len(parts)}.")
    try:
        value = float(parts[3])
    except ValueError as err:
        raise ExportError(f"{where}: Measure {parts[1]} has no number ({parts[3]!r}).") from err
    return {parts[1]: {"name": parts[0], "description": parts[2], "value": value,
                       "units": parts[4]}}


def _parse_row(fields: list[str], columns: list[str], where: str) -> dict:
    if len(fields) != len(columns):
        raise ExportError(f"{where}: {len(fields)} fields; # ColHeaders names {len(columns)}.")
    row = {}
    for column, value in zip(columns, fields, strict=True):
        try:
            if column in _INTEGER_COLUMNS:
                row[column] = int(value)
            elif column == "StructName":
                row[column] = value
            else:
                row[column] = float(value)
        except ValueError as err:
            raise ExportError(f"{where}: {column} {value!r} is not a number.") from err
    return row


def _check_table(headers: dict, columns, rows: list[dict]) -> None:
    if columns is None:
        raise ExportError("aseg.stats: no # ColHeaders line.")
    for key, count, what in (("NRows", len(rows), "rows"),
                             ("NTableCols", len(columns), "column headers")):
        if key in headers and headers[key].strip() != str(count):
            raise ExportError(f"aseg.stats: # {key} {headers[key]}, but {count} {what}.")
    indices = [row.get("Index") for row in rows]
    if "Index" in columns and indices != list(range(1, len(rows) + 1)):
        raise ExportError(f"aseg.stats: Index runs {indices[:5]}..., not 1, 2, 3, ...")
