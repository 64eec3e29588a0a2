"""Helpers for the DICOM SEG tests (pytest and tests/e2e/batch.test.mjs): DICOM series
with one study and frame of reference, the label grid of a classic series, reading a SEG
back with highdicom, and dciodvfy's verdict.

Run as a script for the browser test:
``python3 tests/dicom_seg_helpers.py head OUT_DIR`` writes a head-sized series;
``python3 tests/dicom_seg_helpers.py check SEG LABELS.nii SOURCE...`` prints a JSON
verdict (differing voxels, references, dciodvfy errors and warnings, patient fields);
``python3 tests/dicom_seg_helpers.py cases DIR DATA_DIR CLASSES_JSON`` writes the source
series, labels and CLI SEGs tests/js/dicom-seg.test.mjs compares the page's writer with.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

_LPS = np.array([-1.0, -1.0, 1.0])


def consistent(paths, seed: int = 0) -> list[Path]:
    """Give every file of a series written by batch_helpers one Study and Frame of
    Reference UID (seeded), as a scanner's series has; returns the paths."""
    import pydicom
    from pydicom.uid import generate_uid

    study = generate_uid(entropy_srcs=[f"study-{seed}"])
    frame = generate_uid(entropy_srcs=[f"frame-{seed}"])
    for path in paths:
        ds = pydicom.dcmread(path)
        ds.StudyInstanceUID, ds.FrameOfReferenceUID = study, frame
        ds.StudyID, ds.StudyDate, ds.StudyTime, ds.AccessionNumber = "1", "20240102", "101500", ""
        ds.ReferringPhysicianName, ds.PatientSex = "", "F"
        ds.save_as(path, enforce_file_format=True)
    return [Path(p) for p in paths]


def head_series(folder, data_dir, seed: int = 0) -> list[Path]:
    """An oblique classic series (uint16) of the shared low-res T1 head: what a model
    segments (the shared 3-slice series is too thin to be a head scan)."""
    import nibabel as nib

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from batch_helpers import write_classic

    source = nib.load(Path(data_dir) / "nifti_space" / "RAS.nii.gz")
    data = np.asarray(source.dataobj, dtype=np.float32)
    data = np.clip(data / max(float(data.max()), 1.0) * 4000, 0, 65535).astype(np.uint16)
    rotation = nib.eulerangles.euler2mat(np.deg2rad(14), np.deg2rad(-9), np.deg2rad(6))
    affine = source.affine.copy()
    affine[:3, :3] = rotation @ affine[:3, :3]
    img = nib.Nifti1Image(data, affine)
    return consistent(write_classic(img, folder, description="head", number=7), seed)


def grid_of(paths):
    """(affine (RAS), shape, paths in slice order) of a classic series, computed here
    from its headers (not by meshseg's reader)."""
    import pydicom

    headers = [pydicom.dcmread(p, stop_before_pixels=True) for p in paths]
    orientation = np.array(headers[0].ImageOrientationPatient, dtype=float)
    row, col = orientation[:3], orientation[3:]
    normal = np.cross(row, col)
    order = sorted(range(len(paths)), key=lambda i: float(
        np.array(headers[i].ImagePositionPatient, dtype=float) @ normal))
    positions = [np.array(headers[i].ImagePositionPatient, dtype=float) for i in order]
    spacing = [float(v) for v in headers[0].PixelSpacing]
    affine = np.eye(4)
    affine[:3, 0] = row * spacing[1]
    affine[:3, 1] = col * spacing[0]
    affine[:3, 2] = (positions[-1] - positions[0]) / max(1, len(positions) - 1) \
        if len(positions) > 1 else normal
    affine[:3, 3] = positions[0]
    affine[:3] *= _LPS[:, None]
    shape = (int(headers[0].Columns), int(headers[0].Rows), len(paths))
    return affine, shape, [Path(paths[i]) for i in order]


def enhanced_grid(path):
    """(affine (RAS), shape, slice of each file frame) of one enhanced file, from its
    functional groups."""
    frames = source_frames([path])
    positions = np.array([[float(v) for v in f["position"]] for f in frames])
    orientation = np.array([float(v) for v in frames[0]["orientation"]])
    spacing = [float(v) for v in frames[0]["spacing"]]
    normal = np.cross(orientation[:3], orientation[3:])
    order = np.argsort(positions @ normal)
    affine = np.eye(4)
    affine[:3, 0] = orientation[:3] * spacing[1]
    affine[:3, 1] = orientation[3:] * spacing[0]
    affine[:3, 2] = (positions[order[-1]] - positions[order[0]]) / max(1, len(order) - 1)
    affine[:3, 3] = positions[order[0]]
    affine[:3] *= _LPS[:, None]
    rows, columns = (int(v) for v in frames[0]["shape"])
    return affine, (columns, rows, len(frames)), np.argsort(order)


