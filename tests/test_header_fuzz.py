"""Header fuzzing: seeded damage to small valid NIfTI-1/2 and MGH files through load_scan.

Every case must give a sound Scan (finite affine, positive voxel sizes, a finite 3D
array of the header's shape) or an InputImageError naming the file; nothing else may
escape, nothing may reach stderr, no case may take long. The generator lives in
tests/header_fuzz.py; a failure names the family and seed, reproduced with
``header_fuzz.case(family, seed)``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import subprocess
import time
from collections import Counter
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

import header_fuzz as fuzz
from meshseg.errors import InputImageError
from meshseg.loading import load_scan
from meshseg.models.catalog import BRAINCHOP
from meshseg.session import ScanSession

ROOT = Path(__file__).resolve().parents[1]
CASES = {"nifti1": 600, "nifti1-gz": 500, "nifti2": 500, "mgh": 500, "real": 200}
VIA_PATH_EVERY = 10  # every 10th case is written to tmp_path and loaded from its path
SLOW_CASE_S = 5.0
CONFORM_SAMPLE = 40
SMALL_GRID = {**BRAINCHOP["conform"], "shape": [96, 96, 96], "voxel_size": [2.5, 2.5, 2.5]}
PYODIDE_SAMPLE = 200


@cache
def _run(family: str, folder: str) -> dict:
    """Every case of a family: outcome counts, failures, accepted seeds, slowest case."""
    counts, failures, accepted, slowest = Counter(), [], [], (0.0, None)
    for i, case in enumerate(fuzz.cases(family, CASES[family])):
        fmt = fuzz.family_format(family, case.seed)
        started = time.perf_counter()
        if i % VIA_PATH_EVERY == 0:
            path = Path(folder) / case.name
            path.write_bytes(case.content)
            kind, detail = _outcome_from_path(path, case.content, fmt)
        else:
            kind, detail = fuzz.outcome(case.content, case.name, fmt)
        took = time.perf_counter() - started
        slowest = max(slowest, (took, case.seed), key=lambda pair: pair[0])
        counts[kind] += 1
        if kind == "other":
            failures.append(f"{family} seed {case.seed} ({case.description}): {detail}")
        elif kind == "accepted":
            accepted.append(case.seed)
    return {"counts": counts, "failures": failures, "accepted": accepted, "slowest": slowest}


def _outcome_from_path(path: Path, content: bytes, fmt: str) -> tuple[str, str]:
    """fuzz.outcome, but loading from the file's path (the CLI's way in)."""
    try:
        scan = load_scan(path, **fuzz.LOAD_ARGS)
    except InputImageError as err:
        named = str(err).startswith(f"{path.name}: ")
        return ("refused", str(err)) if named else ("other", f"unnamed: {err}")
    except Exception as err:  # noqa: BLE001 - the fuzzer reports whatever escapes
        return "other", f"{type(err).__name__}: {err}"
    wrong = fuzz.check_scan(scan, content, fmt, fuzz.LOAD_ARGS["max_voxels"])
    return ("other", f"accepted but {wrong}") if wrong else ("accepted", "")


@contextmanager
def _nibabel_global_log():
    """What reaches the handlers of nibabel's global logger (its stderr printer) meanwhile."""
    records = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    nib.imageglobals.logger.addHandler(handler)
    try:
        yield records
    finally:
        nib.imageglobals.logger.removeHandler(handler)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("fuzz"))


def _family(family: str, folder: str) -> dict:
    if family == "real" and fuzz.real_scan_path() is None:
        pytest.skip(f"{fuzz.REAL_SCAN} is not in ../shared/data (or $MESHSEG_SHARED/data)")
    return _run(family, folder)


