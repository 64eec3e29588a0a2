"""Read a TensorFlow.js *layers* model (model.json + .bin shards) without TensorFlow.

Supported topology: InputLayer, then a chain of Conv3D ('same' padding, stride 1)
and Activation layers. A Conv3D whose name ends in ``_gn`` is followed by
instance normalisation (brainchop applies it in code, it is not in the topology).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from meshseg.convert.layers import ConvLayer, check_chain
from meshseg.errors import ModelError

KERAS_ACTIVATIONS = {"linear": "linear", "relu": "relu", "elu": "elu", "gelu": "gelu"}


def read_model_json(folder: Path) -> dict:
    """The parsed ``model.json`` of a TF.js layers model folder."""
    path = Path(folder) / "model.json"
    if not path.is_file():
        raise ModelError(f"{path}: missing; expected a TF.js layers model folder.")
    spec = json.loads(path.read_text(encoding="utf-8"))
    if spec.get("format") != "layers-model":
        raise ModelError(f"{path}: format {spec.get('format')!r} is not 'layers-model'.")
    return spec


def read_weights(folder: Path, manifest: list) -> dict[str, np.ndarray]:
    """Float32 arrays named in ``weightsManifest``, read from the shards in order."""
    folder = Path(folder)
    arrays = {}
    for group in manifest:
        blob = b"".join(_read_shard(folder / name) for name in group["paths"])
        offset = 0
        for entry in group["weights"]:
            if entry["dtype"] != "float32" or "quantization" in entry:
                raise ModelError(f"{folder}: weight {entry['name']} is {entry['dtype']} "
                                 "(quantised or not float32); only float32 is supported.")
            count = int(np.prod(entry["shape"]))
            if offset + 4 * count > len(blob):
                raise ModelError(f"{folder}: weight shards end before {entry['name']}.")
            arrays[entry["name"]] = np.frombuffer(blob, "<f4", count, offset).reshape(
                entry["shape"])
            offset += 4 * count
        if offset != len(blob):
            raise ModelError(f"{folder}: {len(blob) - offset} bytes of {group['paths']} "
                             "are not described by the manifest.")
    return arrays


def _read_shard(path: Path) -> bytes:
    if not path.is_file():
        raise ModelError(f"{path}: weight shard missing.")
    return path.read_bytes()


def read_tfjs_layers(folder: str | Path, reverse_axes: bool = False) -> list[ConvLayer]:
    """Parse a brainchop TF.js layers model into a list of :class:`ConvLayer`.

    Parameters
    ----------
    folder : str or Path
        Folder holding ``model.json`` and its weight shards.
    reverse_axes : bool
        True when the Keras model expects the spatial axes reversed relative to
        the model tensor; the kernels' spatial axes are then permuted so the
        returned layers take nibabel order.

    Raises
    ------
    ModelError
        Missing files, unknown layer types, a topology that is not a chain, or
        weights whose shapes disagree with the topology.
    """
    folder = Path(folder)
    spec = read_model_json(folder)
    weights = read_weights(folder, spec["weightsManifest"])
    config = spec["modelTopology"]["model_config"]["config"]
    layers = []
    previous = None
    for item in config["layers"]:
        kind, cfg = item["class_name"], item["config"]
        _check_inbound(folder, item, previous)
        previous = item["name"]
        if kind == "InputLayer":
            continue
        if kind == "Conv3D":
            layers.append(_conv_layer(folder, cfg, weights, reverse_axes))
        elif kind == "Activation":
            if not layers or layers[-1].activation != "linear":
                raise ModelError(f"{folder}: activation {item['name']} does not follow a "
                                 "linear Conv3D.")
            layers[-1] = _with_activation(folder, layers[-1], cfg["activation"])
        else:
            raise ModelError(f"{folder}/model.json: layer {item['name']} has unsupported "
                             f"type {kind}; only Conv3D and Activation are supported.")
    check_chain(layers, str(folder))
    return layers


def _check_inbound(folder: Path, item: dict, previous: str | None) -> None:
    inbound = item.get("inbound_nodes") or []
    names = [node[0] for group in inbound for node in group]
    expected = [] if previous is None else [previous]
    if names != expected:
        raise ModelError(f"{folder}/model.json: layer {item['name']} takes {names}, not "
                         f"{expected}; only a chain of layers is supported.")


def _conv_layer(folder: Path, cfg: dict, weights: dict, reverse_axes: bool) -> ConvLayer:
    name = cfg["name"]
    if cfg.get("padding") != "same" or list(cfg.get("strides", [1, 1, 1])) != [1, 1, 1]:
        raise ModelError(f"{folder}: Conv3D {name} must have 'same' padding and stride 1.")
    if cfg.get("data_format", "channels_last") != "channels_last":
        raise ModelError(f"{folder}: Conv3D {name} is not channels_last.")
    dilation = set(cfg["dilation_rate"])
    if len(dilation) != 1:
        raise ModelError(f"{folder}: Conv3D {name} has anisotropic dilation.")
    kernel = _weight(folder, weights, f"{name}/kernel")
    expected = (*cfg["kernel_size"], kernel.shape[3], cfg["filters"])
    if kernel.shape != expected:
        raise ModelError(f"{folder}: {name}/kernel has shape {kernel.shape}, topology "
                         f"says {expected}.")
    spatial = (2, 1, 0) if reverse_axes else (0, 1, 2)
    weight = np.ascontiguousarray(kernel.transpose(4, 3, *spatial), dtype=np.float32)
    if cfg.get("use_bias", True):
        bias = np.array(_weight(folder, weights, f"{name}/bias"), dtype=np.float32)
    else:
        bias = np.zeros(cfg["filters"], np.float32)
    layer = ConvLayer(name, weight, bias, int(dilation.pop()), name.endswith("_gn"), "linear")
    return _with_activation(folder, layer, cfg.get("activation", "linear"))


def _weight(folder: Path, weights: dict, name: str) -> np.ndarray:
    if name not in weights:
        raise ModelError(f"{folder}: weight {name} is not in the weights manifest.")
    return weights[name]


def _with_activation(folder: Path, layer: ConvLayer, keras_name: str) -> ConvLayer:
    if keras_name not in KERAS_ACTIVATIONS:
        raise ModelError(f"{folder}: activation {keras_name!r} of {layer.name} is not "
                         f"supported ({', '.join(KERAS_ACTIVATIONS)}).")
    return ConvLayer(layer.name, layer.weight, layer.bias, layer.dilation,
                     layer.instance_norm, KERAS_ACTIVATIONS[keras_name])


def read_colormap(path: str | Path) -> list[dict]:
    """Classes ``{index, name, color}`` from a brainchop ``colormap.json``."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: colormap missing.")
    cmap = json.loads(path.read_text(encoding="utf-8"))
    names = cmap["labels"]
    if not len(cmap["R"]) == len(cmap["G"]) == len(cmap["B"]) == len(names):
        raise ModelError(f"{path}: R, G, B and labels have different lengths.")
    return [{"index": i, "name": str(name), "color": [int(cmap[c][i]) for c in "RGB"]}
            for i, name in enumerate(names)]
