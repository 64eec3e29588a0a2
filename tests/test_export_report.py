"""The HTML report: its volume table against the CSV, its pictures (valid PNGs of the right
size, orientation letters that match world space), nothing fetched from anywhere, no patient
fields, provenance, the quality panel; the page's path (Service.export with a 3D picture) and
one real CLI run."""

from __future__ import annotations

import asyncio
import base64
import csv
import dataclasses
import io
import re
from html.parser import HTMLParser

import nibabel as nib
import numpy as np
import pytest

from meshseg.cli import main
from meshseg.export.outcome import Outcome
from meshseg.export.provenance import RESEARCH_NOTICE, provenance
from meshseg.export.registry import ExportError, write
from meshseg.export.report import png, slices, view3d
from meshseg.export.tables import write_csv
from meshseg.label_image import label_image
from meshseg.models.index import read_index
from meshseg.service import Service
from meshseg.stats import label_stats
from synthetic import affine_from, centred_affine, sphere_image
from test_pipeline import card as pipeline_card
from test_pipeline import nifti_bytes, threshold

CLASSES = [{"index": 0, "name": "background", "color": [0, 0, 0]},
           {"index": 1, "name": "right blob", "color": [255, 0, 0]},
           {"index": 2, "name": "anterior blob", "color": [0, 255, 0]},
           {"index": 3, "name": "superior blob", "color": [0, 0, 255]},
           {"index": 4, "name": "absent <structure>", "color": [255, 255, 0]}]
PROVENANCE_FIELDS = ("meshseg-version", "meshseg-commit", "model-id", "model-title",
                     "model-licence", "onnx-sha256", "provider", "date", "input-name",
                     "input-format", "input-grid", "input-voxel", "label-grid", "report-name")
BLOBS_MM = {1: (40.0, 0.0, 0.0), 2: (0.0, 40.0, 0.0), 3: (0.0, 0.0, 40.0)}


class Report(HTMLParser):
    """What a test reads of a report: pictures, table cells, provenance, sections' text."""

    def __init__(self, text: str):
        super().__init__()
        self.images, self.rows, self.fields, self.testids = [], [], {}, {}
        self._row = self._field = self._testid = None
        self._in_body = False
        self._open = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._open.append(tag)
        if tag == "img":
            self.images.append(attrs)
        if tag == "tbody" and self._testid == "volume-table":
            self._in_body = True
        if tag == "tr" and self._in_body:
            self._row = []
        if tag == "td" and self._row is not None:
            self._row.append("")
        if "data-field" in attrs:
            self._field = attrs["data-field"]
            self.fields[self._field] = ""
        if "data-testid" in attrs and attrs["data-testid"] != "report-figure":
            self._testid = attrs["data-testid"]
            self.testids.setdefault(self._testid, "")

    def handle_endtag(self, tag):
        if tag == "tbody":
            self._in_body = False
        if tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None
        if tag in ("dd",):
            self._field = None

    def handle_data(self, data):
        if self._row is not None and self._row:
            self._row[-1] += data
        if self._field:
            self.fields[self._field] += data
        if self._testid:
            self.testids[self._testid] += data


def blob_labels(shape=(60, 56, 50), affine=None):
    """Labels 1, 2, 3: small balls 40 mm right, anterior and superior of the world origin."""
    affine = centred_affine(shape) if affine is None else affine
    ijk = np.indices(shape).reshape(3, -1)
    xyz = affine[:3, :3] @ ijk + affine[:3, 3:4]
    labels = np.zeros(shape, np.uint8)
    for value, centre in BLOBS_MM.items():
        inside = np.linalg.norm(xyz - np.reshape(centre, (3, 1)), axis=0) <= 9
        labels[inside.reshape(shape)] = value
    return labels


