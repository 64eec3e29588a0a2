"""Files for the page's robustness test (tests/e2e/robustness.test.mjs).

``python3 tests/page_corpus.py FOLDER`` writes the awkward-input corpus
(:func:`corpus.make_corpus`) plus a ~90-byte .nii.gz whose header claims 1024^3
voxels and a 512 x 512 x 256 int16 head phantom, and prints them as JSON.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import sys
from pathlib import Path

import nibabel as nib
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import make_corpus  # noqa: E402


def huge_header(path: Path) -> Path:
    """A gzipped NIfTI-1 header claiming 1024^3 uint8 voxels, with no voxels after it."""
    header = nib.Nifti1Header()
    header.set_data_shape((1024, 1024, 1024))
    header.set_data_dtype(np.uint8)
    header.set_zooms((0.25, 0.25, 0.25))
    raw = header.binaryblock + b"\0\0\0\0"
    path.write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))
    return path


def big_scan(path: Path, seed: int = 7) -> Path:
    """A 512 x 512 x 256 int16 head phantom (0.5 x 0.5 x 1 mm), uncompressed (134 MB)."""
    rng = np.random.default_rng(seed)
    shape = (512, 512, 256)
    i, j, k = np.ogrid[:shape[0], :shape[1], :shape[2]]
    r = ((i - 256) / 150.0) ** 2 + ((j - 256) / 190.0) ** 2 + ((k - 128) / 95.0) ** 2
    data = np.where(r < 1, 700, 0).astype(np.int16)
    data[r < 0.8] = 1100
    data += rng.integers(0, 40, size=shape, dtype=np.int16)
    affine = np.diag([0.5, 0.5, 1.0, 1.0])
    affine[:3, 3] = [-128, -128, -128]
    nib.save(nib.Nifti1Image(data, affine), str(path))
    return path


def viewer_expectation(path: Path) -> dict:
    """What the page's viewer must hold for the scan at ``path``: the shape and the sum of
    the copy the worker sends it (meshseg.service.viewer_copy of the loaded scan)."""
    from meshseg.loading import load_scan
    from meshseg.service import viewer_copy

    shown = viewer_copy(load_scan(str(path)).image)
    data = np.asanyarray(shown.dataobj)
    return {"dims": [int(n) for n in shown.shape[:3]], "sum": float(data.sum(dtype=np.float64))}


def main(folder: str) -> int:
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    cases = [dataclasses.asdict(case) for case in make_corpus(out / "corpus")]
    print(json.dumps({
        "corpus": str(out / "corpus"), "cases": cases,
        "hugeHeader": str(huge_header(out / "claims_1024_cubed.nii.gz")),
        "bigScan": str(big_scan(out / "big_512x512x256_int16.nii")),
        "bigScanViewer": viewer_expectation(out / "big_512x512x256_int16.nii"),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
