"""Checks of a triangle mesh: closed, manifold, consistently oriented, its enclosed volume
and bounds. Pure numpy (the page's Pyodide can run them too).

A mesh is ``(vertices, faces)``: ``vertices`` an (N, 3) float array (world millimetres),
``faces`` an (M, 3) integer array of vertex indices, each triangle wound so that its normal
(right-hand rule) points out of the solid.

Examples
--------
>>> import numpy as np
>>> v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], float)
>>> f = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])
>>> report = topology(v, f)
>>> report["closed"], report["manifold"], report["oriented"], report["components"]
(True, True, True, 1)
>>> round(enclosed_volume(v, f) * 6, 9)
1.0
>>> round(enclosed_volume(v, f[:, ::-1]) * 6, 9)   # wound inward: negative
-1.0
"""

from __future__ import annotations

import numpy as np


def edges_of(faces: np.ndarray) -> np.ndarray:
    """The (3M, 2) directed edges of the faces, in face order (a->b, b->c, c->a)."""
    faces = np.asarray(faces, dtype=np.int64)
    return np.stack([faces, np.roll(faces, -1, axis=1)], axis=2).reshape(-1, 2)


def _edge_keys(directed: np.ndarray, n_vertices: int) -> np.ndarray:
    low = np.minimum(directed[:, 0], directed[:, 1])
    high = np.maximum(directed[:, 0], directed[:, 1])
    return low * np.int64(max(n_vertices, 1)) + high


def topology(vertices: np.ndarray, faces: np.ndarray) -> dict:
    """What the mesh's connectivity is.

    Returns
    -------
    dict
        ``vertices``, ``faces``, ``edges`` (undirected), ``boundary_edges`` (used by one
        face), ``nonmanifold_edges`` (used by three or more), ``nonmanifold_vertices``
        (whose faces form more than one fan), ``misoriented_edges`` (an edge two faces
        traverse in the same direction), ``degenerate_faces`` (a repeated vertex),
        ``unused_vertices``, ``components`` (connected by edges), ``euler``
        (V - E + F), and the verdicts ``closed`` (every edge used by exactly two faces),
        ``manifold`` (closed, and every vertex's faces form one fan) and ``oriented``
        (every edge traversed once each way).
    """
    vertices = np.asarray(vertices)
    faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    n = len(vertices)
    directed = edges_of(faces)
    keys = _edge_keys(directed, n)
    unique, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    # orientation: on an edge shared by two faces, one goes a->b and the other b->a
    forward = (directed[:, 0] < directed[:, 1]).astype(np.int64)
    forward_count = np.bincount(inverse, weights=forward, minlength=len(unique))
    pair = counts == 2
    misoriented = int(np.count_nonzero(pair & (forward_count != 1)))
    degenerate = int(np.count_nonzero((faces[:, 0] == faces[:, 1]) | (faces[:, 1] == faces[:, 2])
                                      | (faces[:, 0] == faces[:, 2])))
    used = np.zeros(n, dtype=bool)
    used[faces.ravel()] = True
    components = _components(unique, n, used)
    nonmanifold_vertices = _nonmanifold_vertices(faces, n) if np.all(pair) else -1
    report = {
        "vertices": n, "faces": len(faces), "edges": len(unique),
        "boundary_edges": int(np.count_nonzero(counts == 1)),
        "nonmanifold_edges": int(np.count_nonzero(counts > 2)),
        "nonmanifold_vertices": nonmanifold_vertices,
        "misoriented_edges": misoriented, "degenerate_faces": degenerate,
        "unused_vertices": int(np.count_nonzero(~used)),
        "components": components, "euler": n - len(unique) + len(faces),
    }
    report["closed"] = bool(len(faces) > 0 and np.all(pair) and degenerate == 0)
    report["manifold"] = bool(report["closed"] and nonmanifold_vertices == 0)
    report["oriented"] = bool(report["closed"] and misoriented == 0)
    return report


def _components(edge_keys: np.ndarray, n: int, used: np.ndarray) -> int:
    """Connected components of the used vertices (scipy's graph labelling)."""
    if not np.any(used):
        return 0
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    a, b = np.divmod(edge_keys, np.int64(max(n, 1)))
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return int(len(np.unique(labels[used])))


