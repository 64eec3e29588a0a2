"""BIDS derivatives: ``meshseg batch BIDS_ROOT --bids --out DIR [--probseg]``.

Layout parsing and names without a model; the CLI on a BIDS dataset of phantoms with the
``sphere`` thresholding model (seconds): names and layout, the tables and sidecars, the
dseg = the batch's mask on the T1w's grid, resume, the ZIP, failures, usage errors, and
bids-validator (npm, offline) with 0 errors; and one real model (model5_gw_ae, with
--probseg) on the shared 2.4 mm head as three T1w images (marked slow).

The validator: the npm package bids-validator 1.15 (tests/bids_validate.mjs). Its CLI is
the legacy validator, which has no derivative rules (every dseg is NOT_INCLUDED in a
DatasetType "derivative" dataset) and skips <raw>/derivatives/; the same package ships the
schema validator (bids-validator 2's code and schema), which checks the derivative's
names, entities, sidecars and tables. The derivative is validated with the schema
validator (0 errors) and the source dataset with the derivative nested as
<raw>/derivatives/meshseg with the CLI (0 errors).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from batch_helpers import phantom, threshold_models
from meshseg.export.bids import derivatives, layout
from meshseg.export.registry import ExportError

ROOT = Path(__file__).resolve().parents[1]
VALIDATOR = ROOT / "tests" / "bids_validate.mjs"
SPHERE_T1W = {  # path in the dataset -> phantom seed
    "sub-01/ses-1/anat/sub-01_ses-1_T1w.nii.gz": 0,
    "sub-01/ses-2/anat/sub-01_ses-2_T1w.nii.gz": 1,
    "sub-02/anat/sub-02_acq-fast_run-1_T1w.nii.gz": 2,
}


# --- layout: which images, their entities, named errors (no model) -------------------------

@pytest.mark.parametrize("name, entities", [
    ("sub-01_T1w.nii.gz", (("sub", "01"),)),
    ("sub-01_ses-pre_T1w.nii", (("sub", "01"), ("ses", "pre"))),
    ("sub-X1_ses-2_task-rest_acq-fast_ce-gad_rec-norm_run-3_echo-1_part-mag_chunk-4_T1w.nii.gz",
     (("sub", "X1"), ("ses", "2"), ("task", "rest"), ("acq", "fast"), ("ce", "gad"),
      ("rec", "norm"), ("run", "3"), ("echo", "1"), ("part", "mag"), ("chunk", "4"))),
])
def test_t1w_names_give_their_entities_in_order(name, entities):
    assert layout.parse_name(name) == entities


@pytest.mark.parametrize("name, words", [
    ("sub-01_T2w.nii.gz", "is not a T1w image"),
    ("sub-01_T1w.mgz", "is not a T1w image"),
    ("sub-01_foo-1_T1w.nii.gz", "foo- is not an entity a T1w name may carry"),
    ("sub-01_space-MNI_T1w.nii.gz", "space- is not an entity"),
    ("sub-01_acq_T1w.nii.gz", "'acq' is not a key-label pair"),
    ("sub-01_acq-a.b_T1w.nii.gz", "may hold only letters and digits"),
    ("sub-01_run-1_run-2_T1w.nii.gz", "run- is given twice"),
    ("ses-1_T1w.nii.gz", "starts with sub-<label>"),
])
def test_names_that_break_the_rules_are_named_errors(name, words):
    with pytest.raises(ExportError, match=words) as err:
        layout.parse_name(name)
    assert str(err.value).startswith(f"{name}: ")


@pytest.mark.parametrize("relpath, words", [
    ("sub-01/anat/sub-01_T1w.nii.gz", ""),
    ("sub-01/ses-1/anat/sub-01_ses-1_run-2_T1w.nii", ""),
    ("sub-01/anat/sub-02_T1w.nii.gz", "its subject (sub-02) is not its folder sub-01"),
    ("sub-01/ses-1/anat/sub-01_T1w.nii.gz", "its session (none) does not match"),
    ("sub-01/anat/sub-01_ses-1_T1w.nii.gz", "its session (ses-1) does not match"),
    ("sub-01/ses-1/anat/sub-01_ses-2_T1w.nii.gz", "it is in the folder ses-1"),
    ("sub-01/func/sub-01_T1w.nii.gz", "is not at sub-<label>/[ses-<label>/]anat/"),
    ("sub-01/anat/sub-01_x-1_T1w.nii.gz", "sub-01/anat/sub-01_x-1_T1w.nii.gz: x- is not an"),
])
def test_an_image_must_sit_in_its_subject_and_session_folders(relpath, words):
    assert (words in layout.check_image(relpath)) if words else layout.check_image(relpath) == ""


def _touch(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_only_the_t1w_images_under_sub_ses_anat_are_found(tmp_path):
    ds = tmp_path / "ds"
    _touch(ds / "dataset_description.json", '{"Name": "X", "BIDSVersion": "1.9.0"}')
    for rel in ("sub-01/ses-1/anat/sub-01_ses-1_T1w.nii.gz",
                "sub-01/ses-2/anat/sub-01_ses-2_T1w.nii",
                "sub-02/anat/sub-02_acq-fast_T1w.nii.gz", "sub-02/anat/sub-02_acq-fast_T1w.nii",
                "sub-03/anat/sub-04_T1w.nii.gz"):
        _touch(ds / rel)
    for rel in ("sub-01/ses-1/anat/sub-01_ses-1_T1w.json",
                "sub-01/ses-1/anat/sub-01_ses-1_T2w.nii.gz",
                "sub-01/ses-1/func/sub-01_ses-1_task-x_bold.nii.gz",
                "sub-02/anat/.sub-02_T1w.nii.gz",
                "derivatives/old/sub-01/anat/sub-01_T1w.nii.gz", "sourcedata/sub-01_T1w.nii.gz",
                "sub-01/anat-old/sub-01_T1w.nii.gz", "README"):
        _touch(ds / rel)
    dataset = layout.read_dataset(ds)
    assert dataset.name == "ds" and dataset.description["Name"] == "X"
    found = {i.relpath: i.error for i in dataset.images}
    assert list(found) == ["sub-01/ses-1/anat/sub-01_ses-1_T1w.nii.gz",
                           "sub-01/ses-2/anat/sub-01_ses-2_T1w.nii",
                           "sub-02/anat/sub-02_acq-fast_T1w.nii",
                           "sub-02/anat/sub-02_acq-fast_T1w.nii.gz",
                           "sub-03/anat/sub-04_T1w.nii.gz"]
    assert found["sub-02/anat/sub-02_acq-fast_T1w.nii.gz"].endswith(
        "the dataset also has sub-02/anat/sub-02_acq-fast_T1w.nii; a BIDS image is one file.")
    assert "is not its folder sub-03" in found["sub-03/anat/sub-04_T1w.nii.gz"]
    assert [i.stem for i in dataset.images][:2] == ["sub-01_ses-1_T1w", "sub-01_ses-2_T1w"]

    from meshseg.batch.inputs import bids_items

    items, images = bids_items(dataset)
    assert [(i.name, i.kind) for i in items] == [
        ("sub-01_ses-1_T1w", "file"), ("sub-01_ses-2_T1w", "file"), ("sub-02_acq-fast_T1w", "file"),
        ("sub-02_acq-fast_T1w-2", "error"), ("sub-04_T1w", "error")]
    assert items[0].input == "ds/sub-01/ses-1/anat/sub-01_ses-1_T1w.nii.gz"
    assert items[4].error.startswith("sub-03/anat/sub-04_T1w.nii.gz: ")
    assert images["sub-02_acq-fast_T1w"].entities == (("sub", "02"), ("acq", "fast"))


def test_a_folder_that_is_not_a_bids_dataset_is_a_named_error(tmp_path):
    plain = tmp_path / "scans"
    _touch(plain / "sub-01" / "anat" / "sub-01_T1w.nii.gz")
    with pytest.raises(ExportError) as err:
        layout.read_dataset(plain)
    assert str(err.value).startswith(f"{plain}: is not a BIDS dataset: it has no "
                                      "dataset_description.json")
    _touch(plain / "dataset_description.json", "{not json")
    with pytest.raises(ExportError, match="dataset_description.json: is not valid JSON"):
        layout.read_dataset(plain)
    (plain / "dataset_description.json").write_text("[1]")
    with pytest.raises(ExportError, match="is not a JSON object"):
        layout.read_dataset(plain)
    empty = tmp_path / "empty"
    _touch(empty / "dataset_description.json", "{}")
    _touch(empty / "sub-01" / "anat" / "sub-01_T2w.nii.gz")
    with pytest.raises(ExportError, match=r"empty: this BIDS dataset has no T1w image"):
        layout.read_dataset(empty)
    with pytest.raises(ExportError, match="is not a folder"):
        layout.read_dataset(tmp_path / "missing")


def test_derivative_names_keep_the_entities_in_the_specs_order():
    entities = (("sub", "01"), ("ses", "1"), ("chunk", "2"), ("run", "3"), ("acq", "x"))
    paths = derivatives.derivative_paths(entities, "model21_104class", "brainmask")
    base = "sub-01/ses-1/anat/sub-01_ses-1_acq-x_run-3_space-orig_chunk-2"
    assert paths == {
        "dseg": f"{base}_desc-model21104class_dseg.nii.gz",
        "dseg_tsv": f"{base}_desc-model21104class_dseg.tsv",
        "dseg_json": f"{base}_desc-model21104class_dseg.json",
        "volumes": f"{base}_desc-model21104class_volumes.tsv",
        "volumes_json": f"{base}_desc-model21104class_volumes.json",
        "probseg": f"{base}_label-brainmask_desc-model21104class_probseg.nii.gz",
        "probseg_json": f"{base}_label-brainmask_desc-model21104class_probseg.json"}
    assert derivatives.desc_label("__") == "meshseg"


# --- the CLI with the sphere model: layout, tables, validator, resume -----------------------

def run_cli(*args, check_rc=None):
    done = subprocess.run(
        [sys.executable, "-m", "meshseg", "batch", *map(str, args)], capture_output=True,
        text=True, check=False, cwd=ROOT,
        env={"PYTHONPATH": str(ROOT / "py"), "PATH": "/usr/bin:/bin", "HOME": "/tmp"})
    if check_rc is not None:
        assert done.returncode == check_rc, done.stderr
    return done


def make_dataset(root: Path, images: dict, name: str = "Phantom study") -> Path:
    for rel, seed in images.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        source = seed if isinstance(seed, Path) else None
        if source is not None:
            shutil.copyfile(source, root / rel)
        else:
            nib.save(phantom(seed), root / rel)
    (root / "dataset_description.json").write_text(
        json.dumps({"Name": name, "BIDSVersion": "1.9.0", "DatasetType": "raw"}))
    (root / "README").write_text("A test dataset for MeshSeg's BIDS derivatives: phantoms or "
                                 "the same low-resolution head, one T1w image per session.\n")
    (root / "participants.tsv").write_text(
        "participant_id\n" + "".join(sorted({f"{r.split('/')[0]}\n" for r in images})))
    return root


def validate(dataset: Path, legacy: bool = False) -> dict:
    """bids-validator's report of `dataset` (tests/bids_validate.mjs); skips without node."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: bids-validator (npm) cannot run here")
    if not (ROOT / "node_modules" / "bids-validator").is_dir():
        pytest.skip("node_modules/bids-validator is missing: run `npm ci`")
    done = subprocess.run([node, str(VALIDATOR), str(dataset), *(["--legacy"] if legacy else [])],
                          capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    codes: dict = {}
    for warning in report["warnings"]:
        key = f"{warning['code']}" + (f" ({warning['subCode']})" if warning["subCode"] else "")
        codes[key] = codes.get(key, 0) + 1
    print(f"{report['validator']} on {dataset.name}: {len(report['errors'])} errors, "
          f"{len(report['warnings'])} warnings: {json.dumps(codes)}")
    return report


@pytest.fixture(scope="module")
def sphere_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("bids")
    ds = make_dataset(root / "ds", SPHERE_T1W)
    models = threshold_models(root / "models")
    out = ds / "derivatives" / "meshseg"
    start = time.perf_counter()
    done = run_cli(ds, "--bids", "-m", "sphere", "--models", models, "--out", out,
                   "--scheduler", "serial", "--zip", check_rc=0)
    return {"root": root, "ds": ds, "models": models, "out": out, "stderr": done.stderr,
            "seconds": time.perf_counter() - start}


def _stem(rel: str, model: str = "sphere") -> str:
    entities = layout.parse_name(rel.rsplit("/", 1)[1])
    return derivatives.derivative_paths(entities, model)["dseg"][: -len("_dseg.nii.gz")]


def test_bids_batch_writes_the_derivative_layout(sphere_run):
    out = sphere_run["out"]
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    expected = {".bidsignore", "README.md", "dataset_description.json"}
    for stem in ("sub-01/ses-1/anat/sub-01_ses-1_space-orig_desc-sphere",
                 "sub-01/ses-2/anat/sub-01_ses-2_space-orig_desc-sphere",
                 "sub-02/anat/sub-02_acq-fast_run-1_space-orig_desc-sphere"):
        expected |= {f"{stem}_{end}" for end in ("dseg.nii.gz", "dseg.tsv", "dseg.json",
                                                 "volumes.tsv", "volumes.json")}
    assert expected <= set(files), sorted(expected - set(files))
    batch = [f for f in files if f.startswith("sourcedata/meshseg-batch/")]
    assert {"sourcedata/meshseg-batch/manifest.json", "sourcedata/meshseg-batch/volumes.csv",
            "sourcedata/meshseg-batch/sub-02_acq-fast_run-1_T1w_sphere_labels.nii.gz",
            "sourcedata/meshseg-batch/sub-02_acq-fast_run-1_T1w_sphere_stats.csv"} <= set(batch)
    assert set(files) - expected - set(batch) == set(), "nothing else at the top"
    assert (out / ".bidsignore").read_text() == "*_volumes.tsv\n*_volumes.json\n"
    assert "meshseg: BIDS derivative of ds in" in sphere_run["stderr"]

    description = json.loads((out / "dataset_description.json").read_text())
    assert description["DatasetType"] == "derivative"
    assert description["BIDSVersion"] == "1.9.0"
    from meshseg import __version__

    assert description["GeneratedBy"][0]["Name"] == "meshseg"
    assert description["GeneratedBy"][0]["Version"] == __version__
    assert description["DatasetLinks"] == {"raw": "../.."}
    assert description["Name"] == "MeshSeg segmentations of Phantom study"
    assert "For research use only" in (out / "README.md").read_text()


def test_tables_and_sidecars(sphere_run):
    out = sphere_run["out"]
    rel = "sub-02/anat/sub-02_acq-fast_run-1_T1w.nii.gz"
    stem = out / _stem(rel)
    lookup = list(csv.DictReader(io.StringIO(Path(f"{stem}_dseg.tsv").read_text()),
                                 delimiter="\t"))
    assert lookup == [{"index": "0", "name": "background", "color": "#000000"},
                      {"index": "1", "name": "sphere", "color": "#ff0000"}]
    sidecar = json.loads(Path(f"{stem}_dseg.json").read_text())
    assert sidecar["Sources"] == [f"bids:raw:{rel}"]
    assert sidecar["SpatialReference"] == f"bids:raw:{rel}"
    assert sidecar["Manual"] is False
    assert sidecar["Model"]["id"] == "sphere"
    assert len(sidecar["Model"]["onnx_sha256"]) == 64
    volumes = list(csv.DictReader(io.StringIO(Path(f"{stem}_volumes.tsv").read_text()),
                                  delimiter="\t"))
    batch = out / "sourcedata" / "meshseg-batch"
    stats = list(csv.DictReader(io.StringIO(
        (batch / "sub-02_acq-fast_run-1_T1w_sphere_stats.csv").read_text())))
    assert [list(r.values()) for r in volumes] == [list(r.values()) for r in stats]
    assert list(volumes[0]) == ["index", "name", "voxels", "ml"]
    assert float(volumes[0]["ml"]) > 1
    assert json.loads(Path(f"{stem}_volumes.json").read_text())["ml"]["Units"] == "mL"


def test_each_dseg_is_the_batch_mask_on_its_t1w_grid(sphere_run):
    out, ds = sphere_run["out"], sphere_run["ds"]
    manifest = json.loads((out / "sourcedata" / "meshseg-batch" / "manifest.json").read_text())
    by_name = {e["name"]: e for e in manifest["items"]}
    for rel in SPHERE_T1W:
        entry = by_name[layout.image_stem(rel.rsplit("/", 1)[1])]
        assert entry["status"] in ("done", "warning"), entry
        assert entry["input"] == f"ds/{rel}"
        dseg = Path(f"{out / _stem(rel)}_dseg.nii.gz")
        mask = out / "sourcedata" / "meshseg-batch" / entry["outputs"]["mask"]
        assert dseg.read_bytes() == mask.read_bytes()
        image, t1w = nib.load(dseg), nib.load(ds / rel)
        assert image.shape == t1w.shape
        assert np.allclose(image.affine, t1w.affine, atol=1e-5)
        assert np.asarray(image.dataobj).max() == 1


def test_bids_validator_finds_no_error(sphere_run):
    report = validate(sphere_run["out"])
    assert report["errors"] == [], json.dumps(report["errors"], indent=1)
    assert "schema validator" in report["validator"]
    nested = validate(sphere_run["ds"], legacy=True)
    assert nested["errors"] == [], json.dumps(nested["errors"], indent=1)


def test_the_zip_is_the_derivative_without_the_batch_copies_of_the_images(sphere_run):
    out = sphere_run["out"]
    with zipfile.ZipFile(out.with_name(out.name + ".zip")) as archive:
        names = archive.namelist()
        assert names == sorted(names)
        assert ".bidsignore" in names and "dataset_description.json" in names
        assert "sourcedata/meshseg-batch/manifest.json" in names
        assert not [n for n in names if n.endswith("_labels.nii.gz")]
        dseg = f"{_stem('sub-01/ses-1/anat/sub-01_ses-1_T1w.nii.gz')}_dseg.nii.gz"
        assert archive.read(dseg) == (out / dseg).read_bytes()
    assert names == derivatives.archive_names(out)


def test_a_second_run_skips_every_image_and_rewrites_the_same_derivative(sphere_run):
    out = sphere_run["out"]
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and
              p.name != "manifest.json"}
    done = run_cli(sphere_run["ds"], "--bids", "-m", "sphere", "--models", sphere_run["models"],
                   "--out", out, "--scheduler", "serial", check_rc=0)
    assert "(3 already done, skipped)" in done.stderr
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and
             p.name != "manifest.json"}
    assert after == before


