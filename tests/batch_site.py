"""Test fixtures for the page's batch (tests/e2e/batch.test.mjs, bench/batch-memory.mjs).

``site``: a copy of a built dist/ (hard links) with one more model, ``sphere``: a real
ONNX thresholding rule on a 96^3 grid (tests/batch_helpers.threshold_models), so a batch
of many scans runs in seconds. ``data``: NIfTI scans, a bad file, DICOM series (classic
and enhanced, several transfer syntaxes) written from an oblique phantom, and a ZIP
holding a folder of DICOM.

    PYTHONPATH=py:tests python3 tests/batch_site.py site dist /tmp/site
    PYTHONPATH=py:tests python3 tests/batch_site.py data /tmp/batch-data
    PYTHONPATH=py:tests python3 tests/batch_site.py check batch.zip [reference-scan-name]
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_site(dist, out, model_id="sphere") -> Path:
    """`out`: `dist` hard-linked, plus the thresholding model in models/index.json."""
    sys.path.insert(0, str(ROOT))
    import build

    from batch_helpers import threshold_models

    dist, out = Path(dist), Path(out)
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(dist, out, copy_function=os.link)
    extra = threshold_models(out / "models" / ".extra", model_id=model_id)
    shutil.move(str(extra / model_id), str(out / "models" / model_id))
    card = json.loads((extra / "index.json").read_text())["models"][0]
    shutil.rmtree(extra)
    index_path = out / "models" / "index.json"
    index = json.loads(index_path.read_text())
    index["models"] = [m for m in index["models"] if m["id"] != model_id] + [card]
    build.replace_bytes(index_path, (json.dumps(index, indent=2) + "\n").encode())
    for name in ("models/index.json", build.SW_FILE):
        for suffix in (".br", ".gz"):
            sibling = out / (name + suffix)
            if sibling.exists():
                sibling.unlink()
    build.write_service_worker(out)
    return out


def make_data(out) -> dict:
    """Scans for the batch tests; returns their paths by role."""
    import nibabel as nib
    from pydicom.uid import JPEG2000Lossless, JPEGLSLossless, RLELossless

    from batch_helpers import phantom, write_classic, write_enhanced

    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    img = phantom()
    paths = {"nifti": []}
    for seed in range(3):
        path = out / f"scan{seed + 1}.nii.gz"
        nib.save(phantom(seed=seed), path)
        paths["nifti"].append(str(path))
    bad = out / "broken.nii.gz"
    bad.write_bytes(b"\x1f\x8b this is not a scan")
    paths["bad"] = str(bad)
    write_classic(img, out / "dicom" / "classic", description="T1 classic", number=3)
    write_classic(img, out / "dicom" / "classic_ls", syntax=JPEGLSLossless, description="T1 LS",
                  number=7)
    write_enhanced(img, out / "dicom" / "enhanced_rle" / "enh.dcm", syntax=RLELossless,
                   description="T1 enhanced", number=5)
    try:
        write_classic(img, out / "dicom" / "j2k", syntax=JPEG2000Lossless,
                      description="T1 J2K", number=9)
        paths["j2k"] = str(out / "dicom" / "j2k")
    except Exception as err:  # noqa: BLE001 - no JPEG 2000 encoder here: leave it out
        print(f"JPEG 2000 left out: {err}", file=sys.stderr)
    paths["dicom"] = str(out / "dicom")
    archive = out / "series.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in sorted((out / "dicom" / "classic").iterdir()):
            zipped.write(path, f"zipped/{path.name}")
    paths["zip"] = str(archive)
    paths["phantom"] = str(out / "phantom.nii.gz")
    nib.save(img, paths["phantom"])
    return paths


def exports_problems(files: dict, entry: dict, affine) -> list[str]:
    """What is wrong with an entry's aseg.stats and report against its volume CSV: the
    .stats rows must be the CSV's rows (SegId and StructName by meshseg.export.freesurfer_lut,
    NVoxels = voxels, Volume_mm3 = voxels x the mask's voxel volume = ml x 1000), the report
    an HTML page showing every row's voxels and mL. An empty list: both agree."""
    import csv
    import io

    import numpy as np

    from meshseg.export.freesurfer_lut import seg_ids
    from meshseg.export.freesurfer_stats import read_stats

    outputs = entry.get("outputs") or {}
    missing = [key for key in ("aseg", "report") if outputs.get(key) not in files]
    if missing:
        return [f"{entry['name']}: no {', '.join(missing)} file in the archive"]
    rows = list(csv.DictReader(io.StringIO(files[outputs["stats"]].decode())))
    stats = read_stats(files[outputs["aseg"]].decode())["rows"]
    voxel_mm3 = abs(float(np.linalg.det(np.asarray(affine)[:3, :3])))
    problems = [] if len(stats) == len(rows) > 0 else [f"{len(stats)} .stats rows, {len(rows)} CSV"]
    ids = seg_ids([(int(r["label"]), r["name"]) for r in rows])
    for got, row, (seg_id, struct) in zip(stats, rows, ids, strict=False):
        voxels, volume = int(row["voxels"]), got["Volume_mm3"]
        if (got["SegId"], got["StructName"], got["NVoxels"]) != (seg_id, struct, voxels) \
                or abs(volume - voxels * voxel_mm3) > 0.0005 + 1e-9 \
                or abs(volume / 1000 - float(row["ml"])) > 0.0005 + 1e-9:
            problems.append(f".stats row {got} is not CSV row {row} (voxel {voxel_mm3} mm^3)")
    report = files[outputs["report"]].decode()
    if not report.lstrip().lower().startswith("<!doctype html"):
        problems.append("the report is not an HTML page")
    problems += [f"the report lacks the CSV's {row['voxels']} voxels / {row['ml']} mL"
                 for row in rows if not {f">{row['voxels']}<", f">{row['ml']}<"} <= _cells(report)]
    return [f"{entry['name']}: {problem}" for problem in problems]


