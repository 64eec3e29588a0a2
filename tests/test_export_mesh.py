"""Surface meshes (meshseg.export.mesh): closed, manifold, outward, in world millimetres.

Synthetic masks (spheres, a box, two components, a hollow shell, masks on the grid's edge,
random masks full of ambiguous cubes) on plain and oblique, anisotropic, reflected grids;
every format written and read back; the label choice and its errors; smoothing and
decimation keep the mesh closed and the volume within 3 %; the CLI's --mesh on real scans.
"""

from __future__ import annotations

import json
import subprocess
import sys

import nibabel as nib
import numpy as np
import pytest

from meshseg.export import ExportError
from meshseg.export.mesh import label_mask, mesh_of, write
from meshseg.export.mesh.checks import (
    bounds,
    enclosed_volume,
    mask_bounds,
    mask_volume,
    summary,
    topology,
)
from meshseg.export.mesh.formats import face_normals, read, read_stl
from meshseg.export.mesh.smooth import decimate, taubin
from meshseg.export.mesh.surface import LEVEL, mask_surface
from synthetic import centred_affine

SHAPE = (40, 36, 30)
CLASSES = [{"index": 0, "name": "Unknown", "color": [0, 0, 0]},
           {"index": 1, "name": "White Matter", "color": [255, 255, 255]},
           {"index": 2, "name": "Grey Matter", "color": [128, 128, 128]}]
GRIDS = {
    "identity": np.eye(4),
    "oblique reflected anisotropic": centred_affine(SHAPE, zooms=(1.3, 0.9, 1.7), axes="LPI",
                                                    rotation_deg=(12, -20, 8)),
    "PSR": centred_affine(SHAPE, zooms=(2.4, 2.2, 2.0), axes="PSR", rotation_deg=(0, 5, 0)),
}


def world(affine, shape=SHAPE):
    ijk = np.indices(shape).reshape(3, -1)
    return (affine[:3, :3] @ ijk + affine[:3, 3:4]).T.reshape(*shape, 3)


def ball(affine, centre, radius, shape=SHAPE):
    return np.linalg.norm(world(affine, shape) - np.asarray(centre), axis=-1) <= radius


def voxel_size(affine):
    return float(np.linalg.norm(affine[:3, :3], axis=0).max())


def assert_good(vertices, faces, mask, affine, tolerance=0.03):
    report = summary(vertices, faces, mask, affine)
    assert report["closed"] and report["manifold"] and report["oriented"], report
    assert report["volume_mm3"] > 0, "wound inward"
    assert abs(report["volume_error"]) < tolerance, report["volume_error"]
    assert report["bounds_error_mm"] <= voxel_size(affine), report["bounds_error_mm"]
    return report


@pytest.mark.parametrize("grid", GRIDS)
def test_a_sphere_is_closed_outward_and_holds_the_voxels_volume(grid):
    affine = GRIDS[grid]
    centre = world(affine)[20, 18, 15]
    mask = ball(affine, centre, 12 * voxel_size(affine) / 1.7)
    vertices, faces = mask_surface(mask, affine)
    report = assert_good(vertices, faces, mask, affine)
    assert report["components"] == 1 and report["euler"] == 2
    # every triangle faces away from the centre
    centroids = vertices[faces].mean(axis=1)
    outward = np.einsum("ij,ij->i", face_normals(vertices, faces), centroids - centre)
    assert np.all(outward > 0)
    # in world millimetres: the vertices lie about the sphere's radius from its world centre
    radius = np.linalg.norm(vertices - centre, axis=1)
    assert abs(np.median(radius) - 12 * voxel_size(affine) / 1.7) < voxel_size(affine)