def _nonmanifold_vertices(faces: np.ndarray, n: int) -> int:
    """How many vertices' faces form more than one fan (two sheets touching at a point).

    A vertex's link is the opposite edge (b, c) of each of its faces (v, b, c); the faces
    form one fan when the link is connected. The links of all vertices are labelled at
    once as one graph on (vertex, neighbour) nodes.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    faces = np.asarray(faces, dtype=np.int64)
    if len(faces) == 0:
        return 0
    a, b, c = faces[:, 0], faces[:, 1], faces[:, 2]
    centre = np.concatenate([a, b, c])
    left = np.concatenate([b, c, a])
    right = np.concatenate([c, a, b])
    nodes, index = np.unique(np.concatenate([centre * np.int64(n) + left,
                                             centre * np.int64(n) + right]),
                             return_inverse=True)
    m = len(centre)
    graph = coo_matrix((np.ones(m, dtype=np.int8), (index[:m], index[m:])),
                       shape=(len(nodes), len(nodes)))
    _, labels = connected_components(graph, directed=False)
    owner = nodes // np.int64(n)
    fans = np.unique(owner * np.int64(len(nodes) + 1) + labels) // np.int64(len(nodes) + 1)
    return int(np.count_nonzero(np.bincount(fans, minlength=n) > 1))


def enclosed_volume(vertices: np.ndarray, faces: np.ndarray) -> float:
    """The signed volume the closed mesh encloses (divergence theorem), in the vertices'
    units cubed: positive when the faces are wound outward."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    if len(f) == 0:
        return 0.0
    centre = v.mean(axis=0)  # translation-invariant on a closed mesh; better rounding
    p0, p1, p2 = v[f[:, 0]] - centre, v[f[:, 1]] - centre, v[f[:, 2]] - centre
    return float(np.einsum("ij,ij->i", p0, np.cross(p1, p2)).sum() / 6.0)


def surface_area(vertices: np.ndarray, faces: np.ndarray) -> float:
    """The total area of the faces."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    normals = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    return float(np.linalg.norm(normals, axis=1).sum() / 2.0)


def bounds(vertices: np.ndarray) -> np.ndarray:
    """(2, 3): the lowest and highest world coordinate of the used vertices."""
    v = np.asarray(vertices, dtype=np.float64)
    return np.stack([v.min(axis=0), v.max(axis=0)])


def mask_bounds(mask: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """(2, 3): the world bounds of the mask's voxel centres."""
    ijk = np.argwhere(np.asarray(mask, dtype=bool))
    xyz = ijk @ np.asarray(affine)[:3, :3].T + np.asarray(affine)[:3, 3]
    return np.stack([xyz.min(axis=0), xyz.max(axis=0)])


def mask_volume(mask: np.ndarray, affine: np.ndarray) -> float:
    """Voxel count times voxel volume (mm^3 for an affine in mm)."""
    return float(np.count_nonzero(mask) * abs(np.linalg.det(np.asarray(affine)[:3, :3])))


def summary(vertices, faces, mask=None, affine=None) -> dict:
    """:func:`topology` plus ``volume_mm3``, ``area_mm2``, ``bounds_mm`` and, given the
    mask and its affine, ``mask_volume_mm3``, ``volume_error`` (relative),
    ``mask_bounds_mm`` and ``bounds_error_mm`` (largest difference)."""
    report = topology(vertices, faces)
    report["volume_mm3"] = enclosed_volume(vertices, faces)
    report["area_mm2"] = surface_area(vertices, faces)
    report["bounds_mm"] = bounds(vertices).tolist() if len(vertices) else None
    if mask is not None and affine is not None:
        expected = mask_volume(mask, affine)
        report["mask_volume_mm3"] = expected
        report["volume_error"] = (report["volume_mm3"] - expected) / expected if expected else None
        reference = mask_bounds(mask, affine)
        report["mask_bounds_mm"] = reference.tolist()
        report["bounds_error_mm"] = float(np.abs(bounds(vertices) - reference).max())
    return report
