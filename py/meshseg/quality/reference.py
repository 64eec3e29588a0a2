"""What each bundled model gives on a clean scan: the baseline the score compares with.

``reference.json`` holds, per model id and ONNX sha256, the mean uncertainty over
its labels (overall and per label) and the left-right agreement of test-time
augmentation, measured on ``t1_crop.nii.gz`` (adult T1, 1 mm) by
``python -m meshseg.bench.quality --reference``. A model without an entry (a user's
own model, or a changed ONNX file) has no baseline: the score then leaves out the
signals that need one and says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

REFERENCE_FILE = Path(__file__).with_name("reference.json")


@dataclass(frozen=True)
class Reference:
    """A model's clean-scan baseline."""

    uncertainty: float
    labels: dict = field(default_factory=dict)   # class name -> uncertainty
    tta_agreement: float | None = None
    scan: str = ""


def load_references(path=REFERENCE_FILE) -> dict:
    """All entries of the reference file (``{model_id: {...}}``; empty if absent)."""
    path = Path(path)
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8")).get("models", {})


def reference_for(card, references: dict | None = None) -> Reference | None:
    """The card's baseline, when one was measured on the same ONNX file.

    Examples
    --------
    >>> class Card: id, onnx = "m", {"sha256": "ab"}
    >>> refs = {"m": {"onnx_sha256": "ab", "uncertainty": 0.1, "labels": {}, "scan": "s"}}
    >>> reference_for(Card, refs).uncertainty, reference_for(Card, {}) is None
    (0.1, True)
    """
    entries = load_references() if references is None else references
    entry = entries.get(card.id)
    if not entry or entry.get("onnx_sha256") != (card.onnx or {}).get("sha256"):
        return None
    return Reference(uncertainty=float(entry["uncertainty"]), labels=dict(entry.get("labels", {})),
                     tta_agreement=entry.get("tta_agreement"), scan=str(entry.get("scan", "")))