def make_outcome(labels, affine, *, scan=True, warnings=(), notices=(), uncertainty=None,
                 name="sub-01_T1w.nii.gz", header_junk=False):
    data = np.random.default_rng(0).normal(100, 10, labels.shape).astype(np.float32)
    image = nib.Nifti1Image(data, affine)
    if header_junk:  # what a converter may have left in the header: never reported
        image.header["descrip"] = b"PATIENT^JOHN DOE 1961-02-03"
        image.header["aux_file"] = b"MRN 0012345"
        image.header["db_name"] = b"ST JUDE"
    card = dataclasses.replace(pipeline_card("blobs"), classes=CLASSES, task="test")
    info = {"name": name, "shape": list(labels.shape),
            "voxel_size_mm": nib.affines.voxel_sizes(affine).tolist(),
            "orientation": "".join(nib.aff2axcodes(affine)), "source_format": "nifti1"}
    return Outcome(labels=labels, image=label_image(labels, image), scan=image if scan else None,
                   card=card, rows=label_stats(labels, affine, card.classes), name=name,
                   warnings=list(warnings), notices=list(notices),
                   provenance=provenance(card, info, {"provider": "onnxruntime-cpu",
                                                      "threads": 2, "commit": "abc123"}),
                   uncertainty=uncertainty)


def pictures(report: Report) -> list[np.ndarray]:
    out = []
    for image in report.images:
        prefix = "data:image/png;base64,"
        assert image["src"].startswith(prefix)
        out.append(png.decode(base64.b64decode(image["src"][len(prefix):])))
    return out


def assert_self_contained(text: str) -> None:
    for pattern in (r"https?:", r"\b(?:src|href)\s*=\s*(?![\"']?data:)", r"url\(", r"@import",
                    r"<script", r"<link", r"<iframe", r"<object"):
        assert not re.search(pattern, text, re.IGNORECASE), pattern


# --- the document --------------------------------------------------------------------------


@pytest.mark.parametrize("with_scan", [True, False])
def test_table_equals_the_csv_and_pictures_are_pngs_of_the_slices_size(with_scan):
    affine = affine_from((1.2, 0.9, 2.0), "PSR", rotation_deg=(8, -5, 12))
    labels = blob_labels((70, 80, 40), affine)
    outcome = make_outcome(labels, affine, scan=with_scan)
    text = write("report", outcome, "r.html").decode("utf-8")
    report = Report(text)
    csv_rows = [list(row.values()) for row in csv.DictReader(io.StringIO(
        write_csv(outcome).decode()))]
    assert report.rows == csv_rows
    assert [row[2] for row in csv_rows][:3] != ["0", "0", "0"]  # the blobs are there
    shown = pictures(report)
    assert len(shown) == 4
    expected = slices.orthogonal_slices(labels, outcome.affine, outcome.scan, CLASSES)
    for picture, cut in zip(shown[:3], expected, strict=True):
        assert picture.shape == cut.pixels.shape
        assert np.array_equal(picture, cut.pixels)
        assert picture.shape[0] == picture.shape[1] <= slices.MAX_PIXELS
    assert shown[3].shape == (view3d.SIZE, view3d.SIZE, 3)
    assert shown[3].any(), "the 3D view is blank"
    assert_self_contained(text)
    assert report.testids["research-notice"].startswith(RESEARCH_NOTICE)
    legend = report.testids["legend"]
    assert "right blob" in legend and "absent" not in legend  # only labels present
    if not with_scan:
        assert "labels alone" in text


