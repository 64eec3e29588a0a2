"""The quality checks on seeded synthetic heads: metrics, contrast, dropout, JSON, TTA.

The real models' score is validated in test_quality_validation.py (slow lane).
"""

import json

import numpy as np
import pytest

from meshseg.models.card import ModelCard
from meshseg.pipeline import open_job, run_job
from meshseg.quality import Evidence, assess, metrics
from meshseg.quality.contrast import depth_ratio
from meshseg.quality.dropout import dropout_fraction
from meshseg.quality.mirror import swap_table
from synthetic import affine_from

GRID = 64


def head(seed=0, shape=(GRID,) * 3, inverted=False, noise=2.0):
    """A seeded T1-like head on a 1 mm grid: white-matter core (110, radius 14), grey-matter
    shell (75), CSF rim (25), skull (10), scalp (90, to radius 26); labels 1 = WM, 2 = GM."""
    rng = np.random.default_rng(seed)
    z, y, x = np.indices(shape, dtype=np.float32)
    centre = (np.array(shape, np.float32) - 1) / 2
    r = np.sqrt(((z - centre[0]) / 1.0) ** 2 + ((y - centre[1]) / 1.1) ** 2
                + ((x - centre[2]) / 0.9) ** 2)
    volume = np.select([r < 14, r < 19, r < 20, r < 23, r < 26],
                       [110.0, 75.0, 25.0, 10.0, 90.0], 0.0).astype(np.float32)
    labels = np.select([r < 14, r < 19], [1, 2], 0).astype(np.uint8)
    if inverted:
        volume = np.where(r < 26, 120.0 - volume, 0.0).astype(np.float32)
    volume += rng.normal(0, noise, shape).astype(np.float32)
    return np.abs(volume), labels  # a magnitude image: the air holds Rayleigh-like noise


def tissue_card(contrast="T1", **extra):
    return ModelCard(
        id="tissue_test", title="synthetic tissue", task="tissue", description="",
        classes=[{"index": 0, "name": "background", "color": [0, 0, 0]},
                 {"index": 1, "name": "White Matter", "color": [255, 255, 255]},
                 {"index": 2, "name": "Grey Matter", "color": [128, 128, 128]}],
        conform={"shape": [GRID] * 3, "voxel_size": [1.0] * 3, "orientation": "LIA"},
        onnx={"file": "m.onnx", "sha256": "1" * 64}, contrast=contrast,
        outputs=[{"name": "labels", "kind": "labels"},
                 {"name": "probability", "kind": "probability", "meaning": "confidence"}],
        **extra)


def evidence(volume, labels, probability=None, tta=None):
    """The head on a 1 mm model grid; its labels measured as if on 3 mm voxels, so that
    the small synthetic brain has a human volume (28 mL x 27)."""
    return Evidence(volume=volume, labels=labels, probability=probability,
                    meaning="confidence" if probability is not None else None,
                    model_affine=np.eye(4), scan_affine=np.eye(4), scan_shape=volume.shape,
                    native_labels=labels, native_affine=np.diag([3.0, 3.0, 3.0, 1.0]), tta=tta)


def test_mriqc_metrics_on_two_tissues_with_known_statistics():
    rng = np.random.default_rng(3)
    wm, gm = rng.normal(110, 6, 20000), rng.normal(80, 8, 20000)
    air = rng.normal(0, 2, 20000)
    volume = np.concatenate([wm, gm, air])
    masks = [np.arange(60000) < 20000, (np.arange(60000) >= 20000) & (np.arange(60000) < 40000)]
    mu_wm, sd_wm, _ = metrics.tissue_stats(volume, masks[0])
    mu_gm, sd_gm, _ = metrics.tissue_stats(volume, masks[1])
    assert metrics.cjv(mu_wm, mu_gm, sd_wm, sd_gm) == pytest.approx(14 / 30, rel=0.03)
    assert metrics.cnr(mu_wm, mu_gm, 2.0, sd_wm, sd_gm) == pytest.approx(30 / np.sqrt(104),
                                                                         rel=0.03)
    assert metrics.snr_total(volume, masks) == pytest.approx((110 / 6 + 80 / 8) / 2, rel=0.03)
    head_mask = ~(np.arange(60000) >= 40000)
    assert metrics.fber(np.abs(volume), head_mask, ~head_mask) > 1000