@pytest.mark.parametrize("grid", GRIDS)
def test_a_box_on_the_grid_edge_is_closed_and_exact_on_its_faces(grid):
    affine = GRIDS[grid]
    mask = np.zeros(SHAPE, bool)
    mask[0:12, 5:30, 3:30] = True  # touches three faces of the grid
    vertices, faces = mask_surface(mask, affine)
    report = assert_good(vertices, faces, mask, affine)
    # marching cubes cuts a quarter voxel off each edge: 12 x 12 x 27 voxel box loses
    # (4 x 12 + 4 x 25 + 4 x 27) / 8 voxels (edges) and a little more at the corners
    assert -0.03 < report["volume_error"] < 0
    ijk = (np.linalg.inv(affine) @ np.c_[vertices, np.ones(len(vertices))].T)[:3].T
    assert np.allclose(ijk.min(axis=0), [-0.5, 4.5, 2.5], atol=2e-3)
    assert np.allclose(ijk.max(axis=0), [11.5, 29.5, 29.5], atol=2e-3)


def test_two_components_and_a_cavity_are_each_wound_outward_of_the_solid():
    affine = GRIDS["oblique reflected anisotropic"]
    points = world(affine)
    a, b = points[12, 18, 15], points[30, 18, 15]
    mask = ball(affine, a, 8) | ball(affine, b, 7)
    mask &= ~ball(affine, b, 3.5)  # a hollow shell: its inner surface faces the cavity
    vertices, faces = mask_surface(mask, affine)
    report = assert_good(vertices, faces, mask, affine)
    assert report["components"] == 3
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    edges = np.vstack([faces[:, [0, 1]], faces[:, [1, 2]]])
    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])),
                       shape=(len(vertices),) * 2)
    _, part = connected_components(graph, directed=False)
    volumes = sorted(enclosed_volume(vertices, faces[part[faces[:, 0]] == k]) for k in range(3))
    assert volumes[0] < 0 < volumes[1] < volumes[2]  # the cavity's surface is negative


@pytest.mark.parametrize("seed", range(8))
def test_ambiguous_cubes_give_a_manifold_mesh(seed):
    """Random masks, full of voxels that touch only along an edge or at a corner: the level
    just under 0.5 (surface.LEVEL) resolves every ambiguous face the same from both sides."""
    rng = np.random.default_rng(seed)
    mask = rng.random((18, 16, 14)) < rng.uniform(0.1, 0.9)
    vertices, faces = mask_surface(mask, GRIDS["PSR"] if seed % 2 else np.eye(4))
    report = topology(vertices, faces)
    assert report["manifold"] and report["oriented"], report


def test_edge_contacts_join_and_corner_contacts_do_not():
    assert 0.499 < LEVEL < 0.5
    edge = np.zeros((4, 4, 3), bool)
    edge[1, 1, 1] = edge[2, 2, 1] = True  # share an edge: one surface (26-/18-connected)
    corner = np.zeros((4, 4, 4), bool)
    corner[1, 1, 1] = corner[2, 2, 2] = True  # share a corner only: two surfaces
    assert topology(*mask_surface(edge, np.eye(4)))["components"] == 1
    assert topology(*mask_surface(corner, np.eye(4)))["components"] == 2
    assert topology(*mask_surface(edge, np.eye(4)))["manifold"]


@pytest.mark.parametrize("name", ["m.stl", "m.obj", "m.gii"])
def test_every_format_round_trips(name):
    affine = GRIDS["oblique reflected anisotropic"]
    mask = ball(affine, world(affine)[20, 18, 15], 9)
    vertices, faces = mask_surface(mask, affine)
    data = write_file(name, vertices, faces)
    v2, f2 = read(data, name)
    assert len(f2) == len(faces) and len(v2) == len(vertices)
    assert np.allclose(v2[f2], vertices[faces], atol=1e-4)  # float32 precision, same winding
    assert topology(v2, f2)["manifold"] and topology(v2, f2)["oriented"]
    assert enclosed_volume(v2, f2) == pytest.approx(enclosed_volume(vertices, faces), rel=1e-5)


def write_file(name, vertices, faces):
    from meshseg.export.mesh.formats import write as write_format

    return write_format(name, vertices, faces)


def test_stl_layout():
    vertices, faces = mask_surface(np.pad(np.ones((2, 2, 2), bool), 1), np.eye(4))
    data = write_file("x.stl", vertices, faces)
    assert len(data) == 84 + 50 * len(faces)
    assert not data.startswith(b"solid")  # binary, not ASCII STL
    with pytest.raises(ValueError, match="bytes"):
        read_stl(data[:-1])


