"""A seeded corpus of awkward inputs with the outcome each must give (TorchIO tests/utils.py style).

``make_corpus(folder)`` writes small files (at most about 1 million voxels) into
`folder` and returns one :class:`Case` per file: its name, the expected outcome
kind (``result``: finished without warnings; ``warning``: finished with exactly
one plausibility warning; ``error``: refused with an ``InputImageError``) and a
text fragment that the error, the warning or (for results) a notice must contain.

The synthetic head is a phantom for a transparent fake model that labels every
voxel whose normalised intensity exceeds 0.5 (see :func:`threshold`): a bright
"brain" ellipsoid (value 100, 1,273 mL at scale 1) inside a dimmer "scalp"
ellipsoid (30), in a dark background (0), with Gaussian noise. ``truth_ml`` is the
brain volume counted on the file's own grid, so results can be checked in mL.
Files are meant for the CLI and the API (tests/test_corpus.py) and the browser.
"""

from __future__ import annotations

import gzip
import struct
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

BRAIN_AXES_MM = (65.0, 85.0, 55.0)   # 4/3 pi abc = 1,273 mL
SCALP_AXES_MM = (78.0, 98.0, 70.0)
HEAD_SHAPE = (88, 108, 84)           # at 2 mm: 176 x 216 x 168 mm
CORPUS_SIZE = 47                     # len(make_corpus(folder)), for test parametrisation
T1 = "T1-weighted brain MRI (whole head)"
ANY = "Any head MRI contrast or CT"


@dataclass(frozen=True)
class Case:
    """One corpus file and what it must give.

    Attributes
    ----------
    file : str
        Path relative to the corpus folder (may contain a sub-folder).
    outcome : str
        ``"result"``, ``"warning"`` or ``"error"``.
    fragment : str
        Text the error / the warning / one of the notices must contain ("" for none).
    truth_ml : float or None
        Expected labelled volume in mL with the fake threshold model (within 5%).
    expects : str
        What the model must accept: ``T1`` (an MRI-only card) or ``ANY`` (CT too).
    """

    file: str
    outcome: str
    fragment: str = ""
    truth_ml: float | None = None
    expects: str = T1

    @property
    def id(self) -> str:
        return self.file


def threshold(model_id, tensor) -> np.ndarray:
    """The transparent fake model: label 1 where the normalised input exceeds 0.5."""
    return (tensor[0, 0] > 0.5).astype(np.uint8)


def centred_affine(shape, zooms=(2.0, 2.0, 2.0), centre_mm=(0.0, 0.0, 0.0), axes="RAS",
                   rotation_deg=(0.0, 0.0, 0.0)) -> np.ndarray:
    """Voxel-to-world affine whose voxel (shape - 1) / 2 lies at `centre_mm`."""
    ornt = nib.orientations.axcodes2ornt(tuple(axes))
    linear = np.zeros((3, 3))
    for voxel_axis, (world_axis, flip) in enumerate(ornt):
        linear[int(world_axis), voxel_axis] = flip * zooms[voxel_axis]
    for axis, degrees in enumerate(rotation_deg):
        c, s = np.cos(np.deg2rad(degrees)), np.sin(np.deg2rad(degrees))
        rot = np.eye(3)
        i, j = [a for a in range(3) if a != axis]
        rot[i, i], rot[i, j], rot[j, i], rot[j, j] = c, -s, s, c
        linear = rot @ linear
    affine = np.eye(4)
    affine[:3, :3] = linear
    affine[:3, 3] = np.asarray(centre_mm, float) - linear @ ((np.asarray(shape) - 1) / 2)
    return affine


def phantom(shape=HEAD_SHAPE, affine=None, *, head_mm=(0.0, 0.0, 0.0), brain_scale=1.0,
            noise=3.0, seed=0) -> tuple[np.ndarray, float]:
    """Head phantom values (float64) on a grid, and the brain's volume on that grid in mL."""
    affine = centred_affine(shape) if affine is None else affine
    ijk = np.indices(shape, dtype=np.float64).reshape(3, -1)
    xyz = affine[:3, :3] @ ijk + affine[:3, 3:4] - np.reshape(head_mm, (3, 1))

    def inside(axes):
        return (((xyz / np.reshape(axes, (3, 1))) ** 2).sum(axis=0) <= 1.0).reshape(shape)

    brain = inside(np.asarray(BRAIN_AXES_MM) * brain_scale)
    data = np.where(brain, 100.0, np.where(inside(SCALP_AXES_MM), 30.0, 0.0))
    data += np.random.default_rng(seed).normal(0.0, noise, shape)
    voxel_ml = abs(np.linalg.det(affine[:3, :3])) / 1000.0
    return data, float(brain.sum() * voxel_ml)