def test_a_bad_t1w_name_fails_by_name_and_the_others_are_written(tmp_path):
    ds = make_dataset(tmp_path / "ds", {"sub-01/anat/sub-01_T1w.nii.gz": 0,
                                        "sub-02/anat/sub-03_T1w.nii.gz": 1})
    models = threshold_models(tmp_path / "models")
    out = tmp_path / "derivative"
    done = run_cli(ds, "--bids", "-m", "sphere", "--models", models, "--out", out,
                   "--scheduler", "serial", check_rc=1)
    assert "failed: sub-02/anat/sub-03_T1w.nii.gz: its subject (sub-03) is not its folder" \
        in done.stderr
    assert (out / "sub-01/anat/sub-01_space-orig_desc-sphere_dseg.nii.gz").is_file()
    assert not (out / "sub-02").exists() and not (out / "sub-03").exists()
    manifest = json.loads((out / "sourcedata/meshseg-batch/manifest.json").read_text())
    assert manifest["summary"]["failed"] == 1
    description = json.loads((out / "dataset_description.json").read_text())
    assert description["DatasetLinks"] == {"raw": "../ds"}
    # a stale dseg of an image that fails now is removed
    stale = out / "sub-01/anat/sub-01_space-orig_desc-sphere_dseg.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((4, 4, 4), np.int16), np.eye(4)), ds / "sub-01/anat/"
             "sub-01_T1w.nii.gz")
    run_cli(ds, "--bids", "-m", "sphere", "--models", models, "--out", out,
            "--scheduler", "serial", check_rc=1)
    assert not stale.exists()