def test_provenance_fields_and_no_patient_fields():
    affine = centred_affine((40, 40, 30), (1.0, 1.0, 1.5), "LIA")
    labels = blob_labels((40, 40, 30), affine)
    outcome = make_outcome(labels, affine, header_junk=True, name="scan <b>&amp;.nii.gz")
    text = write("report", outcome, "scan_blobs_report.html").decode()
    report = Report(text)
    assert set(PROVENANCE_FIELDS) <= set(report.fields)
    for field in PROVENANCE_FIELDS:
        assert report.fields[field].strip() not in ("", "unknown"), field
    assert report.fields["model-id"] == "blobs"
    assert report.fields["onnx-sha256"] == "0" * 64
    assert report.fields["meshseg-commit"] == "abc123"
    assert report.fields["provider"] == "onnxruntime-cpu, 2 threads"
    assert report.fields["input-name"] == "scan <b>&amp;.nii.gz"  # as given, escaped in HTML
    assert "<b>&amp;" not in text and "scan &lt;b&gt;&amp;amp;.nii.gz" in text
    assert report.fields["input-grid"].startswith("40 × 40 × 30 voxels, LIA")
    assert report.fields["report-name"] == "scan_blobs_report.html"
    words = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", text).upper()
    for junk in ("JOHN", "DOE", "1961", "MRN", "0012345", "JUDE", "PATIENT^"):
        assert junk not in words, junk


def test_quality_panel_lists_warnings_notices_and_confidence():
    affine = centred_affine((40, 40, 30))
    labels = blob_labels((40, 40, 30), affine)
    quiet = Report(write("report", make_outcome(labels, affine), "r.html").decode())
    assert "nothing to warn about" in quiet.testids["quality"]
    assert "None: the scan raised no remark" in quiet.testids["quality-notices"]
    assert "Not available" in quiet.testids["quality-confidence"]
    loud = make_outcome(labels, affine, warnings=["The brain volume is 12 mL <odd>."],
                        notices=["Slices are 6 mm apart."],
                        uncertainty={"lowConfidenceShare": 0.01234, "below": 0.5})
    text = write("report", loud, "r.html").decode()
    report = Report(text)
    assert "1 warning" in report.testids["quality"]
    assert "The brain volume is 12 mL <odd>." in report.testids["quality-warnings"]
    assert "&lt;odd&gt;" in text
    assert "Slices are 6 mm apart." in report.testids["quality-notices"]
    assert "1.23 %" in report.testids["quality-confidence"]
    assert "below 0.5" in report.testids["quality-confidence"]
    # An option beats the outcome's own (the page passes the result's).
    other = write("report", loud, "r.html", uncertainty={"lowConfidenceShare": 0.5, "below": 0.4})
    assert "50.00 %" in Report(other.decode()).testids["quality-confidence"]


def test_an_empty_result_and_a_bad_3d_picture():
    affine = centred_affine((20, 20, 20))
    empty = make_outcome(np.zeros((20, 20, 20), np.uint8), affine)
    report = Report(write("report", empty, "r.html").decode())
    assert len(pictures(report)) == 4
    assert "legend" not in report.testids
    with pytest.raises(ExportError, match="not a PNG"):
        write("report", empty, "r.html", view3d=b"GIF89a")


@pytest.mark.parametrize("view", [bytes, bytearray, memoryview])
def test_a_given_3d_picture_is_embedded_as_it_is(view):
    affine = centred_affine((30, 30, 30))
    picture = png.encode(np.full((30, 50, 4), 77, np.uint8))
    text = write("report", make_outcome(blob_labels((30, 30, 30), affine), affine), "r.html",
                 view3d=view(picture), unknown_option=1).decode()
    src = Report(text).images[3]["src"]
    assert base64.b64decode(src.split(",", 1)[1]) == picture
    assert "the page's viewer" in text


# --- pictures: world orientation ----------------------------------------------------------


def _centre_of(picture: np.ndarray, channel: int) -> tuple[float, float]:
    """(row, column) of the pixels where `channel` is the brightest and bright: a blob."""
    others = [c for c in range(3) if c != channel]
    mask = (picture[..., channel] > 200) & (picture[..., others].max(axis=-1) < 80)
    assert mask.any(), f"no pixels of colour channel {channel}"
    rows, cols = np.nonzero(mask)
    return rows.mean() / picture.shape[0], cols.mean() / picture.shape[1]


