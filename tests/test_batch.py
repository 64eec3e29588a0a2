"""meshseg batch: inputs (files, folders, ZIP of a DICOM series, a bad file), serial vs
Dask LocalCluster (byte-identical masks), resume, manifest, volumes.csv, exit codes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nibabel as nib
import pytest

from batch_helpers import phantom, threshold_models, write_classic
from meshseg.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def batch_inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch")
    inputs = root / "in"
    (inputs / "more").mkdir(parents=True)
    for seed, where in ((0, "a.nii.gz"), (1, "b.nii.gz"), (2, "more/c.nii.gz")):
        nib.save(phantom(seed), inputs / where)
    (inputs / "more" / "notes.nii.gz").write_bytes(b"patient,age\nA,42\n")
    pytest.importorskip("pydicom")
    write_classic(phantom(3), root / "series" / "study" / "T1", description="zipped T1", number=4)
    with zipfile.ZipFile(root / "dicom.zip", "w") as archive:
        for path in sorted((root / "series").rglob("*.dcm")):
            archive.write(path, path.relative_to(root / "series"))
    return {"inputs": [inputs, root / "dicom.zip"], "models": threshold_models(root / "models"),
            "root": root}


def run_cli(batch_inputs, out, *extra):
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "meshseg", "batch", *map(str, batch_inputs["inputs"]),
         "-m", "sphere", "--models", str(batch_inputs["models"]), "--out", str(out), *extra],
        capture_output=True, text=True, check=False, cwd=ROOT,
        env={"PYTHONPATH": str(ROOT / "py"), "PATH": "/usr/bin:/bin", "HOME": "/tmp"})
    return done, time.perf_counter() - start


def masks(out: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(out.glob("*_labels.nii.gz"))}


def test_serial_and_dask_agree_resume_and_report(batch_inputs):
    pytest.importorskip("distributed")
    root = batch_inputs["root"]
    serial, serial_s = run_cli(batch_inputs, root / "serial", "--scheduler", "serial")
    dask, dask_s = run_cli(batch_inputs, root / "dask", "--scheduler", "local", "--workers", "2",
                           "--threads", "1", "--zip")
    print(f"serial {serial_s:.1f} s, dask local 2x1 {dask_s:.1f} s (process wall time)")
    assert serial.returncode == dask.returncode == 1, (serial.stderr, dask.stderr)
    assert "failed: notes.nii.gz: is a text file" in dask.stderr
    serial_masks, dask_masks = masks(root / "serial"), masks(root / "dask")
    assert sorted(dask_masks) == ["a_sphere_labels.nii.gz", "b_sphere_labels.nii.gz",
                                  "c_sphere_labels.nii.gz", "zipped_T1_4_sphere_labels.nii.gz"]
    assert serial_masks == dask_masks

    manifest = json.loads((root / "dask" / "manifest.json").read_text())
    assert manifest["model"]["id"] == "sphere" and len(manifest["model"]["sha256"]) == 64
    assert manifest["runtime"]["workers"] == 2 and manifest["runtime"]["threads"] == 1
    failed = [e for e in manifest["items"] if e["status"] == "failed"]
    assert [(e["name"], e["input"]) for e in failed] == [("notes", "in/more/notes.nii.gz")]
    assert "is a text file" in failed[0]["error"]
    assert len({e["input_sha256"] for e in manifest["items"]}) == 5
    rss = {e["name"]: e["rss_mb"] for e in manifest["items"]}
    print("worker RSS MB after each item:", json.dumps(rss))

    with open(root / "dask" / "volumes.csv", newline="") as handle:
        volumes = list(csv.DictReader(handle))
    for entry in manifest["items"]:
        if entry["status"] == "failed":
            continue
        stats = list(csv.DictReader(io.StringIO(
            (root / "dask" / entry["outputs"]["stats"]).read_text())))
        rows = [r for r in volumes if r["scan"] == entry["name"]]
        assert [{k: r[k] for k in ("label", "name", "voxels", "ml")} for r in rows] == stats
        assert all(r["model"] == "sphere" for r in rows)
    archive = zipfile.ZipFile(root / "dask.zip")
    assert {"manifest.json", "volumes.csv", *dask_masks} <= set(archive.namelist())

    stamps = {p.name: p.stat().st_mtime_ns for p in (root / "dask").glob("*_labels.nii.gz")}
    again, _ = run_cli(batch_inputs, root / "dask", "--scheduler", "local", "--workers", "2")
    assert again.returncode == 1
    summary = json.loads((root / "dask" / "manifest.json").read_text())["summary"]
    assert summary["skipped"] == 4 and summary["failed"] == 1
    assert stamps == {p.name: p.stat().st_mtime_ns
                      for p in (root / "dask").glob("*_labels.nii.gz")}


def test_worker_memory_stays_flat_across_items(batch_inputs, tmp_path):
    pytest.importorskip("distributed")
    folder = tmp_path / "many"
    folder.mkdir()
    for seed in range(8):
        nib.save(phantom(seed), folder / f"s{seed}.nii.gz")
    done = subprocess.run(
        [sys.executable, "-m", "meshseg", "batch", str(folder), "-m", "sphere", "--models",
         str(batch_inputs["models"]), "--out", str(tmp_path / "out"), "--scheduler", "local",
         "--workers", "1", "-q"], capture_output=True, text=True, check=False, cwd=ROOT,
        env={"PYTHONPATH": str(ROOT / "py"), "PATH": "/usr/bin:/bin", "HOME": "/tmp"})
    assert done.returncode == 0, done.stderr
    items = json.loads((tmp_path / "out" / "manifest.json").read_text())["items"]
    rss = [e["rss_mb"] for e in items]
    print("one worker, RSS MB after each of 8 items:", rss)
    assert max(rss[1:]) - rss[1] < 40


def test_serial_without_dask_says_how_to_get_parallel_runs(batch_inputs, tmp_path, monkeypatch,
                                                          capsys):
    import meshseg.batch.runner as runner

    monkeypatch.setattr(runner, "dask_available", lambda: False)
    a = batch_inputs["inputs"][0] / "a.nii.gz"
    code = main(["batch", str(a), "-m", "sphere", "--models", str(batch_inputs["models"]),
                 "--out", str(tmp_path / "out")])
    assert code == 0
    err = capsys.readouterr().err
    assert "pip install 'meshseg[dask]'" in err and "1 of 1 scans segmented" in err
    code = main(["batch", str(a), "-m", "sphere", "--models", str(batch_inputs["models"]),
                 "--out", str(tmp_path / "out"), "--scheduler", "local"])
    assert code == 2


@pytest.mark.parametrize("extra", [["--scheduler", "carrier-pigeon"], ["--workers", "0"],
                                   ["-m", "nope"]])
def test_usage_errors_exit_2(batch_inputs, tmp_path, extra):
    args = ["batch", str(batch_inputs["inputs"][0]), "-m", "sphere", "--models",
            str(batch_inputs["models"]), "--out", str(tmp_path / "o"), *extra]
    assert main(args) == 2


def test_missing_input_is_a_usage_error(batch_inputs, tmp_path):
    assert main(["batch", str(tmp_path / "nothing-here"), "-m", "sphere", "--models",
                 str(batch_inputs["models"]), "--out", str(tmp_path / "o")]) == 2
