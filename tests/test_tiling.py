"""Exact overlapping tiles: planning, and labels identical to one whole pass."""

import numpy as np
import pytest

from meshseg.convert.sources import load_network
from meshseg.reference import meshnet_forward
from meshseg.tiling import plan_tiles


def test_one_tile_when_the_volume_fits():
    (tile,) = plan_tiles((20, 30, 40), halo=5, max_voxels=20 * 30 * 40)
    assert tile.outer == tile.core == (slice(0, 20), slice(0, 30), slice(0, 40))


def test_cores_partition_the_volume_and_tiles_fit():
    shape, halo, limit = (64, 50, 40), 7, 40_000
    tiles = plan_tiles(shape, halo, limit)
    assert len(tiles) > 1
    cover = np.zeros(shape, int)
    for tile in tiles:
        cover[tile.core] += 1
        assert tile.voxels <= limit
        for core, outer, n in zip(tile.core, tile.outer, shape, strict=True):
            assert outer.start == max(0, core.start - halo)
            assert outer.stop == min(n, core.stop + halo)
    assert (cover == 1).all()


def test_the_cheapest_fitting_plan_is_chosen():
    # 2 slabs along one axis cost less than 2 x 2 tiles; both fit.
    tiles = plan_tiles((100, 100, 100), halo=10, max_voxels=600_000)
    assert len(tiles) == 2


def test_impossible_budget_is_an_error():
    with pytest.raises(ValueError, match="cannot be split"):
        plan_tiles((64, 64, 64), halo=30, max_voxels=1000)


def test_tiled_labels_equal_the_whole_pass(weights_dir):
    """model5_gw_ae (receptive radius 47) on a random 120x36x30 volume, float64 reference."""
    layers = load_network(weights_dir, "model5_gw_ae").layers
    radius = sum(layer.padding for layer in layers)
    volume = np.random.default_rng(3).random((120, 36, 30))
    whole = meshnet_forward(layers, volume).argmax(0)
    tiled = np.full(whole.shape, -1)
    tiles = plan_tiles(volume.shape, radius, max_voxels=int(volume.size * 0.9))
    assert len(tiles) > 1
    for tile in tiles:
        part = meshnet_forward(layers, volume[tile.outer]).argmax(0)
        tiled[tile.core] = part[tile.core_in_outer]
    assert (tiled == whole).all()
