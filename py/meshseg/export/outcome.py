"""The one value every writer reads: a finished result and where it came from."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from meshseg.models.card import ModelCard


@dataclass(frozen=True)
class Outcome:
    """A result as the writers see it.

    Attributes
    ----------
    labels : ndarray of uint8
        Label voxels on the scan's own grid (the grid of ``image``).
    image : nibabel image
        The label image (its affine and header: anonymised, intent LABEL).
    scan : nibabel image or None
        The validated scan on the same grid (the report's background), if known.
    card : ModelCard
        The model that made the labels (class names, licence, ONNX sha256).
    rows : list of dict
        :func:`meshseg.stats.label_stats` rows (label, name, voxels, ml).
    name : str
        The input file (or series) name, as the user gave it.
    warnings, notices : list of str
        Plausibility warnings and notices of the run.
    provenance : dict
        :func:`meshseg.export.provenance.provenance` (versions, model, runtime, date).
    source : object
        Format-specific input facts (a DICOM series' path or datasets for DICOM SEG),
        None for a NIfTI/MGZ input.
    uncertainty : dict or None
        The run's ``{"lowConfidenceShare", "below"}`` when the model gives a confidence
        map (:attr:`meshseg.events.Result.uncertainty`), for the report.
    """

    labels: np.ndarray = field(repr=False)
    image: object = field(repr=False)
    scan: object = field(repr=False)
    card: ModelCard
    rows: list
    name: str
    warnings: list = field(default_factory=list)
    notices: list = field(default_factory=list)
    provenance: dict = field(default_factory=dict)
    source: object = field(default=None, repr=False)
    uncertainty: dict | None = None

    @property
    def affine(self) -> np.ndarray:
        return self.image.affine

    @property
    def classes(self) -> list:
        return self.card.classes


def from_result(result, card: ModelCard, scan=None, runtime: dict | None = None,
                source=None) -> Outcome:
    """The outcome of a pipeline :class:`~meshseg.events.Result` (CLI, batch)."""
    from meshseg.export.provenance import provenance

    return Outcome(labels=np.asarray(result.labels, dtype=np.uint8), image=result.image,
                   scan=scan, card=card, rows=list(result.stats),
                   name=str(result.scan_info.get("name", "")), warnings=list(result.warnings),
                   notices=list(result.notices),
                   provenance=provenance(card, result.scan_info, runtime),
                   source=source, uncertainty=getattr(result, "uncertainty", None))
