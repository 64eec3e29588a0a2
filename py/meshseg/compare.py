"""Compare two label images on one grid: per-label volumes and Dice, and a difference map.

The two label sets may differ (two models, or a model and a reference file):
labels are matched by name, case- and space-insensitively, and a label with no
partner is listed with the other side empty. A reference file without names is
matched by label value against side A's names.

Examples
--------
>>> import numpy as np
>>> a = np.array([[[0, 1, 1, 2]]], dtype=np.uint8)
>>> b = np.array([[[0, 1, 2, 2]]], dtype=np.uint8)
>>> classes = [{"index": 1, "name": "WM"}, {"index": 2, "name": "GM"}]
>>> rows = compare_labels(a, b, np.eye(4) * 10, classes, classes)
>>> [(r["name"], r["dice"]) for r in rows]
[('WM', 0.6667), ('GM', 0.6667), ('all labelled', 1.0)]
>>> difference_map(a, b, classes, classes).tolist()
[[[0, 1, 4, 1]]]
"""

from __future__ import annotations

import csv
import io

import numpy as np

from meshseg.stats import voxel_volume_ml

COLUMNS = ("name", "label_a", "label_b", "ml_a", "ml_b", "diff_ml", "dice")
ALL_LABELLED = "all labelled"


def compare_labels(a, b, affine, classes_a, classes_b=None) -> list[dict]:
    """One row per label name: volumes in A and B, their difference (B - A) and Dice.

    Parameters
    ----------
    a, b : (I, J, K) integer arrays
        Label images on the same grid.
    affine : (4, 4) array
        The grid's voxel-to-world affine (for mL).
    classes_a, classes_b : list of dict
        ``{"index", "name"}`` per label; index 0 (background) is left out.
        ``classes_b=None`` takes B's labels to mean what A's labels of the same value mean.

    Returns
    -------
    list of dict
        Keys :data:`COLUMNS`; ``dice`` is None where neither side has the label.
        A last row, ``all labelled``, compares the non-zero voxels.
    """
    a, b = _same_grid(a, b)
    ml = voxel_volume_ml(affine)
    rows = [_row(name, ia, ib, _voxels(a, ia), _voxels(b, ib), ml)
            for name, ia, ib in _pairs(classes_a, classes_b, b)]
    rows.append(_row(ALL_LABELLED, None, None, a > 0, b > 0, ml))
    return rows


def difference_map(a, b, classes_a, classes_b=None) -> np.ndarray:
    """Per voxel: 0 both background, 1 same label, 2 only A, 3 only B, 4 different labels.

    B's labels are first mapped onto A's by name (see :func:`compare_labels`);
    the values are :data:`meshseg.constants.DIFFERENCE_CLASSES`.
    """
    a, b = _same_grid(a, b)
    b_in_a = _map_b_to_a(b, _pairs(classes_a, classes_b, b))
    out = np.zeros(a.shape, dtype=np.uint8)
    in_a, in_b = a > 0, b > 0
    out[in_a & in_b] = 4
    out[in_a & in_b & (a == b_in_a)] = 1
    out[in_a & ~in_b] = 2
    out[~in_a & in_b] = 3
    return out


def comparison_csv(rows: list[dict]) -> str:
    """Rows of :func:`compare_labels` as CSV text with a header line."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: ("" if row[k] is None else row[k]) for k in COLUMNS} for row in rows)
    return out.getvalue()


def _same_grid(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"label images of shapes {a.shape} and {b.shape} are not on one grid")
    return a, b


def _key(name: str) -> str:
    return " ".join(str(name).lower().split())


def _pairs(classes_a, classes_b, b) -> list[tuple[str, int | None, int | None]]:
    """(name, label in A, label in B) for every non-background label of either side."""
    named_a = [(int(c["index"]), str(c["name"])) for c in classes_a if int(c["index"]) != 0]
    if classes_b is None:
        present = {int(v) for v in np.unique(b) if v != 0}
        names = dict(named_a)
        pairs = [(name, index, index) for index, name in named_a]
        return pairs + [(f"label {v}", None, v) for v in sorted(present - set(names))]
    by_key_b = {_key(c["name"]): int(c["index"]) for c in classes_b if int(c["index"]) != 0}
    pairs = [(name, index, by_key_b.pop(_key(name), None)) for index, name in named_a]
    names_b = {int(c["index"]): str(c["name"]) for c in classes_b}
    return pairs + [(names_b[index], None, index) for index in sorted(by_key_b.values())]


def _row(name, ia, ib, in_a, in_b, ml) -> dict:
    """A table row from the voxels of the label in A and in B (None: that side lacks it)."""
    count_a = int(np.count_nonzero(in_a)) if in_a is not None else 0
    count_b = int(np.count_nonzero(in_b)) if in_b is not None else 0
    both = int(np.count_nonzero(in_a & in_b)) if in_a is not None and in_b is not None else 0
    dice = round(2 * both / (count_a + count_b), 4) if count_a + count_b else None
    return {"name": name, "label_a": ia, "label_b": ib, "ml_a": round(count_a * ml, 3),
            "ml_b": round(count_b * ml, 3), "diff_ml": round((count_b - count_a) * ml, 3),
            "dice": dice}


def _voxels(labels, value):
    return None if value is None else labels == value


def _map_b_to_a(b, pairs) -> np.ndarray:
    """B's labels as A's label values; B labels without a partner become -1."""
    top = int(b.max()) if b.size else 0
    table = np.full(max(top + 1, 1), -1, dtype=np.int32)
    table[0] = 0
    for _, ia, ib in pairs:
        if ia is not None and ib is not None and ib <= top:
            table[ib] = ia
    return table[b]
