"""Seeded image degradations, for validating quality control on damaged scans.

Pure functions in the style of ``nibabel.processing``: a nibabel image in (any 3D
``SpatialImage``: NIfTI-1/2, MGH, ...), a new ``Nifti1Image`` out, float32 data, the
input untouched. There is no global state: every random draw comes from the ``rng``
argument, a ``numpy.random.Generator`` (its state advances) or an integer seed (a fresh
``default_rng(seed)``); ``None`` is refused, so a degraded scan can always be made again.

Each degradation has a severity parameter that goes from mild to destructive:

- :func:`rician_noise` -- magnitude-image noise, sigma a fraction of the head's
  99th-percentile intensity;
- :func:`bias_field` -- smooth multiplicative field, max/min ratio ``1 + strength``;
- :func:`thick_slices` -- thick-slice acquisition: slabs averaged along the slice axis,
  same field of view and centre;
- :func:`ghosting` -- N/2 (Nyquist) or shifted ghost along the phase-encode axis in
  k-space, optionally with random per-line motion;
- :func:`gamma` -- intensity gamma;
- :func:`inverted_contrast` -- ``max - x`` inside the head (T2/FLAIR-like), dark outside;
- :func:`missing_slab` -- a slab of slices set to zero.

:func:`degradation_set` applies a fixed list of them (single ones at several severities
and combinations) to one scan and returns named :class:`Case` objects.

Intensities: the output is float32. For an unscaled integer input (e.g. uint8) the
values are clipped to that dtype's range, so a degraded scan could be stored the way
the original was.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import nibabel as nib
import numpy as np
from scipy import fft as sp_fft
from scipy import ndimage


@dataclass(frozen=True)
class Case:
    """One degraded scan of :func:`degradation_set`.

    Attributes
    ----------
    name : str
        Unique label, e.g. ``"noise-08"``, ``"thick-7mm"``, ``"bias-0.8+ghost-0.3"``
        (the parts in the order they were applied).
    kinds : tuple of str
        The degradation kinds, in the order applied (``"noise"``, ``"bias"``,
        ``"thick"``, ``"ghost"``, ``"motion"``, ``"gamma"``, ``"inverted"``, ``"slab"``).
    image : nibabel.Nifti1Image
        The degraded scan (float32).
    """

    name: str
    kinds: tuple[str, ...]
    image: nib.Nifti1Image


# --- helpers -------------------------------------------------------------------------


def _generator(rng) -> np.random.Generator:
    if rng is None:
        raise TypeError("rng must be a numpy.random.Generator or an integer seed, not None")
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def _volume(img) -> np.ndarray:
    """The image's 3D data as float64 (a trailing axis of length 1 is dropped)."""
    data = np.asanyarray(img.dataobj, dtype=np.float64)
    while data.ndim > 3 and data.shape[-1] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise ValueError(f"a 3D image is needed, got shape {img.shape}")
    return data


def _clip_range(img) -> tuple[float, float] | None:
    """The stored dtype's range for an unscaled integer image, else None."""
    dtype = np.dtype(img.get_data_dtype())
    if dtype.kind not in "iu":
        return None
    slope = getattr(img.dataobj, "slope", 1.0)
    inter = getattr(img.dataobj, "inter", 0.0)
    if not (slope in (None, 1.0) or np.isnan(slope)) or not (
            inter in (None, 0.0) or np.isnan(inter)):
        return None
    info = np.iinfo(dtype)
    return float(info.min), float(info.max)


def _new_image(img, data, affine=None) -> nib.Nifti1Image:
    """A float32 NIfTI-1 image of `data` on `affine` (default: the input's)."""
    affine = np.asarray(img.affine if affine is None else affine, dtype=np.float64)
    limits = _clip_range(img)
    if limits is not None:
        data = np.clip(data, *limits)
    out = nib.Nifti1Image(np.asarray(data, dtype=np.float32), affine)
    header = img.header
    sform = int(header["sform_code"]) if "sform_code" in header else 0
    qform = int(header["qform_code"]) if "qform_code" in header else 0
    out.set_sform(affine, code=sform or 1)
    out.set_qform(affine, code=qform or sform or 1)
    out.header.set_xyzt_units("mm", "sec")
    return out


