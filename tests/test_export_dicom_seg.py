"""DICOM SEG of a result on a DICOM series (meshseg.export.dicom_seg, `segment --dicom-seg`):
read back with highdicom it is the label image voxel for voxel on the source frames, it
references the source series, carries its patient module, passes dciodvfy, and asked of a
NIfTI input it is a named error. Also: the page writer's tables equal the Python ones."""

from __future__ import annotations

import dataclasses
import gzip
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

pydicom = pytest.importorskip("pydicom")
hd = pytest.importorskip("highdicom")

from batch_helpers import (  # noqa: E402
    PATIENT,
    phantom,
    threshold_models,
    write_classic,
    write_enhanced,
)
from dicom_seg_helpers import blobs as helper_blobs  # noqa: E402
from dicom_seg_helpers import (  # noqa: E402
    consistent,
    dciodvfy,
    enhanced_grid,
    frames_of,
    grid_of,
    head_series,
    read_back,
)
from meshseg.errors import InputImageError  # noqa: E402
from meshseg.export import ExportError, dicom_seg  # noqa: E402
from meshseg.export.outcome import Outcome  # noqa: E402
from meshseg.readers.dicom import series_at  # noqa: E402
from test_pipeline import card as pipeline_card  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TABLES_JS = ROOT / "site" / "js" / "export" / "dicom-seg-tables.js"
CLASSES = [{"index": 0, "name": "background", "color": [0, 0, 0]},
           {"index": 1, "name": "White Matter", "color": [255, 255, 255]},
           {"index": 2, "name": "Grey Matter", "color": [128, 128, 128]},
           {"index": 3, "name": "Left-Hippocampus", "color": [220, 216, 20]},
           {"index": 4, "name": "Tumour core", "color": [200, 20, 30]}]


def tissue_card(classes=CLASSES, model_id="model5_gw_ae"):
    return dataclasses.replace(pipeline_card(model_id), title="test tissue", classes=classes)


def outcome(labels, affine, source, card=None, name="series"):
    image = nib.Nifti1Image(np.asarray(labels, dtype=np.uint8), affine)
    return Outcome(labels=np.asarray(labels, dtype=np.uint8), image=image, scan=None,
                   card=card or tissue_card(), rows=[], name=name, source=source)


def blobs(shape, seed):
    """Seeded blocky labels of every class of CLASSES."""
    return helper_blobs(shape, seed, len(CLASSES))


def check_valid(path, label):
    verdict = dciodvfy(path)
    if verdict is None:
        pytest.skip("dciodvfy (dicom3tools) is not installed")
    errors, warnings = verdict
    print(f"dciodvfy {label}: {len(warnings)} warnings: {json.dumps(warnings)}")
    assert errors == [], errors


def check_references(seg, source_paths):
    headers = [pydicom.dcmread(p, stop_before_pixels=True) for p in source_paths]
    ref = seg.ReferencedSeriesSequence[0]
    assert ref.SeriesInstanceUID == headers[0].SeriesInstanceUID
    assert sorted(i.ReferencedSOPInstanceUID for i in ref.ReferencedInstanceSequence) == \
        sorted(h.SOPInstanceUID for h in headers)
    assert seg.StudyInstanceUID == headers[0].StudyInstanceUID
    assert seg.FrameOfReferenceUID == headers[0].FrameOfReferenceUID
    assert seg.SeriesInstanceUID != headers[0].SeriesInstanceUID
    for keyword in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex"):
        assert str(seg.get(keyword, "")) == str(headers[0].get(keyword, "")), keyword


@pytest.fixture
def shared_series(tmp_path, data_dir):
    folder = tmp_path / "vs"
    folder.mkdir()
    for name in ("1-001.dcm", "1-002.dcm", "1-003.dcm"):
        shutil.copyfile(data_dir / "dicom" / name, folder / name)
    return folder


@pytest.fixture
def oblique_series(tmp_path):
    return consistent(write_classic(phantom(), tmp_path / "oblique", description="oblique",
                                    number=4), seed=4)