@pytest.mark.parametrize("axes, rotation", [("RAS", (0, 0, 0)), ("LPI", (0, 0, 0)),
                                            ("PSR", (0, 0, 0)), ("SLA", (10, -12, 15))])
def test_slices_put_each_blob_by_its_letter(axes, rotation):
    """A ball right of the centre shows by the R, anterior by the A, superior by the S,
    whatever the voxel order or obliquity (the labels alone, so colours are exact)."""
    shape = (64, 60, 56)
    affine = centred_affine(shape, (1.5, 1.5, 1.5), axes, rotation)
    labels = blob_labels(shape, affine)
    colours = {i: CLASSES[i]["color"] for i in range(1, 4)}
    for centre, letter_of in (((40, 0, 0), {"axial": ("right", 0), "coronal": ("right", 0)}),
                              ((0, 40, 0), {"axial": ("top", 1), "sagittal": ("right", 1)}),
                              ((0, 0, 40), {"coronal": ("top", 2), "sagittal": ("top", 2)})):
        cuts = {c.plane: c for c in slices.orthogonal_slices(labels, affine, None, colours,
                                                             centre=centre)}
        for plane, (side, channel) in letter_of.items():
            cut = cuts[plane]
            row, col = _centre_of(cut.pixels, channel)
            found = {"right": col > 0.6, "top": row < 0.4}[side]
            assert found, (plane, side, row, col)
            assert cut.letters[side] == {"right": {0: "R", 1: "A"}, "top": {1: "A", 2: "S"}}[
                side][channel], cut.letters


def test_radiological_convention_puts_the_patient_s_right_on_the_left():
    shape = (48, 48, 48)
    affine = centred_affine(shape, (1.5, 1.5, 1.5), "LIA")
    labels = blob_labels(shape, affine)
    axial = slices.orthogonal_slices(labels, affine, None, {1: (255, 0, 0)}, centre=(40, 0, 0),
                                     radiological=True)[0]
    assert axial.letters == {"top": "A", "bottom": "P", "left": "R", "right": "L"}
    assert _centre_of(axial.pixels, 0)[1] < 0.4


