"""Signal dropout: a slab of blank slices inside the head (a lost or corrupt slab).

Along each axis of the sampled model grid, a slice is *blank* when fewer than
:data:`BLANK` of the largest slice's count of bright voxels (above a tenth of the
99th percentile) lie in it; a run of blank slices with bright slices (at least
:data:`FULL` of that count) on both sides is a dropout. The head's own ends are
not dropouts: they have no bright slice beyond them.
"""

from __future__ import annotations

import numpy as np

BLANK = 0.02
FULL = 0.25


def dropout_fraction(volume: np.ndarray, fov: np.ndarray) -> float:
    """The largest dropout's share of the head's extent along its axis (0: none).

    Examples
    --------
    >>> v = np.zeros((40, 40, 40)); v[5:35, 5:35, 5:35] = 100
    >>> dropout_fraction(v, np.ones(v.shape, bool))
    0.0
    >>> v[18:21] = 0
    >>> dropout_fraction(v, np.ones(v.shape, bool))
    0.1
    """
    inside = volume[fov]
    if inside.size == 0 or not np.any(inside > 0):
        return 0.0
    bright = (volume > 0.1 * float(np.percentile(inside[inside > 0], 99))) & fov
    largest = 0.0
    for axis in range(3):
        counts = bright.sum(axis=tuple(a for a in range(3) if a != axis)).astype(float)
        largest = max(largest, _largest_gap(counts))
    return round(largest, 4)


def _largest_gap(counts: np.ndarray) -> float:
    peak = counts.max()
    if peak <= 0:
        return 0.0
    full = np.flatnonzero(counts >= FULL * peak)
    first, last = int(full[0]), int(full[-1])
    blank = counts[first:last + 1] < BLANK * peak
    longest = run = 0
    for value in blank:
        run = run + 1 if value else 0
        longest = max(longest, run)
    extent = np.flatnonzero(counts > 0)
    return longest / float(extent[-1] - extent[0] + 1)
