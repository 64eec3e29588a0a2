"""Surface meshes of a result: STL, OBJ or GIfTI, in world (scanner RAS) millimetres.

The surface of all non-background labels (or of one label) by marching cubes of the
binary mask (:mod:`.surface`, scikit-image, CPython only), closed, manifold and wound
outward (:mod:`.checks` verifies it), optionally smoothed or decimated (:mod:`.smooth`),
and written by :mod:`.formats`. The page makes the same surface with niimath's
WebAssembly (site/js/export/mesh.js); docs/exports/mesh.md compares the two.
"""

from __future__ import annotations

import numpy as np

from meshseg.export.registry import ExportError

__all__ = ["label_index", "label_mask", "mesh_of", "write"]


def label_mask(labels: np.ndarray, classes: list, label=None) -> tuple[np.ndarray, str]:
    """The voxels to mesh and what they are called.

    `label` None: every non-zero label ("all labels"); a class name (any case) or number
    (int or digits): that label. ExportError for an unknown label (listing the names), for
    the background, and for a label (or result) with no voxel.
    """
    labels = np.asarray(labels)
    names = {int(c["index"]): str(c["name"]) for c in classes or ()}
    if label is None or (isinstance(label, str) and label.strip() == ""):
        mask, what = labels > 0, "the labels"
    else:
        index = label_index(label, names)
        mask, what = labels == index, f"label {index} ({names.get(index, '?')})"
    if not np.any(mask):
        raise ExportError(f"mesh: {what} have no voxel in this result; nothing to mesh."
                          if label is None else
                          f"mesh: {what} has no voxel in this result; nothing to mesh.")
    return mask, what


def label_index(label, names: dict) -> int:
    """The label number `label` (class name, any case, or number) means; ExportError if
    it is the background or not one of `names` (number -> class name)."""
    known = ", ".join(f"{i} {n}" for i, n in sorted(names.items()) if i != 0)
    text = str(label).strip()
    if isinstance(label, (int, np.integer)) or text.lstrip("+").isdigit():
        index = int(text)
    else:
        matches = [i for i, n in names.items() if n.lower() == text.lower()]
        if not matches:
            raise ExportError(f"mesh: unknown label {text!r}; this model's labels are: {known}.")
        index = matches[0]
    if index == 0:
        raise ExportError(f"mesh: label 0 is the background; choose one of: {known}.")
    if names and index not in names:
        raise ExportError(f"mesh: unknown label {index}; this model's labels are: {known}.")
    return index


def mesh_of(labels, affine, classes=(), *, label=None, smooth: int = 0,
            decimate: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """``(vertices, faces)`` of the labels' surface (see :func:`label_mask`)."""
    from meshseg.export.mesh import smooth as post
    from meshseg.export.mesh.surface import mask_surface

    smooth = int(smooth or 0)
    decimate = 1.0 if decimate is None else float(decimate)
    if smooth < 0:
        raise ExportError(f"mesh: smoothing iterations must be 0 or more, got {smooth}.")
    if not 0 < decimate <= 1:
        raise ExportError(f"mesh: --mesh-decimate keeps a fraction of the triangles, in "
                          f"(0, 1]; got {decimate}.")
    mask, _ = label_mask(labels, list(classes), label)
    vertices, faces = mask_surface(mask, affine)
    if smooth:
        vertices = post.taubin(vertices, faces, smooth)
    if decimate < 1:
        vertices, faces = post.decimate(vertices, faces, decimate)
    return vertices, faces


def write(outcome, *, name, label=None, smooth=0, decimate=1.0, **_) -> bytes:
    """The mesh of `outcome` as the file `name` (.stl, .obj or .gii) asks for."""
    from meshseg.export.mesh.formats import kind_of
    from meshseg.export.mesh.formats import write as write_format

    try:
        kind_of(name)
    except ValueError as error:
        raise ExportError(str(error)) from None
    vertices, faces = mesh_of(outcome.labels, outcome.affine, outcome.classes, label=label,
                              smooth=smooth, decimate=decimate)
    return write_format(name, vertices, faces)
