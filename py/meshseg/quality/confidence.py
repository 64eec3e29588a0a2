"""How sure the model was: its mean uncertainty, overall and per label.

A model's ``probability`` output is ``confidence`` (the largest softmax) or
``foreground`` (the softmax of class 1 of a two-class model, whose confidence is
``max(p, 1 - p)``). The uncertainty of a label is ``1 - mean confidence`` over the
voxels carrying it; the result's is the mean over all labelled voxels.
"""

from __future__ import annotations

import numpy as np


def confidence_map(probability: np.ndarray, meaning: str) -> np.ndarray:
    """The model's confidence in its label at every voxel (float32).

    Examples
    --------
    >>> confidence_map(np.array([0.2, 0.9], np.float32), "foreground").tolist()
    [0.800000011920929, 0.8999999761581421]
    """
    probability = np.asarray(probability, np.float32)
    if meaning == "foreground":
        return np.maximum(probability, np.float32(1) - probability)
    if meaning == "confidence":
        return probability
    raise ValueError(f"unknown probability meaning {meaning!r}")


def label_uncertainty(labels: np.ndarray, confidence: np.ndarray) -> tuple[float | None, dict]:
    """Mean uncertainty over the labelled voxels, and per label value.

    Returns
    -------
    overall : float or None
        ``1 - mean confidence`` of the voxels with a non-zero label (None: no label).
    per_label : dict
        Label value -> (uncertainty, voxel count), for every value present.

    Examples
    --------
    >>> labels = np.array([0, 1, 1, 2])
    >>> overall, per = label_uncertainty(labels, np.array([0.5, 0.9, 0.7, 1.0]))
    >>> round(overall, 3), {k: round(v[0], 3) for k, v in per.items()}
    (0.133, {1: 0.2, 2: 0.0})
    """
    flat = np.asarray(labels).ravel().astype(np.intp)
    weights = np.asarray(confidence, np.float64).ravel()
    counts = np.bincount(flat)
    sums = np.bincount(flat, weights=weights, minlength=counts.size)
    per = {int(v): (float(1.0 - sums[v] / counts[v]), int(counts[v]))
           for v in np.flatnonzero(counts) if v != 0}
    labelled = int(counts[1:].sum())
    overall = float(1.0 - sums[1:].sum() / labelled) if labelled else None
    return overall, per