def blobs(shape, seed, classes):
    """Seeded blocky labels 0..classes-1 (most voxels background), varying along every axis."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, classes, size=tuple(max(1, s // 8) + 1 for s in shape))
    coarse[rng.random(coarse.shape) < 0.5] = 0
    labels = np.kron(coarse, np.ones((8, 8, 8), dtype=np.int64))[: shape[0], : shape[1],
                                                                  : shape[2]].copy()
    if shape[2] < 8:  # thin series: vary along the slices too
        labels[..., 1::2] = np.roll(labels[..., 1::2], 5, axis=0)
    return labels.astype(np.uint8)


def cases(folder, data_dir, classes) -> list[dict]:
    """Source series with labels on their grids (uncompressed NIfTI) and the CLI writer's
    SEG of them, for comparing the page's writer: the shared 3-slice series and enhanced
    file, an oblique synthetic classic series and a synthetic enhanced file (frames stored
    out of order)."""
    import dataclasses

    import nibabel as nib

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from batch_helpers import phantom, write_classic, write_enhanced
    from meshseg.export.dicom_seg import write
    from meshseg.export.outcome import Outcome
    from test_pipeline import card

    folder = Path(folder)
    made = {}
    shared = folder / "shared"
    shared.mkdir(parents=True, exist_ok=True)
    for name in ("1-001.dcm", "1-002.dcm", "1-003.dcm"):
        shutil.copyfile(Path(data_dir) / "dicom" / name, shared / name)
    made["shared"] = sorted(shared.glob("*.dcm"))
    made["oblique"] = consistent(write_classic(phantom(), folder / "oblique"), seed=3)
    made["enhanced"] = [write_enhanced(phantom(), folder / "enhanced" / "e.dcm")]
    shutil.copyfile(Path(data_dir) / "dicom" / "enh.dcm", folder / "enh.dcm")
    made["shared-enhanced"] = [folder / "enh.dcm"]
    model = dataclasses.replace(card("model5_gw_ae"), title="test", classes=classes)
    out = []
    for seed, (name, paths) in enumerate(made.items()):
        if len(paths) == 1:
            affine, shape, _ = enhanced_grid(paths[0])
        else:
            affine, shape, _ = grid_of(paths)
        labels = blobs(shape, seed, len(classes))
        image = nib.Nifti1Image(labels, affine)
        image.set_sform(affine, code=1)
        nifti = folder / f"{name}_labels.nii"
        nib.save(image, nifti)
        outcome = Outcome(labels=labels, image=image, scan=None, card=model, rows=[],
                          name=name, source=paths[0].parent if len(paths) > 1 else paths[0])
        python_seg = folder / f"{name}_python_seg.dcm"
        python_seg.write_bytes(write(outcome, name=python_seg.name))
        out.append({"name": name, "sources": [str(p) for p in paths], "labels": str(nifti),
                    "pythonSeg": str(python_seg)})
    return out


def frames_of(labels, sorted_paths) -> dict:
    """{SOPInstanceUID: the (rows, columns) frame of `labels` (on grid_of's grid)}."""
    import pydicom

    return {pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID: labels[:, :, k].T
            for k, p in enumerate(sorted_paths)}


def read_back(seg_path, uids) -> np.ndarray:
    """The SEG's label map (segment numbers) on the source instances `uids`, in order."""
    import highdicom as hd

    seg = hd.seg.segread(seg_path)
    return seg.get_pixels_by_source_instance(list(uids), combine_segments=True,
                                             skip_overlap_checks=True)


def dciodvfy(path) -> tuple[list[str], list[str]]:
    """(error lines, warning lines) of dicom3tools' dciodvfy on `path`; None without it."""
    if not shutil.which("dciodvfy"):
        return None
    done = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, check=False)
    lines = (done.stdout + done.stderr).splitlines()
    return ([line for line in lines if line.startswith("Error")],
            [line for line in lines if line.startswith("Warning")])


def source_frames(sources) -> list[dict]:
    """Every source frame: ``uid``, ``frame`` (number in an enhanced file, else None),
    ``position``, ``orientation``, ``spacing``, ``shape`` (classic files or one enhanced)."""
    import pydicom

    frames = []
    for path in sources:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        if "PerFrameFunctionalGroupsSequence" not in ds:
            frames.append({"uid": ds.SOPInstanceUID, "frame": None,
                           "position": ds.ImagePositionPatient,
                           "orientation": ds.ImageOrientationPatient,
                           "spacing": ds.PixelSpacing, "shape": (ds.Rows, ds.Columns)})
            continue
        shared = ds.SharedFunctionalGroupsSequence[0]
        for number, group in enumerate(ds.PerFrameFunctionalGroupsSequence, start=1):
            def item(sequence, group=group, shared=shared):
                return (group if sequence in group else shared)[sequence][0]
            frames.append({"uid": ds.SOPInstanceUID, "frame": number,
                           "position": item("PlanePositionSequence").ImagePositionPatient,
                           "orientation": item("PlaneOrientationSequence")
                           .ImageOrientationPatient,
                           "spacing": item("PixelMeasuresSequence").PixelSpacing,
                           "shape": (ds.Rows, ds.Columns)})
    return frames


def on_grid(labels, affine, frame) -> tuple[np.ndarray, float]:
    """The labels at a source frame's pixel centres, for a frame whose pixels lie on the
    label grid (native space), and how far off-grid the worst pixel centre is (voxels)."""
    rows, columns = int(frame["shape"][0]), int(frame["shape"][1])
    orientation = np.array([float(v) for v in frame["orientation"]])
    row_spacing, column_spacing = (float(v) for v in frame["spacing"])
    r, c = np.meshgrid(np.arange(rows), np.arange(columns), indexing="ij")
    lps = (np.array([float(v) for v in frame["position"]])[:, None, None]
           + orientation[:3, None, None] * column_spacing * c
           + orientation[3:, None, None] * row_spacing * r)
    ras = lps * _LPS[:, None, None]
    inverse = np.linalg.inv(affine)
    where = np.tensordot(inverse[:3, :3], ras, axes=1) + inverse[:3, 3, None, None]
    index = np.rint(where).astype(int)
    inside = np.all((index >= 0) & (index < np.array(labels.shape)[:, None, None]), axis=0)
    values = np.zeros((rows, columns), np.uint8)
    values[inside] = labels[index[0][inside], index[1][inside], index[2][inside]]
    return values, float(np.abs(where - np.rint(where)).max())


def check(seg_path, labels_path, sources) -> dict:
    """What the page and node tests assert about a SEG: voxels that differ from its label
    NIfTI on every source frame (pixel centres mapped onto the label grid here, not by
    meshseg), references, dciodvfy, patient fields in the SEG and in the label NIfTI."""
    import gzip

    import highdicom as hd
    import nibabel as nib
    import pydicom

    image = nib.load(labels_path)
    labels = np.asarray(image.dataobj).astype(np.uint8)
    frames = source_frames(sources)
    seg = hd.seg.segread(seg_path)
    differing, off_grid, labelled = 0, 0.0, 0
    for frame in frames:
        expected, off = on_grid(labels, image.affine, frame)
        off_grid, labelled = max(off_grid, off), labelled + int(np.count_nonzero(expected))
        if frame["frame"] is None:
            got = seg.get_pixels_by_source_instance([frame["uid"]], combine_segments=True,
                                                    skip_overlap_checks=True)[0]
        else:
            got = seg.get_pixels_by_source_frame(frame["uid"], [frame["frame"]],
                                                 combine_segments=True,
                                                 skip_overlap_checks=True)[0]
        differing += int(np.count_nonzero(got != expected))
    headers = [pydicom.dcmread(p, stop_before_pixels=True) for p in sources]
    raw = Path(labels_path).read_bytes()
    raw = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    name = str(headers[0].get("PatientName", ""))
    verdict = dciodvfy(seg_path)
    referenced = seg.ReferencedSeriesSequence[0]
    return {
        "differing": differing, "offGrid": off_grid, "labelled": labelled,
        "frames": len(frames),
        "series": referenced.SeriesInstanceUID == headers[0].SeriesInstanceUID,
        "instances": sorted(i.ReferencedSOPInstanceUID
                            for i in referenced.ReferencedInstanceSequence)
        == sorted(ds.SOPInstanceUID for ds in headers),
        "study": seg.StudyInstanceUID == headers[0].StudyInstanceUID,
        "frameOfReference": seg.FrameOfReferenceUID == headers[0].FrameOfReferenceUID,
        "patient": str(seg.PatientName) == name and seg.PatientID == headers[0].PatientID,
        "segments": [str(s.SegmentLabel) for s in seg.SegmentSequence],
        "codes": [[s.SegmentedPropertyCategoryCodeSequence[0].CodeValue,
                   s.SegmentedPropertyTypeCodeSequence[0].CodeValue,
                   s.SegmentedPropertyTypeCodeSequence[0].CodeMeaning] for s in
                  seg.SegmentSequence],
        "lab": [list(s.get("RecommendedDisplayCIELabValue", [])) for s in seg.SegmentSequence],
        "niftiHasPatient": bool(name) and (name.encode() in raw
                                           or str(headers[0].PatientID).encode() in raw),
        "errors": None if verdict is None else verdict[0],
        "warnings": None if verdict is None else verdict[1],
    }


if __name__ == "__main__":
    if sys.argv[1] == "head":
        written = head_series(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else
                              Path(__file__).resolve().parents[2] / "shared" / "data")
        print(json.dumps([str(p) for p in written]))
    elif sys.argv[1] == "check":
        print(json.dumps(check(sys.argv[2], sys.argv[3], sys.argv[4:])))
    elif sys.argv[1] == "cases":
        print(json.dumps(cases(sys.argv[2], sys.argv[3], json.loads(sys.argv[4]))))
    else:
        sys.exit(f"unknown command {sys.argv[1]!r}: head | check | cases")
