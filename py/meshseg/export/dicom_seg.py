"""DICOM Segmentation (SEG) of a result on a DICOM series input, written with highdicom.

The SEG references its source series: the Study, Series and SOP Instance UIDs of the
files the scan was read from (found again from ``outcome.source``, the input path),
and its frames lie on the source frames exactly: every source frame (a classic file,
or a frame of one enhanced multi-frame file) gets the labels at its own pixel centres.

Geometry rule: the centre of pixel (row r, column c) of a source frame is
``ImagePositionPatient + c * PixelSpacing[1] * row direction + r * PixelSpacing[0] *
column direction`` (LPS, mm); that point, in RAS, is mapped into the label image's voxel
grid with the inverse of its affine and takes the label of the nearest voxel (0 outside
the grid). For labels on the scan's native grid (``--space native``, the default) every
pixel centre falls on a voxel centre, so the SEG holds the label image voxel for voxel;
for other grids (``--space conformed``, a series resampled for uneven slices) it is a
nearest-neighbour resampling in world space.

Segments: one per class of the model card except background (label 0), numbered by
label value (segment N is MeshSeg label N); a class absent from the result is a segment
without frames. BINARY segmentation; SegmentAlgorithmType AUTOMATIC, algorithm name
"MeshSeg <model id>", family DCM 123110 "Artificial Intelligence", version MeshSeg's.
Category and type codes come from :data:`CODES` (SNOMED CT, as DICOM CID 7150/7151 list
them), with a laterality modifier (SCT Left/Right) for ``Left-``/``Right-``/``lh``/``rh``
names; a class name the table does not know gets a private code (scheme ``99MESHSEG``,
meaning the class name). ``site/js/export/dicom-seg-codes.js`` holds the same table for
the page's writer (a test checks they agree).

It carries the source's patient and study modules (highdicom copies them from the
source): that is what lets a PACS file it with its series, and why it is the one MeshSeg
output that is not anonymised.
"""

from __future__ import annotations

import copy
import io
import logging
import os
import re
import warnings
from pathlib import Path

import numpy as np

from meshseg import __version__
from meshseg.export.registry import ExportError

_LPS_TO_RAS = np.array([-1.0, -1.0, 1.0])

# (code value, coding scheme designator, code meaning)
TISSUE = ("85756007", "SCT", "Tissue")
STRUCTURE = ("91723000", "SCT", "Anatomical Structure")
ABNORMAL = ("49755003", "SCT", "Morphologically Abnormal Structure")
SUBSTANCE = ("91720002", "SCT", "Body Substance")
LEFT = ("7771000", "SCT", "Left")
RIGHT = ("24028007", "SCT", "Right")
PRIVATE_SCHEME = "99MESHSEG"

#: Normalised class name (lower case, letters and digits only, laterality removed) ->
#: (category, type).
CODES = {
    "whitematter": (TISSUE, ("389080008", "SCT", "White Matter")),
    "greymatter": (TISSUE, ("389081007", "SCT", "Gray Matter")),
    "graymatter": (TISSUE, ("389081007", "SCT", "Gray Matter")),
    "brain": (STRUCTURE, ("12738006", "SCT", "Brain")),
    "brainmask": (STRUCTURE, ("12738006", "SCT", "Brain")),
    "lesion": (ABNORMAL, ("52988006", "SCT", "Lesion")),
    "cerebralwhitematter": (STRUCTURE, ("68523003", "SCT", "Cerebral White Matter")),
    "cerebralcortex": (STRUCTURE, ("40146001", "SCT", "Cerebral cortex")),
    "lateralventricle": (STRUCTURE, ("66720007", "SCT", "Lateral Ventricle")),
    "inferiorlateralventricle": (STRUCTURE, ("53118009", "SCT",
                                             "Inferior Horn of Lateral Ventricle")),
    "inflatvent": (STRUCTURE, ("53118009", "SCT", "Inferior Horn of Lateral Ventricle")),
    "cerebellumwhitematter": (STRUCTURE, ("33060004", "SCT", "Cerebellar White Matter")),
    "cerebellumcortex": (STRUCTURE, ("25991003", "SCT", "Cerebellar Cortex")),
    "cerebellum": (STRUCTURE, ("113305005", "SCT", "Cerebellum")),
    "thalamus": (STRUCTURE, ("42695009", "SCT", "Thalamus")),
    "thalamusproper": (STRUCTURE, ("42695009", "SCT", "Thalamus")),
    "caudate": (STRUCTURE, ("11000004", "SCT", "Caudate Nucleus")),
    "putamen": (STRUCTURE, ("89278009", "SCT", "Putamen")),
    "pallidum": (STRUCTURE, ("14738005", "SCT", "Globus Pallidus")),
    "3rdventricle": (STRUCTURE, ("49841001", "SCT", "Third ventricle")),
    "4thventricle": (STRUCTURE, ("35918002", "SCT", "Fourth Ventricle")),
    "brainstem": (STRUCTURE, ("119238007", "SCT", "Brain Stem")),
    "hippocampus": (STRUCTURE, ("5366008", "SCT", "Hippocampus")),
    "amygdala": (STRUCTURE, ("4958002", "SCT", "Amygdala")),
    "accumbensarea": (STRUCTURE, ("427667007", "SCT", "Nucleus Accumbens")),
    "ventraldc": (STRUCTURE, ("87563008", "SCT", "Diencephalon")),
    "ventricle": (STRUCTURE, ("35764002", "SCT", "Brain ventricle")),
    "csf": (SUBSTANCE, ("65216001", "SCT", "Cerebrospinal Fluid")),
    "corpuscallosum": (STRUCTURE, ("88442005", "SCT", "Corpus callosum")),
}
#: The type 2 attributes of the Patient and General Study modules: present in every SEG,
#: empty where the source lacks them.
TYPE_2_PATIENT_STUDY = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex",
                        "StudyDate", "StudyTime", "ReferringPhysicianName", "StudyID",
                        "AccessionNumber")
