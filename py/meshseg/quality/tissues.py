"""The regions the quality checks measure: tissue classes by name, head, air, brain.

A model's classes are sorted into tissues by their names (``White Matter``,
``Left-Cerebral-White-Matter`` -> white matter; ``Grey Matter``, ``ctx-lh-*``,
``*-Cortex`` -> grey matter; ``*Ventricle*``, ``*Vent``, ``CSF`` -> CSF). Models
without tissue classes (brain masks, skull strippers) give only a brain; lesion
models give neither.

Everything is measured on a *sample* of the model grid: every second voxel along
each axis (:data:`STEP`), inside the scan's field of view.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

STEP = 2
#: Tasks whose labels together cover the brain (their union is the brain mask).
BRAIN_TASKS = frozenset({"skull strip", "brain mask", "tissue", "subcortical", "parcellation"})

_NAME_KEYS = (  # (tissue, words in a lower-case class name), first match wins
    ("wm", ("white matter", "white-matter", "whitematter")),
    ("gm", ("grey matter", "gray matter", "grey-matter", "gray-matter", "cortex", "ctx-")),
    ("csf", ("ventricle", "-vent", "csf")),
)


def tissue_of(name: str) -> str | None:
    """``"wm"``, ``"gm"``, ``"csf"`` or None for a class name.

    Examples
    --------
    >>> [tissue_of(n) for n in ("White Matter", "ctx-lh-insula", "Left-Inf-Lat-Vent",
    ...                         "Left-Hippocampus", "Cerebellum-White-Matter")]
    ['wm', 'gm', 'csf', None, 'wm']
    """
    lowered = name.strip().lower()
    if lowered in ("wm", "gm"):
        return lowered
    for tissue, keys in _NAME_KEYS:
        if any(key in lowered for key in keys):
            return tissue
    return None


def tissue_indices(classes: list[dict]) -> dict[str, list[int]]:
    """Class indices per tissue (``wm``, ``gm``, ``csf``), background excluded.

    Examples
    --------
    >>> tissue_indices([{"index": 0, "name": "background"}, {"index": 1, "name": "White Matter"},
    ...                 {"index": 2, "name": "Grey Matter"}])
    {'wm': [1], 'gm': [2], 'csf': []}
    """
    found: dict[str, list[int]] = {"wm": [], "gm": [], "csf": []}
    for entry in classes:
        index = int(entry["index"])
        tissue = tissue_of(str(entry["name"])) if index != 0 else None
        if tissue:
            found[tissue].append(index)
    return found


@dataclass(frozen=True)
class Regions:
    """Boolean masks on the sampled grid, and the sampled intensities."""

    volume: np.ndarray
    labels: np.ndarray
    fov: np.ndarray
    head: np.ndarray
    air: np.ndarray
    brain: np.ndarray | None
    wm: np.ndarray | None
    gm: np.ndarray | None
    csf: np.ndarray | None
    csf_indices: tuple = ()

    @property
    def has_tissues(self) -> bool:
        """White and grey matter are both labelled."""
        return self.wm is not None and self.gm is not None and self.wm.any() and self.gm.any()

    def parenchyma(self) -> np.ndarray | None:
        """The brain without its CSF labels (None for a model that gives no brain)."""
        if self.brain is None:
            return None
        if not self.csf_indices:
            return self.brain
        return self.brain & ~np.isin(self.labels, self.csf_indices)


def sample(array: np.ndarray, step: int = STEP) -> np.ndarray:
    """Every `step`-th voxel along each axis (a view).

    Examples
    --------
    >>> sample(np.zeros((5, 4, 3))).shape
    (3, 2, 2)
    """
    return np.asarray(array)[::step, ::step, ::step]


def field_of_view(model_affine, scan_affine, scan_shape, shape, step: int = STEP) -> np.ndarray:
    """Where the sampled model grid lies inside the scan's own voxels.

    Examples
    --------
    >>> fov = field_of_view(np.eye(4), np.eye(4), (4, 4, 2), (4, 4, 4), step=1)
    >>> int(fov.sum()), fov.shape
    (32, (4, 4, 4))
    """
    vox2vox = np.linalg.solve(np.asarray(scan_affine, float), np.asarray(model_affine, float))
    axes = [np.arange(0, n, step, dtype=np.float32) for n in shape]
    inside = np.ones(tuple(a.size for a in axes), bool)
    grid = np.meshgrid(*axes, indexing="ij", sparse=True)
    for row in range(3):
        coordinate = sum(float(vox2vox[row, col]) * grid[col] for col in range(3))
        coordinate = coordinate + float(vox2vox[row, 3])
        inside &= (coordinate > -0.5) & (coordinate < scan_shape[row] - 0.5)
    return inside


def head_mask(volume: np.ndarray, fov: np.ndarray) -> np.ndarray:
    """The head: the largest component of the voxels above a tenth of the 99th
    percentile, its holes filled (empty when nothing is bright).

    Examples
    --------
    >>> v = np.zeros((20, 20, 20)); v[5:15, 5:15, 5:15] = 100; v[8:12, 8:12, 8:12] = 0
    >>> v[1, 1, 1] = 100
    >>> int(head_mask(v, np.ones(v.shape, bool)).sum())
    1000
    """
    inside = volume[fov]
    if inside.size == 0 or not np.any(inside > 0):
        return np.zeros(volume.shape, bool)
    threshold = 0.1 * float(np.percentile(inside[inside > 0], 99))
    labelled, count = ndimage.label((volume > threshold) & fov)
    if count == 0:
        return np.zeros(volume.shape, bool)
    largest = np.argmax(np.bincount(labelled.ravel())[1:]) + 1
    return filled(labelled == largest)


def filled(mask: np.ndarray) -> np.ndarray:
    """`mask` with its holes filled: the background not connected to the grid's faces
    (what ``scipy.ndimage.binary_fill_holes`` gives, in one labelling pass).

    Examples
    --------
    >>> m = np.ones((5, 5, 5), bool); m[2, 2, 2] = False
    >>> bool(filled(m)[2, 2, 2]), bool(filled(~m).any())
    (True, True)
    """
    mask = np.asarray(mask, bool)
    background, count = ndimage.label(~mask)
    if count == 0:
        return mask.copy()
    faces = np.concatenate([np.take(background, index, axis=axis).ravel()
                            for axis in range(mask.ndim) for index in (0, -1)])
    outside = np.zeros(count + 1, bool)
    outside[np.unique(faces)] = True
    outside[0] = False
    return ~outside[background]


def labelled_box(labels: np.ndarray) -> tuple[slice, ...] | None:
    """The bounding box of the non-zero labels (None when there are none).

    Examples
    --------
    >>> v = np.zeros((4, 5, 6), np.uint8); v[1:3, 2, 4] = 7
    >>> labelled_box(v)
    (slice(1, 3, None), slice(2, 3, None), slice(4, 5, None))
    """
    labelled = np.asarray(labels) != 0
    box = []
    for axis in range(labelled.ndim):
        others = tuple(a for a in range(labelled.ndim) if a != axis)
        hits = np.flatnonzero(labelled.any(axis=others))
        if hits.size == 0:
            return None
        box.append(slice(int(hits[0]), int(hits[-1]) + 1))
    return tuple(box)


def grown(mask: np.ndarray, voxels: int) -> np.ndarray:
    """`mask` grown by `voxels` along every axis (a cube; separable, so fast).

    Examples
    --------
    >>> m = np.zeros((7, 7, 7), bool); m[3, 3, 3] = True
    >>> int(grown(m, 2).sum())
    125
    """
    return ndimage.maximum_filter(mask.astype(np.uint8), size=2 * voxels + 1) > 0


def regions(volume, labels, classes, task, fov) -> Regions:
    """Head, air, brain and tissue masks for one result (all on the sampled grid).

    The air is the field of view outside the head grown by 5 sampled voxels (10 mm)
    along every axis.
    The brain is the union of the labels of a model whose labels cover the brain;
    white and grey matter (and CSF) come from the classes named so.
    """
    head = head_mask(volume, fov)
    air = fov & ~grown(head, 5) if head.any() else fov.copy()
    indices = tissue_indices(classes)
    brain = (labels != 0) if task in BRAIN_TASKS and np.any(labels) else None

    def tissue(name):
        return np.isin(labels, indices[name]) if indices[name] else None

    return Regions(volume, labels, fov, head, air, brain, tissue("wm"), tissue("gm"),
                   tissue("csf"), csf_indices=tuple(indices["csf"]))
