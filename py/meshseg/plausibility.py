"""Does a segmentation look like a plausible result? Checks after inference.

:func:`result_warnings` returns warnings (plain sentences: what looks wrong and
what to check) for an empty or near-empty result, a brain volume outside the
human range, labels touching the edge of the field of view, or most of the
image labelled. The CLI prints them as ``WARNING:`` lines (``--strict`` turns
them into exit status 3); the page and batch manifests show them with the result.

Ranges and their sources
------------------------
Brain volumes apply to models whose labels together cover the brain (tasks
``skull strip``, ``brain mask``, ``tissue``, ``subcortical``, ``parcellation``):

- :data:`BRAIN_ML` = (500, 2100) mL. Dekaban & Sadowsky (1978), "Changes in brain
  weights during the span of human life", Ann Neurol 4:345-356 (2,773 autopsies):
  about 380 g at birth, about 1,000 g by age 2, adult means about 1,450 g (men) and
  1,290 g (women) with standard deviations near 120 g; brain tissue is about
  1.04 g/mL. MRI volumetry agrees: Allen, Damasio & Grabowski (2002), Am J Phys
  Anthropol 118:341-358, adult brain volume means about 1,274 mL (men) and 1,131 mL
  (women). 500 mL is below any brain past early infancy; 2,100 mL is more than
  5 SD above the adult male mean. Outside this range the scan, its voxel sizes
  (mL come from them) or the model is wrong.
- :data:`NEAR_EMPTY_ML` = 50 mL: less than the cerebellum of an adult (about 140 mL,
  Allen et al. 2002): nothing brain-sized was found.

Lesion models (``stroke lesion``) have no lower bound: an empty lesion mask is a
valid answer. The geometric checks apply to every model:

- :data:`EDGE_MM2`: labels covering at least 1 cm^2 of a face of the field of view
  (the scan's own grid or the model grid) mean the structure is cut off there.
- :data:`MOST_LABELLED`: more than 60% of the field of view labelled. A brain-sized
  ellipsoid fills at most pi/6 (52%) of its bounding box, so a whole-head or
  brain-only image never comes close; the model labelled the background.
"""

from __future__ import annotations

import numpy as np

BRAIN_ML = (500.0, 2100.0)
NEAR_EMPTY_ML = 50.0
EDGE_MM2 = 100.0
MOST_LABELLED = 0.6
#: Tasks whose labels together make up the brain (so BRAIN_ML applies).
BRAIN_TASKS = frozenset({"skull strip", "brain mask", "tissue", "subcortical", "parcellation"})
#: Tasks whose result may legitimately be empty (no lesion).
LESION_TASKS = frozenset({"stroke lesion"})


def volume_implausible(labels, affine, task: str) -> bool:
    """Whether the labelled volume rules the result out: empty, nearly empty or outside
    :data:`BRAIN_ML` for a brain task, or most of the field of view labelled (any task
    but a lesion model's empty answer).

    Examples
    --------
    >>> volume_implausible(np.ones((10, 10, 10)), np.eye(4) * [10, 10, 10, 1], "tissue")
    True
    >>> volume_implausible(np.zeros((4, 4, 4)), np.eye(4), "stroke lesion")
    False
    """
    mask = np.asarray(labels) != 0
    if not mask.any():
        return task not in LESION_TASKS
    if np.count_nonzero(mask) / mask.size > MOST_LABELLED:
        return True
    total_ml = float(np.count_nonzero(mask)) * _voxel_ml(affine)
    return task in BRAIN_TASKS and not BRAIN_ML[0] <= total_ml <= BRAIN_ML[1]


def result_warnings(labels, affine, card, *, model_labels=None, model_affine=None) -> list[str]:
    """Warnings about a segmentation that does not look like a plausible result.

    Parameters
    ----------
    labels : ndarray of int
        The result (0 = background) on the grid of `affine`.
    affine : (4, 4) array
        Voxel-to-world affine of `labels` (voxel sizes give mm^2 and mL).
    card : meshseg.models.card.ModelCard
        The model that produced the labels (``task``, ``title``, ``expects``).
    model_labels : ndarray of int, optional
        The labels on the model grid before mapping to the scan's grid; their edge
        is checked too (an input larger than the grid is cut there).
    model_affine : (4, 4) array, optional
        Affine of `model_labels` (required with it).

    Returns
    -------
    list of str
        One sentence per problem, empty when the result looks plausible.
    """
    labels = np.asarray(labels)
    mask = labels != 0
    voxel_ml = _voxel_ml(affine)
    total_ml = float(np.count_nonzero(mask)) * voxel_ml
    task = str(getattr(card, "task", ""))
    expects = getattr(card, "expects", "") or "the scans it was trained on"
    check = (f"Check that the scan is what {card.id} expects ({expects}): right modality? "
             "whole head? right model?")
    if not mask.any():
        if task in LESION_TASKS:
            return []
        return [f"The result is empty (0 mL): {card.title} labelled nothing. {check}"]
    fraction = float(np.count_nonzero(mask)) / mask.size
    if fraction > MOST_LABELLED:  # the volume is then out of range too: one warning says it
        return [f"Most of the image is labelled ({100 * fraction:.0f}% of the field of view, "
                f"{total_ml:.0f} mL): the model did not find a head in it. {check}"]
    warnings = []
    if task in BRAIN_TASKS:
        low, high = BRAIN_ML
        if total_ml < NEAR_EMPTY_ML:
            warnings.append(f"The result is nearly empty: only {total_ml:.1f} mL labelled, "
                            f"far below a human brain ({low:.0f}-{high:.0f} mL). {check}")
        elif total_ml < low:
            warnings.append(f"Only {total_ml:.0f} mL labelled, below the plausible range for "
                            f"a human brain ({low:.0f}-{high:.0f} mL). {check} Also check the "
                            "voxel sizes in the header: the mL come from them.")
        elif total_ml > high:
            warnings.append(f"{total_ml:.0f} mL labelled, above the plausible range for a "
                            f"human brain ({low:.0f}-{high:.0f} mL). Check the voxel sizes in "
                            f"the header (the mL come from them), that the scan shows one "
                            f"head, and the model ({card.id}).")
    edges = _edge_faces(mask, affine)
    where = "the scan's field of view"
    if not edges and model_labels is not None:
        edges = _edge_faces(np.asarray(model_labels) != 0, model_affine)
        where = "the model's grid (only the central part of a large scan is segmented)"
    if edges:
        warnings.append(f"The labels touch the edge of {where} ({', '.join(edges)}): the "
                        "structure is probably cut off there and its volume underestimated. "
                        "Check that the scan covers the whole head and that the head is "
                        "centred.")
    return warnings


def _voxel_ml(affine) -> float:
    return abs(float(np.linalg.det(np.asarray(affine, dtype=np.float64)[:3, :3]))) / 1000.0


def _edge_faces(mask: np.ndarray, affine) -> list[str]:
    """Names of the faces of the grid that labels cover over at least EDGE_MM2."""
    columns = np.asarray(affine, dtype=np.float64)[:3, :3]
    faces = []
    for axis in range(3):
        others = [a for a in range(3) if a != axis]
        face_mm2 = float(np.linalg.norm(np.cross(columns[:, others[0]], columns[:, others[1]])))
        for end, index in (("first", 0), ("last", -1)):
            count = np.count_nonzero(np.take(mask, index, axis=axis))
            if count * face_mm2 >= EDGE_MM2:
                faces.append(f"{end} slice of axis {axis + 1}")
    return faces
