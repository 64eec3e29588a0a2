"""One segmentation run on a scan session, as a step machine any driver can run.

The job does everything before and after the network in pure Python; the network
itself runs outside (native onnxruntime in the CLI, onnxruntime-web in the
browser worker). :meth:`Job.advance` returns events: ``progress`` (a stage
started), ``infer`` (run this model on this tensor, answer with uint8 labels)
and ``done`` (the result). :func:`meshseg.driver.drive` is the one loop that
answers them, for the CLI, the worker and the benchmark alike.

Stages: [conform], normalise, [pre-model inference, crop], inference (twice with
test-time augmentation: the scan and its mirror), postprocess, native (or
conformed) output, stats, quality. The scan session supplies the
load, and caches the conformed volume and the pre-model's box for later runs.
"""

from __future__ import annotations

import time
from collections.abc import Generator

import numpy as np

from meshseg.constants import LABELS_SUFFIX, image_stem
from meshseg.crop import bounding_box, crop, pad_box, paste
from meshseg.errors import InputImageError, ModelError
from meshseg.events import Done, Infer, Progress, Result
from meshseg.input_checks import checked
from meshseg.intensity import normalise
from meshseg.label_image import label_image
from meshseg.models.card import ModelCard
from meshseg.options import SegmentOptions
from meshseg.plausibility import result_warnings
from meshseg.postprocess import clean_classes, largest_component
from meshseg.probability import LOW_CONFIDENCE, float_image, low_confidence_share, to_native
from meshseg.quality import Evidence, assess
from meshseg.quality.mirror import left_right_axis, mirror, swap_table
from meshseg.quality.tta import combine as combine_runs
from meshseg.resample_labels import labels_to_native
from meshseg.session import Conformed, ScanSession
from meshseg.stats import label_stats, stats_csv, stats_json
from meshseg.tiling import Tile, plan_tiles

IMAGE_SUFFIX = "_image.nii.gz"

__all__ = ["Job", "Progress", "Infer", "Done", "Result", "open_job", "run_job"]


class Job:
    """A segmentation run, advanced one event at a time.

    Parameters
    ----------
    session : ScanSession
        The loaded scan.
    cards : dict
        Model id -> card (``ModelCard`` or its dict); must hold the model and its
        pre-model, if it has one.
    model_id : str
        The model to run.
    options : SegmentOptions, mapping or None
        Checked with :meth:`SegmentOptions.from_mapping`.

    Examples
    --------
    >>> job = ScanSession.open("scan.nii.gz").job(cards, "model5_gw_ae")  # doctest: +SKIP
    >>> event = job.advance()                                  # doctest: +SKIP
    >>> while event.kind != "done":                            # doctest: +SKIP
    ...     labels = run_model(event) if event.kind == "infer" else None
    ...     event = job.advance(labels)
    """

    def __init__(self, session: ScanSession, cards: dict, model_id: str, options=None) -> None:
        self.cards, self.card, self.options = _checked(cards, model_id, options)
        self.session = session
        self.timings: dict[str, float] = {}
        load = session.take_load_seconds()
        if load is not None:
            self.timings["load"] = load
        self._steps = _run(session, self.card, self.cards, self.options, self.timings)
        self._started = False
        self._stage: str | None = None  # the stage whose Python work is being timed
        self._pending: Infer | None = None

    def advance(self, labels=None, *, seconds: float | None = None):
        """Run until the next event and return it (``Progress``, ``Infer`` or ``Done``).

        Parameters
        ----------
        labels : bytes-like or ndarray, optional
            The answer to the last ``Infer`` event: uint8 labels, D*H*W values.
        seconds : float, optional
            How long the driver took to answer it (added to that stage's time).
        """
        if self._pending is not None:
            labels = _as_outputs(labels, self._pending)
            self._charge_inference(self._pending, seconds)
        elif labels is not None:
            raise ValueError("labels were given, but the job did not ask for inference")
        started = time.perf_counter()
        try:
            event = self._steps.send(labels) if self._started else next(self._steps)
        except StopIteration as stop:
            event = Done(stop.value)
        self._charge(self._stage, time.perf_counter() - started)
        self._started = True
        if isinstance(event, Progress):
            self._stage = event.stage
        self._pending = event if isinstance(event, Infer) else None
        return event

    def _charge(self, stage: str | None, seconds: float) -> None:
        if stage is not None:  # before the first stage: cache look-ups only
            self.timings[stage] = self.timings.get(stage, 0.0) + seconds

    def _charge_inference(self, request: Infer, seconds: float | None) -> None:
        if seconds is not None:
            request.work["seconds"] = round(request.work.get("seconds", 0.0) + seconds, 4)
            self._charge(request.stage, seconds)


