"""One segmentation job as a step machine that any inference driver can run.

The job does everything before and after the network in pure Python; the network
itself runs outside (native onnxruntime in the CLI, onnxruntime-web in the
browser worker). :class:`Job` yields events: ``progress`` (a stage started),
``infer`` (run this model on this tensor, answer with uint8 labels) and ``done``
(the result). Both drivers call :meth:`Job.advance` in a loop, so the browser
and the command line run the very same preprocessing and post-processing.

Stages: load, conform, normalise, [pre-model inference, crop], inference,
postprocess, native (or conformed) output, stats.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass, field

import numpy as np

from meshseg.conform import conform
from meshseg.crop import bounding_box, crop, paste
from meshseg.errors import InputImageError, ModelError
from meshseg.intensity import normalise, scale_to_uint8
from meshseg.label_image import label_image, to_nifti_bytes
from meshseg.loading import Scan, describe, load_scan
from meshseg.models.card import ModelCard
from meshseg.postprocess import clean_classes, largest_component
from meshseg.resample_labels import labels_to_native
from meshseg.stats import label_stats, stats_csv, stats_json
from meshseg.tiling import Tile, plan_tiles

DEFAULT_OPTIONS = {
    "space": "native",          # "native": input's own grid; "conformed": the model grid
    "largest_component": True,  # upstream post-processing
    "clean_classes": False,     # per-class removal of small islands
    "resample": "majority",     # native mapping: "majority" vote or "nearest"
    "crop": True,               # crop to the brain/head box as upstream does (card.crop)
    "tile_mb": 1300,            # largest hidden activation (MB) one inference may hold; larger
                                # inputs run as exact overlapping tiles (None: never tile)
}


@dataclass(frozen=True)
class Progress:
    """A stage has started."""

    stage: str
    message: str
    fraction: float | None = None
    kind: str = "progress"


@dataclass(frozen=True)
class Infer:
    """Run model `model_id` on `tensor` (float32, [1, 1, D, H, W]) and answer with labels."""

    model_id: str
    tensor: np.ndarray
    step: int
    steps: int
    kind: str = "infer"

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.tensor.shape)


@dataclass
class Result:
    """What a finished job hands back."""

    model_id: str
    space: str
    mask_name: str
    mask_bytes: bytes
    labels: np.ndarray = field(repr=False)
    affine: np.ndarray = field(repr=False)
    stats: list[dict]
    stats_csv: str
    stats_json: str
    notices: list[str]
    timings: dict[str, float]
    scan_info: dict
    work: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-able summary (no bytes, no arrays)."""
        return {
            "model_id": self.model_id, "space": self.space, "mask_name": self.mask_name,
            "stats": self.stats, "notices": self.notices, "timings": self.timings,
            "scan_info": self.scan_info, "work": self.work,
        }


@dataclass(frozen=True)
class Done:
    """The job finished."""

    result: Result
    kind: str = "done"


class Job:
    """A segmentation job, advanced one event at a time.

    Parameters
    ----------
    data : bytes-like or path
        The scan file's content (or a path to it).
    name : str
        The file's name as the user knows it (used in messages and output names).
    cards : dict
        Model id -> card (``ModelCard`` or its dict); must hold the model and its
        pre-model, if it has one.
    model_id : str
        The model to run.
    options : dict, optional
        Overrides of :data:`DEFAULT_OPTIONS`.

    Examples
    --------
    >>> job = Job(data, "scan.nii.gz", cards, "model5_gw_ae")    # doctest: +SKIP
    >>> event = job.advance()                                     # doctest: +SKIP
    >>> while event.kind != "done":                               # doctest: +SKIP
    ...     labels = run_model(event) if event.kind == "infer" else None
    ...     event = job.advance(labels)
    """

    def __init__(self, data, name: str, cards: dict, model_id: str,
                 options: dict | None = None) -> None:
        self.cards = {key: _as_card(value) for key, value in dict(cards).items()}
        self.card = _lookup(self.cards, model_id)
        if self.card.pre_model:
            _lookup(self.cards, self.card.pre_model)
        self.options = _check_options(options)
        self._steps = _run(data, name, self.card, self.cards, self.options)
        self._started = False
        self._pending: Infer | None = None

    def advance(self, labels=None):
        """Run until the next event and return it (``Progress``, ``Infer`` or ``Done``).

        Parameters
        ----------
        labels : bytes-like or ndarray, optional
            The answer to the last ``Infer`` event: uint8 labels, D*H*W values.
        """
        if self._pending is not None:
            labels = _as_labels(labels, self._pending)
        elif labels is not None:
            raise ValueError("labels were given, but the job did not ask for inference")
        try:
            event = self._steps.send(labels) if self._started else next(self._steps)
        except StopIteration as stop:
            event = Done(stop.value)
        self._started = True
        self._pending = event if isinstance(event, Infer) else None
        return event


