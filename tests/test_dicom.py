"""DICOM series (classic and enhanced, uncompressed and compressed) against the NIfTI
phantom they were written from: same voxels, same world geometry, same mask via the CLI."""

from __future__ import annotations

import csv
import gzip
import json
import re
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

pydicom = pytest.importorskip("pydicom")
from pydicom.uid import (  # noqa: E402
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLSLossless,
    RLELossless,
)

from batch_helpers import (  # noqa: E402
    PATIENT,
    dice,
    phantom,
    threshold_models,
    write_classic,
    write_enhanced,
)
from meshseg.errors import InputImageError  # noqa: E402
from meshseg.readers.dicom import group_series, read_series  # noqa: E402
from meshseg.resample_labels import labels_to_native  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SYNTAXES = {"uncompressed": ExplicitVRLittleEndian, "rle": RLELossless,
            "jpegls": JPEGLSLossless, "j2k": JPEG2000Lossless}
# case -> (layout, syntax); the enhanced files store their frames out of order
CASES = {"classic-uncompressed": ("classic", "uncompressed"), "classic-rle": ("classic", "rle"),
         "classic-jpegls": ("classic", "jpegls"), "enhanced-rle": ("enhanced", "rle"),
         "enhanced-j2k": ("enhanced", "j2k")}


def _available(syntax_name):
    from pydicom.pixels import get_encoder

    if syntax_name == "uncompressed":
        return True
    return get_encoder(SYNTAXES[syntax_name]).is_available


def write_case(img, folder, case, number):
    layout, syntax = CASES[case]
    if not _available(syntax):
        pytest.skip(f"no {syntax} encoder installed")
    if layout == "classic":
        return write_classic(img, folder / case, SYNTAXES[syntax], description=case,
                             number=number)
    return [write_enhanced(img, folder / case / "enh.dcm", SYNTAXES[syntax], description=case,
                           number=number)]


def on_grid_of(img, reference):
    """Each voxel of `img` as a voxel index of `reference` (checked to be a whole index)."""
    ijk = np.indices(img.shape[:3]).reshape(3, -1).astype(np.float64)
    mapping = np.linalg.inv(reference.affine) @ img.affine
    where = mapping[:3, :3] @ ijk + mapping[:3, 3:4]
    assert np.abs(where - np.rint(where)).max() < 1e-3, "voxel centres off the reference grid"
    return np.rint(where).astype(int)


@pytest.mark.parametrize("case", list(CASES))
def test_series_gives_the_phantom_voxels_at_the_same_world_points(tmp_path, case):
    img = phantom()
    paths = write_case(img, tmp_path, case, 3)
    (series,), failures = group_series(paths)
    assert failures == [] and series.name == f"{case}_3"
    scan = read_series(series.paths, series.name)
    assert scan.source_format == "dicom" and scan.notices == ()
    assert scan.image.shape == img.shape
    index = on_grid_of(scan.image, img)
    flat = np.ravel_multi_index(tuple(index), img.shape)
    assert np.array_equal(np.sort(flat), np.arange(flat.size))  # every voxel exactly once
    got = np.asarray(scan.image.dataobj).reshape(-1)
    assert np.array_equal(got, np.asarray(img.dataobj)[tuple(index)])


def test_uneven_spacing_is_reported_and_resampled(tmp_path):
    img = phantom()
    paths = write_classic(img, tmp_path / "gap", drop=(9, 15, 16))
    (series,), _ = group_series(paths)
    scan = read_series(series.paths, series.name)
    assert any("Uneven slice spacing" in n and "3 to 9 mm" in n for n in scan.notices)
    assert scan.image.shape == img.shape
    index = on_grid_of(scan.image, img)
    kept = np.asarray(scan.image.dataobj).reshape(-1) == np.asarray(img.dataobj)[tuple(index)]
    missing = np.isin(index[2], (9, 15, 16))
    assert kept[~missing].all()  # the slices that exist are unchanged


def test_repeated_positions_keep_the_first_volume(tmp_path):
    img = phantom()
    first = write_classic(img, tmp_path / "echo1")
    second = write_classic(img, tmp_path / "echo2", order_seed=5)
    uid = pydicom.dcmread(first[0]).SeriesInstanceUID
    for path in second:
        ds = pydicom.dcmread(path)
        ds.SeriesInstanceUID, ds.AcquisitionNumber = uid, 2
        ds.PixelData = (ds.pixel_array + 1).astype(np.uint16).tobytes()
        ds.save_as(path)
    (series,), _ = group_series(first + second)
    scan = read_series(series.paths, series.name)
    assert "2 images at each of the 24 slice positions" in scan.notices[0]
    assert np.array_equal(np.sort(np.asarray(scan.image.dataobj).ravel()),
                          np.sort(np.asarray(img.dataobj).ravel()))


def test_mixed_orientations_and_missing_geometry_are_named_errors(tmp_path):
    img = phantom()
    paths = write_classic(img, tmp_path / "a")
    ds = pydicom.dcmread(paths[0])
    ds.ImageOrientationPatient = [0, 1, 0, 0, 0, -1]
    ds.save_as(paths[0])
    with pytest.raises(InputImageError, match="different orientations"):
        read_series(paths, "mixed")
    del ds.ImagePositionPatient
    ds.save_as(paths[0])
    with pytest.raises(InputImageError, match="no valid ImagePositionPatient"):
        read_series(paths, "mixed")


