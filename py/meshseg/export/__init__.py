"""Hand a result on: every output format a result can be written as, one module per format.

A writer reads one :class:`~meshseg.export.outcome.Outcome` (the labels on the scan's
grid, the scan, the model card, the volume rows, warnings and provenance) and returns
the file's bytes. :mod:`meshseg.export.registry` names the formats, their file
extensions and their writers; the CLI (:mod:`meshseg.export.cli`), the batch and the
page (``Service.export``) all write through it, so each format has one implementation.

Formats: ``csv`` and ``json`` (the volume table), ``stats`` (FreeSurfer aseg.stats),
``report`` (one self-contained HTML page), ``mesh`` (STL, OBJ, GIfTI surface),
``dicom-seg`` (DICOM Segmentation of a DICOM series input). BIDS derivatives are a
layout of these files (:mod:`meshseg.export.bids`).
"""

from meshseg.export.outcome import Outcome
from meshseg.export.registry import FORMATS, ExportError, Format, format_for, write

__all__ = ["FORMATS", "ExportError", "Format", "Outcome", "format_for", "write"]
