"""Is the tissue contrast the one the model expects? Two checks that trust no label.

A model trained on T1-weighted scans labels whatever is bright as white matter, so
its labels cannot tell a T1 from a FLAIR (on an inverted T1 its "white matter" is
still the brighter class). Anatomy can: white matter lies deep inside the brain and
the head, grey matter, CSF and the skull nearer the surface.

- :func:`depth_ratio` on the brain (the union of a brain model's labels): the median
  intensity of its core (farther from its surface than half the deepest point) over
  that of its rim (the outer fifth).
- :func:`depth_ratio` on the head (the bright voxels, found without labels): the
  median of its core over the median of the whole head.

On T1 scans both are above 1 (brain 1.06-1.30, head 1.02-1.35 on the scans and
degradations of ``meshseg.bench.quality``); on inverted T1s the head's is 0.79-0.87
and on a real FLAIR the brain's is 0.95. The contrast looks reversed when the brain's
is below :data:`BRAIN_REVERSED` or the head's below :data:`HEAD_REVERSED`; it is
T1-like when the brain's is at least :data:`BRAIN_T1` and the head's at least
:data:`HEAD_T1`; in between it is unclear.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from meshseg.quality.tissues import filled

BRAIN_T1, BRAIN_REVERSED = 1.08, 1.0
HEAD_T1, HEAD_REVERSED = 1.0, 0.95
CORE, RIM = 0.5, 0.2
MIN_VOXELS = 2000  # sampled voxels in the brain (16 mL at 2 mm sampling)

EXPECTED = ("T1", "T2", "any")


def depth_ratio(volume: np.ndarray, region: np.ndarray, rim: float | None = RIM
                ) -> float | None:
    """Median intensity of the region's core over that of its rim (the outer `rim`
    fraction of its depth; None: the whole region). None when the region is too small.

    Examples
    --------
    >>> z, y, x = np.mgrid[:40, :40, :40]
    >>> r = np.sqrt((z - 20) ** 2 + (y - 20) ** 2 + (x - 20) ** 2)
    >>> brain = r < 15
    >>> t1 = np.where(r < 9, 110.0, 80.0)   # bright core (white matter), darker rim
    >>> round(depth_ratio(t1, brain), 2), round(depth_ratio(190.0 - t1, brain), 2)
    (1.38, 0.73)
    >>> round(depth_ratio(t1, brain, rim=None), 2)
    1.38
    """
    region = np.asarray(region, bool)
    if np.count_nonzero(region) < MIN_VOXELS:
        return None
    box = tuple(slice(max(s.start - 1, 0), s.stop + 1)
                for s in ndimage.find_objects(region.astype(np.uint8))[0])
    mask, volume = filled(region[box]), np.asarray(volume)[box]
    depth = ndimage.distance_transform_edt(mask)
    deepest = float(depth.max())
    core = mask & (depth > CORE * deepest)
    outer = mask if rim is None else mask & (depth <= rim * deepest)
    if not core.any() or not outer.any():
        return None
    outer_median = float(np.median(volume[outer]))
    if not outer_median > 0:
        return None
    return float(np.median(volume[core])) / outer_median


def observed(brain: float | None, head: float | None) -> str | None:
    """``T1``, ``FLAIR/T2``, ``unclear``, or None when neither ratio was measured.

    Examples
    --------
    >>> observed(1.2, 1.2), observed(1.2, 0.85), observed(0.96, None), observed(1.05, 1.1)
    ('T1', 'FLAIR/T2', 'FLAIR/T2', 'unclear')
    """
    if brain is None and head is None:
        return None
    if (brain is not None and brain < BRAIN_REVERSED) or \
            (head is not None and head < HEAD_REVERSED):
        return "FLAIR/T2"
    if (brain is None or brain >= BRAIN_T1) and (head is None or head >= HEAD_T1):
        return "T1"
    return "unclear"


def verdict(brain: float | None, head: float | None, expected: str) -> dict:
    """The check's answer: ``{"expected", "observed", "ok", "ratio", "head_ratio"}``.

    ``ok`` is None when the model accepts any contrast or nothing was measured.

    Examples
    --------
    >>> verdict(1.2, 1.1, "T1")["ok"], verdict(1.2, 0.8, "T1")["observed"]
    (True, 'FLAIR/T2')
    >>> verdict(0.8, None, "any")["ok"], verdict(1.2, 1.2, "T2")["ok"]
    (None, False)
    """
    if expected not in EXPECTED:
        raise ValueError(f"expected contrast must be one of {', '.join(EXPECTED)}")
    seen = observed(brain, head)
    ok = None
    if expected != "any" and seen in ("T1", "FLAIR/T2"):
        ok = (seen == "T1") == (expected == "T1")
    return {"expected": expected, "observed": seen, "ok": ok,
            "ratio": None if brain is None else round(brain, 4),
            "head_ratio": None if head is None else round(head, 4)}
