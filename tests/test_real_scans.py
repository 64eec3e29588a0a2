"""Real scans through a real model (model5_gw_ae, ~5 s per 256^3 volume natively).

States numbers: brain volume in mL on t1_crop, pairwise Dice across six voxel
orientations of the same head.
"""

import itertools
import json
import subprocess
import sys

import nibabel as nib
import numpy as np
import pytest

from meshseg.inference import OnnxRunner
from meshseg.models.index import read_index
from meshseg.pipeline import open_job, run_job
from meshseg.resample_labels import labels_to_native

ORIENTATIONS = ("RAS", "LAS", "LPI", "PSR", "AIL", "SLA")
MODEL = "model5_gw_ae"


@pytest.mark.slow
def test_cli_segments_t1_crop_in_native_space(data_dir, models_dir, tmp_path):
    scan = data_dir / "t1_crop.nii.gz"
    out, stats = tmp_path / "mask.nii.gz", tmp_path / "stats.json"
    done = subprocess.run(
        [sys.executable, "-m", "meshseg", "segment", str(scan), "-m", MODEL, "-o", str(out),
         "--stats", str(stats), "--models", str(models_dir)],
        capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "inference:" in done.stderr and "native:" in done.stderr  # progress per stage
    mask, source = nib.load(str(out)), nib.load(str(scan))
    assert mask.shape == source.shape
    assert np.allclose(mask.affine, source.affine, atol=1e-4)
    brain_ml = (np.asanyarray(mask.dataobj) > 0).sum() * 1.0 / 1000  # 1 mm^3 voxels
    assert 1000 <= brain_ml <= 1800, f"brain volume {brain_ml:.0f} mL"
    assert json.loads(stats.read_text())["total_ml"] == pytest.approx(brain_ml, abs=0.01)


def test_cli_reports_bad_input_and_exits_non_zero(data_dir, models_dir, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "meshseg", "segment", str(data_dir / "complex_image.nii.gz"),
         "-m", MODEL,
         "-o", str(tmp_path / "x.nii.gz"), "--models", str(models_dir)],
        capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert "complex_image.nii.gz" in done.stderr
    assert not (tmp_path / "x.nii.gz").exists()


@pytest.fixture(scope="module")
def orientation_masks(data_dir, models_dir):
    cards = {card.id: card for card in read_index(models_dir / "index.json")}
    runner = OnnxRunner(models_dir, cards)
    masks = {}
    for code in ORIENTATIONS:
        path = data_dir / "nifti_space" / f"{code}.nii.gz"
        result = run_job(open_job(path.read_bytes(), path.name, cards, MODEL), runner)
        masks[code] = ((result.labels > 0).astype(np.uint8), result.affine)
    return masks


@pytest.mark.slow
def test_six_orientations_give_the_same_brain(orientation_masks):
    ref_mask, ref_affine = orientation_masks["RAS"]
    in_ras = {
        code: labels_to_native(mask, affine, ref_mask.shape, ref_affine, method="nearest")
        for code, (mask, affine) in orientation_masks.items()
    }
    scores = {}
    for a, b in itertools.combinations(ORIENTATIONS, 2):
        x, y = in_ras[a] > 0, in_ras[b] > 0
        scores[f"{a}-{b}"] = 2 * (x & y).sum() / (x.sum() + y.sum())
    worst = min(scores, key=scores.get)
    assert scores[worst] >= 0.98, f"worst pair {worst}: Dice {scores[worst]:.4f}"
    volumes = [mask.sum() * abs(np.linalg.det(affine[:3, :3])) / 1000
               for mask, affine in orientation_masks.values()]
    assert 900 <= min(volumes) and max(volumes) <= 2000, volumes


@pytest.mark.slow
def test_upstream_crop_gives_the_same_labels_as_the_whole_volume(data_dir, models_dir):
    cards = {card.id: card for card in read_index(models_dir / "index.json")}
    runner = OnnxRunner(models_dir, cards)
    shapes = []

    def infer(model_id, tensor):
        shapes.append(tensor.shape[2:])
        return runner(model_id, tensor)

    data = (data_dir / "t1_crop.nii.gz").read_bytes()
    cropped = run_job(open_job(data, "t1_crop.nii.gz", cards, MODEL), infer).labels
    whole = run_job(open_job(data, "t1_crop.nii.gz", cards, MODEL, {"crop": False}), infer).labels
    assert shapes[1] == (256, 256, 256)
    assert np.prod(shapes[0]) < 0.65 * 256 ** 3, f"crop {shapes[0]} saves too little"
    a, b = cropped > 0, whole > 0
    dice = 2 * (a & b).sum() / (a.sum() + b.sum())
    assert dice >= 0.99, f"brain Dice cropped vs whole volume {dice:.4f}"
    assert (cropped == whole).mean() >= 0.999


def test_stroke_model_gets_its_own_preprocessing(data_dir, models_dir):
    """RAS+, 1 mm, centre crop/pad to 256^3, min-max 0..1, no uint8 scaling, no crop."""
    cards = {card.id: card for card in read_index(models_dir / "index.json")}
    stroke = cards["meshnet26_stroke"]
    assert "T2" in stroke.expects and stroke.metrics["test_dice"] == pytest.approx(0.667, abs=1e-3)
    seen = {}

    def infer(model_id, tensor):
        seen["tensor"] = tensor.copy()
        return np.zeros(tensor.shape[2:], np.uint8)

    path = data_dir / "nifti_space" / "PSR.nii.gz"
    result = run_job(open_job(path.read_bytes(), path.name, cards, "meshnet26_stroke",
                         {"space": "conformed", "tile_mb": None}), infer)
    tensor = seen["tensor"]
    assert tensor.shape == (1, 1, 256, 256, 256) and tensor.dtype == np.float32
    assert tensor.min() == 0.0 and tensor.max() == pytest.approx(1.0)
    assert len(np.unique(tensor)) > 256  # not quantised to uint8 levels
    assert "".join(nib.aff2axcodes(result.affine)) == "RAS"
    assert [row["name"] for row in result.stats] == ["lesion"]
