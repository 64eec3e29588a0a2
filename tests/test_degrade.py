"""meshseg.bench.degrade: seeded degradations of small synthetic scans (exact numbers)."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from meshseg.bench import degrade
from meshseg.conform import target_affine
from synthetic import affine_from, centred_affine, sphere_image


def _two_tissues(shape=(24, 26, 20), affine=None) -> nib.Nifti1Image:
    """A head-like ball (value 80) with a darker core (value 30), background 0."""
    affine = centred_affine(shape) if affine is None else affine
    ijk = np.indices(shape).reshape(3, -1)
    xyz = affine[:3, :3] @ ijk + affine[:3, 3:4]
    radius = np.linalg.norm(xyz, axis=0).reshape(shape)
    data = np.where(radius <= 9.0, 80.0, 0.0)
    data[radius <= 4.0] = 30.0
    return nib.Nifti1Image(data.astype(np.float32), affine)


def _corners(img) -> np.ndarray:
    """World positions of the outer corners of the first and last voxels."""
    shape = np.asarray(img.shape[:3], float)
    ijk = np.array([[-0.5, -0.5, -0.5, 1.0], [*(shape - 0.5), 1.0]]).T
    return (img.affine @ ijk)[:3].T


def test_degradation_set_is_deterministic_for_a_seed():
    img = _two_tissues()
    first, again = degrade.degradation_set(img, 11), degrade.degradation_set(img, 11)
    other = degrade.degradation_set(img, 12)
    for a, b in zip(first, again, strict=True):
        assert a.name == b.name
        assert np.asanyarray(a.image.dataobj).tobytes() == np.asanyarray(b.image.dataobj).tobytes()
        assert np.array_equal(a.image.affine, b.image.affine)
        assert a.image.get_data_dtype() == np.float32
    noisy = {c.name: np.asanyarray(c.image.dataobj) for c in first}
    changed = {c.name for c in other if not np.array_equal(noisy[c.name], c.image.dataobj)}
    assert {"noise-08", "bias-0.8", "slab-25", "motion-1mm"} <= changed  # seeded draws
    assert "thick-5mm" not in changed and "gamma-0.6" not in changed  # no draws at all


def test_degradation_set_has_unique_named_cases():
    cases = degrade.degradation_set(_two_tissues(), 0)
    names = [c.name for c in cases]
    assert len(cases) >= 18 and len(set(names)) == len(names)
    assert {"noise-03", "noise-08", "noise-15", "bias-0.3", "bias-0.8", "thick-3mm",
            "thick-5mm", "thick-7mm", "ghost-0.1", "ghost-0.3", "gamma-0.6", "gamma-1.8",
            "inverted", "slab-10", "slab-25", "bias-0.8+ghost-0.3"} <= set(names)
    combos = [c for c in cases if len(c.kinds) > 1]
    assert len(combos) >= 4
    for case in cases:
        assert len(case.kinds) == len(case.name.split("+"))
        assert all(part.startswith(kind) for part, kind in
                   zip(case.name.split("+"), case.kinds, strict=True))
    with pytest.raises(AttributeError):
        cases[0].name = "x"  # frozen


def test_heldout_set_differs_from_the_standard_set_and_names_its_axes():
    img = nib.Nifti1Image(_two_tissues().get_fdata(dtype=np.float32),
                          centred_affine((24, 26, 20), axes="LIA"))
    standard = {c.name for c in degrade.degradation_set(img, 0)}
    heldout = degrade.degradation_set(img, 0, kind="heldout")
    names = [c.name for c in heldout]
    assert len(names) == 21 and len(set(names)) == 21
    assert not set(names) & standard  # nothing the score was fitted on
    by_name = {c.name: c.image for c in heldout}
    # LIA: voxel axis 0 is left-right, 1 is head-foot, 2 is front-back
    assert by_name["thick-4mm-lr"].shape[1:] == img.shape[1:]
    assert by_name["thick-4mm-lr"].shape[0] < img.shape[0]
    assert by_name["thick-6mm-ap"].shape[:2] == img.shape[:2]
    assert by_name["thick-8mm-si"].shape[1] < img.shape[1]
    slab = np.asanyarray(by_name["slab-15-lr"].dataobj)
    lost = np.flatnonzero(((np.asanyarray(img.dataobj) != 0) & (slab == 0)).any(axis=(1, 2)))
    assert lost.size >= 2 and np.array_equal(lost, np.arange(lost[0], lost[-1] + 1))
    assert not slab[lost[0]:lost[-1] + 1].any()  # whole left-right planes are blank
    with pytest.raises(KeyError):
        degrade.degradation_set(img, 0, kind="unknown")


def test_thick_slices_keep_field_of_view_centre_and_model_grid():
    # Oblique, stored P-S-R: voxel axis 1 runs closest to world S-I.
    shape, zooms = (20, 21, 18), (1.1, 1.0, 0.9)
    affine = affine_from(zooms, "PSR", (8.0, -5.0, 12.0), (4.0, -9.0, 17.0))
    img = _two_tissues(shape, affine)
    thick = degrade.thick_slices(img, 7.0)
    assert thick.shape == (20, 3, 18)
    assert np.allclose(thick.header.get_zooms(), (1.1, 7.0, 0.9), atol=1e-6)
    assert np.allclose(_corners(thick), _corners(img), atol=1e-9)
    centre = img.affine @ np.r_[(np.asarray(shape) - 1) / 2, 1.0]
    assert np.allclose(thick.affine @ np.r_[(np.asarray(thick.shape) - 1) / 2, 1.0], centre)
    assert np.allclose(target_affine(thick), target_affine(img))
    # Not a whole number of slices: 21 mm in round(21 / 5) = 4 slabs of 5.25 mm.
    five = degrade.thick_slices(img, 5.0)
    assert five.shape[1] == 4 and np.isclose(five.header.get_zooms()[1], 5.25)
    assert np.allclose(_corners(five), _corners(img), atol=1e-9)


def test_thick_slices_average_consecutive_slices_along_the_axis():
    data = np.random.default_rng(3).uniform(0, 100, (6, 5, 12)).astype(np.float32)
    img = nib.Nifti1Image(data, np.diag([1.0, 1.0, 1.5, 1.0]))
    thick = degrade.thick_slices(img, 4.5, axis=2)
    expected = data.reshape(6, 5, 4, 3).mean(axis=3)
    assert np.allclose(thick.get_fdata(), expected, atol=1e-4)
    assert data.sum() == pytest.approx(thick.get_fdata().sum() * 3, rel=1e-6)
    with pytest.raises(ValueError, match="below the voxel size"):
        degrade.thick_slices(img, 1.0, axis=2)


def test_rician_noise_raises_background_std_by_the_rayleigh_factor():
    img = sphere_image((24, 24, 24), centred_affine((24, 24, 24)), (0, 0, 0), 8.0)
    data = img.get_fdata()
    noisy = degrade.rician_noise(img, 0.1, np.random.default_rng(4)).get_fdata()
    background = data == 0
    sigma = 0.1 * 100.0  # 10 % of the foreground's 99th percentile (100)
    assert data[background].std() == 0.0
    assert noisy[background].std() == pytest.approx(sigma * np.sqrt((4 - np.pi) / 2), rel=0.05)
    assert noisy[~background].mean() == pytest.approx(100.5, abs=1.0)  # Rician bias ~ s^2/2x
    with pytest.raises(TypeError):
        degrade.rician_noise(img, 0.1, None)


def test_noise_keeps_an_unscaled_integer_range():
    img = sphere_image((16, 16, 16), centred_affine((16, 16, 16)), (0, 0, 0), 6.0,
                       dtype=np.uint8)
    img = nib.Nifti1Image((img.get_fdata() * 2.5).astype(np.uint8), img.affine)  # 250
    noisy = degrade.rician_noise(img, 0.15, 1).get_fdata()
    assert noisy.max() == 255.0 and noisy.min() >= 0.0


def test_inverted_contrast_reverses_the_tissue_order_and_keeps_background_dark():
    img = _two_tissues()
    data = img.get_fdata()
    out = degrade.inverted_contrast(img).get_fdata()
    outer, core = data == 80, data == 30
    assert data[outer].mean() > data[core].mean()
    assert out[core].mean() == pytest.approx(50.0) and out[outer].mean() == pytest.approx(0.0)
    assert out[core].mean() > out[outer].mean()
    assert out[data == 0].max() == 0.0


def test_missing_slab_zeros_exactly_the_requested_slices():
    data = np.random.default_rng(5).uniform(1, 100, (10, 40, 8)).astype(np.float32)
    img = nib.Nifti1Image(data, np.eye(4))
    out = degrade.missing_slab(img, 0.25, 1, rng=9).get_fdata()
    where = degrade.slab_position(40, 0.25, 9)
    zero = np.flatnonzero((out == 0).all(axis=(0, 2)))
    assert zero.tolist() == list(range(where.start, where.stop))
    assert len(zero) == 10 and 8 <= where.start and where.stop <= 32  # central 60 %
    kept = np.ones(40, bool)
    kept[where] = False
    assert np.array_equal(out[:, kept], data[:, kept])
    assert (out == 0).sum() == 10 * 10 * 8


def test_bias_field_ratio_inside_the_head():
    img = sphere_image((20, 22, 18), centred_affine((20, 22, 18)), (0, 0, 0), 8.0)
    inside = img.get_fdata() > 0
    for strength in (0.3, 0.8):
        out = degrade.bias_field(img, strength, rng=2).get_fdata()
        field = out[inside] / 100.0
        assert field.max() / field.min() == pytest.approx(1 + strength, rel=1e-5)
        assert np.exp(np.log(field).mean()) == pytest.approx(1.0, rel=1e-5)
        assert (out[~inside] == 0).all()


def test_ghosting_adds_a_shifted_scaled_copy_and_stays_non_negative():
    img = _two_tissues()
    data = img.get_fdata()
    axis = degrade._closest_axis(img.affine, 1)  # A-P
    ghost = degrade.ghosting(img, 0.3).get_fdata()
    expected = data + 0.3 * np.roll(data, data.shape[axis] // 2, axis=axis)
    assert np.allclose(ghost, expected, atol=1e-3)
    quarter = degrade.ghosting(img, 0.2, shift_fraction=0.25, axis=0).get_fdata()
    assert np.allclose(quarter, data + 0.2 * np.roll(data, 6, axis=0), atol=1e-3)
    moved = degrade.ghosting(img, 0.1, motion_mm=1.0, rng=3).get_fdata()
    assert moved.min() >= 0 and not np.allclose(moved, degrade.ghosting(img, 0.1).get_fdata())
    with pytest.raises(TypeError):
        degrade.ghosting(img, 0.1, motion_mm=1.0)


def test_gamma_keeps_the_range_and_the_order():
    img = _two_tissues()
    for value, darker in ((0.6, False), (1.8, True)):
        out = degrade.gamma(img, value).get_fdata()
        assert out.min() == 0.0 and out.max() == pytest.approx(80.0)
        core = out[img.get_fdata() == 30].mean()
        assert core == pytest.approx(80.0 * (30 / 80) ** value, rel=1e-6)
        assert (core < 30) == darker