def run_job(job: Job, infer, on_progress=None) -> Result:
    """Drive `job` to the end with a synchronous ``infer(model_id, tensor) -> labels``."""
    event = job.advance()
    while event.kind != "done":
        if event.kind == "progress":
            if on_progress is not None:
                on_progress(event)
            event = job.advance()
        else:
            event = job.advance(infer(event.model_id, event.tensor))
    return event.result


def _run(data, name, card: ModelCard, cards: dict, options: dict) -> Generator:
    timings: dict[str, float] = {}
    clock = _Clock(timings)
    work: list[dict] = []

    yield Progress("load", f"Reading {name}")
    with clock("load"):
        scan = load_scan(data, name)

    grid = card.conform
    yield Progress("conform", f"Conforming to {_grid_text(grid)}")
    with clock("conform"):
        conformed = conform(scan.image, grid["shape"], grid["voxel_size"], grid["orientation"])
        volume = _scaled(conformed.get_fdata(dtype=np.float32, caching="unchanged"), grid, name)
        conformed = _grid_only(conformed)

    steps = 2 if card.pre_model else 1
    box = None
    if card.pre_model and options["crop"]:
        box = yield from _pre_model_box(volume, cards[card.pre_model], card, clock, name, work,
                                        options["tile_mb"])

    yield Progress("normalise", f"Normalising intensities ({card.normalisation})")
    with clock("normalise"):
        normalised = _normalised(volume, card.normalisation, name)
        del volume
        if options["crop"] and card.crop and box is None:
            box = _intensity_box(normalised, card)
        region = None if box is None else crop_region(box, card.crop_context, normalised.shape)
        tensor = _tensor(normalised if region is None else crop(normalised, region.outer))
        del normalised

    yield Progress("inference", f"Running {card.title} on {_shape_text(tensor.shape[2:])} voxels")
    with clock("inference"):
        labels = yield from _infer(card, tensor, (steps, steps), work, options["tile_mb"])
    del tensor
    if region is not None:
        labels = paste(np.ascontiguousarray(labels[region.core_in_outer]), region.core,
                       conformed.shape)

    yield Progress("postprocess", "Cleaning up labels")
    with clock("postprocess"):
        labels = _postprocess(labels, options)

    result = yield from _output(scan, conformed, labels, card, options, clock)
    result.timings, result.work = timings, work
    return result


def _infer(card: ModelCard, tensor: np.ndarray, step: tuple[int, int], work: list, tile_mb):
    """Labels of `tensor`, in exact overlapping tiles when one pass would hold too much.

    `step` is (this inference, inferences in the job): the pre-model is step 1 of 2.
    """
    shape = tensor.shape[2:]
    tiles = _plan(card, shape, tile_mb)
    if len(tiles) == 1:
        work.append(_work(card, shape))
        return (yield Infer(card.id, tensor, *step))
    labels = np.zeros(shape, dtype=np.uint8)
    for number, tile in enumerate(tiles, start=1):
        part = np.ascontiguousarray(tensor[(0, 0) + tile.outer])[None, None]
        yield Progress("inference", f"Running {card.title}, part {number} of {len(tiles)} "
                       f"({_shape_text(part.shape[2:])} voxels)",
                       fraction=(number - 1) / len(tiles))
        work.append(_work(card, part.shape[2:]))
        answer = yield Infer(card.id, part, *step)
        labels[tile.core] = answer[tile.core_in_outer]
    return labels