def test_slices_pass_through_the_labels_centre_and_window_the_scan():
    affine = centred_affine((50, 50, 50), centre_mm=(10, -20, 5))
    scan = sphere_image((50, 50, 50), affine, centre_mm=(10, -20, 5), radius_mm=20)
    labels = np.zeros((50, 50, 50), np.uint8)
    labels[30:34, 20:24, 10:14] = 1
    centre = slices.label_centre(labels, affine)
    assert np.allclose(centre, affine[:3, :3] @ [31.5, 21.5, 11.5] + affine[:3, 3])
    cuts = slices.orthogonal_slices(labels, affine, scan, {1: (255, 0, 0)})
    assert [c.position_mm for c in cuts] == [round(centre[2], 1), round(centre[1], 1),
                                             round(centre[0], 1)]
    for cut in cuts:
        assert cut.visible == (1,)
        grey = cut.pixels[cut.pixels.shape[0] // 2]  # a row through the sphere
        assert grey.max() == 255 and grey.min() == 0  # windowed: white sphere, black outside
    assert slices.robust_window(np.zeros((3, 3, 3))) == (0.0, 1.0)


def test_view3d_draws_the_labels_in_their_colours():
    affine = centred_affine((110, 100, 50), (1.0, 1.0, 2.0), "PSR", (5, 10, 0))
    labels = blob_labels((110, 100, 50), affine)
    picture = view3d.render(labels, affine, CLASSES, size=120)
    assert picture.shape == (120, 120, 3)
    for channel in range(3):  # red, green and blue balls all visible from left-front-above
        others = [c for c in range(3) if c != channel]
        assert ((picture[..., channel] > 60) & (picture[..., others].max(axis=-1) < 20)).sum() > 20
    assert not view3d.render(np.zeros((5, 5, 5), np.uint8), np.eye(4), size=8).any()


# --- the page's path: Service.export, options from JS --------------------------------------


def test_service_export_writes_the_report_with_the_page_s_3d_picture():
    service = Service({"sphere": pipeline_card().to_dict()})
    affine = affine_from((1.1, 1.0, 1.4), "LPS", rotation_deg=(0, 8, 0), origin=(30, 40, -25))
    ball = sphere_image((64, 70, 50), affine, centre_mm=(0, 0, 5), radius_mm=16, noise=2.0)
    scan = service.call("open", {"data": nifti_bytes(ball), "name": "ball.nii.gz"})["value"]["scan"]
    done = asyncio.run(service.segment(scan, "sphere", None, threshold))
    assert done["ok"], done
    result = done["value"]
    labels = np.asanyarray(nib.Nifti1Image.from_bytes(result["labelsNifti"]).dataobj)
    picture = png.encode(np.full((20, 30, 3), 128, np.uint8))
    answer = service.call("export", {
        "scan": scan, "labels": memoryview(labels.tobytes(order="F")), "model": "sphere",
        "format": "report", "options": {"view3d": memoryview(picture),
                                        "uncertainty": {"lowConfidenceShare": 0.25, "below": 0.5}},
        "warnings": ["a warning"], "notices": [],
        "runtime": {"provider": "wasm", "threads": 4, "commit": "feedbeef"}})
    assert answer["ok"], answer
    file = answer["value"]
    assert file["name"] == "ball_sphere_report.html" and file["mime"] == "text/html"
    text = file["data"].decode()
    report = Report(text)
    measured = service.call("measure", {"scan": scan, "labels": labels.tobytes(order="F"),
                                        "model": "sphere"})["value"]
    assert report.rows == [list(r.values()) for r in csv.DictReader(io.StringIO(
        measured["statsCsv"]))]
    assert report.rows == [list(r.values()) for r in csv.DictReader(io.StringIO(
        result["statsCsv"]))]
    assert base64.b64decode(report.images[3]["src"].split(",", 1)[1]) == picture
    assert report.fields["provider"] == "wasm, 4 threads"
    assert report.fields["meshseg-commit"] == "feedbeef"
    assert report.fields["input-name"] == "ball.nii.gz"
    assert "a warning" in report.testids["quality-warnings"]
    assert "25.00 %" in report.testids["quality-confidence"]
    assert_self_contained(text)


# --- one real run of the command line -----------------------------------------------------


def test_cli_report_of_a_real_scan(data_dir, models_dir, tmp_path, capsys):
    scan = data_dir / "nifti_space" / "PSR.nii.gz"
    report_file, csv_file = tmp_path / "r.html", tmp_path / "s.csv"
    code = main(["segment", str(scan), "-m", "model5_gw_ae", "-o", str(tmp_path / "x.nii.gz"),
                 "--report", str(report_file), "--stats", str(csv_file),
                 "--models", str(models_dir), "--threads", "2", "-q"])
    assert code == 0, capsys.readouterr().err
    text = report_file.read_text(encoding="utf-8")
    report = Report(text)
    assert report.rows == [list(r.values()) for r in csv.DictReader(io.StringIO(
        csv_file.read_text()))]
    assert [row[1] for row in report.rows] == ["White Matter", "Grey Matter"]
    shown = pictures(report)
    assert len(shown) == 4 and all(p.any() for p in shown)
    card = {c.id: c for c in read_index(models_dir / "index.json")}["model5_gw_ae"]
    assert report.fields["model-id"] == "model5_gw_ae"
    assert report.fields["onnx-sha256"] == card.onnx["sha256"]
    assert report.fields["model-licence"] == card.licence
    assert report.fields["input-name"] == "PSR.nii.gz"
    assert report.fields["input-grid"].startswith("79 × 67 × 64 voxels, PSR")
    assert report.fields["provider"].endswith("2 threads")
    assert re.search(r"\d+\.\d\d %", report.testids["quality-confidence"])  # a confidence map
    assert_self_contained(text)
