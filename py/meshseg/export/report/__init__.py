"""The report: one self-contained HTML page per result, printable to PDF from a browser.

It shows three orthogonal slices through the labels' centre with the overlay
(:mod:`~meshseg.export.report.slices`), a 3D view (the page's viewer's render, or a
numpy rendering: :mod:`~meshseg.export.report.view3d`), the legend, the volume table
(the CSV's own numbers), the quality panel (plausibility warnings, input notices,
the model's low-confidence share), provenance (no patient fields: only the file
name, grid and voxel size of the input) and the research-use notice. The pictures
are PNG files written with zlib (:mod:`~meshseg.export.report.png`) and embedded as
``data:`` URLs, so the file asks nothing of any network.

The same writer runs in the CLI (``--report OUT.html``), the batch (one per scan) and
the page (the ``download-report`` button, in Pyodide).

Examples
--------
>>> import numpy as np, nibabel as nib
>>> from meshseg.export.outcome import Outcome
>>> from types import SimpleNamespace        # stands in for a ModelCard
>>> card = SimpleNamespace(id="demo", title="Demo", licence="MIT", onnx={"sha256": "ab" * 32},
...                        classes=[{"index": 0, "name": "background", "color": [0, 0, 0]},
...                                 {"index": 1, "name": "ball", "color": [230, 90, 40]}])
>>> labels = np.zeros((24, 24, 24), np.uint8); labels[6:18, 6:18, 6:18] = 1
>>> image = nib.Nifti1Image(labels, np.eye(4))
>>> rows = [{"label": 1, "name": "ball", "voxels": 1728, "ml": 1.728}]
>>> outcome = Outcome(labels=labels, image=image, scan=None, card=card, rows=rows,
...                   name="ball.nii.gz")
>>> page = write(outcome, name="ball_demo_report.html").decode()
>>> page.count("data:image/png;base64,"), "1.728" in page, "https:" in page
(4, True, False)
"""

from __future__ import annotations

import csv
import io
from html import escape

import numpy as np

from meshseg.export.provenance import RESEARCH_NOTICE
from meshseg.export.provenance import provenance as make_provenance
from meshseg.export.registry import ExportError
from meshseg.export.report import html, png, slices
from meshseg.export.report import view3d as view3d_module
from meshseg.stats import stats_csv, voxel_volume_ml

PLANE_TITLES = {"axial": "Axial", "coronal": "Coronal", "sagittal": "Sagittal"}
#: Labels present at most for a legend under the pictures (more: the table's squares are it).
MAX_LEGEND = 24


def write(outcome, *, name: str = "", view3d=None, uncertainty=None, radiological: bool = False,
          **_) -> bytes:
    """The report of `outcome` as UTF-8 HTML bytes.

    Parameters
    ----------
    outcome : meshseg.export.outcome.Outcome
        The result; its ``scan`` may be None (then the slices show the labels alone).
    name : str
        The report's file name (stated in it).
    view3d : bytes-like, optional
        A PNG picture of the result in 3D (the page's viewer); None: rendered here.
    uncertainty : dict, optional
        ``{"lowConfidenceShare", "below"}`` of the run (default: the outcome's own, if any).
    radiological : bool
        Axial and coronal slices in radiological convention (patient's right on the left);
        default neurological, as the page's viewer.
    """
    labels = np.asarray(outcome.labels)
    labels = labels.reshape(labels.shape[:3])
    affine = np.asarray(outcome.affine, float)
    classes = list(outcome.classes)
    colours = slices.colour_table(classes)
    cuts = slices.orthogonal_slices(labels, affine, outcome.scan, classes,
                                    radiological=radiological)
    figures = [_slice_figure(cut, outcome.scan is not None) for cut in cuts]
    figures.append(_view_figure(view3d, labels, affine, classes))
    volumes, total = _volumes(outcome.rows, colours)
    centre = slices.label_centre(labels, affine)
    prov = outcome.provenance or make_provenance(outcome.card)
    if uncertainty is None:
        uncertainty = getattr(outcome, "uncertainty", None)
    card = outcome.card
    model = card.title or card.id
    legend = [(colours[int(r["label"])], f'{r["label"]} {r["name"]}') for r in outcome.rows
              if int(r["voxels"]) > 0 and 0 < int(r["label"]) < 256]
    text = html.document(
        title="Segmentation report",
        subtitle=f"{outcome.name or 'unnamed input'} \N{EM DASH} {model}",
        meta=[("Model", card.id), ("Date", _date(prov.get("date", ""))),
              ("Labelled", f"{total[1]} mL" if total else "0 mL"),
              ("Warnings", str(len(outcome.warnings)))],
        notice=prov.get("notice") or RESEARCH_NOTICE,
        figures=figures,
        legend=legend if len(legend) <= MAX_LEGEND else [],
        notes=_notes(cuts, centre, radiological, outcome.scan is not None)
        + ([f"{len(legend)} labels are present: their colours are the squares of the volume "
            "table."] if len(legend) > MAX_LEGEND else []),
        volumes=volumes, total=total,
        quality=_quality(outcome.warnings, outcome.notices, uncertainty),
        provenance=_provenance_rows(prov, labels.shape, affine, name),
        footer=f"Written by MeshSeg {prov.get('meshseg', {}).get('version', '')}"
               f"{' as ' + name if name else ''}. {RESEARCH_NOTICE}",
    )
    return text.encode("utf-8")


