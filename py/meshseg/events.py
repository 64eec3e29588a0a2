"""What a segmentation job hands its driver: progress, inference requests, the result."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from meshseg.label_image import to_nifti_bytes


@dataclass(frozen=True)
class Progress:
    """A stage has started (``stage`` is one of :data:`meshseg.constants.STAGE_IDS`)."""

    stage: str
    message: str
    fraction: float | None = None
    kind: str = "progress"


@dataclass(frozen=True)
class Infer:
    """Run model `model_id` on `tensor` (float32, [1, 1, D, H, W]) and answer with its outputs.

    The answer is a dict of the card's declared outputs (``outputs``: name and kind),
    keyed by ONNX name or by kind, or plain uint8 labels (bytes-like or array).

    ``work`` is the job's record of this inference; the driver's measured seconds
    are added to it when it answers.
    """

    model_id: str
    tensor: np.ndarray
    step: int
    steps: int
    stage: str
    work: dict = field(repr=False)
    outputs: list = field(default_factory=list, repr=False)
    kind: str = "infer"

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.tensor.shape)


@dataclass
class Result:
    """What a finished job hands back.

    ``image`` is the label image (input grid, or model grid with
    ``space="conformed"``); ``quality`` is the public quality object
    (:func:`meshseg.quality.assess`, docs/quality.md; None for image outputs);
    ``mask_bytes`` is it as .nii.gz, ``nifti_bytes()`` as
    uncompressed .nii (for a viewer: no gzip round trip). ``timings`` are seconds
    per stage: Python work for every stage, plus the driver-measured model runs for
    ``premodel`` and ``inference``. ``reused`` lists the stages the scan session
    answered from its cache (no work done).
    """

    model_id: str
    space: str
    mask_name: str
    image: object = field(repr=False)
    stats: list[dict]
    stats_csv: str
    stats_json: str
    notices: list[str]
    warnings: list[str]
    timings: dict[str, float]
    scan_info: dict
    work: list[dict] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    kind: str = "labels"
    probability: object = field(default=None, repr=False)
    probability_meaning: str | None = None
    uncertainty: dict | None = None
    model_probability: object = field(default=None, repr=False)
    model_image: object = field(default=None, repr=False)
    quality: dict | None = None

    @property
    def labels(self) -> np.ndarray:
        """The label voxels (on the grid of :attr:`affine`)."""
        return np.asanyarray(self.image.dataobj)

    @property
    def affine(self) -> np.ndarray:
        return self.image.affine

    @cached_property
    def mask_bytes(self) -> bytes:
        """The label image as reproducible .nii.gz bytes."""
        return to_nifti_bytes(self.image)

    def nifti_bytes(self) -> bytes:
        """The label image as uncompressed .nii bytes."""
        return to_nifti_bytes(self.image, gzip=False)

    @property
    def probability_name(self) -> str | None:
        """File name of the probability image (``..._probability.nii.gz``), if any."""
        if self.probability is None:
            return None
        return self.mask_name.replace("_labels.nii.gz", "_probability.nii.gz")

    def probability_bytes(self, dtype: str = "float32", gzip: bool = True) -> bytes | None:
        """The probability image (float32, or uint8 with scl_slope 1/255) as NIfTI bytes."""
        if self.probability is None:
            return None
        if dtype == "float32":
            return to_nifti_bytes(self.probability, gzip=gzip)
        from meshseg.probability import probability_image

        data = np.asanyarray(self.probability.dataobj)
        return to_nifti_bytes(probability_image(data, self.probability, dtype), gzip=gzip)

    def to_dict(self) -> dict:
        """JSON-able summary (no bytes, no arrays)."""
        return {
            "model_id": self.model_id, "space": self.space, "mask_name": self.mask_name,
            "stats": self.stats, "notices": self.notices, "warnings": self.warnings,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "scan_info": self.scan_info, "work": self.work, "reused": self.reused,
            "kind": self.kind, "probability": self.probability_meaning,
            "uncertainty": self.uncertainty, "quality": self.quality,
        }


@dataclass(frozen=True)
class Done:
    """The job finished."""

    result: Result
    kind: str = "done"
