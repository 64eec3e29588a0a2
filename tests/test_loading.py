"""load_scan / describe: formats, refusals with helpful messages, notices, real files."""

from __future__ import annotations

import gzip
import struct
import tracemalloc

import nibabel as nib
import numpy as np
import pytest

from meshseg.errors import InputImageError
from meshseg.loading import Scan, describe, load_scan
from synthetic import affine_from, image_bytes, random_image, sphere_image

VIA = ("path", "bytes")
HEAD_SHAPE = (24, 28, 22)  # at 3 mm: 72 x 84 x 66 mm, the size of a small head
HEAD_AFFINE = affine_from((3.0, 3.0, 3.0), origin=(-30.0, -40.0, -20.0))


def head(dtype=np.float32, shape=HEAD_SHAPE, affine=HEAD_AFFINE) -> nib.Nifti1Image:
    """A head-sized synthetic image with qform = sform (code 1)."""
    return sphere_image(shape, affine, centre_mm=(6.0, 2.0, 10.0), radius_mm=25.0,
                        dtype=dtype, noise=5.0 if np.dtype(dtype).kind == "f" else 0.0)


def nifti(data, affine=HEAD_AFFINE, codes=(1, 1)) -> nib.Nifti1Image:
    """A NIfTI-1 image of `data` with the given (qform, sform) codes."""
    img = nib.Nifti1Image(data, affine)
    img.set_qform(affine, code=codes[0])
    img.set_sform(affine, code=codes[1])
    return img


def load(via, tmp_path, content, name, **kwargs) -> Scan:
    """load_scan from a file written in tmp_path, or from the bytes themselves."""
    if via == "path":
        path = tmp_path / name
        path.write_bytes(content)
        return load_scan(path, **kwargs)
    return load_scan(content, name, **kwargs)


def refused(via, tmp_path, content, name, *fragments, **kwargs) -> InputImageError:
    """Assert that loading fails with a short message naming the file and each fragment."""
    with pytest.raises(InputImageError) as info:
        load(via, tmp_path, content, name, **kwargs)
    message = str(info.value)
    assert message.startswith(f"{name}: ")
    assert len(message) < 320
    for fragment in fragments:
        assert fragment in message
    return info.value


def patch_dims(content: bytes, shape) -> bytes:
    """Uncompressed little-endian NIfTI-1 bytes with dim[] rewritten to claim `shape`."""
    dims = [len(shape), *shape] + [1] * (7 - len(shape))
    return content[:40] + struct.pack("<8h", *dims) + content[56:]


def patch_sform(content: bytes, affine) -> bytes:
    """Uncompressed little-endian NIfTI-1 bytes with srow_x/y/z replaced and sform_code 1.

    nibabel refuses to build images with such affines, so they are written into the bytes.
    """
    patched = bytearray(content)
    patched[254:256] = struct.pack("<h", 1)
    patched[280:328] = struct.pack("<12f", *np.asarray(affine)[:3].ravel())
    return bytes(patched)


# --- what loads ---------------------------------------------------------------------------


@pytest.mark.parametrize("via", VIA)
@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int32, np.float32, np.float64])
def test_nifti1_keeps_dtype_data_and_affine(tmp_path, via, compress, dtype):
    img = head(dtype)
    name = "t1.nii.gz" if compress else "t1.nii"
    scan = load(via, tmp_path, image_bytes(img, compress), name)
    data = np.asanyarray(scan.image.dataobj)
    assert (scan.name, scan.source_format, scan.notices) == (name, "nifti1", ())
    assert isinstance(scan.image, nib.Nifti1Image) and data.dtype == np.dtype(dtype)
    assert data.flags.writeable and data.dtype.isnative
    np.testing.assert_array_equal(data, np.asanyarray(img.dataobj))
    np.testing.assert_array_equal(scan.image.affine, img.affine)
    assert scan.image.get_data_dtype() == np.dtype(dtype)


def test_path_and_bytes_give_the_same_scan(tmp_path):
    content = image_bytes(head(), compress=True)
    from_path = load("path", tmp_path, content, "a.nii.gz")
    from_bytes = load_scan(bytearray(content), "a.nii.gz")
    np.testing.assert_array_equal(from_path.image.get_fdata(), from_bytes.image.get_fdata())
    np.testing.assert_array_equal(from_path.image.affine, from_bytes.image.affine)
    assert from_path.name == from_bytes.name == "a.nii.gz"