def test_gifti_says_scanner_millimetres():
    vertices, faces = mask_surface(np.pad(np.ones((2, 2, 2), bool), 1), np.eye(4))
    image = nib.gifti.GiftiImage.from_bytes(write_file("x.gii", vertices, faces))
    points = image.get_arrays_from_intent("NIFTI_INTENT_POINTSET")[0]
    assert points.coordsys.dataspace == nib.nifti1.xform_codes.code["scanner"]


class _Outcome:
    def __init__(self, labels, affine):
        self.labels, self.affine, self.classes = labels, affine, CLASSES


def two_labels(affine=None):
    affine = GRIDS["oblique reflected anisotropic"] if affine is None else affine
    points = world(affine)
    labels = np.zeros(SHAPE, np.uint8)
    labels[ball(affine, points[14, 18, 15], 7)] = 1
    labels[ball(affine, points[28, 18, 15], 6)] = 2
    return labels, affine


def test_write_meshes_all_labels_or_one_by_name_or_number():
    labels, affine = two_labels()
    outcome = _Outcome(labels, affine)
    everything = read(write(outcome, name="all.stl"), "all.stl")
    grey = read(write(outcome, name="g.obj", label="grey matter"), "g.obj")
    two = read(write(outcome, name="g.gii", label="2"), "g.gii")
    assert topology(*everything)["components"] == 2
    assert len(grey[1]) == len(two[1]) < len(everything[1])
    assert enclosed_volume(*grey) == pytest.approx(mask_volume(labels == 2, affine), rel=0.03)
    assert np.allclose(bounds(grey[0]), mask_bounds(labels == 2, affine), atol=voxel_size(affine))


@pytest.mark.parametrize(("label", "message"), [
    ("cerebellum", r"unknown label 'cerebellum'; this model's labels are: 1 White Matter, "
                   r"2 Grey Matter"),
    ("7", "unknown label 7"),
    ("0", "label 0 is the background"),
    ("Unknown", "label 0 is the background"),
])
def test_unknown_labels_are_named_errors(label, message):
    labels, affine = two_labels()
    with pytest.raises(ExportError, match=message):
        write(_Outcome(labels, affine), name="x.stl", label=label)


def test_empty_results_wrong_names_and_options_are_named_errors():
    labels, affine = two_labels()
    labels[labels == 2] = 0
    with pytest.raises(ExportError, match=r"label 2 \(Grey Matter\) has no voxel"):
        write(_Outcome(labels, affine), name="x.stl", label=2)
    with pytest.raises(ExportError, match="the labels have no voxel"):
        write(_Outcome(np.zeros(SHAPE, np.uint8), affine), name="x.stl")
    with pytest.raises(ExportError, match="x.ply: not a mesh file name"):
        write(_Outcome(labels, affine), name="x.ply")
    with pytest.raises(ExportError, match="in \\(0, 1\\]"):
        write(_Outcome(labels, affine), name="x.stl", decimate=1.5)
    with pytest.raises(ExportError, match="0 or more"):
        write(_Outcome(labels, affine), name="x.stl", smooth=-1)


def test_label_mask_names_what_it_meshes():
    labels, _ = two_labels()
    assert label_mask(labels, CLASSES)[1] == "the labels"
    assert label_mask(labels, CLASSES, "White matter")[1] == "label 1 (White Matter)"


@pytest.mark.parametrize(("smooth", "fraction"), [(10, 1.0), (0, 0.5), (0, 0.3), (10, 0.3)])
def test_smoothing_and_decimation_keep_the_mesh_closed_and_the_volume(smooth, fraction):
    labels, affine = two_labels()
    exact = mesh_of(labels, affine, CLASSES)
    vertices, faces = mesh_of(labels, affine, CLASSES, smooth=smooth, decimate=fraction)
    assert_good(vertices, faces, labels > 0, affine)
    assert len(faces) <= int(np.ceil(fraction * len(exact[1]))) + 2
    if smooth:  # the staircase is gone: a smaller area for about the same volume
        from meshseg.export.mesh.checks import surface_area

        assert surface_area(vertices, faces) < surface_area(*exact)


