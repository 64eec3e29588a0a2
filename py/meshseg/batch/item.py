"""Process one batch item: the only place the batch touches the pipeline.

:func:`segment_item` runs on the CLI process (serial) or on a Dask worker. It writes
the item's label image, volume table and the files of :data:`ITEM_EXPORTS` (FreeSurfer
aseg.stats, HTML report) into the output folder itself and returns a small summary
(never label arrays). Models are loaded once per process, under a lock.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np

from meshseg.errors import MeshSegError
from meshseg.export.files import SUFFIXES
from meshseg.export.outcome import from_result

_LOCK = threading.Lock()
_RUNNERS: dict = {}


#: The files each item writes beyond its label image and volume table, through
#: :func:`meshseg.export.registry.write`: (key in the manifest's ``outputs``, format, the
#: item kinds that get it). The page's list is site/js/batch/item-exports.js.
ITEM_EXPORTS = (
    ("aseg", "stats", ("file", "dicom")),
    ("report", "report", ("file", "dicom")),
    ("dicom_seg", "dicom-seg", ("dicom",)),
)


def output_names(name: str, model_id: str, kind: str = "file") -> dict:
    """The item's output file names: label image, volume table and its exports.

    Examples
    --------
    >>> output_names("sub-01", "mindgrab")["aseg"]
    'sub-01_mindgrab_aseg.stats'
    """
    names = {"mask": f"{name}_{model_id}_labels.nii.gz", "stats": f"{name}_{model_id}_stats.csv"}
    for key, format_name, kinds in ITEM_EXPORTS:
        if kind in kinds:
            names[key] = f"{name}_{model_id}{SUFFIXES[format_name]}"
    return names


def segment_item(item, model_id: str, models_dir, out_dir, threads: int | None = None,
                 options: dict | None = None) -> dict:
    """Segment one item and write its outputs; return its summary.

    Parameters
    ----------
    item : meshseg.batch.inputs.Item
    model_id : str
    models_dir : path
        Converted models (``index.json`` + ONNX files).
    out_dir : path
        Output folder; files are written atomically (temporary name, then renamed).
    threads : int, optional
        onnxruntime intra-op threads for this process (default: its share of the cores).
    options : dict, optional
        Segmentation options (see :class:`meshseg.options.SegmentOptions`).

    Returns
    -------
    dict
        ``name``, ``input``, ``input_sha256``, ``model``, ``status`` (done, warning,
        failed), ``notices``, ``error``, ``timings``, ``outputs``, ``stats`` (rows),
        ``rss_mb`` (process resident memory after the item), ``pid``.
    """
    start = time.perf_counter()
    options = dict(options or {})
    probability = options.pop("probability", None)  # batch --bids --probseg: its dtype
    summary = {"name": item.name, "input": item.input, "input_sha256": item.sha256,
               "model": model_id, "files": item.files, "status": "failed", "notices": [],
               "error": "", "timings": {}, "outputs": {}, "stats": []}
    try:
        if item.kind == "error":
            raise _ItemError(item.error)
        result, notices, outcome = _run(item, model_id, models_dir, threads, options)
        names = output_names(item.name, model_id, item.kind)
        files = {names["mask"]: result.mask_bytes, names["stats"]: result.stats_csv.encode()}
        files.update(_exports(outcome, names, item.kind))
        if probability and result.probability is not None:  # read by meshseg.export.bids
            from meshseg.export.bids.derivatives import batch_probability_name

            files[batch_probability_name(item.name, model_id)] = \
                result.probability_bytes(probability)
        for file_name, data in files.items():
            _write_atomic(Path(out_dir) / file_name, data)
        if result.quality and result.quality["flagged"]:
            notices.append(result.quality["summary"])
        summary.update(status="warning" if notices else "done", notices=notices,
                       timings=dict(result.timings), outputs=names, stats=result.stats,
                       scan=result.scan_info, quality=result.quality)
        del result, outcome, files
    except (MeshSegError, _ItemError) as err:
        summary["error"] = str(err)
    except Exception as err:  # noqa: BLE001 - one item's failure never stops the batch
        summary["error"] = f"{item.name}: unexpected {type(err).__name__}: {err}"
    summary["timings"]["total"] = round(time.perf_counter() - start, 4)
    summary["rss_mb"] = _rss_mb()
    summary["pid"] = os.getpid()
    return summary


class _ItemError(Exception):
    pass


def _exports(outcome, names: dict, kind: str) -> dict:
    """File name -> bytes of each of the item's :data:`ITEM_EXPORTS`."""
    from meshseg.export.registry import write

    files = {}
    for key, format_name, kinds in ITEM_EXPORTS:
        if kind in kinds:
            options = {"seg_file": names["mask"]} if format_name == "stats" else {}
            files[names[key]] = write(format_name, outcome, names[key], **options)
    return files