@pytest.mark.parametrize("via", VIA)
@pytest.mark.parametrize("compress", [False, True])
def test_nifti2_becomes_nifti1_with_the_same_grid(tmp_path, via, compress):
    src = head(np.int16)
    img = nib.Nifti2Image(np.asanyarray(src.dataobj), src.affine)
    img.set_qform(src.affine, code=1)
    img.set_sform(src.affine, code=4)
    scan = load(via, tmp_path, image_bytes(img, compress), "t1.nii")
    assert scan.source_format == "nifti2" and type(scan.image) is nib.Nifti1Image
    np.testing.assert_array_equal(np.asanyarray(scan.image.dataobj), np.asanyarray(img.dataobj))
    np.testing.assert_array_equal(scan.image.affine, src.affine)
    assert (int(scan.image.header["qform_code"]), int(scan.image.header["sform_code"])) == (1, 4)


@pytest.mark.parametrize("via", VIA)
@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32])
def test_mgh_and_mgz_become_nifti1(tmp_path, via, compress, dtype):
    src = head(dtype, affine=affine_from((3.0, 3.0, 3.0), axes="LIA", origin=(30, -30, 40)))
    img = nib.MGHImage(np.asanyarray(src.dataobj), src.affine)
    name = "wm.mgz" if compress else "wm.mgh"
    scan = load(via, tmp_path, image_bytes(img, compress), name)
    assert scan.source_format == "mgh" and isinstance(scan.image, nib.Nifti1Image)
    data = np.asanyarray(scan.image.dataobj)
    assert data.dtype == np.dtype(dtype) and data.dtype.isnative
    np.testing.assert_array_equal(data, np.asanyarray(src.dataobj))
    np.testing.assert_allclose(scan.image.affine, img.affine, atol=1e-5)
    assert "".join(nib.aff2axcodes(scan.image.affine)) == "LIA"


@pytest.mark.parametrize("via", VIA)
@pytest.mark.parametrize(("compress", "name"), [(True, "t1.nii"), (False, "t1.nii.gz"),
                                                (False, "scan.mgz"), (True, "scan")])
def test_content_decides_the_format_not_the_extension(tmp_path, via, compress, name):
    img = head(np.int16)
    scan = load(via, tmp_path, image_bytes(img, compress), name)
    np.testing.assert_array_equal(np.asanyarray(scan.image.dataobj), np.asanyarray(img.dataobj))


@pytest.mark.parametrize("via", VIA)
def test_big_endian_nifti_is_read_as_native(tmp_path, via):
    data = np.asanyarray(head(np.int16).dataobj)
    img = nib.Nifti1Image(data.astype(">i2"), HEAD_AFFINE, nib.Nifti1Header(endianness=">"))
    img.set_data_dtype(">i2")
    content = image_bytes(img)
    assert content[:4] == struct.pack(">i", 348)
    scan = load(via, tmp_path, content, "be.nii")
    loaded = np.asanyarray(scan.image.dataobj)
    assert loaded.dtype == np.dtype("=i2") and scan.image.header.endianness in "<="
    np.testing.assert_array_equal(loaded, data)


@pytest.mark.parametrize("via", VIA)
def test_scl_slope_and_inter_are_applied_in_float32(tmp_path, via):
    data = np.asanyarray(head(np.int16).dataobj)
    content = bytearray(image_bytes(nib.Nifti1Image(data, HEAD_AFFINE)))
    content[112:120] = struct.pack("<2f", 0.5, -3.0)
    scan = load(via, tmp_path, bytes(content), "scaled.nii")
    loaded = np.asanyarray(scan.image.dataobj)
    assert loaded.dtype == np.float32
    np.testing.assert_allclose(loaded, data * 0.5 - 3.0, rtol=1e-6)
    assert describe(scan)["dtype"] == "float32"


def test_multi_member_gzip_is_read_whole(tmp_path):
    img = head(np.uint8)
    content = image_bytes(img)
    cut = len(content) // 3
    scan = load_scan(gzip.compress(content[:cut]) + gzip.compress(content[cut:]), "two.nii.gz")
    np.testing.assert_array_equal(np.asanyarray(scan.image.dataobj), np.asanyarray(img.dataobj))