def test_taubin_and_decimate_directly():
    affine = np.eye(4)
    mask = ball(affine, (20, 18, 15), 10)
    vertices, faces = mask_surface(mask, affine)
    smoothed = taubin(vertices, faces, 20)
    assert enclosed_volume(smoothed, faces) == pytest.approx(enclosed_volume(vertices, faces),
                                                             rel=0.02)
    v2, f2 = decimate(vertices, faces, 0.1)
    assert len(f2) <= np.ceil(0.1 * len(faces)) + 2 and topology(v2, f2)["manifold"]
    with pytest.raises(ValueError, match="not closed"):
        decimate(vertices, faces[1:], 0.5)


# --- the CLI on real scans --------------------------------------------------------------

def run_cli(*args):
    done = subprocess.run([sys.executable, "-m", "meshseg", "segment", *map(str, args)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done


def check_file(mesh, mask_file, label=None):
    args = [sys.executable, "-m", "meshseg.export.mesh", str(mesh), "--mask", str(mask_file)]
    done = subprocess.run(args + (["--label", str(label)] if label else []),
                          capture_output=True, text=True, check=False)
    assert done.stdout, done.stderr
    return json.loads(done.stdout), done.returncode


def test_cli_meshes_a_real_scan_in_world_millimetres(data_dir, models_dir, tmp_path):
    """PSR (2.4 mm, a reflected affine): all labels as STL, grey matter by name as OBJ."""
    scan = data_dir / "nifti_space" / "PSR.nii.gz"
    out, stl, obj = tmp_path / "x.nii.gz", tmp_path / "m.stl", tmp_path / "g.obj"
    run_cli(scan, "-m", "model5_gw_ae", "-o", out, "--models", models_dir, "--mesh", stl)
    run_cli(scan, "-m", "model5_gw_ae", "-o", out, "--models", models_dir, "--mesh", obj,
            "--mesh-label", "Grey Matter")
    image = nib.load(out)
    assert np.linalg.det(image.affine[:3, :3]) < 0
    voxel = voxel_size(image.affine)
    for mesh, label in ((stl, None), (obj, "2")):
        report, status = check_file(mesh, out, label)
        assert status == 0 and report["closed"] and report["manifold"] and report["oriented"]
        assert abs(report["volume_error"]) < 0.03, report["volume_error"]
        assert report["bounds_error_mm"] <= voxel
    labels = np.asarray(image.dataobj)
    vertices, _ = read(obj.read_bytes(), "g.obj")
    assert np.allclose(bounds(vertices), mask_bounds(labels == 2, image.affine), atol=voxel)


def test_cli_refuses_an_unknown_mesh_label(data_dir, models_dir, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "meshseg", "segment", str(data_dir / "nifti_space" / "RAS.nii.gz"),
         "-m", "model5_gw_ae", "-o", str(tmp_path / "x.nii.gz"), "--models", str(models_dir),
         "--mesh", str(tmp_path / "m.stl"), "--mesh-label", "hippocampus"],
        capture_output=True, text=True, check=False)
    assert done.returncode != 0
    assert "unknown label 'hippocampus'" in done.stderr and "Grey Matter" in done.stderr
    assert not (tmp_path / "m.stl").exists()
    assert not (tmp_path / "x.nii.gz").exists(), "refused only after the model ran"


def test_a_real_freesurfer_white_matter_mask_meshes_closed_in_world_mm(data_dir):
    """wm.mgz (FreeSurfer's white-matter mask, 256^3, 1 mm, LIA: a reflected affine, with
    the folded topology of a real brain): closed, manifold, outward, volume within 3 %."""
    image = nib.load(data_dir / "wm.mgz")
    mask = np.asarray(image.dataobj) > 0
    vertices, faces = mesh_of(mask.astype(np.uint8), image.affine)
    assert_good(vertices, faces, mask, image.affine)