#: Name prefixes (normalised) -> the CODES entry they share: cortical parcels
#: ("ctx-lh-precuneus") are cerebral cortex, "CC_Anterior" is corpus callosum.
PREFIXES = (("ctx", "cerebralcortex"), ("cc", "corpuscallosum"))


def segment_codes(name: str) -> tuple:
    """(category, type, laterality or None) of a class name; codes are (value, scheme,
    meaning).

    Examples
    --------
    >>> segment_codes("Grey Matter")[1]
    ('389081007', 'SCT', 'Gray Matter')
    >>> category, kind, side = segment_codes("Left-Thalamus-Proper*")
    >>> kind[2], side[2]
    ('Thalamus', 'Left')
    >>> segment_codes("ctx-rh-precuneus")[1][2], segment_codes("ctx-rh-precuneus")[2][2]
    ('Cerebral cortex', 'Right')
    >>> segment_codes("Tumour core")[1]
    ('TUMOURCORE', '99MESHSEG', 'Tumour core')
    """
    key = re.sub(r"[^a-z0-9]", "", name.lower())
    side = None
    for prefix, which in (("left", LEFT), ("right", RIGHT)):
        if key.startswith(prefix) and len(key) > len(prefix):
            key, side = key[len(prefix):], which
    if key in CODES:
        return (*CODES[key], side)
    for prefix, entry in PREFIXES:
        if key.startswith(prefix) and key != prefix:
            rest = key[len(prefix):]
            for short, which in (("lh", LEFT), ("rh", RIGHT)):
                if rest.startswith(short):
                    side = side or which
            return (*CODES[entry], side)
    value = re.sub(r"[^A-Z0-9]", "", name.upper())[:16] or "UNNAMED"
    return STRUCTURE, (value, PRIVATE_SCHEME, name[:64]), side


def write(outcome, *, name: str = "", **_options) -> bytes:
    """The DICOM SEG of `outcome` (its ``source``: the DICOM series' path) as bytes."""
    series = source_series(outcome.source, outcome.name)
    import pydicom

    datasets = [pydicom.dcmread(path, stop_before_pixels=True) for path in series.paths]
    for ds in datasets:  # type 2 (may be empty, must be there), as highdicom copies them
        for keyword in TYPE_2_PATIENT_STUDY:
            if keyword not in ds:
                setattr(ds, keyword, "")
    datasets, geometry = _frames(datasets, series.name)
    classes = list(outcome.card.classes)
    if len(classes) < 2:
        raise ExportError(f"{name or outcome.name}: model {outcome.card.id} has no label "
                          "classes, so there is no segmentation to write as DICOM SEG.")
    labels = np.asarray(outcome.labels)
    if labels.size and int(labels.max()) >= len(classes):
        raise ExportError(f"{name or outcome.name}: label {int(labels.max())} is beyond model "
                          f"{outcome.card.id}'s {len(classes)} classes.")
    pixels = labels_on_frames(labels, outcome.affine, geometry)
    return _segmentation(datasets, pixels, outcome, classes, series)


