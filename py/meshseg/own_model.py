"""Bring your own model: an ONNX file plus a version 2 card, validated before any run.

Every failure is an :class:`OwnModelError` whose ``code`` names it (the message
starts with it): ``card`` (the card is not valid JSON or breaks the schema; the
message names the field), ``not-onnx``, ``too-large`` (more than the browser can
hold), ``opset`` or ``operator`` (not supported by onnxruntime-web),
``input-shape`` (rank or shape not matching the card's grid) and ``output-missing``
(a declared output is not in the model, or has the wrong element type or shape).
The page applies the same rules in ``site/js/ui/own-model.js``.
"""

from __future__ import annotations

import json
from pathlib import Path

from meshseg.errors import ModelError
from meshseg.models.card import ModelCard

MAX_BYTES = 1 << 30  # 1 GiB: a wasm32 heap must hold the model and the activations
MAX_OPSET = 22  # onnxruntime-web 1.30 (wasm) implements opsets up to this one
ONNX_DOMAINS = ("", "ai.onnx")
# Operators of the ONNX standard that onnxruntime's CPU (wasm) kernels do not implement.
UNSUPPORTED_OPS = frozenset({
    "ImageDecoder", "RegexFullMatch", "StringConcat", "StringSplit", "Gradient",
    "Momentum", "Adagrad", "Adam", "TfIdfVectorizer", "Optional", "OptionalGetElement",
})
LABEL_TYPES = {2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64"}
FLOAT = 1


class OwnModelError(ModelError):
    """A user's model or card that cannot run; ``code`` names the failure."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


def read_card(text: str | bytes, source: str = "card.json") -> ModelCard:
    """A version 2 card from JSON text; ``OwnModelError('card', ...)`` naming the field."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise OwnModelError("card", f"{source} is not valid JSON ({exc}).") from exc
    if not isinstance(data, dict) or data.get("card_version") != 2:
        raise OwnModelError("card", f"{source}: card_version must be 2 (see "
                            "docs/model-card.schema.json).")
    try:
        card = ModelCard.from_dict(data)
    except ModelError as exc:
        raise OwnModelError("card", str(exc)) from exc
    if card.pre_model:
        raise OwnModelError("card", f"model card {card.id}: runtime.crop.pre_model: your own "
                            "model cannot use a pre-model.")
    return card


def check_model(data: bytes, card: ModelCard, name: str = "model.onnx",
                max_bytes: int = MAX_BYTES) -> dict:
    """Check ONNX bytes against `card`; returns ``{"opset", "input", "outputs", "bytes"}``.

    Raises
    ------
    OwnModelError
        The first failure, named by its code.
    """
    if len(data) > max_bytes:
        raise OwnModelError("too-large", f"{name} is {len(data) / 2**20:.0f} MiB; the browser "
                            f"holds models up to {max_bytes / 2**20:.0f} MiB.")
    import onnx

    try:
        model = onnx.load_model_from_string(bytes(data))
    except Exception as exc:  # noqa: BLE001 - any parse failure means not ONNX
        raise OwnModelError("not-onnx", f"{name} is not an ONNX model ({exc}).") from exc
    if not model.graph.node or not model.opset_import:
        raise OwnModelError("not-onnx", f"{name} is not an ONNX model (no graph).")
    opset = _check_opset(model, name)
    _check_operators(model, name)
    input_name = _check_input(model, card, name)
    outputs = _check_outputs(model, card, name)
    return {"opset": opset, "input": input_name, "outputs": outputs, "bytes": len(data)}


def _check_opset(model, name: str) -> int:
    opset = 0
    for entry in model.opset_import:
        if entry.domain in ONNX_DOMAINS:
            opset = entry.version
        elif entry.domain != "com.microsoft":
            raise OwnModelError("operator", f"{name} uses operator domain {entry.domain!r}, "
                                "which onnxruntime-web does not implement.")
    if opset > MAX_OPSET:
        raise OwnModelError("opset", f"{name} uses opset {opset}; onnxruntime-web supports up "
                            f"to {MAX_OPSET}. Export it with opset {MAX_OPSET} or lower.")
    return opset


def _check_operators(model, name: str) -> None:
    from onnx import defs

    for node in model.graph.node:
        if node.domain not in ONNX_DOMAINS:
            raise OwnModelError("operator", f"{name}: node {node.name or node.op_type} uses "
                                f"{node.domain}.{node.op_type}, which onnxruntime-web does "
                                "not implement.")
        if node.op_type in UNSUPPORTED_OPS or not defs.has(node.op_type):
            raise OwnModelError("operator", f"{name}: operator {node.op_type} is not supported "
                                "by onnxruntime-web.")


def _dims(value_info) -> list:
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
            for d in value_info.type.tensor_type.shape.dim]


def _check_input(model, card: ModelCard, name: str) -> str:
    initialisers = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initialisers]
    wanted = card.onnx.get("input")
    if wanted:
        inputs = [i for i in inputs if i.name == wanted] or inputs
    if len(inputs) != 1 or (wanted and inputs[0].name != wanted):
        raise OwnModelError("input-shape", f"{name} has inputs {[i.name for i in inputs]}; "
                            f"one float32 input{f' named {wanted!r}' if wanted else ''} "
                            "[1, 1, D, H, W] is expected.")
    value = inputs[0]
    dims = _dims(value)
    expected = [1, 1, *card.conform["shape"]]
    if value.type.tensor_type.elem_type != FLOAT or len(dims) != 5:
        raise OwnModelError("input-shape", f"{name}: input {value.name} is rank {len(dims)}; "
                            "a float32 [1, 1, D, H, W] tensor is expected.")
    for axis, (got, want) in enumerate(zip(dims, expected, strict=True)):
        if isinstance(got, int) and got != 0 and got != want:
            raise OwnModelError("input-shape", f"{name}: input {value.name} has shape "
                                f"{dims}; the card's grid needs {expected} (axis {axis}).")
    return value.name


def _check_outputs(model, card: ModelCard, name: str) -> list:
    found = {o.name: o for o in model.graph.output}
    spatial = list(card.conform["shape"])
    checked = []
    for output in card.outputs:
        value = found.get(output["name"])
        if value is None:
            raise OwnModelError("output-missing", f"{name} has no output {output['name']!r} "
                                f"(the card's {output['kind']} output); it has "
                                f"{sorted(found)}.")
        elem = value.type.tensor_type.elem_type
        dims = _dims(value)
        if output["kind"] == "labels" and elem not in LABEL_TYPES:
            raise OwnModelError("output-missing", f"{name}: output {output['name']} is not "
                                "integer labels (uint8 expected).")
        if output["kind"] != "labels" and elem != FLOAT:
            raise OwnModelError("output-missing", f"{name}: output {output['name']} is not "
                                f"float32, as a {output['kind']} output must be.")
        tail = dims[-3:]
        if len(dims) not in (4, 5) or any(
                isinstance(g, int) and g != 0 and g != w for g, w in zip(tail, spatial,
                                                                       strict=True)):
            raise OwnModelError("output-missing", f"{name}: output {output['name']} has shape "
                                f"{dims}; [1, D, H, W] or [1, 1, D, H, W] on the card's grid "
                                "is expected.")
        checked.append({**output, "shape": dims})
    return checked


def load_own_model(model_path, card_path) -> tuple[ModelCard, Path]:
    """Read and check a user's ONNX file and card (the CLI's ``--model-file``, ``--card``)."""
    model_path, card_path = Path(model_path), Path(card_path)
    card = read_card(card_path.read_bytes(), card_path.name)
    check_model(model_path.read_bytes(), card, model_path.name)
    return card, model_path