@pytest.mark.parametrize("via", VIA)
def test_4d_uses_the_first_volume_with_a_notice(tmp_path, via):
    img = random_image(HEAD_SHAPE + (3,), HEAD_AFFINE, np.int16, seed=4)
    scan = load(via, tmp_path, image_bytes(img, compress=True), "bold.nii.gz")
    assert scan.image.shape == HEAD_SHAPE
    np.testing.assert_array_equal(np.asanyarray(scan.image.dataobj),
                                  np.asanyarray(img.dataobj)[..., 0])
    assert scan.notices == ("4D: using the first of 3 volumes.",)


@pytest.mark.parametrize("via", VIA)
@pytest.mark.parametrize("extra", [(1,), (1, 1), (1, 1, 1)])
def test_trailing_singleton_dimensions_are_squeezed(tmp_path, via, extra):
    img = random_image(HEAD_SHAPE + extra, HEAD_AFFINE, np.float32, seed=5)
    scan = load(via, tmp_path, image_bytes(img), "vol.nii")
    assert scan.image.shape == HEAD_SHAPE and scan.notices == ()
    np.testing.assert_array_equal(np.asanyarray(scan.image.dataobj),
                                  np.asanyarray(img.dataobj).reshape(HEAD_SHAPE))


@pytest.mark.parametrize("via", VIA)
def test_few_nan_voxels_become_zero_with_a_notice(tmp_path, via):
    data = np.asanyarray(head(np.float32).dataobj).copy()
    data.flat[[5, 700, 9000]] = np.nan
    scan = load(via, tmp_path, image_bytes(nifti(data)), "nan.nii")
    loaded = np.asanyarray(scan.image.dataobj)
    assert np.isfinite(loaded).all() and (loaded.flat[[5, 700, 9000]] == 0).all()
    np.testing.assert_array_equal(np.nan_to_num(data, nan=0.0), loaded)
    assert len(scan.notices) == 1 and scan.notices[0].startswith("Replaced 3 NaN voxels")


@pytest.mark.parametrize("via", VIA)
def test_qform_sform_disagreement_uses_the_sform_with_a_notice(tmp_path, via):
    img = head()
    sform = HEAD_AFFINE.copy()
    sform[:3, 3] += (2.0, 0.0, 0.0)
    img.set_sform(sform, code=2)
    scan = load(via, tmp_path, image_bytes(img), "shifted.nii")
    np.testing.assert_array_equal(scan.image.affine, sform)
    assert len(scan.notices) == 1 and "disagree by up to 2 mm" in scan.notices[0]


def test_tiny_qform_sform_difference_gives_no_notice():
    img = head()
    sform = HEAD_AFFINE.copy()
    sform[:3, 3] += 1e-5
    img.set_sform(sform, code=2)
    assert load_scan(image_bytes(img), "close.nii").notices == ()


def test_missing_orientation_is_reported():
    img = nifti(np.asanyarray(head().dataobj), codes=(0, 0))
    scan = load_scan(image_bytes(img), "bare.nii")
    assert len(scan.notices) == 1 and "no orientation" in scan.notices[0]
    assert "".join(nib.aff2axcodes(scan.image.affine)) == "LAS"


def test_mgh_without_orientation_is_reported():
    src = random_image((64, 64, 64), affine_from((2.0, 2.0, 2.0)), np.uint8)
    content = bytearray(image_bytes(nib.MGHImage(np.asanyarray(src.dataobj), src.affine)))
    content[28:30] = struct.pack(">h", 0)  # goodRASFlag
    scan = load_scan(bytes(content), "noras.mgh")
    info = describe(scan)
    assert len(scan.notices) == 1 and "goodRASFlag is 0" in scan.notices[0]
    assert f"default {info['orientation']} axes" in scan.notices[0]
    assert info["voxel_size_mm"] == [1.0, 1.0, 1.0]


def test_name_is_the_base_name_unless_given(tmp_path):
    path = tmp_path / "sub" / "T1w.nii.gz"
    path.parent.mkdir()
    path.write_bytes(image_bytes(head(), compress=True))
    assert load_scan(path).name == "T1w.nii.gz"
    assert load_scan(str(path), "upload.nii.gz").name == "upload.nii.gz"
    assert load_scan(path.read_bytes(), "C:/data/x.nii.gz").name == "x.nii.gz"