@pytest.mark.parametrize("family", list(CASES))
def test_every_case_is_a_scan_or_a_named_error(family, fuzz_dir, capfd):
    with _nibabel_global_log() as printed:
        result = _family(family, fuzz_dir)
    assert printed == [], f"{family}: nibabel printed {printed[:5]}"
    shown = "\n".join(result["failures"][:25])
    assert not result["failures"], (
        f"{len(result['failures'])} of {CASES[family]} {family} cases escaped as something "
        f"other than a Scan or a named InputImageError (reproduce with "
        f"header_fuzz.case({family!r}, seed)):\n{shown}")
    out, err = capfd.readouterr()
    assert (out, err) == ("", ""), f"{family}: load_scan printed {(out + err)[:500]}"
    took, seed = result["slowest"]
    assert took < SLOW_CASE_S, f"{family} seed {seed} took {took:.1f} s"


@pytest.mark.parametrize("family", list(CASES))
def test_the_mutator_gives_both_outcomes(family, fuzz_dir):
    """The cases must exercise both paths (a broken mutator would give only one)."""
    counts = _family(family, fuzz_dir)["counts"]
    total = sum(counts.values())
    assert total == CASES[family]
    assert counts["accepted"] >= 0.05 * total and counts["refused"] >= 0.05 * total, counts


