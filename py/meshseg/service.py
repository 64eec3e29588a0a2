"""The scan-session service a host runtime talks to (the browser worker, tests).

Plain values in and out: scans are referred to by id; label images come back as
uncompressed NIfTI bytes on the scan's own grid and go in as the bytes of their
voxels (uint8, NIfTI order: first axis fastest, i.e. that NIfTI's voxel data),
and every public call is made through :meth:`Service.call` or
:meth:`Service.segment`, which answer ``{"ok": True, "value": ...}`` or
``{"ok": False, "error": error_object(...)}``: errors are formatted here, in
Python, never parsed out of a traceback by the host. Keys of values sent to the
page are camelCase (the wire format, typed in ``site/js/types.js``).
"""

from __future__ import annotations

import nibabel as nib
import numpy as np

from meshseg.compare import compare_labels, comparison_csv, difference_map
from meshseg.constants import DIFFERENCE_CLASSES, EDITED_SUFFIX, image_stem
from meshseg.driver import drive
from meshseg.errors import InputImageError, ModelError, error_object
from meshseg.label_image import label_image, to_nifti_bytes
from meshseg.loading import load_scan
from meshseg.models.card import ModelCard
from meshseg.resample_labels import labels_to_native
from meshseg.session import ScanSession
from meshseg.stats import label_stats, stats_csv, stats_json

CALLS = ("open", "viewer_image", "measure", "save", "export", "reference", "compare", "close",
         "status", "add_model", "remove_model")
#: Largest volume handed to a viewer; larger scans are shown at a stride (same world space).
VIEWER_MAX_VOXELS = 256**3