def _closest_axis(affine, world_axis: int) -> int:
    """The voxel axis whose direction is closest to world axis 0 (R-L), 1 (A-P) or 2 (S-I)."""
    rotation = np.asarray(affine, float)[:3, :3]
    cosines = np.abs(rotation[world_axis]) / np.linalg.norm(rotation, axis=0)
    return int(np.argmax(cosines))


def _axis(img, axis, world_axis: int) -> int:
    if axis is None:
        return _closest_axis(img.affine, world_axis)
    axis = int(axis)
    if not 0 <= axis < 3:
        raise ValueError(f"axis must be 0, 1 or 2, got {axis}")
    return axis


def head_mask(img, threshold: float = 0.1, smooth_mm: float = 1.0) -> np.ndarray:
    """Voxels of the head: above a small threshold after a light smoothing, holes filled.

    A voxel is in the head when both its smoothed and its own intensity exceed
    ``threshold * p99`` (``p99``: the 99th percentile of the smoothed positive values):
    the smoothing drops isolated bright noise in the background, the voxel's own value
    keeps the mask from growing past the head's edge. Enclosed holes (dark CSF, bone)
    are then filled.

    Parameters
    ----------
    img : nibabel image
        A 3D scan.
    threshold : float
        Fraction of the 99th percentile of the smoothed positive intensities.
    smooth_mm : float
        Standard deviation of the Gaussian smoothing, in mm (per axis in voxels from the
        voxel sizes).

    Returns
    -------
    ndarray of bool
        The mask, the image's shape (all False for an image with no positive voxel).

    Examples
    --------
    >>> data = np.zeros((12, 12, 12), np.float32)
    >>> data[3:9, 3:9, 3:9] = 100.0
    >>> data[5:7, 5:7, 5:7] = 0.0      # a dark hole inside the head
    >>> mask = head_mask(nib.Nifti1Image(data, np.eye(4)), smooth_mm=0.5)
    >>> bool(mask[6, 6, 6]), bool(mask[0, 0, 0]), int(mask.sum())
    (True, False, 216)
    """
    data = _volume(img)
    zooms = np.asarray(img.header.get_zooms()[:3], float)
    smoothed = ndimage.gaussian_filter(data.astype(np.float32), sigma=smooth_mm / zooms,
                                       mode="nearest", truncate=3.0, output=np.float32)
    positive = smoothed[smoothed > 0]
    if positive.size == 0:
        return np.zeros(data.shape, bool)
    level = threshold * np.percentile(positive, 99)
    mask = (smoothed > level) & (data > level)
    # Fill holes: the background is what of ~mask touches the grid's border.
    labels, count = ndimage.label(~mask)
    faces = [labels[0], labels[-1], labels[:, 0], labels[:, -1], labels[:, :, 0],
             labels[:, :, -1]]
    outside = np.zeros(count + 1, bool)
    outside[np.concatenate([face.ravel() for face in faces])] = True
    outside[0] = False  # label 0: the mask itself
    return ~outside[labels]


def _foreground_p99(img, data) -> float:
    mask = head_mask(img)
    values = data[mask] if mask.any() else data[data > 0]
    return float(np.percentile(values, 99)) if values.size else 0.0


# --- degradations ----------------------------------------------------------------------


