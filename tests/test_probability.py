"""Probability / confidence outputs, the threshold, and your own ONNX models (CLI side)."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest

from meshseg.cli import main
from meshseg.models.card import ModelCard
from meshseg.own_model import OwnModelError, check_model, read_card
from meshseg.pipeline import open_job, run_job
from meshseg.probability import low_confidence_share, probability_image, threshold, to_native
from meshseg.service import result_payload
from own_models import LABELS_OUTPUTS, card, image_model, labels_model, write_models
from synthetic import affine_from, sphere_image

ort = pytest.importorskip("onnxruntime")


def dice(a, b) -> float:
    a, b = np.asarray(a) > 0, np.asarray(b) > 0
    return float(2 * np.logical_and(a, b).sum() / max(1, a.sum() + b.sum()))


@pytest.fixture(scope="module")
def sphere_file(tmp_path_factory):
    affine = affine_from((1.5, 1.2, 2.0), "PSR", rotation_deg=(8, -5, 10), origin=(-40, 30, -30))
    img = sphere_image(shape=(50, 60, 34), affine=affine, centre_mm=(0, -5, 0), radius_mm=20,
                       noise=2.0)
    path = tmp_path_factory.mktemp("scan") / "sphere.nii.gz"
    nib.save(img, path)
    return path


def soft_sphere(model_id, tensor):
    """Two-class 'network': foreground probability and labels from the same logit."""
    prob = 1 / (1 + np.exp(-20 * (tensor[0, 0] - 0.4)))
    return {"seg": (prob >= 0.5).astype(np.uint8), "prob": prob.astype(np.float32)}


def test_trilinear_to_native_is_exact_on_a_linear_ramp():
    model = np.add.outer(np.add.outer(np.arange(10.0), 2 * np.arange(12.0)), 0 * np.arange(8.0))
    native_affine = np.diag([0.5, 0.5, 1.0, 1.0])
    native_affine[:3, 3] = [1, 1, 0]
    out = to_native(model.astype(np.float32), np.eye(4), (10, 14, 8), native_affine)
    i, j = np.meshgrid(1 + 0.5 * np.arange(10), 1 + 0.5 * np.arange(14), indexing="ij")
    np.testing.assert_allclose(out[:, :, 3], i + 2 * j, atol=1e-5)


def test_probability_image_encodings(tmp_path):
    ref = nib.Nifti1Image(np.zeros((4, 5, 6), np.uint8), np.diag([2, 2, 2, 1.0]))
    data = np.linspace(0, 1, 120, dtype=np.float32).reshape(4, 5, 6)
    as_float = probability_image(data, ref)
    assert as_float.get_data_dtype() == np.float32
    as_uint8 = probability_image(data, ref, "uint8")
    assert as_uint8.get_data_dtype() == np.uint8
    path = tmp_path / "p.nii.gz"
    nib.save(as_uint8, path)
    np.testing.assert_allclose(nib.load(path).get_fdata(), data, atol=0.5 / 255 + 1e-6)
    assert threshold(data, 0.5).sum() == (data >= 0.5).sum()
    assert low_confidence_share(data, np.ones_like(data)) == pytest.approx((data < 0.5).mean())


def test_job_maps_the_probability_to_the_input_grid(sphere_file):
    cards = {"byo_labels": ModelCard.from_dict(card("byo_labels", LABELS_OUTPUTS))}
    job = open_job(sphere_file.read_bytes(), sphere_file.name, cards, "byo_labels",
                   {"largest_component": False})
    result = run_job(job, soft_sphere)
    prob = np.asanyarray(result.probability.dataobj)
    assert prob.shape == result.labels.shape == (50, 60, 34)
    assert prob.dtype == np.float32 and 0 <= prob.min() and prob.max() <= 1
    assert result.probability_meaning == "foreground"
    assert dice(prob >= 0.5, result.labels) >= 0.94  # trilinear vs majority, 4 mm grid
    payload = result_payload(result)
    assert payload["probabilityName"] == "sphere_byo_labels_probability.nii.gz"
    assert nib.Nifti1Image.from_bytes(payload["probabilityNifti"]).shape == (50, 60, 34)
    assert payload["probability"][:2] == b"\x1f\x8b" and payload["kind"] == "labels"


def test_plain_labels_answers_still_work(sphere_file):
    cards = {"byo_labels": ModelCard.from_dict(card("byo_labels", LABELS_OUTPUTS))}
    job = open_job(sphere_file.read_bytes(), sphere_file.name, cards, "byo_labels")
    result = run_job(job, lambda m, t: soft_sphere(m, t)["seg"].tobytes())
    assert result.probability is None and result.labels.any()
    assert result_payload(result)["probabilityMeaning"] is None


def test_confidence_share_of_brain_voxels(sphere_file):
    outputs = [{"name": "labels", "kind": "labels"},
               {"name": "probability", "kind": "probability", "meaning": "confidence"}]
    cards = {"many": ModelCard.from_dict(card("many", outputs))}

    def infer(model_id, tensor):
        x = tensor[0, 0]
        return {"labels": (x > 0.4).astype(np.uint8),
                "probability": np.where(x > 0.6, 0.9, 0.3).astype(np.float32)}

    result = run_job(open_job(sphere_file.read_bytes(), "s.nii.gz", cards, "many"), infer)
    share = result.uncertainty["lowConfidenceShare"]
    assert 0 < share < 1
    conf = np.asanyarray(result.probability.dataobj)
    assert share == pytest.approx(low_confidence_share(conf, result.labels), abs=1e-6)


# --- your own model in the CLI ---------------------------------------------------------


@pytest.fixture(scope="module")
def own(tmp_path_factory):
    return write_models(tmp_path_factory.mktemp("own"))


def test_cli_runs_an_own_labels_model(own, sphere_file, tmp_path):
    onnx_path, card_path = own["labels"]
    out, prob, stats = tmp_path / "m.nii.gz", tmp_path / "p.nii.gz", tmp_path / "s.json"
    assert main(["segment", str(sphere_file), "--model-file", str(onnx_path), "--card",
                 str(card_path), "-o", str(out), "--probability", str(prob), "--stats",
                 str(stats), "-q"]) == 0
    labels, probability = nib.load(out), nib.load(prob)
    assert labels.shape == probability.shape == (50, 60, 34)
    np.testing.assert_allclose(probability.affine, nib.load(sphere_file).affine, atol=1e-5)
    p = probability.get_fdata()
    assert dice(p >= 0.5, labels.get_fdata()) >= 0.95
    low = tmp_path / "low.nii.gz"
    assert main(["segment", str(sphere_file), "--model-file", str(onnx_path), "--card",
                 str(card_path), "-o", str(low), "--threshold", "0.05", "-q"]) == 0
    assert np.array_equal(nib.load(low).get_fdata() > 0, p >= 0.05)
    assert (nib.load(low).get_fdata() > 0).sum() > (labels.get_fdata() > 0).sum()


def test_cli_runs_an_own_image_model(own, sphere_file, tmp_path):
    onnx_path, card_path = own["image"]
    out, grid = tmp_path / "clean.nii.gz", tmp_path / "clean_model.nii.gz"
    assert main(["segment", str(sphere_file), "--model-file", str(onnx_path), "--card",
                 str(card_path), "-o", str(out), "--model-grid-output", str(grid), "-q"]) == 0
    native, model = nib.load(out), nib.load(grid)
    assert native.shape == (50, 60, 34) and native.get_data_dtype() == np.float32
    assert model.shape == (32, 32, 32)
    assert 0.05 < float(native.get_fdata().max()) <= 1.0


@pytest.mark.parametrize(("make", "code"), [
    (lambda: b"not a model at all", "not-onnx"),
    (lambda: labels_model(opset=30), "opset"),
    (lambda: labels_model(op="MyCustomSigmoid", domain="org.example"), "operator"),
    (lambda: labels_model(dims=[1, 1, 16, 16, 16]), "input-shape"),
    (lambda: labels_model(dims=[1, 16, 16, 16]), "input-shape"),
    (lambda: image_model(), "output-missing"),
])
def test_bad_model_files_give_named_errors(make, code):
    good = ModelCard.from_dict(card("byo_labels", LABELS_OUTPUTS))
    with pytest.raises(OwnModelError, match=f"^{code}: ") as caught:
        check_model(make(), good, "mine.onnx")
    assert caught.value.code == code


def test_too_large_and_bad_cards_give_named_errors(own):
    good = ModelCard.from_dict(card("byo_labels", LABELS_OUTPUTS))
    with pytest.raises(OwnModelError, match="^too-large: "):
        check_model(labels_model(), good, max_bytes=100)
    bad = card("x", LABELS_OUTPUTS)
    bad["runtime"]["input"]["orientation"] = "RRS"
    with pytest.raises(OwnModelError, match=r"^card: .*runtime.input.orientation"):
        read_card(json.dumps(bad))
    with pytest.raises(OwnModelError, match="^card: .*not valid JSON"):
        read_card("{")
    no_outputs = card("x", [{"name": "seg", "kind": "mask"}])
    with pytest.raises(OwnModelError, match=r"runtime.outputs\[0\].kind"):
        read_card(json.dumps(no_outputs))


def test_cli_reports_a_bad_model_in_one_line(own, sphere_file, tmp_path, capsys):
    _, card_path = own["labels"]
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"garbage")
    assert main(["segment", str(sphere_file), "--model-file", str(bad), "--card",
                 str(card_path), "-o", str(tmp_path / "o.nii.gz")]) == 2
    assert "not-onnx: bad.onnx is not an ONNX model" in capsys.readouterr().err


@pytest.mark.slow
def test_mindgrab_probability_at_half_reproduces_the_mask(models_dir, data_dir):
    """Acceptance: the example scan, mindgrab, model grid: Dice(p >= 0.5, labels) >= 0.999."""
    from meshseg.inference import OnnxRunner
    from meshseg.models.index import read_index

    cards = {c.id: c for c in read_index(models_dir / "index.json")}
    scan = data_dir / "t1_crop.nii.gz"
    runner = OnnxRunner(models_dir, cards, threads=2)
    job = open_job(scan.read_bytes(), scan.name, cards, "mindgrab", {"space": "conformed"})
    result = run_job(job, runner)
    prob = np.asanyarray(result.probability.dataobj)
    assert prob.shape == result.labels.shape == (256, 256, 256)
    found = dice(prob >= 0.5, result.labels)
    print(f"mindgrab Dice(p >= 0.5, labels) on the model grid: {found:.6f}")
    assert found >= 0.999
