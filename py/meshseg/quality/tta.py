"""Test-time augmentation: the model's answer on the scan and on its left-right mirror.

:func:`combine` merges the two runs (the second already mirrored back, its lateral
labels swapped) into one set of outputs, and says how far they agreed:

- ``foreground`` models (two classes): the probabilities are averaged and the
  label is ``p > 0.5`` -- exactly the average of the two softmaxes.
- ``confidence`` models: where both runs give the same label it is kept and the
  confidences are averaged (that label then has the largest average probability:
  no other class can exceed it in both runs). Where they differ, the label with
  the higher confidence is taken, and its confidence is the larger one halved: a
  lower bound of its averaged probability (the models return only their top class,
  so the other run's probability of it is unknown).
- Models without a probability output keep the first run's label where they differ.
"""

from __future__ import annotations

import numpy as np


def combine(first: dict, second: dict, meaning: str | None,
            foreground: int = 1) -> tuple[dict, dict]:
    """Merged outputs (``labels``, ``probability``) and the agreement record.

    Parameters
    ----------
    first, second : dict
        ``{"labels": uint8, "probability": float32}`` of the two runs on one grid.
    meaning : {"foreground", "confidence"} or None
        The card's probability meaning (None: no probability output).
    foreground : int
        The label of a two-class model's foreground.

    Examples
    --------
    >>> def run(labels, probability):
    ...     return {"labels": np.array(labels, np.uint8),
    ...             "probability": np.array(probability, np.float32)}
    >>> a, b = run([1, 1, 0], [.9, .6, .2]), run([1, 0, 0], [.7, .3, .1])
    >>> merged, record = combine(a, b, "foreground")
    >>> merged["labels"].tolist(), record["agreement"], record["changed_voxels"]
    ([1, 0, 0], 0.6667, 1)
    """
    labels_a, labels_b = first["labels"], second["labels"]
    merged = dict(first)
    if meaning == "foreground":
        probability = (first["probability"] + second["probability"]) * np.float32(0.5)
        merged["labels"] = np.where(probability > 0.5, foreground, 0).astype(np.uint8)
        merged["probability"] = probability.astype(np.float32)
    elif meaning == "confidence":
        same = labels_a == labels_b
        conf_a, conf_b = first["probability"], second["probability"]
        take_b = ~same & (conf_b > conf_a)
        merged["labels"] = np.where(take_b, labels_b, labels_a).astype(np.uint8)
        merged["probability"] = np.where(same, (conf_a + conf_b) * np.float32(0.5),
                                         np.maximum(conf_a, conf_b) * np.float32(0.5)
                                         ).astype(np.float32)
    out = record(labels_a, labels_b, merged["labels"])
    out["first_uncertainty"] = _uncertainty(first, meaning)
    return merged, out


def _uncertainty(outputs: dict, meaning: str | None) -> float | None:
    """1 - the mean confidence of a run over its own labels (what the clean-scan
    baseline measures: the merged confidence halves where the runs disagree)."""
    labelled = outputs["labels"] != 0
    if meaning is None or "probability" not in outputs or not labelled.any():
        return None
    probability = outputs["probability"][labelled]
    if meaning == "foreground":
        probability = np.maximum(probability, 1 - probability)
    return round(float(1.0 - probability.mean()), 4)


def record(labels_a: np.ndarray, labels_b: np.ndarray, merged: np.ndarray) -> dict:
    """Agreement of two label volumes: mean Dice over labels, differing voxels.

    Examples
    --------
    >>> record(np.array([1, 2, 2]), np.array([1, 2, 0]), np.array([1, 2, 2]))["agreement"]
    0.8333
    """
    agreement = mean_dice(labels_a, labels_b)
    return {"agreement": None if agreement is None else round(agreement, 4),
            "differing_voxels": int(np.count_nonzero(labels_a != labels_b)),
            "changed_voxels": int(np.count_nonzero(merged != labels_a)),
            "labelled_voxels": int(np.count_nonzero(labels_a))}


def mean_dice(a: np.ndarray, b: np.ndarray) -> float | None:
    """Mean Dice over the non-zero labels present in either volume (None: both empty).

    Examples
    --------
    >>> mean_dice(np.array([1, 1, 2, 0]), np.array([1, 0, 2, 2]))
    0.6666666666666666
    """
    a, b = np.asarray(a).ravel(), np.asarray(b).ravel()
    size = int(max(a.max(initial=0), b.max(initial=0))) + 1
    count_a = np.bincount(a, minlength=size)
    count_b = np.bincount(b, minlength=size)
    both = np.bincount(a[a == b], minlength=size)
    present = [v for v in range(1, size) if count_a[v] + count_b[v] > 0]
    if not present:
        return None
    return float(np.mean([2.0 * both[v] / (count_a[v] + count_b[v]) for v in present]))