def test_seg_of_the_shared_series_is_the_labels_on_every_source_frame(tmp_path, shared_series):
    paths = sorted(shared_series.glob("*.dcm"))
    affine, shape, ordered = grid_of(paths)
    labels = blobs(shape, seed=1)
    data = dicom_seg.write(outcome(labels, affine, shared_series), name="vs_seg.dcm")
    out = tmp_path / "vs_seg.dcm"
    out.write_bytes(data)
    expected = frames_of(labels, ordered)
    got = read_back(out, list(expected))
    assert sum(int(np.count_nonzero(g != e)) for g, e in zip(got, expected.values(),
                                                             strict=True)) == 0
    assert int(np.count_nonzero(got)) == int(np.count_nonzero(labels)) > 0
    seg = pydicom.dcmread(out)
    check_references(seg, paths)
    assert seg.SegmentationType == "BINARY" and seg.Modality == "SEG"
    assert [s.SegmentLabel for s in seg.SegmentSequence] == [c["name"] for c in CLASSES[1:]]
    assert [int(s.SegmentNumber) for s in seg.SegmentSequence] == [1, 2, 3, 4]
    first = seg.SegmentSequence[0]
    assert first.SegmentAlgorithmType == "AUTOMATIC"
    assert first.SegmentAlgorithmName == "MeshSeg model5_gw_ae"
    algorithm = first.SegmentationAlgorithmIdentificationSequence[0]
    assert algorithm.AlgorithmName == "MeshSeg model5_gw_ae"
    from meshseg import __version__

    assert algorithm.AlgorithmVersion == __version__
    assert first.SegmentedPropertyTypeCodeSequence[0].CodeValue == "389080008"
    hippocampus = seg.SegmentSequence[2].SegmentedPropertyTypeCodeSequence[0]
    assert hippocampus.CodeValue == "5366008"
    assert hippocampus.SegmentedPropertyTypeModifierCodeSequence[0].CodeMeaning == "Left"
    check_valid(out, "shared 3-slice series")


def test_seg_of_an_oblique_series_reads_back_as_a_volume_on_the_label_grid(tmp_path,
                                                                           oblique_series):
    affine, shape, ordered = grid_of(oblique_series)
    labels = blobs(shape, seed=2)
    labels[:, :, 5] = 0  # a slice without any label: no frames of it in the SEG
    out = tmp_path / "oblique_seg.dcm"
    out.write_bytes(dicom_seg.write(outcome(labels, affine, oblique_series[0].parent)))
    expected = frames_of(labels, ordered)
    got = read_back(out, list(expected))
    assert sum(int(np.count_nonzero(g != e)) for g, e in zip(got, expected.values(),
                                                             strict=True)) == 0
    seg = hd.seg.segread(out)
    volume = seg.get_volume(combine_segments=True)
    # every voxel of highdicom's volume (LPS affine) lies on a label voxel: same value
    ijk = np.indices(volume.shape).reshape(3, -1).astype(float)
    lps = volume.affine[:3, :3] @ ijk + volume.affine[:3, 3:4]
    ras = lps * np.array([[-1.0], [-1.0], [1.0]])
    where = np.linalg.inv(affine)[:3, :3] @ ras + np.linalg.inv(affine)[:3, 3:4]
    assert np.abs(where - np.rint(where)).max() < 1e-3
    index = tuple(np.rint(where).astype(int))
    assert np.array_equal(np.asarray(volume.array).reshape(-1), labels[index])
    check_references(pydicom.dcmread(out), oblique_series)
    check_valid(out, "oblique synthetic series")


def test_a_file_of_a_series_gives_the_same_series_and_several_series_are_named(tmp_path,
                                                                              oblique_series):
    folder = oblique_series[0].parent
    assert sorted(series_at(oblique_series[3]).paths) == sorted(map(str, oblique_series))
    assert sorted(series_at(folder).paths) == sorted(map(str, oblique_series))
    other = []  # a second series in the same folder
    for path in consistent(write_classic(phantom(seed=1), tmp_path / "second",
                                         description="second", number=9, order_seed=3), seed=9):
        other.append(folder / f"second-{path.name}")
        shutil.move(path, other[-1])
    beside = series_at(other[0])  # a file: only its own series, among the files beside it
    assert sorted(beside.paths) == sorted(map(str, other)) and beside.name == "second_9"
    with pytest.raises(InputImageError, match=r"holds 2 DICOM series: .*oblique_4 \(24 "
                                              r"files\).*second_9"):
        series_at(folder)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputImageError, match="without DICOM images"):
        series_at(tmp_path / "empty")


@pytest.mark.parametrize("which", ["shared", "synthetic"])
def test_seg_of_an_enhanced_file_follows_its_frames(tmp_path, data_dir, which):
    if which == "shared":
        path = tmp_path / "enh.dcm"
        shutil.copyfile(data_dir / "dicom" / "enh.dcm", path)
    else:  # frames stored out of order
        path = write_enhanced(phantom(), tmp_path / "e" / "enh.dcm", description="enh")
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    affine, shape, slice_of_frame = enhanced_grid(path)
    labels = blobs(shape, seed=3)
    out = tmp_path / "enh_seg.dcm"
    out.write_bytes(dicom_seg.write(outcome(labels, affine, path)))
    seg = hd.seg.segread(out)
    frames = len(slice_of_frame)
    got = seg.get_pixels_by_source_frame(ds.SOPInstanceUID, list(range(1, frames + 1)),
                                         combine_segments=True)
    for number in range(frames):
        assert np.array_equal(got[number], labels[:, :, slice_of_frame[number]].T), number
    check_valid(out, f"{which} enhanced file")