def rician_noise(img, sigma_fraction: float, rng) -> nib.Nifti1Image:
    """Rician noise of a magnitude image: ``sqrt((x + n1)^2 + n2^2)``.

    ``n1`` and ``n2`` are independent Gaussian noise of standard deviation
    ``sigma = sigma_fraction * p99``, ``p99`` the 99th percentile of the intensities inside
    :func:`head_mask`. The background (``x = 0``) becomes Rayleigh noise.

    Parameters
    ----------
    img : nibabel image
        A 3D scan.
    sigma_fraction : float
        Noise level, e.g. 0.03 (mild), 0.08, 0.15 (severe); 0 returns a float32 copy.
    rng : numpy.random.Generator or int
        Where the noise comes from.

    Returns
    -------
    nibabel.Nifti1Image
        The noisy scan, same grid, float32.

    Examples
    --------
    >>> data = np.zeros((10, 10, 10), np.float32)
    >>> data[2:8, 2:8, 2:8] = 100.0
    >>> img = nib.Nifti1Image(data, np.eye(4))
    >>> noisy = rician_noise(img, 0.1, rng=0).get_fdata()
    >>> float(data[0].std()), bool(noisy[0].std() > 2)      # background: 0 -> Rayleigh
    (0.0, True)
    >>> bool(np.array_equal(noisy, rician_noise(img, 0.1, rng=0).get_fdata()))
    True
    """
    if sigma_fraction < 0:
        raise ValueError(f"sigma_fraction must be >= 0, got {sigma_fraction}")
    generator = _generator(rng)
    data = _volume(img)
    sigma = sigma_fraction * _foreground_p99(img, data)
    if sigma == 0:
        return _new_image(img, data)
    n1 = generator.normal(0.0, sigma, data.shape)
    n2 = generator.normal(0.0, sigma, data.shape)
    return _new_image(img, np.sqrt((data + n1) ** 2 + n2**2))


def _world_polynomial(img, terms) -> np.ndarray:
    """``sum(c * x**a * y**b * z**c3)`` over `terms` ``(c, a, b, c3)`` at every voxel centre.

    ``x, y, z`` are world coordinates shifted to the field of view's centre and divided by
    the largest distance from it to a corner of the grid (so within [-1, 1]). A polynomial
    of degree ``p`` in world coordinates is one of degree ``<= p`` in each voxel index
    (the affine is linear), so it is evaluated exactly, and fast, by tensor-product
    Lagrange interpolation from ``(p + 1)^3`` nodes along the voxel axes.
    """
    shape = np.asarray(img.shape[:3])
    affine = np.asarray(img.affine, float)
    centre = affine[:3, :3] @ ((shape - 1) / 2) + affine[:3, 3]
    corners = np.array(np.meshgrid(*[[-0.5, n - 0.5] for n in shape], indexing="ij"))
    world = affine[:3, :3] @ corners.reshape(3, -1) + affine[:3, 3:4]
    half = float(np.max(np.linalg.norm(world - centre[:, None], axis=0)))
    degree = max(sum(term[1:]) for term in terms)
    count = degree + 1
    nodes = (shape[:, None] - 1) * np.linspace(0.0, 1.0, count)[None, :]  # voxel indices
    grid = np.array(np.meshgrid(*nodes, indexing="ij")).reshape(3, -1)
    xyz = (affine[:3, :3] @ grid + affine[:3, 3:4] - centre[:, None]) / half
    values = sum(c * xyz[0] ** a * xyz[1] ** b * xyz[2] ** c3 for c, a, b, c3 in terms)
    values = np.asarray(values, float).reshape((count,) * 3)
    bases = []
    for axis, n in enumerate(shape):
        if n == 1:  # a single voxel: every node sits on it
            bases.append(np.full((1, count), 1.0 / count))
            continue
        index = np.arange(n, dtype=float)[:, None]
        basis = np.ones((n, count))
        for m in range(count):
            for q in range(count):
                if q != m:
                    basis[:, m] *= ((index[:, 0] - nodes[axis, q])
                                    / (nodes[axis, m] - nodes[axis, q]))
        bases.append(basis)
    return np.einsum("ia,jb,kc,abc->ijk", *bases, values, optimize=True)


