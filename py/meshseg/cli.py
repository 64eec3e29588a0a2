"""Command line: ``python -m meshseg segment | batch | models [pull] | convert``.

Runs the same :class:`meshseg.pipeline.Job` as the browser, with native onnxruntime.
Progress goes to stderr. Exit status: 0 done; 2 a bad input or model (one
``meshseg: error:`` line); 3 with ``--strict``, a result that got plausibility
warnings or whose quality is flagged (one ``WARNING:`` line each, printed even with
``--quiet``; the output is still written; docs/quality.md); 1 an unexpected failure
such as running out of memory (one ``meshseg: internal error:`` line); 130
interrupted.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from meshseg import __version__
from meshseg.batch.cli import add_parser as add_batch_parser
from meshseg.driver import run
from meshseg.errors import MeshSegError, ModelError, OptionError
from meshseg.export.cli import add_arguments as add_export_arguments
from meshseg.export.cli import check_arguments as check_exports
from meshseg.export.cli import write_requested as write_exports
from meshseg.label_image import to_nifti_bytes
from meshseg.models.index import read_index
from meshseg.options import SegmentOptions
from meshseg.session import ScanSession
from meshseg.weights import default_models_dir, find_weights, weights_candidates


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    args = _parser().parse_args(argv)
    try:
        return args.command(args)
    except (MeshSegError, OSError) as err:
        _line(f"meshseg: error: {err}")
        return 2
    except KeyboardInterrupt:
        _line("meshseg: interrupted")
        return 130
    except MemoryError:
        _line("meshseg: internal error: out of memory; close other programs or use a smaller "
              "scan (about 256 x 256 x 256 voxels).")
        return 1
    except Exception as err:  # noqa: BLE001 - one line, never a traceback
        _line(f"meshseg: internal error: {type(err).__name__}: {err} (please report this).")
        return 1


def _line(text: str) -> None:
    """Print `text` to stderr as exactly one line."""
    print(" ".join(str(text).split()), file=sys.stderr)


def segment(args) -> int:
    """Segment one scan and write the label image (and optionally the stats)."""
    from meshseg.inference import OnnxRunner

    own = _own_model(args)
    cards = {own[0].id: own[0]} if own else _cards(args)
    if own:
        args.model = own[0].id
    elif not args.model:
        raise OptionError("model", "give --model ID, or --model-file M.onnx with --card C.json.")
    card = cards.get(args.model)
    if card is None and not own:
        raise _unknown_model(args.model, cards, args.models)
    _check_probability_flags(args, card)
    runner = OnnxRunner(args.models, cards, threads=args.threads)
    if own:
        runner.add_model(*own)
    options = SegmentOptions(space=args.space, resample=args.resample,
                             largest_component=not args.keep_all_components,
                             clean_classes=args.clean_classes, exact_crop=args.exact_crop,
                             tta=args.tta)
    progress = _StderrProgress(args.quiet)
    name = Path(args.input).name
    check_exports(args, card)
    progress.note(f"load: Reading {name}")
    session = _open_session(args, name)
    job = session.job(cards, args.model, options)
    result = run(job, _announce_inference(runner, progress), progress)
    if args.threshold is not None:
        result = rethreshold(result, card, args.threshold)
    Path(args.output).write_bytes(result.mask_bytes)
    if args.probability:
        Path(args.probability).write_bytes(result.probability_bytes(args.probability_dtype))
        progress.note(f"wrote {args.probability} ({result.probability_meaning} probability, "
                      f"{args.probability_dtype})")
    if args.model_grid_output:
        Path(args.model_grid_output).write_bytes(to_nifti_bytes(result.model_image))
    for path in write_exports(args, result, card or own[0], scan=_scan_on_grid(session, result),
                              runtime=lambda: runner.info()):
        progress.note(f"wrote {path}")
    progress.finish(result, args.output)
    for warning in result.warnings:
        _line(f"WARNING: {args.input}: {warning}")
    flagged = bool(result.quality and result.quality["flagged"])
    if flagged:
        _line(f"WARNING: {args.input}: {result.quality['summary']}")
    return 3 if args.strict and (result.warnings or flagged) else 0


def _own_model(args):
    """(card, path) of --model-file/--card, checked; None without them."""
    if not args.model_file and not args.card:
        return None
    if not (args.model_file and args.card):
        raise OptionError("model-file", "--model-file and --card go together.")
    from meshseg.own_model import load_own_model

    return load_own_model(args.model_file, args.card)


def _check_probability_flags(args, card) -> None:
    if card is None:
        return  # the job names the unknown model
    prob = card.output("probability")
    if args.probability and prob is None:
        raise OptionError("probability", f"model {card.id} declares no probability output.")
    if args.threshold is not None:
        if prob is None or prob["meaning"] != "foreground":
            raise OptionError("threshold", f"--threshold needs a two-class model with a "
                              f"foreground probability; {card.id} has none.")
        if not 0 < args.threshold < 1:
            raise OptionError("threshold", "--threshold must lie strictly between 0 and 1.")
    if args.model_grid_output and card.kind != "image":
        raise OptionError("model-grid-output", "--model-grid-output is for image-to-image "
                          "models.")


def rethreshold(result, card, level: float):
    """`result` with its labels = foreground probability >= `level` (and their volumes)."""
    import dataclasses

    from meshseg.label_image import label_image
    from meshseg.probability import threshold
    from meshseg.stats import label_stats, stats_csv, stats_json

    labels = threshold(result.probability.dataobj, level)
    image = label_image(labels, result.image)
    rows = label_stats(labels, image.affine, card.classes)
    meta = {"file": result.scan_info.get("name", ""), "model": card.id, "space": result.space,
            "threshold": level}
    return dataclasses.replace(result, image=image, stats=rows, stats_csv=stats_csv(rows),
                               stats_json=stats_json(rows, meta, result.quality))


def models(args) -> int:
    """List the model cards."""
    for card in _cards(args).values():
        classes = len(card.classes)
        print(f"{card.id:18s} {card.task:22s} {classes:4d} classes  {card.parameters:8d} params"
              f"  {card.title}")
    return 0


def pull(args) -> int:
    """Download models from a MeshSeg deployment into the models folder, sha256-checked."""
    from meshseg.models import pull as remote

    folder = Path(args.models)
    base, cards = remote.fetch_index(args.source, args.timeout)
    chosen = remote.select_models(cards, args.model, base + remote.INDEX_FILE)
    progress = _PullProgress()
    _line(f"meshseg: pulling {len(chosen)} of {len(cards)} models from {base} into {folder}")
    for card in chosen:
        size = remote.pull_model(base, card, folder, progress, args.timeout)
        progress.done(remote.model_file(card).as_posix(), size)
        remote.update_index(folder, [card])
    example = args.model[0] if args.model else chosen[0].id
    _line(f"meshseg: ready in {folder}: {', '.join(card.id for card in chosen)} "
          f"(meshseg segment SCAN -m {example} -o OUT{_models_option(folder)})")
    return 0


class _PullProgress:
    """Each file's bytes on stderr: live (every MiB) on a terminal, one line when verified."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.shown = None

    def __call__(self, name: str, done: int, total: int | None) -> None:
        if self.live and (self.shown is None or done - self.shown >= 1 << 20):
            self.shown = done
            of = f" of {total:,}" if total is not None else ""
            print(f"\r  {name}: {done:,}{of} bytes", end="", file=self.stream, flush=True)

    def done(self, name: str, size: int | None) -> None:
        """The file is in place: `size` bytes downloaded, or None (it was already there)."""
        what = "already here" if size is None else f"{size:,} bytes"
        start = "\r\033[K" if self.live and self.shown is not None else ""
        self.shown = None
        print(f"{start}  {name}: {what}, sha256 ok", file=self.stream, flush=True)


