"""The ``segment`` command's output options beyond the label image, and writing them.

``--stats`` may be given more than once (the format follows the extension: .csv,
.json, .stats); ``--report``, ``--mesh`` (with ``--mesh-label``, ``--mesh-smooth``,
``--mesh-decimate``) and ``--dicom-seg`` write one file each, through
:func:`meshseg.export.registry.write`.
"""

from __future__ import annotations

from pathlib import Path

from meshseg.export.outcome import from_result
from meshseg.export.registry import format_for, write

STATS_FORMATS = ("csv", "json", "stats")


def add_arguments(parser) -> None:
    """Add the output options to the ``segment`` parser."""
    parser.add_argument("--stats", action="append", metavar="OUT",
                        help="write per-label volumes; the format follows the extension: .csv, "
                             ".json, or .stats (FreeSurfer aseg.stats); repeatable")
    parser.add_argument("--report", metavar="OUT.html",
                        help="write a self-contained HTML report (slices, 3D view, volumes, "
                             "warnings, provenance); print it to PDF from a browser")
    parser.add_argument("--mesh", metavar="OUT",
                        help="write a surface mesh in world millimetres (.stl, .obj or .gii) of "
                             "all non-background labels (or --mesh-label)")
    parser.add_argument("--mesh-label", metavar="NAME|ID",
                        help="the one label to mesh (class name or number)")
    parser.add_argument("--mesh-smooth", type=int, default=0, metavar="N",
                        help="smoothing iterations of the mesh (default 0: the exact surface)")
    parser.add_argument("--mesh-decimate", type=float, default=1.0, metavar="F",
                        help="keep this fraction of the mesh's triangles (default 1.0)")
    parser.add_argument("--dicom-seg", metavar="OUT.dcm",
                        help="DICOM series inputs: write a DICOM Segmentation referencing the "
                             "series (it carries the series' patient module)")


def check_arguments(args) -> None:
    """Refuse a wrong extension before any work is done (ExportError naming the file)."""
    for path in args.stats or ():
        format_for(path, STATS_FORMATS)
    for option, fmt in (("report", "report"), ("mesh", "mesh"), ("dicom_seg", "dicom-seg")):
        path = getattr(args, option)
        if path:
            format_for(path, (fmt,))


def write_requested(args, result, card, *, scan=None, runtime=None) -> list[str]:
    """Write every output `args` asks for beyond the label image; the paths written."""
    wanted = [(path, format_for(path, STATS_FORMATS).name) for path in args.stats or ()]
    for option, fmt in (("report", "report"), ("mesh", "mesh"), ("dicom_seg", "dicom-seg")):
        if getattr(args, option):
            wanted.append((getattr(args, option), fmt))
    if not wanted:
        return []
    outcome = from_result(result, card, scan=scan, runtime=runtime, source=Path(args.input))
    written = []
    for path, fmt in wanted:
        Path(path).write_bytes(_bytes(fmt, outcome, result, path, args))
        written.append(str(path))
    return written


def _bytes(fmt: str, outcome, result, path, args) -> bytes:
    if fmt == "csv":  # the run's own tables (the JSON's meta says space and threshold)
        return result.stats_csv.encode("utf-8")
    if fmt == "json":
        return result.stats_json.encode("utf-8")
    options = {}
    if fmt == "mesh":
        options = {"label": args.mesh_label, "smooth": args.mesh_smooth,
                   "decimate": args.mesh_decimate}
    return write(fmt, outcome, Path(path).name, **options)