def bias_field(img, strength: float, rng, order: int = 3) -> nib.Nifti1Image:
    """A smooth multiplicative intensity field (receive-coil inhomogeneity).

    The log of the field is a random polynomial of total degree 1..`order` in world
    coordinates (centred on the field of view, scaled to about [-1, 1]); its
    coefficients are uniform in [-1, 1] divided by the degree. It is then shifted and
    scaled so that, over :func:`head_mask` (the whole grid when the mask is empty),
    its mean is 0 and ``max(field) / min(field) = 1 + strength`` exactly.

    Parameters
    ----------
    img : nibabel image
        A 3D scan.
    strength : float
        ``max / min - 1`` of the field inside the head: 0.3 is mild, 0.8 strong.
    rng : numpy.random.Generator or int
        Where the coefficients come from.
    order : int
        Highest total degree of the polynomial (1: a linear ramp).

    Returns
    -------
    nibabel.Nifti1Image
        ``x * field``, same grid, float32.

    Examples
    --------
    >>> data = np.zeros((12, 12, 12), np.float32)
    >>> data[2:10, 2:10, 2:10] = 100.0
    >>> out = bias_field(nib.Nifti1Image(data, np.eye(4)), 0.5, rng=3).get_fdata()
    >>> inside = out[2:10, 2:10, 2:10]
    >>> round(float(inside.max() / inside.min()), 3)
    1.5
    """
    if strength < 0:
        raise ValueError(f"strength must be >= 0, got {strength}")
    if order < 1:
        raise ValueError(f"order must be >= 1, got {order}")
    generator = _generator(rng)
    data = _volume(img)
    terms = [(generator.uniform(-1.0, 1.0) / degree, i, j, degree - i - j)
             for degree in range(1, order + 1)
             for i in range(degree + 1) for j in range(degree + 1 - i)]
    log_field = _world_polynomial(img, terms)
    mask = head_mask(img)
    values = log_field[mask] if mask.any() else log_field.ravel()
    spread = float(values.max() - values.min())
    if strength == 0 or spread == 0:
        return _new_image(img, data)
    log_field = (log_field - values.mean()) * (np.log1p(strength) / spread)
    return _new_image(img, data * np.exp(log_field))


def thick_slices(img, thickness_mm: float, axis: int | None = None) -> nib.Nifti1Image:
    """A thick-slice acquisition: consecutive slices averaged into slabs.

    Along `axis` (default: the voxel axis closest to world S-I) the field of view
    ``n * d`` (``n`` slices of ``d`` mm) is cut into ``m = round(n * d / thickness_mm)``
    slabs of ``D = n * d / m`` mm (the thickness closest to `thickness_mm` that tiles the
    field of view exactly). Each slab is the mean of the input over its extent: input
    slices weighted by their overlap with it (an exact mean of ``D / d`` slices when that
    is a whole number), the box slice profile of a 2D acquisition.

    The affine: the column of `axis` is scaled by ``D / d`` (same direction), the other
    columns are kept, and the translation is chosen so that the centre point, voxel
    ``(shape - 1) / 2``, keeps its world position. Then the outer faces of the first and
    last slabs coincide with those of the first and last input slices: same field of
    view, same centre, so conforming either scan gives the same model grid.

    Parameters
    ----------
    img : nibabel image
        A 3D scan.
    thickness_mm : float
        Slab thickness in mm, at least the voxel size along `axis` (e.g. 3, 5, 7).
    axis : int, optional
        The slice axis (0, 1 or 2).

    Returns
    -------
    nibabel.Nifti1Image
        ``m`` slices along `axis`, voxel size ``D`` there, float32.

    Examples
    --------
    >>> data = np.arange(2 * 2 * 6, dtype=np.float32).reshape(2, 2, 6)
    >>> affine = np.diag([1.0, 1.0, 1.0, 1.0])
    >>> thick = thick_slices(nib.Nifti1Image(data, affine), 3.0)
    >>> thick.shape, tuple(float(z) for z in thick.header.get_zooms())
    ((2, 2, 2), (1.0, 1.0, 3.0))
    >>> thick.get_fdata()[0, 0].tolist()      # the means of slices 0-2 and 3-5
    [1.0, 4.0]
    >>> float(thick.affine[2, 3])             # centre z = 2.5 mm kept: 1.0 + 3 * (2 - 1) / 2
    1.0
    """
    data = _volume(img)
    axis = _axis(img, axis, 2)
    affine = np.asarray(img.affine, float)
    n = data.shape[axis]
    d = float(np.linalg.norm(affine[:3, axis]))
    if not thickness_mm >= d * (1 - 1e-6):
        raise ValueError(f"thickness_mm {thickness_mm} is below the voxel size {d:g} mm "
                         f"along axis {axis}")
    m = max(1, min(n, int(round(n * d / thickness_mm))))
    # Overlap of input slice i, [i, i + 1) in input voxels, with slab j, [j, j + 1) * n / m.
    edges_in = np.arange(n + 1, dtype=np.float64)
    edges_out = np.arange(m + 1, dtype=np.float64) * (n / m)
    low = np.maximum(edges_out[:-1, None], edges_in[None, :-1])
    high = np.minimum(edges_out[1:, None], edges_in[None, 1:])
    weights = np.clip(high - low, 0.0, None) * (m / n)  # each row sums to 1
    slabs = np.moveaxis(np.tensordot(weights, np.moveaxis(data, axis, 0), axes=(1, 0)), 0, axis)
    new_affine = affine.copy()
    new_affine[:3, axis] *= n / m
    shape = np.asarray(data.shape, float)
    new_shape = np.asarray(slabs.shape, float)
    centre = affine[:3, :3] @ ((shape - 1) / 2) + affine[:3, 3]
    new_affine[:3, 3] = centre - new_affine[:3, :3] @ ((new_shape - 1) / 2)
    return _new_image(img, slabs, new_affine)


