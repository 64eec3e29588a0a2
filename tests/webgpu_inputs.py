"""A small seeded phantom for the WebGPU-vs-WASM browser test (tests/e2e/webgpu.test.mjs).

``python3 tests/webgpu_inputs.py FOLDER`` writes ``phantom.nii.gz`` and prints, as JSON, its
path and the sizes of its block and cube (below), from which the test computes each
model's input grid after the crop and checks it against the run's work record.

The phantom is stored on the models' own grid (1 mm, LIA, uint8 with more than 0.1 % of
its non-zero voxels at 255), so MeshSeg's conform and intensity scaling leave its values
as they are and the network sees exactly this design:

* 64^3 voxels of 0 (MeshSeg refuses scans under 60 mm along an axis), with a central
  28^3 block above 0: model5_gw_ae crops to the voxels above the minimum plus 18 voxels,
  a 64^3 input;
* in that block a 4-voxel shell at 30 (below 0.2 of the maximum) around a 20^3 cube of
  52 or more (above 0.2 x 255 = 51): model18cls crops to the voxels above 0.2 of the
  maximum, a 20^3 input;
* in the cube, a miniature head (nested ellipsoids: bright rim, dark gap, grey, white)
  on a background of 62, plus seeded noise, found by a search so that model18cls labels
  four classes on it (about 500 voxels; an empty result would make the comparison weak).
  Neither model is trained on such a thing. model5_gw_ae labels nothing on any 28 mm
  object, real anatomy included (it needs brain-sized context: of t1_crop's own tensor it
  labels a 64^3 centre cut but almost nothing of a 48^3 one inside zeros), so the test
  also compares the confidence maps, which vary here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nibabel as nib
import numpy as np

SHAPE = (64, 64, 64)
BLOCK = 28
CUBE = 20
SHELL_VALUE = 30
CUBE_VALUE = 62
CUBE_FLOOR = 52  # every cube voxel stays above 0.2 of the maximum
NOISE_SD = 5.0  # also gives the scan more than 64 distinct values (not a label map)
SEED = 20240610
# (radii in voxels, value), outer first: each ellipsoid overwrites the previous ones.
ELLIPSOIDS = (
    ((9.8, 9.4, 8.6), 255),
    ((7.1, 6.8, 6.2), 0),  # the gap: the clip raises it to CUBE_FLOOR, without noise
    ((5.1, 4.9, 4.4), 100),
    ((4.2, 4.1, 3.7), 217),
)


def _centred(size: int, shape=SHAPE) -> tuple[slice, ...]:
    low = [(n - size) // 2 for n in shape]
    return tuple(slice(a, a + size) for a in low)


def cube(seed=SEED) -> np.ndarray:
    """The 20^3 miniature head (float, before clipping)."""
    centre = (CUBE - 1) / 2
    i, j, k = np.indices((CUBE,) * 3)
    data = np.full((CUBE,) * 3, float(CUBE_VALUE))
    for radii, value in ELLIPSOIDS:
        r2 = sum(((axis - centre) / radius) ** 2
                 for axis, radius in zip((i, j, k), radii, strict=True))
        data[r2 < 1] = value
    return data + np.random.default_rng(seed).normal(0.0, NOISE_SD, data.shape)


def lia_affine(shape=SHAPE) -> np.ndarray:
    """1 mm LIA voxel-to-world affine with the volume's centre at the world origin."""
    affine = np.array([[-1.0, 0, 0, 0], [0, 0, 1.0, 0], [0, -1.0, 0, 0], [0, 0, 0, 1.0]])
    affine[:3, 3] = -affine[:3, :3] @ ((np.asarray(shape) - 1) / 2)
    return affine


def phantom(seed=SEED) -> nib.Nifti1Image:
    """The whole 64^3 uint8 phantom on the LIA grid."""
    data = np.zeros(SHAPE, np.uint8)
    data[_centred(BLOCK)] = SHELL_VALUE
    data[_centred(CUBE)] = np.clip(np.rint(cube(seed)), CUBE_FLOOR, 255).astype(np.uint8)
    affine = lia_affine()
    img = nib.Nifti1Image(data, affine)
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    return img


def main(folder: str) -> int:
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "phantom.nii.gz"
    nib.save(phantom(), str(path))
    print(json.dumps({"phantom": str(path), "shape": list(SHAPE), "block": BLOCK, "cube": CUBE,
                      "seed": SEED}))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
