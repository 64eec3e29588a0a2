"""One result's quality: image metrics, contrast check, confidence, score and reasons.

:func:`assess` takes what a run already holds (the scan on the model grid, the labels
and the model's probability there, the labels on the scan's grid) and returns the
public ``quality`` object (docs/quality.md): JSON-safe, never NaN or Infinity; a
metric that cannot be computed is ``null`` with its reason in ``missing``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from meshseg.plausibility import volume_implausible
from meshseg.quality import metrics, score
from meshseg.quality.confidence import confidence_map, label_uncertainty
from meshseg.quality.contrast import depth_ratio, verdict
from meshseg.quality.dropout import dropout_fraction
from meshseg.quality.reasons import reasons_for, summary_line
from meshseg.quality.reference import reference_for
from meshseg.quality.tissues import Regions, field_of_view, labelled_box, regions, sample

QUALITY_VERSION = 1


@dataclass(frozen=True)
class Evidence:
    """What a finished run knows, for the quality checks.

    ``volume``, ``labels`` and ``probability`` lie on the model grid (``model_affine``);
    ``native_labels`` on the grid the result is written on (``native_affine``); the
    scan's own grid is ``scan_affine`` / ``scan_shape``. ``tta`` is the record of
    :func:`meshseg.quality.tta.combine` when test-time augmentation ran.
    """

    volume: np.ndarray
    labels: np.ndarray
    probability: np.ndarray | None
    meaning: str | None
    model_affine: np.ndarray
    scan_affine: np.ndarray
    scan_shape: tuple
    native_labels: np.ndarray
    native_affine: np.ndarray
    tta: dict | None = None


def assess(evidence: Evidence, card, references: dict | None = None) -> dict:
    """The ``quality`` object of one labels result (see docs/quality.md)."""
    fov = field_of_view(evidence.model_affine, evidence.scan_affine, evidence.scan_shape,
                        evidence.labels.shape)
    found = regions(sample(evidence.volume), sample(evidence.labels), card.classes, card.task,
                    fov)
    image, missing = image_metrics(found)
    parenchyma = found.parenchyma()
    contrast = verdict(None if parenchyma is None else depth_ratio(found.volume, parenchyma),
                       depth_ratio(found.volume, found.head, rim=None), card.contrast)
    reference = reference_for(card, references)
    confidence = _confidence(evidence)
    signals = _signals(evidence, card, contrast, reference, confidence,
                       dropout_fraction(found.volume, found.fov))
    factors = {"confidence": score.confidence_factor(signals["uncertainty"],
                                                     signals["reference_uncertainty"]),
               "slices": score.slice_factor(signals["largest_voxel_mm"]),
               "dropout": score.dropout_factor(signals["dropout_fraction"]),
               "contrast": score.contrast_factor(contrast),
               "mirror": score.mirror_factor(signals["tta_agreement"],
                                             signals["reference_tta_agreement"])}
    caps = _caps(contrast, signals["volume_implausible"])
    total = score.combine(factors, caps)
    flagged = total < score.THRESHOLD
    reasons = reasons_for(signals, factors, caps, contrast, card, flagged, image)
    return _finite({
        "version": QUALITY_VERSION, "score": total, "flagged": flagged,
        "threshold": score.THRESHOLD, "summary": summary_line(total, flagged, reasons),
        "reasons": reasons,
        "image": image, "missing": missing, "contrast": contrast,
        "labels": _label_scores(confidence, card, reference, factors, caps),
        "signals": {**signals, "factors": factors, "caps": caps},
        "tta": evidence.tta is not None,
    })


def image_metrics(found: Regions) -> tuple[dict, dict]:
    """MRIQC's SNR, CNR, CJV, EFC and FBER on the sampled grid, and why any is missing."""
    volume = found.volume
    missing: dict[str, str] = {}
    tissues = [m for m in (found.wm, found.gm, found.csf) if m is not None and m.any()]
    if not tissues and found.brain is not None:
        tissues = [found.brain]
    snr = metrics.snr_total(volume, tissues) if tissues else None
    if snr is None:
        missing["snr"] = "the result has no tissue or brain labels to measure it in"
    cnr = cjv = None
    if found.has_tissues:
        mu_wm, sd_wm, _ = metrics.tissue_stats(volume, found.wm)
        mu_gm, sd_gm, _ = metrics.tissue_stats(volume, found.gm)
        sd_air = metrics.tissue_stats(volume, found.air)[1] if found.air.any() else 0.0
        cnr = metrics.cnr(mu_wm, mu_gm, sd_air, sd_wm, sd_gm)
        cjv = metrics.cjv(mu_wm, mu_gm, sd_wm, sd_gm)
        for key, value in (("cnr", cnr), ("cjv", cjv)):
            if value is None:
                missing[key] = "white and grey matter have the same mean intensity"
    else:
        missing["cnr"] = missing["cjv"] = "the model has no white and grey matter classes"
    efc = metrics.efc(volume, found.fov)
    if efc is None:
        missing["efc"] = "the image is empty inside its field of view"
    fber = metrics.fber(volume, found.head, found.air) if found.head.any() else None
    if fber is None:
        missing["fber"] = _fber_missing(found)
    image = {"snr": snr, "cnr": cnr, "cjv": cjv, "efc": efc, "fber": fber}
    return {k: None if v is None else round(v, 4) for k, v in image.items()}, missing