def test_a_clean_t1_head_passes_and_its_json_is_finite():
    volume, labels = head()
    probability = np.where(labels > 0, 0.9, 0.6).astype(np.float32)
    quality = assess(evidence(volume, labels, probability), tissue_card())
    assert quality["contrast"]["observed"] == "T1" and quality["contrast"]["ok"] is True
    assert quality["contrast"]["ratio"] > 1.2 and quality["contrast"]["head_ratio"] > 1.05
    assert not quality["flagged"] and quality["score"] >= 0.95
    assert set(quality["image"]) == {"snr", "cnr", "cjv", "efc", "fber"}
    assert all(isinstance(v, float) for v in quality["image"].values()), quality["missing"]
    assert quality["image"]["cnr"] == pytest.approx(35 / np.sqrt(3 * 4), rel=0.2)
    assert set(quality["labels"]) == {"White Matter", "Grey Matter"}
    json.dumps(quality, allow_nan=False)  # no NaN, no Infinity


def test_an_inverted_head_is_flagged_as_flair_t2_for_a_t1_model_and_passes_a_t2_one():
    volume, labels = head(inverted=True)
    quality = assess(evidence(volume, labels), tissue_card("T1"))
    assert quality["contrast"]["observed"] == "FLAIR/T2"
    assert quality["flagged"] and quality["score"] <= 0.3
    assert any("looks like FLAIR/T2" in reason for reason in quality["reasons"])
    assert quality["summary"].startswith("quality 0.")
    other = assess(evidence(volume, labels), tissue_card("T2"))
    assert other["contrast"]["ok"] is True and "contrast" not in other["signals"]["caps"]


def test_a_zero_background_gives_null_fber_with_its_reason():
    volume, labels = head(noise=0.0)
    quality = assess(evidence(volume, labels), tissue_card())
    assert quality["image"]["fber"] is None
    assert "zero-filled" in quality["missing"]["fber"]
    assert quality["signals"]["factors"]["confidence"] is None  # no probability output


def test_a_blank_slab_inside_the_head_lowers_the_score():
    volume, labels = head()
    assert dropout_fraction(volume[::2, ::2, ::2], np.ones((32,) * 3, bool)) == 0
    volume[28:34] = 0
    quality = assess(evidence(volume, labels), tissue_card())
    assert quality["signals"]["dropout_fraction"] == pytest.approx(6 / 54, abs=0.05)
    assert quality["flagged"]
    assert any("slab of the scan is blank" in reason for reason in quality["reasons"])


def test_thick_slices_lower_the_score_by_their_thickness():
    volume, labels = head()
    thick = affine_from((1.0, 1.0, 7.0), "LIA")
    quality = assess(Evidence(volume=volume, labels=labels, probability=None, meaning=None,
                              model_affine=np.eye(4), scan_affine=thick,
                              scan_shape=(GRID, GRID, 10), native_labels=labels,
                              native_affine=np.diag([3.0, 3.0, 3.0, 1.0])), tissue_card())
    assert quality["signals"]["largest_voxel_mm"] == 7.0
    assert quality["signals"]["factors"]["slices"] == pytest.approx(1 - 0.03 * 5.5)
    assert any("7.0 mm" in reason for reason in quality["reasons"])


@pytest.mark.parametrize("voxel_mm, caveat", [(1.0, False), (2.0, False), (2.4, True)])
def test_coarse_scans_get_a_caveat_without_being_flagged(voxel_mm, caveat):
    volume, labels = head()
    quality = assess(Evidence(volume=volume, labels=labels, probability=None, meaning=None,
                              model_affine=np.eye(4), scan_affine=np.diag([voxel_mm] * 3 + [1]),
                              scan_shape=(GRID,) * 3, native_labels=labels,
                              native_affine=np.diag([3.0, 3.0, 3.0, 1.0])), tissue_card())
    said = [r for r in quality["reasons"] if "less reliable" in r]
    assert len(said) == int(caveat), quality["reasons"]
    assert quality["flagged"] is False, quality["summary"]
    if caveat:
        assert f"{voxel_mm:.1f} mm" in said[0] and said[0] in quality["summary"]


