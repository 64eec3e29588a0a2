"""Read a PyTorch zip checkpoint without torch and without arbitrary unpickling.

``data.pkl`` is unpickled by a restricted unpickler: only the few globals a
state dict needs resolve (to local, side-effect-free functions), and storages
are read from the zip's ``data/N`` records as little-endian arrays. Anything
else in the pickle raises :class:`ModelError`.
"""

from __future__ import annotations

import collections
import io
import pickle
import zipfile
from pathlib import Path

import numpy as np

from meshseg.convert.layers import ConvLayer, check_chain
from meshseg.errors import ModelError

STORAGE_DTYPES = {
    "FloatStorage": "<f4",
    "DoubleStorage": "<f8",
    "HalfStorage": "<f2",
    "LongStorage": "<i8",
    "IntStorage": "<i4",
    "BoolStorage": "|b1",
}
BN_EPS = 1e-5
BUFFER_SUFFIXES = ("running_mean", "running_var", "num_batches_tracked")


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    """Local stand-in for ``torch._utils._rebuild_tensor_v2``: a strided numpy copy."""
    if not size:
        return np.array(storage[storage_offset])
    item = storage.itemsize
    view = np.lib.stride_tricks.as_strided(
        storage[storage_offset:], shape=tuple(size), strides=tuple(s * item for s in stride))
    return np.array(view)


class _StorageType(str):
    """Marker for a ``torch.*Storage`` class: its numpy dtype."""


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes, archive: zipfile.ZipFile, prefix: str, source: str):
        super().__init__(io.BytesIO(data))
        self._archive = archive
        self._prefix = prefix
        self._source = source

    def find_class(self, module: str, name: str):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(STORAGE_DTYPES[name])
        raise ModelError(f"{self._source}: the checkpoint references {module}.{name}, which "
                         "is not part of a plain state dict; refusing to load it.")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType)):
            raise ModelError(f"{self._source}: unexpected persistent id {pid!r}.")
        _, dtype, key, _location, numel = pid
        record = f"{self._prefix}data/{key}"
        try:
            raw = self._archive.read(record)
        except KeyError as exc:
            raise ModelError(f"{self._source}: storage {record} is missing.") from exc
        array = np.frombuffer(raw, dtype=str(dtype))
        if array.size != numel:
            raise ModelError(f"{self._source}: storage {record} holds {array.size} "
                             f"values, the pickle says {numel}.")
        return array


def read_checkpoint(path: str | Path) -> dict:
    """The unpickled checkpoint (dicts, numbers, strings and numpy arrays).

    Raises
    ------
    ModelError
        Not a torch zip checkpoint, big-endian storages, missing records or any
        global beyond a plain state dict's.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: checkpoint missing.")
    if not zipfile.is_zipfile(path):
        raise ModelError(f"{path}: not a zip-format PyTorch checkpoint.")
    with zipfile.ZipFile(path) as archive:
        pickles = [n for n in archive.namelist() if n.endswith("/data.pkl")]
        if len(pickles) != 1:
            raise ModelError(f"{path}: expected one data.pkl, found {len(pickles)}.")
        prefix = pickles[0][: -len("data.pkl")]
        names = set(archive.namelist())
        if f"{prefix}byteorder" in names and archive.read(f"{prefix}byteorder") != b"little":
            raise ModelError(f"{path}: big-endian checkpoints are not supported.")
        unpickler = _RestrictedUnpickler(archive.read(pickles[0]), archive, prefix, str(path))
        return unpickler.load()


def read_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """The model tensors: ``model_state_dict`` if present, else the top-level dict."""
    checkpoint = read_checkpoint(path)
    state = checkpoint.get("model_state_dict", checkpoint)
    if not isinstance(state, dict) or not all(isinstance(v, np.ndarray) for v in state.values()):
        raise ModelError(f"{path}: no state dict of tensors found.")
    return dict(state)


def count_parameters(state: dict[str, np.ndarray]) -> int:
    """Trainable parameters: every tensor except batch-norm buffers."""
    return int(sum(v.size for k, v in state.items() if not k.endswith(BUFFER_SUFFIXES)))


def meshnet_layers(state: dict[str, np.ndarray], dilations: list[int],
                   source: str = "checkpoint") -> list[ConvLayer]:
    """MeshNet layers from a state dict, batch norm (eval mode) folded into the convs.

    Layers ``network.N`` (N < last) are Conv3d + BatchNorm3d + ReLU; the last is a
    plain Conv3d (``network.N.weight|bias``) without activation.
    """
    layers = []
    for n, dilation in enumerate(dilations[:-1]):
        prefix = f"network.{n}"
        weight, bias = _fold_batch_norm(state, prefix, source)
        layers.append(ConvLayer(prefix, weight, bias, int(dilation), False, "relu"))
    last = f"network.{len(dilations) - 1}"
    layers.append(ConvLayer(last, _tensor(state, f"{last}.weight", source).astype(np.float32),
                            _tensor(state, f"{last}.bias", source).astype(np.float32),
                            int(dilations[-1]), False, "linear"))
    extra = sorted(k for k in state if not k.startswith(tuple(f"network.{i}." for i in
                                                                range(len(dilations)))))
    if extra:
        raise ModelError(f"{source}: unexpected tensors {extra[:5]}; the layer count "
                         f"({len(dilations)}) does not match the checkpoint.")
    check_chain(layers, source)
    return layers


def _fold_batch_norm(state: dict, prefix: str, source: str) -> tuple[np.ndarray, np.ndarray]:
    weight = _tensor(state, f"{prefix}.conv.weight", source).astype(np.float64)
    bias = _tensor(state, f"{prefix}.conv.bias", source).astype(np.float64)
    gamma = _tensor(state, f"{prefix}.bn.weight", source).astype(np.float64)
    beta = _tensor(state, f"{prefix}.bn.bias", source).astype(np.float64)
    mean = _tensor(state, f"{prefix}.bn.running_mean", source).astype(np.float64)
    var = _tensor(state, f"{prefix}.bn.running_var", source).astype(np.float64)
    if not weight.shape[0] == gamma.size == beta.size == mean.size == var.size == bias.size:
        raise ModelError(f"{source}: {prefix} conv and batch-norm sizes disagree.")
    scale = gamma / np.sqrt(var + BN_EPS)
    folded_w = weight * scale[:, None, None, None, None]
    folded_b = (bias - mean) * scale + beta
    return folded_w.astype(np.float32), folded_b.astype(np.float32)


def _tensor(state: dict, key: str, source: str) -> np.ndarray:
    if key not in state:
        raise ModelError(f"{source}: tensor {key} missing from the state dict.")
    return state[key]