def _slice_figure(cut, over_scan: bool) -> html.Figure:
    title = PLANE_TITLES[cut.plane]
    what = "labels over the scan" if over_scan else "labels"
    caption = f"{cut.axis} = {cut.position_mm:g} mm"
    if cut.scale_bar_mm:
        caption += f"; scale bar {cut.scale_bar_mm:g} mm"
    return html.Figure(title, png.encode(cut.pixels),
                       f"{title} slice at {caption.split(';')[0]}, {what}", escape(caption),
                       cut.letters)


def _view_figure(picture, labels, affine, classes) -> html.Figure:
    if picture is not None:
        data = _as_bytes(picture)
        try:
            png.size(data)
        except png.PNGError as error:
            raise ExportError(f"report: the 3D picture given is not a PNG ({error}).") from None
        return html.Figure("3D", data, "3D render of the labels in the page's viewer",
                           "the page's viewer (NiiVue) as it showed the result", {})
    pixels = view3d_module.render(labels, affine, classes)
    return html.Figure("3D", png.encode(pixels), "3D surface rendering of the labels",
                       f"surface of the labels, {view3d_module.VIEW_TEXT}", {})


def _as_bytes(value) -> bytes:
    """Bytes of a bytes-like (bytes, memoryview, a Pyodide buffer proxy)."""
    if hasattr(value, "to_bytes") and not isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value.to_bytes())
    return bytes(memoryview(value))


def _volumes(rows, colours):
    """The table's rows as the CSV writes them (its own strings), and the total row."""
    parsed = list(csv.DictReader(io.StringIO(stats_csv(rows))))
    volumes = [(colours[min(255, int(r["label"]))], r["label"], r["name"], r["voxels"], r["ml"])
               for r in parsed]
    if not rows:
        return volumes, None
    voxels = sum(int(r["voxels"]) for r in rows)
    ml = round(sum(float(r["ml"]) for r in rows), 3)
    return volumes, (str(voxels), str(ml))


def _notes(cuts, centre, radiological: bool, over_scan: bool) -> list[str]:
    x, y, z = (f"{v:g}" for v in np.round(centre, 1))
    convention = ("<b>Radiological convention</b>: in the axial and coronal slices the "
                  "patient's right is on the left of the image"
                  if radiological else
                  "<b>Neurological convention</b>: in the axial and coronal slices the patient's "
                  "left is on the left of the image (as in the page's viewer)")
    notes = [f"{convention}; the sagittal slice has anterior on the right. The letters give the "
             "world direction at each edge (R/L right/left, A/P anterior/posterior, "
             "S/I superior/inferior).",
             f"The slices pass through the centre of the labelled voxels, world (x, y, z) = "
             f"({x}, {y}, {z}) mm, resampled to {cuts[0].pixel_mm:g} mm pixels in world "
             "space (labels by nearest neighbour)."]
    if over_scan:
        low, high = slices.WINDOW_PERCENTILES
        notes.append(f"The scan is windowed from its {low:g}th to its {high:g}th percentile "
                     "(non-zero voxels); labels are filled at "
                     f"{round(slices.FILL_OPACITY * 100)} % opacity with opaque outlines.")
    else:
        notes.append("The scan is not part of this result, so the slices show the labels alone.")
    return notes


