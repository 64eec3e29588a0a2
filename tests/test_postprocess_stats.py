"""Post-processing and statistics on tiny exact volumes."""

import csv
import io
import json

import numpy as np
import pytest

from meshseg.postprocess import clean_classes, largest_component
from meshseg.stats import label_stats, stats_csv, stats_json, total_ml, voxel_volume_ml

CLASSES = [{"index": 0, "name": "background"}, {"index": 1, "name": "white"},
           {"index": 2, "name": "grey"}]


def two_blobs():
    labels = np.zeros((20, 20, 20), np.uint8)
    labels[2:10, 2:10, 2:10] = 1
    labels[4:6, 4:6, 4:6] = 2
    labels[15:17, 15:17, 15:17] = 2
    return labels


def test_largest_component_drops_the_island_and_keeps_classes():
    out = largest_component(two_blobs())
    assert out[16, 16, 16] == 0
    assert out[5, 5, 5] == 2 and out[3, 3, 3] == 1
    assert (out != 0).sum() == 8 ** 3


def test_largest_component_is_26_connected():
    labels = np.zeros((5, 5, 5), np.uint8)
    labels[1, 1, 1] = labels[2, 2, 2] = labels[3, 3, 3] = 1  # corner-touching diagonal
    assert (largest_component(labels) == labels).all()


def test_largest_component_of_empty_volume():
    empty = np.zeros((4, 4, 4), np.uint8)
    assert (largest_component(empty) == 0).all()


def test_clean_classes_refills_small_islands_from_neighbours():
    labels = np.ones((12, 12, 12), np.uint8)
    labels[8:12, 8:12, 8:12] = 2  # the main body of class 2
    labels[3, 3, 3] = 2  # a one-voxel island of class 2 inside class 1
    out = clean_classes(labels, min_voxels=2)
    assert out[3, 3, 3] == 1
    assert (out[8:12, 8:12, 8:12] == 2).all()
    assert out.dtype == labels.dtype


def test_clean_classes_keeps_a_small_class_that_is_one_piece():
    labels = np.ones((6, 6, 6), np.uint8)
    labels[2, 2, 2] = 2
    assert (clean_classes(labels, min_voxels=64) == labels).all()


def test_stats_use_the_real_voxel_volume():
    labels = two_blobs()
    affine = np.diag([0.9, 1.1, 3.0, 1.0])
    rows = label_stats(labels, affine, CLASSES)
    assert [r["label"] for r in rows] == [1, 2]
    assert rows[0]["voxels"] == 8 ** 3 - 8 and rows[1]["voxels"] == 16
    assert rows[0]["ml"] == pytest.approx(504 * 0.9 * 1.1 * 3.0 / 1000, abs=1e-3)
    assert voxel_volume_ml(affine) == pytest.approx(0.00297)


def test_stats_of_oblique_grid_use_the_determinant():
    theta = np.deg2rad(30)
    rot = np.array([[np.cos(theta), -np.sin(theta), 0], [np.sin(theta), np.cos(theta), 0],
                    [0, 0, 1]]) @ np.diag([2.0, 2.0, 2.0])
    affine = np.eye(4)
    affine[:3, :3] = rot
    assert voxel_volume_ml(affine) == pytest.approx(0.008)


def test_unknown_labels_are_reported_not_hidden():
    labels = np.array([[[0, 1, 7]]], np.uint8)
    rows = label_stats(labels, np.eye(4), CLASSES)
    assert rows[-1] == {"label": 7, "name": "unknown label 7", "voxels": 1, "ml": 0.001}
    assert rows[1]["voxels"] == 0  # absent class still listed


def test_csv_and_json_carry_the_same_rows():
    rows = label_stats(two_blobs(), np.eye(4), CLASSES)
    parsed = list(csv.DictReader(io.StringIO(stats_csv(rows))))
    assert [int(r["voxels"]) for r in parsed] == [r["voxels"] for r in rows]
    doc = json.loads(stats_json(rows, {"model": "x"}))
    assert doc["labels"] == rows and doc["meta"] == {"model": "x"}
    assert doc["total_ml"] == total_ml(rows) == pytest.approx(0.52)