def source_series(source, what: str = ""):
    """The :class:`~meshseg.readers.dicom.Series` an outcome's `source` names, or an
    ExportError saying why a DICOM SEG needs one.

    `source`: the input path (a DICOM file or a folder of one series), a list of the
    series' file paths, or a Series.
    """
    from meshseg.readers.dicom import Series, group_series, is_dicom_file, series_at

    if isinstance(source, Series):
        return source
    if isinstance(source, (list, tuple)) and source:
        series, _ = group_series([os.fspath(p) for p in source])
        if len(series) == 1:
            return series[0]
        raise ExportError(f"{what or 'the input'}: a DICOM SEG references one DICOM series; "
                          f"the files given hold {len(series)}.")
    if isinstance(source, (str, os.PathLike)) and (os.path.isdir(source)
                                                   or is_dicom_file(source)):
        return series_at(source)
    shown = Path(source).name if isinstance(source, (str, os.PathLike)) else (what or "the input")
    raise ExportError(f"{shown}: a DICOM SEG references the DICOM series it segments (its "
                      "study, series and image UIDs, and its patient), and this input is not a "
                      "DICOM series (NIfTI/MGZ files carry none of that). Segment the DICOM "
                      "series itself (its folder or one of its files) to get a DICOM SEG; for "
                      "this input use the label NIfTI.")


def labels_on_frames(labels: np.ndarray, affine: np.ndarray, frames: list) -> np.ndarray:
    """The label at every pixel centre of every source frame: (frames, rows, columns).

    Parameters
    ----------
    labels : ndarray
        Label voxels (3D), on the grid of `affine` (RAS).
    affine : ndarray
        4x4 voxel-to-world (RAS, mm) affine of `labels`.
    frames : list of dict
        ``position`` (ImagePositionPatient), ``orientation`` (ImageOrientationPatient),
        ``spacing`` (PixelSpacing: row spacing, column spacing), ``shape`` (rows, columns).
    """
    to_voxel = np.linalg.inv(np.asarray(affine, dtype=np.float64))
    shape = np.array(labels.shape[:3])
    out = np.zeros((len(frames),) + tuple(frames[0]["shape"]), dtype=np.uint8)
    for index, frame in enumerate(frames):
        rows, columns = frame["shape"]
        orientation = np.asarray(frame["orientation"], dtype=np.float64)
        row_spacing, column_spacing = (float(v) for v in frame["spacing"])
        origin = to_voxel[:3, :3] @ (_LPS_TO_RAS * np.asarray(frame["position"], float)) \
            + to_voxel[:3, 3]
        along_row = to_voxel[:3, :3] @ (_LPS_TO_RAS * orientation[:3] * column_spacing)
        along_column = to_voxel[:3, :3] @ (_LPS_TO_RAS * orientation[3:] * row_spacing)
        where = (origin + np.arange(rows)[:, None, None] * along_column
                 + np.arange(columns)[None, :, None] * along_row)
        ijk = np.rint(where).astype(np.int64)
        inside = np.all((ijk >= 0) & (ijk < shape), axis=-1)
        ijk[~inside] = 0
        values = labels[ijk[..., 0], ijk[..., 1], ijk[..., 2]]
        out[index] = np.where(inside, values, 0)
    return out


def _frames(datasets, name: str):
    """(datasets for highdicom, one geometry dict per source frame, in highdicom's order)."""
    enhanced = [ds for ds in datasets if "PerFrameFunctionalGroupsSequence" in ds]
    if enhanced and len(datasets) > 1:
        raise ExportError(f"{name}: a DICOM SEG of a series of several enhanced (multi-frame) "
                          "files, or of enhanced and classic files together, is not supported; "
                          "use a series of classic files or one enhanced file.")
    if enhanced:
        return _enhanced_frames(datasets[0], name)
    frames = []
    for number, ds in enumerate(datasets, start=1):
        if int(ds.get("NumberOfFrames", 1) or 1) > 1:
            raise ExportError(f"{name}: file {number} is a multi-frame image without per-frame "
                              "geometry; a DICOM SEG needs the geometry of every frame.")
        frames.append(_geometry(ds.get("ImagePositionPatient"),
                                ds.get("ImageOrientationPatient"), ds.get("PixelSpacing"),
                                ds, name, f"file {number}"))
    if len({f["shape"] for f in frames}) > 1:
        raise ExportError(f"{name}: its images have different sizes.")
    return datasets, frames


