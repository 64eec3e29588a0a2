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


def check_arguments(args, card=None) -> None:
    """Refuse a wrong extension, or a --mesh-label that `card` has not, before any work is
    done (ExportError naming the file or the label)."""
    for path in args.stats or ():
        format_for(path, STATS_FORMATS)
    for option, fmt in (("report", "report"), ("mesh", "mesh"), ("dicom_seg", "dicom-seg")):
        path = getattr(args, option)
        if path:
            format_for(path, (fmt,))
    if args.mesh and args.mesh_label is not None and card is not None:
        from meshseg.export.mesh import label_index

        label_index(args.mesh_label, {int(c["index"]): str(c["name"]) for c in card.classes})


def write_requested(args, result, card, *, scan=None, runtime=None) -> list[str]:
    """Write every output `args` asks for beyond the label image; the paths written.
    `runtime`: the provenance's runtime facts, or a function giving them (asked only when
    a file is written)."""
    wanted = [(path, format_for(path, STATS_FORMATS).name) for path in args.stats or ()]
    for option, fmt in (("report", "report"), ("mesh", "mesh"), ("dicom_seg", "dicom-seg")):
        if getattr(args, option):
            wanted.append((getattr(args, option), fmt))
    outcome = None
    written = []
    for path, fmt in wanted:
        if fmt in ("csv", "json"):  # the run's own tables (the JSON's meta: space, threshold)
            data = (result.stats_csv if fmt == "csv" else result.stats_json).encode("utf-8")
        else:
            if outcome is None:
                facts = runtime() if callable(runtime) else runtime
                outcome = from_result(result, card, scan=scan, runtime=facts,
                                      source=Path(args.input))
            data = write(fmt, outcome, Path(path).name, **_options(fmt, args))
        Path(path).write_bytes(data)
        written.append(str(path))
    return written


def _options(fmt: str, args) -> dict:
    if fmt != "mesh":
        return {}
    return {"label": args.mesh_label, "smooth": args.mesh_smooth, "decimate": args.mesh_decimate}
