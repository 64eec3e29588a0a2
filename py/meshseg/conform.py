"""Resample a scan onto a model grid (FreeSurfer-style "conform").

A model grid is a cube of voxels (256^3, 1 mm, LIA for the brainchop models)
whose axes follow orientation codes and whose field of view is centred on the
input's. Axis-aligned inputs whose voxels land exactly on the grid (any
orientation, matching voxel size) take a fast path of pure index operations;
everything else is interpolated with ``scipy.ndimage.affine_transform``.

Centre convention: the grid's centre point, voxel ``(shape - 1) / 2``, maps to
the world position of the input's centre point, voxel ``(in_shape - 1) / 2``.
FreeSurfer pairs voxel ``shape / 2`` with voxel ``in_shape / 2`` instead; the two
differ by half a voxel times the difference of the voxel sizes (nothing at all
for 1 mm inputs). This one is orientation invariant: a scan stored with its axes
permuted or flipped conforms to exactly the same array, and an already
conformed scan conforms to itself.
"""

from __future__ import annotations

import nibabel as nib
import numpy as np
from scipy import ndimage

_TOL = 1e-4


def voxel_to_voxel(source, to_affine) -> np.ndarray:
    """Affine that maps voxel indices of a target grid to voxel indices of a source.

    Parameters
    ----------
    source : nibabel image or (4, 4) array
        The grid being sampled (its image or its voxel-to-world affine).
    to_affine : (4, 4) array
        Voxel-to-world affine of the grid being filled.

    Returns
    -------
    (4, 4) ndarray
        ``inv(source_affine) @ to_affine``: target voxel -> source voxel.
    """
    from_affine = source.affine if hasattr(source, "affine") else np.asarray(source, float)
    return np.linalg.inv(from_affine) @ np.asarray(to_affine, float)


def _zooms3(voxel_size) -> np.ndarray:
    zooms = np.broadcast_to(np.asarray(voxel_size, float), (3,))
    if np.any(zooms <= 0):
        raise ValueError(f"voxel sizes must be positive, got {tuple(zooms)}")
    return zooms


def target_affine(img, shape=(256, 256, 256), voxel_size=1.0, orientation="LIA") -> np.ndarray:
    """Voxel-to-world affine of the model grid for an input image.

    Parameters
    ----------
    img : nibabel image
        The input scan (3D); only its shape and affine are used.
    shape : tuple of 3 int
        Grid shape.
    voxel_size : float or tuple of 3 float
        Grid voxel size in mm.
    orientation : str
        Three axis codes, e.g. ``"LIA"``: the world direction in which each
        voxel axis increases.

    Returns
    -------
    (4, 4) ndarray
        Axis-aligned affine whose voxel ``(shape - 1) / 2`` is the world
        position of the input's voxel ``(in_shape - 1) / 2`` (see module notes).
    """
    ornt = nib.orientations.axcodes2ornt(tuple(orientation))
    zooms = _zooms3(voxel_size)
    rotation = np.zeros((3, 3))
    for voxel_axis, (world_axis, flip) in enumerate(ornt):
        rotation[int(world_axis), voxel_axis] = flip * zooms[voxel_axis]
    in_centre = (np.asarray(img.shape[:3], float) - 1) / 2
    world_centre = img.affine[:3, :3] @ in_centre + img.affine[:3, 3]
    affine = np.eye(4)
    affine[:3, :3] = rotation
    affine[:3, 3] = world_centre - rotation @ ((np.asarray(shape, float) - 1) / 2)
    return affine


def axis_permutation(vox2vox, tol=_TOL):
    """Recognise a voxel-to-voxel affine that is a signed permutation with integer offsets.

    Parameters
    ----------
    vox2vox : (4, 4) array
        Target voxel -> source voxel.
    tol : float
        Allowed distance of every entry from its integer value.

    Returns
    -------
    tuple of (axes, signs, offsets) or None
        ``source_index[axes[j]] = signs[j] * target_index[j] + offsets[axes[j]]``
        for each target axis ``j``; None when the map needs interpolation.
    """
    linear = np.asarray(vox2vox, float)[:3, :3]
    offsets = np.asarray(vox2vox, float)[:3, 3]
    rounded = np.rint(linear)
    if np.abs(linear - rounded).max() > tol or np.abs(offsets - np.rint(offsets)).max() > tol:
        return None
    if not np.array_equal(np.abs(rounded).sum(axis=0), np.ones(3)):
        return None
    if not np.array_equal(np.abs(rounded).sum(axis=1), np.ones(3)):
        return None
    axes = tuple(int(np.flatnonzero(rounded[:, j])[0]) for j in range(3))
    signs = tuple(int(rounded[axes[j], j]) for j in range(3))
    return axes, signs, tuple(int(v) for v in np.rint(offsets))