def test_bytes_need_a_name():
    with pytest.raises(TypeError, match="name"):
        load_scan(image_bytes(head()))


def test_describe_reports_grid_orientation_and_notices():
    affine = affine_from((2.5, 3.0, 3.5), axes="PSR", origin=(10.0, -5.0, 3.0))
    img = random_image((30, 24, 20, 2), affine, np.int16, seed=1)
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    info = describe(load_scan(image_bytes(img), "x.nii"))
    assert info == {"name": "x.nii", "shape": [30, 24, 20], "voxel_size_mm": [2.5, 3.0, 3.5],
                    "orientation": "PSR", "dtype": "int16", "source_format": "nifti1",
                    "notices": ["4D: using the first of 2 volumes."]}


def test_thresholds_are_parameters():
    img = random_image((32, 32, 32), np.eye(4), np.float32)
    content = image_bytes(img)
    refused("bytes", None, content, "small.nii", "covers only 32 x 32 x 32 mm")
    assert load_scan(content, "small.nii", min_fov_mm=30.0).image.shape == (32, 32, 32)
    refused("bytes", None, content, "small.nii", "too large", max_voxels=32**3 - 1)


def test_one_thin_axis_alone_is_accepted():
    img = random_image((20, 70, 70), np.eye(4), np.uint8)
    assert load_scan(image_bytes(img), "slab.nii").image.shape == (20, 70, 70)


# --- what is refused ----------------------------------------------------------------------


@pytest.mark.parametrize("via", VIA)
@pytest.mark.parametrize(("content", "fragments"), [
    (b"", ("empty",)),
    (b"patient,age\nA,42\n", ("text file", "NIfTI")),
    (b"NRRD0004\ntype: short\ndimension: 3\nsizes: 64 64 64\n", ("NRRD", "3D Slicer")),
    (b"\x00" * 128 + b"DICM" + b"\x02\x00\x00\x00UL" + bytes(300), ("DICOM", "dcm2niix")),
    (b"\x89PNG\r\n\x1a\n" + bytes(200), ("PNG",)),
    (b"PK\x03\x04" + bytes(200), ("ZIP", "extract")),
    (bytes(range(256)) * 3, ("not a NIfTI or MGH",)),
])
def test_other_formats_are_named(tmp_path, via, content, fragments):
    refused(via, tmp_path, content, "upload.nii.gz", *fragments)


@pytest.mark.parametrize("via", VIA)
def test_gzipped_dicom_is_still_recognised(tmp_path, via):
    content = gzip.compress(b"\x00" * 128 + b"DICM" + bytes(500))
    refused(via, tmp_path, content, "slice.dcm.gz", "DICOM", "dcm2niix")


@pytest.mark.parametrize("via", VIA)
@pytest.mark.parametrize("keep", [0.5, 0.01])
def test_truncated_gzip_is_refused(tmp_path, via, keep):
    content = image_bytes(random_image(HEAD_SHAPE, HEAD_AFFINE), compress=True)
    refused(via, tmp_path, content[:max(12, int(len(content) * keep))], "cut.nii.gz",
            "truncated", "get the file again")


@pytest.mark.parametrize("via", VIA)
def test_gzip_with_a_wrong_checksum_is_refused(tmp_path, via):
    content = bytearray(image_bytes(random_image(HEAD_SHAPE, HEAD_AFFINE), compress=True))
    content[-8:-4] = bytes(b ^ 0xFF for b in content[-8:-4])
    refused(via, tmp_path, bytes(content), "bad.nii.gz", "damaged gzip")


@pytest.mark.parametrize("via", VIA)
def test_damaged_deflate_stream_is_refused(tmp_path, via):
    content = bytearray(image_bytes(random_image(HEAD_SHAPE, HEAD_AFFINE), compress=True))
    middle = len(content) // 2
    content[middle:middle + 64] = b"\xff" * 64
    refused(via, tmp_path, bytes(content), "bad.nii.gz", "damaged gzip")


