"""Is this scan the kind of image the model was made for? Checks before inference.

:func:`input_notices` looks at a loaded :class:`meshseg.loading.Scan` and the
model card, and either returns notices (things the user should know, the job
goes on) or raises :class:`meshseg.errors.InputImageError` (the job stops with a
message that names the file, says what looks wrong and what would work).

What is refused and what is only a notice, and why:

=========================  ===========================================  ==========
Input                      Rule                                         Outcome
=========================  ===========================================  ==========
label image / mask         integer values, at most 8 distinct, or at    refused
                           most 64 distinct spread over a range more
                           than twice as wide (sparse label codes)
statistical map            signed, both tails (min <= -20% of max),     refused
                           >= 1% negative voxels, median ~ 0
CT in Hounsfield units     min <= -900 (air), max >= 300 (bone), >= 5%  refused for
                           voxels near air and >= 5% soft tissue        MRI models;
                                                                        notice for
                                                                        CT models
stack of 2D slices         largest voxel size >= 8 mm                   refused
thick slices               largest voxel size >= 4 mm                   notice
partial coverage           field of view < 100 mm along an axis         notice
field of view > grid       field of view larger than the model grid     notice
=========================  ===========================================  ==========

Refusals are for inputs that cannot give a meaningful result whatever the
network does (a label map or statistical map is not a scan; an MRI-trained model
has never seen Hounsfield units; slices 8 mm apart leave gaps wider than most
structures); each hint says how to get a usable input. Inputs that may still
give a useful, if rougher, result get a notice, and the result is then checked
by :mod:`meshseg.plausibility`. Images smaller than a head (under 60 mm on two
axes, or under 16 voxels) are already refused by :func:`meshseg.loading.load_scan`.

Statistics are computed on a strided subsample (at most about 2 million voxels),
so the checks take a fraction of a second on a 256^3 scan.
"""

from __future__ import annotations

import dataclasses

import nibabel as nib
import numpy as np

from meshseg.errors import InputImageError

#: Label images: integer values with at most this many distinct values are labels...
LABEL_FEW_VALUES = 8
#: ...and so are integer values with at most this many distinct values that are
#: sparse codes (distinct values < half of the range they span; aseg-style labels).
LABEL_MAX_VALUES = 64
#: Statistical maps: the negative tail reaches at least this fraction of the maximum.
STAT_TAIL_RATIO = 0.2
#: Statistical maps: at least this fraction of the voxels is negative.
STAT_MIN_NEGATIVE = 0.01
#: Statistical maps: the median lies within this fraction of the value range from 0.
STAT_CENTRE_TOLERANCE = 0.02
#: CT: air is -1000 HU (water 0 HU by definition of the Hounsfield scale); scanners
#: store air at about -1000 and outside the reconstruction circle at -1024 or lower.
CT_AIR_HU = -900.0
#: CT: dense bone is several hundred to over 1000 HU; brain tissue about 20-45 HU.
CT_BONE_HU = 300.0
#: CT: soft tissue window (brain, CSF, muscle, fat) in HU.
CT_SOFT_TISSUE_HU = (-150.0, 150.0)
#: CT: fractions of the voxels near air and in the soft tissue window.
CT_MIN_FRACTION = 0.05
#: Slices this thick (mm) or thicker are a notice: a stack of 2D slices.
THICK_SLICE_MM = 4.0
#: Slices this thick (mm) or thicker are refused.
MAX_SLICE_MM = 8.0
#: A field of view under this (mm) along an axis does not hold a whole brain: an adult
#: brain is about 140 x 170 x 120 mm (left-right x front-back x top-bottom).
WHOLE_BRAIN_MIN_MM = 100.0
_SAMPLE_VOXELS = 2_000_000


def input_notices(scan, card) -> tuple[str, ...]:
    """Check that `scan` is an image `card`'s model can segment.

    Parameters
    ----------
    scan : meshseg.loading.Scan
        A loaded scan.
    card : meshseg.models.card.ModelCard
        The model that will run; its ``expects`` (e.g. ``"Any head MRI contrast
        or CT"``) decides whether CT is accepted.

    Returns
    -------
    tuple of str
        Notices for the user (possibly empty).

    Raises
    ------
    InputImageError
        For a label image, a statistical map, CT for an MRI-only model, or a
        stack of 2D slices (see the module table).
    """
    name = scan.name
    image = scan.image
    notices = _geometry_notices(image, card, name)
    values = _sample(np.asanyarray(image.dataobj))
    _check_labels(values, name)
    notices += _ct_notices(values, card, name)
    _check_statistical(values, name)
    return notices


def checked(scan, card):
    """`scan` with :func:`input_notices` added to its notices (or the refusal).

    Parameters
    ----------
    scan : meshseg.loading.Scan
    card : meshseg.models.card.ModelCard

    Returns
    -------
    meshseg.loading.Scan
    """
    notices = input_notices(scan, card)
    return dataclasses.replace(scan, notices=tuple(scan.notices) + notices) if notices else scan