def _run(item, model_id, models_dir, threads, options):
    """One run on a scan session of the item's data: (Result, notices, its Outcome)."""
    from meshseg.driver import run
    from meshseg.session import ScanSession

    cards, runner = runner_for(models_dir, threads)
    notices: list[str] = []
    if item.kind == "dicom":
        from meshseg.readers.dicom import read_series

        scan = read_series(list(item.paths), item.name)
        notices += list(scan.notices)
        from meshseg.label_image import to_nifti_bytes

        data = to_nifti_bytes(scan.image, gzip=False)
        del scan
    else:
        data = item.paths[0]
    name = item.name if item.kind == "dicom" else os.path.basename(item.paths[0])
    session = ScanSession.open(data, name)
    result = run(session.job(cards, model_id, options), runner)
    notices += [n for n in result.notices if n not in notices]
    outcome = from_result(result, cards[model_id], scan=_scan_on_grid(session.scan.image, result),
                          runtime=runner.info(), source=_source(item))
    return result, notices, outcome


def _source(item):
    """What the writers read of the input: a DICOM series' files, else the file's path."""
    return [Path(p) for p in item.paths] if item.kind == "dicom" else Path(item.paths[0])


def _scan_on_grid(scan, result):
    """The scan image when the labels are on its grid (native space), else None."""
    same = scan.shape[:3] == result.image.shape[:3] and np.allclose(scan.affine, result.affine)
    return scan if same else None


def runner_for(models_dir, threads: int | None):
    """(cards, OnnxRunner) of this process, created once per (models_dir, threads).

    The sessions of every model are opened lazily by the runner; the first creation
    happens under a lock so that threads of one worker never load the models twice.
    """
    key = (str(Path(models_dir).resolve()), threads)
    with _LOCK:
        if key not in _RUNNERS:
            from meshseg.inference import OnnxRunner
            from meshseg.models.index import read_index

            cards = {card.id: card for card in read_index(Path(models_dir) / "index.json")}
            _RUNNERS[key] = (cards, _LockedRunner(OnnxRunner(models_dir, cards,
                                                             threads=threads or _threads())))
        return _RUNNERS[key]


class _LockedRunner:
    """An OnnxRunner whose sessions are opened once, under a lock."""

    def __init__(self, runner) -> None:
        self.runner = runner
        self.lock = threading.Lock()

    def __call__(self, model_id, tensor):
        with self.lock:
            self.runner.session(model_id)
        return self.runner(model_id, tensor)

    def info(self) -> dict:
        return self.runner.info()


def _threads() -> int:
    """This process's share of the cores: cores / threads of the Dask worker (or all)."""
    cores = os.cpu_count() or 1
    try:
        from distributed import get_worker

        return max(1, cores // max(1, int(get_worker().state.nthreads)))
    except (ImportError, ValueError, AttributeError):
        return cores


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _rss_mb() -> float:
    """Resident memory of this process now (MB)."""
    try:
        with open("/proc/self/statm") as handle:
            pages = int(handle.read().split()[1])
        return round(pages * os.sysconf("SC_PAGE_SIZE") / 1e6, 1)
    except (OSError, ValueError, IndexError):
        try:
            import psutil

            return round(psutil.Process().memory_info().rss / 1e6, 1)
        except ImportError:
            return -1.0
