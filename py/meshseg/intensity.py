"""Intensity scaling of a conformed volume, as the brainchop models were trained.

First :func:`scale_to_uint8` (FreeSurfer style: minimum -> 0, 99.9th percentile of
the non-zero voxels -> 255, clipped), then :func:`normalise` to 0..1.
Both work in float32 and never build a full-size float64 copy.
"""

from __future__ import annotations

import numpy as np

NORMALISATIONS = ("minmax", "quantile", "zscore", "none")


def scale_to_uint8(data, percentile=99.9) -> np.ndarray:
    """Scale intensities to 0..255 FreeSurfer style.

    Parameters
    ----------
    data : array
        The volume (any real dtype).
    percentile : float
        Percentile of the non-zero voxels that maps to 255.

    Returns
    -------
    ndarray of uint8
        ``rint(clip((data - min) * 255 / (p - min), 0, 255))``.

    Raises
    ------
    ValueError
        When every voxel is zero, or the percentile equals the minimum
        (a constant or nearly empty image): nothing to scale.
    """
    data = np.asarray(data)
    nonzero = data[data != 0]
    if nonzero.size == 0:
        raise ValueError("the image is all zeros: there is no intensity to scale")
    low = float(data.min())
    high = float(np.percentile(nonzero, percentile))
    del nonzero
    if not high > low:
        raise ValueError(
            f"the image has no contrast: its {percentile}th percentile of non-zero voxels "
            f"({high:g}) does not exceed its minimum ({low:g})")
    out = data.astype(np.float32, copy=True)
    out -= np.float32(low)
    out *= np.float32(255.0 / (high - low))
    np.clip(out, 0, 255, out=out)
    np.rint(out, out=out)
    return out.astype(np.uint8)


def normalise(data, method, parameters=None) -> np.ndarray:
    """Normalise a volume to about 0..1.

    Parameters
    ----------
    data : array
        The volume (usually the uint8 output of :func:`scale_to_uint8`).
    method : {"minmax", "quantile", "zscore", "none"}
        ``"minmax"``: ``(x - min) / (max - min)``. ``"quantile"``:
        ``(x - q_low) / (q_high - q_low)`` over the whole volume, not clipped
        (``low`` 0.05, ``high`` 0.95 unless `parameters` say otherwise).
        ``"zscore"``: ``(x - mean) / std``. ``"none"``: float32 copy.
    parameters : dict, optional
        The card's ``runtime.normalisation.parameters``.

    Returns
    -------
    ndarray of float32

    Raises
    ------
    ValueError
        For an unknown method, or a volume whose two reference values are equal.
    """
    if method not in NORMALISATIONS:
        allowed = ", ".join(NORMALISATIONS)
        raise ValueError(f"unknown normalisation {method!r}: use one of {allowed}")
    data = np.asarray(data)
    parameters = parameters or {}
    if method == "none":
        return data.astype(np.float32, copy=True)
    if method == "minmax":
        low, high = float(data.min()), float(data.max())
    elif method == "zscore":
        mean = float(data.mean(dtype=np.float64))
        low, high = mean, mean + float(data.std(dtype=np.float64))
    else:
        qs = (parameters.get("low", 0.05), parameters.get("high", 0.95))
        low, high = (float(q) for q in np.quantile(data, qs))
    if not high > low:
        raise ValueError(
            f"cannot normalise with {method!r}: the image's reference intensities are equal "
            f"({low:g}); it has no contrast")
    out = data.astype(np.float32, copy=True)
    out -= np.float32(low)
    out /= np.float32(high - low)
    return out
