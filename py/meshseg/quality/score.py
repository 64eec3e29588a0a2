"""The quality score: the signals combined into one number meant to predict Dice.

``score = f_confidence * f_slices * f_dropout * f_contrast * f_mirror``, then capped
by hard failures:

- ``f_confidence = 1 - K_CONFIDENCE * max(0, u - u_ref - U_SLACK)``: ``u`` is the
  model's mean uncertainty over its labels, ``u_ref`` the same model's on a clean
  scan (:mod:`meshseg.quality.reference`).
- ``f_slices = 1 - K_SLICES * max(0, t - FREE_MM)``: ``t`` the scan's largest voxel
  size in mm; detail between thick slices is interpolated, not seen.
- ``f_dropout = 1 - K_DROPOUT * d``: ``d`` the share of the head's extent lost to a
  blank slab (:mod:`meshseg.quality.dropout`).
- ``f_contrast``: :data:`UNCLEAR_CONTRAST` when the contrast check is unclear.
- ``f_mirror = 1 - K_MIRROR * max(0, a_ref - a)`` (only with test-time
  augmentation): ``a`` the mean Dice between the run and its mirrored run, ``a_ref``
  the model's on the clean scan (1.0, full agreement, for a model without a baseline).
- caps: tissue contrast reversed for the model (:data:`CAP_CONTRAST`); a labelled
  volume outside the human range (:data:`CAP_VOLUME`).

The constants were fitted on the seeded degradation set of ``meshseg.bench.quality``
(see docs/quality.md for the table, the Spearman correlation and the flag counts).
A result is ``flagged`` when its score is below :data:`THRESHOLD`.
"""

from __future__ import annotations

import math

K_CONFIDENCE = 3.5
U_SLACK = 0.01
K_SLICES = 0.03
FREE_MM = 1.5
K_MIRROR = 0.5
K_DROPOUT = 5.0
CAP_CONTRAST = 0.3
UNCLEAR_CONTRAST = 0.85
CAP_VOLUME = 0.5
THRESHOLD = 0.8
#: A factor below this gives its reason even when the result is not flagged.
MENTION_BELOW = 0.9


def clip01(value: float) -> float:
    """`value` clipped to [0, 1].

    Examples
    --------
    >>> clip01(1.3), clip01(-0.2), clip01(0.5)
    (1.0, 0.0, 0.5)
    """
    return min(1.0, max(0.0, float(value)))


def confidence_factor(uncertainty: float | None, reference: float | None) -> float | None:
    """``f_confidence``; None when either uncertainty is unknown.

    Examples
    --------
    >>> round(confidence_factor(0.20, 0.10), 3), confidence_factor(0.05, 0.10)
    (0.685, 1.0)
    """
    if uncertainty is None or reference is None:
        return None
    return clip01(1.0 - K_CONFIDENCE * max(0.0, uncertainty - reference - U_SLACK))


def slice_factor(largest_voxel_mm: float | None) -> float:
    """``f_slices`` for the scan's largest voxel size (1.0 when unknown).

    Examples
    --------
    >>> slice_factor(1.0), round(slice_factor(7.0), 3)
    (1.0, 0.835)
    """
    if largest_voxel_mm is None or not math.isfinite(largest_voxel_mm):
        return 1.0
    return clip01(1.0 - K_SLICES * max(0.0, largest_voxel_mm - FREE_MM))


def dropout_factor(fraction: float) -> float:
    """``f_dropout`` for the share of the head lost to a blank slab.

    Examples
    --------
    >>> dropout_factor(0.0), dropout_factor(0.1)
    (1.0, 0.5)
    """
    return clip01(1.0 - K_DROPOUT * fraction)


def contrast_factor(contrast: dict) -> float | None:
    """``f_contrast``: None when not measured or not asked for, else 1 or unclear's.

    Examples
    --------
    >>> contrast_factor({"expected": "T1", "observed": "unclear"})
    0.85
    """
    if contrast["expected"] == "any" or contrast["observed"] is None:
        return None
    return UNCLEAR_CONTRAST if contrast["observed"] == "unclear" else 1.0


def mirror_factor(agreement: float | None, reference: float | None) -> float | None:
    """``f_mirror``; None without test-time augmentation or a reference.

    Examples
    --------
    >>> round(mirror_factor(0.80, 0.95), 3), mirror_factor(None, 0.95)
    (0.925, None)
    """
    if agreement is None or reference is None:
        return None
    return clip01(1.0 - K_MIRROR * max(0.0, reference - agreement))


def combine(factors: dict, caps: dict) -> float:
    """The product of the known factors, then the smallest cap.

    Examples
    --------
    >>> combine({"confidence": 0.9, "slices": 0.8, "mirror": None}, {"contrast": 0.3})
    0.3
    """
    score = 1.0
    for value in factors.values():
        if value is not None:
            score *= value
    for cap in caps.values():
        score = min(score, cap)
    return round(clip01(score), 4)