def open_job(data, name: str, cards: dict, model_id: str, options=None) -> Job:
    """A job on a scan given as a path or bytes (a one-run session).

    Examples
    --------
    >>> job = open_job(data, "scan.nii.gz", cards, "model5_gw_ae")  # doctest: +SKIP
    >>> result = run_job(job, infer)                               # doctest: +SKIP
    """
    _checked(cards, model_id, options)  # a bad model or option fails before the file is read
    return Job(ScanSession.open(data, name), cards, model_id, options)


def run_job(job: Job, infer, on_progress=None, cancelled=None) -> Result:
    """Drive `job` to its result (see :func:`meshseg.driver.run`)."""
    from meshseg.driver import run

    return run(job, infer, on_progress, cancelled)


def _run(session: ScanSession, card: ModelCard, cards: dict, options: SegmentOptions,
         timings: dict) -> Generator:
    work: list[dict] = []
    reused = ["load"] if "load" not in timings else []
    scan = checked(session.scan, card)  # input-type checks for this model: notices or refusal
    grid = card.conform
    if session.is_conformed(grid):
        reused.append("conform")
    else:
        yield Progress("conform", f"Conforming to {_grid_text(grid)}")
    conformed = session.conformed(grid)

    steps = 2 if card.pre_model else 1
    box = None
    if card.pre_model and options.crop:
        pre = cards[card.pre_model]
        unpadded = session.brain_box(pre.id)
        if unpadded is None:
            unpadded = yield from _pre_model_box(conformed.volume, pre, session.name, work,
                                                 options.tile_mb)
            session.keep_brain_box(pre.id, unpadded)
        else:
            reused.append("premodel")
        box = pad_box(unpadded, card.crop_padding, conformed.volume.shape)

    yield Progress("normalise", f"Normalising intensities ({card.normalisation})")
    normalised = _normalised(conformed.volume, card, session.name)
    if options.crop and card.crop and box is None:
        box = _intensity_box(normalised, card)
    context = card.crop_context if options.exact_crop else 0
    region = None if box is None else crop_region(box, context, normalised.shape)
    tensor = _tensor(normalised if region is None else crop(normalised, region.outer))
    del normalised

    yield Progress("inference", f"Running {card.title} on {_shape_text(tensor.shape[2:])} voxels")
    outputs = yield from _infer(card, tensor, (steps, steps), "inference", work, options.tile_mb)
    tta = None
    if options.tta and card.kind == "labels":
        outputs, tta = yield from _mirrored(card, tensor, outputs, (steps, steps), work,
                                            options.tile_mb)
    del tensor
    if region is not None:
        outputs = {key: _paste(value, region, conformed.grid.shape, _outside(card, key))
                   for key, value in outputs.items()}

    if card.kind == "image":
        result = yield from _image_output(session, conformed, outputs["image"], card, options)
    else:
        yield Progress("postprocess", "Cleaning up labels")
        labels = _postprocess(outputs["labels"], options)
        result = yield from _output(session, conformed, labels, card, options,
                                    outputs.get("probability"), tta)
    result.timings, result.work, result.reused = timings, work, reused
    result.notices = list(scan.notices)
    return result