@pytest.mark.parametrize("via", VIA)
def test_truncated_uncompressed_data_is_refused(tmp_path, via):
    content = image_bytes(random_image(HEAD_SHAPE, HEAD_AFFINE))
    refused(via, tmp_path, content[:-100], "cut.nii", "truncated", f"{len(content):,} bytes")
    refused(via, tmp_path, content[:200], "cut.nii", "truncated")
    nifti2 = image_bytes(nib.Nifti2Image(np.asanyarray(head().dataobj), HEAD_AFFINE))
    refused(via, tmp_path, nifti2[:400], "cut.nii", "truncated", "400 bytes")


@pytest.mark.parametrize("via", VIA)
def test_header_of_a_pair_is_refused(tmp_path, via):
    pair = nib.Nifti1Pair(np.zeros(HEAD_SHAPE, np.int16), HEAD_AFFINE)
    refused(via, tmp_path, pair.header.binaryblock, "t1.hdr", ".hdr/.img pair")


@pytest.mark.parametrize("via", VIA)
def test_complex_and_rgb_voxels_are_refused(tmp_path, via):
    cplx = nifti(np.ones(HEAD_SHAPE, np.complex64))
    refused(via, tmp_path, image_bytes(cplx), "c.nii", "complex", "complex64")
    rgb_dtype = np.dtype([("R", "u1"), ("G", "u1"), ("B", "u1")])
    rgb = nifti(np.zeros(HEAD_SHAPE, rgb_dtype))
    refused(via, tmp_path, image_bytes(rgb, compress=True), "rgb.nii.gz", "RGB")


@pytest.mark.parametrize("via", VIA)
@pytest.mark.parametrize("shape", [(64, 64), (64, 64, 1), (1, 64, 64), (64, 64, 1, 20)])
def test_2d_images_are_refused(tmp_path, via, shape):
    img = random_image(shape, np.eye(4), np.float32)
    refused(via, tmp_path, image_bytes(img), "slice.nii", "2D image")


@pytest.mark.parametrize("via", VIA)
@pytest.mark.parametrize("extra", [(2, 3), (1, 3), (2, 1, 2)])
def test_5d_and_more_are_refused(tmp_path, via, extra):
    img = random_image(HEAD_SHAPE + extra, HEAD_AFFINE, np.uint8)
    refused(via, tmp_path, image_bytes(img), "field.nii",
            f"{3 + len(extra)} dimensions", "first volume")


@pytest.mark.parametrize("via", VIA)
def test_many_nan_voxels_are_refused(tmp_path, via):
    data = np.asanyarray(head(np.float32).dataobj).copy()
    data[:2] = np.nan
    refused(via, tmp_path, image_bytes(nifti(data)), "nan.nii", f"{2 * 28 * 22:,} NaN", "8.3%")


@pytest.mark.parametrize("via", VIA)
def test_infinite_voxels_are_refused(tmp_path, via):
    data = np.asanyarray(head(np.float64).dataobj).copy()
    data.flat[[3, 4]] = [np.inf, -np.inf]
    data.flat[5] = np.nan
    refused(via, tmp_path, image_bytes(nifti(data)), "inf.nii", "2 infinite")


@pytest.mark.parametrize("via", VIA)
@pytest.mark.parametrize(("dtype", "value"), [(np.uint8, 0), (np.float32, 7.5)])
def test_constant_image_is_refused(tmp_path, via, dtype, value):
    img = nifti(np.full(HEAD_SHAPE, value, dtype))
    refused(via, tmp_path, image_bytes(img, compress=True), "blank.nii.gz", "blank", f"{value:g}")


@pytest.mark.parametrize("via", VIA)
@pytest.mark.parametrize(("shape", "zooms", "fragments"), [
    ((10, 40, 40), (3.0, 3.0, 3.0), ("10 voxels along axis 1", "at least 16 voxels")),
    ((40, 40, 12), (3.0, 3.0, 3.0), ("12 voxels along axis 3",)),
    ((32, 32, 32), (1.0, 1.0, 1.0), ("covers only 32 x 32 x 32 mm",)),
    ((40, 50, 200), (1.0, 1.0, 1.0), ("covers only 40 x 50 x 200 mm",)),
])
def test_too_small_to_be_a_head_is_refused(tmp_path, via, shape, zooms, fragments):
    img = random_image(shape, affine_from(zooms), np.uint8)
    refused(via, tmp_path, image_bytes(img), "small.nii", "too small to be a head", *fragments)


