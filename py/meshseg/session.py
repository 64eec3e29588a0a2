"""A scan session: one scan loaded and validated once, shared by any number of runs.

A session keeps what every run on the scan would otherwise redo: the validated
image, its conformed volume per model grid, and the pre-model's brain box per
pre-model. Runs are :class:`meshseg.pipeline.Job` step machines created with
:meth:`ScanSession.job`. :meth:`ScanSession.close` drops every array it holds.

Examples
--------
>>> session = ScanSession.open("scan.nii.gz")              # doctest: +SKIP
>>> first = run_job(session.job(cards, "model5_gw_ae"), infer)  # doctest: +SKIP
>>> second = run_job(session.job(cards, "model18cls"), infer)   # doctest: +SKIP
>>> second.reused                                          # doctest: +SKIP
['load', 'conform']
>>> session.close()                                        # doctest: +SKIP
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import nibabel as nib
import numpy as np

from meshseg.conform import conform
from meshseg.errors import InputImageError
from meshseg.intensity import scale_to_uint8
from meshseg.loading import Scan, describe, load_scan


@dataclass(frozen=True)
class Conformed:
    """A scan on a model grid: intensities (float32, scaled as the grid asks) and the
    grid itself (an image whose voxels are a broadcast zero: shape, affine, header)."""

    volume: np.ndarray
    grid: nib.Nifti1Image


class ScanSession:
    """One loaded scan and the work cached for it.

    Parameters
    ----------
    scan : Scan
        A validated scan (:func:`meshseg.loading.load_scan`).
    load_seconds : float
        Time the load took; reported by the session's first job.
    """

    def __init__(self, scan: Scan, load_seconds: float = 0.0) -> None:
        self._scan: Scan | None = scan
        self._load_seconds: float | None = load_seconds
        self._conformed: dict[str, Conformed] = {}
        self._boxes: dict[str, tuple[slice, ...]] = {}

    @classmethod
    def open(cls, source, name: str | None = None) -> ScanSession:
        """Load and validate a scan (path or bytes; see :func:`meshseg.loading.load_scan`)."""
        started = time.perf_counter()
        scan = load_scan(source, name)
        return cls(scan, time.perf_counter() - started)

    @property
    def scan(self) -> Scan:
        if self._scan is None:
            raise ValueError("this scan session is closed; open the scan again")
        return self._scan

    @property
    def name(self) -> str:
        return self.scan.name

    @property
    def closed(self) -> bool:
        return self._scan is None

    def info(self) -> dict:
        """The scan's description (:func:`meshseg.loading.describe`)."""
        return describe(self.scan)

    def take_load_seconds(self) -> float | None:
        """The load time, once: the first job reports it, later jobs reuse the load."""
        seconds, self._load_seconds = self._load_seconds, None
        return seconds

    def is_conformed(self, grid: dict) -> bool:
        """Whether the scan is already conformed to `grid` (a card's ``conform``)."""
        return _grid_key(grid) in self._conformed

    def conformed(self, grid: dict) -> Conformed:
        """The scan on `grid`, conformed on first use and cached."""
        key = _grid_key(grid)
        if key not in self._conformed:
            self._conformed[key] = _conform(self.scan, grid)
        return self._conformed[key]

    def brain_box(self, pre_model: str) -> tuple[slice, ...] | None:
        """The cached (unpadded) box of `pre_model`'s brain mask, or None."""
        return self._boxes.get(pre_model)

    def keep_brain_box(self, pre_model: str, box: tuple[slice, ...]) -> None:
        self._boxes[pre_model] = tuple(box)

    def job(self, cards: dict, model_id: str, options=None):
        """A run of `model_id` on this scan (:class:`meshseg.pipeline.Job`)."""
        from meshseg.pipeline import Job

        self.scan  # noqa: B018 - a closed session raises here, before any work
        return Job(self, cards, model_id, options)

    @property
    def nbytes(self) -> int:
        """Bytes of voxel data the session holds (scan + conformed volumes)."""
        if self._scan is None:
            return 0
        held = np.asanyarray(self._scan.image.dataobj).nbytes
        return held + sum(c.volume.nbytes for c in self._conformed.values())

    def close(self) -> int:
        """Drop every array; returns the bytes released. Later use raises ValueError."""
        released = self.nbytes
        self._conformed.clear()
        self._boxes.clear()
        self._scan = None
        return released


def _grid_key(grid: dict) -> str:
    return json.dumps(grid, sort_keys=True)


def _conform(scan: Scan, grid: dict) -> Conformed:
    image = conform(scan.image, grid["shape"], grid["voxel_size"], grid["orientation"])
    volume = image.get_fdata(dtype=np.float32, caching="unchanged")
    if grid.get("scale_to_uint8"):
        try:
            volume = scale_to_uint8(volume).astype(np.float32)
        except ValueError as err:
            raise InputImageError(scan.name, f"its intensities cannot be scaled: {err}",
                                  "Is the image empty after conforming?") from err
    return Conformed(volume, _grid_only(image))


def _grid_only(img) -> nib.Nifti1Image:
    """The image's grid (shape, affine, header) without its voxels: a broadcast zero."""
    no_voxels = np.broadcast_to(np.zeros((), dtype=np.uint8), img.shape)
    return img.__class__(no_voxels, img.affine, img.header)
