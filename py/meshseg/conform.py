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


def field_of_view_box(vox2vox, in_shape, shape, order=1) -> tuple[slice, ...]:
    """The part of a target grid that samples the input; outside it, every voxel is fill.

    With ``mode="grid-constant"`` a sample at source coordinate ``x`` reads input voxels
    only when ``-1 - order < x < n + order`` on every axis (the spline's support). The
    box bounds the target voxels whose coordinates fall there: the source box widened by
    ``order + 1`` voxels, mapped by ``inv(vox2vox)``, one more voxel on each side.

    Parameters
    ----------
    vox2vox : (4, 4) array
        Target voxel -> source voxel (:func:`voxel_to_voxel`).
    in_shape, shape : tuple of 3 int
        Source and target grid shapes.
    order : int
        Spline order of the interpolation.

    Returns
    -------
    tuple of 3 slice
        Possibly empty (``start == stop``) when the input lies outside the grid.

    Examples
    --------
    A 10^3 source at 2 mm, centred in a 64^3 1 mm grid, covers its middle 26 voxels:

    >>> vox2vox = np.diag([0.5, 0.5, 0.5, 1.0])
    >>> vox2vox[:3, 3] = 4.5 - 0.5 * 31.5
    >>> field_of_view_box(vox2vox, (10, 10, 10), (64, 64, 64))
    (slice(17, 47, None), slice(17, 47, None), slice(17, 47, None))
    """
    margin = order + 1
    corners = np.array([[a, b, c] for a in (-margin, in_shape[0] - 1 + margin)
                        for b in (-margin, in_shape[1] - 1 + margin)
                        for c in (-margin, in_shape[2] - 1 + margin)], float)
    inverse = np.linalg.inv(vox2vox)
    target = corners @ inverse[:3, :3].T + inverse[:3, 3]
    low = np.clip(np.floor(target.min(axis=0)).astype(int) - 1, 0, shape)
    high = np.clip(np.ceil(target.max(axis=0)).astype(int) + 2, low, shape)
    return tuple(slice(int(a), int(b)) for a, b in zip(low, high, strict=True))


def resample_into(source, vox2vox, shape, order, fill) -> np.ndarray:
    """``ndimage.affine_transform`` onto `shape` (float32). For ``order <= 1`` it is
    computed only inside :func:`field_of_view_box` and the rest is `fill`: the same
    array, voxel for voxel, as the whole-grid call (tests/test_conform.py), in about
    three quarters of the time for a scan covering 60 % of the grid. Higher orders
    (whose weights would round differently with a shifted offset) take the whole grid."""
    if order > 1:
        box = tuple(slice(0, n) for n in shape)
    else:
        box = field_of_view_box(vox2vox, source.shape, shape, order)
    data = np.full(shape, fill, dtype=np.float32)
    start = np.array([part.start for part in box], float)
    size = tuple(part.stop - part.start for part in box)
    if min(size) > 0:
        data[box] = ndimage.affine_transform(
            source, vox2vox[:3, :3], vox2vox[:3, :3] @ start + vox2vox[:3, 3],
            output_shape=size, output=np.float32, order=order, mode="grid-constant",
            cval=float(fill), prefilter=order > 1)
    return data


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
        data = resample_into(source, vox2vox, shape, order, fill)
    out = nib.Nifti1Image(data, affine)
    out.set_qform(affine, code=1)
    out.set_sform(affine, code=1)
    return out
