"""conform: model-grid affine, fast path for aligned grids, orientation invariance."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage

from meshseg.conform import (
    axis_permutation,
    conform,
    field_of_view_box,
    permute_into,
    resample_into,
    target_affine,
    voxel_to_voxel,
)
from meshseg.intensity import scale_to_uint8
from synthetic import affine_from, centred_affine, permuted_copy, random_image, sphere_image


def _interpolated(img, shape, orientation="LIA"):
    """Reference: scipy trilinear resampling onto the target grid, no fast path."""
    affine = target_affine(img, shape, 1.0, orientation)
    vox2vox = voxel_to_voxel(img, affine)
    data = np.asarray(img.dataobj, np.float32)
    return ndimage.affine_transform(
        data, vox2vox[:3, :3], vox2vox[:3, 3], output_shape=shape,
        order=1, mode="grid-constant", cval=float(data.min()))  # padding: the image's background


@pytest.mark.parametrize("orientation", ["LIA", "RAS", "PSR"])
def test_target_affine_axes_zooms_and_centre(orientation):
    img = sphere_image((30, 40, 20), affine_from((0.9, 1.1, 3.0), "PSR", (10, -5, 15), (7, -9, 11)))
    affine = target_affine(img, (64, 50, 70), 2.0, orientation)
    assert nib.aff2axcodes(affine) == tuple(orientation)
    np.testing.assert_allclose(nib.affines.voxel_sizes(affine), [2.0, 2.0, 2.0])
    in_centre = nib.affines.apply_affine(img.affine, (np.array(img.shape) - 1) / 2)
    out_centre = nib.affines.apply_affine(affine, (np.array([64, 50, 70]) - 1) / 2)
    np.testing.assert_allclose(out_centre, in_centre, atol=1e-9)


def test_conform_of_conformed_t1_is_identity(data_dir):
    img = nib.load(data_dir / "t1_crop.nii.gz")
    assert axis_permutation(voxel_to_voxel(img, target_affine(img))) == (
        (0, 1, 2), (1, 1, 1), (0, 0, 0))
    out = conform(img)
    assert out.shape == (256, 256, 256)
    assert out.get_data_dtype() == np.float32
    np.testing.assert_allclose(out.affine, img.affine, atol=1e-4)
    np.testing.assert_array_equal(out.get_fdata(dtype=np.float32), np.asarray(img.dataobj))


def test_conform_of_reoriented_t1_is_the_same_array(data_dir):
    img = nib.load(data_dir / "t1_crop.nii.gz")
    ras = permuted_copy(img, axes=(0, 2, 1), flips=(True, False, True))
    assert nib.aff2axcodes(ras.affine) == ("R", "A", "S")
    reference = conform(img).get_fdata(dtype=np.float32)
    out = conform(ras)
    np.testing.assert_allclose(out.affine, img.affine, atol=1e-4)
    np.testing.assert_array_equal(out.get_fdata(dtype=np.float32), reference)


@pytest.mark.parametrize("axes, flips", [((0, 1, 2), (False, False, False)),
                                         ((2, 0, 1), (True, False, True)),
                                         ((1, 2, 0), (False, True, False))])
def test_fast_path_equals_interpolation(axes, flips):
    base = random_image((40, 44, 36), centred_affine((40, 44, 36), axes="PSR"), seed=3)
    img = permuted_copy(base, axes, flips)
    for shape in [(48, 48, 48), (32, 50, 30)]:
        assert axis_permutation(voxel_to_voxel(img, target_affine(img, shape))) is not None
        out = conform(img, shape).get_fdata(dtype=np.float32)
        np.testing.assert_array_equal(out, _interpolated(img, shape))


def test_half_voxel_offset_takes_the_interpolating_path():
    img = random_image((41, 44, 36), centred_affine((41, 44, 36)), seed=4)
    affine = target_affine(img, (48, 48, 48))
    assert axis_permutation(voxel_to_voxel(img, affine)) is None
    out = conform(img, (48, 48, 48))
    np.testing.assert_allclose(out.get_fdata(dtype=np.float32), _interpolated(img, (48, 48, 48)),
                               rtol=1e-6, atol=1e-3)
    assert out.get_fdata()[0, 24, 24] == np.float32(np.asarray(img.dataobj).min())


def test_sphere_centre_keeps_its_world_position():
    shape = (60, 50, 24)
    affine = centred_affine(shape, (0.9, 1.1, 3.0), "PSR", (15, -12, 18), (2, -3, 4))
    centre = np.array([8.0, -6.0, 5.0])
    img = sphere_image(shape, affine, centre_mm=centre, radius_mm=18.0)
    out = conform(img, (96, 96, 96))
    data = out.get_fdata(dtype=np.float32)
    centroid_vox = np.array(ndimage.center_of_mass(data))
    centroid_mm = nib.affines.apply_affine(out.affine, centroid_vox)
    assert np.linalg.norm(centroid_mm - centre) < 0.5
    assert nib.aff2axcodes(out.affine) == ("L", "I", "A")


def test_nifti_space_orientations_conform_identically(data_dir):
    folder = data_dir / "nifti_space"
    arrays = [conform(nib.load(folder / f"{name}.nii.gz"), (96, 96, 96), 2.0).get_fdata()
              for name in ("RAS", "LAS", "LPI", "PSR", "AIL", "SLA")]
    assert arrays[0].max() > 0
    for other in arrays[1:]:
        np.testing.assert_allclose(other, arrays[0], atol=1e-3)


def test_permute_into_fills_outside_and_crops():
    data = np.arange(24).reshape(2, 3, 4)
    # target axis 0 <- source axis 2 (+1), axis 1 <- axis 0 (reversed), axis 2 <- axis 1
    out = permute_into(data, ((2, 0, 1), (1, -1, 1), (1, 0, 1)), (6, 3, 2), fill=-7)
    assert -7 in out
    for o in np.ndindex(out.shape):
        i, j, k = -o[1] + 1, o[2], o[0] + 1
        inside = 0 <= i < 2 and 0 <= j < 3 and 0 <= k < 4
        assert out[o] == (data[i, j, k] if inside else -7)


def test_axis_permutation_rejects_oblique_and_scaled():
    assert axis_permutation(affine_from(rotation_deg=(0, 0, 10))) is None
    assert axis_permutation(affine_from(zooms=(2.0, 1.0, 1.0))) is None
    assert axis_permutation(affine_from(axes="SLA", origin=(3, -2, 5))) is not None


def test_conform_rejects_4d():
    img = nib.Nifti1Image(np.zeros((4, 4, 4, 2), np.float32), np.eye(4))
    with pytest.raises(ValueError, match="3D"):
        conform(img)


@pytest.mark.parametrize("rotation", [(0, 0, 0), (7, -5, 3)])
def test_padding_is_the_background_not_zero(rotation):
    """CT-like data (air at -1000): the frame outside the input stays as dark as the air."""
    shape = (40, 44, 36)
    img = sphere_image(shape, centred_affine(shape, (2.0, 2.0, 2.0), rotation_deg=rotation),
                       centre_mm=(0, 0, 0), radius_mm=30, noise=3.0, seed=2)
    data = np.asanyarray(img.dataobj) * 10.0 - 1000.0  # air -1000, "tissue" 0
    ct = nib.Nifti1Image(data.astype(np.float32), img.affine)
    out = conform(ct, (64, 64, 64), 2.0).get_fdata(dtype=np.float32)
    frame = np.concatenate([out[0].ravel(), out[-1].ravel(), out[:, 0].ravel(),
                            out[:, :, -1].ravel()])
    assert frame.max() == pytest.approx(data.min())  # grid 128 mm > input 80-88 mm: all padding
    scaled = scale_to_uint8(out)
    assert scaled[0].max() == 0 and scaled[:, :, -1].max() == 0
    assert int(scaled[32, 32, 32]) > 200  # the sphere stays the bright part
    assert conform(ct, (64, 64, 64), 2.0, fill=0.0).get_fdata()[0, 0, 0] == 0.0


def _whole_grid(source, vox2vox, shape, order, fill):
    return ndimage.affine_transform(source, vox2vox[:3, :3], vox2vox[:3, 3], output_shape=shape,
                                    output=np.float32, order=order, mode="grid-constant",
                                    cval=fill)


@pytest.mark.parametrize("shift, fill, order", [
    ((0, 0, 0), 0.0, 1),           # centred in the grid, oblique, MRI background
    ((0, 0, 0), -1024.0, 1),       # CT-like fill: computed, not assumed zero
    ((0, 0, 0), 3.5, 0),           # nearest neighbour
    ((50, 0, -45), 0.0, 1),        # partly outside the grid: the box is clipped
    ((400, 0, 0), 2.0, 1),         # wholly outside: an empty box, all fill
])
def test_resampling_inside_the_field_of_view_box_equals_the_whole_grid(shift, fill, order):
    shape = (128, 120, 112)
    img = random_image((23, 19, 17), centred_affine((23, 19, 17), (2.3, 2.1, 2.6), "PSR",
                                                   (11, -8, 14)), seed=7)
    source = np.asarray(img.dataobj, np.float32)
    moved = np.eye(4)
    moved[:3, 3] = shift  # target voxel i samples where voxel i + shift of the centred grid does
    vox2vox = voxel_to_voxel(img, target_affine(img, shape)) @ moved
    box = field_of_view_box(vox2vox, source.shape, shape, order)
    inside = np.prod([part.stop - part.start for part in box])
    full = _whole_grid(source, vox2vox, shape, order, fill)
    np.testing.assert_array_equal(resample_into(source, vox2vox, shape, order, fill), full)
    outside = np.ones(shape, bool)
    outside[box] = False
    assert np.all(full[outside] == np.float32(fill))  # what the box leaves out is all fill
    if shift[0] < 100:
        assert 0 < inside < 0.5 * np.prod(shape), box  # the saving is real, and not empty
        assert np.count_nonzero(full != np.float32(fill)) > 1000
    else:
        assert inside == 0