def _infer(card: ModelCard, tensor: np.ndarray, step: tuple[int, int], stage: str, work: list,
           tile_mb):
    """The model's outputs on `tensor` (``{"labels": uint8, "probability": float32}`` or
    ``{"image": float32}``, each [D, H, W]), in exact overlapping tiles when one pass
    would hold too much.

    `step` is (this inference, inferences in the job): the pre-model is step 1 of 2.
    """
    shape = tensor.shape[2:]
    tiles = _plan(card, shape, tile_mb)
    if len(tiles) == 1:
        work.append(_work(card, shape))
        return (yield Infer(card.id, tensor, *step, stage, work[-1], card.outputs))
    merged: dict = {}
    for number, tile in enumerate(tiles, start=1):
        part = np.ascontiguousarray(tensor[(0, 0) + tile.outer])[None, None]
        yield Progress(stage, f"Running {card.title}, part {number} of {len(tiles)} "
                       f"({_shape_text(part.shape[2:])} voxels)",
                       fraction=(number - 1) / len(tiles))
        work.append(_work(card, part.shape[2:]))
        answer = yield Infer(card.id, part, *step, stage, work[-1], card.outputs)
        for key, value in answer.items():
            if key not in merged:
                merged[key] = np.zeros(shape, dtype=value.dtype)
            merged[key][tile.core] = value[tile.core_in_outer]
    return merged


def _mirrored(card: ModelCard, tensor: np.ndarray, outputs: dict, step, work: list, tile_mb):
    """Test-time augmentation: the model on the left-right mirror of `tensor`, mirrored
    back (lateral labels swapped), merged with `outputs`; and the agreement record."""
    axis = left_right_axis(card.conform["orientation"])
    yield Progress("inference", f"Running {card.title} on the mirrored scan "
                   "(test-time augmentation)")
    answer = yield from _infer(card, mirror(tensor, axis + 2), step, "inference", work, tile_mb)
    back = {key: mirror(value, axis) for key, value in answer.items()}
    if "labels" in back:
        back["labels"] = swap_table(card.classes)[back["labels"]]
    prob = card.output("probability")
    foreground = max((int(c["index"]) for c in card.classes), default=1)
    return combine_runs(outputs, back, prob["meaning"] if prob else None, foreground)


def _outside(card: ModelCard, key: str) -> float:
    """Value of an output outside the crop box: background, or full confidence."""
    prob = card.output("probability")
    return 1.0 if key == "probability" and prob and prob["meaning"] == "confidence" else 0.0


