"""Write labels as a NIfTI label image on the input scan's grid, anonymised."""

from __future__ import annotations

from gzip import compress as gzip_compress

import nibabel as nib
import numpy as np


def _xform_code(reference, name):
    header = reference.header
    code = int(header[name]) if isinstance(header, nib.Nifti1Header) else 0
    return code if code > 0 else 1


def label_image(labels, reference) -> nib.Nifti1Image:
    """A NIfTI-1 label image with the grid of a reference scan.

    Parameters
    ----------
    labels : (I, J, K) integer array
        Non-negative labels on the reference's grid.
    reference : nibabel image
        The input scan: its shape, affine and sform/qform codes are kept
        (a code of 0 becomes 1, scanner); nothing else of its header is.

    Returns
    -------
    nibabel.Nifti1Image
        uint8 data when every label is below 256, else int16; intent LABEL;
        qform and sform set; units mm; scl_slope 1, scl_inter 0; empty
        descrip, db_name, aux_file and intent_name.
    """
    labels = np.asarray(labels)
    if labels.shape != tuple(reference.shape[:3]) or labels.ndim != 3:
        raise ValueError(f"labels of shape {labels.shape} do not match the reference grid "
                         f"{tuple(reference.shape)}")
    if labels.dtype.kind not in "iub":
        raise ValueError(f"labels must be integers, got {labels.dtype}")
    top = int(labels.max()) if labels.size else 0
    if (labels.size and int(labels.min()) < 0) or top > np.iinfo(np.int16).max:
        raise ValueError(f"labels must lie in 0..32767, got {labels.min()}..{top}")
    dtype = np.uint8 if top < 256 else np.int16
    affine = reference.affine
    header = nib.Nifti1Header()
    header.set_data_dtype(dtype)
    img = nib.Nifti1Image(labels.astype(dtype, copy=False), affine, header)
    img.set_qform(affine, code=_xform_code(reference, "qform_code"))
    img.set_sform(affine, code=_xform_code(reference, "sform_code"))
    hdr = img.header
    hdr.set_intent("label", name="")
    hdr.set_xyzt_units(xyz="mm")
    hdr.set_slope_inter(1.0, 0.0)
    for field in ("descrip", "db_name", "aux_file"):
        hdr[field] = b""
    return img


def to_nifti_bytes(img, gzip=True) -> bytes:
    """Serialise an image as .nii (or .nii.gz) bytes, reproducibly.

    Parameters
    ----------
    img : nibabel.Nifti1Image
    gzip : bool
        Compress with gzip (header time stamp 0, so equal images give equal bytes).

    Returns
    -------
    bytes
    """
    raw = img.to_bytes()
    return gzip_compress(raw, compresslevel=6, mtime=0) if gzip else raw