def test_accepted_cases_conform_to_the_model_grid(fuzz_dir):
    """A sample of accepted (damaged but usable) scans conforms to a finite volume: 3 on
    the BRAINCHOP grid itself (256^3, 1 mm, LIA, uint8 scaling), the rest on a 96^3
    2.5 mm grid with the same orientation and scaling (the same code, 20x fewer voxels)."""
    sample = []
    for family in CASES:
        if family == "real" and fuzz.real_scan_path() is None:
            continue
        seeds = _run(family, fuzz_dir)["accepted"]
        sample += [(family, seed) for seed in seeds[::max(1, len(seeds) // 8)][:8]]
    assert len(sample) >= CONFORM_SAMPLE - 8
    counts = Counter()
    for i, (family, seed) in enumerate(sample[:CONFORM_SAMPLE]):
        case = fuzz.case(family, seed)
        scan = load_scan(case.content, case.name, **fuzz.LOAD_ARGS)
        grid = BRAINCHOP["conform"] if i < 3 else SMALL_GRID
        try:
            conformed = ScanSession(scan).conformed(grid)
        except InputImageError as err:
            assert str(err).startswith(f"{case.name}: "), f"{family} seed {seed}: {err}"
            counts["refused"] += 1
            continue
        volume = conformed.volume
        assert volume.shape == tuple(grid["shape"]), f"{family} seed {seed}: {volume.shape}"
        assert volume.dtype == np.float32 and np.isfinite(volume).all(), f"{family} seed {seed}"
        assert np.isfinite(conformed.grid.affine).all(), f"{family} seed {seed}"
        counts["conformed"] += 1
    assert counts["conformed"] >= CONFORM_SAMPLE // 2, counts


def test_the_base_files_are_valid_scans():
    for family in ("nifti1", "nifti1-gz", "nifti2", "mgh"):
        for base in fuzz.bases(family):
            scan = load_scan(base.content, f"base.{base.fmt}", **fuzz.LOAD_ARGS)
            assert fuzz.check_scan(scan, base.content, base.fmt, 10**7) is None
            assert scan.image.shape == fuzz.SHAPE, (family, base.label)
            assert all(n.startswith("4D:") for n in scan.notices), (base.label, scan.notices)


def test_mutations_are_seeded_and_pure():
    base = fuzz.bases("nifti1")[1]
    before = bytes(base.content)
    first = fuzz.mutate(base.content, np.random.default_rng(7), base.fmt, base.order)
    again = fuzz.mutate(base.content, np.random.default_rng(7), base.fmt, base.order)
    other = fuzz.mutate(base.content, np.random.default_rng(8), base.fmt, base.order)
    assert first == again and first != other and base.content == before
    assert first[0] != base.content and first[1]
    assert fuzz.case("mgh", 4_000_123).content == fuzz.case("mgh", 4_000_123).content


def test_write_cases_reproduces_the_cases(tmp_path):
    entries = fuzz.write_cases(tmp_path, 12, families=("nifti1", "nifti2", "mgh"))
    assert json.loads((tmp_path / "cases.json").read_text()) == entries
    assert len({e["name"] for e in entries}) == 12
    for entry in entries:
        case = fuzz.case(entry["family"], entry["seed"])
        assert (tmp_path / entry["name"]).read_bytes() == case.content
        assert entry["description"] == case.description


def test_the_same_cases_in_the_pages_python(tmp_path):
    """A sample of the cases through the page's Python (Pyodide under Node.js, loading the
    wheels in dist/ and the current py/meshseg sources): no outcome other than a Scan or a
    named error."""
    node = shutil.which("node")
    missing = [p for p in ("dist/pyodide/pyodide.mjs", "dist/wheels/manifest.json",
                           "node_modules/pyodide") if not (ROOT / p).exists()]
    if node is None or missing:
        pytest.skip(f"needs node and a built dist/ (missing: {', '.join(missing) or 'node'})")
    fuzz.write_cases(tmp_path, PYODIDE_SAMPLE)
    run = subprocess.run([node, str(ROOT / "tests" / "fuzz_pyodide.mjs"), str(tmp_path)],
                         capture_output=True, text=True, timeout=240, cwd=ROOT,
                         env={**os.environ, "NODE_NO_WARNINGS": "1"})
    assert run.returncode in (0, 1), run.stderr[-3000:]
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert summary["cases"] == PYODIDE_SAMPLE
    assert summary["other"] == 0, json.dumps(summary["failures"][:20], indent=1)
    assert summary["accepted"] > 0 and summary["refused"] > 0, summary


# --- the causes the fuzzer found, one by one ----------------------------------------------
# bases("nifti1")[0] and bases("nifti2")[0]: float32, little-endian, qform code 1, sform
# code 2 (the same oblique affine); bases("nifti1")[3]: big-endian 4D with 2 volumes.


def _refused(content: bytes, name: str, *fragments: str) -> str:
    with pytest.raises(InputImageError) as info:
        load_scan(content, name, **fuzz.LOAD_ARGS)
    message = str(info.value)
    assert message.startswith(f"{name}: ") and len(message) < 400, message
    for fragment in fragments:
        assert fragment in message, message
    return message


def _nifti(fmt: str = "nifti1", index: int = 0, **fields) -> bytes:
    content = fuzz.bases(fmt)[index].content
    for field, value in fields.items():
        field, _, element = field.partition("__")
        content = fuzz.write_field(content, fmt, field, value, int(element or 0))
    return content


@pytest.mark.parametrize("fmt", ["nifti1", "nifti2"])
@pytest.mark.parametrize("value", [-math.inf, math.nan, 1.0, 3.4e38])
def test_a_used_qform_that_is_not_a_rotation_is_named(fmt, value):
    # was: ValueError "w2 should be positive, but is -inf" (nibabel's quaternion check)
    content = _nifti(fmt, sform_code=0, quatern_b=value)
    _refused(content, "t1.nii", "damaged qform", "quatern_b/c/d", "not a NIfTI file")


@pytest.mark.parametrize("fmt", ["nifti1", "nifti2"])
@pytest.mark.parametrize("field", ["quatern_c", "qoffset_y", "pixdim__2"])
def test_a_damaged_qform_beside_a_valid_sform_is_ignored_with_a_notice(fmt, field):
    # was: ValueError (w2), or a hang in numpy's SVD of a NaN qform (NIfTI-2 conversion)
    value = {"quatern_c": 5.0, "qoffset_y": math.inf, "pixdim__2": math.nan}[field]
    base = load_scan(_nifti(fmt), "t1.nii", **fuzz.LOAD_ARGS)
    scan = load_scan(_nifti(fmt, **{field: value}), "t1.nii", **fuzz.LOAD_ARGS)
    assert any("qform is damaged" in n and "sform gives the geometry" in n
               for n in scan.notices), scan.notices
    np.testing.assert_allclose(scan.image.affine, base.image.affine, atol=1e-5)
    assert int(scan.image.header["qform_code"]) == 0
    np.testing.assert_allclose(scan.image.header.get_zooms(), fuzz.ZOOMS, rtol=1e-5)


def test_a_denormal_voxel_size_in_an_unused_nifti2_qform_does_not_hang():
    # was: an endless loop in LAPACK (nibabel's set_qform: 4e-314 squared is 0, R = x / 0)
    started = time.perf_counter()
    scan = load_scan(_nifti("nifti2", pixdim__1=4.24e-314), "t1.nii", **fuzz.LOAD_ARGS)
    assert time.perf_counter() - started < SLOW_CASE_S
    assert any("qform is damaged" in n for n in scan.notices)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_non_finite_vox_offset_is_named(value):
    # was: ValueError "cannot convert float NaN to integer", OverflowError (infinity)
    _refused(_nifti(vox_offset=value), "t1.nii", f"vox_offset = {value:g}", "damaged")


@pytest.mark.parametrize("value", [math.inf, -math.inf])
def test_an_infinite_scl_slope_is_named(value):
    # was: accepted unscaled (nibabel treats an infinite slope as "no scaling")
    _refused(_nifti("nifti1", 1, scl_slope=value), "t1.nii", f"scl_slope = {value:g}")


@pytest.mark.parametrize("fmt", ["nifti1", "nifti2"])
def test_nan_in_the_used_sform_is_named(fmt):
    _refused(_nifti(fmt, srow_y__2=math.nan), "t1.nii", "sform", "srow_x/y/z", "nan")


@pytest.mark.parametrize(("field", "value", "fragment"), [
    ("srow_x__3", 1e30, "m from the scanner's origin"),
    ("srow_z__2", 3e3, "more than any scan"),
])
def test_absurd_geometry_is_refused(field, value, fragment):
    # was: accepted (float32 pixdim inf in the image header, or a grid 1e27 m away)
    _refused(_nifti(**{field: value}), "t1.nii", fragment)


@pytest.mark.parametrize(("code", "kept"), [
    (7, ("unknown", "unknown")), (2**31 - 1, ("unknown", "unknown")),
    (-201326582, ("mm", "unknown")),  # a valid space code (2) with an invalid time code
])
def test_unknown_nifti2_units_become_a_notice(code, kept):
    # was: KeyError np.int32(7) from nibabel's units table when converting to NIfTI-1
    scan = load_scan(_nifti("nifti2", xyzt_units=code), "t1.nii", **fuzz.LOAD_ARGS)
    assert any(f"xyzt_units ({code})" in n for n in scan.notices), scan.notices
    assert scan.image.header.get_xyzt_units() == kept


def test_nibabel_log_becomes_a_notice_not_stderr():
    # was: "vox offset (=360) not divisible by 16 ..." printed by nibabel's global logger
    content = _nifti(vox_offset=360.0)
    content = content[:352] + bytes(8) + content[352:]
    with _nibabel_global_log() as printed:
        scan = load_scan(content, "t1.nii", **fuzz.LOAD_ARGS)
    assert any("not divisible by 16" in n for n in scan.notices), scan.notices
    assert printed == []


def test_a_4d_file_without_its_later_volumes_is_truncated():
    content = fuzz.bases("nifti1")[3].content
    _refused(content[:len(content) - 100], "t1.nii", "truncated", f"{len(content):,} bytes")


@pytest.mark.parametrize(("element", "value", "fragment"), [
    (0, 0.5, "not unit-length, perpendicular axes"),
    (4, math.nan, "NaN or infinite direction cosines"),
])
def test_damaged_mgh_direction_cosines_are_named(element, value, fragment):
    # was: accepted with voxel sizes that do not match delta (0.5); a generic NaN message
    content = fuzz.write_field(fuzz.bases("mgh")[0].content, "mgh", "Mdc", value, element)
    _refused(content, "t1.mgh", "MGH header", fragment)


def test_an_unknown_mgh_voxel_type_is_named():
    # was: "has an invalid header (2)." (nibabel's KeyError)
    content = fuzz.write_field(fuzz.bases("mgh")[0].content, "mgh", "type", 2)
    _refused(content, "t1.mgh", "unknown voxel data type", "type = 2")
