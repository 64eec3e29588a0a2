"""Float outputs (probability, confidence, images) on the input's grid, and what they show.

A model's ``probability`` output is a float32 volume on the model grid:
``foreground`` (two-class models: softmax of class 1) or ``confidence`` (many-class
models: the largest softmax). An ``image`` output (image-to-image models) is a
float32 volume on the model grid. Both are mapped to the input scan's own grid by
trilinear interpolation (:func:`to_native`) and written as NIfTI: float32, or uint8
with ``scl_slope`` 1/255 for probabilities (:func:`probability_image`).
"""

from __future__ import annotations

import nibabel as nib
import numpy as np
from scipy import ndimage

from meshseg.conform import axis_permutation, permute_into, voxel_to_voxel

LOW_CONFIDENCE = 0.5
DTYPES = ("float32", "uint8")


def to_native(volume, model_affine, native_shape, native_affine, outside: float = 0.0):
    """Trilinear samples of `volume` (model grid) at every voxel centre of the native grid.

    Points outside the model grid take `outside` (0: background; 1 for confidence).
    When the grids align (an axis permutation with flips, 1:1 voxels) the values are
    copied exactly, as the labels are (no interpolation, no blur).
    """
    vox2vox = voxel_to_voxel(np.asarray(model_affine, float), np.asarray(native_affine, float))
    permutation = axis_permutation(vox2vox)
    if permutation is not None:
        return permute_into(np.asarray(volume, np.float32), permutation, native_shape[:3],
                            fill=outside)
    out = np.empty(tuple(int(n) for n in native_shape[:3]), np.float32)
    ndimage.affine_transform(np.asarray(volume, np.float32), vox2vox[:3, :3], vox2vox[:3, 3],
                             output_shape=out.shape, output=out, order=1, mode="constant",
                             cval=outside, prefilter=False)
    return out


def float_image(data, reference, intent: str = "none") -> nib.Nifti1Image:
    """A float32 NIfTI-1 image on the reference's grid (anonymised header, like labels)."""
    data = np.asarray(data, np.float32)
    if data.shape != tuple(reference.shape[:3]):
        raise ValueError(f"data of shape {data.shape} do not match the grid {reference.shape}")
    header = nib.Nifti1Header()
    header.set_data_dtype(np.float32)
    img = nib.Nifti1Image(data, reference.affine, header)
    _grid_header(img, reference, intent)
    return img


def probability_image(data, reference, dtype: str = "float32") -> nib.Nifti1Image:
    """A probability (0..1) image: float32, or uint8 0..255 with scl_slope 1/255."""
    if dtype not in DTYPES:
        raise ValueError(f"probability dtype must be one of {', '.join(DTYPES)}")
    if dtype == "float32":
        return float_image(data, reference, "estimate")
    scaled = np.rint(np.clip(np.asarray(data, np.float32), 0, 1) * 255).astype(np.uint8)
    header = nib.Nifti1Header()
    header.set_data_dtype(np.uint8)
    img = nib.Nifti1Image(scaled, reference.affine, header)
    _grid_header(img, reference, "estimate")
    img.header.set_slope_inter(1 / 255, 0.0)
    return img


def _grid_header(img, reference, intent: str) -> None:
    for name, setter in (("qform_code", img.set_qform), ("sform_code", img.set_sform)):
        code = int(reference.header[name]) if isinstance(reference.header,
                                                         nib.Nifti1Header) else 0
        setter(reference.affine, code=code if code > 0 else 1)
    hdr = img.header
    hdr.set_intent(intent, name="")
    hdr.set_xyzt_units(xyz="mm")
    for field in ("descrip", "db_name", "aux_file"):
        hdr[field] = b""


def threshold(probability, level: float) -> np.ndarray:
    """Labels 1 where the foreground probability is at least `level`, else 0 (uint8)."""
    if not 0 <= level <= 1:
        raise ValueError(f"threshold must lie in 0..1, got {level}")
    return (np.asarray(probability) >= np.float32(level)).astype(np.uint8)


def low_confidence_share(confidence, labels) -> float:
    """Share of labelled (non-zero) voxels whose confidence is below 0.5."""
    brain = np.asarray(labels) != 0
    total = int(brain.sum())
    if total == 0:
        return 0.0
    return float((np.asarray(confidence)[brain] < LOW_CONFIDENCE).sum() / total)
