"""Run batch items one by one or on a Dask cluster, skipping finished ones.

Serial: items run in this process, in order. Dask (extra ``meshseg[dask]``):
``scheduler="local"`` starts a ``dask.distributed.LocalCluster`` in-process (worker
processes x 1 thread each, onnxruntime threads per worker = cores / workers);
``scheduler="tcp://host:8786"`` uses an existing cluster (e.g. one started by
dask-jobqueue on Slurm/PBS). Either way each task is :func:`segment_item`, which writes
its files and returns a summary; the manifest is rewritten after every item, so an
interrupted batch resumes where it stopped.
"""

from __future__ import annotations

import os
import sys
import time

from meshseg.batch.item import segment_item
from meshseg.batch.outputs import (
    entry_of,
    finished_entry,
    read_manifest,
    write_manifest,
    write_volumes,
)

DASK_HINT = "for parallel runs install Dask: pip install 'meshseg[dask]'"


def dask_available() -> bool:
    try:
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


def plan_local(items: int, workers: int | None, threads: int | None) -> tuple[int, int]:
    """(workers, onnxruntime threads per worker) for a LocalCluster on this machine."""
    cores = os.cpu_count() or 1
    workers = workers or max(1, min(items, cores // 2 or 1))
    threads = threads or max(1, cores // workers)
    return workers, threads


def run_batch(items, card, models_dir, out_dir, *, scheduler: str = "serial",
              workers: int | None = None, threads: int | None = None,
              options: dict | None = None, report=None) -> dict:
    """Process `items` into `out_dir`; return ``{"entries", "failed", "skipped", "seconds"}``.

    Parameters
    ----------
    items : list of Item
    card : ModelCard
        The model to run.
    models_dir, out_dir : path
    scheduler : str
        ``"serial"``, ``"local"`` or a Dask scheduler address (``tcp://host:8786``).
    workers, threads : int, optional
        LocalCluster worker processes and onnxruntime threads per worker.
    options : dict, optional
        Job options.
    report : callable, optional
        ``report(summary, done, total)`` after each item (progress display).
    """
    start = time.perf_counter()
    previous = read_manifest(out_dir)
    entries: dict[str, dict] = {}
    todo = []
    for item in items:
        entry = finished_entry(previous, item, card.id, out_dir)
        if entry is None:
            todo.append(item)
        else:
            entries[item.name] = entry
    skipped = len(entries)
    runtime = _runtime(scheduler, workers, threads, len(todo))
    total = len(items)

    def finished(summary):
        entries[summary["name"]] = entry_of(summary)
        if report is not None:
            report(summary, len(entries), total)
        ordered = [entries[i.name] for i in items if i.name in entries]
        write_manifest(out_dir, ordered, card, runtime, previous, skipped=skipped)

    args = (card.id, str(models_dir), str(out_dir))
    if todo and scheduler == "serial":
        for item in todo:
            finished(segment_item(item, *args, runtime["threads"], options))
    elif todo:
        _run_dask(todo, args, scheduler, runtime, options, finished)
    ordered = [entries[i.name] for i in items]
    write_manifest(out_dir, ordered, card, runtime, previous, skipped=skipped)
    write_volumes(out_dir, read_manifest(out_dir)["items"])
    failed = [e for e in ordered if e["status"] == "failed"]
    return {"entries": ordered, "failed": failed, "skipped": skipped,
            "seconds": round(time.perf_counter() - start, 3), "runtime": runtime}


def _runtime(scheduler: str, workers, threads, items: int) -> dict:
    import platform

    info = {"provider": "onnxruntime-cpu", "scheduler": scheduler,
            "python": platform.python_version()}
    try:
        import onnxruntime

        info["onnxruntime"] = onnxruntime.__version__
    except ImportError:
        pass
    if scheduler == "serial":
        info.update(workers=1, threads=threads or os.cpu_count() or 1)
    elif scheduler == "local":
        workers, threads = plan_local(items, workers, threads)
        info.update(workers=workers, threads=threads)
    else:
        info.update(workers=None, threads=threads)  # the cluster's; set per worker
    return info


def _run_dask(todo, args, scheduler: str, runtime: dict, options, finished) -> None:
    import logging

    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler == "local":
        cluster = LocalCluster(n_workers=runtime["workers"], threads_per_worker=1,
                               processes=True, dashboard_address=None,
                               silence_logs=logging.ERROR)
        client = Client(cluster)
    else:
        client = Client(scheduler)
        runtime["workers"] = len(client.scheduler_info().get("workers", {}))
    try:
        import dask

        runtime["dask"] = dask.__version__
        futures = [client.submit(segment_item, item, *args, runtime["threads"], options,
                                 key=f"meshseg-{index}-{item.sha256[:16]}", pure=False)
                   for index, item in enumerate(todo)]
        for future in as_completed(futures):
            finished(future.result())
            future.release()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


class Progress:
    """A tqdm bar on a terminal, plain lines otherwise (or with tqdm missing)."""

    def __init__(self, total: int, stream=None, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.bar = None
        if not quiet and getattr(self.stream, "isatty", lambda: False)():
            try:
                from tqdm import tqdm

                self.bar = tqdm(total=total, file=self.stream, unit="scan")
            except ImportError:
                self.bar = None

    def __call__(self, summary: dict, done: int, total: int) -> None:
        if self.quiet:
            return
        seconds = summary.get("timings", {}).get("total", 0.0)
        text = f"{summary['name']}: {summary['status']} ({seconds:.1f} s)"
        if summary.get("error"):
            text += f" - {summary['error']}"
        if self.bar is not None:
            self.bar.set_postfix_str(summary["name"][:30])
            self.bar.update(1)
            if summary["status"] == "failed":
                self.bar.write(text, file=self.stream)
        else:
            print(f"[{done}/{total}] {text}", file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
