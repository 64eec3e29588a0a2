"""Helpers for the batch/DICOM tests: DICOM series written from a NIfTI phantom with
pydicom, and a models folder holding a real ONNX thresholding 'model'."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np

from synthetic import affine_from, sphere_image

PATIENT = {"PatientName": "DOE^JANE", "PatientID": "PID-31415", "PatientBirthDate": "19700101"}
_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])


def phantom(seed=0):
    """An oblique, anisotropic uint16 sphere phantom (NIfTI, RAS affine)."""
    import nibabel as nib

    affine = affine_from((0.9, 1.1, 3.0), "PSR", rotation_deg=(12, -8, 15), origin=(-20, 25, -30))
    img = sphere_image(shape=(70, 60, 24), affine=affine, centre_mm=(26, -8, 4), radius_mm=18,
                       noise=2.0, seed=seed)
    data = np.clip(np.asarray(img.dataobj) * 10 + 100, 0, 65535).astype(np.uint16)
    out = nib.Nifti1Image(data, affine)
    out.set_qform(affine, code=1)
    out.set_sform(affine, code=1)
    return out


def _geometry(img):
    lps = _LPS @ img.affine
    col_step, row_step, slice_step = lps[:3, 0], lps[:3, 1], lps[:3, 2]
    orientation = [*(col_step / np.linalg.norm(col_step)), *(row_step / np.linalg.norm(row_step))]
    spacing = [float(np.linalg.norm(row_step)), float(np.linalg.norm(col_step))]
    positions = [lps[:3, 3] + k * slice_step for k in range(img.shape[2])]
    return orientation, spacing, positions, float(np.linalg.norm(slice_step))


def _base(sop_class, syntax, series_uid, description, number):
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = syntax
    ds = FileDataset("x", {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, meta.MediaStorageSOPInstanceUID
    # one study and frame of reference per series, as a scanner writes them
    ds.StudyInstanceUID = generate_uid(entropy_srcs=[series_uid, "study"])
    ds.SeriesInstanceUID = series_uid
    ds.FrameOfReferenceUID = generate_uid(entropy_srcs=[series_uid, "frame"])
    ds.Modality, ds.SeriesDescription, ds.SeriesNumber = "MR", description, number
    for key, value in PATIENT.items():
        setattr(ds, key, value)
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    return ds


def _encode(ds, pixels, syntax):
    from pydicom.uid import ExplicitVRLittleEndian

    pixels = np.ascontiguousarray(pixels)
    if syntax == ExplicitVRLittleEndian:
        ds.PixelData = pixels.tobytes()
    else:
        ds.PixelData = pixels.tobytes()
        ds.compress(syntax, pixels)


def write_classic(img, folder, syntax=None, description="T1 classic", number=3, drop=(),
                  order_seed=1):
    """One file per slice (named in shuffled order, so file order is not slice order).

    `drop`: slice indices left out (uneven spacing). Returns the file paths.
    """
    from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

    syntax = syntax or ExplicitVRLittleEndian
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    orientation, spacing, positions, thickness = _geometry(img)
    data = np.asarray(img.dataobj)
    series_uid = generate_uid()
    slices = [k for k in range(img.shape[2]) if k not in set(drop)]
    shuffled = np.random.default_rng(order_seed).permutation(len(slices))
    paths = []
    for number_in_file, index in enumerate(shuffled, start=1):
        k = slices[index]
        ds = _base(MRImageStorage, syntax, series_uid, description, number)
        ds.InstanceNumber = int(index) + 1
        ds.ImagePositionPatient = [round(float(v), 6) for v in positions[k]]
        ds.ImageOrientationPatient = [round(float(v), 8) for v in orientation]
        ds.PixelSpacing = [round(spacing[0], 6), round(spacing[1], 6)]
        ds.SliceThickness = round(thickness, 6)
        ds.Rows, ds.Columns = img.shape[1], img.shape[0]
        _encode(ds, data[:, :, k].T, syntax)
        path = folder / f"IM{number_in_file:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def write_enhanced(img, path, syntax=None, description="T1 enhanced", number=5, order_seed=2):
    """One enhanced MR multi-frame file whose frames are stored in shuffled order."""
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence
    from pydicom.uid import EnhancedMRImageStorage, ExplicitVRLittleEndian, generate_uid

    syntax = syntax or ExplicitVRLittleEndian
    orientation, spacing, positions, thickness = _geometry(img)
    data = np.asarray(img.dataobj)
    order = np.random.default_rng(order_seed).permutation(img.shape[2])
    ds = _base(EnhancedMRImageStorage, syntax, generate_uid(), description, number)
    ds.InstanceNumber, ds.NumberOfFrames = 1, img.shape[2]
    ds.Rows, ds.Columns = img.shape[1], img.shape[0]
    shared = Dataset()
    plane, measures, transform = Dataset(), Dataset(), Dataset()
    plane.ImageOrientationPatient = [round(float(v), 8) for v in orientation]
    measures.PixelSpacing = [round(spacing[0], 6), round(spacing[1], 6)]
    measures.SliceThickness = round(thickness, 6)
    transform.RescaleSlope, transform.RescaleIntercept, transform.RescaleType = 1, 0, "US"
    shared.PlaneOrientationSequence = Sequence([plane])
    shared.PixelMeasuresSequence = Sequence([measures])
    shared.PixelValueTransformationSequence = Sequence([transform])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    frames = []
    for k in order:
        group, position, content = Dataset(), Dataset(), Dataset()
        position.ImagePositionPatient = [round(float(v), 6) for v in positions[k]]
        content.InStackPositionNumber = int(k) + 1
        group.PlanePositionSequence = Sequence([position])
        group.FrameContentSequence = Sequence([content])
        frames.append(group)
    ds.PerFrameFunctionalGroupsSequence = Sequence(frames)
    _encode(ds, np.stack([data[:, :, k].T for k in order]), syntax)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return Path(path)


def threshold_models(folder, model_id="sphere", grid=96):
    """A models folder (index.json + ONNX) with one 'model': labels = input > 0.5."""
    import onnx
    from onnx import TensorProto, helper

    from meshseg.models.index import index_to_json
    from test_pipeline import card

    folder = Path(folder)
    (folder / model_id).mkdir(parents=True, exist_ok=True)
    half = helper.make_tensor("half", TensorProto.FLOAT, [], [0.5])
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [1])
    graph = helper.make_graph(
        [helper.make_node("Greater", ["input", "half"], ["above"]),
         helper.make_node("Cast", ["above"], ["labels5"], to=TensorProto.UINT8),
         helper.make_node("Squeeze", ["labels5", "axes"], ["labels"])],
        "threshold",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, "d", "h", "w"])],
        [helper.make_tensor_value_info("labels", TensorProto.UINT8, [1, "d", "h", "w"])],
        initializer=[half, axes])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path = folder / model_id / "model.onnx"
    onnx.save(model, path)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    fake = card(model_id, grid=grid)
    fake = dataclasses.replace(fake, onnx={"file": f"{model_id}/model.onnx", "sha256": sha})
    (folder / "index.json").write_text(index_to_json([fake]), encoding="utf-8")
    json.loads((folder / "index.json").read_text())
    return folder


def dice(a, b) -> float:
    a, b = np.asarray(a) > 0, np.asarray(b) > 0
    return float(2 * np.logical_and(a, b).sum() / max(1, a.sum() + b.sum()))
