"""A 3D picture of the labels from numpy alone: a shaded depth rendering.

The outer surface voxels of the labels are projected orthographically (in world
millimetres, so any voxel order or obliquity gives the same picture) onto a view
from the patient's left, front and above (:data:`VIEW`); the nearest voxel at each
pixel gives its colour, and the normals of the smoothed depth map give Lambert
shading from a light over the viewer's left shoulder. It is what the CLI and the
batch put in a report; the page sends a picture of its own viewer's 3D render instead.

Examples
--------
>>> import numpy as np
>>> labels = np.zeros((30, 30, 30), np.uint8)
>>> labels[5:25, 5:25, 5:25] = 1
>>> picture = render(labels, np.eye(4), {1: (200, 40, 40)}, size=64)
>>> picture.shape, picture.dtype.name
((64, 64, 3), 'uint8')
>>> bool(picture[32, 32, 0] > picture[32, 32, 1])   # the cube, in its label's red
True
>>> int(picture[0, 0].sum())                        # background: black
0
"""

from __future__ import annotations

import numpy as np

from meshseg.export.report.slices import colour_table

#: Direction from the head's centre to the viewer (x: right, y: anterior, z: superior).
VIEW = (-0.72, 0.52, 0.46)
#: Said under the picture.
VIEW_TEXT = "seen from the patient's left, front and above"
#: Light direction in screen coordinates (x right, y up, z toward the viewer).
LIGHT = (-0.35, 0.45, 0.82)
AMBIENT = 0.28
SIZE = 400
#: Pixel writes at most (surface voxels x the pixels each covers): bounds time and memory.
MAX_SPLATS = 6_000_000


def surface_voxels(labels: np.ndarray) -> np.ndarray:
    """Mask of labelled voxels with a 6-neighbour of background (or the grid's edge).

    Examples
    --------
    >>> import numpy as np
    >>> cube = np.ones((3, 3, 3), np.uint8)
    >>> int(surface_voxels(cube).sum())   # all but the centre voxel
    26
    """
    solid = np.pad(np.asarray(labels) > 0, 1)
    inner = solid[1:-1, 1:-1, 1:-1]
    covered = (solid[:-2, 1:-1, 1:-1] & solid[2:, 1:-1, 1:-1] & solid[1:-1, :-2, 1:-1]
               & solid[1:-1, 2:, 1:-1] & solid[1:-1, 1:-1, :-2] & solid[1:-1, 1:-1, 2:])
    return inner & ~covered


def camera(view=VIEW) -> np.ndarray:
    """(3, 3) rows: the screen's right, up and into-the-screen axes in world space."""
    back = np.asarray(view, float)
    forward = -back / np.linalg.norm(back)
    right = np.cross(forward, (0.0, 0.0, 1.0))
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    return np.stack([right, up, forward])


def render(labels, affine, classes=(), *, size: int = SIZE, view=VIEW) -> np.ndarray:
    """The shaded picture of `labels`' outer surface: (size, size, 3) uint8 RGB on black.

    Parameters
    ----------
    labels : ndarray of int, 3-D
        Label voxels (0 = background).
    affine : (4, 4) array
        Their voxel-to-world affine.
    classes : list of dict or dict
        The model card's classes (``index``, ``color``), or ``{label: (r, g, b)}``.
    size : int
        The picture's side in pixels.
    view : sequence of 3 float
        Direction from the object to the viewer, in world (RAS) axes.
    """
    from scipy import ndimage

    labels = np.asarray(labels)
    labels = labels.reshape(labels.shape[:3])
    affine = np.asarray(affine, float)
    surface = surface_voxels(labels)
    ijk = np.array(np.nonzero(surface))
    if ijk.shape[1] == 0:
        return np.zeros((size, size, 3), np.uint8)
    values = labels[ijk[0], ijk[1], ijk[2]]
    screen = camera(view) @ (affine[:3, :3] @ ijk + affine[:3, 3:4])  # right, up, depth (mm)
    low, high = screen[:2].min(axis=1), screen[:2].max(axis=1)
    voxel = float(np.linalg.svd(affine[:3, :3], compute_uv=False).max())
    span = float((high - low).max()) + 2 * voxel
    # Each voxel covers a square as wide as its largest side, so the surface has no holes;
    # thick voxels are drawn on coarser pixels (`step` picture pixels each) and many points
    # are thinned, to keep the splats under MAX_SPLATS.
    step = 1
    while True:
        pixel = span / (size * 0.92) * step
        reach = int(np.ceil(voxel / pixel / 2))
        splats = ijk.shape[1] * (2 * reach + 1) ** 2
        if splats <= MAX_SPLATS or reach <= 1:
            break
        step += 1
    if splats > MAX_SPLATS:
        keep = slice(None, None, int(np.ceil(splats / MAX_SPLATS)))
        screen, values = screen[:, keep], values[keep]
    grid = int(np.ceil(size / step))
    middle = (low + high) / 2
    col = (screen[0] - middle[0]) / pixel + grid / 2
    row = grid / 2 - (screen[1] - middle[1]) / pixel
    depth = screen[2]
    base_r, base_c = np.floor(row).astype(np.intp), np.floor(col).astype(np.intp)
    flat, keys, order_values = [], [], []
    for dr in range(-reach, reach + 1):
        for dc in range(-reach, reach + 1):
            r, c = base_r + dr, base_c + dc
            ok = (r >= 0) & (r < grid) & (c >= 0) & (c < grid)
            flat.append(r[ok] * grid + c[ok])
            keys.append(depth[ok])
            order_values.append(values[ok])
    flat, keys, order_values = (np.concatenate(a) for a in (flat, keys, order_values))
    order = np.lexsort((keys, flat))  # by pixel, nearest first
    first = np.unique(flat[order], return_index=True)[1]
    nearest = order[first]
    hit = np.zeros(grid * grid, bool)
    hit[flat[nearest]] = True
    zbuf = np.zeros(grid * grid)
    zbuf[flat[nearest]] = keys[nearest]
    label_at = np.zeros(grid * grid, np.intp)
    label_at[flat[nearest]] = order_values[nearest]
    hit, zbuf, label_at = (a.reshape(grid, grid) for a in (hit, zbuf, label_at))
    # Normals of the depth map, smoothed where there is surface (normalised convolution).
    # The window spans more than one voxel's footprint, so voxel steps do not show as ridges.
    window = max(5, 2 * reach + 3)
    weight = ndimage.uniform_filter(hit.astype(float), window)
    height = -ndimage.uniform_filter(np.where(hit, zbuf, 0.0), window) / np.maximum(weight, 1e-9)
    d_row, d_col = np.gradient(height / pixel)
    normal = np.stack([-d_col, d_row, np.ones_like(height)])
    normal /= np.linalg.norm(normal, axis=0)
    light = np.asarray(LIGHT) / np.linalg.norm(LIGHT)
    lambert = np.clip(np.tensordot(light, normal, axes=1), 0.0, 1.0)
    near, far = (float(v) for v in (zbuf[hit].min(), zbuf[hit].max()))
    fog = 1.0 - 0.25 * (zbuf - near) / max(far - near, 1e-9)
    shade = (AMBIENT + (1.0 - AMBIENT) * lambert) * fog
    colours = colour_table(classes)[np.clip(label_at, 0, 255)].astype(float)
    rgb = np.where(hit[..., None], colours * shade[..., None], 0.0)
    picture = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    if step > 1:
        picture = np.repeat(np.repeat(picture, step, axis=0), step, axis=1)[:size, :size]
    return picture
