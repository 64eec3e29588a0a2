"""Build-time conversion of upstream weights to ONNX models and cards (extra ``convert``).

Parsing (``tfjs``, ``torch_zip``, ``sources``, ``cards``) needs only numpy; the
ONNX graph builder is imported when converting.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from meshseg.convert.cards import build_card
from meshseg.convert.sources import load_network, model_ids
from meshseg.models.card import ModelCard
from meshseg.models.index import index_to_json

ONNX_FILE = "model.onnx"


def convert_model(weights_dir: str | Path, out_dir: str | Path, model_id: str) -> ModelCard:
    """Convert one model: write ``<out>/<id>/model.onnx`` and ``card.json``.

    The graph has two outputs: ``labels`` (uint8 arg-max) and ``probability``
    (float32: foreground softmax for two-class models, confidence otherwise).

    Parameters
    ----------
    weights_dir : str or Path
        Folder holding ``brainchop/`` and ``arc-meshchop/`` (upstream files).
    out_dir : str or Path
        Destination; the card's ``onnx.file`` is relative to it.
    model_id : str
        One of :func:`model_ids`.

    Returns
    -------
    ModelCard

    Raises
    ------
    ModelError
        Missing weights, shapes that disagree or unsupported layers (names the file).
    """
    from meshseg.convert.onnx_graph import model_bytes  # onnx only when converting

    weights_dir, out_dir = Path(weights_dir), Path(out_dir)
    network = load_network(weights_dir, model_id)
    meaning = probability_meaning(model_id)
    data = model_bytes(network.layers, "labels", model_id, probability=meaning)
    target = out_dir / model_id
    target.mkdir(parents=True, exist_ok=True)
    (target / ONNX_FILE).write_bytes(data)
    onnx_info = {"file": f"{model_id}/{ONNX_FILE}", "sha256": hashlib.sha256(data).hexdigest(),
                 "input": "input", "opset": 17,
                 "outputs": [{"name": "labels", "kind": "labels"},
                             {"name": "probability", "kind": "probability", "meaning": meaning}]}
    card = build_card(weights_dir, network, onnx_info)
    card_text = json.dumps(card.to_dict(), indent=2) + "\n"
    (target / "card.json").write_text(card_text, encoding="utf-8")
    return card


def probability_meaning(model_id: str) -> str:
    """The catalog's probability output: ``foreground`` (two classes) or ``confidence``."""
    from meshseg.models import catalog

    facts = catalog.STROKE if model_id == catalog.STROKE["id"] else catalog.MODELS[model_id]
    return facts["probability"]


def convert_all(weights_dir: str | Path, out_dir: str | Path) -> list[ModelCard]:
    """Convert every model and write ``<out>/index.json`` listing all cards."""
    cards = [convert_model(weights_dir, out_dir, model_id) for model_id in model_ids()]
    (Path(out_dir) / "index.json").write_text(index_to_json(cards), encoding="utf-8")
    return cards


__all__ = ["convert_all", "convert_model", "load_network", "model_ids"]
