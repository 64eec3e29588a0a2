"""One output file of labels held by a scan session: what the page's downloads ask for
(``Service.export``), named and written through the registry."""

from __future__ import annotations

import numpy as np

from meshseg.constants import image_stem
from meshseg.export.outcome import Outcome
from meshseg.export.provenance import provenance
from meshseg.export.registry import FORMATS, ExportError, write
from meshseg.label_image import label_image
from meshseg.stats import label_stats

#: File name endings per format (after "<scan stem>_<model>").
SUFFIXES = {"csv": "_volumes.csv", "json": "_volumes.json", "stats": "_aseg.stats",
            "report": "_report.html", "mesh": "_mesh.stl", "dicom-seg": "_seg.dcm"}


def output_name(scan_name: str, model_id: str, format_name: str, extension: str | None = None
                ) -> str:
    """The file name of one output.

    Examples
    --------
    >>> output_name("sub-01_T1w.nii.gz", "model5_gw_ae", "report")
    'sub-01_T1w_model5_gw_ae_report.html'
    >>> output_name("t1.mgz", "mindgrab", "mesh", ".obj")
    't1_mindgrab_mesh.obj'
    """
    suffix = SUFFIXES[format_name]
    if extension:
        if extension not in FORMATS[format_name].extensions:
            raise ExportError(f"{format_name}: {extension} is not one of "
                              f"{', '.join(FORMATS[format_name].extensions)}.")
        suffix = suffix.rsplit(".", 1)[0] + extension
    return f"{image_stem(scan_name)}_{model_id}{suffix}"


def outcome_of(session, labels: np.ndarray, card, *, warnings=(), notices=(), runtime=None,
               source=None) -> Outcome:
    """The outcome of `labels` (on the session's scan grid) made by `card`."""
    scan = session.scan.image
    return Outcome(labels=labels, image=label_image(labels, scan), scan=scan, card=card,
                   rows=label_stats(labels, scan.affine, card.classes), name=session.name,
                   warnings=list(warnings), notices=list(notices),
                   provenance=provenance(card, session.info(), runtime), source=source)


def export_file(session, labels: np.ndarray, card, format_name: str, *, extension=None,
                options=None, warnings=(), notices=(), runtime=None, source=None) -> dict:
    """``{"name", "mime", "data"}``: one output file of `labels`."""
    if format_name not in FORMATS:
        raise ExportError(f"unknown format {format_name!r}; known: {', '.join(FORMATS)}.")
    name = output_name(session.name, card.id, format_name, extension)
    outcome = outcome_of(session, labels, card, warnings=warnings, notices=notices,
                         runtime=runtime, source=source)
    data = write(format_name, outcome, name, **dict(options or {}))
    return {"name": name, "mime": FORMATS[format_name].mime, "data": data}
