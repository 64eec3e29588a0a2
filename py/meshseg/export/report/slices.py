"""Three orthogonal slices of a result, resampled to world (RAS) display orientation.

Each slice is cut through one world point (by default the centre of the labelled
voxels) along a world plane, whatever the scan's voxel order or obliquity: the scan
is sampled trilinearly and the labels by nearest neighbour on a square-pixel grid in
millimetres, so the orientation letters at the edges are those of world space.

Display convention (as the page's viewer, NiiVue, shows it by default):

- axial and coronal: **neurological**, the patient's left on the image's left
  (``radiological=True``: the patient's right on the left, as radiology reads);
- axial: anterior at the top; coronal and sagittal: superior at the top;
- sagittal: anterior on the right.

The scan is windowed by robust percentiles (:data:`WINDOW_PERCENTILES` of its
non-zero voxels) and the labels are blended over it (their fill at
:data:`FILL_OPACITY`, their outlines opaque), in the model card's colours.

Examples
--------
>>> import numpy as np
>>> labels = np.zeros((20, 10, 8), np.uint8)
>>> labels[15:18, 4:6, 3:5] = 1                  # on the patient's right (+x)
>>> shown = orthogonal_slices(labels, np.eye(4), None, {1: (255, 0, 0)})
>>> [(s.plane, s.pixels.shape) for s in shown]
[('axial', (80, 80, 3)), ('coronal', (80, 80, 3)), ('sagittal', (80, 80, 3))]
>>> axial = shown[0]
>>> axial.letters
{'top': 'A', 'bottom': 'P', 'left': 'L', 'right': 'R'}
>>> red = np.flatnonzero(axial.pixels[..., 0].max(axis=0))
>>> bool(red.min() > 40)                         # right of the middle, by the "R"
True
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

PLANES = ("axial", "coronal", "sagittal")
#: Percentiles of the scan's non-zero voxels mapped to black and white.
WINDOW_PERCENTILES = (0.5, 99.5)
#: Opacity of the label fill over the scan (outlines are opaque).
FILL_OPACITY = 0.4
#: Longest side of a slice picture, in pixels (and the side it aims for).
MAX_PIXELS = 512
TARGET_PIXELS = 320
#: Pixels per voxel side at most (a small grid is not blown up past this).
MAX_UPSAMPLING = 4
#: Values sampled at most for the window (a strided subset of larger scans).
WINDOW_SAMPLE = 2_000_000
SCALE_BAR_MM = (50.0, 20.0, 10.0)

# For each plane: the fixed world axis, and (world axis, sign) along columns and rows.
# Rows run from the top of the image down, so their sign is negative (top = +axis).
_GEOMETRY = {
    "axial": (2, (0, +1), (1, -1)),
    "coronal": (1, (0, +1), (2, -1)),
    "sagittal": (0, (1, +1), (2, -1)),
}
_LETTERS = {(0, +1): ("L", "R"), (0, -1): ("R", "L"), (1, +1): ("P", "A"), (1, -1): ("A", "P"),
            (2, +1): ("I", "S"), (2, -1): ("S", "I")}
_AXIS_NAMES = "xyz"


@dataclass(frozen=True)
class Slice:
    """One slice picture.

    Attributes
    ----------
    plane : str
        ``axial``, ``coronal`` or ``sagittal``.
    pixels : ndarray of uint8, shape (N, N, 3)
        The picture (square: the field of view's largest side, black outside the scan).
    letters : dict
        The world direction at each edge: ``top``, ``bottom``, ``left``, ``right`` ->
        ``R``/``L``/``A``/``P``/``S``/``I``.
    axis : str
        The world axis the plane is fixed on (``z`` axial, ``y`` coronal, ``x`` sagittal).
    position_mm : float
        The plane's world coordinate on that axis.
    pixel_mm : float
        The side of one pixel, in mm.
    scale_bar_mm : float
        The length of the scale bar drawn at the bottom left (0: none).
    visible : tuple of int
        The label values seen in this slice.
    """

    plane: str
    pixels: np.ndarray = field(repr=False)
    letters: dict
    axis: str
    position_mm: float
    pixel_mm: float
    scale_bar_mm: float
    visible: tuple


def label_centre(labels: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """World point (mm) at the centre of the labelled (non-zero) voxels; the grid's centre
    when nothing is labelled.

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.zeros((4, 4, 4), np.uint8); labels[3, 1:3, 0] = 2
    >>> label_centre(labels, np.diag([2.0, 1.0, 1.0, 1.0])).tolist()
    [6.0, 1.5, 0.0]
    >>> label_centre(np.zeros((5, 3, 2), np.uint8), np.eye(4)).tolist()
    [2.0, 1.0, 0.5]
    """
    mask = np.asarray(labels) > 0
    total = int(np.count_nonzero(mask))
    if total == 0:
        ijk = (np.asarray(mask.shape, float) - 1) / 2
    else:
        ijk = np.array([
            float(np.dot(mask.sum(axis=tuple(a for a in range(3) if a != axis)),
                         np.arange(mask.shape[axis]))) / total
            for axis in range(3)])
    return np.asarray(affine, float)[:3, :3] @ ijk + np.asarray(affine, float)[:3, 3]


def world_box(shape, affine) -> tuple[np.ndarray, np.ndarray]:
    """(min, max) world corners (mm) of a grid's voxels, their outer faces included."""
    corners = np.array([[i, j, k] for i in (-0.5, shape[0] - 0.5) for j in (-0.5, shape[1] - 0.5)
                        for k in (-0.5, shape[2] - 0.5)]).T
    world = np.asarray(affine, float)[:3, :3] @ corners + np.asarray(affine, float)[:3, 3:4]
    return world.min(axis=1), world.max(axis=1)


def robust_window(data, percentiles=WINDOW_PERCENTILES) -> tuple[float, float]:
    """(low, high) intensities: `percentiles` of the finite, non-zero values of `data`.

    Examples
    --------
    >>> import numpy as np
    >>> data = np.zeros((10, 10, 10)); data[2:8, 2:8, 2:8] = np.arange(216).reshape(6, 6, 6)
    >>> [round(v, 1) for v in robust_window(data, (0, 100))]
    [1.0, 215.0]
    >>> robust_window(np.array([0.0, 100.0, 100.0]))
    (0.0, 100.0)
    """
    flat = np.asarray(data).reshape(-1)
    step = max(1, flat.size // WINDOW_SAMPLE)
    sample = flat[::step].astype(np.float64)
    sample = sample[np.isfinite(sample)]
    sample = sample[sample != 0]
    if sample.size == 0:
        return 0.0, 1.0
    low, high = (float(v) for v in np.percentile(sample, percentiles))
    # One value (a binary image): it is white, zero black.
    return (low, high) if high > low else (min(0.0, high - 1.0), high)


def colour_table(classes) -> np.ndarray:
    """(256, 3) uint8 RGB per label value from the card's classes (unknown labels: grey).

    Examples
    --------
    >>> colour_table([{"index": 1, "name": "a", "color": [255, 0, 0]}])[[0, 1, 7]].tolist()
    [[0, 0, 0], [255, 0, 0], [160, 160, 160]]
    """
    table = np.full((256, 3), 160, np.uint8)
    table[0] = 0
    items = classes.items() if isinstance(classes, dict) else (
        (c["index"], c.get("color") or (160, 160, 160)) for c in classes)
    for index, colour in items:
        if 0 < int(index) < 256:
            table[int(index)] = [int(v) for v in list(colour)[:3]]
    return table


def orthogonal_slices(labels, affine, scan=None, classes=(), *, centre=None,
                      radiological: bool = False) -> list[Slice]:
    """Axial, coronal and sagittal pictures of `labels` (over `scan`, if given).

    Parameters
    ----------
    labels : ndarray of int, 3-D
        Label voxels (0 = background) on the grid of `affine`.
    affine : (4, 4) array
        Voxel-to-world affine of `labels` (and of `scan`).
    scan : ndarray or nibabel image, optional
        The scan on the same grid. None: the labels alone, on black.
    classes : list of dict or dict
        The model card's classes (``index``, ``color``), or ``{label: (r, g, b)}``.
    centre : sequence of 3 float, optional
        World point (mm) the three planes pass through (default :func:`label_centre`).
    radiological : bool
        Axial and coronal slices with the patient's right on the left of the image.

    Returns
    -------
    list of Slice
        In the order of :data:`PLANES`.
    """
    from scipy import ndimage

    labels = np.asarray(labels)
    labels = labels.reshape(labels.shape[:3])
    affine = np.asarray(affine, float)
    volume = None
    if scan is not None:
        volume = np.asanyarray(getattr(scan, "dataobj", scan))
        while volume.ndim > 3:  # a 4-D scan: its first volume
            volume = volume[..., 0]
        if volume.shape[:3] != labels.shape:
            raise ValueError(f"scan grid {volume.shape[:3]} is not the labels' {labels.shape}")
        low, high = robust_window(volume)
    table = colour_table(classes)
    point = label_centre(labels, affine) if centre is None else np.asarray(centre, float)
    box_min, box_max = world_box(labels.shape, affine)
    extent = float((box_max - box_min).max())
    voxel = float(np.linalg.svd(affine[:3, :3], compute_uv=False).min())
    pixel = max(min(voxel, extent / TARGET_PIXELS), voxel / MAX_UPSAMPLING, extent / MAX_PIXELS)
    side = int(np.ceil(extent / pixel - 1e-6))
    inverse = np.linalg.inv(affine)
    out = []
    for plane in PLANES:
        fixed, (col_axis, col_sign), (row_axis, row_sign) = _GEOMETRY[plane]
        if radiological and col_axis == 0:
            col_sign = -col_sign
        centre_col = (box_min[col_axis] + box_max[col_axis]) / 2
        centre_row = (box_min[row_axis] + box_max[row_axis]) / 2
        steps = (np.arange(side) - (side - 1) / 2) * pixel
        world = np.empty((3, side, side))
        world[fixed] = point[fixed]
        world[col_axis] = centre_col + col_sign * steps[None, :]
        world[row_axis] = centre_row + row_sign * steps[:, None]
        ijk = np.tensordot(inverse[:3, :3], world, axes=1) + inverse[:3, 3, None, None]
        inside = np.all((ijk >= -0.5) & (ijk <= np.reshape(labels.shape, (3, 1, 1)) - 0.5), axis=0)
        nearest = np.clip(np.rint(ijk).astype(np.intp), 0,
                          np.reshape(labels.shape, (3, 1, 1)) - 1)
        cut = np.where(inside, labels[nearest[0], nearest[1], nearest[2]], 0).astype(np.intp)
        colours = table[np.clip(cut, 0, 255)].astype(np.float32)
        labelled = cut > 0
        if volume is None:
            rgb = np.where(labelled[..., None], colours, 0.0)
        else:
            grey = ndimage.map_coordinates(volume, ijk, order=1, mode="nearest",
                                           prefilter=False, output=np.float32)
            grey = np.clip((grey - low) / (high - low), 0.0, 1.0) * 255.0
            grey = np.where(inside, grey, 0.0)
            alpha = np.where(_edges(cut), 1.0, np.where(labelled, FILL_OPACITY, 0.0))[..., None]
            rgb = grey[..., None] * (1.0 - alpha) + colours * alpha
        pixels = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
        bar = _scale_bar(pixels, pixel)
        first, last = _LETTERS[(col_axis, col_sign)]
        top, bottom = _LETTERS[(row_axis, row_sign)]
        out.append(Slice(plane=plane, pixels=pixels,
                         letters={"top": top, "bottom": bottom, "left": first, "right": last},
                         axis=_AXIS_NAMES[fixed], position_mm=round(float(point[fixed]), 1),
                         pixel_mm=round(pixel, 4), scale_bar_mm=bar,
                         visible=tuple(int(v) for v in np.unique(cut) if v > 0)))
    return out


def _edges(cut: np.ndarray) -> np.ndarray:
    """Labelled pixels with a 4-neighbour of another value (the outlines)."""
    edge = np.zeros(cut.shape, bool)
    differs_down = cut[1:] != cut[:-1]
    differs_right = cut[:, 1:] != cut[:, :-1]
    edge[1:] |= differs_down
    edge[:-1] |= differs_down
    edge[:, 1:] |= differs_right
    edge[:, :-1] |= differs_right
    return edge & (cut > 0)


def _scale_bar(pixels: np.ndarray, pixel_mm: float) -> float:
    """Draw a white bar (dark-edged) at the bottom left; its length in mm (0: none)."""
    side = pixels.shape[1]
    for length in SCALE_BAR_MM:
        n = int(round(length / pixel_mm))
        if n <= side * 0.3:
            break
    else:
        return 0.0
    thick = max(2, side // 120)
    margin = max(4, side // 40)
    if n < 4 or pixels.shape[0] < thick + 2 * margin + 2:
        return 0.0
    y1 = pixels.shape[0] - margin
    pixels[y1 - thick - 1:y1 + 1, margin - 1:margin + n + 1] = 0
    pixels[y1 - thick:y1, margin:margin + n] = 255
    return float(length)
