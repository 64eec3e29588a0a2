"""Optional mesh post-steps, both off by default (the exact surface): Taubin smoothing and
decimation by edge collapse. numpy and scipy only; both keep a closed, manifold, outward
mesh closed, manifold and outward.

Examples
--------
>>> import numpy as np
>>> from meshseg.export.mesh.checks import topology
>>> t = np.linspace(0, np.pi, 12)[1:-1]
>>> p = np.linspace(0, 2 * np.pi, 24, endpoint=False)
>>> ring = np.stack([np.sin(t)[:, None] * np.cos(p), np.sin(t)[:, None] * np.sin(p),
...                  np.cos(t)[:, None] + 0 * p], -1).reshape(-1, 3)
>>> v = np.vstack([ring, [[0, 0, 1], [0, 0, -1]]])
>>> f = []
>>> for i in range(9):
...     for j in range(24):
...         a, b = i * 24 + j, i * 24 + (j + 1) % 24
...         f += [[a, a + 24, b], [b, a + 24, b + 24]]
>>> f += [[len(v) - 2, j, (j + 1) % 24] for j in range(24)]
>>> f += [[len(v) - 1, 216 + (j + 1) % 24, 216 + j] for j in range(24)]
>>> f = np.array(f)
>>> v2, f2 = decimate(v, f, 0.5)
>>> len(f2) <= len(f) // 2, topology(v2, f2)["manifold"], topology(v2, f2)["oriented"]
(True, True, True)
>>> topology(taubin(v, f, 5), f)["manifold"]
True
"""

from __future__ import annotations

import numpy as np

from meshseg.export.mesh.checks import edges_of


def _adjacency(faces: np.ndarray, n: int):
    from scipy.sparse import coo_matrix

    directed = edges_of(faces)
    graph = coo_matrix((np.ones(len(directed)), (directed[:, 0], directed[:, 1])),
                       shape=(n, n)).tocsr()
    graph.data[:] = 1.0  # each undirected edge once per direction
    graph = graph.maximum(graph.T)
    return graph


def taubin(vertices, faces, iterations: int, lam: float = 0.5, mu: float = -0.53
           ) -> np.ndarray:
    """The vertices after `iterations` Taubin steps (a shrinking Laplacian step by `lam`,
    then an inflating one by `mu`, with uniform neighbour weights): smooths the voxel
    staircase with little shrinkage. The faces are unchanged."""
    v = np.asarray(vertices, dtype=np.float64).copy()
    if iterations <= 0 or len(v) == 0:
        return v
    from scipy.sparse import diags

    graph = _adjacency(np.asarray(faces, dtype=np.int64), len(v))
    degree = np.asarray(graph.sum(axis=1)).ravel()
    average = diags(1.0 / np.maximum(degree, 1.0)) @ graph
    for _ in range(int(iterations)):
        for factor in (lam, mu):
            v += factor * (average @ v - v)
    return v


