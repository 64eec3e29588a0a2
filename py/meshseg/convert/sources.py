"""Where each model's weights live in the weights directory, and how to read them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from meshseg.convert.layers import ConvLayer
from meshseg.convert.tfjs import read_model_json, read_tfjs_layers
from meshseg.convert.torch_zip import count_parameters, meshnet_layers, read_state_dict
from meshseg.errors import ModelError
from meshseg.models import catalog


@dataclass(frozen=True)
class Network:
    """A parsed source model: its layers, parameter count and weights folder."""

    model_id: str
    layers: list[ConvLayer]
    parameters: int
    folder: Path


def model_ids() -> list[str]:
    """Every convertible model id, brainchop models first."""
    return [*catalog.MODELS, catalog.STROKE["id"]]


def model_folder(weights_dir: str | Path, model_id: str) -> Path:
    """Folder of a model's upstream files inside the weights directory."""
    weights_dir = Path(weights_dir)
    if model_id in catalog.MODELS:
        return weights_dir / "brainchop" / model_id
    if model_id == catalog.STROKE["id"]:
        return weights_dir / "arc-meshchop"
    raise ModelError(f"unknown model {model_id!r}; available: {', '.join(model_ids())}.")


def load_network(weights_dir: str | Path, model_id: str) -> Network:
    """Parse one model's upstream weights (kernels in nibabel axis order).

    The brainchop Keras models take the conformed volume in nibabel order (i, j, k):
    upstream builds its tensor as [k, j, i] and reverses the axes before inference.
    Measured on a conformed T1 with model21_104class: left-hemisphere labels lie at
    higher i (L of LIA) in nibabel order; with reversed axes the hemispheres split
    along the anterior-posterior axis. So no axis permutation is needed.
    """
    folder = model_folder(weights_dir, model_id)
    if not folder.is_dir():
        raise ModelError(f"{folder}: weights folder for {model_id} is missing.")
    if model_id in catalog.MODELS:
        layers = read_tfjs_layers(folder, reverse_axes=False)
        manifest = read_model_json(folder)["weightsManifest"]
        parameters = int(sum(np.prod(w["shape"]) for g in manifest for w in g["weights"]))
        return Network(model_id, layers, parameters, folder)
    state = read_state_dict(folder / catalog.STROKE["checkpoint"])
    layers = meshnet_layers(state, catalog.STROKE["dilations"], catalog.STROKE["checkpoint"])
    return Network(model_id, layers, count_parameters(state), folder)