def _paste(value: np.ndarray, region: Tile, shape, outside: float) -> np.ndarray:
    core = np.ascontiguousarray(value[region.core_in_outer])
    if value.dtype == np.uint8 and outside == 0:
        return paste(core, region.core, shape)
    full = np.full(shape, outside, dtype=value.dtype)
    full[region.core] = core
    return full


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

    Examples
    --------
    >>> crop_region((slice(10, 20),), 4, (22,)).outer
    (slice(6, 22, None),)
    """
    return Tile(outer=pad_box(box, context, shape), core=tuple(box))


def _pre_model_box(volume, pre: ModelCard, name: str, work: list, tile_mb):
    """Run the brain-mask pre-model; the (unpadded) box around its largest component."""
    yield Progress("normalise", f"Normalising intensities for {pre.title} ({pre.normalisation})")
    tensor = _tensor(_normalised(volume, pre, name))
    yield Progress("premodel", f"Finding the brain with {pre.title}")
    outputs = yield from _infer(pre, tensor, (1, 2), "premodel", work, tile_mb)
    del tensor
    mask = largest_component((outputs["labels"] != 0).astype(np.uint8))
    del outputs
    if not mask.any():
        raise InputImageError(
            name, f"the brain-mask model {pre.id} found no brain in this image.",
            "Check that it is a head MRI of the kind the model card describes.")
    return bounding_box(mask)


def _output(session: ScanSession, conformed: Conformed, labels, card: ModelCard,
            options: SegmentOptions, probability=None, tta=None):
    scan = session.scan
    prob_img = None
    meaning = card.output("probability")["meaning"] if probability is not None else None
    if options.space == "native":
        yield Progress("native", "Mapping labels back to the scan's own grid")
        out_labels = labels_to_native(labels, conformed.grid.affine, scan.image.shape[:3],
                                      scan.image.affine, method=options.resample)
        out_img = label_image(out_labels, scan.image)
        if probability is not None:
            outside = 1.0 if meaning == "confidence" else 0.0
            native = to_native(probability, conformed.grid.affine, scan.image.shape[:3],
                               scan.image.affine, outside)
            prob_img = float_image(native, scan.image, "estimate")
    else:
        yield Progress("native", "Writing labels on the model grid")
        out_img = label_image(labels, conformed.grid)
        if probability is not None:
            prob_img = float_image(probability, conformed.grid, "estimate")
    yield Progress("stats", "Measuring volumes")
    out_labels = np.asanyarray(out_img.dataobj)
    rows = label_stats(out_labels, out_img.affine, card.classes)
    warnings = result_warnings(out_labels, out_img.affine, card, model_labels=labels,
                               model_affine=conformed.grid.affine)
    meta = {"file": scan.name, "model": card.id, "space": options.space,
            "onnx_sha256": card.onnx.get("sha256", "")}
    uncertainty = None
    if meaning == "confidence":
        share = low_confidence_share(np.asanyarray(prob_img.dataobj), out_labels)
        uncertainty = {"lowConfidenceShare": round(share, 6), "below": LOW_CONFIDENCE}
    yield Progress("quality", "Checking how far to trust the result")
    quality = _quality(scan, conformed, labels, probability, meaning, out_img, tta, card)
    return Result(
        model_id=card.id, space=options.space, mask_name=mask_name(scan.name, card.id),
        image=out_img, stats=rows, stats_csv=stats_csv(rows),
        stats_json=stats_json(rows, meta, quality),
        notices=list(scan.notices), warnings=warnings, timings={}, scan_info=session.info(),
        probability=prob_img, probability_meaning=meaning, uncertainty=uncertainty,
        model_probability=probability, quality=quality,
    )


def _quality(scan, conformed: Conformed, labels, probability, meaning, out_img, tta,
             card: ModelCard) -> dict:
    """The result's public quality object (:func:`meshseg.quality.assess`)."""
    return assess(Evidence(
        volume=conformed.volume, labels=labels, probability=probability, meaning=meaning,
        model_affine=conformed.grid.affine, scan_affine=scan.image.affine,
        scan_shape=tuple(scan.image.shape[:3]), native_labels=np.asanyarray(out_img.dataobj),
        native_affine=out_img.affine, tta=tta), card)


def _image_output(session: ScanSession, conformed: Conformed, volume, card: ModelCard,
                  options: SegmentOptions):
    """An image-to-image model's output: on the input's grid (trilinear) and the model grid."""
    scan = session.scan
    model_img = float_image(volume, conformed.grid)
    if options.space == "native":
        yield Progress("native", "Mapping the output image to the scan's own grid")
        out_img = float_image(to_native(volume, conformed.grid.affine, scan.image.shape[:3],
                                        scan.image.affine), scan.image)
    else:
        yield Progress("native", "Writing the output image on the model grid")
        out_img = model_img
    yield Progress("stats", "Summarising the output image")
    return Result(
        model_id=card.id, space=options.space,
        mask_name=f"{image_stem(scan.name)}_{card.id}{IMAGE_SUFFIX}", image=out_img,
        stats=[], stats_csv="", stats_json="[]", notices=list(scan.notices), warnings=[],
        timings={}, scan_info=session.info(), kind="image", model_image=model_img)


def _normalised(volume: np.ndarray, card: ModelCard, name: str) -> np.ndarray:
    try:
        return normalise(volume, card.normalisation, card.normalisation_parameters)
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