def test_a_result_off_the_source_grid_is_resampled_by_nearest_neighbour(tmp_path,
                                                                       oblique_series):
    from meshseg.resample_labels import labels_to_native

    affine, shape, ordered = grid_of(oblique_series)
    labels = blobs(shape, seed=5)
    grid = affine.copy()  # a finer grid, shifted by a third of a voxel (no ties)
    grid[:3, :3] = affine[:3, :3] * 0.5
    grid[:3, 3] = affine[:3, 3] + affine[:3, :3] @ np.array([0.33, 0.33, 0.33]) - \
        grid[:3, :3] @ np.array([0.5, 0.5, 0.5])
    fine = labels_to_native(labels, affine, tuple(2 * s for s in shape), grid, method="nearest")
    out = tmp_path / "fine_seg.dcm"
    out.write_bytes(dicom_seg.write(outcome(fine, grid, oblique_series[0].parent)))
    on_source = labels_to_native(fine, grid, shape, affine, method="nearest")
    expected = frames_of(on_source, ordered)
    got = read_back(out, list(expected))
    differing = sum(int(np.count_nonzero(g != e)) for g, e in zip(got, expected.values(),
                                                                  strict=True))
    assert differing <= 0.001 * labels.size, differing


def test_empty_labels_and_labels_beyond_the_classes(tmp_path, shared_series):
    affine, shape, ordered = grid_of(sorted(shared_series.glob("*.dcm")))
    out = tmp_path / "empty_seg.dcm"
    out.write_bytes(dicom_seg.write(outcome(np.zeros(shape, np.uint8), affine, shared_series)))
    got = read_back(out, list(frames_of(np.zeros(shape, np.uint8), ordered)))
    assert not np.any(got)
    check_valid(out, "empty result")
    labels = np.zeros(shape, np.uint8)
    labels[0, 0, 0] = 7
    with pytest.raises(ExportError, match="label 7 is beyond model model5_gw_ae's 5 classes"):
        dicom_seg.write(outcome(labels, affine, shared_series))


def test_a_nifti_input_is_a_named_error(tmp_path, data_dir):
    labels = np.zeros((4, 4, 4), np.uint8)
    for source in (data_dir / "t1_crop.nii.gz", None, data_dir / "wm.mgz"):
        with pytest.raises(ExportError, match="a DICOM SEG references the DICOM series it "
                                              "segments.*not a DICOM series"):
            dicom_seg.write(outcome(labels, np.eye(4), source))


def test_segment_codes_are_dicoms_and_the_page_has_the_same_tables():
    from pydicom.sr import _cid_dict as cids
    from pydicom.sr import _concepts_dict as concepts

    sct = concepts.concepts["SCT"]
    meanings = {}
    for entries in sct.values():
        for value, (meaning, _) in entries.items():
            meanings.setdefault(value, set()).add(meaning)
    categories = {c for c, _ in dicom_seg.CODES.values()} | {dicom_seg.STRUCTURE}
    for value, scheme, meaning in {t for _, t in dicom_seg.CODES.values()} | categories | {
            dicom_seg.LEFT, dicom_seg.RIGHT}:
        assert scheme == "SCT" and meaning in meanings[value], (value, meaning)
    segmentation_categories = {next(iter(sct[k])) for k in cids.cid_concepts[7150]["SCT"]}
    assert {c[0] for c in categories} <= segmentation_categories
    text = TABLES_JS.read_text(encoding="utf-8")
    tables = json.loads(re.search(r"/\* tables:begin \*/(.*)/\* tables:end \*/", text,
                                  re.S).group(1))
    assert tables["codes"] == {k: [list(c), list(t)] for k, (c, t) in dicom_seg.CODES.items()}
    assert tables["prefixes"] == [list(p) for p in dicom_seg.PREFIXES]
    assert (tables["left"], tables["right"], tables["structure"], tables["privateScheme"]) == (
        list(dicom_seg.LEFT), list(dicom_seg.RIGHT), list(dicom_seg.STRUCTURE),
        dicom_seg.PRIVATE_SCHEME)
    assert tables["type2PatientStudy"] == list(dicom_seg.TYPE_2_PATIENT_STUDY)
    from highdicom._standard_utils import (
        get_iod_module_map,
        get_module_attribute_map,
        get_sop_class_iod_map,
    )

    iod = get_sop_class_iod_map()[pydicom.uid.MRImageStorage]
    modules = [m["key"] for m in get_iod_module_map()[iod] if m["ie"] in ("Patient", "Study")]
    keywords = [a["keyword"] for m in modules for a in get_module_attribute_map()[m]
                if not a["path"]]
    assert tables["patientAndStudy"] == keywords


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "meshseg", "segment", *map(str, args)],
                          capture_output=True, text=True, check=False, cwd=cwd,
                          env={"PYTHONPATH": str(ROOT / "py"), "PATH": "/usr/bin:/bin"})


