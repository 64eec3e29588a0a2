"""Tiny seeded synthetic volumes for exact, fast tests (TorchIO tests/utils.py style)."""

from __future__ import annotations

import nibabel as nib
import numpy as np


def affine_from(zooms=(1.0, 1.0, 1.0), axes="RAS", rotation_deg=(0.0, 0.0, 0.0),
                origin=(0.0, 0.0, 0.0)) -> np.ndarray:
    """Voxel-to-world affine with voxel sizes, axis codes (e.g. 'PSR') and an oblique rotation."""
    ornt = nib.orientations.axcodes2ornt(tuple(axes))
    rot = np.zeros((3, 3))
    for voxel_axis, (world_axis, flip) in enumerate(ornt):
        rot[int(world_axis), voxel_axis] = flip * zooms[voxel_axis]
    rx, ry, rz = np.deg2rad(rotation_deg)
    cx, sx, cy, sy, cz, sz = np.cos(rx), np.sin(rx), np.cos(ry), np.sin(ry), np.cos(rz), np.sin(rz)
    r_x = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    r_y = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    r_z = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    affine = np.eye(4)
    affine[:3, :3] = r_z @ r_y @ r_x @ rot
    affine[:3, 3] = origin
    return affine


def sphere_image(shape=(48, 52, 40), affine=None, centre_mm=(6.0, -4.0, 3.0), radius_mm=20.0,
                 dtype=np.float32, noise=0.0, seed=0) -> nib.Nifti1Image:
    """A bright sphere (value 100) of `radius_mm` at world point `centre_mm`, optional noise."""
    affine = np.eye(4) if affine is None else affine
    ijk = np.indices(shape).reshape(3, -1)
    xyz = affine[:3, :3] @ ijk + affine[:3, 3:4]
    inside = np.linalg.norm(xyz - np.reshape(centre_mm, (3, 1)), axis=0) <= radius_mm
    data = (inside.reshape(shape) * 100.0).astype(np.float64)
    if noise:
        data += np.random.default_rng(seed).normal(0.0, noise, shape)
    img = nib.Nifti1Image(data.astype(dtype), affine)
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    return img


def random_image(shape=(32, 32, 32), affine=None, dtype=np.float32, seed=0) -> nib.Nifti1Image:
    """Seeded random intensities 0..1000 on a given grid."""
    rng = np.random.default_rng(seed)
    data = rng.uniform(0, 1000, shape).astype(dtype)
    return nib.Nifti1Image(data, np.eye(4) if affine is None else affine)


def permuted_copy(img, axes=(0, 1, 2), flips=(False, False, False)) -> nib.Nifti1Image:
    """The same image stored with its voxel axes transposed (`axes`) then flipped (`flips`).

    New axis j is old axis axes[j], reversed when flips[j]; the affine is adjusted so every
    voxel keeps its world position (the manual equivalent of nibabel's as_reoriented).
    """
    data = np.transpose(np.asanyarray(img.dataobj), axes)
    new_to_old = np.zeros((4, 4))
    new_to_old[3, 3] = 1.0
    for j, (old, flip) in enumerate(zip(axes, flips, strict=True)):
        new_to_old[old, j] = -1.0 if flip else 1.0
        new_to_old[old, 3] = data.shape[j] - 1 if flip else 0.0
    data = np.flip(data, axis=tuple(j for j in range(3) if flips[j]))
    affine = img.affine @ new_to_old
    out = nib.Nifti1Image(np.ascontiguousarray(data), affine)
    out.set_qform(affine, code=1)
    out.set_sform(affine, code=1)
    return out


def centred_affine(shape, zooms=(1.0, 1.0, 1.0), axes="RAS", rotation_deg=(0.0, 0.0, 0.0),
                   centre_mm=(0.0, 0.0, 0.0)) -> np.ndarray:
    """affine_from(...) with the origin chosen so that voxel (shape-1)/2 sits at `centre_mm`."""
    affine = affine_from(zooms, axes, rotation_deg)
    affine[:3, 3] = np.asarray(centre_mm) - affine[:3, :3] @ ((np.asarray(shape) - 1) / 2)
    return affine


def image_bytes(img, compress=False) -> bytes:
    """The file content of a nibabel image (NIfTI-1/2 or MGH), gzip-compressed if asked."""
    import gzip

    content = img.to_bytes()
    return gzip.compress(content, mtime=0) if compress else content
