"""The job step machine, driven by a transparent thresholding 'model'.

The real networks are exercised in test_cli.py and test_convert.py; here the
network is replaced by a rule whose right answer is known (the bright sphere),
so that every stage around inference can be checked exactly.
"""

import gzip
import io

import nibabel as nib
import numpy as np
import pytest

from meshseg.errors import InputImageError, ModelError
from meshseg.models.card import ModelCard
from meshseg.pipeline import open_job, run_job
from synthetic import affine_from, sphere_image


def card(model_id="sphere", pre_model=None, normalisation="minmax", grid=96, padding=4,
         radius=None):
    return ModelCard(
        id=model_id, title=f"test {model_id}", task="test", description="thresholding rule",
        classes=[{"index": 0, "name": "background", "color": [0, 0, 0]},
                 {"index": 1, "name": "sphere", "color": [255, 0, 0]}],
        normalisation=normalisation,
        conform={"shape": [grid] * 3, "voxel_size": [1.0] * 3, "orientation": "LIA",
                 "scale_to_uint8": True},
        pre_model=pre_model, crop_padding=padding, crop_threshold=None, layers=1, channels=1,
        activation="relu", dilations=[1], parameters=0, flops_per_voxel=0, receptive_radius=radius,
        licence="MIT",
        source={}, onnx={"file": "model.onnx", "sha256": "0" * 64, "output": "labels"},
    )


def threshold(model_id, tensor):
    return (tensor[0, 0] > 0.5).astype(np.uint8)


def nifti_bytes(img):
    return gzip.compress(img.to_bytes())


def dice(a, b):
    return 2 * np.logical_and(a, b).sum() / (a.sum() + b.sum())


@pytest.fixture
def oblique_sphere():
    affine = affine_from((0.9, 1.1, 3.0), "PSR", rotation_deg=(12, -8, 15), origin=(-20, 25, -30))
    return sphere_image(shape=(70, 60, 24), affine=affine, centre_mm=(26, -8, 4),
                        radius_mm=18, noise=2.0)


def test_native_mask_matches_the_sphere(oblique_sphere):
    cards = {"sphere": card()}
    events = []
    job = open_job(nifti_bytes(oblique_sphere), "oblique.nii.gz", cards, "sphere")
    result = run_job(job, threshold, events.append)
    mask = nib.Nifti1Image.from_bytes(gzip.decompress(result.mask_bytes))
    assert mask.shape == oblique_sphere.shape
    assert np.allclose(mask.affine, oblique_sphere.affine, atol=1e-5)
    truth = oblique_sphere.get_fdata() > 50
    assert dice(mask.get_fdata() > 0, truth) >= 0.95
    assert [e.stage for e in events] == ["conform", "normalise", "inference",
                                         "postprocess", "native", "stats", "quality"]
    voxel_ml = 0.9 * 1.1 * 3.0 / 1000
    assert result.stats[0]["ml"] == pytest.approx(truth.sum() * voxel_ml, rel=0.05)
    assert result.mask_name == "oblique_sphere_labels.nii.gz"
    assert set(result.timings) >= {"load", "conform", "inference", "native"}


def test_pre_model_crops_the_main_model_input(oblique_sphere):
    cards = {"mask": card("mask"), "main": card("main", pre_model="mask", padding=4)}
    shapes = {}

    def infer(model_id, tensor):
        shapes[model_id] = tensor.shape[2:]
        return threshold(model_id, tensor)

    result = run_job(open_job(nifti_bytes(oblique_sphere), "s.nii.gz", cards, "main"), infer)
    assert shapes["mask"] == (96, 96, 96)
    assert all(n < 96 for n in shapes["main"])
    assert all(n >= 2 * 18 for n in shapes["main"])  # the whole sphere is inside the crop
    truth = oblique_sphere.get_fdata() > 50
    mask = nib.Nifti1Image.from_bytes(gzip.decompress(result.mask_bytes)).get_fdata() > 0
    assert dice(mask, truth) >= 0.95


def test_conformed_space_output(oblique_sphere):
    result = run_job(open_job(nifti_bytes(oblique_sphere), "s.nii.gz", {"sphere": card()}, "sphere",
                         {"space": "conformed"}), threshold)
    mask = nib.Nifti1Image.from_bytes(gzip.decompress(result.mask_bytes))
    assert mask.shape == (96, 96, 96)
    assert "".join(nib.aff2axcodes(mask.affine)) == "LIA"


def test_labels_answer_is_checked():
    img = sphere_image(shape=(64, 64, 64), noise=2.0)  # noise-free: a mask, refused
    job = open_job(nifti_bytes(img), "s.nii.gz", {"sphere": card()}, "sphere")
    event = job.advance()
    while event.kind != "infer":
        event = job.advance()
    with pytest.raises(ModelError, match="expected"):
        job.advance(b"\x00" * 10)


def test_bytes_buffers_are_accepted_as_labels():
    img = sphere_image(shape=(64, 64, 64), noise=2.0)  # noise-free: a mask, refused
    job = open_job(nifti_bytes(img), "s.nii.gz", {"sphere": card()}, "sphere")
    event = job.advance()
    while event.kind != "done":
        answer = None
        if event.kind == "infer":
            answer = memoryview(threshold(event.model_id, event.tensor).tobytes())
        event = job.advance(answer)
    assert event.result.stats[0]["voxels"] > 0


def test_unknown_model_and_options_are_refused():
    with pytest.raises(ModelError, match="available: sphere"):
        open_job(b"", "x.nii", {"sphere": card()}, "nope")
    with pytest.raises(ModelError, match="unknown model 'mask'"):
        open_job(b"", "x.nii", {"main": card("main", pre_model="mask")}, "main")
    with pytest.raises(ValueError, match="unknown option 'colour'"):
        open_job(b"", "x.nii", {"sphere": card()}, "sphere", {"colour": "red"})


def test_bad_input_surfaces_as_input_image_error_when_opened():
    with pytest.raises(InputImageError, match="notes.nii.gz"):
        open_job(b"this is not an image", "notes.nii.gz", {"sphere": card()}, "sphere")


def test_job_output_is_a_label_nifti(oblique_sphere):
    job = open_job(nifti_bytes(oblique_sphere), "s.nii.gz", {"sphere": card()}, "sphere")
    result = run_job(job, threshold)
    header = nib.Nifti1Image.from_bytes(gzip.decompress(result.mask_bytes)).header
    assert header.get_intent()[0] == "label"
    assert np.asarray(header["descrip"]).item() == b""
    assert io.BytesIO(result.mask_bytes).read(2) == b"\x1f\x8b"


def test_large_inputs_run_as_stitched_tiles(oblique_sphere):
    cards = {"sphere": card(radius=3)}
    shapes = []

    def infer(model_id, tensor):
        shapes.append(tensor.shape[2:])
        return threshold(model_id, tensor)

    data = nifti_bytes(oblique_sphere)
    tiled = run_job(open_job(data, "s.nii.gz", cards, "sphere", {"tile_mb": 0.5, "crop": False}),
                    infer)
    assert len(shapes) > 1 and all(np.prod(s) <= 0.5e6 / 4 for s in shapes)
    assert len(tiled.work) == len(shapes)
    whole = run_job(open_job(data, "s.nii.gz", cards, "sphere", {"tile_mb": None, "crop": False}),
                    threshold)
    assert (tiled.labels == whole.labels).all()
