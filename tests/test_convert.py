"""Conversion to ONNX: parity with the float64 reference, labels head, files, errors."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage

import meshseg
from meshseg.convert import convert_all, load_network, model_ids
from meshseg.convert.layers import ConvLayer
from meshseg.convert.tfjs import read_tfjs_layers
from meshseg.convert.torch_zip import read_checkpoint
from meshseg.errors import ModelError
from meshseg.reference import activate, dilated_conv3d, meshnet_forward

ort = pytest.importorskip("onnxruntime")
onnx_graph = pytest.importorskip("meshseg.convert.onnx_graph")


def _session(model_bytes: bytes):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    return ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])


def _run(model_bytes: bytes, volume: np.ndarray) -> np.ndarray:
    return _session(model_bytes).run(None, {"input": volume[None, None].astype(np.float32)})[0][0]


@pytest.fixture(scope="session")
def converted(tmp_path_factory, weights_dir):
    out = tmp_path_factory.mktemp("models")
    return out, convert_all(weights_dir, out)


@pytest.mark.parametrize("model_id", model_ids())
def test_onnx_matches_float64_reference(model_id, weights_dir, converted):
    out, _ = converted
    volume = np.random.default_rng(7).random((20, 24, 28)).astype(np.float32)
    layers = load_network(weights_dir, model_id).layers
    reference = meshnet_forward(layers, volume)
    logits = _run(onnx_graph.model_bytes(layers, "logits"), volume)
    assert logits.shape == reference.shape
    assert np.abs(logits - reference).max() <= 1e-4
    labels = _run((out / model_id / "model.onnx").read_bytes(), volume)
    assert labels.dtype == np.uint8 and labels.shape == volume.shape
    top2 = np.sort(reference, axis=0)[-2:]
    clear = (top2[1] - top2[0]) > 1e-5
    assert np.array_equal(labels[clear], reference.argmax(axis=0)[clear])


def test_chunked_argmax_keeps_first_index_on_ties():
    n_classes = 21  # three chunks of 8, 8, 5
    bias = np.zeros(n_classes, np.float32)
    bias[[3, 11, 19]] = 2.0  # tie across chunks: the first index must win
    hidden = ConvLayer("h", np.ones((2, 1, 3, 3, 3), np.float32), np.zeros(2, np.float32),
                       1, False, "relu")
    head = ConvLayer("o", np.zeros((n_classes, 2, 1, 1, 1), np.float32), bias, 1, False,
                     "linear")
    model = onnx_graph.build_model([hidden, head], "labels")
    assert sum(node.op_type == "ArgMax" for node in model.graph.node) == 3
    labels = _run(model.SerializeToString(), np.ones((4, 5, 6), np.float32))
    assert np.all(labels == 3)


def test_many_class_head_is_chunked(converted):
    import onnx

    out, _ = converted
    model = onnx.load(out / "model21_104class" / "model.onnx")
    argmax = [node for node in model.graph.node if node.op_type == "ArgMax"]
    assert len(argmax) == 13  # ceil(104 / 8)
    assert not any(node.op_type == "InstanceNormalization" for node in model.graph.node)
    assert [d.dim_param for d in model.graph.input[0].type.tensor_type.shape.dim] == [
        "", "", "D", "H", "W"]


def test_files_index_and_reproducible(converted, weights_dir, tmp_path):
    out, cards = converted
    index = json.loads((out / "index.json").read_text())
    assert [m["id"] for m in index["models"]] == model_ids()
    for card in cards:
        onnx_bytes = (out / card.onnx["file"]).read_bytes()
        assert hashlib.sha256(onnx_bytes).hexdigest() == card.onnx["sha256"]
        assert json.loads((out / card.id / "card.json").read_text()) == card.to_dict()
    again = convert_all(weights_dir, tmp_path)
    assert [c.onnx["sha256"] for c in again] == [c.onnx["sha256"] for c in cards]
    assert (tmp_path / "index.json").read_bytes() == (out / "index.json").read_bytes()


@pytest.mark.slow
def test_full_size_brain_volume_and_axis_order(converted, data_dir):
    """model5 brain mask on a conformed T1; model21 hemispheres on the L-R axis (i of LIA)."""
    out, _ = converted
    volume = np.asarray(nib.load(data_dir / "t1_crop.nii.gz").dataobj).astype(np.float32)
    volume = (volume - volume.min()) / (volume.max() - volume.min())
    mask = _run((out / "model5_gw_ae" / "model.onnx").read_bytes(), volume) > 0
    components, _ = ndimage.label(mask, np.ones((3, 3, 3)))
    assert 1000_000 < mask.sum() < 1800_000  # 1 mm voxels: 1000-1800 mL
    assert np.bincount(components.ravel())[1:].max() > 0.99 * mask.sum()
    box = ndimage.find_objects(mask.astype(np.uint8))[0]
    atlas = _run((out / "model21_104class" / "model.onnx").read_bytes(), volume[box])
    left_i = np.argwhere((atlas >= 1) & (atlas <= 34))[:, 0].mean()
    right_i = np.argwhere((atlas >= 35) & (atlas <= 68))[:, 0].mean()
    assert left_i > right_i + 30  # LIA: i grows towards the left


def test_reference_conv_matches_scipy():
    rng = np.random.default_rng(3)
    x = rng.random((1, 9, 10, 11))
    weight = rng.random((1, 1, 3, 3, 3))
    dilated = np.zeros((5, 5, 5))
    dilated[::2, ::2, ::2] = weight[0, 0]
    expected = ndimage.correlate(x[0], dilated, mode="constant") + 0.5
    got = dilated_conv3d(x, weight, np.array([0.5]), 2)[0]
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_reference_activations():
    x = np.array([-1.0, 0.0, 1.0])
    np.testing.assert_allclose(activate(x, "gelu"), [-0.158655254, 0.0, 0.841344746],
                               atol=1e-9)
    np.testing.assert_allclose(activate(x, "elu"), [np.expm1(-1.0), 0.0, 1.0])
    np.testing.assert_allclose(activate(x, "relu"), [0.0, 0.0, 1.0])


def test_parsers_import_without_onnx():
    code = ("import sys; sys.modules['onnx'] = None; "
            "import meshseg.convert, meshseg.convert.tfjs, meshseg.convert.torch_zip, "
            "meshseg.reference, meshseg.models")
    env = {**os.environ, "PYTHONPATH": str(Path(meshseg.__file__).parents[1])}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env)
    assert result.returncode == 0, result.stderr


def _copy_model(weights_dir, tmp_path, model_id="model5_gw_ae"):
    folder = tmp_path / model_id
    shutil.copytree(weights_dir / "brainchop" / model_id, folder)
    folder.chmod(0o755)
    for path in folder.iterdir():
        path.chmod(0o644)
    return folder


def test_missing_weights_name_the_folder(tmp_path):
    with pytest.raises(ModelError, match="model18cls"):
        load_network(tmp_path, "model18cls")
    with pytest.raises(ModelError, match="model.json"):
        read_tfjs_layers(tmp_path)


def test_missing_shard_and_unknown_layer(weights_dir, tmp_path):
    folder = _copy_model(weights_dir, tmp_path)
    spec = json.loads((folder / "model.json").read_text())
    spec["modelTopology"]["model_config"]["config"]["layers"][2]["class_name"] = "Dropout"
    (folder / "model.json").write_text(json.dumps(spec))
    with pytest.raises(ModelError, match="unsupported type Dropout"):
        read_tfjs_layers(folder)
    (folder / "group1-shard1of1.bin").unlink()
    with pytest.raises(ModelError, match="group1-shard1of1.bin"):
        read_tfjs_layers(folder)


def test_shape_mismatch_raises(weights_dir, tmp_path):
    folder = _copy_model(weights_dir, tmp_path)
    spec = json.loads((folder / "model.json").read_text())
    spec["modelTopology"]["model_config"]["config"]["layers"][1]["config"]["filters"] = 6
    (folder / "model.json").write_text(json.dumps(spec))
    with pytest.raises(ModelError, match="topology"):
        read_tfjs_layers(folder)


def test_checkpoint_with_foreign_global_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("evil/data.pkl", pickle.dumps({"x": subprocess.getoutput}))
    with pytest.raises(ModelError, match="refusing"):
        read_checkpoint(path)


def test_reverse_axes_permutes_kernel_space(weights_dir):
    folder = weights_dir / "brainchop" / "model5_gw_ae"
    plain, reversed_ = read_tfjs_layers(folder), read_tfjs_layers(folder, reverse_axes=True)
    for a, b in zip(plain, reversed_, strict=True):
        np.testing.assert_array_equal(b.weight, a.weight.transpose(0, 1, 4, 3, 2))
    assert not np.array_equal(plain[1].weight, reversed_[1].weight)


def _softmax(logits):
    shifted = np.exp(logits - logits.max(axis=0, keepdims=True))
    return shifted / shifted.sum(axis=0, keepdims=True)


@pytest.mark.parametrize(("n_classes", "meaning"), [(2, "foreground"), (21, "confidence"),
                                                    (3, "confidence")])
def test_probability_output_matches_float64_softmax(n_classes, meaning):
    rng = np.random.default_rng(3)
    hidden = ConvLayer("h", rng.normal(size=(4, 1, 3, 3, 3)).astype(np.float32),
                       rng.normal(size=4).astype(np.float32), 1, True, "gelu")
    head = ConvLayer("o", rng.normal(size=(n_classes, 4, 1, 1, 1)).astype(np.float32) * 3,
                     rng.normal(size=n_classes).astype(np.float32), 1, False, "linear")
    volume = rng.random((9, 10, 11)).astype(np.float32)
    model = onnx_graph.model_bytes([hidden, head], "labels", probability=meaning)
    labels, prob = _session(model).run(None, {"input": volume[None, None]})
    soft = _softmax(meshnet_forward([hidden, head], volume).astype(np.float64))
    expected = soft[1] if meaning == "foreground" else soft.max(axis=0)
    assert prob.dtype == np.float32 and prob.shape == (1, *volume.shape)
    assert np.abs(prob[0] - expected).max() < 1e-5
    assert np.array_equal(labels[0], soft.argmax(axis=0))
    plain = _run(onnx_graph.model_bytes([hidden, head], "labels"), volume)
    assert np.array_equal(labels[0], plain)  # the extra output leaves the labels alone


def test_confidence_head_holds_no_class_volume(converted):
    """model21_104class: every tensor after the hidden layers has <= ARGMAX_CHUNK channels."""
    import onnx

    out, cards = converted
    card = next(c for c in cards if c.id == "model21_104class")
    assert card.output("probability") == {"name": "probability", "kind": "probability",
                                          "meaning": "confidence"}
    model = onnx.shape_inference.infer_shapes(onnx.load(out / "model21_104class" / "model.onnx"))
    assert [o.name for o in model.graph.output] == ["labels", "probability"]
    channels = [v.type.tensor_type.shape.dim[1].dim_value for v in model.graph.value_info
                if len(v.type.tensor_type.shape.dim) == 5]
    assert channels and max(channels) == card.channels < card.n_classes
    assert sum(c == onnx_graph.ARGMAX_CHUNK for c in channels) >= 13
    assert sum(node.op_type == "Exp" for node in model.graph.node) == 13 + 12
    two = next(c for c in cards if c.id == "mindgrab")
    assert two.output("probability")["meaning"] == "foreground"