def _enhanced_frames(ds, name: str):
    """The frames of one enhanced file; a copy of it for highdicom, which reads the pixel
    measures and plane orientation from the shared functional groups only: where they are
    per frame and the same for every frame, the copy holds them as shared."""
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    per_frame = ds.PerFrameFunctionalGroupsSequence
    shared = ds.SharedFunctionalGroupsSequence[0] if "SharedFunctionalGroupsSequence" in ds \
        else Dataset()

    def find(group, sequence, keyword):
        for source in (group, shared):
            if sequence in source and len(source[sequence].value) and \
                    keyword in source[sequence][0]:
                return source[sequence][0][keyword].value
        return None

    frames = [_geometry(find(g, "PlanePositionSequence", "ImagePositionPatient"),
                        find(g, "PlaneOrientationSequence", "ImageOrientationPatient"),
                        find(g, "PixelMeasuresSequence", "PixelSpacing"), ds, name,
                        f"frame {i + 1}") for i, g in enumerate(per_frame)]
    copied = None
    for sequence in ("PixelMeasuresSequence", "PlaneOrientationSequence"):
        if sequence in shared:
            continue
        items = [g[sequence].value for g in per_frame if sequence in g]
        if len(items) != len(per_frame) or any(item != items[0] for item in items):
            raise ExportError(f"{name}: its frames differ in {sequence[:-8]}; a DICOM SEG of "
                              "it is not supported.")
        if copied is None:
            copied = copy.deepcopy(ds)
            if "SharedFunctionalGroupsSequence" not in copied:
                copied.SharedFunctionalGroupsSequence = Sequence([Dataset()])
        setattr(copied.SharedFunctionalGroupsSequence[0], sequence, copy.deepcopy(items[0]))
        for group in copied.PerFrameFunctionalGroupsSequence:
            del group[sequence]
    return [copied if copied is not None else ds], frames


def _geometry(position, orientation, spacing, ds, name, where) -> dict:
    values = []
    for value, count, keyword in ((position, 3, "ImagePositionPatient"),
                                  (orientation, 6, "ImageOrientationPatient"),
                                  (spacing, 2, "PixelSpacing")):
        try:
            numbers = [float(v) for v in value]
        except (TypeError, ValueError):
            numbers = []
        if len(numbers) != count or not np.all(np.isfinite(numbers)):
            raise ExportError(f"{name}: {where} has no valid {keyword}; a DICOM SEG needs the "
                              "geometry of every source frame.")
        values.append(numbers)
    return {"position": values[0], "orientation": values[1], "spacing": values[2],
            "shape": (int(ds.Rows), int(ds.Columns))}


def _segmentation(datasets, pixels, outcome, classes, series) -> bytes:
    import highdicom as hd
    from pydicom.sr.codedict import codes

    card = outcome.card
    algorithm = hd.AlgorithmIdentificationSequence(
        name=f"MeshSeg {card.id}"[:64], family=codes.DCM.ArtificialIntelligence,
        version=__version__, source="MeshSeg")
    descriptions = []
    for cls in classes[1:]:
        category, kind, side = segment_codes(str(cls["name"]))
        color = None
        try:
            color = hd.color.CIELabColor.from_rgb(*[int(v) for v in cls["color"]])
        except (ValueError, TypeError, KeyError):
            pass
        description = hd.seg.SegmentDescription(
            segment_number=int(cls["index"]), segment_label=str(cls["name"])[:64],
            segmented_property_category=hd.sr.CodedConcept(*category),
            segmented_property_type=hd.sr.CodedConcept(*kind),
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=algorithm, display_color=color)
        description.SegmentDescription = f"MeshSeg label {int(cls['index'])}"
        if side is not None:
            description.SegmentedPropertyTypeCodeSequence[0] \
                .SegmentedPropertyTypeModifierCodeSequence = [hd.sr.CodedConcept(*side)]
        descriptions.append(description)
    commit = str((outcome.provenance or {}).get("meshseg", {}).get("commit") or "")
    quiet = logging.getLogger("highdicom")  # e.g. "encoding an empty image"
    was_disabled, quiet.disabled = quiet.disabled, True
    try:
        return _encode(hd, datasets, pixels, descriptions, card, commit)
    except (ValueError, TypeError, AttributeError) as err:  # highdicom's checks of the source
        raise ExportError(f"{series.name}: a DICOM SEG of this series cannot be written: "
                          f"{err}") from err
    finally:
        quiet.disabled = was_disabled


def _encode(hd, datasets, pixels, descriptions, card, commit) -> bytes:
    first = datasets[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. a single-component PatientName of the source
        seg = hd.seg.Segmentation(
            source_images=datasets, pixel_array=pixels,
            segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
            segment_descriptions=descriptions, series_instance_uid=hd.UID(),
            series_number=_series_number(first), sop_instance_uid=hd.UID(), instance_number=1,
            manufacturer="MeshSeg", manufacturer_model_name="MeshSeg",
            software_versions=__version__, device_serial_number=commit[:16] or "none",
            content_label="MESHSEG",
            content_description=f"{card.title or card.id} ({card.id})"[:64],
            omit_empty_frames=True)
        seg.SeriesDescription = f"MeshSeg {card.id}"[:64]
        buffer = io.BytesIO()
        seg.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _series_number(ds) -> int:
    """The source's SeriesNumber + 1000 (a new series beside it), or 1000."""
    try:
        number = int(ds.get("SeriesNumber") or 0)
    except (TypeError, ValueError):
        number = 0
    return number + 1000 if 0 <= number < 2**31 - 1001 else 1000
