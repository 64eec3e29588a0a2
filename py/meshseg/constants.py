"""Names shared by Python and the page, defined once.

``build.py`` writes these into ``dist/js/constants.js`` (see :func:`to_javascript`),
so the worker, the page and the Python core cannot drift apart.
"""

from __future__ import annotations

import json

#: Version of the worker protocol (docs/worker-protocol.md) and of the iframe messages.
PROTOCOL_VERSION = 2

#: Stages of a run, in order, with the label the page shows. ``runtime``, ``model``
#: (downloading/preparing an ONNX model) and ``load`` happen outside a segmentation job.
STAGES = (
    ("runtime", "Runtime"),
    ("load", "Read scan"),
    ("conform", "Conform"),
    ("normalise", "Normalise"),
    ("premodel", "Find brain"),
    ("model", "Prepare model"),
    ("inference", "Model"),
    ("postprocess", "Clean up"),
    ("native", "Native space"),
    ("stats", "Volumes"),
    ("quality", "Quality"),
)
STAGE_IDS = tuple(stage for stage, _ in STAGES)

#: File name endings MeshSeg reads as images, longest first (".nii.gz" before ".gz").
IMAGE_EXTENSIONS = (".nii.gz", ".nii", ".mgz", ".mgh")

#: Suffix of a label image's file name: ``<stem>_<model>`` + this.
LABELS_SUFFIX = "_labels.nii.gz"
#: Suffix of an edited label image.
EDITED_SUFFIX = "_labels_edited.nii.gz"
#: Suffix of the volume tables: ``<stem>_<model>`` + this + ".csv" / ".json".
VOLUMES_SUFFIX = "_volumes"

#: Error kinds of :func:`meshseg.errors.error_object`.
ERROR_KINDS = ("input", "option", "model", "cancelled", "internal")

#: Values of the difference map of two label images (:mod:`meshseg.compare`).
DIFFERENCE_CLASSES = (
    {"index": 0, "name": "both background", "color": [0, 0, 0]},
    {"index": 1, "name": "agree", "color": [60, 170, 90]},
    {"index": 2, "name": "only A", "color": [230, 80, 60]},
    {"index": 3, "name": "only B", "color": [60, 120, 230]},
    {"index": 4, "name": "different labels", "color": [240, 200, 40]},
)

#: BIDS derivatives (meshseg.export.bids and site/js/batch/bids.js): the BIDS version the
#: dataset states, the pipeline's name, the space of labels on the T1w's grid, the BIDS
#: entities in the order the specification gives them (a T1w's own entities are kept),
#: the entities a T1w name may carry, the batch's own folder inside the dataset, the
#: .bidsignore lines (the volume tables are not a BIDS file type) and the volume columns.
BIDS = {
    "version": "1.9.0",
    "pipeline": "meshseg",
    "space": "orig",
    "entity_order": ["sub", "ses", "sample", "task", "tracksys", "acq", "nuc", "voi", "ce",
                     "trc", "stain", "rec", "dir", "run", "mod", "echo", "flip", "inv", "mt",
                     "part", "proc", "hemi", "space", "split", "recording", "chunk", "seg",
                     "res", "den", "label", "desc"],
    "t1w_entities": ["sub", "ses", "task", "acq", "ce", "rec", "run", "echo", "part", "chunk"],
    "batch_dir": "sourcedata/meshseg-batch",
    "bidsignore": ["*_volumes.tsv", "*_volumes.json"],
    "volume_columns": ["index", "name", "voxels", "ml"],
    # The derivative's README.md: @NAME@ is the source dataset's name, @VERSION@ MeshSeg's.
    "readme": (
        "# MeshSeg segmentations of @NAME@\n\n"
        "A BIDS derivative dataset written by MeshSeg @VERSION@: the segmentation of every T1w "
        "image of @NAME@ (`DatasetLinks` \"raw\" in dataset_description.json says where that "
        "dataset lies).\n\n"
        "- `sub-<label>/[ses-<label>/]anat/<the T1w's entities>_space-orig_desc-<model>_dseg"
        ".nii.gz`: the labels, on the T1w image's own voxel grid (its shape and affine); "
        "`desc-` is the model's id in letters and digits only.\n"
        "- `..._dseg.tsv`: the labels' index, name and color; `..._dseg.json`: the source "
        "image (`Sources`) and the model (`Model`).\n"
        "- `..._volumes.tsv` and `.json`: the volume of each label in mL (not a BIDS file "
        "type, so `.bidsignore` lists them).\n"
        "- `..._probseg.nii.gz` and `.json` (only when asked for): the model's probability "
        "output on the same grid, described in its sidecar.\n"
        "- `sourcedata/meshseg-batch/`: the batch that made them: `manifest.json` (every "
        "image, its status and any error) and `volumes.csv`.\n\n"
        "For research use only. Not a medical device: not for diagnosis or treatment "
        "decisions. Check every result by eye.\n"
    ),
}


def image_stem(name: str) -> str:
    """A file name without its image extension.

    Examples
    --------
    >>> image_stem("sub-01_T1w.nii.gz")
    'sub-01_T1w'
    >>> image_stem("scan.MGZ")
    'scan'
    """
    for ext in IMAGE_EXTENSIONS + (".gz",):
        if name.lower().endswith(ext):
            return name[: -len(ext)]
    return name


def to_javascript() -> str:
    """These constants as an ES module (what ``build.py`` writes to ``dist/js/constants.js``)."""
    values = {
        "PROTOCOL_VERSION": PROTOCOL_VERSION,
        "STAGES": [list(stage) for stage in STAGES],
        "IMAGE_EXTENSIONS": list(IMAGE_EXTENSIONS),
        "LABELS_SUFFIX": LABELS_SUFFIX,
        "EDITED_SUFFIX": EDITED_SUFFIX,
        "VOLUMES_SUFFIX": VOLUMES_SUFFIX,
        "ERROR_KINDS": list(ERROR_KINDS),
        "DIFFERENCE_CLASSES": list(DIFFERENCE_CLASSES),
        "BIDS": BIDS,
    }
    lines = ["// Generated by build.py from py/meshseg/constants.py: do not edit.", ""]
    lines += [f"export const {name} = Object.freeze({json.dumps(value)});"
              if not isinstance(value, (int, str)) else
              f"export const {name} = {json.dumps(value)};"
              for name, value in values.items()]
    return "\n".join(lines) + "\n"