@pytest.fixture(scope="module")
def sphere_models(tmp_path_factory):
    return threshold_models(tmp_path_factory.mktemp("sphere") / "models")


def usage(capsys, *args) -> str:
    """stderr of an in-process ``meshseg batch`` that must exit 2."""
    from meshseg.cli import main

    capsys.readouterr()
    assert main(["batch", *map(str, args)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("meshseg batch: error: "), err
    return err


@pytest.mark.parametrize("extra, words", [
    ((), "is not a BIDS dataset: it has no dataset_description.json"),
    (("--probseg",), "--probseg: the model sphere has no probability output"),
    (("--space", "conformed"), "--space conformed does not go with it"),
    (("EXTRA",), "--bids takes one BIDS dataset folder, not 2 inputs"),
])
def test_usage_errors_are_named_and_exit_2(tmp_path, capsys, sphere_models, extra, words):
    plain = tmp_path / "plain"
    nib.save(phantom(0), _touch(plain / "sub-01" / "anat" / "sub-01_T1w.nii.gz"))
    inputs = [plain] + ([plain] if "EXTRA" in extra else [])
    flags = [e for e in extra if e != "EXTRA"]
    if words.startswith("--probseg") or words.startswith("--space"):
        _touch(plain / "dataset_description.json", "{}")
    err = usage(capsys, *inputs, "--bids", "-m", "sphere", "--models", sphere_models, "--out",
                tmp_path / "out", *flags)
    assert words in err, err
    if not extra:
        assert f"{plain}: is not a BIDS dataset" in err
    assert not (tmp_path / "out" / "dataset_description.json").exists()


def test_probseg_without_bids_and_an_out_inside_the_dataset_are_refused(tmp_path, capsys,
                                                                        sphere_models):
    ds = make_dataset(tmp_path / "ds", {"sub-01/anat/sub-01_T1w.nii.gz": 0})
    models = sphere_models
    err = usage(capsys, ds, "-m", "sphere", "--models", models, "--out", tmp_path / "o",
                "--probseg")
    assert "--probseg goes with --bids" in err
    for out in (ds, ds / "sub-01", tmp_path):
        err = usage(capsys, ds, "--bids", "-m", "sphere", "--models", models, "--out", out)
        assert f"{out}: " in err, err
    other = _touch(tmp_path / "other" / "dataset_description.json",
                   '{"Name": "x", "GeneratedBy": [{"Name": "fmriprep"}]}').parent
    err = usage(capsys, ds, "--bids", "-m", "sphere", "--models", models, "--out", other)
    assert "holds another dataset" in err
    assert json.loads((ds / "dataset_description.json").read_text())["DatasetType"] == "raw"


# --- one real model, with --probseg ---------------------------------------------------------

@pytest.fixture(scope="module")
def model5_dir(tmp_path_factory, weights_dir):
    from meshseg.convert import convert_model
    from meshseg.models.index import index_to_json

    out = tmp_path_factory.mktemp("model5")
    card = convert_model(weights_dir, out, "model5_gw_ae")
    (out / "index.json").write_text(index_to_json([card]), encoding="utf-8")
    return out


@pytest.mark.slow
def test_real_model_with_probseg_on_the_shared_head(tmp_path, data_dir, model5_dir):
    scans = data_dir / "nifti_space"
    ds = make_dataset(tmp_path / "ds", {
        "sub-01/ses-1/anat/sub-01_ses-1_T1w.nii.gz": scans / "RAS.nii.gz",
        "sub-02/anat/sub-02_acq-lowres_T1w.nii.gz": scans / "PSR.nii.gz"}, name="Shared head")
    out = ds / "derivatives" / "meshseg"
    start = time.perf_counter()
    done = run_cli(ds, "--bids", "--probseg", "-m", "model5_gw_ae", "--models", model5_dir,
                   "--out", out, "--scheduler", "serial")
    print(f"2 images, model5_gw_ae with --probseg: {time.perf_counter() - start:.1f} s")
    assert done.returncode == 0, done.stderr
    batch = out / "sourcedata" / "meshseg-batch"
    for rel in ("sub-01/ses-1/anat/sub-01_ses-1_T1w.nii.gz",
                "sub-02/anat/sub-02_acq-lowres_T1w.nii.gz"):
        stem = out / _stem(rel, "model5_gw_ae")
        name = layout.image_stem(rel.rsplit("/", 1)[1])
        dseg, probseg = Path(f"{stem}_dseg.nii.gz"), Path(f"{stem}_probseg.nii.gz")
        assert dseg.read_bytes() == (batch / f"{name}_model5_gw_ae_labels.nii.gz").read_bytes()
        t1w, labels, prob = nib.load(ds / rel), nib.load(dseg), nib.load(probseg)
        assert labels.shape == t1w.shape == prob.shape
        assert np.allclose(labels.affine, t1w.affine, atol=1e-5)
        assert np.allclose(prob.affine, t1w.affine, atol=1e-5)
        values = np.asarray(prob.dataobj, dtype=np.float32)
        assert 0 <= values.min() and values.max() <= 1 and values.max() > 0.5
        assert set(np.unique(np.asarray(labels.dataobj))) <= {0, 1, 2}
        assert json.loads(Path(f"{stem}_probseg.json").read_text())["Description"].startswith(
            f"MeshSeg probability map of {rel.rsplit('/', 1)[1]} by the model model5_gw_ae: "
            "the model's confidence")
        ml = {r["name"]: float(r["ml"]) for r in csv.DictReader(
            io.StringIO(Path(f"{stem}_volumes.tsv").read_text()), delimiter="\t")}
        assert 300 < ml["White Matter"] + ml["Grey Matter"] < 2100, ml
    assert "desc-model5gwae" in derivatives.derivative_paths((("sub", "1"),),
                                                             "model5_gw_ae")["dseg"]
    report = validate(out)
    assert report["errors"] == [], json.dumps(report["errors"], indent=1)
    nested = validate(ds, legacy=True)
    assert nested["errors"] == [], json.dumps(nested["errors"], indent=1)
    # resuming: done images are skipped; one done without its probability map runs again
    (batch / "sub-02_acq-lowres_T1w_model5_gw_ae_probability.nii.gz").unlink()
    again = run_cli(ds, "--bids", "--probseg", "-m", "model5_gw_ae", "--models", model5_dir,
                    "--out", out, "--scheduler", "serial", check_rc=0)
    assert "(1 already done, skipped)" in again.stderr
    assert (batch / "sub-02_acq-lowres_T1w_model5_gw_ae_probability.nii.gz").is_file()