def _plan(card: ModelCard, shape, tile_mb) -> list[Tile]:
    """One tile, or the cheapest exact tiling whose activations fit `tile_mb`."""
    max_voxels = None if tile_mb is None else int(tile_mb * 1e6 // (4 * max(card.channels, 1)))
    whole = [Tile(outer=tuple(slice(0, n) for n in shape), core=tuple(slice(0, n) for n in shape))]
    if max_voxels is None or card.receptive_radius is None or np.prod(shape) <= max_voxels:
        return whole
    try:
        return plan_tiles(shape, card.receptive_radius, max_voxels)
    except ValueError as err:
        raise ModelError(f"model {card.id}: {err}; raise the tile_mb option.") from err


def crop_region(box, context: int, shape) -> Tile:
    """The network's input region for crop box `box`: the box grown by `context`
    voxels on every side, clipped to the grid (``outer``); only the box (``core``)
    keeps its labels.

    Intensities are normalised over the whole conformed volume before the crop, so
    with ``context`` >= the receptive radius every label in the box equals the
    whole-volume run's (the grid's own edge is zero-padded alike in both runs).
    """
    outer = tuple(slice(max(0, b.start - context), min(n, b.stop + context))
                  for b, n in zip(box, shape, strict=True))
    return Tile(outer=outer, core=tuple(box))


def _pre_model_box(volume, pre: ModelCard, card: ModelCard, clock, name: str, work: list,
                   tile_mb):
    """Run the brain-mask pre-model and return the crop box around its mask."""
    yield Progress("normalise", f"Normalising intensities for {pre.title} ({pre.normalisation})")
    with clock("normalise"):
        tensor = _tensor(_normalised(volume, pre.normalisation, name))
    yield Progress("premodel", f"Finding the brain with {pre.title}")
    with clock("premodel"):
        mask = yield from _infer(pre, tensor, (1, 2), work, tile_mb)
    del tensor
    mask = largest_component((mask != 0).astype(np.uint8))
    if not mask.any():
        raise InputImageError(
            name, f"the brain-mask model {pre.id} found no brain in this image.",
            "Check that it is a head MRI of the kind the model card describes.")
    return bounding_box(mask, pad=card.crop_padding)


def _output(scan: Scan, conformed, labels, card: ModelCard, options: dict, clock):
    if options["space"] == "native":
        yield Progress("native", "Mapping labels back to the scan's own grid")
        with clock("native"):
            out_labels = labels_to_native(labels, conformed.affine, scan.image.shape[:3],
                                          scan.image.affine, method=options["resample"])
            out_img = label_image(out_labels, scan.image)
    else:
        yield Progress("native", "Writing labels on the model grid")
        with clock("native"):
            out_labels = labels
            out_img = label_image(labels, conformed)
    yield Progress("stats", "Measuring volumes")
    with clock("stats"):
        rows = label_stats(out_labels, out_img.affine, card.classes)
        meta = {"file": scan.name, "model": card.id, "space": options["space"],
                "onnx_sha256": card.onnx.get("sha256", "")}
        mask_bytes = to_nifti_bytes(out_img)
    return Result(
        model_id=card.id, space=options["space"], mask_name=_mask_name(scan.name, card.id),
        mask_bytes=mask_bytes, labels=out_labels, affine=out_img.affine, stats=rows,
        stats_csv=stats_csv(rows), stats_json=stats_json(rows, meta),
        notices=list(scan.notices), timings={}, scan_info=describe(scan),
    )


def _scaled(volume: np.ndarray, grid: dict, name: str) -> np.ndarray:
    if not grid.get("scale_to_uint8"):
        return volume
    try:
        return scale_to_uint8(volume).astype(np.float32)
    except ValueError as err:
        raise InputImageError(name, f"its intensities cannot be scaled: {err}",
                              "Is the image empty after conforming?") from err


def _normalised(volume: np.ndarray, method: str, name: str) -> np.ndarray:
    try:
        return normalise(volume, method)
    except ValueError as err:
        raise InputImageError(name, f"its intensities cannot be normalised: {err}",
                              "Is the image blank inside the model's field of view?") from err


def _intensity_box(normalised: np.ndarray, card: ModelCard):
    """Upstream's crop without a pre-model: voxels above a fraction of the maximum
    (``crop_threshold``) or above zero, bounding box plus ``crop_padding``.

    Returns None (no crop) when no voxel qualifies.
    """
    if card.crop_threshold:
        mask = normalised > card.crop_threshold * float(normalised.max())
    else:
        mask = normalised > 0
    if not mask.any():
        return None
    return bounding_box(mask, pad=card.crop_padding)


def _grid_only(img):
    """The image's grid (shape, affine, header) without its voxels, to free memory early.

    A broadcast zero stands in for the data: same shape, no storage.
    """
    no_voxels = np.broadcast_to(np.zeros((), dtype=np.uint8), img.shape)
    return img.__class__(no_voxels, img.affine, img.header)


def _work(card: ModelCard, shape) -> dict:
    """What one inference computes: the model, its input grid and its FLOPs."""
    voxels = int(np.prod(shape))
    return {"model": card.id, "shape": [int(n) for n in shape], "voxels": voxels,
            "gflop": round(card.flops_per_voxel * voxels / 1e9, 3)}


def _tensor(volume: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(volume, dtype=np.float32)[None, None]


def _shape_text(shape) -> str:
    return "x".join(str(int(n)) for n in shape)


def _postprocess(labels: np.ndarray, options: dict) -> np.ndarray:
    if options["largest_component"]:
        labels = largest_component(labels)
    if options["clean_classes"]:
        labels = clean_classes(labels)
    return labels


def _as_labels(labels, request: Infer) -> np.ndarray:
    shape = request.shape[2:]
    if labels is None:
        raise ValueError(f"model {request.model_id}: labels expected, got nothing")
    array = np.asarray(labels) if isinstance(labels, np.ndarray) else np.frombuffer(
        labels, dtype=np.uint8)
    if array.size != int(np.prod(shape)):
        raise ModelError(f"model {request.model_id}: returned {array.size} labels, "
                         f"expected {int(np.prod(shape))} for a {shape} input.")
    return array.astype(np.uint8, copy=False).reshape(shape)


def _as_card(value) -> ModelCard:
    return value if isinstance(value, ModelCard) else ModelCard.from_dict(value)


def _lookup(cards: dict, model_id: str) -> ModelCard:
    if model_id not in cards:
        known = ", ".join(sorted(cards)) or "none"
        raise ModelError(f"unknown model {model_id!r}; available: {known}.")
    return cards[model_id]


def _check_options(options: dict | None) -> dict:
    merged = dict(DEFAULT_OPTIONS)
    unknown = sorted(set(options or {}) - set(DEFAULT_OPTIONS))
    if unknown:
        raise ValueError(f"unknown options {unknown}; known: {sorted(DEFAULT_OPTIONS)}")
    merged.update(options or {})
    if merged["space"] not in ("native", "conformed"):
        raise ValueError(f"space must be 'native' or 'conformed', not {merged['space']!r}")
    if merged["tile_mb"] is not None and not merged["tile_mb"] > 0:
        raise ValueError(f"tile_mb must be a positive number or None, not {merged['tile_mb']!r}")
    if merged["resample"] not in ("majority", "nearest"):
        raise ValueError(f"resample must be 'majority' or 'nearest', not {merged['resample']!r}")
    return merged


def _grid_text(grid: dict) -> str:
    shape = "x".join(str(n) for n in grid["shape"])
    size = grid["voxel_size"]
    size = size[0] if isinstance(size, (list, tuple)) else size
    return f"{shape} at {size:g} mm, {grid['orientation']}"


def _mask_name(name: str, model_id: str) -> str:
    stem = name
    for ext in (".nii.gz", ".nii", ".mgz", ".mgh", ".gz"):
        if stem.lower().endswith(ext):
            stem = stem[: -len(ext)]
            break
    return f"{stem}_{model_id}_labels.nii.gz"


class _Clock:
    """Context manager factory adding elapsed seconds per stage into a dict."""

    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings

    def __call__(self, stage: str):
        return _Timer(self.timings, stage)


class _Timer:
    def __init__(self, timings: dict[str, float], stage: str) -> None:
        self.timings, self.stage = timings, stage

    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        elapsed = time.perf_counter() - self.start
        self.timings[self.stage] = round(self.timings.get(self.stage, 0.0) + elapsed, 4)
        return False