def nifti(data, affine, dtype=np.float32, cls=nib.Nifti1Image, codes=(1, 1)):
    """A NIfTI image with qform/sform codes set."""
    img = cls(np.asarray(data).astype(dtype), affine)
    img.set_qform(affine, code=codes[0])
    img.set_sform(affine, code=codes[1])
    return img


def patched(content: bytes, **fields) -> bytes:
    """Uncompressed little-endian NIfTI-1 bytes with raw header fields overwritten.

    Fields: ``dim0``, ``pixdim`` (3 values), ``vox_offset``, ``scl`` (slope, inter),
    ``codes`` (qform_code, sform_code).
    """
    out = bytearray(content)
    if "dim0" in fields:
        out[40:42] = struct.pack("<h", fields["dim0"])
    if "pixdim" in fields:
        out[80:92] = struct.pack("<3f", *fields["pixdim"])
    if "vox_offset" in fields:
        out[108:112] = struct.pack("<f", fields["vox_offset"])
    if "scl" in fields:
        out[112:120] = struct.pack("<2f", *fields["scl"])
    if "codes" in fields:
        out[252:256] = struct.pack("<2h", *fields["codes"])
    return bytes(out)


def make_corpus(folder) -> list[Case]:
    """Write the corpus into `folder` and return its cases (same files for the same seed)."""
    folder = Path(folder)
    cases: list[Case] = []

    def write(file, content, case_outcome, fragment="", truth_ml=None, expects=T1):
        path = folder / file
        path.parent.mkdir(parents=True, exist_ok=True)
        if not isinstance(content, (bytes, bytearray)):
            content = content.to_bytes()
        if file.endswith((".gz", ".mgz")) and content[:2] != b"\x1f\x8b":
            content = gzip.compress(bytes(content), compresslevel=1, mtime=0)
        path.write_bytes(content)
        cases.append(Case(file, case_outcome, fragment, truth_ml, expects))

    affine = centred_affine(HEAD_SHAPE)
    head, head_ml = phantom(seed=1)
    raw = nifti(head, affine).to_bytes()

    # --- results: awkward but fine -----------------------------------------------------
    write("head_float32.nii.gz", nifti(head, affine), "result", "", head_ml)
    write("head_int16.nii", nifti(np.round(head * 10), affine, np.int16), "result", "", head_ml)
    uint8 = np.clip(np.round(head * 2), 0, 255)
    write("head_uint8.mgz", nib.MGHImage(uint8.astype(np.uint8), affine), "result", "", head_ml)
    oblique = centred_affine(HEAD_SHAPE, axes="LAS", rotation_deg=(10.0, -5.0, 8.0))
    data, ml = phantom(affine=oblique, seed=2)
    write("head_oblique_las.nii.gz", nifti(data, oblique), "result", "", ml)
    four_d = np.stack([head, head[::-1]], axis=-1)
    write("head_4d.nii.gz", nifti(four_d, affine), "result", "4D: using the first", head_ml)
    write("head_nifti2.nii", nifti(head, affine, cls=nib.Nifti2Image), "result", "", head_ml)
    scaled = patched(nifti(np.round(head * 4), affine, np.int16).to_bytes(), scl=(0.25, 10.0))
    write("head_scaled_int16.nii", scaled, "result", "", head_ml)
    big = nib.Nifti1Image(head.astype(">f4"), affine, nib.Nifti1Header(endianness=">"))
    big.set_qform(affine, code=1)
    big.set_sform(affine, code=1)
    write("head_big_endian.nii", big, "result", "", head_ml)
    # MRI stored with an offset (background -1024, max < 0): tests the conform padding
    write("head_negative_offset.nii.gz", nifti(np.round(head * 4) - 1024, affine, np.int16),
          "result", "", head_ml)
    with_nan = head.copy()
    with_nan.flat[np.random.default_rng(3).choice(head.size, 500, replace=False)] = np.nan
    write("head_few_nan.nii.gz", nifti(with_nan, affine), "result", "Replaced 500 NaN", head_ml)
    moved = nifti(head, affine)
    sform = affine.copy()
    sform[:3, 3] += (3.0, 0.0, 0.0)
    moved.set_sform(sform, code=2)
    write("head_qform_sform_differ.nii", moved, "result", "disagree by up to 3 mm", head_ml)
    write("head_vox_offset0.nii", patched(raw, vox_offset=0.0), "result",
          "vox_offset is 0", head_ml)
    write("head_pixdim0_with_sform.nii", patched(raw, pixdim=(0.0, 0.0, 0.0)), "result",
          "the sform gives the geometry", head_ml)
    write("head_bad_qform_code.nii", patched(raw, codes=(9, 1)), "result",
          "nibabel: the header needed a repair: qform_code 9 not valid", head_ml)
    thick_shape = (88, 108, 34)
    thick = centred_affine(thick_shape, zooms=(2.0, 2.0, 5.0))
    data, ml = phantom(thick_shape, thick, seed=4)
    write("head_thick_5mm.nii.gz", nifti(data, thick), "result", "thick slices (5 mm", ml)
    wide_shape = (128, 128, 128)
    wide = centred_affine(wide_shape, zooms=(3.9, 3.9, 3.9))
    data, ml = phantom(wide_shape, wide, seed=5)
    write("head_fov500_centred.nii.gz", nifti(data, wide), "result",
          "more than the model's 256 mm grid", ml)
    write("head_negative_noise.nii", nifti(head - 4.0, affine), "result", "", head_ml)
    zscored = (head - head.mean()) / head.std()
    write("head_zscored.nii.gz", nifti(zscored, affine), "result", "", head_ml)

    # --- warnings: the run finishes, the result looks wrong --------------------------------
    xyz = np.indices(HEAD_SHAPE).reshape(3, -1).T * 2.0 - (np.asarray(HEAD_SHAPE) - 1)
    inside_spot = (np.linalg.norm(xyz - (20.0, 10.0, 0.0), axis=1) <= 18.0).reshape(HEAD_SHAPE)
    spot = head * 0.3 + np.where(inside_spot, 1000.0, 0.0)  # 24 mL far brighter than the head
    spot_affine = affine
    write("bright_spot_only.nii.gz", nifti(spot, spot_affine), "warning",
          "The result is nearly empty")
    data, ml = phantom(affine=affine, brain_scale=0.6, seed=7)
    write("brain_too_small.nii.gz", nifti(data, affine), "warning",
          "below the plausible range for a human brain", ml)
    large_shape = (100, 124, 96)
    large = centred_affine(large_shape)
    data, ml = phantom(large_shape, large, brain_scale=1.22, seed=8)
    data = np.where(data > 65, data, np.minimum(data, 20.0))  # scalp inside the big brain
    write("brain_too_large.nii.gz", nifti(data, large), "warning",
          "above the plausible range for a human brain", ml)
    bright = np.random.default_rng(9).normal(100.0, 3.0, HEAD_SHAPE)
    bright[:, :, :12] = 0.0
    write("bright_everywhere.nii.gz", nifti(bright, affine), "warning",
          "Most of the image is labelled")
    slab_shape = (88, 108, 40)
    slab = centred_affine(slab_shape)
    data, ml = phantom(slab_shape, slab, seed=10)
    write("brain_cut_by_slab.nii.gz", nifti(data, slab), "warning",
          "touch the edge of the scan's field of view", ml)
    data, ml = phantom(wide_shape, wide, head_mm=(0.0, 0.0, 110.0), seed=11)
    write("head_fov500_offcentre.nii.gz", nifti(data, wide), "warning",
          "touch the edge of the model's grid")

    # --- refused before inference -----------------------------------------------------------
    rng = np.random.default_rng(12)
    codes = np.array([0, 2, 4, 5, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 24, 26, 28, 30, 31,
                      41, 43, 44, 46, 47, 49, 50, 51, 52, 53, 54, 58, 60, 62, 63, 77, 85, 251])
    labels = np.where(head > 65, rng.choice(codes[1:], HEAD_SHAPE), 0)
    write("aseg_labels.nii.gz", nifti(labels, affine, np.int16), "error", "label image")
    write("brain_mask.nii", nifti(head > 65, affine, np.uint8), "error", "2 distinct integer")
    write("sub dir/labels in a folder.nii.gz", nifti(labels, affine, np.int16), "error",
          "labels in a folder.nii.gz: looks like a label image")
    tmap = rng.normal(0.0, 0.3, HEAD_SHAPE) * (head > 65)
    tmap += 6.0 * np.exp(-((xyz - (20.0, 0.0, 10.0)) ** 2).sum(1) / 200.0).reshape(HEAD_SHAPE)
    tmap -= 4.0 * np.exp(-((xyz - (-30.0, 20.0, 0.0)) ** 2).sum(1) / 300.0).reshape(HEAD_SHAPE)
    write("spm_tmap.nii.gz", nifti(tmap, affine), "error", "looks like a statistical map")
    hu = np.where(head > 65, 35.0, np.where(head > 20, 1000.0, -1000.0)) + rng.normal(0, 5,
                                                                                       HEAD_SHAPE)
    write("head_ct_hu.nii.gz", nifti(np.round(hu), affine, np.int16), "error",
          "looks like a CT in Hounsfield units")
    stack_shape = (88, 108, 18)
    stack = centred_affine(stack_shape, zooms=(2.0, 2.0, 10.0))
    write("slices_10mm.nii.gz", nifti(phantom(stack_shape, stack, seed=13)[0], stack), "error",
          "stack of 2D slices 10 mm apart")
    write("tiny_fov.nii", nifti(rng.normal(50, 5, (20, 20, 50)), centred_affine((20, 20, 50))),
          "error", "too small to be a head")
    write("pixdim_zero.nii", patched(raw, pixdim=(0.0, 2.0, 2.0), codes=(1, 0)), "error",
          "zero voxel sizes in its header (pixdim[1] = 0)")
    write("pixdim_negative.nii", patched(raw, pixdim=(2.0, -2.0, 2.0), codes=(1, 0)), "error",
          "negative voxel sizes in its header (pixdim[2] = -2)")
    write("pixdim_nan.nii", patched(raw, pixdim=(2.0, 2.0, np.nan), codes=(0, 0)), "error",
          "invalid voxel sizes in its header (pixdim[3] = nan)")
    mgh = bytearray(nib.MGHImage(uint8.astype(np.uint8), affine).to_bytes())
    mgh[30:42] = struct.pack(">3f", 2.0, 0.0, 2.0)  # delta (voxel sizes)
    write("delta_zero.mgh", bytes(mgh), "error", "zero voxel sizes in its header (delta[2] = 0)")
    write("dim0_is_8.nii", patched(raw, dim0=8), "error", "dim[0] = 8")
    write("vox_offset0_no_gap.nii", patched(raw, vox_offset=0.0)[:348] + raw[352:], "error",
          "vox_offset = 0")
    write("vox_offset_100.nii", patched(raw, vox_offset=100.0), "error", "vox offset 100 too low")
    write("huge_scl_inter.nii", patched(raw, scl=(1.0, 1e10)), "error", "wipes out its contrast")
    claims = nib.Nifti1Header()
    claims.set_data_shape((512, 512, 256))
    claims.set_data_dtype(np.float64)
    claims.set_zooms((1.0, 1.0, 1.0))
    write("claims_512x512x256.nii.gz", claims.binaryblock + b"\x00" * 4, "error", "is truncated")
    write("cut_short.nii.gz", gzip.compress(raw, mtime=0)[:30000], "error", "truncated gzip")
    write("notes.nii", b"subject,age\nA,42\n", "error", "is a text file")
    write("empty.nii.gz", b"", "error", "is empty (0 bytes)")
    mostly_nan = head.copy()
    mostly_nan[:30] = np.nan
    write("mostly_nan.nii", nifti(mostly_nan, affine), "error", "NaN (not-a-number) voxels")
    infinite = head.copy()
    infinite.flat[[10, 20]] = np.inf
    write("infinite.nii", nifti(infinite, affine), "error", "2 infinite voxel values")
    write("constant.nii.gz", nifti(np.full(HEAD_SHAPE, 7.0), affine), "error", "is blank")
    write("slice_2d.nii", nifti(head[:, :, 40:41], affine), "error", "is a 2D image")
    return cases
