"""The model card: everything the app needs to know about one model.

A card is plain data (JSON) written by the converter beside each ONNX file, or
written by hand for a user's own model, and read by the CLI and the web worker.

Version 2 (``card_version: 2``, schema in ``docs/model-card.schema.json``) splits
what the **runtime** needs (input grid and orientation, normalisation with its
parameters, crop rule, receptive radius, declared outputs, the ONNX file) from
**provenance** (source, licence, hashes, network facts, accuracy figures), which
nothing at run time reads. Version 1 cards (flat, written by older builds) are
still read: :meth:`ModelCard.from_dict` converts them.

In Python a card is one flat, frozen :class:`ModelCard` (the attributes every
caller used before version 2); :meth:`ModelCard.to_dict` writes version 2.
:func:`validate_card` checks a version 2 dict and names the bad field
(``runtime.normalisation.method``).
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass, field

from meshseg.errors import ModelError

CARD_VERSION = 2
NORMALISATIONS = ("minmax", "quantile", "zscore", "none")
ORIENTATION_AXES = ("LR", "AP", "SI")
OUTPUT_KINDS = ("labels", "probability", "image")
PROBABILITY_MEANINGS = ("foreground", "confidence")
DEFAULT_OUTPUTS = ({"name": "labels", "kind": "labels"},)
DEFAULT_QUANTILES = {"low": 0.05, "high": 0.95}


def _default_outputs() -> list:
    return [dict(o) for o in DEFAULT_OUTPUTS]


@dataclass(frozen=True)
class ModelCard:
    """Facts about one model (flat view of a version 2 card).

    Runtime attributes
    ------------------
    id : str
        Model id (``model5_gw_ae``, or a user's own id).
    classes : list of dict
        ``{"index": int, "name": str, "color": [r, g, b]}``, index = class id; empty
        for a model with only an ``image`` output.
    normalisation : str
        ``minmax``, ``quantile``, ``zscore`` or ``none`` (see ``meshseg.intensity``);
        ``normalisation_parameters`` holds its parameters (``quantile``: ``low``,
        ``high``).
    conform : dict
        ``shape``, ``voxel_size``, ``orientation`` (axis codes) and
        ``scale_to_uint8`` (FreeSurfer-style 0..255 scaling before normalising).
    pre_model, crop, crop_padding, crop_threshold, crop_context
        The crop rule: a brain-mask model run first (``pre_model``), or upstream's
        intensity box (``crop_threshold`` of the maximum, or above zero), plus
        ``crop_padding``; ``crop_context`` input voxels are added around the box for
        the network to see (= ``receptive_radius`` for convolution-only networks,
        which makes the crop exact).
    receptive_radius : int or None
        Voxels each output depends on in every direction; None when a layer
        normalises over the whole volume (not tileable, crop not exact).
    channels, flops_per_voxel : int
        Widest hidden activation (tile planning) and cost per voxel.
    contrast : {"T1", "T2", "any"}
        The tissue contrast the model was trained on (``runtime.contrast``): the
        quality check compares the scan's with it (``any``: no check).
    outputs : list of dict
        ``{"name": ONNX output name, "kind": "labels" | "probability" | "image"}``;
        a probability output has ``meaning`` ``foreground`` (two-class softmax of
        class 1) or ``confidence`` (max softmax over the classes).
    onnx : dict
        ``file`` (relative to the models folder), ``sha256``, ``input`` (name), ``opset``.

    Provenance attributes (never read at run time)
    ----------------------------------------------
    title, task, description, expects, notes, licence, source, metrics,
    parameters, layers, activation, dilations.
    """

    id: str
    title: str = ""
    task: str = ""
    description: str = ""
    classes: list = field(default_factory=list)
    normalisation: str = "minmax"
    conform: dict = field(default_factory=dict)
    pre_model: str | None = None
    crop_padding: int = 0
    crop_threshold: float | None = None
    layers: int = 0
    channels: int = 0
    activation: str = ""
    dilations: list = field(default_factory=list)
    parameters: int = 0
    flops_per_voxel: int = 0
    receptive_radius: int | None = None
    licence: str = ""
    source: dict = field(default_factory=dict)
    onnx: dict = field(default_factory=dict)
    expects: str = ""
    metrics: dict = field(default_factory=dict)
    notes: str = ""
    crop: bool = True
    crop_context: int = 0
    outputs: list = field(default_factory=_default_outputs)
    normalisation_parameters: dict = field(default_factory=dict)
    contrast: str = "any"

    def __post_init__(self) -> None:
        if "output" in self.onnx:  # version 1: the labels output's name lived here
            onnx = dict(self.onnx)
            name = onnx.pop("output")
            outputs = [dict(o, name=name) if o["kind"] == "labels" else o for o in self.outputs]
            object.__setattr__(self, "onnx", onnx)
            object.__setattr__(self, "outputs", outputs)
        validate_card(self.to_dict())

    @property
    def n_classes(self) -> int:
        """Number of output classes (labels 0..n_classes-1)."""
        return len(self.classes)

    def output(self, kind: str) -> dict | None:
        """The declared output of `kind` (``labels``, ``probability``, ``image``), or None."""
        return next((o for o in self.outputs if o["kind"] == kind), None)

    @property
    def kind(self) -> str:
        """``labels`` (segmentation) or ``image`` (image-to-image)."""
        return "labels" if self.output("labels") else "image"

    def to_dict(self) -> dict:
        """The version 2 card as a plain JSON-serialisable dict (deep copy)."""
        flat = copy.deepcopy(dataclasses.asdict(self))
        onnx = dict(flat["onnx"])
        onnx.pop("output", None)
        return {
            "card_version": CARD_VERSION,
            "id": flat["id"], "title": flat["title"], "task": flat["task"],
            "description": flat["description"], "expects": flat["expects"],
            "notes": flat["notes"], "classes": flat["classes"],
            "runtime": {
                "onnx": onnx,
                "input": dict(flat["conform"]),
                "normalisation": {"method": flat["normalisation"],
                                  "parameters": flat["normalisation_parameters"]},
                "crop": {"enabled": flat["crop"], "pre_model": flat["pre_model"],
                         "padding": flat["crop_padding"], "threshold": flat["crop_threshold"],
                         "context": flat["crop_context"]},
                "receptive_radius": flat["receptive_radius"],
                "outputs": flat["outputs"],
                "contrast": flat["contrast"],
                "cost": {"channels": flat["channels"],
                         "flops_per_voxel": flat["flops_per_voxel"]},
            },
            "provenance": {
                "licence": flat["licence"], "source": flat["source"],
                "parameters": flat["parameters"], "metrics": flat["metrics"],
                "network": {"layers": flat["layers"], "activation": flat["activation"],
                            "dilations": flat["dilations"]},
            },
        }

    @classmethod
    def from_dict(cls, data: dict) -> ModelCard:
        """Card from a version 2 dict, or a version 1 (flat) dict written by older builds.

        Raises
        ------
        ModelError
            Naming the bad field (``model card X: runtime.input.shape: ...``).
        """
        if not isinstance(data, dict):
            raise ModelError("model card: expected a JSON object.")
        if "card_version" not in data:
            return cls._from_v1(data)
        validate_card(data)
        return cls(**_flatten(data))

    @classmethod
    def _from_v1(cls, data: dict) -> ModelCard:
        names = {f.name for f in dataclasses.fields(cls)} - {"outputs",
                                                              "normalisation_parameters"}
        required = {"id", "title", "task", "description", "classes", "normalisation",
                    "conform", "pre_model", "crop_padding", "crop_threshold", "layers",
                    "channels", "activation", "dilations", "parameters", "flops_per_voxel",
                    "receptive_radius", "licence", "source"}
        model_id = data.get("id", "?")
        unknown = sorted(set(data) - names)
        missing = sorted(required - set(data))
        if unknown or missing:
            raise ModelError(
                f"model card {model_id}: unknown keys {unknown}, missing keys {missing}; "
                "re-run the converter (python -m meshseg convert).")
        flat = copy.deepcopy(data)
        output = flat.get("onnx", {}).get("output", "labels")
        flat["outputs"] = [{"name": output, "kind": "labels"}]
        return cls(**flat)


def _flatten(data: dict) -> dict:
    data = copy.deepcopy(data)
    runtime, prov = data["runtime"], data.get("provenance", {})
    crop, cost = runtime.get("crop", {}), runtime.get("cost", {})
    norm = runtime["normalisation"]
    network = prov.get("network", {})
    return {
        "id": data["id"], "title": data.get("title", data["id"]), "task": data.get("task", ""),
        "description": data.get("description", ""), "expects": data.get("expects", ""),
        "notes": data.get("notes", ""), "classes": data.get("classes", []),
        "onnx": runtime["onnx"], "conform": runtime["input"],
        "normalisation": norm["method"], "normalisation_parameters": norm.get("parameters", {}),
        "crop": crop.get("enabled", False), "pre_model": crop.get("pre_model"),
        "crop_padding": crop.get("padding", 0), "crop_threshold": crop.get("threshold"),
        "crop_context": crop.get("context", 0),
        "receptive_radius": runtime.get("receptive_radius"), "outputs": runtime["outputs"],
        "contrast": runtime.get("contrast", "any"),
        "channels": cost.get("channels", 0), "flops_per_voxel": cost.get("flops_per_voxel", 0),
        "licence": prov.get("licence", ""), "source": prov.get("source", {}),
        "parameters": prov.get("parameters", 0), "metrics": prov.get("metrics", {}),
        "layers": network.get("layers", 0), "activation": network.get("activation", ""),
        "dilations": network.get("dilations", []),
    }


# --- validation of a version 2 dict: every failure names its field -------------------

TOP = {"card_version", "id", "title", "task", "description", "expects", "notes", "classes",
       "runtime", "provenance"}
RUNTIME = {"onnx", "input", "normalisation", "crop", "receptive_radius", "outputs", "cost",
           "contrast"}
CONTRASTS = ("T1", "T2", "any")
RUNTIME_REQUIRED = {"onnx", "input", "normalisation", "outputs"}
INPUT = {"shape", "voxel_size", "orientation", "scale_to_uint8"}
CROP = {"enabled", "pre_model", "padding", "threshold", "context"}
ONNX = {"file", "sha256", "input", "opset"}


class _Check:
    def __init__(self, model_id) -> None:
        self.model_id = model_id

    def fail(self, path: str, problem: str):
        raise ModelError(f"model card {self.model_id}: {path}: {problem}")

    def obj(self, value, path: str, allowed: set, required: set = frozenset()) -> dict:
        if not isinstance(value, dict):
            self.fail(path, "must be an object")
        for key in sorted(set(value) - allowed):
            self.fail(f"{path}.{key}" if path else key, "unknown field")
        for key in sorted(required - set(value)):
            self.fail(f"{path}.{key}" if path else key, "missing (required)")
        return value

    def string(self, value, path: str, empty: bool = True) -> None:
        if not isinstance(value, str) or (not empty and not value):
            self.fail(path, "must be a " + ("string" if empty else "non-empty string"))

    def integer(self, value, path: str, low: int = 0, none: bool = False) -> None:
        if none and value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            self.fail(path, f"must be an integer >= {low}" + (" or null" if none else ""))

    def number(self, value, path: str, low: float, high: float, none: bool = False) -> None:
        if none and value is None:
            return
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or not math.isfinite(value) or not low <= value <= high):
            self.fail(path, f"must be a number in {low:g}..{high:g}"
                      + (" or null" if none else ""))


def validate_card(data: dict) -> None:
    """Check a version 2 card dict; ModelError naming the first bad field."""
    c = _Check(data.get("id", "?") if isinstance(data, dict) else "?")
    c.obj(data, "", TOP, {"card_version", "id", "runtime"})
    if data["card_version"] != CARD_VERSION:
        c.fail("card_version", f"must be {CARD_VERSION} (version 1 cards have no card_version)")
    c.string(data["id"], "id", empty=False)
    for key in ("title", "task", "description", "expects", "notes"):
        if key in data:
            c.string(data[key], key)
    runtime = c.obj(data["runtime"], "runtime", RUNTIME, RUNTIME_REQUIRED)
    _check_onnx(c, runtime["onnx"])
    _check_input(c, runtime["input"])
    _check_normalisation(c, runtime["normalisation"])
    _check_crop(c, runtime.get("crop", {}))
    c.integer(runtime.get("receptive_radius"), "runtime.receptive_radius", none=True)
    if runtime.get("contrast", "any") not in CONTRASTS:
        c.fail("runtime.contrast", f"must be one of {', '.join(CONTRASTS)}")
    cost = c.obj(runtime.get("cost", {}), "runtime.cost", {"channels", "flops_per_voxel"})
    for key, value in cost.items():
        c.integer(value, f"runtime.cost.{key}")
    kinds = _check_outputs(c, runtime["outputs"])
    classes = data.get("classes", [])
    _check_classes(c, classes, kinds)
    if "probability" in kinds:
        n = kinds["probability"]
        if runtime["outputs"][n]["meaning"] == "foreground" and len(classes) != 2:
            c.fail(f"runtime.outputs[{n}].meaning",
                   "foreground probability needs a two-class model; use confidence")
    if "provenance" in data:
        c.obj(data["provenance"], "provenance",
              {"licence", "source", "parameters", "metrics", "network"})


def _check_onnx(c: _Check, onnx) -> None:
    c.obj(onnx, "runtime.onnx", ONNX, {"file"})
    c.string(onnx["file"], "runtime.onnx.file", empty=False)
    if "sha256" in onnx and not (isinstance(onnx["sha256"], str) and len(onnx["sha256"]) == 64):
        c.fail("runtime.onnx.sha256", "must be 64 hex digits")
    if "input" in onnx:
        c.string(onnx["input"], "runtime.onnx.input", empty=False)
    if "opset" in onnx:
        c.integer(onnx["opset"], "runtime.onnx.opset", low=1)


def _check_input(c: _Check, grid) -> None:
    c.obj(grid, "runtime.input", INPUT, {"shape", "voxel_size", "orientation"})
    shape, size = grid["shape"], grid["voxel_size"]
    if not (isinstance(shape, list) and len(shape) == 3
            and all(isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= 1024
                    for n in shape)):
        c.fail("runtime.input.shape", "must be 3 integers in 1..1024")
    if not (isinstance(size, list) and len(size) == 3
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v <= 20
                    for v in size)):
        c.fail("runtime.input.voxel_size", "must be 3 numbers in mm (0 < size <= 20)")
    code = grid["orientation"]
    if not (isinstance(code, str) and len(code) == 3
            and sorted(next((i for i, pair in enumerate(ORIENTATION_AXES) if ch in pair), -1)
                       for ch in code) == [0, 1, 2]):
        c.fail("runtime.input.orientation", "must be 3 axis codes such as RAS or LIA")
    if not isinstance(grid.get("scale_to_uint8", False), bool):
        c.fail("runtime.input.scale_to_uint8", "must be true or false")


def _check_normalisation(c: _Check, norm) -> None:
    c.obj(norm, "runtime.normalisation", {"method", "parameters"}, {"method"})
    if norm["method"] not in NORMALISATIONS:
        c.fail("runtime.normalisation.method",
               f"unknown normalisation {norm['method']!r}; use one of {', '.join(NORMALISATIONS)}")
    params = norm.get("parameters", {})
    allowed = {"low", "high"} if norm["method"] == "quantile" else set()
    c.obj(params, "runtime.normalisation.parameters", allowed)
    for key, value in params.items():
        c.number(value, f"runtime.normalisation.parameters.{key}", 0, 1)
    if params.get("low", 0) >= params.get("high", 1):
        c.fail("runtime.normalisation.parameters", "low must be below high")


def _check_crop(c: _Check, crop) -> None:
    c.obj(crop, "runtime.crop", CROP)
    if not isinstance(crop.get("enabled", False), bool):
        c.fail("runtime.crop.enabled", "must be true or false")
    if crop.get("pre_model") is not None:
        c.string(crop["pre_model"], "runtime.crop.pre_model", empty=False)
    for key in ("padding", "context"):
        c.integer(crop.get(key, 0), f"runtime.crop.{key}")
    c.number(crop.get("threshold"), "runtime.crop.threshold", 0, 1, none=True)


def _check_outputs(c: _Check, outputs) -> dict:
    if not isinstance(outputs, list) or not outputs:
        c.fail("runtime.outputs", "must be a non-empty list")
    kinds = {}
    for n, out in enumerate(outputs):
        path = f"runtime.outputs[{n}]"
        c.obj(out, path, {"name", "kind", "meaning"}, {"name", "kind"})
        c.string(out["name"], f"{path}.name", empty=False)
        if out["kind"] not in OUTPUT_KINDS:
            c.fail(f"{path}.kind", f"unknown output kind {out['kind']!r}; use one of "
                   f"{', '.join(OUTPUT_KINDS)}")
        if out["kind"] in kinds:
            c.fail(f"{path}.kind", f"a second {out['kind']} output")
        if out["kind"] == "probability":
            if out.get("meaning") not in PROBABILITY_MEANINGS:
                c.fail(f"{path}.meaning", f"must be one of {', '.join(PROBABILITY_MEANINGS)}")
        elif "meaning" in out:
            c.fail(f"{path}.meaning", "only a probability output has a meaning")
        kinds[out["kind"]] = n
    if "labels" not in kinds and "image" not in kinds:
        c.fail("runtime.outputs", "declares neither a labels nor an image output")
    if "probability" in kinds and "labels" not in kinds:
        c.fail(f"runtime.outputs[{kinds['probability']}]",
               "a probability output needs a labels output")
    return kinds


def _check_classes(c: _Check, classes, kinds: dict) -> None:
    if not isinstance(classes, list):
        c.fail("classes", "must be a list")
    if "labels" in kinds and len(classes) < 2:
        c.fail("classes", "a labels output needs at least 2 classes (0 = background)")
    if len(classes) > 256:
        c.fail("classes", "at most 256 classes (uint8 labels)")
    for n, cls in enumerate(classes):
        c.obj(cls, f"classes[{n}]", {"index", "name", "color"}, {"index", "name", "color"})
        if cls["index"] != n:
            c.fail(f"classes[{n}].index", f"must be {n} (indices are 0..{len(classes) - 1})")
        c.string(cls["name"], f"classes[{n}].name", empty=False)
        color = cls["color"]
        if not (isinstance(color, list) and len(color) == 3
                and all(isinstance(v, int) and 0 <= v <= 255 for v in color)):
            c.fail(f"classes[{n}].color", "must be 3 integers 0..255")
