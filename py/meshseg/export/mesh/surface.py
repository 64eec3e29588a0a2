"""The surface of a label mask as a triangle mesh in world (scanner RAS) millimetres.

Marching cubes (scikit-image's Lewiner variant, which resolves ambiguous cube faces and
cube interiors by the trilinear interpolant) of the binary mask at :data:`LEVEL`, on the mask
cropped to its bounding box and padded by one background voxel on every side, so that a mask
touching the grid's edge is closed there too.

Why not exactly 0.5: on a binary mask the interpolant at the centre of an ambiguous face
(two inside voxels touching only along an edge) is exactly 0.5, a tie that the two cubes
sharing the face break differently, leaving edges used by more than two triangles (9 in the
white matter's surface and 159 in the grey matter's on the PSR test scan; 405-840 in 30^3
random masks). A level just under 0.5 removes every tie: voxels that share an edge are
joined, as the 26-connected components of meshseg.postprocess are, and voxels that share only
a corner are not (the interpolant there is 0.25). Every mesh is then closed and manifold (40
random masks of 5-95 % density, the real scans' labels), and each vertex lies 1/1024 of a
voxel outside the half-way point.

Every vertex is mapped through the affine to world millimetres, duplicate vertices are
merged, and the triangles are wound outward: a reflected affine (determinant < 0, e.g. LAS,
LIA or PSR scans) mirrors the mesh and so flips every triangle, which is undone here by the
sign of the enclosed volume.

No smoothing: every vertex lies (all but) half-way between an inside and an outside voxel
centre, on the voxels' shared face, so the enclosed volume is the voxel count less the
corners and edges marching cubes cuts off and plus those it fills in (within 1 % for the
brain and its tissues on the test scans; docs/exports/mesh.md).

scikit-image is a CPython dependency (the ``export`` extra); it is imported here, inside the
function, and the page never calls this (it meshes with niimath's WebAssembly).
"""

from __future__ import annotations

import numpy as np

from meshseg.export.mesh.checks import enclosed_volume

#: The iso-level of the binary mask (see above): 0.5 less 1/1024, exact in float32.
LEVEL = 0.5 - 2.0 ** -10


class EmptyMaskError(ValueError):
    """No voxel to mesh."""


def mask_surface(mask: np.ndarray, affine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The closed surface of the non-zero voxels of `mask`.

    Parameters
    ----------
    mask : (I, J, K) array
        Non-zero voxels are inside.
    affine : (4, 4) array
        Voxel indices to world millimetres.

    Returns
    -------
    vertices : (N, 3) float64
        World millimetres.
    faces : (M, 3) int64
        Vertex indices, wound outward (normals by the right-hand rule point out).
    """
    from skimage.measure import marching_cubes

    mask = np.asarray(mask) != 0
    if mask.ndim != 3:
        raise ValueError(f"mask must be 3D, got shape {mask.shape}")
    where = np.argwhere(mask)
    if len(where) == 0:
        raise EmptyMaskError("the mask has no voxel to mesh")
    lo, hi = where.min(axis=0), where.max(axis=0)
    crop = mask[lo[0]:hi[0] + 1, lo[1]:hi[1] + 1, lo[2]:hi[2] + 1]
    padded = np.pad(crop, 1).astype(np.float32)
    ijk, faces, _, _ = marching_cubes(padded, level=LEVEL, method="lewiner",
                                      allow_degenerate=False)
    ijk = ijk.astype(np.float64) + (lo - 1)
    affine = np.asarray(affine, dtype=np.float64)
    vertices = ijk @ affine[:3, :3].T + affine[:3, 3]
    vertices, faces = merge_vertices(vertices, faces)
    if enclosed_volume(vertices, faces) < 0:
        faces = faces[:, ::-1].copy()
    return vertices, faces


def merge_vertices(vertices: np.ndarray, faces: np.ndarray, decimals: int = 6
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Join vertices at the same place (to `decimals` of a millimetre), drop faces that
    lose a corner by it and vertices no face uses."""
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    _, first, inverse = np.unique(np.round(vertices, decimals), axis=0, return_index=True,
                                  return_inverse=True)
    faces = inverse.reshape(-1)[faces]
    vertices = vertices[first]
    keep = ((faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2])
            & (faces[:, 0] != faces[:, 2]))
    return compact(vertices, faces[keep])


def compact(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop the vertices no face uses (renumbering the faces)."""
    used = np.zeros(len(vertices), dtype=bool)
    used[faces.ravel()] = True
    renumber = np.cumsum(used) - 1
    return vertices[used], renumber[faces].astype(np.int64)