class Service:
    """Scan sessions by id, and what can be done with them.

    Parameters
    ----------
    cards : dict
        Model id -> card (``ModelCard`` or its dict).
    """

    def __init__(self, cards: dict) -> None:
        self.cards = {k: v if isinstance(v, ModelCard) else ModelCard.from_dict(v)
                      for k, v in dict(cards).items()}
        self._sessions: dict[str, ScanSession] = {}
        self._opened = 0
        self._own: set[str] = set()

    def call(self, name: str, kwargs: dict) -> dict:
        """Run one of :data:`CALLS` with keyword arguments; the answer or the error, as data."""
        try:
            if name not in CALLS:
                raise ValueError(f"unknown call {name!r}; known: {', '.join(CALLS)}")
            return {"ok": True, "value": getattr(self, name)(**dict(kwargs))}
        except Exception as error:  # every failure goes back to the caller as data
            return {"ok": False, "error": error_object(error)}

    async def segment(self, scan: str, model: str, options, infer, on_progress=None,
                      cancelled=None) -> dict:
        """Run `model` on scan `scan` (see :func:`meshseg.driver.drive`); result or error."""
        try:
            job = self._session(scan).job(self.cards, model, options)
            result = await drive(job, infer, on_progress, cancelled)
            return {"ok": True, "value": result_payload(result)}
        except Exception as error:
            return {"ok": False, "error": error_object(error)}

    def open(self, data, name: str) -> dict:
        """Load and validate a scan: its id and description."""
        session = ScanSession.open(data, name)
        self._opened += 1
        scan_id = f"scan-{self._opened}"
        self._sessions[scan_id] = session
        return {"scan": scan_id, "info": session.info(), "bytesHeld": session.nbytes}

    def viewer_image(self, scan: str) -> bytes:
        """The validated scan as uncompressed NIfTI-1 for a viewer (see :func:`viewer_copy`)."""
        return to_nifti_bytes(viewer_copy(self._session(scan).scan.image), gzip=False)

    def measure(self, scan: str, labels, model: str) -> dict:
        """Volumes of label voxels on the scan's grid, with `model`'s names."""
        session, card = self._session(scan), self._card(model)
        grid = _labels_on_grid(labels, session)
        rows = label_stats(grid, session.scan.image.affine, card.classes)
        meta = {"file": session.name, "model": card.id, "space": "native"}
        return {"stats": rows, "statsCsv": stats_csv(rows), "statsJson": stats_json(rows, meta)}

    def save(self, scan: str, labels, model: str, edited: bool = True) -> dict:
        """A label image of `labels` on the scan's grid (anonymised, intent LABEL), volumes."""
        session = self._session(scan)
        image = label_image(_labels_on_grid(labels, session), session.scan.image)
        suffix = EDITED_SUFFIX if edited else "_labels.nii.gz"
        return {"maskName": f"{image_stem(session.name)}_{model}{suffix}",
                "mask": to_nifti_bytes(image), **self.measure(scan, labels, model)}

    def export(self, scan: str, labels, model: str, format: str, extension=None, options=None,
               warnings=(), notices=(), runtime=None) -> dict:
        """One output file of `labels` (report, stats, mesh, ...; :mod:`meshseg.export`):
        ``{"name", "mime", "data"}``. `runtime` (provider, threads, commit) goes into the
        provenance; `warnings` and `notices` are the run's, for the report."""
        from meshseg.export.files import export_file

        session, card = self._session(scan), self._card(model)
        return export_file(session, _labels_on_grid(labels, session), card, str(format),
                           extension=extension, options=_plain(options),
                           warnings=list(warnings or ()), notices=list(notices or ()),
                           runtime=_plain(runtime))

    def reference(self, scan: str, data, name: str) -> dict:
        """A reference label file (NIfTI/MGZ, any grid) on the scan's grid, nearest neighbour."""
        session = self._session(scan)
        labels, affine = _reference_labels(data, name)
        native = session.scan.image
        on_grid = labels_to_native(labels, affine, native.shape[:3], native.affine,
                                   method="nearest")
        values = [int(v) for v in np.unique(on_grid) if v != 0]
        return {"name": name, "values": values,
                "labelsNifti": to_nifti_bytes(label_image(on_grid, native), gzip=False)}

    def compare(self, scan: str, a, b, classes_a: list, classes_b=None) -> dict:
        """Volumes, differences and Dice per label of two label images on the scan's grid."""
        session = self._session(scan)
        grid_a, grid_b = _labels_on_grid(a, session), _labels_on_grid(b, session)
        rows = compare_labels(grid_a, grid_b, session.scan.image.affine, classes_a, classes_b)
        diff = label_image(difference_map(grid_a, grid_b, classes_a, classes_b),
                           session.scan.image)
        return {"rows": rows, "csv": comparison_csv(rows), "classes": list(DIFFERENCE_CLASSES),
                "differenceNifti": to_nifti_bytes(diff, gzip=False)}

    def add_model(self, card: dict) -> dict:
        """Check and register a user's version 2 card (``own_model.read_card``): its dict."""
        import json

        from meshseg.own_model import OwnModelError, read_card

        model = read_card(json.dumps(dict(card)), "card.json")
        if model.id in self.cards and model.id not in self._own:
            raise OwnModelError("card", f"model card {model.id}: id: a bundled model has this "
                                "id; choose another.")
        self.cards[model.id] = model
        self._own.add(model.id)
        return {"card": model.to_dict()}

    def remove_model(self, model: str) -> dict:
        """Forget a user's model (after its ONNX file failed the checks)."""
        if model in self._own:
            self._own.discard(model)
            self.cards.pop(model, None)
        return {"model": model}

    def close(self, scan: str) -> dict:
        """Forget a scan and free its arrays: the bytes released."""
        session = self._sessions.pop(scan, None)
        if session is None:
            raise ValueError(f"no open scan {scan!r}")
        return {"scan": scan, "bytesReleased": session.close()}

    def status(self) -> dict:
        """Open scans and the voxel bytes they hold."""
        return {"scans": sorted(self._sessions),
                "bytesHeld": sum(s.nbytes for s in self._sessions.values())}

    def _session(self, scan: str) -> ScanSession:
        if scan not in self._sessions:
            raise ValueError(f"no open scan {scan!r}: open it first (it may have been closed)")
        return self._sessions[scan]

    def _card(self, model: str) -> ModelCard:
        if model not in self.cards:
            known = ", ".join(sorted(self.cards))
            raise ModelError(f"unknown model {model!r}; available: {known}.")
        return self.cards[model]


