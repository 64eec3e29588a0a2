"""Map a label volume from the model grid back onto the input scan's own grid.

Two methods: ``"nearest"`` takes the label at each native voxel's centre;
``"majority"`` takes the most frequent label among ``supersample**3`` points spread
evenly inside each native voxel (smoother for thick slices and oblique scans).
Grids that differ only by a signed axis permutation and an integer shift (same
voxel size) are mapped by index operations alone. The general case runs in slabs
along the first native axis, so the extra memory stays near ``slab_points`` times
about 60 bytes whatever the scan size.
"""

from __future__ import annotations

import itertools

import numpy as np

from .conform import axis_permutation, permute_into, voxel_to_voxel

METHODS = ("nearest", "majority")


def _sorting_pairs(n):
    """Compare-exchange pairs of Batcher's odd-even merge sort for ``n`` items."""
    pairs = []
    p = 1
    while p < n:
        k = p
        while k >= 1:
            for j in range(k % p, n - k, 2 * k):
                for i in range(min(k, n - j - k)):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p):
                        pairs.append((i + j, i + j + k))
            k //= 2
        p *= 2
    return pairs


def _sample(flat_labels, shape, vox2vox, rows, native_shape, offset):
    """Labels at the nearest model voxel of points ``ijk + offset`` of native rows ``rows``."""
    axes = (np.arange(rows.start, rows.stop) + offset[0],
            np.arange(native_shape[1]) + offset[1],
            np.arange(native_shape[2]) + offset[2])
    strides = (shape[1] * shape[2], shape[2], 1)
    slab = (rows.stop - rows.start, native_shape[1], native_shape[2])
    flat = np.zeros(slab, np.intp)
    valid = np.ones(slab, bool)
    for a in range(3):
        m = vox2vox[a]
        coord = ((m[0] * axes[0] + (m[3] + 0.5))[:, None, None] + (m[1] * axes[1])[None, :, None]
                 + (m[2] * axes[2])[None, None, :])
        np.floor(coord, out=coord)
        index = coord.astype(np.intp)
        del coord
        valid &= index.view(np.uintp) < shape[a]  # negative indices wrap to huge values
        index *= strides[a]
        flat += index
    flat[~valid] = 0
    values = flat_labels[flat]
    values[~valid] = 0
    return values


def _vote(votes, centre):
    """Most frequent value along axis 0; ties go to ``centre`` if tied, else the smallest.

    ``votes`` is sorted in place.
    """
    for a, b in _sorting_pairs(votes.shape[0]):
        low = np.minimum(votes[a], votes[b])
        np.maximum(votes[a], votes[b], out=votes[b])
        votes[a] = low
    best = votes[0].copy()
    best_count = np.ones(best.shape, np.uint8)
    run = np.ones(best.shape, np.uint8)
    for k in range(1, votes.shape[0]):
        run *= votes[k] == votes[k - 1]
        run += 1
        np.copyto(best, votes[k], where=run > best_count)
        np.maximum(best_count, run, out=best_count)
    centre_count = np.zeros(best.shape, np.uint8)
    for k in range(votes.shape[0]):
        centre_count += votes[k] == centre
    np.copyto(best, centre, where=centre_count == best_count)
    return best


def labels_to_native(labels, labels_affine, native_shape, native_affine, method="majority",
                     supersample=2, slab_points=1 << 21) -> np.ndarray:
    """Resample integer labels from the model grid onto a native grid.

    Parameters
    ----------
    labels : (I, J, K) integer array
        Labels on the model grid (0 = background).
    labels_affine : (4, 4) array
        Voxel-to-world affine of the model grid.
    native_shape : tuple of 3 int
        Shape of the input scan.
    native_affine : (4, 4) array
        Voxel-to-world affine of the input scan.
    method : {"majority", "nearest"}
        How each native voxel picks its label (see module notes). In a majority
        tie the label at the voxel centre wins if it is among the tied, otherwise
        the smallest tied label.
    supersample : int
        Points per axis inside each native voxel for ``"majority"`` (1 to 6).
    slab_points : int
        Native voxels processed at once (bounds the extra memory).

    Returns
    -------
    ndarray
        ``native_shape``, dtype of ``labels``; 0 where a native voxel lies
        outside the model grid.
    """
    if method not in METHODS:
        raise ValueError(f"unknown label resampling {method!r}: use one of {', '.join(METHODS)}")
    if not 1 <= int(supersample) <= 6:
        raise ValueError(f"supersample must be between 1 and 6, got {supersample}")
    labels = np.asarray(labels)
    if labels.ndim != 3 or labels.dtype.kind not in "iub":
        raise ValueError(f"labels must be a 3D integer array, got {labels.ndim}D {labels.dtype}")
    native_shape = tuple(int(n) for n in native_shape)
    vox2vox = voxel_to_voxel(labels_affine, native_affine)
    permutation = axis_permutation(vox2vox)
    if permutation is not None:
        return permute_into(labels, permutation, native_shape)
    s = int(supersample) if method == "majority" else 1
    steps = (np.arange(s) + 0.5) / s - 0.5
    offsets = list(itertools.product(steps, repeat=3))
    flat_labels = np.ascontiguousarray(labels).ravel()
    out = np.empty(native_shape, labels.dtype)
    rows_per_slab = max(1, slab_points // max(1, native_shape[1] * native_shape[2]))
    for start in range(0, native_shape[0], rows_per_slab):
        rows = slice(start, min(native_shape[0], start + rows_per_slab))
        centre = _sample(flat_labels, labels.shape, vox2vox, rows, native_shape, (0.0, 0.0, 0.0))
        if s == 1:
            out[rows] = centre
            continue
        votes = np.empty((len(offsets),) + centre.shape, labels.dtype)
        for n, offset in enumerate(offsets):
            votes[n] = _sample(flat_labels, labels.shape, vox2vox, rows, native_shape, offset)
        out[rows] = _vote(votes, centre)
    return out