def test_depth_ratio_is_none_for_a_tiny_region():
    assert depth_ratio(np.ones((10, 10, 10)), np.ones((10, 10, 10), bool)) is None


def test_lateral_labels_swap_by_name():
    classes = [{"index": 0, "name": "BG"}, {"index": 1, "name": "Left-Hippocampus"},
               {"index": 2, "name": "ctx-lh-insula"}, {"index": 3, "name": "Right-Hippocampus"},
               {"index": 4, "name": "ctx-rh-insula"}, {"index": 5, "name": "Brain-Stem"}]
    assert swap_table(classes).tolist() == [0, 3, 4, 1, 2, 5]


# --- test-time augmentation through the real job, with transparent rules as models ----

def sided_card():
    """Labels 1/2 = Left-/Right-Sphere: the model grid is LIA, so axis 0 runs to the left."""
    return ModelCard(
        id="sided", title="sided rule", task="test", description="",
        classes=[{"index": 0, "name": "background", "color": [0, 0, 0]},
                 {"index": 1, "name": "Left-Sphere", "color": [255, 0, 0]},
                 {"index": 2, "name": "Right-Sphere", "color": [0, 255, 0]}],
        conform={"shape": [48] * 3, "voxel_size": [1.0] * 3, "orientation": "LIA",
                 "scale_to_uint8": True},
        crop=False, onnx={"file": "m.onnx", "sha256": "2" * 64},
        outputs=[{"name": "labels", "kind": "labels"},
                 {"name": "probability", "kind": "probability", "meaning": "confidence"}])


def sphere_scan():
    from synthetic import image_bytes, sphere_image

    return image_bytes(sphere_image(shape=(32, 32, 32), affine=affine_from((2, 2, 2), "LIA"),
                                    centre_mm=(0, 0, 0), radius_mm=15, noise=2.0))


def anatomical(model_id, tensor):
    """Bright voxels, labelled by side of the tensor's first axis (+x = left in LIA)."""
    bright = tensor[0, 0] > 0.5
    half = np.arange(tensor.shape[2])[:, None, None] >= tensor.shape[2] / 2
    labels = np.where(bright, np.where(half, 2, 1), 0).astype(np.uint8)
    return {"labels": labels, "probability": np.full(labels.shape, 0.9, np.float32)}


def biased(model_id, tensor):
    """A model blind at one end of the first axis (and unsure there): not mirror-consistent."""
    out = anatomical(model_id, tensor)
    out["labels"][: tensor.shape[2] // 3] = 0
    out["probability"][: tensor.shape[2] // 3] = 0.55
    return out


def test_tta_mirrors_back_and_swaps_sides_so_a_consistent_model_agrees_fully():
    cards = {"sided": sided_card()}
    plain = run_job(open_job(sphere_scan(), "s.nii.gz", cards, "sided"), anatomical)
    tta = run_job(open_job(sphere_scan(), "s.nii.gz", cards, "sided", {"tta": True}), anatomical)
    assert np.array_equal(plain.labels, tta.labels)
    assert {1, 2} <= set(np.unique(tta.labels).tolist())
    assert tta.quality["tta"] is True and tta.quality["signals"]["tta_agreement"] == 1.0
    assert tta.quality["signals"]["tta_changed_voxels"] == 0
    assert len(tta.work) == 2 and plain.quality["signals"]["tta_agreement"] is None


def test_tta_exposes_a_model_that_is_not_mirror_consistent():
    cards = {"sided": sided_card()}
    result = run_job(open_job(sphere_scan(), "s.nii.gz", cards, "sided", {"tta": True}), biased)
    signals = result.quality["signals"]
    assert signals["tta_agreement"] < 0.8 and signals["tta_changed_voxels"] > 100
    # where the runs differ, the surer one wins: the mirrored run fills the blind end
    assert np.count_nonzero(result.labels) > np.count_nonzero(run_job(open_job(
        sphere_scan(), "s.nii.gz", cards, "sided"), biased).labels)
    assert signals["factors"]["mirror"] < 0.8 and result.quality["flagged"]
    assert any("left-right flip" in reason for reason in result.quality["reasons"])
