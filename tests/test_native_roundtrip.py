"""Round trip: native scan -> model grid -> labels -> native grid (both methods)."""

from __future__ import annotations

import tracemalloc

import nibabel as nib
import numpy as np
import pytest

from meshseg.conform import conform
from meshseg.resample_labels import labels_to_native
from synthetic import affine_from, centred_affine, permuted_copy, sphere_image

CENTRE = np.array([9.0, -7.0, 6.0])
CASES = {
    "PSR 1mm": ((72, 72, 72), (1.0, 1.0, 1.0), "PSR", (0, 0, 0)),
    "LIA aniso": ((80, 66, 26), (0.9, 1.1, 3.0), "LIA", (0, 0, 0)),
    "RAS oblique aniso": ((80, 66, 26), (0.9, 1.1, 3.0), "RAS", (12, -15, 18)),
    "PSR oblique aniso": ((80, 66, 26), (0.9, 1.1, 3.0), "PSR", (10, 20, -15)),
}


def _phantom(shape, zooms, axes, rotation):
    affine = centred_affine(shape, zooms, axes, rotation, centre_mm=(1.0, -2.0, 3.0))
    return sphere_image(shape, affine, centre_mm=CENTRE, radius_mm=20.0)


def _dice(a, b):
    return 2.0 * np.logical_and(a, b).sum() / (a.sum() + b.sum())


def _centroid_mm(mask, affine):
    return nib.affines.apply_affine(affine, np.argwhere(mask).mean(axis=0))


def _check_round_trip(img, grid_shape):
    conformed = conform(img, grid_shape)
    labels = (conformed.get_fdata(dtype=np.float32) > 50).astype(np.uint8)
    truth = np.asarray(img.dataobj) > 50
    voxel = max(nib.affines.voxel_sizes(img.affine))
    for method in ("nearest", "majority"):
        native = labels_to_native(labels, conformed.affine, img.shape, img.affine, method=method)
        assert native.dtype == np.uint8 and native.shape == img.shape
        assert _dice(native > 0, truth) >= 0.95, method
        centroid = _centroid_mm(native > 0, img.affine)
        assert np.linalg.norm(centroid - _centroid_mm(truth, img.affine)) <= voxel, method
        assert np.linalg.norm(centroid - CENTRE) <= voxel, method


@pytest.mark.parametrize("case", sorted(CASES))
def test_round_trip_small_grid(case):
    _check_round_trip(_phantom(*CASES[case]), (96, 96, 96))


def test_round_trip_full_model_grid():
    _check_round_trip(_phantom(*CASES["PSR oblique aniso"]), (256, 256, 256))


def _reference_vote(labels, labels_affine, native_shape, native_affine, supersample):
    """Per-voxel loop: nearest label at each sub-point, bincount, tie rule of the module."""
    vox2vox = np.linalg.inv(labels_affine) @ native_affine
    steps = (np.arange(supersample) + 0.5) / supersample - 0.5
    offsets = np.stack(np.meshgrid(steps, steps, steps, indexing="ij"), -1).reshape(-1, 3)
    out = np.zeros(native_shape, labels.dtype)

    def label_at(point):
        index = np.floor(vox2vox[:3, :3] @ point + vox2vox[:3, 3] + 0.5).astype(int)
        inside = np.all(index >= 0) and np.all(index < labels.shape)
        return labels[tuple(index)] if inside else 0

    for ijk in np.ndindex(native_shape):
        votes = [label_at(np.add(ijk, offset)) for offset in offsets]
        counts = np.bincount(votes)
        centre = label_at(np.array(ijk, float))
        out[ijk] = centre if counts[centre] == counts.max() else counts.argmax()
    return out


@pytest.mark.parametrize("supersample", [1, 2, 3])
def test_majority_matches_brute_force(supersample):
    rng = np.random.default_rng(supersample)
    labels = rng.integers(0, 6, (12, 11, 10)).astype(np.uint8)
    labels_affine = affine_from((1.0, 1.0, 1.0), "LIA", origin=(5, -6, 4))
    native_shape = (7, 6, 5)
    native_affine = centred_affine(native_shape, (1.3, 0.8, 2.1), "SPL", (7, -11, 20))
    expected = _reference_vote(labels, labels_affine, native_shape, native_affine, supersample)
    for slab_points in (7, 1 << 21):
        out = labels_to_native(labels, labels_affine, native_shape, native_affine, "majority",
                               supersample, slab_points=slab_points)
        np.testing.assert_array_equal(out, expected)
    if supersample == 1:
        nearest = labels_to_native(labels, labels_affine, native_shape, native_affine, "nearest")
        np.testing.assert_array_equal(nearest, expected)


def test_voxels_outside_the_model_grid_are_zero():
    labels = np.full((10, 10, 10), 3, np.int16)
    labels_affine = centred_affine((10, 10, 10), rotation_deg=(0, 0, 30))
    native_shape = (30, 30, 30)
    native_affine = centred_affine(native_shape, (1.0, 1.0, 1.0), "RAS")
    for method in ("nearest", "majority"):
        out = labels_to_native(labels, labels_affine, native_shape, native_affine, method)
        assert out.dtype == np.int16
        assert out[15, 15, 15] == 3 and out[0, 0, 0] == 0 and out[29, 15, 15] == 0
        assert 0 < np.count_nonzero(out) < 2000


def test_aligned_grids_use_exact_indexing():
    rng = np.random.default_rng(5)
    labels_img = nib.Nifti1Image(rng.integers(0, 104, (20, 22, 24)).astype(np.uint8),
                                 affine_from(axes="LIA", origin=(3, 4, 5)))
    native = permuted_copy(labels_img, axes=(2, 0, 1), flips=(True, True, False))
    for method in ("nearest", "majority"):
        out = labels_to_native(labels_img.dataobj, labels_img.affine, native.shape,
                               native.affine, method)
        np.testing.assert_array_equal(out, np.asarray(native.dataobj))


def test_slabs_bound_the_memory():
    labels = np.ones((40, 40, 40), np.uint8)
    labels_affine = centred_affine((40, 40, 40), rotation_deg=(5, 5, 5))
    native_shape = (64, 64, 64)
    native_affine = centred_affine(native_shape, (0.7, 0.7, 0.7))
    tracemalloc.start()
    out = labels_to_native(labels, labels_affine, native_shape, native_affine, "majority",
                           slab_points=64 * 64)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert out.sum() > 0
    # Output (262 kB) plus one slab's work: unslabbed, the 8 votes alone would take 2 MB.
    assert peak < out.nbytes + 64 * 64 * 200


def test_bad_arguments_raise():
    labels = np.zeros((4, 4, 4), np.uint8)
    with pytest.raises(ValueError, match="nearest, majority"):
        labels_to_native(labels, np.eye(4), (4, 4, 4), np.eye(4), "cubic")
    with pytest.raises(ValueError, match="supersample"):
        labels_to_native(labels, np.eye(4), (4, 4, 4), np.eye(4), "majority", supersample=9)
    with pytest.raises(ValueError, match="integer"):
        labels_to_native(labels.astype(float), np.eye(4), (4, 4, 4), np.eye(4))