def _fber_missing(found: Regions) -> str:
    if not found.head.any():
        return "no head was found in the image"
    if not found.air.any():
        return "the field of view has no air around the head"
    return ("the background is zero-filled (a masked or skull-stripped scan): there is no "
            "air noise to measure")


@dataclass(frozen=True)
class _Confidence:
    uncertainty: float | None = None
    per_label: dict | None = None   # label value -> (uncertainty, voxels)
    low_share: float | None = None


def _confidence(evidence: Evidence) -> _Confidence:
    """The model's uncertainty over its labels (nothing without a probability output)."""
    if evidence.probability is None or not evidence.meaning:
        return _Confidence()
    box = labelled_box(evidence.labels)
    if box is None:
        return _Confidence()
    labels = evidence.labels[box]
    confidence = confidence_map(evidence.probability[box], evidence.meaning)
    overall, per = label_uncertainty(labels, confidence)
    labelled = labels != 0
    low = float(np.count_nonzero(confidence[labelled] < 0.5) / labelled.sum()) \
        if labelled.any() else None
    return _Confidence(overall, per, low)


def _signals(evidence: Evidence, card, contrast: dict, reference, confidence,
             dropout: float) -> dict:
    tta = evidence.tta or {}
    # with test-time augmentation, the first run's (the baseline is of plain runs)
    uncertainty = tta.get("first_uncertainty", confidence.uncertainty)
    return {
        "uncertainty": _round(uncertainty),
        "reference_uncertainty": None if reference is None else reference.uncertainty,
        "reference_scan": None if reference is None else reference.scan,
        "low_confidence_share": _round(confidence.low_share),
        "largest_voxel_mm": _round(_largest_voxel(evidence.scan_affine)),
        "model_voxel_mm": _round(_largest_voxel(evidence.model_affine)),
        "contrast_ratio": contrast["ratio"],
        "head_contrast_ratio": contrast["head_ratio"],
        "dropout_fraction": dropout,
        "tta_agreement": tta.get("agreement"),
        # without a measured baseline, the mirrored run is compared with full agreement
        "reference_tta_agreement": (reference.tta_agreement if reference is not None
                                    and reference.tta_agreement is not None else 1.0),
        "tta_changed_voxels": tta.get("changed_voxels"),
        "volume_implausible": bool(volume_implausible(evidence.native_labels,
                                                      evidence.native_affine, card.task)),
    }


def _caps(contrast: dict, implausible: bool) -> dict:
    caps = {}
    if contrast["ok"] is False:
        caps["contrast"] = score.CAP_CONTRAST
    if implausible:
        caps["volume"] = score.CAP_VOLUME
    return caps


def _label_scores(confidence: _Confidence, card, reference, factors: dict,
                  caps: dict) -> dict:
    """Per class name: the score with that label's own confidence factor."""
    shared = {k: v for k, v in factors.items() if k != "confidence"}
    per = confidence.per_label or {}
    references = reference.labels if reference is not None else {}
    overall_ref = reference.uncertainty if reference is not None else None
    out = {}
    for entry in card.classes:
        index, name = int(entry["index"]), str(entry["name"])
        if index == 0 or (index not in per and name not in references):
            continue
        if index not in per:
            out[name] = 0.0  # the clean scan has this structure; this result does not
            continue
        factor = score.confidence_factor(per[index][0], references.get(name, overall_ref))
        out[name] = score.combine({**shared, "confidence": factor}, caps)
    return out


def _largest_voxel(affine) -> float:
    columns = np.asarray(affine, float)[:3, :3]
    return float(np.sqrt((columns ** 2).sum(axis=0)).max())


def _round(value, digits: int = 4):
    return None if value is None else round(float(value), digits)


def _finite(value):
    """`value` with every non-finite float replaced by None (JSON has no NaN)."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