def ghosting(img, amplitude: float, shift_fraction: float = 0.5, axis: int | None = None,
             *, motion_mm: float = 0.0, rng=None) -> nib.Nifti1Image:
    """Ghosts along the phase-encode axis, made in k-space; the result is the magnitude.

    Along `axis` (default: the voxel axis closest to world A-P, the usual phase-encode
    direction of brain scans) the image is Fourier transformed and every k-space line
    ``k`` (frequency ``f_k`` in cycles per voxel) is multiplied by
    ``1 + amplitude * exp(-2 pi i f_k s N)``: the image plus `amplitude` times a copy
    shifted (circularly, wrapping through the field of view) by ``s N`` voxels,
    ``s = shift_fraction``. ``s = 0.5`` is the classic N/2 (Nyquist) ghost of an odd/even
    line inconsistency: the modulation is then ``1 + amplitude * (-1)^k``.

    ``motion_mm > 0`` adds a random rigid-motion model (needs `rng`): line ``k`` is
    acquired with the head displaced by ``t_k`` mm along the axis, ``t_k`` Gaussian with
    standard deviation `motion_mm`, i.e. a phase error ``exp(-2 pi i f_k t_k / d)``
    (``d`` the voxel size), which smears ghosts along the phase axis.

    Parameters
    ----------
    img : nibabel image
        A 3D scan.
    amplitude : float
        Ghost intensity relative to the image: 0.1 faint, 0.3 strong; 0 for motion only.
    shift_fraction : float
        Ghost offset as a fraction of the field of view along `axis`.
    axis : int, optional
        The phase-encode axis (0, 1 or 2).
    motion_mm : float
        Root mean square per-line displacement of the motion model (0: none).
    rng : numpy.random.Generator or int, optional
        Where the displacements come from; required when ``motion_mm > 0``.

    Returns
    -------
    nibabel.Nifti1Image
        ``|ifft(modulated k-space)|``, non-negative, same grid, float32.

    Examples
    --------
    >>> data = np.zeros((4, 8, 4), np.float32)
    >>> data[:, 1, :] = 100.0
    >>> img = nib.Nifti1Image(data, np.eye(4))
    >>> out = ghosting(img, 0.25, axis=1).get_fdata()
    >>> np.round(out[0, :, 0], 3).tolist()      # the line, and its ghost N/2 = 4 voxels on
    [0.0, 100.0, 0.0, 0.0, 0.0, 25.0, 0.0, 0.0]
    >>> moved = ghosting(img, 0.0, axis=1, motion_mm=0.5, rng=1).get_fdata()
    >>> bool(moved.min() >= 0), round(float((moved**2).sum() / (data**2).sum()), 4)
    (True, 1.0)
    """
    if amplitude < 0:
        raise ValueError(f"amplitude must be >= 0, got {amplitude}")
    if motion_mm < 0:
        raise ValueError(f"motion_mm must be >= 0, got {motion_mm}")
    data = _volume(img)
    axis = _axis(img, axis, 1)
    n = data.shape[axis]
    freqs = np.fft.fftfreq(n)  # cycles per voxel
    modulation = 1.0 + amplitude * np.exp(-2j * np.pi * freqs * shift_fraction * n)
    if motion_mm > 0:
        generator = _generator(rng)
        d = float(np.linalg.norm(np.asarray(img.affine, float)[:3, axis]))
        shifts = generator.normal(0.0, motion_mm, n) / d  # voxels, one per k-space line
        modulation = modulation * np.exp(-2j * np.pi * freqs * shifts)
    shape = [1, 1, 1]
    shape[axis] = n
    spectrum = sp_fft.fft(data.astype(np.float32), axis=axis)
    spectrum *= modulation.astype(np.complex64).reshape(shape)
    return _new_image(img, np.abs(sp_fft.ifft(spectrum, axis=axis)))


