"""Split a volume into overlapping tiles whose labels stitch back exactly.

A convolution-only network's output at a voxel depends only on the input within
its receptive radius. A tile whose input extends `halo` >= that radius beyond its
core therefore gives, inside the core, exactly the labels of the whole volume;
zero padding at the tile's outer edge reaches no core voxel. Tiling bounds the
memory of one inference (activations scale with the tile, not the volume) at the
price of computing the halos more than once.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tile:
    """One tile: the input region (`outer`) and the part of it whose labels are kept."""

    outer: tuple[slice, slice, slice]
    core: tuple[slice, slice, slice]

    @property
    def voxels(self) -> int:
        return int(np.prod([s.stop - s.start for s in self.outer]))

    @property
    def core_in_outer(self) -> tuple[slice, slice, slice]:
        """`core` relative to the tile's own input array."""
        return tuple(slice(c.start - o.start, c.stop - o.start)
                     for c, o in zip(self.core, self.outer, strict=True))


def plan_tiles(shape, halo: int, max_voxels: int, max_splits: int = 8) -> list[Tile]:
    """The tiling with the fewest computed voxels whose every tile fits `max_voxels`.

    Parameters
    ----------
    shape : tuple of 3 int
        Volume shape.
    halo : int
        Input voxels added around each core (the network's receptive radius).
    max_voxels : int
        Largest tile input allowed.
    max_splits : int
        Most pieces along one axis considered.

    Returns
    -------
    list of Tile
        One tile covering everything when the volume fits.

    Raises
    ------
    ValueError
        When no tiling of at most `max_splits` pieces per axis fits.
    """
    best = None
    for splits in itertools.product(range(1, max_splits + 1), repeat=3):
        tiles = _tiles(shape, splits, halo)
        if max(t.voxels for t in tiles) > max_voxels:
            continue
        cost = sum(t.voxels for t in tiles)
        if best is None or cost < best[0]:
            best = (cost, tiles)
    if best is None:
        raise ValueError(f"a {shape} volume with a {halo}-voxel halo cannot be split into "
                         f"tiles of at most {max_voxels} voxels")
    return best[1]


def _tiles(shape, splits, halo) -> list[Tile]:
    ranges = [_axis_ranges(n, k, halo) for n, k in zip(shape, splits, strict=True)]
    return [Tile(outer=tuple(r[0] for r in combo), core=tuple(r[1] for r in combo))
            for combo in itertools.product(*ranges)]


def _axis_ranges(size: int, pieces: int, halo: int) -> list[tuple[slice, slice]]:
    edges = np.linspace(0, size, pieces + 1).round().astype(int)
    return [(slice(max(0, a - halo), min(size, b + halo)), slice(int(a), int(b)))
            for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]