def test_shared_dicom_files_give_a_result_or_a_named_error(data_dir):
    paths = sorted((data_dir / "dicom").glob("*.dcm"))
    series, failures = group_series(paths)
    assert sum(len(s.paths) for s in series) + len(failures) == len(paths)
    for one in series:
        try:
            scan = read_series(one.paths, one.name)
        except InputImageError as err:
            assert str(err).startswith(f"{one.name}: ")
        else:
            assert scan.image.ndim == 3


def _run_batch(inputs, models, out, *extra):
    done = subprocess.run([sys.executable, "-m", "meshseg", "batch", *map(str, inputs), "-m",
                           models[1], "--models", str(models[0]), "--out", str(out), "-q",
                           "--scheduler", "serial", *extra],
                          capture_output=True, text=True, check=False, cwd=ROOT,
                          env={"PYTHONPATH": str(ROOT / "py"), "PATH": "/usr/bin:/bin"})
    return done


def _masks_against_nifti(out, model, names, reference):
    ref = nib.load(out / f"{reference}_{model}_labels.nii.gz")
    ref_labels = np.asarray(ref.dataobj)
    scores = {}
    for name in names:
        mask = nib.load(out / f"{name}_{model}_labels.nii.gz")
        on_ref = labels_to_native(np.asarray(mask.dataobj), mask.affine, ref.shape, ref.affine,
                                  method="nearest")
        scores[name] = dice(on_ref, ref_labels)
    return scores


def test_cli_masks_from_dicom_equal_the_nifti_mask_and_leak_no_patient_data(tmp_path):
    img = phantom()
    inputs = tmp_path / "in"
    inputs.mkdir()
    nib.save(img, inputs / "phantom.nii.gz")
    names = []
    for number, case in enumerate(CASES, start=2):
        if _available(CASES[case][1]):
            write_case(img, inputs / "dicom", case, number)
            names.append(f"{case}_{number}")
    write_classic(img, inputs / "dicom" / "gap", description="gap", number=20, drop=(9, 15, 16))
    names.append("gap_20")
    models = (threshold_models(tmp_path / "models"), "sphere")
    out = tmp_path / "out"
    done = _run_batch([inputs], models, out)
    assert done.returncode == 0, done.stderr
    scores = _masks_against_nifti(out, "sphere", names, "phantom")
    print("Dice DICOM vs NIfTI (threshold model):", json.dumps(scores))
    gap_dice = scores.pop("gap_20")  # 3 of 24 slices missing, interpolated back
    assert all(score >= 0.99 for score in scores.values()), scores
    assert gap_dice >= 0.95
    manifest = json.loads((out / "manifest.json").read_text())
    gap = next(e for e in manifest["items"] if e["name"] == "gap_20")
    assert gap["status"] == "warning" and "Uneven slice spacing" in gap["notices"][0]
    leaks = [value.encode() for value in PATIENT.values()] + [b"DOE", b"JANE"]
    for path in out.rglob("*"):
        if path.name.endswith("_seg.dcm"):
            continue  # the DICOM SEG carries the series' patient module by design
        content = path.read_bytes()
        if path.name.endswith(".gz"):
            content = gzip.decompress(content)
        if path.suffix == ".html":  # a report's pictures are base64 pixels, not text
            content = re.sub(rb"data:image/png;base64,[A-Za-z0-9+/=]+", b"", content)
        assert not any(leak in content or leak in path.name.encode() for leak in leaks), path


@pytest.mark.slow
def test_cli_real_model_on_a_dicom_head_matches_the_nifti(tmp_path, data_dir, models_dir):
    source = nib.load(data_dir / "nifti_space" / "RAS.nii.gz")
    data = np.asarray(source.dataobj, dtype=np.float32)
    data = np.clip(data / max(float(data.max()), 1.0) * 4000, 0, 65535).astype(np.uint16)
    rotation = nib.eulerangles.euler2mat(np.deg2rad(14), np.deg2rad(-9), np.deg2rad(6))
    affine = source.affine.copy()
    affine[:3, :3] = rotation @ affine[:3, :3]
    img = nib.Nifti1Image(data, affine)
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    inputs = tmp_path / "in"
    inputs.mkdir()
    nib.save(img, inputs / "head.nii.gz")
    write_classic(img, inputs / "classic", RLELossless, description="head classic", number=2)
    write_enhanced(img, inputs / "enh" / "e.dcm", JPEG2000Lossless, description="head enh",
                   number=3)
    out = tmp_path / "out"
    done = _run_batch([inputs], (models_dir, "model5_gw_ae"), out)
    assert done.returncode == 0, done.stderr
    scores = _masks_against_nifti(out, "model5_gw_ae", ["head_classic_2", "head_enh_3"], "head")
    print("Dice DICOM vs NIfTI (model5_gw_ae):", json.dumps(scores))
    assert all(score >= 0.99 for score in scores.values()), scores
    # a clean real head, as DICOM: its quality is not flagged, in the manifest and volumes.csv
    items = json.loads((out / "manifest.json").read_text())["items"]
    assert len(items) == 3 and all(not e["quality"]["flagged"] for e in items), \
        [(e["name"], e["quality"]["summary"]) for e in items]
    with open(out / "volumes.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["quality_flagged"] for r in rows} == {"false"}
    assert {r["scan"]: float(r["quality_score"]) for r in rows} == \
        {e["name"]: round(e["quality"]["score"], 4) for e in items}
