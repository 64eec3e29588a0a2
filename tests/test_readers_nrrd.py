"""NRRD reader: attached and detached data, geometry to RAS, errors, Pyodide packaging."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path

import nibabel as nib
import nrrd
import numpy as np
import pytest

from meshseg.batch.inputs import expand
from meshseg.errors import InputImageError
from meshseg.loading import load_scan
from synthetic import affine_from, sphere_image

ROOT = Path(__file__).resolve().parents[1]
LPS = np.diag([-1.0, -1.0, 1.0, 1.0])


@pytest.fixture
def oblique():
    affine = affine_from((0.9, 1.1, 2.5), "PSR", rotation_deg=(10, -7, 20), origin=(-20, 25, -30))
    img = sphere_image((70, 60, 30), affine, centre_mm=(26, -8, 4), radius_mm=18, noise=3.0)
    return np.asarray(img.dataobj).astype(np.int16), affine


def _header(affine, **extra):
    lps = LPS @ affine
    return {"space": "left-posterior-superior", "space directions": lps[:3, :3].T,
            "space origin": lps[:3, 3], "kinds": ["domain"] * 3, **extra}


@pytest.mark.parametrize("encoding", ["raw", "gzip"])
@pytest.mark.parametrize("via", ["path", "bytes"])
def test_attached_nrrd_gives_the_nifti_geometry(tmp_path, oblique, encoding, via):
    data, affine = oblique
    path = tmp_path / "scan.nrrd"
    nrrd.write(str(path), data, _header(affine, encoding=encoding))
    source = path if via == "path" else path.read_bytes()
    scan = load_scan(source, "scan.nrrd")
    assert scan.source_format == "nrrd"
    assert np.array_equal(np.asarray(scan.image.dataobj), data)
    assert np.allclose(scan.image.affine, affine, atol=1e-6)
    assert scan.notices == ()


def test_detached_header_reads_its_data_file_and_is_one_batch_item(tmp_path, oblique):
    data, affine = oblique
    folder = tmp_path / "in"
    folder.mkdir()
    nrrd.write(str(folder / "scan.nhdr"), data, _header(affine), detached_header=True)
    scan = load_scan(folder / "scan.nhdr")
    assert np.array_equal(np.asarray(scan.image.dataobj), data)
    items = expand([folder], tmp_path / "work")
    assert [(i.name, len(i.paths)) for i in items] == [("scan", 2)]
    with pytest.raises(InputImageError, match="detached NRRD header"):
        load_scan((folder / "scan.nhdr").read_bytes(), "scan.nhdr")
    (folder / "scan.raw.gz").unlink()
    with pytest.raises(InputImageError, match="scan.raw.gz is missing"):
        load_scan(folder / "scan.nhdr")


def test_first_of_several_values_per_voxel_with_a_notice(tmp_path, oblique):
    data, affine = oblique
    stacked = np.stack([data, data + 1])  # list axis first
    directions = np.vstack([np.full(3, np.nan), (LPS @ affine)[:3, :3].T])
    header = {"space": "left-posterior-superior", "space directions": directions,
              "space origin": (LPS @ affine)[:3, 3], "kinds": ["list", "domain", "domain",
                                                                "domain"]}
    nrrd.write(str(tmp_path / "two.nrrd"), stacked, header)
    scan = load_scan(tmp_path / "two.nrrd")
    assert np.array_equal(np.asarray(scan.image.dataobj), data)
    assert np.allclose(scan.image.affine, affine, atol=1e-6)
    assert "2 values per voxel" in scan.notices[0]


def test_missing_orientation_is_a_notice(tmp_path, oblique):
    data, _ = oblique
    nrrd.write(str(tmp_path / "plain.nrrd"), data, {"spacings": [2.0, 2.0, 2.0]})
    scan = load_scan(tmp_path / "plain.nrrd")
    assert np.allclose(nib.affines.voxel_sizes(scan.image.affine), 2.0)
    assert "no usable orientation" in scan.notices[0]


@pytest.mark.parametrize(("content", "problem"), [
    (b"NRRD0004\ntype: short\ndimension: 3\nsizes: 64 64 64\n", "NRRD"),
    (b"NRRD0004\ntype: short\ndimension: 2\nsizes: 64 64\nencoding: raw\n\n" + bytes(8192),
     "not a 3D volume"),
    (b"NRRD0004\ntype: short\ndimension: 3\nsizes: 64 64 64\nencoding: raw\n\n" + bytes(100),
     "unreadable NRRD data"),
])
def test_broken_nrrd_is_a_named_error(content, problem):
    with pytest.raises(InputImageError, match=problem) as caught:
        load_scan(content, "broken.nrrd")
    assert str(caught.value).startswith("broken.nrrd: ")


def test_too_large_is_refused_from_the_header():
    header = b"NRRD0004\ntype: uint8\ndimension: 3\nsizes: 1024 1024 1024\nencoding: raw\n\n"
    with pytest.raises(InputImageError, match="too large"):
        load_scan(header, "huge.nrrd")


def test_real_flair_nrrd(data_dir):
    scan = load_scan(data_dir / "FLAIR.nrrd")
    _, header = nrrd.read(str(data_dir / "FLAIR.nrrd"))
    assert scan.image.shape == tuple(int(s) for s in header["sizes"])
    expected = LPS[:3, :3] @ np.asarray(header["space directions"]).T
    assert np.allclose(scan.image.affine[:3, :3], expected, atol=1e-6)


def test_pynrrd_is_a_pinned_pure_python_wheel_for_pyodide():
    spec = importlib.util.spec_from_file_location("meshseg_build_nrrd", ROOT / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    pinned = {name.lower().replace("_", "-"): (version, sha)
              for name, version, sha in build.PYPI_WHEELS}
    assert pinned["pynrrd"][0] == importlib.metadata.version("pynrrd")
    assert len(pinned["pynrrd"][1]) == 64
    requires = {r.split(";")[0].split(">")[0].split("=")[0].split("<")[0].strip().lower()
                .replace("_", "-")
                for r in importlib.metadata.requires("pynrrd") or [] if "extra ==" not in r}
    # numpy comes from the Pyodide lock; everything else must be a pinned pure-Python wheel
    assert requires - {"numpy"} <= set(pinned)
    record = importlib.metadata.distribution("pynrrd").files
    assert not [f for f in record if str(f).endswith((".so", ".pyd"))]
