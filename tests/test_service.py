"""The service the browser worker calls: plain values in and out, errors as data."""

import asyncio
import gzip

import nibabel as nib
import numpy as np
import pytest

from meshseg.service import Service
from synthetic import affine_from, sphere_image
from test_pipeline import card, nifti_bytes, threshold


@pytest.fixture
def sphere():
    affine = affine_from((1.1, 1.0, 1.4), "LPS", rotation_deg=(0, 8, 0), origin=(30, 40, -25))
    return sphere_image(shape=(64, 70, 50), affine=affine, centre_mm=(0, 0, 5), radius_mm=16,
                        noise=2.0)


@pytest.fixture
def service():
    return Service({"sphere": card().to_dict(), "two": _two_class_card().to_dict()})


def _two_class_card():
    base = card("two")
    classes = base.classes + [{"index": 2, "name": "core", "color": [0, 255, 0]}]
    return base.__class__(**{**base.__dict__, "classes": classes})


def opened(service, sphere):
    answer = service.call("open", {"data": nifti_bytes(sphere), "name": "ball.nii.gz"})
    assert answer["ok"], answer
    return answer["value"]["scan"]


def segment(service, scan, model="sphere", options=None):
    return asyncio.run(service.segment(scan, model, options, threshold))


def voxels(nifti: bytes) -> np.ndarray:
    return np.asanyarray(nib.Nifti1Image.from_bytes(nifti).dataobj)


def test_errors_come_back_as_plain_objects_naming_the_file(service):
    answer = service.call("open", {"data": b"not an image at all", "name": "notes.nii.gz"})
    assert answer["ok"] is False
    error = answer["error"]
    assert error["kind"] == "input" and error["file"] == "notes.nii.gz"
    assert "notes.nii.gz" in error["message"]
    assert service.call("close", {"scan": "scan-9"})["error"]["kind"] == "internal"
    unknown = service.call("format_disk", {})["error"]["message"]
    assert unknown.startswith("ValueError: unknown call")


def test_segment_result_and_option_errors(service, sphere):
    scan = opened(service, sphere)
    bad = segment(service, scan, options={"crop": "no"})
    assert bad["ok"] is False and bad["error"]["kind"] == "option"
    assert bad["error"]["option"] == "crop"
    answer = segment(service, scan)
    assert answer["ok"], answer
    value = answer["value"]
    mask = nib.Nifti1Image.from_bytes(gzip.decompress(value["mask"]))
    raw = nib.Nifti1Image.from_bytes(value["labelsNifti"])
    assert mask.shape == raw.shape == sphere.shape
    assert np.array_equal(np.asanyarray(mask.dataobj), np.asanyarray(raw.dataobj))
    assert value["maskName"] == "ball_sphere_labels.nii.gz"
    assert value["stats"][0]["voxels"] == int((np.asanyarray(raw.dataobj) == 1).sum()) > 1000


def test_measure_and_save_an_edited_mask(service, sphere):
    scan = opened(service, sphere)
    labels = voxels(segment(service, scan)["value"]["labelsNifti"]).copy()
    before = int((labels == 1).sum())
    assert not labels[:10, :10, :10].any()  # a corner outside the ball
    labels[:10, :10, :10] = 1  # the edit: 1000 voxels painted
    data = labels.tobytes(order="F")
    measured = service.call("measure", {"scan": scan, "labels": data, "model": "sphere"})["value"]
    assert measured["stats"][0]["voxels"] == before + 1000
    saved = service.call("save", {"scan": scan, "labels": data, "model": "sphere"})["value"]
    assert saved["maskName"] == "ball_sphere_labels_edited.nii.gz"
    image = nib.Nifti1Image.from_bytes(gzip.decompress(saved["mask"]))
    assert np.array_equal(np.asanyarray(image.dataobj), labels)
    assert np.allclose(image.affine, sphere.affine, atol=1e-5)
    assert image.header.get_intent()[0] == "label" and image.header["descrip"] == b""
    short = service.call("measure", {"scan": scan, "labels": data[:-1], "model": "sphere"})
    assert "ball.nii.gz" in short["error"]["message"]


def test_reference_on_another_grid_and_comparison(service, sphere):
    scan = opened(service, sphere)
    ours = voxels(segment(service, scan)["value"]["labelsNifti"])
    # The same ball as a reference on a coarser, differently oriented grid.
    ref_affine = affine_from((2.0, 2.0, 2.0), "RAS", origin=(-40, -40, -40))
    ref = sphere_image(shape=(40, 40, 40), affine=ref_affine, centre_mm=(0, 0, 5),
                       radius_mm=16, noise=0.0)
    ref_labels = nib.Nifti1Image((ref.get_fdata() > 50).astype(np.uint8), ref_affine)
    answer = service.call("reference", {"scan": scan, "data": nifti_bytes(ref_labels),
                                        "name": "manual.nii.gz"})
    assert answer["ok"], answer
    theirs = voxels(answer["value"]["labelsNifti"])
    assert theirs.shape == sphere.shape and answer["value"]["values"] == [1]
    compared = service.call("compare", {
        "scan": scan, "a": ours.tobytes(order="F"), "b": theirs.tobytes(order="F"),
        "classes_a": card().classes, "classes_b": None})["value"]
    row = compared["rows"][0]
    both = int(((ours == 1) & (theirs == 1)).sum())
    assert row["dice"] == pytest.approx(2 * both / ((ours == 1).sum() + (theirs == 1).sum()),
                                        abs=1e-4)
    assert row["dice"] > 0.9
    diff = voxels(compared["differenceNifti"])
    assert int((diff == 1).sum()) == both
    assert int((diff == 2).sum()) == int(((ours == 1) & (theirs == 0)).sum())
    assert compared["csv"].splitlines()[0] == "name,label_a,label_b,ml_a,ml_b,diff_ml,dice"


def test_labels_matched_by_name_across_label_sets(service, sphere):
    scan = opened(service, sphere)
    a = voxels(segment(service, scan)["value"]["labelsNifti"])
    b = a.copy()
    b[a == 1] = 2  # B calls the ball "core" (label 2): no name in common with A's "sphere"
    rows = service.call("compare", {
        "scan": scan, "a": a.tobytes(order="F"), "b": b.tobytes(order="F"),
        "classes_a": card().classes, "classes_b": _two_class_card().classes})["value"]["rows"]
    by_name = {row["name"]: row for row in rows}
    assert by_name["sphere"]["dice"] == 0.0 and by_name["sphere"]["label_b"] == 1
    assert by_name["core"]["label_a"] is None and by_name["core"]["ml_b"] > 0
    assert by_name["all labelled"]["dice"] == 1.0


def test_close_frees_the_session(service, sphere):
    scan = opened(service, sphere)
    segment(service, scan)
    held = service.call("status", {})["value"]["bytesHeld"]
    assert held > sphere.get_fdata().size  # the scan and its conformed volume
    closed = service.call("close", {"scan": scan})["value"]
    assert closed["bytesReleased"] == held
    assert service.call("status", {})["value"] == {"scans": [], "bytesHeld": 0}
    assert segment(service, scan)["error"]["message"].startswith("ValueError: no open scan")
