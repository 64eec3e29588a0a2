"""label_image / to_nifti_bytes: grid, codes, intent, dtype, anonymised header, bytes."""

from __future__ import annotations

import gzip
import io

import nibabel as nib
import numpy as np
import pytest

from meshseg.label_image import label_image, to_nifti_bytes
from synthetic import affine_from, sphere_image

SHAPE = (20, 18, 12)


def _reference(qform_code=1, sform_code=1):
    affine = affine_from((0.9, 1.1, 3.0), "PSR", (10, -5, 15), (7, -9, 11))
    img = sphere_image(SHAPE, affine, dtype=np.int16)
    img.set_qform(affine, code=qform_code)
    img.set_sform(affine, code=sform_code)
    header = img.header
    header["descrip"] = b"Jane Doe 1970-01-01"
    header["db_name"] = b"hospital"
    header["aux_file"] = b"private.lut"
    header.set_intent("t test", (10,), name="stats")
    return img


def _labels(top=3, dtype=np.int32):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, top + 1, SHAPE).astype(dtype)
    labels.flat[0] = top
    return labels


def _check(img, reference, labels, dtype, qform_code, sform_code):
    header = img.header
    assert img.shape == reference.shape
    np.testing.assert_allclose(img.affine, reference.affine, atol=1e-5)
    np.testing.assert_allclose(header.get_sform(), reference.affine, atol=1e-5)
    np.testing.assert_allclose(header.get_qform(), reference.affine, atol=1e-4)
    assert (int(header["qform_code"]), int(header["sform_code"])) == (qform_code, sform_code)
    assert header.get_intent() == ("label", (), "")
    assert header.get_data_dtype() == dtype
    assert np.asanyarray(img.dataobj).dtype == dtype
    np.testing.assert_array_equal(np.asanyarray(img.dataobj), labels)
    assert header.get_xyzt_units()[0] == "mm"
    for field in ("descrip", "db_name", "aux_file", "intent_name"):
        assert header[field].item() == b"", field


@pytest.mark.parametrize("top, dtype", [(3, np.uint8), (255, np.uint8), (256, np.int16),
                                        (1000, np.int16)])
def test_label_image_grid_header_and_dtype(top, dtype):
    reference = _reference(qform_code=2, sform_code=4)
    labels = _labels(top)
    img = label_image(labels, reference)
    _check(img, reference, labels, dtype, 2, 4)


def test_zero_codes_become_scanner():
    reference = _reference(qform_code=0, sform_code=0)
    img = label_image(_labels(), reference)
    assert (int(img.header["qform_code"]), int(img.header["sform_code"])) == (1, 1)


def test_bytes_read_back_the_same():
    reference = _reference(qform_code=2, sform_code=4)
    labels = _labels(300)
    data = to_nifti_bytes(label_image(labels, reference))
    assert data[:2] == b"\x1f\x8b"
    assert data == to_nifti_bytes(label_image(labels, reference))
    raw = gzip.decompress(data)
    assert raw == to_nifti_bytes(label_image(labels, reference), gzip=False)
    back = nib.Nifti1Image.from_bytes(raw)
    _check(back, reference, labels, np.int16, 2, 4)
    on_disk = nib.Nifti1Header.from_fileobj(io.BytesIO(raw))
    assert (float(on_disk["scl_slope"]), float(on_disk["scl_inter"])) == (1.0, 0.0)
    assert b"Jane" not in raw and b"hospital" not in raw and b"private" not in raw


def test_mgh_reference(data_dir):
    reference = nib.load(data_dir / "wm.mgz")
    labels = (np.asanyarray(reference.dataobj) > 0).astype(np.uint8)
    img = label_image(labels, reference)
    _check(img, reference, labels, np.uint8, 1, 1)


def test_bad_labels_raise():
    reference = _reference()
    with pytest.raises(ValueError, match="do not match"):
        label_image(np.zeros((3, 3, 3), np.uint8), reference)
    with pytest.raises(ValueError, match="integers"):
        label_image(np.zeros(SHAPE, np.float32), reference)
    with pytest.raises(ValueError, match="0..32767"):
        label_image(np.full(SHAPE, -1, np.int16), reference)