def accepts_ct(card) -> bool:
    """Whether the model card says it was trained for CT too (its ``expects`` names CT)."""
    return "CT" in str(getattr(card, "expects", "")).replace(",", " ").split()


def _sample(data: np.ndarray) -> np.ndarray:
    """A strided subsample of the voxels as float64 (every voxel for small images)."""
    step = 1
    while data.size / step**3 > _SAMPLE_VOXELS:
        step += 1
    return np.asarray(data[::step, ::step, ::step], dtype=np.float64).ravel()


def _check_labels(values: np.ndarray, name: str) -> None:
    """Refuse integer images with a few (or sparse) distinct values: label maps, masks."""
    if not np.array_equal(values, np.round(values)):
        return
    distinct = np.unique(values)
    if distinct.size > LABEL_MAX_VALUES:
        return
    span = distinct[-1] - distinct[0] + 1
    if distinct.size <= LABEL_FEW_VALUES or distinct.size < span / 2:
        shown = ", ".join(f"{v:g}" for v in distinct[:6]) + (", ..." if distinct.size > 6 else "")
        raise InputImageError(
            name, f"looks like a label image or mask, not a scan: it holds only "
            f"{distinct.size} distinct integer values ({shown}).",
            "Load the original scan (e.g. the T1-weighted MRI) the labels were made from.")


def _ct_notices(values: np.ndarray, card, name: str) -> tuple[str, ...]:
    """CT in Hounsfield units: refused for MRI-only models, a notice for CT models."""
    low, high = float(values.min()), float(values.max())
    if low > CT_AIR_HU or high < CT_BONE_HU:
        return ()
    air = np.count_nonzero(values <= CT_AIR_HU) / values.size
    tissue = np.count_nonzero((values >= CT_SOFT_TISSUE_HU[0])
                              & (values <= CT_SOFT_TISSUE_HU[1])) / values.size
    if air < CT_MIN_FRACTION or tissue < CT_MIN_FRACTION:
        return ()
    found = (f"looks like a CT in Hounsfield units (air at {low:.0f}, "
             f"{100 * air:.0f}% of the voxels at or below {CT_AIR_HU:.0f})")
    if accepts_ct(card):
        return (f"The scan {found}; {card.title} accepts CT.",)
    raise InputImageError(
        name, f"{found}, but {card.title} ({card.id}) was trained on "
        f"{card.expects or 'MRI'}.",
        "Use a model that accepts CT (e.g. mindgrab for a brain mask), or load an MRI scan.")


def _check_statistical(values: np.ndarray, name: str) -> None:
    """Refuse signed images centred on 0 with both tails: statistical maps (t, z, beta)."""
    low, high = float(values.min()), float(values.max())
    if not (low < 0 < high) or -low < STAT_TAIL_RATIO * high:
        return
    negative = np.count_nonzero(values < 0) / values.size
    median = float(np.median(values))
    if negative < STAT_MIN_NEGATIVE or abs(median) > STAT_CENTRE_TOLERANCE * (high - low):
        return
    raise InputImageError(
        name, f"looks like a statistical map (signed values from {low:.3g} to {high:.3g}, "
        f"centred on 0, {100 * negative:.0f}% negative), not an anatomical scan.",
        "Load the anatomical scan (e.g. the T1-weighted MRI); if this is one with signed "
        "intensities, shift them so that the background is the lowest value.")


def _geometry_notices(image, card, name: str) -> tuple[str, ...]:
    """Thick slices (notice or refusal), partial coverage and fields of view beyond the grid."""
    zooms = nib.affines.voxel_sizes(image.affine)
    fov = np.asarray(image.shape[:3]) * zooms
    thick = float(zooms.max())
    shown_fov = " x ".join(f"{f:.0f}" for f in fov)
    if thick >= MAX_SLICE_MM:
        raise InputImageError(
            name, f"is a stack of 2D slices {thick:.3g} mm apart "
            f"(voxels {' x '.join(f'{z:.3g}' for z in zooms)} mm): too coarse for a 3D model.",
            f"Use a 3D acquisition with voxels under {THICK_SLICE_MM:g} mm (ideally about 1 mm).")
    notices = []
    if thick >= THICK_SLICE_MM:
        notices.append(f"The scan has thick slices ({thick:.3g} mm; voxels "
                       f"{' x '.join(f'{z:.3g}' for z in zooms)} mm): the model sees a volume "
                       "interpolated between them, so boundaries and volumes are coarse.")
    if fov.min() < WHOLE_BRAIN_MIN_MM:
        notices.append(f"The scan covers only {shown_fov} mm, less than a whole brain "
                       f"(about 140 x 170 x 120 mm): the result can only be partial.")
    grid = card.conform
    grid_mm = np.asarray(grid["shape"], float) * np.broadcast_to(
        np.asarray(grid["voxel_size"], float), (3,))
    if fov.max() > grid_mm.max() + 1e-3:
        notices.append(f"The scan covers {shown_fov} mm, more than the model's "
                       f"{grid_mm.max():.0f} mm grid: only the central "
                       f"{grid_mm.max():.0f} mm are segmented, so the head must be near the "
                       "centre of the image.")
    return tuple(notices)