def convert(args) -> int:
    """Convert upstream weights to ONNX models + cards."""
    from meshseg.convert import convert_all

    weights = find_weights(args.weights)
    start = time.perf_counter()
    cards = convert_all(weights, args.out)
    print(f"converted {len(cards)} models from {weights} into {args.out} "
          f"in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return 0


def _cards(args) -> dict:
    index = Path(args.models) / "index.json"
    if not index.is_file():
        from meshseg.convert import convert_all

        weights = _weights_or_how_to_get_models(args)
        print(f"meshseg: converting models from {weights} into {args.models} (once)",
              file=sys.stderr)
        convert_all(weights, args.models)
    return {card.id: card for card in read_index(index)}


def _weights_or_how_to_get_models(args) -> Path:
    """The weights folder to convert from; without one, a ModelError saying how to get
    models (pull them from a MeshSeg site, or convert upstream weights)."""
    explicit = getattr(args, "weights", None)
    try:
        return find_weights(explicit)
    except ModelError as exc:
        model = getattr(args, "model", None)  # one id (segment, batch) or a list (bench)
        ids = [model] if isinstance(model, str) else list(model or [])
        what = f"model {', '.join(ids)}: not found" if ids else "no models"
        searched = ", ".join(str(p) for p in weights_candidates(explicit))
        raise ModelError(
            f"{what}: {args.models} has no index.json, and there is no MeshNet weights "
            f"folder to convert from (searched {searched}). Download "
            f"{'it' if ids else 'models'} with `meshseg models pull --from "
            f"https://<a MeshSeg site>/models/{''.join(' --model ' + i for i in ids)}"
            f"{_models_option(args.models)}`, or "
            f"convert upstream weights with `meshseg convert --out {args.models} --weights "
            "DIR` (a folder with brainchop/ inside; or set MESHSEG_WEIGHTS).") from exc


def _unknown_model(model: str, cards: dict, models_dir) -> ModelError:
    known = ", ".join(sorted(cards))
    return ModelError(f"unknown model {model!r}; available in {models_dir}: {known}. A model "
                      f"from a MeshSeg site: `meshseg models pull --from "
                      f"https://<a MeshSeg site>/models/ --model {model}"
                      f"{_models_option(models_dir)}`.")


def _models_option(models_dir) -> str:
    """`` --models DIR`` unless DIR is the default models folder."""
    return "" if Path(models_dir) == default_models_dir() else f" --models {models_dir}"


def _input_source(path: str):
    """The DICOM series `path` names (a folder of one series, or one file of a series:
    :func:`meshseg.readers.dicom.series_at`), else the file's bytes (NIfTI, MGZ, NRRD)."""
    from meshseg.readers.dicom import is_dicom_file, series_at

    if Path(path).is_dir() or is_dicom_file(path):
        return series_at(path)
    return Path(path).read_bytes()


def _open_session(args, name: str) -> ScanSession:
    """The scan session of the input (a DICOM series is read as the batch reads one).
    --dicom-seg without a DICOM series input is refused here, before any work."""
    source = _input_source(args.input)
    if isinstance(source, bytes):
        if args.dicom_seg:
            from meshseg.export.dicom_seg import source_series

            source_series(Path(args.input))  # the ExportError saying why
        return ScanSession.open(source, name)
    from meshseg.readers.dicom import read_series

    started = time.perf_counter()
    return ScanSession(read_series(source.paths, source.name), time.perf_counter() - started)


def _scan_on_grid(session, result):
    """The scan, when the labels are on its grid (native space); else None."""
    image = session.scan.image
    same = image.shape[:3] == result.image.shape[:3] and (image.affine == result.affine).all()
    return image if same else None


def _announce_inference(runner, progress):
    def infer(model_id, tensor):
        progress.note(f"inference: {model_id} on {'x'.join(map(str, tensor.shape[2:]))} voxels, "
                      f"{runner.threads} threads")
        return runner(model_id, tensor)
    return infer


class _StderrProgress:
    """Prints each stage with the time since the job started."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.start = time.perf_counter()

    def __call__(self, event) -> None:
        self.note(f"{event.stage}: {event.message}")

    def note(self, text: str) -> None:
        if not self.quiet:
            print(f"[{time.perf_counter() - self.start:7.1f}s] {text}", file=sys.stderr)

    def finish(self, result, output) -> None:
        total = sum(row["ml"] for row in result.stats)
        for notice in result.notices:
            self.note(f"notice: {notice}")
        self.note(f"wrote {output} ({result.space} space); labelled volume {total:.1f} mL")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="meshseg", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"meshseg {__version__}")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    seg = sub.add_parser("segment", help="segment a scan")
    seg.add_argument("input", help="NIfTI (.nii, .nii.gz), MGH/MGZ or NRRD scan, or a DICOM "
                     "series: a folder holding one series, or one file of it (its series: "
                     "the files beside it with its SeriesInstanceUID)")
    seg.add_argument("-m", "--model", help="model id (see `meshseg models`)")
    seg.add_argument("-o", "--output", required=True,
                     help="label image (or an image model's output) to write (.nii.gz)")
    seg.add_argument("--model-file", help="your own ONNX model (with --card)")
    seg.add_argument("--card", help="its model card, version 2 (docs/model-card.schema.json)")
    seg.add_argument("--probability", metavar="OUT",
                     help="write the probability (two-class models: foreground; others: "
                          "confidence) on the output grid (.nii.gz)")
    seg.add_argument("--probability-dtype", choices=("float32", "uint8"), default="float32",
                     help="float32, or uint8 with scl_slope 1/255")
    seg.add_argument("--threshold", type=float,
                     help="two-class models: labels = foreground probability >= T")
    seg.add_argument("--model-grid-output", metavar="OUT",
                     help="image-to-image models: also write the output on the model grid")
    add_export_arguments(seg)
    seg.add_argument("--space", choices=("native", "conformed"), default=SegmentOptions.space)
    seg.add_argument("--resample", choices=("majority", "nearest"),
                     default=SegmentOptions.resample, help="native mapping method")
    seg.add_argument("--keep-all-components", action="store_true",
                     help="skip the largest-connected-component clean-up")
    seg.add_argument("--exact-crop", action="store_true",
                     help="grow a pre-model's crop box by the receptive radius: labels equal a "
                          "whole-volume run's (about 3x the voxels and memory)")
    seg.add_argument("--clean-classes", action="store_true",
                     help="remove small islands of each class")
    seg.add_argument("--threads", type=int, help="onnxruntime threads (default: all cores)")
    seg.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    seg.add_argument("--tta", action="store_true",
                     help="test-time augmentation: also run the model on the left-right mirror "
                          "and merge (about twice the model time; feeds the quality score)")
    seg.add_argument("--strict", action="store_true",
                     help="exit with status 3 when the result gets a plausibility warning or "
                          "its quality is flagged")
    seg.set_defaults(command=segment)

    lst = sub.add_parser("models", help="list the models (or pull them from a MeshSeg site)")
    lst.set_defaults(command=models)
    pull_parser = lst.add_subparsers(metavar="ACTION").add_parser(
        "pull", help="download models from a MeshSeg site, sha256-checked",
        description="Download a MeshSeg deployment's model index, cards and ONNX files "
                    "into the models folder; each ONNX file must match its card's sha256.")
    pull_parser.add_argument("--from", dest="source", required=True, metavar="URL",
                             help="the site's models folder (https://<a MeshSeg site>/models/)")
    pull_parser.add_argument("--model", action="append", metavar="ID",
                             help="model id to pull (repeatable; default: all in the index; "
                                  "the pre-models they crop with come too)")
    # SUPPRESS: without --models here, `models --models DIR pull` keeps DIR
    pull_parser.add_argument("--models", default=argparse.SUPPRESS,
                             help=f"models folder to fill (default: {default_models_dir()})")
    pull_parser.add_argument("--timeout", type=float, default=60.0,
                             help="seconds to wait for the server (default: %(default)s)")
    pull_parser.set_defaults(command=pull)

    conv = sub.add_parser("convert", help="convert upstream weights to ONNX + cards")
    conv.add_argument("--out", required=True, help="output folder")
    conv.set_defaults(command=convert)

    for p in (seg, lst, conv):
        p.add_argument("--weights", help="upstream weights folder (default: ../shared/weights)")
        if p is not conv:
            p.add_argument("--models", default=str(default_models_dir()),
                           help="converted models folder (default: %(default)s)")
    add_batch_parser(sub, _model_folders)
    return parser


def _model_folders(p) -> None:
    """--weights and --models, as the other commands have them (for `batch`)."""
    p.add_argument("--weights", help="upstream weights folder (default: ../shared/weights)")
    p.add_argument("--models", default=str(default_models_dir()),
                   help="converted models folder (default: %(default)s)")