def _work(card: ModelCard, shape) -> dict:
    """What one inference computes: the model, its input grid and its FLOPs."""
    voxels = int(np.prod(shape))
    return {"model": card.id, "shape": [int(n) for n in shape], "voxels": voxels,
            "gflop": round(card.flops_per_voxel * voxels / 1e9, 3)}


def _tensor(volume: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(volume, dtype=np.float32)[None, None]


def _shape_text(shape) -> str:
    return "x".join(str(int(n)) for n in shape)


def _postprocess(labels: np.ndarray, options: SegmentOptions) -> np.ndarray:
    if options.largest_component:
        labels = largest_component(labels)
    if options.clean_classes:
        labels = clean_classes(labels)
    return labels


OUTPUT_DTYPES = {"labels": np.uint8, "probability": np.float32, "image": np.float32}


def _as_outputs(answer, request: Infer) -> dict:
    """The driver's answer as ``{kind: array [D, H, W]}``.

    The answer is a dict of named outputs (by output kind, or by the ONNX output names
    the card declares), or plain labels (bytes-like or array) as before version 2.
    """
    if answer is None:
        raise ValueError(f"model {request.model_id}: outputs expected, got nothing")
    if hasattr(answer, "to_py"):  # a JS object that Pyodide did not convert
        answer = answer.to_py()
    if not isinstance(answer, dict):
        answer = {"labels": answer}
    names = {o["name"]: o["kind"] for o in request.outputs}
    out = {}
    for key, value in answer.items():
        kind = names.get(key, key)
        if kind not in OUTPUT_DTYPES or value is None:
            continue
        out[kind] = _as_array(value, kind, request)
    if not out:
        raise ModelError(f"model {request.model_id}: none of its declared outputs came back.")
    return out


def _as_array(value, kind: str, request: Infer) -> np.ndarray:
    shape = request.shape[2:]
    dtype = OUTPUT_DTYPES[kind]
    if hasattr(value, "to_py"):
        value = value.to_py()
    if isinstance(value, np.ndarray):
        array = value
    else:
        array = np.frombuffer(value, dtype=np.uint8 if kind == "labels" else np.float32)
    if array.size != int(np.prod(shape)):
        raise ModelError(f"model {request.model_id}: returned {array.size} {kind} values, "
                         f"expected {int(np.prod(shape))} for a {shape} input.")
    if kind == "labels" and array.dtype.kind == "f":
        raise ModelError(f"model {request.model_id}: its labels output is {array.dtype}, "
                         "expected integers.")
    return array.astype(dtype, copy=False).reshape(shape)


def _checked(cards: dict, model_id: str, options):
    """Cards as ModelCards, the model's card (its pre-model present) and checked options."""
    cards = {key: _as_card(value) for key, value in dict(cards).items()}
    card = _lookup(cards, model_id)
    if card.pre_model:
        _lookup(cards, card.pre_model)
    return cards, card, SegmentOptions.from_mapping(options)


def _as_card(value) -> ModelCard:
    return value if isinstance(value, ModelCard) else ModelCard.from_dict(value)


def _lookup(cards: dict, model_id: str) -> ModelCard:
    if model_id not in cards:
        known = ", ".join(sorted(cards)) or "none"
        raise ModelError(f"unknown model {model_id!r}; available: {known}.")
    return cards[model_id]


def _grid_text(grid: dict) -> str:
    shape = "x".join(str(n) for n in grid["shape"])
    size = grid["voxel_size"]
    size = size[0] if isinstance(size, (list, tuple)) else size
    return f"{shape} at {size:g} mm, {grid['orientation']}"


def mask_name(name: str, model_id: str) -> str:
    """File name of a label image: ``<stem>_<model>_labels.nii.gz``.

    Examples
    --------
    >>> mask_name("sub-01_T1w.nii.gz", "mindgrab")
    'sub-01_T1w_mindgrab_labels.nii.gz'
    """
    return f"{image_stem(name)}_{model_id}{LABELS_SUFFIX}"