@pytest.mark.parametrize("via", VIA)
@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("shape", [(1024, 1024, 1024), (1024, 1024, 1024, 5), (4096, 4096, 8)])
def test_huge_header_is_refused_before_reading_data(tmp_path, via, compress, shape):
    content = patch_dims(image_bytes(random_image((16, 16, 16), np.eye(4), np.uint8)), shape)
    if compress:
        content = gzip.compress(content)
    tracemalloc.start()
    try:
        refused(via, tmp_path, content, "huge.nii.gz", "too large", "1 mm")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000


@pytest.mark.parametrize("via", VIA)
def test_singular_or_non_finite_affine_is_refused(tmp_path, via):
    content = image_bytes(head())
    assert load_scan(patch_sform(content, HEAD_AFFINE), "same.nii").image.shape == HEAD_SHAPE
    flat = HEAD_AFFINE.copy()
    flat[:3, 2] = 0.0
    refused(via, tmp_path, patch_sform(content, flat), "flat.nii", "singular")
    nan = HEAD_AFFINE.copy()
    nan[1, 3] = np.nan
    refused(via, tmp_path, patch_sform(content, nan), "nan.nii", "NaN or infinite")


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputImageError, match="^nothere.nii: cannot be read"):
        load_scan(tmp_path / "nothere.nii")


# --- real files ---------------------------------------------------------------------------

GOOD = ["t1_crop.nii.gz", "avg152T1_RL_nifti.nii.gz", "wm.mgz", "hippo.nii.gz",
        "spmMotor.nii.gz"] + [f"nifti_space/{o}.nii.gz" for o in
                              ("RAS", "LAS", "LPI", "PSR", "AIL", "SLA")]


@pytest.mark.parametrize("relpath", GOOD)
def test_real_scans_load_like_nibabel(data_dir, relpath):
    path = data_dir / relpath
    scan = load_scan(path)
    reference = nib.load(path)
    assert scan.name == path.name and scan.image.ndim == 3
    assert scan.source_format == ("mgh" if relpath.endswith(".mgz") else "nifti1")
    np.testing.assert_allclose(scan.image.affine, reference.affine, atol=1e-5)
    loaded, expected = np.asanyarray(scan.image.dataobj), np.asanyarray(reference.dataobj)
    if expected.dtype == loaded.dtype:
        np.testing.assert_array_equal(loaded, expected)
    else:  # scaled integers: nibabel gives float64, load_scan float32
        assert loaded.dtype == np.float32
        np.testing.assert_allclose(loaded, expected, rtol=1e-6, atol=1e-6)


def test_real_scans_keep_their_dtype_and_orientation(data_dir):
    t1 = describe(load_scan(data_dir / "t1_crop.nii.gz"))
    assert (t1["shape"], t1["orientation"], t1["dtype"]) == ([256] * 3, "LIA", "uint8")
    wm = describe(load_scan((data_dir / "wm.mgz").read_bytes(), "wm.mgz"))
    assert (wm["shape"], wm["orientation"], wm["dtype"], wm["source_format"]) == (
        [256] * 3, "LIA", "uint8", "mgh")


@pytest.mark.parametrize(("relpath", "fragments"), [
    ("dicom/1-001.dcm", ("DICOM", "dcm2niix")),
    ("dicom/1-002.dcm", ("DICOM", "dcm2niix")),
    ("dicom/1-003.dcm", ("DICOM", "dcm2niix")),
    ("dicom/enh.dcm", ("DICOM", "dcm2niix")),
    ("complex_image.nii.gz", ("complex",)),
    ("ct_perfusion.nii.gz", ("RGB",)),
    ("low_res.nii.gz", ("too small to be a head", "7 x 5 x 3")),
    ("minimal.nii.gz", ("too small to be a head", "10 voxels along axis 3", "64 x 64 x 10")),
])
@pytest.mark.parametrize("via", VIA)
def test_real_edge_cases_are_refused_helpfully(data_dir, tmp_path, via, relpath, fragments):
    content = (data_dir / relpath).read_bytes()
    refused(via, tmp_path, content, relpath.rsplit("/", 1)[-1], *fragments)