def viewer_copy(image, max_voxels: int = VIEWER_MAX_VOXELS):
    """What a viewer needs of a scan: at most `max_voxels` (every n-th voxel along each
    axis, the affine scaled so the world space is the same) and float64 as float32, so
    that drawing a large scan never holds up the page.

    Examples
    --------
    >>> import nibabel as nib
    >>> big = nib.Nifti1Image(np.zeros((512, 512, 300), np.float64), np.eye(4))
    >>> small = viewer_copy(big)
    >>> small.shape, str(small.get_data_dtype()), float(small.affine[0, 0])
    ((256, 256, 150), 'float32', 2.0)
    >>> viewer_copy(small) is small
    True
    """
    data = np.asanyarray(image.dataobj)
    step = 1
    while data.size / step**3 > max_voxels:
        step += 1
    if step == 1 and data.dtype != np.float64:
        return image
    data = data[::step, ::step, ::step]
    if data.dtype == np.float64:
        data = data.astype(np.float32)
    header = image.header.copy()
    header.set_data_dtype(data.dtype)
    affine = image.affine @ np.diag([step, step, step, 1.0])
    return nib.Nifti1Image(np.ascontiguousarray(data), affine, header)


def result_payload(result) -> dict:
    """A job's result as the page receives it (typed ``SegmentResult`` in site/js/types.js).

    With a probability output: ``probabilityNifti`` (uncompressed, on the mask's grid,
    for the viewer and the threshold slider: float32 for a foreground probability,
    uint8 with scl_slope 1/255 for a confidence) and ``probability`` (.nii.gz to
    download, same encodings). An image-to-image model's ``mask``/``labelsNifti`` are
    its float32 output image, and ``modelImage`` is it on the model grid (.nii.gz).
    ``quality`` is the result's quality object (docs/quality.md; None for an image model).
    """
    extra = {"kind": result.kind, "probabilityMeaning": result.probability_meaning,
             "uncertainty": result.uncertainty, "quality": result.quality}
    if result.probability is not None:
        dtype = "float32" if result.probability_meaning == "foreground" else "uint8"
        extra.update(probabilityName=result.probability_name,
                     probability=result.probability_bytes(dtype),
                     probabilityNifti=result.probability_bytes(dtype, gzip=False))
    if result.model_image is not None:
        extra.update(modelImage=to_nifti_bytes(result.model_image),
                     modelImageName=result.mask_name.replace(".nii.gz", "_model_grid.nii.gz"))
    shown = viewer_copy(result.image)
    if shown is not result.image:  # a scan over VIEWER_MAX_VOXELS: the viewer gets a strided copy
        extra["viewerLabelsNifti"] = to_nifti_bytes(shown, gzip=False)
    return {**extra,
        "model": result.model_id, "space": result.space, "maskName": result.mask_name,
        "mask": result.mask_bytes, "labelsNifti": result.nifti_bytes(),
        "stats": result.stats, "statsCsv": result.stats_csv, "statsJson": result.stats_json,
        "notices": result.notices, "warnings": result.warnings,
        "timings": {k: round(v, 4) for k, v in result.timings.items()},
        "work": result.work, "reused": result.reused, "scanInfo": result.scan_info,
    }


def _plain(value) -> dict:
    """A dict of a JS object (a JsProxy converted by the runtime) or None."""
    return {} if value is None else dict(value)


def _labels_on_grid(data, session: ScanSession) -> np.ndarray:
    shape = session.scan.image.shape[:3]
    flat = np.frombuffer(memoryview(data), dtype=np.uint8)
    if flat.size != int(np.prod(shape)):
        raise ValueError(f"{flat.size} label voxels given; {session.name} has "
                         f"{int(np.prod(shape))} ({'x'.join(map(str, shape))})")
    return flat.reshape(shape, order="F")


def _reference_labels(data, name: str):
    """Integer labels and affine of a reference label file; InputImageError if not labels."""
    image = load_scan(data, name).image
    values = np.asanyarray(image.dataobj)
    if values.dtype.kind == "f":
        if not np.array_equal(values, np.round(values)):
            raise InputImageError(name, "has fractional values, so it is not a label image.",
                                  "Load a label image (integer labels, 0 = background).")
    if values.min() < 0 or values.max() > 255:
        raise InputImageError(name, f"has values {values.min():g}..{values.max():g}; label "
                              "images here use 0..255.", "Load a label image.")
    return values.astype(np.uint8), image.affine
