"""Per-label volume statistics: voxel counts and millilitres from the real voxel size."""

from __future__ import annotations

import csv
import io
import json

import numpy as np

FIELDS = ("label", "name", "voxels", "ml")


def voxel_volume_ml(affine: np.ndarray) -> float:
    """Volume of one voxel in mL (|det| of the affine's 3x3 part, mm^3 / 1000).

    The determinant handles anisotropic and oblique grids: voxel size is never assumed.
    """
    return abs(float(np.linalg.det(np.asarray(affine, dtype=np.float64)[:3, :3]))) / 1000.0


def label_stats(labels: np.ndarray, affine: np.ndarray, classes: list[dict]) -> list[dict]:
    """One row per non-background class: label, name, voxel count and volume in mL.

    Parameters
    ----------
    labels : ndarray of int
        Label volume on the grid described by `affine`.
    affine : (4, 4) ndarray
        Voxel-to-world affine of `labels` (its voxel size gives the mL).
    classes : list of dict
        Model classes, each with ``index`` and ``name``; index 0 is background.

    Returns
    -------
    list of dict
        Rows with keys ``label``, ``name``, ``voxels``, ``ml`` (ml rounded to 3 decimals).
        Every class of the model is listed (0 voxels if absent); a label present in the
        volume but unknown to the model is listed as ``unknown label N``.
    """
    counts = np.bincount(np.asarray(labels).ravel().astype(np.intp))
    ml_per_voxel = voxel_volume_ml(affine)
    names = {int(c["index"]): str(c["name"]) for c in classes}
    present = {int(v) for v in np.flatnonzero(counts)}
    rows = []
    for value in sorted((set(names) | present) - {0}):
        voxels = int(counts[value]) if value < counts.size else 0
        rows.append({
            "label": value,
            "name": names.get(value, f"unknown label {value}"),
            "voxels": voxels,
            "ml": round(voxels * ml_per_voxel, 3),
        })
    return rows


def total_ml(rows: list[dict]) -> float:
    """Sum of the rows' volumes in mL (all non-background labels)."""
    return round(sum(row["ml"] for row in rows), 3)


def stats_csv(rows: list[dict]) -> str:
    """Rows as CSV text with a header line (label,name,voxels,ml)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def stats_json(rows: list[dict], meta: dict | None = None, quality: dict | None = None) -> str:
    """Rows as JSON text: ``{"meta": {...}, "total_ml": ..., "labels": [...]}``, and the
    run's ``"quality"`` object (docs/quality.md) when given. Never NaN or Infinity."""
    doc = {"meta": meta or {}, "total_ml": total_ml(rows), "labels": rows}
    if quality is not None:
        doc["quality"] = quality
    return json.dumps(doc, indent=2, allow_nan=False)
