"""The model card: everything the app needs to know about one segmentation model.

A card is plain data (JSON round trip) written by the converter beside each ONNX
file and read by the CLI and the web worker. It says what the model segments,
how the scan must be prepared (conform, normalisation, optional brain-mask
pre-model and crop), where the weights came from (with checksums) and what the
network costs to run.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field

from meshseg.errors import ModelError

NORMALISATIONS = ("minmax", "quantile")


@dataclass(frozen=True)
class ModelCard:
    """Facts about one model, as stored in ``card.json``.

    Attributes
    ----------
    id : str
        Upstream folder name (``model5_gw_ae``) or ``meshnet26_stroke``.
    title, task, description : str
        Display name, short task tag and one-paragraph description.
    classes : list of dict
        ``{"index": int, "name": str, "color": [r, g, b]}``, index = class id.
    normalisation : str
        ``"minmax"`` or ``"quantile"`` (see ``meshseg.intensity``).
    conform : dict
        ``shape``, ``voxel_size``, ``orientation`` (axis codes) and
        ``scale_to_uint8`` (FreeSurfer-style 0..255 scaling before normalising).
    pre_model : str or None
        Id of the brain-mask model to run first and crop to, if any.
    crop_padding : int
        Voxels added around the pre-model's mask bounding box.
    crop_threshold : float or None
        Upstream's crop threshold (fraction of the maximum), when it has one.
    layers, channels : int
        Convolution layers and hidden feature maps.
    activation : str
        Hidden activation (``relu``, ``elu``, ``gelu``).
    dilations : list of int
        Dilation of every convolution layer, in order.
    parameters : int
        Trainable parameters of the source model.
    flops_per_voxel : int
        2 x multiply-accumulates per output voxel of the whole network.
    receptive_radius : int or None
        Voxels each output depends on in every direction (sum over layers of
        dilation x (kernel - 1) / 2); None when a layer normalises over the whole
        volume, so outputs depend on every voxel and the volume cannot be tiled.
    licence : str
        Licence of the weights.
    source : dict
        ``repo``, ``commit``, ``folder`` (upstream), ``local`` (folder inside the
        weights directory) and ``files`` ``{name: sha256}``.
    onnx : dict
        ``file``, ``sha256`` and ``output`` (``"labels"``).
    expects : str
        Which scans the model was trained for.
    metrics : dict
        Published held-out scores, if any.
    notes : str
        Anything a user should know (choices made during conversion).
    crop : bool
        Whether inference runs on the bounding box of a mask (pre-model output,
        intensity threshold, or non-zero input) plus ``crop_padding``, as upstream
        brainchop does; False for models trained on the whole grid (stroke).
    crop_context : int
        Input voxels added around the crop box (clipped to the grid) for the
        network to see; their labels are discarded and only the box is pasted
        back. Set to ``receptive_radius`` for convolution-only networks, so every
        label inside the box equals a whole-volume run (intensities are normalised
        over the whole conformed volume before the crop); 0 when the network
        normalises over its input (``receptive_radius`` None), where no margin
        makes the crop exact and upstream's box is kept.
    """

    id: str
    title: str
    task: str
    description: str
    classes: list
    normalisation: str
    conform: dict
    pre_model: str | None
    crop_padding: int
    crop_threshold: float | None
    layers: int
    channels: int
    activation: str
    dilations: list
    parameters: int
    flops_per_voxel: int
    receptive_radius: int | None
    licence: str
    source: dict
    onnx: dict = field(default_factory=dict)
    expects: str = ""
    metrics: dict = field(default_factory=dict)
    notes: str = ""
    crop: bool = True
    crop_context: int = 0

    def __post_init__(self) -> None:
        if self.normalisation not in NORMALISATIONS:
            raise ModelError(
                f"model {self.id}: unknown normalisation {self.normalisation!r}; "
                f"use one of {', '.join(NORMALISATIONS)}."
            )
        indices = [c["index"] for c in self.classes]
        if indices != list(range(len(indices))):
            raise ModelError(f"model {self.id}: class indices must be 0..{len(indices) - 1}.")

    @property
    def n_classes(self) -> int:
        """Number of output classes (labels 0..n_classes-1)."""
        return len(self.classes)

    def to_dict(self) -> dict:
        """Plain JSON-serialisable dict (deep copy)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ModelCard:
        """Card from a dict as written by :meth:`to_dict`.

        Raises
        ------
        ModelError
            When keys are missing or unknown.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        required = {
            f.name for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        }
        model_id = data.get("id", "?")
        unknown = sorted(set(data) - names)
        missing = sorted(required - set(data))
        if unknown or missing:
            raise ModelError(
                f"model card {model_id}: unknown keys {unknown}, missing keys {missing}; "
                "re-run the converter (python -m meshseg convert)."
            )
        return cls(**copy.deepcopy(data))