def permute_into(data, permutation, shape, dtype=None, fill=0) -> np.ndarray:
    """Fill a target grid from a source array by a signed axis permutation (no interpolation).

    Parameters
    ----------
    data : (I, J, K) array
        Source values.
    permutation : tuple
        ``(axes, signs, offsets)`` from :func:`axis_permutation`.
    shape : tuple of 3 int
        Target shape.
    dtype : numpy dtype, optional
        Output dtype (default: ``data.dtype``).
    fill : scalar
        Value of target voxels that fall outside the source.

    Returns
    -------
    ndarray
        ``out[o] = data[axes-permuted, signed index + offset]`` where inside, else fill.
    """
    axes, signs, offsets = permutation
    view = np.transpose(data, axes)
    target, source = [], []
    for j in range(3):
        size, offset = view.shape[j], offsets[axes[j]]
        if signs[j] < 0:
            view = np.flip(view, axis=j)
            offset = size - 1 - offset
        start, stop = max(0, -offset), min(shape[j], size - offset)
        stop = max(start, stop)
        target.append(slice(start, stop))
        source.append(slice(start + offset, stop + offset))
    out = np.full(shape, fill, dtype=data.dtype if dtype is None else dtype)
    out[tuple(target)] = view[tuple(source)]
    return out


def background_value(data) -> float:
    """The value that fills grid voxels outside the input: the image's minimum.

    Padding with 0 is wrong for images whose background is negative (CT in
    Hounsfield units, air at -1000; MRI stored with an offset): a 0 frame would be
    brighter than the head's surroundings and, after intensity scaling, look like
    tissue. The minimum is the darkest background the image has.

    Parameters
    ----------
    data : array
        The input's voxel values.

    Returns
    -------
    float
    """
    return float(np.min(data))


def conform(img, shape=(256, 256, 256), voxel_size=1.0, orientation="LIA",
            order=1, fill=None) -> nib.Nifti1Image:
    """Resample a 3D image onto the model grid.

    Parameters
    ----------
    img : nibabel image
        A 3D scan.
    shape : tuple of 3 int
        Grid shape.
    voxel_size : float or tuple of 3 float
        Grid voxel size in mm.
    orientation : str
        Axis codes of the grid (``"LIA"`` for brainchop, ``"RAS"`` for canonical).
    order : int
        Spline order of the interpolation (1 = trilinear).
    fill : float, optional
        Value of grid voxels outside the input's field of view; default: the
        input's background, :func:`background_value` (its minimum).

    Returns
    -------
    nibabel.Nifti1Image
        float32 data on the grid of :func:`target_affine`; `fill` outside the
        input's field of view. When the grids align exactly (signed axis
        permutation, integer offsets) the values are copied, not interpolated:
        the result equals the interpolated one.
    """
    if len(img.shape) != 3:
        raise ValueError(f"conform needs a 3D image, got shape {img.shape}")
    shape = tuple(int(n) for n in shape)
    affine = target_affine(img, shape, voxel_size, orientation)
    vox2vox = voxel_to_voxel(img, affine)
    permutation = axis_permutation(vox2vox)
    if permutation is not None:
        values = np.asanyarray(img.dataobj)
        fill = background_value(values) if fill is None else fill
        data = permute_into(values, permutation, shape, dtype=np.float32, fill=fill)
    else:
        source = img.get_fdata(dtype=np.float32, caching="unchanged")
        fill = background_value(source) if fill is None else fill
        data = ndimage.affine_transform(
            source, vox2vox[:3, :3], vox2vox[:3, 3], output_shape=shape,
            output=np.float32, order=order, mode="grid-constant", cval=float(fill),
            prefilter=order > 1)
    out = nib.Nifti1Image(data, affine)
    out.set_qform(affine, code=1)
    out.set_sform(affine, code=1)
    return out
