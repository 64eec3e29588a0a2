"""FreeSurfer aseg.stats: the writer against the CSV it must agree with, the reader that
refuses broken files, FreeSurfer's codes for every model card's class names, the
segment command's repeatable --stats, and the batch's per-scan .stats and report."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
import zipfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from batch_helpers import phantom, threshold_models
from meshseg.cli import main
from meshseg.export.freesurfer_lut import CODES, OWN_ID_BASE, _key, lookup, seg_ids
from meshseg.export.freesurfer_stats import read_stats, write
from meshseg.export.outcome import Outcome
from meshseg.export.provenance import provenance
from meshseg.export.registry import ExportError
from meshseg.export.tables import write_csv
from meshseg.label_image import label_image
from meshseg.models.index import read_index
from meshseg.stats import label_stats
from synthetic import affine_from
from test_pipeline import card as pipeline_card

NAMES = ["background", "Left-Hippocampus", "Hippocampus", "Left-Thalamus-Proper*", "Grey Matter",
         "Corpus callosum", "absent structure"]
CLASSES = [{"index": i, "name": name, "color": [i, i, i]} for i, name in enumerate(NAMES)]


def _outcome(task="subcortical", seed=0):
    """Labels 1-5 and an unknown 9 on an oblique 0.9 x 1.1 x 2.7 mm grid."""
    rng = np.random.default_rng(seed)
    labels = rng.choice([0, 0, 1, 2, 3, 4, 5, 9], size=(23, 19, 11)).astype(np.uint8)
    scan = nib.Nifti1Image(np.zeros(labels.shape, np.float32),
                           affine_from((0.9, 1.1, 2.7), "PSR", rotation_deg=(10, -7, 22)))
    card = dataclasses.replace(pipeline_card("fsnames"), classes=CLASSES, task=task)
    rows = label_stats(labels, scan.affine, card.classes)
    return Outcome(labels=labels, image=label_image(labels, scan), scan=scan, card=card,
                   rows=rows, name="sub-01_T1w.nii.gz",
                   provenance=provenance(card, {"name": "sub-01_T1w.nii.gz"}))


def _csv_rows(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode())))


def assert_stats_match_csv(stats_text: str, csv_rows: list[dict], voxel_mm3: float) -> dict:
    """Row for row: SegId and StructName by the LUT rule, NVoxels = voxels, Volume_mm3 =
    voxels x voxel volume (to 0.001 mm^3) = ml x 1000 (to the CSV's rounding)."""
    parsed = read_stats(stats_text)
    assert parsed["columns"] == ["Index", "SegId", "NVoxels", "Volume_mm3", "StructName"]
    rows = parsed["rows"]
    assert len(rows) == len(csv_rows) > 0
    expected = seg_ids([(int(r["label"]), r["name"]) for r in csv_rows])
    for row, want, (seg_id, struct) in zip(rows, csv_rows, expected, strict=True):
        assert (row["SegId"], row["StructName"]) == (seg_id, struct), (row, want)
        assert row["NVoxels"] == int(want["voxels"]), (row, want)
        assert abs(row["Volume_mm3"] - int(want["voxels"]) * voxel_mm3) <= 0.0005 + 1e-9
        assert abs(row["Volume_mm3"] / 1000 - float(want["ml"])) <= 0.0005 + 1e-9, (row, want)
    assert float(parsed["headers"]["VoxelVolume_mm3"]) == pytest.approx(voxel_mm3, rel=1e-9)
    total = parsed["measures"]["TotalLabelledVol"]
    assert total["units"] == "mm^3"
    assert total["value"] == pytest.approx(sum(r["Volume_mm3"] for r in rows),
                                           abs=0.001 * len(rows))
    return parsed


def freesurfer_parse(text: str) -> tuple[dict, dict]:
    """asegstats2table's reading (fsutils AsegStatsParser): every line without '#' is a row,
    SegId is field 2, StructName field 5, the volume field 4; a '# Measure' line's value is
    its 4th comma-separated field. Returns ({SegId: (name, volume)}, {short: value})."""
    table, measures = {}, {}
    for line in text.splitlines(keepends=True):
        if line.rfind("#") == -1:
            fields = line.split()
            assert fields[1] not in table, f"SegId {fields[1]} twice"
            table[fields[1]] = (fields[4], float(fields[3]))
        elif line.startswith("# Measure "):
            parts = line.split(",")
            measures[parts[1].strip()] = float(parts[3])
    return table, measures


def test_stats_rows_equal_the_csv_rows_on_an_oblique_anisotropic_grid():
    outcome = _outcome()
    text = write(outcome, name="sub-01_T1w_fsnames_aseg.stats").decode()
    voxel_mm3 = abs(np.linalg.det(outcome.affine[:3, :3]))
    assert voxel_mm3 == pytest.approx(0.9 * 1.1 * 2.7)
    parsed = assert_stats_match_csv(text, _csv_rows(write_csv(outcome)), voxel_mm3)
    by_label = {r["label"]: s for r, s in zip(outcome.rows, parsed["rows"], strict=True)}
    assert (by_label[1]["SegId"], by_label[1]["StructName"]) == (17, "Left-Hippocampus")
    assert (by_label[2]["SegId"], by_label[2]["StructName"]) == (10002, "Hippocampus")
    assert (by_label[3]["SegId"], by_label[3]["StructName"]) == (10, "Left-Thalamus")
    assert (by_label[4]["SegId"], by_label[4]["StructName"]) == (10004, "Grey-Matter")
    assert (by_label[5]["SegId"], by_label[5]["StructName"]) == (192, "Corpus_Callosum")
    assert (by_label[6]["SegId"], by_label[6]["NVoxels"]) == (10006, 0)
    assert (by_label[9]["SegId"], by_label[9]["StructName"]) == (10009, "unknown-label-9")
    assert by_label[9]["NVoxels"] == int((outcome.labels == 9).sum()) > 0
    headers = parsed["headers"]
    assert headers["Title"] == "Segmentation Statistics"
    assert headers["generating_program"] == "meshseg"
    assert headers["anatomy_type"] == "volume" and headers["subjectname"] == "sub-01_T1w"
    assert headers["NTableCols"] == "5" and headers["NRows"] == str(len(outcome.rows))
    assert "MaskVol" not in parsed["measures"]
    for private in ("user", "hostname", "machine", "sysname"):
        assert private not in headers


def test_freesurfer_s_own_parsing_rules_read_the_same_table():
    outcome = _outcome(seed=3)
    text = write(outcome, name="x.stats").decode()
    table, measures = freesurfer_parse(text)
    ours = read_stats(text)
    assert table == {str(r["SegId"]): (r["StructName"], r["Volume_mm3"]) for r in ours["rows"]}
    assert measures == {k: v["value"] for k, v in ours["measures"].items()}
    assert len(table) == len(outcome.rows)


def test_a_brain_mask_model_states_the_mask_volume():
    outcome = _outcome(task="skull strip")
    parsed = read_stats(write(outcome, name="m.stats").decode())
    mask, total = parsed["measures"]["MaskVol"], parsed["measures"]["TotalLabelledVol"]
    assert (mask["name"], mask["description"]) == ("Mask", "Mask Volume")
    expected = int((outcome.labels > 0).sum()) * abs(np.linalg.det(outcome.affine[:3, :3]))
    assert mask["value"] == total["value"] == pytest.approx(expected, abs=1e-5)


def test_the_registry_writes_stats_and_names_the_segmentation_file():
    from meshseg.export.registry import write as registry_write

    data = registry_write("stats", _outcome(), "a.stats", seg_file="a_labels.nii.gz")
    assert read_stats(data.decode())["headers"]["SegVolFile"] == "a_labels.nii.gz"


BROKEN = {
    "a row with a field missing": lambda s: re.sub(r"(\n +1 +\d+ +\d+) +\S+", r"\1", s, count=1),
    "a blank line in the table": lambda s: s.replace("\n  2 ", "\n\n  2 ", 1),
    "NRows that disagree": lambda s: re.sub(r"# NRows \d+", "# NRows 99", s),
    "NTableCols that disagree": lambda s: s.replace("# NTableCols 5", "# NTableCols 10"),
    "a Measure without its units": lambda s: s.replace(", mm^3\n", "\n", 1),
    "a Measure without a number": lambda s: re.sub(r"(TotalLabelledVol, [^,]+,) [\d.]+", r"\1 x",
                                                   s),
    "rows out of order": lambda s: s.replace("\n  1 ", "\n  7 ", 1),
    "a volume that is no number": lambda s: re.sub(r"(\n +1 +\d+ +\d+ +)\S+", r"\1twelve", s,
                                                   count=1),
    "no ColHeaders": lambda s: s.replace("# ColHeaders", "# Headers"),
}


@pytest.mark.parametrize("what", sorted(BROKEN))
def test_the_reader_refuses_a_broken_file_by_line(what):
    text = write(_outcome(), name="x.stats").decode()
    read_stats(text)
    broken = BROKEN[what](text)
    assert broken != text, what
    with pytest.raises(ExportError, match="aseg.stats"):
        read_stats(broken)


def test_the_reader_reads_freesurfer_s_ten_column_layout():
    text = ("# Title Segmentation Statistics \n# \n# generating_program mri_segstats\n"
            "# Measure Mask, MaskVol, Mask Volume, 1601112.000000, mm^3\n"
            "# NRows 2 \n# NTableCols 10 \n# ColHeaders  Index SegId NVoxels Volume_mm3 "
            "StructName normMean normStdDev normMin normMax normRange  \n"
            "  1   4     6563     6285.6  Left-Lateral-Ventricle  31.9  12.5  8.0  86.0  78.0 \n"
            "  2  17     4200     4143.1  Left-Hippocampus        79.3   9.8 30.0 112.0  82.0 \n")
    parsed = read_stats(text)
    assert parsed["measures"]["MaskVol"]["value"] == 1601112.0
    assert [(r["SegId"], r["StructName"], r["Volume_mm3"], r["normMax"]) for r in parsed["rows"]] \
        == [(4, "Left-Lateral-Ventricle", 6285.6, 86.0), (17, "Left-Hippocampus", 4143.1, 112.0)]


def test_the_lut_table_matches_freesurfer_s_codes_and_never_collides():
    # FreeSurferColorLUT.txt (FreeSurfer 7): spot checks of each block
    for name, code in {"Left-Cerebral-White-Matter": 2, "Left-Thalamus": 10, "Brain-Stem": 16,
                       "CSF": 24, "Left-VentralDC": 28, "Right-Thalamus": 49,
                       "Right-Pallidum": 52, "Right-Accumbens-area": 58, "Lesion": 99,
                       "CC_Anterior": 255, "ctx-lh-bankssts": 1001, "ctx-lh-insula": 1035,
                       "ctx-rh-corpuscallosum": 2004, "ctx-rh-transversetemporal": 2034}.items():
        assert lookup(name) == (code, name)
    assert len({_key(name) for name in CODES.values()}) == len(CODES)
    assert max(CODES) < OWN_ID_BASE and OWN_ID_BASE + 255 < 11100  # 11100: ctx_lh_Unknown
    assert lookup("left hippocampus") == (17, "Left-Hippocampus")
    assert lookup("Left-Thalamus-Proper") == (10, "Left-Thalamus")
    assert lookup("Thalamus-Proper*") is None and lookup("Amygdala") is None
    assert seg_ids([(1, "Left-Thalamus"), (2, "Left-Thalamus-Proper*")]) == \
        [(10, "Left-Thalamus"), (10002, "Left-Thalamus-Proper*")]


def test_every_model_card_class_gets_a_unique_id_and_freesurfer_names_their_codes(models_dir):
    cards = {card.id: card for card in read_index(Path(models_dir) / "index.json")}
    mapped = {}
    for card in cards.values():
        labels = [(c["index"], c["name"]) for c in card.classes if c["index"] != 0]
        ids = seg_ids(labels)
        assert len({i for i, _ in ids}) == len(ids), card.id
        for (label, name), (seg_id, struct) in zip(labels, ids, strict=True):
            assert " " not in struct and "#" not in struct
            if seg_id >= OWN_ID_BASE:
                assert (seg_id, lookup(name)) == (OWN_ID_BASE + label, None), (card.id, name)
        mapped[card.id] = {name: seg_id for (_, name), (seg_id, _) in zip(labels, ids,
                                                                           strict=True)
                           if seg_id < OWN_ID_BASE}
    assert len(mapped["model21_104class"]) == 103  # every class of the atlas
    assert mapped["model21_104class"]["ctx-lh-bankssts"] == 1001
    assert mapped["model21_104class"]["Left-Thalamus-Proper*"] == 10
    assert mapped["model21_104class"]["Right-Inf-Lat-Vent"] == 44
    assert mapped["model21_104class"]["CC_Mid_Anterior"] == 254
    assert mapped["model18cls"] == {"3rd-Ventricle": 14, "4th-Ventricle": 15, "Brain-Stem": 16}
    assert mapped["model30chan18cls"] == mapped["model18cls"]
    assert mapped["model30chan50cls"] == {"Brain-Stem": 16, "CSF": 24, "Corpus callosum": 192}
    assert mapped["meshnet26_stroke"] == {"lesion": 99}
    for model in ("mindgrab", "model5_gw_ae", "model11_gw_ae", "model20chan3cls"):
        assert mapped[model] == {}, model


# --- the segment command: --stats repeatable, one real run --------------------------------


def test_segment_writes_csv_json_and_stats_that_agree(data_dir, models_dir, tmp_path, capsys):
    scan = data_dir / "avg152T1_RL_nifti.nii.gz"
    out = {ext: tmp_path / f"a.{ext}" for ext in ("csv", "json", "stats")}
    code = main(["segment", str(scan), "-m", "model5_gw_ae", "-o", str(tmp_path / "a.nii.gz"),
                 "--models", str(models_dir), "--threads", "2", "-q",
                 *[arg for path in out.values() for arg in ("--stats", str(path))]])
    assert code == 0, capsys.readouterr().err
    csv_rows = list(csv.DictReader(io.StringIO(out["csv"].read_text())))
    doc = json.loads(out["json"].read_text())
    assert [{k: str(v) for k, v in row.items()} for row in doc["labels"]] == csv_rows
    voxel_mm3 = abs(np.linalg.det(nib.load(tmp_path / "a.nii.gz").affine[:3, :3]))
    assert voxel_mm3 == pytest.approx(8.0)  # avg152T1: 2 mm
    parsed = assert_stats_match_csv(out["stats"].read_text(), csv_rows, voxel_mm3)
    assert [r["StructName"] for r in parsed["rows"]] == ["White-Matter", "Grey-Matter"]
    assert parsed["measures"]["TotalLabelledVol"]["value"] / 1000 == \
        pytest.approx(doc["total_ml"], abs=0.001)
    assert sum(r["NVoxels"] for r in parsed["rows"]) > 50_000  # a brain at 8 mm^3 a voxel
    assert parsed["headers"]["InVolFile"] == scan.name
    assert parsed["headers"]["cvs_version"].startswith("meshseg ")


def test_segment_refuses_an_unknown_stats_extension_before_any_work(data_dir, models_dir,
                                                                    tmp_path, capsys):
    label_file = tmp_path / "a.nii.gz"
    code = main(["segment", str(data_dir / "avg152T1_RL_nifti.nii.gz"), "-m", "model5_gw_ae",
                 "-o", str(label_file), "--models", str(models_dir),
                 "--stats", str(tmp_path / "a.csv"), "--stats", str(tmp_path / "a.txt")])
    err = capsys.readouterr().err
    assert code == 2
    assert f"meshseg: error: {tmp_path / 'a.txt'}: unknown output type; use .csv, .json or " \
           ".stats." in err
    assert "inference" not in err and "load:" not in err
    assert not label_file.exists() and not (tmp_path / "a.csv").exists()


# --- the batch: every scan's aseg.stats and report, in the folder, manifest and ZIP -----------


@pytest.fixture()
def batch_run(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for seed in range(2):
        nib.save(phantom(seed), inputs / f"s{seed}.nii.gz")
    models = threshold_models(tmp_path / "models")
    out = tmp_path / "out"

    def run(*extra):
        return main(["batch", str(inputs), "-m", "sphere", "--models", str(models), "--out",
                     str(out), "--scheduler", "serial", "-q", *extra])
    return {"run": run, "out": out, "zip": tmp_path / "out.zip"}


def test_batch_writes_each_scan_s_stats_and_report_lists_and_zips_them(batch_run):
    assert batch_run["run"]("--zip") == 0
    out = batch_run["out"]
    manifest = json.loads((out / "manifest.json").read_text())
    archive = zipfile.ZipFile(batch_run["zip"])
    assert [e["name"] for e in manifest["items"]] == ["s0", "s1"]
    for entry in manifest["items"]:
        name = entry["name"]
        assert entry["outputs"] == {"mask": f"{name}_sphere_labels.nii.gz",
                                    "stats": f"{name}_sphere_stats.csv",
                                    "aseg": f"{name}_sphere_aseg.stats",
                                    "report": f"{name}_sphere_report.html"}
        for file_name in entry["outputs"].values():
            assert archive.read(file_name) == (out / file_name).read_bytes(), file_name
        csv_rows = list(csv.DictReader(io.StringIO((out / entry["outputs"]["stats"]).read_text())))
        voxel_mm3 = abs(np.linalg.det(phantom().affine[:3, :3]))
        stats_text = (out / entry["outputs"]["aseg"]).read_text()
        parsed = assert_stats_match_csv(stats_text, csv_rows, voxel_mm3)
        assert parsed["headers"]["SegVolFile"] == entry["outputs"]["mask"]
        assert parsed["rows"][0]["NVoxels"] > 1000
        report = (out / entry["outputs"]["report"]).read_text()
        assert report.lstrip().lower().startswith("<!doctype html") and len(report) > 10_000
        for row in csv_rows:  # the report's volume table shows the CSV's numbers
            assert f">{row['voxels']}<" in report and f">{row['ml']}<" in report, row


def test_batch_resumes_and_reruns_an_item_missing_an_output(batch_run):
    out = batch_run["out"]
    assert batch_run["run"]() == 0
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("*_labels.nii.gz")}
    assert batch_run["run"]() == 0
    assert json.loads((out / "manifest.json").read_text())["summary"]["skipped"] == 2
    (out / "s1_sphere_report.html").unlink()
    manifest = json.loads((out / "manifest.json").read_text())
    old = next(e for e in manifest["items"] if e["name"] == "s0")
    del old["outputs"]["aseg"]  # an entry written before the batch wrote aseg.stats
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert batch_run["run"]() == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["summary"]["skipped"] == 0
    assert (out / "s1_sphere_report.html").is_file()
    assert all(len(e["outputs"]) == 4 for e in manifest["items"])
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*_labels.nii.gz")} != stamps


def test_the_page_batch_checker_passes_the_cli_s_zip_and_catches_a_wrong_stats_row(batch_run,
                                                                                   tmp_path):
    """tests/batch_site.py checks the page's batch ZIP (tests/e2e/batch.test.mjs); the CLI's ZIP
    has the same layout, so the checker must pass it, and fail it with one volume changed."""
    from batch_site import check_archive

    assert batch_run["run"]("--zip") == 0
    checked = check_archive(batch_run["zip"])
    assert checked["exportProblems"] == [] and len(checked["masks"]) == 2
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(batch_run["zip"]) as source, zipfile.ZipFile(tampered, "w") as out:
        for name in source.namelist():
            data = source.read(name)
            if name == "s1_sphere_aseg.stats":
                data = re.sub(rb"(\n +1 +\d+ +)(\d+)", lambda m: m[1] + str(int(m[2]) + 1).encode(),
                              data, count=1)
            out.writestr(name, data)
    problems = check_archive(tampered)["exportProblems"]
    assert len(problems) == 1 and problems[0].startswith("s1: .stats row"), problems