def _cells(html: str) -> set:
    """Every ``>text<`` of an HTML page (its table cells among them)."""
    import re

    return set(re.findall(r">[^<>]*<", html))


def check_archive(archive, reference=None) -> dict:
    """What the e2e test asserts on a page's batch ZIP: the manifest, each mask's grid,
    whether volumes.csv equals the per-scan stats files (with each
    entry's quality cells), whether each scan's aseg.stats and
    report agree with its CSV (:func:`exports_problems`), patient fields found anywhere, and
    (with `reference`, a scan name) each other mask's Dice with the reference's mask in world
    space (nearest voxel). Each mask's ``sha256`` is that of its voxel values."""
    import csv
    import gzip
    import hashlib
    import io

    import nibabel as nib
    import numpy as np

    from batch_helpers import PATIENT
    from meshseg.batch.outputs import quality_cells

    with zipfile.ZipFile(archive) as zipped:
        files = {name: zipped.read(name) for name in zipped.namelist()}
    manifest = json.loads(files["manifest.json"])
    masks, expected_rows, export_problems = {}, [], []
    for entry in manifest["items"]:
        outputs = entry.get("outputs") or {}
        if entry["status"] == "failed":
            continue
        img = nib.Nifti1Image.from_bytes(gzip.decompress(files[outputs["mask"]]))
        masks[entry["name"]] = img
        export_problems += exports_problems(files, entry, img.affine)
        for row in csv.DictReader(io.StringIO(files[outputs["stats"]].decode())):
            expected_rows.append({"scan": entry["name"], "model": entry["model"], **row,
                                  **quality_cells(entry.get("quality"))})
    rows = list(csv.DictReader(io.StringIO(files["volumes.csv"].decode())))
    found = sorted({value for value in PATIENT.values() for name, data in files.items()
                    if not name.endswith("_seg.dcm")  # a DICOM SEG carries it by design
                    and value.encode() in (gzip.decompress(data) if name.endswith(".gz") else data)
                    or value in name})
    dice = {}
    if reference in masks:
        ref = masks[reference]
        ref_data = np.asarray(ref.dataobj) > 0
        ijk = np.indices(ref.shape).reshape(3, -1)
        world = ref.affine[:3, :3] @ ijk + ref.affine[:3, 3:]
        for name, img in masks.items():
            if name == reference:
                continue
            inverse = np.linalg.inv(img.affine)
            v = np.rint(inverse[:3, :3] @ world + inverse[:3, 3:]).astype(int)
            inside = np.all((v >= 0) & (v < np.array(img.shape)[:, None]), axis=0)
            sampled = np.zeros(v.shape[1], bool)
            data = np.asarray(img.dataobj) > 0
            sampled[inside] = data[v[0, inside], v[1, inside], v[2, inside]]
            a = ref_data.reshape(-1)
            dice[name] = float(2 * (a & sampled).sum() / max(1, a.sum() + sampled.sum()))
    return {"manifest": manifest, "names": sorted(files),
            "masks": {name: {"shape": list(img.shape), "affine": img.affine.tolist(),
                             "voxels": int((np.asarray(img.dataobj) > 0).sum()),
                             "sha256": hashlib.sha256(
                                 np.asarray(img.dataobj).tobytes()).hexdigest()}
                      for name, img in masks.items()},
            "volumesMatch": rows == expected_rows, "volumeRows": len(rows),
            "exportProblems": export_problems,
            "patientFound": found, "dice": dice}


if __name__ == "__main__":
    if sys.argv[1] == "site":
        print(make_site(sys.argv[2], sys.argv[3]))
    elif sys.argv[1] == "data":
        print(json.dumps(make_data(sys.argv[2])))
    elif sys.argv[1] == "check":
        print(json.dumps(check_archive(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)))
    else:
        sys.exit(__doc__)