def _range(data) -> tuple[float, float]:
    return min(float(data.min()), 0.0), float(data.max())


def gamma(img, value: float) -> nib.Nifti1Image:
    """Intensity gamma: ``lo + (hi - lo) * ((x - lo) / (hi - lo)) ** value``.

    ``hi`` is the maximum and ``lo = min(minimum, 0)``, so a non-negative scan is
    normalised to [0, 1] by its maximum, raised to the power, and put back in [0, max].

    Parameters
    ----------
    img : nibabel image
        A 3D scan.
    value : float
        The exponent (> 0): below 1 brightens the dark tissues (0.6), above 1 darkens
        them (1.8).

    Returns
    -------
    nibabel.Nifti1Image
        Same grid, same range, float32.

    Examples
    --------
    >>> data = np.array([0.0, 25.0, 100.0], np.float32).reshape(1, 1, 3)
    >>> gamma(nib.Nifti1Image(data, np.eye(4)), 0.5).get_fdata().ravel().tolist()
    [0.0, 50.0, 100.0]
    """
    if not value > 0:
        raise ValueError(f"the gamma value must be > 0, got {value}")
    data = _volume(img)
    lo, hi = _range(data)
    if hi <= lo:
        return _new_image(img, data)
    return _new_image(img, lo + (hi - lo) * ((data - lo) / (hi - lo)) ** value)


def inverted_contrast(img) -> nib.Nifti1Image:
    """Contrast inverted inside the head, ``max - x``, and 0 outside (background dark).

    The head is :func:`head_mask` (a small threshold after a light smoothing, holes
    filled), so dark tissue inside it (CSF in a T1 scan) turns bright, like a T2 or FLAIR
    scan, while the air around the head stays dark.

    Parameters
    ----------
    img : nibabel image
        A 3D scan.

    Returns
    -------
    nibabel.Nifti1Image
        Same grid, values in [0, max], float32.

    Examples
    --------
    >>> data = np.zeros((12, 12, 12), np.float32)
    >>> data[2:10, 2:10, 2:10] = 80.0      # "white matter"
    >>> data[5:7, 5:7, 5:7] = 20.0         # "CSF"
    >>> out = inverted_contrast(nib.Nifti1Image(data, np.eye(4))).get_fdata()
    >>> float(out[6, 6, 6]), float(out[3, 3, 3]), float(out[0, 0, 0])
    (60.0, 0.0, 0.0)
    """
    data = _volume(img)
    mask = head_mask(img)
    if not mask.any():
        return _new_image(img, np.zeros_like(data))
    top = float(data[mask].max())
    return _new_image(img, np.where(mask, np.clip(top - data, 0.0, None), 0.0))


