"""Image-quality metrics as MRIQC defines them (Esteban et al. 2017, PLoS ONE 12:e0184661).

Pure functions of intensities and masks; each returns a float, or None when the
metric cannot be computed (the caller says why). MeshSeg measures them on the model
grid, on the intensities the model saw before normalisation, and on every second
voxel along each axis (the statistics are means, medians and standard deviations of
millions of voxels: halving the sampling changes them by well under 1 %).

- SNR: mean over tissues of ``mu / (sigma * sqrt(n / (n - 1)))`` (MRIQC ``snr``,
  ``snr_total`` averages CSF, WM and GM where the model has them).
- CNR: ``|mu_WM - mu_GM| / sqrt(sigma_air^2 + sigma_WM^2 + sigma_GM^2)``.
- CJV: ``(sigma_WM + sigma_GM) / |mu_WM - mu_GM|`` (lower is better).
- EFC: the entropy of the voxel intensities ``x / sqrt(sum x^2)``, divided by its
  maximum (all voxels equal); higher means more ghosting and blurring.
- FBER: median energy (``x^2``) in the head over median energy in the air.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["snr", "snr_total", "cnr", "cjv", "efc", "fber", "tissue_stats"]


def tissue_stats(volume: np.ndarray, mask: np.ndarray) -> tuple[float, float, int]:
    """Mean, standard deviation and count of `volume` inside `mask`.

    Examples
    --------
    >>> v = np.array([1.0, 2.0, 3.0, 10.0])
    >>> tissue_stats(v, np.array([True, True, True, False]))
    (2.0, 0.816496580927726, 3)
    """
    values = np.asarray(volume)[np.asarray(mask, bool)].astype(np.float64)
    if values.size == 0:
        return math.nan, math.nan, 0
    return float(values.mean()), float(values.std()), int(values.size)


def snr(mu: float, sigma: float, n: int) -> float | None:
    """MRIQC's tissue SNR: ``mu / (sigma * sqrt(n / (n - 1)))``; None when undefined.

    Examples
    --------
    >>> round(snr(100.0, 10.0, 101), 3)
    9.95
    >>> snr(100.0, 0.0, 50) is None
    True
    """
    if n < 2 or not sigma > 0 or not math.isfinite(mu):
        return None
    return float(mu / (sigma * math.sqrt(n / (n - 1))))


def snr_total(volume: np.ndarray, masks: list[np.ndarray]) -> float | None:
    """Mean of :func:`snr` over the tissue masks that give one.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> v = np.concatenate([rng.normal(100, 10, 1000), rng.normal(60, 10, 1000)])
    >>> a = np.arange(2000) < 1000
    >>> round(snr_total(v, [a, ~a]))
    8
    """
    values = [snr(*tissue_stats(volume, mask)) for mask in masks]
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def cnr(mu_wm: float, mu_gm: float, sigma_air: float, sigma_wm: float,
        sigma_gm: float) -> float | None:
    """Contrast-to-noise ratio of white and grey matter.

    Examples
    --------
    >>> cnr(110.0, 80.0, 0.0, 6.0, 8.0)
    3.0
    """
    denominator = math.sqrt(sigma_air ** 2 + sigma_wm ** 2 + sigma_gm ** 2)
    if not denominator > 0 or not math.isfinite(mu_wm - mu_gm):
        return None
    return float(abs(mu_wm - mu_gm) / denominator)


def cjv(mu_wm: float, mu_gm: float, sigma_wm: float, sigma_gm: float) -> float | None:
    """Coefficient of joint variation of white and grey matter (lower is better).

    Examples
    --------
    >>> cjv(110.0, 80.0, 6.0, 9.0)
    0.5
    """
    difference = abs(mu_wm - mu_gm)
    if not difference > 0 or not math.isfinite(sigma_wm + sigma_gm):
        return None
    return float((sigma_wm + sigma_gm) / difference)


def efc(volume: np.ndarray, frame: np.ndarray | None = None) -> float | None:
    """Entropy focus criterion of the voxels inside `frame` (all voxels without one).

    0 would be all energy in one voxel; 1 is all voxels equal.

    Examples
    --------
    >>> round(efc(np.ones(1000)), 6)
    1.0
    >>> v = np.zeros(1000); v[:10] = 1
    >>> round(efc(v), 3)
    0.033
    """
    values = np.asarray(volume, np.float64)
    if frame is not None:
        values = values[np.asarray(frame, bool)]
    values = np.abs(values.ravel())
    n = values.size
    energy = math.sqrt(float(np.dot(values, values)))
    if n < 2 or not energy > 0:
        return None
    efc_max = n * (1.0 / math.sqrt(n)) * math.log(1.0 / math.sqrt(n))
    scaled = values[values > 0] / energy  # a zero voxel adds 0 * log(1e-16) = 0
    entropy = float(np.sum(scaled * np.log(scaled + 1e-16)))
    return float(entropy / efc_max)


def fber(volume: np.ndarray, head: np.ndarray, air: np.ndarray) -> float | None:
    """Foreground-background energy ratio: median ``x^2`` in the head over the air's.

    None when the air has no energy (a zero-filled, masked or skull-stripped
    background: MRIQC returns -1 there).

    Examples
    --------
    >>> v = np.array([10.0, 10.0, 1.0, 2.0])
    >>> fber(v, np.array([1, 1, 0, 0], bool), np.array([0, 0, 1, 1], bool))
    40.0
    """
    volume = np.asarray(volume, np.float64)
    head_values, air_values = volume[np.asarray(head, bool)], volume[np.asarray(air, bool)]
    if head_values.size == 0 or air_values.size == 0:
        return None
    background = float(np.median(air_values ** 2))
    if background < 1e-3:
        return None
    return float(np.median(head_values ** 2) / background)
