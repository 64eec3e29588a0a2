"""Model cards from the catalog and the parsed weights (no onnx needed)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from meshseg.convert.layers import ConvLayer, count_macs_per_voxel
from meshseg.convert.tfjs import read_colormap
from meshseg.errors import ModelError
from meshseg.models import catalog
from meshseg.models.card import ModelCard


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def brainchop_classes(folder: Path, facts: dict) -> list[dict]:
    """Classes of a brainchop model from its colormap (or the catalog's names)."""
    if facts["colormap"] is not None:
        return read_colormap(folder / facts["colormap"])
    names = facts["class_names"]
    colours = read_colormap(folder.parent / "model5_gw_ae" / "colormap3.json")
    return [{"index": i, "name": n, "color": colours[i]["color"]} for i, n in enumerate(names)]


def _network_facts(layers: list[ConvLayer]) -> dict:
    hidden = layers[:-1]
    return {
        "layers": len(layers),
        "channels": int(hidden[0].weight.shape[0]) if hidden else 0,
        "activation": hidden[0].activation if hidden else "linear",
        "dilations": [layer.dilation for layer in layers],
        "flops_per_voxel": 2 * count_macs_per_voxel(layers),
        "receptive_radius": None if any(layer.instance_norm for layer in layers)
        else int(sum(layer.padding for layer in layers)),
    }


def brainchop_card(model_id: str, folder: Path, weights_root: Path, layers: list[ConvLayer],
                   parameters: int, onnx_info: dict) -> ModelCard:
    """Card of a brainchop model folder."""
    facts = catalog.MODELS[model_id]
    classes = brainchop_classes(folder, facts)
    if len(classes) != layers[-1].weight.shape[0]:
        raise ModelError(f"{folder}: {len(classes)} class names but the network has "
                         f"{layers[-1].weight.shape[0]} outputs.")
    files = {p.name: sha256_file(p) for p in sorted(folder.iterdir()) if p.is_file()}
    up = catalog.BRAINCHOP
    source = {"folder": f"{up['folder']}/{model_id}", "upstream_ids": facts["upstream_ids"]}
    return _card(model_id, facts, up, classes, layers, parameters, onnx_info, metrics={},
                 crop=True, source=_source(up, folder, weights_root, files, source))


def stroke_card(folder: Path, weights_root: Path, layers: list[ConvLayer], parameters: int,
                onnx_info: dict) -> ModelCard:
    """Card of the arc-meshchop MeshNet-26 stroke model."""
    facts, up = catalog.STROKE, catalog.ARC_MESHCHOP
    results_path = folder / facts["results"]
    if not results_path.is_file():
        raise ModelError(f"{results_path}: held-out results missing.")
    results = json.loads(results_path.read_text(encoding="utf-8"))
    metrics = {key: results[key] for key in ("test_dice", "test_avd", "test_mcc")}
    metrics["evaluation"] = (f"held-out test set of cross-validation fold "
                             f"{results['outer_fold']} ({facts['results']})")
    pairs = zip(facts["class_names"], facts["class_colors"], strict=True)
    classes = [{"index": i, "name": n, "color": c} for i, (n, c) in enumerate(pairs)]
    files = {name: sha256_file(folder / name) for name in (facts["checkpoint"], facts["results"])}
    source = {"folder": f"{up['folder']}/{facts['upstream_file']}"}
    return _card(facts["id"], facts, up, classes, layers, parameters, onnx_info,
                 metrics=metrics, crop=facts["crop"],
                 source=_source(up, folder, weights_root, files, source))


def _source(upstream: dict, folder: Path, weights_root: Path, files: dict, extra: dict) -> dict:
    return {"repo": upstream["repo"], "commit": upstream["commit"], **extra,
            "local": folder.relative_to(weights_root).as_posix(), "files": files}


def _card(model_id, facts, upstream, classes, layers, parameters, onnx_info, **fields):
    """A card from catalog facts, upstream facts and the parsed network."""
    network = _network_facts(layers)
    onnx = {k: v for k, v in onnx_info.items() if k not in ("outputs", "output")}
    outputs = onnx_info.get("outputs") or [{"name": onnx_info.get("output", "labels"),
                                            "kind": "labels"}]
    return ModelCard(
        id=model_id, title=facts["title"], task=facts["task"],
        description=facts["description"], classes=classes,
        normalisation=facts["normalisation"], conform=dict(upstream["conform"]),
        pre_model=facts["pre_model"], crop_padding=facts["crop_padding"],
        crop_threshold=facts["crop_threshold"], parameters=parameters,
        licence=upstream["licence"], onnx=onnx, outputs=outputs, expects=facts["expects"],
        contrast=facts["contrast"], notes=facts["notes"], **fields, **network,
        crop_context=crop_context(fields["crop"] and bool(facts["pre_model"]),
                                  network["receptive_radius"]))


def crop_context(crop: bool, receptive_radius: int | None) -> int:
    """Margin around a pre-model's crop box that makes cropped labels equal whole-volume ones.

    A convolution-only network's label at a voxel depends on the input within
    ``receptive_radius`` voxels; with that much real input around the box, the
    zero padding at the crop's edge reaches no voxel inside the box. A network
    that normalises over its input (radius None) depends on every voxel: no margin
    is exact, so none is added (upstream's crop). Only pre-model crops get the margin
    (``crop`` is false otherwise): they cut through the head (upstream's 0 padding
    changed the 104-class labels, mean Dice 0.974), whereas the intensity-box crops
    already include the whole non-zero head plus the card's padding (labels within
    Dice 0.9999 of a whole-volume run, tests/test_real_scans.py) and a margin of the
    receptive radius would grow them to nearly the whole grid.
    """
    return int(receptive_radius) if crop and receptive_radius is not None else 0


def build_card(weights_dir: str | Path, network, onnx_info: dict) -> ModelCard:
    """Card of a parsed :class:`meshseg.convert.sources.Network`."""
    weights_dir = Path(weights_dir)
    if network.model_id == catalog.STROKE["id"]:
        return stroke_card(network.folder, weights_dir, network.layers, network.parameters,
                           onnx_info)
    return brainchop_card(network.model_id, network.folder, weights_dir, network.layers,
                          network.parameters, onnx_info)