def slab_position(n_slices: int, fraction: float, rng) -> slice:
    """Which slices :func:`missing_slab` drops: ``round(fraction * n)`` of them (at least
    one when ``fraction > 0``), starting at a position drawn from `rng` so that the slab
    lies within the central 60 % of the slices (centred there when it is larger).

    Examples
    --------
    >>> slab_position(100, 0.1, rng=0)
    slice(63, 73, None)
    >>> slab_position(100, 0.0, rng=0)
    slice(50, 50, None)
    """
    if not 0 <= fraction < 1:
        raise ValueError(f"fraction must be in [0, 1), got {fraction}")
    generator = _generator(rng)
    count = int(round(fraction * n_slices))
    if fraction > 0:
        count = max(count, 1)
    if count == 0:
        return slice(n_slices // 2, n_slices // 2)
    low, high = int(np.ceil(0.2 * n_slices)), int(np.floor(0.8 * n_slices))
    if high - low < count:
        start = max(0, (n_slices - count) // 2)
    else:
        start = int(generator.integers(low, high - count + 1))
    return slice(start, start + count)


def missing_slab(img, fraction: float, axis: int | None, rng) -> nib.Nifti1Image:
    """A dropped slab: a run of slices along `axis` set to 0.

    Parameters
    ----------
    img : nibabel image
        A 3D scan.
    fraction : float
        Share of the slices dropped, e.g. 0.1 or 0.25.
    axis : int or None
        The axis across which the slab runs (None: the one closest to world S-I).
    rng : numpy.random.Generator or int
        Where the slab's position comes from (see :func:`slab_position`).

    Returns
    -------
    nibabel.Nifti1Image
        Same grid, float32.

    Examples
    --------
    >>> data = np.ones((2, 2, 20), np.float32)
    >>> out = missing_slab(nib.Nifti1Image(data, np.eye(4)), 0.25, 2, rng=0).get_fdata()
    >>> np.flatnonzero(out[0, 0] == 0).tolist() == list(range(20))[slab_position(20, 0.25, 0)]
    True
    >>> int((out[0, 0] == 0).sum())
    5
    """
    data = _volume(img)
    axis = _axis(img, axis, 2)
    where = slab_position(data.shape[axis], fraction, rng)
    index = [slice(None)] * 3
    index[axis] = where
    out = data.copy()
    out[tuple(index)] = 0.0
    return _new_image(img, out)


# --- the set ---------------------------------------------------------------------------


def _case_rng(seed: int, name: str) -> np.random.Generator:
    """A generator of its own for each case: the same seed and name, the same draws,
    whatever other cases the set holds."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), zlib.crc32(name.encode())]))


_AXIS_LETTERS = ("lr", "ap", "si")


def _on_axis(name: str, world_axis: int | None) -> str:
    return name if world_axis is None else f"{name}-{_AXIS_LETTERS[world_axis]}"


def _voxel_axis(img, world_axis: int | None):
    return None if world_axis is None else _closest_axis(img.affine, world_axis)


def _noise(level):
    return f"noise-{round(level * 100):02d}", "noise", lambda im, r: rician_noise(im, level, r)


def _bias(strength):
    return f"bias-{strength:g}", "bias", lambda im, r: bias_field(im, strength, r)


def _thick(mm, world_axis=None):
    return (_on_axis(f"thick-{mm:g}mm", world_axis), "thick",
            lambda im, r: thick_slices(im, mm, _voxel_axis(im, world_axis)))


def _ghost(amplitude, world_axis=None):
    return (_on_axis(f"ghost-{amplitude:g}", world_axis), "ghost",
            lambda im, r: ghosting(im, amplitude, axis=_voxel_axis(im, world_axis)))


def _motion(mm):
    return f"motion-{mm:g}mm", "motion", lambda im, r: ghosting(im, 0.0, motion_mm=mm, rng=r)


def _gamma(value):
    return f"gamma-{value:g}", "gamma", lambda im, r: gamma(im, value)


def _slab(fraction, world_axis=None):
    return (_on_axis(f"slab-{round(fraction * 100):02d}", world_axis), "slab",
            lambda im, r: missing_slab(im, fraction, _voxel_axis(im, world_axis), r))


_INVERTED = ("inverted", "inverted", lambda im, r: inverted_contrast(im))


def _steps():
    """(name, kind, function(img, rng) -> img) for every single degradation used."""
    singles = [_noise(0.03), _noise(0.08), _noise(0.15), _bias(0.3), _bias(0.8),
               _thick(3), _thick(5), _thick(7), _ghost(0.1), _ghost(0.3), _motion(1.0),
               _gamma(0.6), _gamma(1.8), _INVERTED, _slab(0.10), _slab(0.25)]
    # Combinations, in acquisition order: the object's contrast, the coil's field, the
    # slice profile and k-space, then thermal noise last.
    combos = [[_bias(0.8), _noise(0.08)], [_thick(5), _noise(0.08)],
              [_bias(0.8), _ghost(0.3)], [_gamma(1.8), _thick(5), _noise(0.08)],
              [_INVERTED, _noise(0.03)], [_bias(0.3), _slab(0.10)],
              [_bias(0.3), _thick(7), _motion(1.0), _noise(0.03)]]
    return [[step] for step in singles] + combos


def _heldout_steps():
    """The held-out set: other strengths, other axes (suffix ``-lr``, ``-ap``, ``-si``:
    the voxel axis closest to that world axis) and other combinations than
    :func:`_steps`; never used to fit the score's constants."""
    singles = [_noise(0.05), _noise(0.10), _noise(0.12), _bias(0.5), _bias(1.2),
               _thick(4, 0), _thick(6, 1), _thick(8, 2), _ghost(0.2, 0), _ghost(0.45, 1),
               _motion(2.0), _gamma(0.45), _gamma(2.5), _slab(0.15, 0), _slab(0.05, 2)]
    combos = [[_bias(0.5), _noise(0.05)], [_thick(6, 1), _noise(0.05)],
              [_gamma(0.45), _ghost(0.2, 0)], [_INVERTED, _noise(0.05)],
              [_bias(1.2), _thick(4, 0), _noise(0.10)], [_motion(2.0), _noise(0.05)]]
    return [[step] for step in singles] + combos


#: The degradation sets by name: ``standard`` fits and validates the score, ``heldout``
#: checks it on strengths, axes and combinations it was not fitted on.
SETS = {"standard": _steps, "heldout": _heldout_steps}


def degradation_set(img, seed: int, only=None, kind: str = "standard") -> list[Case]:
    """The standard degraded copies of one scan, mild to destructive, for QC validation.

    Singles: Rician noise 3, 8, 15 % (``noise-03``, ``noise-08``, ``noise-15``), bias
    field 0.3, 0.8 (``bias-0.3``, ``bias-0.8``), thick slices 3, 5, 7 mm
    (``thick-3mm`` ...), N/2 ghost 0.1, 0.3 (``ghost-0.1``, ``ghost-0.3``), per-line
    motion 1 mm (``motion-1mm``), gamma 0.6, 1.8 (``gamma-0.6``, ``gamma-1.8``),
    ``inverted``, missing slab 10, 25 % (``slab-10``, ``slab-25``). Combinations (parts
    joined by ``+``, in the order applied): ``bias-0.8+noise-08``,
    ``thick-5mm+noise-08``, ``bias-0.8+ghost-0.3``, ``gamma-1.8+thick-5mm+noise-08``,
    ``inverted+noise-03``, ``bias-0.3+slab-10``,
    ``bias-0.3+thick-7mm+motion-1mm+noise-03``.

    Deterministic: each case draws from its own generator, seeded by ``seed`` and the
    case's name, so two calls with one seed give byte-identical data. Every case holds
    its own float32 volume (23 of them: about 1.5 GB for a 256^3 scan).

    Parameters
    ----------
    img : nibabel image
        A 3D scan (the clean reference).
    seed : int
        Seed of all the random draws.
    only : collection of str, optional
        Make only the cases of these names (the same data as in the full set).
    kind : {"standard", "heldout"}
        Which set: ``standard`` (above), or ``heldout`` (21 cases of other strengths,
        axes and combinations, for checking the score on what it was not fitted on).

    Returns
    -------
    list of Case
        23 cases with unique names (21 for ``kind="heldout"``).

    Examples
    --------
    >>> data = np.zeros((16, 16, 16), np.float32)
    >>> data[3:13, 3:13, 3:13] = 100.0
    >>> cases = degradation_set(nib.Nifti1Image(data, np.eye(4)), seed=7)
    >>> len(cases), cases[1].name, cases[1].kinds, cases[-1].kinds
    (23, 'noise-08', ('noise',), ('bias', 'thick', 'motion', 'noise'))
    >>> cases[7].name, cases[7].image.shape
    ('thick-7mm', (16, 16, 2))
    >>> [c.name for c in degradation_set(nib.Nifti1Image(data, np.eye(4)), 7, {"inverted"})]
    ['inverted']
    """
    limits = _clip_range(img)
    cases = []
    for steps in SETS[kind]():
        name = "+".join(step[0] for step in steps)
        if only is not None and name not in only:
            continue
        generator = _case_rng(seed, name)
        out = img
        for _, _, apply in steps:
            out = apply(out, generator)
        if limits is not None:  # combinations: the original dtype's range at the end too
            out = _new_image(out, np.clip(_volume(out), *limits))
        cases.append(Case(name, tuple(step[1] for step in steps), out))
    return cases
