"""Label clean-up after inference: pure functions, labels in, labels out."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

_FULL_26 = np.ones((3, 3, 3), dtype=bool)


def largest_component(labels: np.ndarray) -> np.ndarray:
    """Keep only the largest 26-connected component of the non-zero labels.

    This is upstream brainchop's post-processing: everything that is not
    connected to the main body of the segmentation becomes background.

    Parameters
    ----------
    labels : ndarray of int
        3D label volume; 0 is background.

    Returns
    -------
    ndarray
        A copy of `labels` with non-zero voxels outside the largest component set to 0.
        An all-background input is returned unchanged (as a copy).
    """
    foreground = labels != 0
    components, count = ndimage.label(foreground, structure=_FULL_26)
    if count <= 1:
        return labels.copy()
    sizes = np.bincount(components.ravel())
    sizes[0] = 0
    keep = components == int(np.argmax(sizes))
    return np.where(keep, labels, 0).astype(labels.dtype, copy=False)


def clean_classes(labels: np.ndarray, min_voxels: int = 64) -> np.ndarray:
    """Remove small islands of each class, refilling them from the nearest other voxel.

    For every non-zero class, the largest 26-connected component is kept and other
    components smaller than `min_voxels` are dropped; each of their voxels takes the
    label of the nearest voxel that was kept (background included), so the
    segmentation has no holes where islands were.

    Parameters
    ----------
    labels : ndarray of int
        3D label volume; 0 is background.
    min_voxels : int
        Components of a class with fewer voxels than this are removed.

    Returns
    -------
    ndarray
        Cleaned copy of `labels`, same dtype.
    """
    drop = np.zeros(labels.shape, dtype=bool)
    for value in np.unique(labels):
        if value == 0:
            continue
        components, count = ndimage.label(labels == value, structure=_FULL_26)
        if count <= 1:
            continue
        sizes = np.bincount(components.ravel())
        sizes[0] = np.iinfo(sizes.dtype).max
        small = np.flatnonzero(sizes < min_voxels)
        small = small[small != int(np.argmax(sizes[1:])) + 1]
        if small.size:
            drop |= np.isin(components, small)
    if not drop.any():
        return labels.copy()
    nearest = ndimage.distance_transform_edt(drop, return_distances=False, return_indices=True)
    return labels[tuple(nearest)].astype(labels.dtype, copy=False)
