"""The output formats: name, file extensions, media type and writer of each.

A writer is ``write(outcome, *, name, **options) -> bytes`` in its own module, imported
only when that format is asked for (the page never loads a CPython-only library).

Examples
--------
>>> format_for("out/sub-01.stats").name
'stats'
>>> format_for("x.nii.gz", ("csv", "json"))
Traceback (most recent call last):
...
meshseg.export.registry.ExportError: x.nii.gz: unknown output type; use .csv or .json.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from meshseg.errors import MeshSegError


class ExportError(MeshSegError):
    """An output that cannot be written (wrong extension, an input it needs is missing)."""


@dataclass(frozen=True)
class Format:
    name: str
    extensions: tuple
    mime: str
    writer: str  # "module:function"

    def load(self):
        module, function = self.writer.split(":")
        return getattr(importlib.import_module(module), function)


FORMATS = {f.name: f for f in (
    Format("csv", (".csv",), "text/csv", "meshseg.export.tables:write_csv"),
    Format("json", (".json",), "application/json", "meshseg.export.tables:write_json"),
    Format("stats", (".stats",), "text/plain", "meshseg.export.freesurfer_stats:write"),
    Format("report", (".html",), "text/html", "meshseg.export.report:write"),
    Format("mesh", (".stl", ".obj", ".gii"), "application/octet-stream",
           "meshseg.export.mesh:write"),
    Format("dicom-seg", (".dcm",), "application/dicom", "meshseg.export.dicom_seg:write"),
)}


def format_for(path, allowed=None) -> Format:
    """The format a file name asks for, by its extension; ExportError naming the file."""
    names = tuple(allowed or FORMATS)
    lower = str(path).lower()
    for name in names:
        if lower.endswith(FORMATS[name].extensions):
            return FORMATS[name]
    endings = [ext for name in names for ext in FORMATS[name].extensions]
    listed = ", ".join(endings[:-1]) + f" or {endings[-1]}" if len(endings) > 1 else endings[0]
    raise ExportError(f"{path}: unknown output type; use {listed}.")


def write(format_name: str, outcome, name: str, **options) -> bytes:
    """The bytes of `outcome` written as `format_name` (a file called `name`)."""
    if format_name not in FORMATS:
        raise ExportError(f"{name}: unknown format {format_name!r}; known: "
                          f"{', '.join(FORMATS)}.")
    return FORMATS[format_name].load()(outcome, name=name, **options)