def _seg_against_labels(seg_path, labels_path, source_paths):
    """Voxels where the SEG differs from the label NIfTI on the source frames (whose
    pixels lie on the label grid: checked)."""
    image = nib.load(labels_path)
    affine, shape, ordered = grid_of(source_paths)
    assert image.shape == shape and np.allclose(image.affine, affine, atol=1e-3)
    labels = np.asarray(image.dataobj).astype(np.uint8)
    expected = frames_of(labels, ordered)
    got = read_back(seg_path, list(expected))
    return sum(int(np.count_nonzero(g != e)) for g, e in zip(got, expected.values(),
                                                             strict=True)), labels


def _no_patient_data(path, headers):
    content = Path(path).read_bytes()
    content = gzip.decompress(content) if content[:2] == b"\x1f\x8b" else content
    leaks = [value.encode() for value in PATIENT.values()] + [b"DOE", b"JANE"]
    leaks += [str(h.PatientName).encode() for h in headers if str(h.PatientName)]
    return not any(leak in content for leak in leaks)


def test_cli_segments_a_dicom_folder_or_file_and_writes_its_seg(tmp_path, oblique_series):
    models = threshold_models(tmp_path / "models")
    folder = oblique_series[0].parent
    done = _cli(folder, "-m", "sphere", "--models", models, "-o", "x.nii.gz", "--dicom-seg",
                "s.dcm", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    differing, labels = _seg_against_labels(tmp_path / "s.dcm", tmp_path / "x.nii.gz",
                                            oblique_series)
    assert differing == 0 and labels.any()
    headers = [pydicom.dcmread(p, stop_before_pixels=True) for p in oblique_series]
    assert _no_patient_data(tmp_path / "x.nii.gz", headers)
    check_references(pydicom.dcmread(tmp_path / "s.dcm"), oblique_series)
    check_valid(tmp_path / "s.dcm", "CLI, threshold model")
    done = _cli(oblique_series[7], "-m", "sphere", "--models", models, "-o", "y.nii.gz", "-q",
                cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert np.array_equal(np.asarray(nib.load(tmp_path / "y.nii.gz").dataobj), labels)
    nib.save(phantom(), tmp_path / "p.nii.gz")
    done = _cli("p.nii.gz", "-m", "sphere", "--models", models, "-o", "z.nii.gz",
                "--dicom-seg", "z.dcm", "-q", cwd=tmp_path)
    assert done.returncode == 2
    assert "p.nii.gz: a DICOM SEG references the DICOM series it segments" in done.stderr
    assert not (tmp_path / "z.nii.gz").exists() and not (tmp_path / "z.dcm").exists()
    done = _cli("p.nii.gz", "-m", "sphere", "--models", models, "-o", "z.nii.gz", "-q",
                cwd=tmp_path)
    assert done.returncode == 0, done.stderr  # the NIfTI path is as it was
    consistent(write_classic(phantom(seed=2), folder / "two", description="two", number=5,
                             order_seed=4), seed=5)
    done = _cli(folder, "-m", "sphere", "--models", models, "-o", "w.nii.gz", "-q",
                cwd=tmp_path)
    assert done.returncode == 2 and "holds 2 DICOM series: oblique_4 (24 files), two_5 (24 " \
        "files)" in done.stderr


@pytest.mark.slow
def test_cli_real_model_on_a_dicom_folder_writes_a_valid_seg(tmp_path, data_dir, models_dir):
    paths = head_series(tmp_path / "head", data_dir)
    done = _cli(tmp_path / "head", "-m", "model5_gw_ae", "--models", models_dir, "-o",
                "x.nii.gz", "--dicom-seg", "s.dcm", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "wrote s.dcm" in done.stderr
    differing, labels = _seg_against_labels(tmp_path / "s.dcm", tmp_path / "x.nii.gz", paths)
    print(f"model5_gw_ae on a {labels.shape} DICOM series: {np.count_nonzero(labels)} "
          f"labelled voxels, {differing} differ in the SEG")
    assert differing == 0 and set(np.unique(labels)) == {0, 1, 2}
    headers = [pydicom.dcmread(p, stop_before_pixels=True) for p in paths]
    assert _no_patient_data(tmp_path / "x.nii.gz", headers)
    seg = pydicom.dcmread(tmp_path / "s.dcm")
    check_references(seg, paths)
    assert [s.SegmentLabel for s in seg.SegmentSequence] == ["White Matter", "Grey Matter"]
    check_valid(tmp_path / "s.dcm", "CLI, model5_gw_ae")