def _quality(warnings, notices, uncertainty) -> str:
    from meshseg.plausibility import BRAIN_ML, MOST_LABELLED

    parts = []
    if warnings:
        items = "".join(f'<li class="warning">{escape(str(w))}</li>' for w in warnings)
        parts.append(f'<h3>Plausibility checks<span class="status warn">{len(warnings)} '
                     f'warning{"s" if len(warnings) != 1 else ""}</span></h3>'
                     f'<ul data-testid="quality-warnings">{items}</ul>')
    else:
        parts.append('<h3>Plausibility checks<span class="status ok">nothing to warn about'
                     '</span></h3><p data-testid="quality-warnings">The result passed every '
                     "check: labels were found; where the model's labels make up the brain, "
                     f"their volume lies within {BRAIN_ML[0]:g}-{BRAIN_ML[1]:g} mL; no label "
                     "covers a face of the field of view; and no more than "
                     f"{round(MOST_LABELLED * 100)} % of the image is labelled.</p>")
    if notices:
        items = "".join(f"<li>{escape(str(n))}</li>" for n in notices)
        parts.append(f'<h3>Input notices</h3><ul data-testid="quality-notices">{items}</ul>')
    else:
        parts.append('<h3>Input notices</h3><p data-testid="quality-notices">None: the scan '
                     "raised no remark when it was read (voxel size, field of view, "
                     "intensities).</p>")
    parts.append("<h3>Model confidence</h3>")
    share = (uncertainty or {}).get("lowConfidenceShare") if uncertainty else None
    if share is not None:
        below = (uncertainty or {}).get("below", 0.5)
        parts.append(f'<p data-testid="quality-confidence"><b>{float(share) * 100:.2f} %</b> of '
                     f"the labelled voxels have a model confidence (largest class probability) "
                     f"below {float(below):g}.</p>")
    else:
        parts.append('<p data-testid="quality-confidence">Not available: this result carries '
                     "no confidence map.</p>")
    return "".join(parts)


def _provenance_rows(prov, shape, affine, name) -> list:
    soft = prov.get("meshseg", {})
    model = prov.get("model", {})
    run = prov.get("runtime", {})
    given = prov.get("input", {})
    sizes = [round(float(v), 4) for v in np.sqrt((np.asarray(affine)[:3, :3] ** 2).sum(axis=0))]

    def code(value) -> str:
        return f"<code>{escape(str(value))}</code>" if value not in (None, "") else "unknown"

    def grid(values) -> str:
        return " \N{MULTIPLICATION SIGN} ".join(f"{v:g}" for v in values) if values else "unknown"

    threads = run.get("threads")
    return [
        ("meshseg-version", "MeshSeg version", escape(str(soft.get("version", "")))),
        ("meshseg-commit", "MeshSeg commit", code(soft.get("commit"))),
        ("model-id", "Model", code(model.get("id"))),
        ("model-title", "Model title", escape(str(model.get("title") or ""))),
        ("model-licence", "Model licence", escape(str(model.get("licence") or "unknown"))),
        ("onnx-sha256", "ONNX sha256", code(model.get("onnx_sha256"))),
        ("provider", "Inference", escape(str(run.get("provider") or "unknown"))
         + (f", {int(threads)} thread{'s' if int(threads) != 1 else ''}" if threads else "")),
        ("date", "Date", escape(str(prov.get("date", "")))),
        ("input-name", "Input file", code(given.get("name"))),
        ("input-format", "Input format", escape(str(given.get("source_format") or "unknown"))),
        ("input-grid", "Input grid", escape(grid(given.get("shape"))) + " voxels"
         + (f", {escape(given['orientation'])}" if given.get("orientation") else "")),
        ("input-voxel", "Input voxel size", escape(grid(given.get("voxel_size_mm"))) + " mm"),
        ("label-grid", "Label grid", escape(grid(shape)) + " voxels, "
         + escape(grid(sizes)) + f" mm ({voxel_volume_ml(affine) * 1000:g} mm\N{SUPERSCRIPT THREE}"
         " per voxel)"),
        ("report-name", "Report file", code(name)),
    ]


def _date(iso: str) -> str:
    """'2026-01-02 03:04 UTC' of an ISO date (as given when it is not one)."""
    if len(iso) >= 16 and iso[10] == "T":
        zone = " UTC" if iso.endswith("+00:00") or iso.endswith("Z") else ""
        return f"{iso[:10]} {iso[11:16]}{zone}"
    return iso