def decimate(vertices, faces, fraction: float, max_passes: int = 500):
    """Keep about `fraction` of the triangles, by edge collapses (shortest edges first), each
    collapsed edge's vertex placed where it least moves the planes of its faces (Garland and
    Heckbert's quadric error; the midpoint where that is ill-posed).

    Each pass collapses, at once, a set of edges whose ends are not neighbours of another
    chosen edge's ends (so their collapses never meet), each shortest in its neighbourhood,
    and each allowed only if the mesh stays a manifold (the edge's ends share exactly its
    two opposite vertices, and every vertex keeps at least three neighbours) and no
    triangle around it turns over. Stops at the target or when no edge may collapse.

    Returns
    -------
    vertices, faces
        Unused vertices removed.
    """
    from meshseg.export.mesh.surface import compact

    v = np.asarray(vertices, dtype=np.float64).copy()
    f = np.asarray(faces, dtype=np.int64).reshape(-1, 3).copy()
    if not 0 < fraction <= 1:
        raise ValueError(f"decimation fraction must be in (0, 1], got {fraction}")
    target = int(np.ceil(fraction * len(f)))
    quadrics = _vertex_quadrics(v, f)
    blocked = np.zeros(0, dtype=np.int64)
    for _ in range(max_passes):
        if len(f) <= target:
            break
        collapsed, refused = _collapse_pass(v, f, quadrics, (len(f) - target + 1) // 2, blocked)
        blocked = np.union1d(blocked, refused)
        if collapsed is None:
            break
        f = collapsed
    return compact(v, f)


def _vertex_quadrics(v, f) -> np.ndarray:
    """(N, 4, 4): per vertex, the sum of its faces' plane quadrics p p^T (area-weighted)."""
    normal = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    area = np.linalg.norm(normal, axis=1)
    unit = normal / np.maximum(area, 1e-30)[:, None]
    plane = np.hstack([unit, -np.einsum("ij,ij->i", unit, v[f[:, 0]])[:, None]])
    k = (area / 2)[:, None, None] * plane[:, :, None] * plane[:, None, :]
    q = np.zeros((len(v), 4, 4))
    for corner in range(3):
        np.add.at(q, f[:, corner], k)
    return q


def _placement(v, quadrics, a, b) -> np.ndarray:
    """Where each edge (a, b) collapses to: the quadric's minimum on the segment's
    neighbourhood, or the midpoint where it is ill-posed or far off the segment."""
    q = quadrics[a] + quadrics[b]
    middle = (v[a] + v[b]) / 2
    system = q[:, :3, :3]
    rhs = -q[:, :3, 3]
    good = np.abs(np.linalg.det(system)) > 1e-9 * np.maximum(
        np.einsum("nii->n", system) ** 3, 1e-30)
    where = middle.copy()
    if np.any(good):
        where[good] = np.linalg.solve(system[good], rhs[good][:, :, None])[:, :, 0]
    far = np.linalg.norm(where - middle, axis=1) > np.linalg.norm(v[a] - v[b], axis=1)
    where[far] = middle[far]
    return where


def _collapse_pass(v, f, quadrics, wanted, blocked):
    """One pass of independent edge collapses (in place on `v` and `quadrics`); the new
    faces (None if none collapsed) and the keys of edges refused for turning a triangle."""
    n = len(v)
    directed = edges_of(f)
    opposite = np.roll(f, 1, axis=1).reshape(-1)  # the corner opposite each directed edge
    low = np.minimum(directed[:, 0], directed[:, 1])
    high = np.maximum(directed[:, 0], directed[:, 1])
    keys = low * np.int64(n) + high
    order = np.argsort(keys, kind="stable")
    keys_sorted = keys[order]
    if len(keys_sorted) % 2 or np.any(keys_sorted[0::2] != keys_sorted[1::2]):
        raise ValueError("decimate: the mesh is not closed (an edge without two faces)")
    first, second = order[0::2], order[1::2]
    a, b = low[first], high[first]
    c, d = opposite[first], opposite[second]
    edge_keys = keys_sorted[0::2]
    graph = _adjacency(f, n)
    degree = np.diff(graph.indptr)
    common = np.asarray(graph[a].multiply(graph[b]).sum(axis=1)).ravel()
    ok = (common == 2) & (degree[c] > 3) & (degree[d] > 3) & (degree[a] + degree[b] - 4 >= 3)
    if len(blocked):
        ok &= ~np.isin(edge_keys, blocked)
    candidates = np.nonzero(ok)[0]
    if len(candidates) == 0:
        return None, blocked[:0]
    length = np.linalg.norm(v[a] - v[b], axis=1)
    candidates = candidates[np.argsort(length[candidates], kind="stable")]
    top = np.iinfo(np.int64).max
    priority = np.full(len(a), top)
    priority[candidates] = np.arange(len(candidates))
    locked = np.zeros(n, dtype=bool)  # the ends of chosen edges and their neighbours
    picked = []
    for _ in range(8):  # rounds: the shortest edges away from those already chosen
        candidates = candidates[~(locked[a[candidates]] | locked[b[candidates]])]
        if len(candidates) == 0 or sum(map(len, picked)) >= wanted:
            break
        best = np.full(n, top)
        np.minimum.at(best, a[candidates], priority[candidates])
        np.minimum.at(best, b[candidates], priority[candidates])
        spread = best.copy()  # one edge out: no chosen edge's end is next to another's
        np.minimum.at(spread, a, best[b])
        np.minimum.at(spread, b, best[a])
        round_ = candidates[np.minimum(spread[a[candidates]], spread[b[candidates]])
                            == priority[candidates]]
        picked.append(round_)
        ends = np.zeros(n, dtype=bool)
        ends[a[round_]] = ends[b[round_]] = True
        locked |= ends
        locked[b[ends[a]]] = True
        locked[a[ends[b]]] = True
    chosen = np.concatenate(picked)[:max(int(wanted), 1)]
    # a vertex opposite several chosen edges loses a neighbour to each
    losses = np.bincount(np.concatenate([c[chosen], d[chosen]]), minlength=n)
    short = (degree - losses) < 3
    chosen = chosen[~(short[c[chosen]] | short[d[chosen]])]
    ca, cb = a[chosen], b[chosen]
    where = _placement(v, quadrics, ca, cb)
    # no triangle around a chosen edge may turn over
    owner = np.full(n, -1)
    owner[ca] = np.arange(len(chosen))
    owner[cb] = np.arange(len(chosen))
    touched = owner[f]
    face_owner = touched.max(axis=1)
    affected = np.nonzero(face_owner >= 0)[0]
    corners = touched[affected]
    moved = v[f[affected]]
    hit = corners >= 0
    moved[hit] = where[corners[hit]]
    vanish = np.count_nonzero(hit, axis=1) == 2  # the two faces on the edge itself
    tri = v[f[affected]]
    before = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    after = np.cross(moved[:, 1] - moved[:, 0], moved[:, 2] - moved[:, 0])
    cos = np.einsum("ij,ij->i", before, after) / np.maximum(
        np.linalg.norm(before, axis=1) * np.linalg.norm(after, axis=1), 1e-30)
    bad = np.zeros(len(chosen), dtype=bool)
    bad[face_owner[affected][~vanish & (cos < 0.2)]] = True
    refused = edge_keys[chosen[bad]]
    good = ~bad
    if not np.any(good):
        return None, refused
    keep_a, keep_b = ca[good], cb[good]
    v[keep_a] = where[good]
    quadrics[keep_a] += quadrics[keep_b]
    remap = np.arange(n)
    remap[keep_b] = keep_a
    new = remap[f]
    doomed = (new[:, 0] == new[:, 1]) | (new[:, 1] == new[:, 2]) | (new[:, 0] == new[:, 2])
    return new[~doomed], refused
