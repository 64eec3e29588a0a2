"""Left-right mirroring on a model grid: which axis, and which labels swap.

Test-time augmentation runs the model on the mirrored scan too; its labels are
mirrored back, and lateralised labels (``Left-*``/``Right-*``, ``ctx-lh-*``/
``ctx-rh-*``) are swapped by name, so that both runs speak of the same side.
"""

from __future__ import annotations

import re

import numpy as np

_SIDES = ((r"^Left-", "Right-"), (r"^Right-", "Left-"), (r"^ctx-lh-", "ctx-rh-"),
          (r"^ctx-rh-", "ctx-lh-"), (r"^lh-", "rh-"), (r"^rh-", "lh-"))


def left_right_axis(orientation) -> int:
    """The voxel axis of a grid that runs left-right (``"LIA"`` -> 0).

    Examples
    --------
    >>> left_right_axis("LIA"), left_right_axis("SRA")
    (0, 1)
    """
    codes = [str(code).upper() for code in orientation]
    for axis, code in enumerate(codes):
        if code in ("L", "R"):
            return axis
    raise ValueError(f"orientation {''.join(codes)!r} has no left-right axis")


def mirrored_name(name: str) -> str | None:
    """The other side's name of a lateralised label (None if it has no side).

    Examples
    --------
    >>> mirrored_name("Left-Hippocampus"), mirrored_name("ctx-rh-insula"), mirrored_name("CSF")
    ('Right-Hippocampus', 'ctx-lh-insula', None)
    """
    for pattern, other in _SIDES:
        if re.match(pattern, name):
            return re.sub(pattern, other, name, count=1)
    return None


def swap_table(classes: list[dict]) -> np.ndarray:
    """uint8 lookup: label value -> its mirror's value (itself when it has none).

    Examples
    --------
    >>> swap_table([{"index": 0, "name": "BG"}, {"index": 1, "name": "Left-Putamen"},
    ...             {"index": 2, "name": "Right-Putamen"}, {"index": 3, "name": "CSF"}]).tolist()
    [0, 2, 1, 3]
    """
    size = max([int(c["index"]) for c in classes] + [0]) + 1
    table = np.arange(max(size, 256), dtype=np.uint8) if size <= 256 else None
    if table is None:
        raise ValueError("more than 256 labels cannot be uint8")
    by_name = {str(c["name"]): int(c["index"]) for c in classes}
    for entry in classes:
        other = mirrored_name(str(entry["name"]))
        if other in by_name:
            table[int(entry["index"])] = by_name[other]
    return table[:size]


def mirror(volume: np.ndarray, axis: int) -> np.ndarray:
    """`volume` flipped along `axis` (a contiguous copy).

    Examples
    --------
    >>> mirror(np.arange(3), 0).tolist()
    [2, 1, 0]
    """
    return np.ascontiguousarray(np.flip(volume, axis=axis))
