"""Crop a volume to a mask's bounding box and paste the result back."""

from __future__ import annotations

import numpy as np


def bounding_box(mask, pad=0) -> tuple[slice, ...]:
    """Bounding box of the non-zero voxels of a mask, with padding.

    Parameters
    ----------
    mask : array
        Any-dimensional mask; non-zero voxels count.
    pad : int
        Voxels added on every side, clipped to the array.

    Returns
    -------
    tuple of slice
        One slice per axis.

    Raises
    ------
    ValueError
        When the mask is empty or ``pad`` is negative.
    """
    if pad < 0:
        raise ValueError(f"pad must be >= 0, got {pad}")
    mask = np.asarray(mask)
    box = []
    for axis in range(mask.ndim):
        other = tuple(a for a in range(mask.ndim) if a != axis)
        hits = np.flatnonzero(np.any(mask, axis=other))
        if hits.size == 0:
            raise ValueError("the mask is empty: there is nothing to crop to")
        start, stop = int(hits[0]) - pad, int(hits[-1]) + 1 + pad
        box.append(slice(max(0, start), min(mask.shape[axis], stop)))
    return tuple(box)


def pad_box(box, pad, shape) -> tuple[slice, ...]:
    """A box grown by ``pad`` voxels on every side, clipped to ``shape``.

    ``pad_box(bounding_box(mask), p, mask.shape) == bounding_box(mask, p)``.

    Examples
    --------
    >>> pad_box((slice(2, 5), slice(0, 3)), 2, (6, 10))
    (slice(0, 6, None), slice(0, 5, None))
    """
    if pad < 0:
        raise ValueError(f"pad must be >= 0, got {pad}")
    return tuple(slice(max(0, s.start - pad), min(n, s.stop + pad))
                 for s, n in zip(box, shape, strict=True))


def crop(data, box) -> np.ndarray:
    """Copy of the part of ``data`` inside ``box`` (C-contiguous).

    Parameters
    ----------
    data : array
    box : tuple of slice
        From :func:`bounding_box`.

    Returns
    -------
    ndarray
    """
    return np.ascontiguousarray(np.asarray(data)[tuple(box)])


def paste(sub, box, shape, fill=0) -> np.ndarray:
    """Inverse of :func:`crop`: place ``sub`` at ``box`` in a new array.

    Parameters
    ----------
    sub : array
        The cropped block.
    box : tuple of slice
        Where it came from.
    shape : tuple of int
        Shape of the full array.
    fill : scalar
        Value outside the box.

    Returns
    -------
    ndarray
        Of ``sub``'s dtype.
    """
    sub = np.asarray(sub)
    out = np.full(shape, fill, dtype=sub.dtype)
    region = out[tuple(box)]
    if region.shape != sub.shape:
        raise ValueError(f"block of shape {sub.shape} does not fit box of shape {region.shape}")
    region[...] = sub
    return out
