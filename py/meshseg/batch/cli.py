"""``meshseg batch INPUT... -m MODEL --out DIR [--zip] [--scheduler ...]``, and
``meshseg batch BIDS_ROOT --bids -m MODEL --out DIR [--probseg]`` (a BIDS derivative).

Exit status: 0 when every item succeeded (done or warning), 1 when some failed
(listed on stderr and in manifest.json), 2 on usage errors.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

EPILOG = """\
Inputs: NIfTI, MGH/MGZ, NRRD (.nrrd, .nhdr + data) files, folders (searched
recursively), ZIP archives; DICOM files are grouped into series (one scan per
SeriesInstanceUID). Outputs in --out: <scan>_<model>_labels.nii.gz and
<scan>_<model>_{stats.csv,aseg.stats,report.html}, volumes.csv, manifest.json (--zip: DIR.zip).
Items already done for the same input sha256 are skipped.
Scheduler: 'local' (default with Dask installed) starts a LocalCluster here;
tcp://HOST:8786 uses a running Dask cluster (e.g. from dask-jobqueue on Slurm/PBS;
inputs and --out must be on a file system the workers share); 'serial' runs one by one.
--bids: the one INPUT is a BIDS dataset's root; its sub-*/[ses-*/]anat/*_T1w.nii[.gz] are
segmented and --out becomes a BIDS derivative dataset (dataset_description.json,
sub-*/[ses-*/]anat/*_space-orig_desc-<model>_dseg.nii.gz with .tsv and .json, volume
tables; --probseg: the probability map too); the batch's own folder (manifest.json,
volumes.csv) is --out/sourcedata/meshseg-batch. See docs/exports/bids.md.
"""


def add_parser(sub, common) -> None:
    """Add the ``batch`` subcommand to the CLI's subparsers; `common` adds --models/--weights."""
    batch = sub.add_parser("batch", help="segment many scans (files, folders, ZIPs, DICOM)",
                           epilog=EPILOG, formatter_class=_Formatter)
    batch.add_argument("inputs", nargs="+", metavar="INPUT", help="files, folders or ZIPs")
    batch.add_argument("-m", "--model", required=True, help="model id (see `meshseg models`)")
    batch.add_argument("--out", required=True, help="output folder (created if needed)")
    batch.add_argument("--zip", action="store_true", help="also write the folder as DIR.zip")
    batch.add_argument("--scheduler", default=None,
                       help="serial | local | tcp://HOST:8786 (default: local with Dask "
                       "installed, else serial)")
    batch.add_argument("--workers", type=int, help="local Dask worker processes "
                       "(default: cores / 2)")
    batch.add_argument("--threads", type=int, help="onnxruntime threads per worker "
                       "(default: cores / workers)")
    batch.add_argument("--space", choices=("native", "conformed"), default="native")
    batch.add_argument("--bids", action="store_true",
                       help="INPUT is a BIDS dataset: segment its T1w images and write --out as "
                       "a BIDS derivative dataset")
    batch.add_argument("--probseg", action="store_true",
                       help="with --bids: also write each image's probability map (_probseg; "
                       "models with a probability output)")
    batch.add_argument("--tta", action="store_true",
                       help="test-time augmentation (the left-right mirror too; about twice "
                            "the model time)")
    batch.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    common(batch)
    batch.set_defaults(command=run)


class _Formatter(__import__("argparse").RawDescriptionHelpFormatter):
    pass


def run(args) -> int:
    """The ``batch`` command."""
    from meshseg.batch.inputs import UsageError, expand
    from meshseg.batch.outputs import write_zip
    from meshseg.batch.runner import DASK_HINT, dask_available
    from meshseg.cli import _cards

    scheduler = args.scheduler or ("local" if dask_available() else "serial")
    if scheduler not in ("serial", "local") and "://" not in scheduler:
        return _usage(f"--scheduler must be serial, local or a tcp://HOST:PORT address, "
                      f"not {scheduler!r}")
    if scheduler != "serial" and not dask_available():
        return _usage(f"--scheduler {scheduler} needs Dask: {DASK_HINT}")
    for flag in ("workers", "threads"):
        if getattr(args, flag) is not None and getattr(args, flag) < 1:
            return _usage(f"--{flag} must be at least 1")
    problem = _bids_usage(args)
    if problem:
        return _usage(problem)
    cards = _cards(args)
    if args.model not in cards:
        return _usage(f"unknown model {args.model!r}; available: {', '.join(sorted(cards))}")
    card = cards[args.model]
    if args.probseg and card.output("probability") is None:
        return _usage(f"--probseg: the model {card.id} has no probability output; use a model "
                      "that has one (see `meshseg models`), or leave --probseg out.")
    out = Path(args.out)
    if args.bids:
        return _run_bids(args, card, out, scheduler)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".inputs-", dir=out))
    try:
        try:
            items = expand(args.inputs, work)
        except UsageError as err:
            return _usage(str(err))
        if not items:
            return _usage("no files found in the inputs")
        outcome = _run_items(args, items, card, out, scheduler,
                             {"space": args.space, "tta": args.tta})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.zip:
        write_zip(out, out.with_name(out.name + ".zip"))
    _summary(outcome, args.quiet)
    return 1 if outcome["failed"] else 0


def _run_items(args, items, card, out: Path, scheduler: str, options: dict) -> dict:
    """run_batch with the progress display."""
    from meshseg.batch.runner import DASK_HINT, Progress, run_batch

    if scheduler == "serial" and args.scheduler is None and not args.quiet:
        print(f"meshseg: running {len(items)} items one by one; {DASK_HINT}", file=sys.stderr)
    progress = Progress(len(items), quiet=args.quiet)
    try:
        return run_batch(items, card, args.models, out, scheduler=scheduler,
                         workers=args.workers, threads=args.threads, options=options,
                         report=progress)
    finally:
        progress.close()


def _bids_usage(args) -> str:
    """What is wrong with the BIDS options ("" when nothing)."""
    if args.probseg and not args.bids:
        return "--probseg goes with --bids (a BIDS derivative's probability maps)."
    if args.bids and len(args.inputs) != 1:
        return f"--bids takes one BIDS dataset folder, not {len(args.inputs)} inputs."
    if args.bids and args.space != "native":
        return ("--bids writes labels on each T1w image's own grid (space-orig); "
                "--space conformed does not go with it.")
    return ""


def _run_bids(args, card, out: Path, scheduler: str) -> int:
    """``--bids``: the dataset's T1w images as a batch in --out/sourcedata/meshseg-batch, then
    the derivative dataset in --out from the batch's outputs.

    Resuming: the batch skips images already done for the same input sha256 (its
    manifest); with ``--probseg`` an image done without its probability map runs again.
    """
    from meshseg.batch.inputs import bids_items
    from meshseg.batch.item import output_names
    from meshseg.export.bids.derivatives import (
        BATCH_DIR,
        archive_names,
        batch_probability_name,
        write_archive,
        write_dataset,
    )
    from meshseg.export.bids.layout import read_dataset
    from meshseg.export.registry import ExportError

    try:
        dataset = read_dataset(args.inputs[0])
        _check_bids_out(dataset.root, out)
    except ExportError as err:
        return _usage(str(err))
    items, images = bids_items(dataset)
    batch_dir = out / BATCH_DIR
    batch_dir.mkdir(parents=True, exist_ok=True)
    options = {"space": "native", "tta": args.tta}
    if args.probseg:
        options["probability"] = "float32"
        for item in items:  # done before without its probability map: run it again
            labels = batch_dir / output_names(item.name, card.id)["mask"]
            if not (batch_dir / batch_probability_name(item.name, card.id)).is_file() \
                    and labels.is_file():
                labels.unlink()
    outcome = _run_items(args, items, card, batch_dir, scheduler, options)
    raw_link = Path(os.path.relpath(dataset.root.resolve(), out.resolve())).as_posix()
    try:
        written = write_dataset(out, dataset, images, outcome["entries"], card,
                                batch_dir=batch_dir, raw_link=raw_link, probseg=args.probseg)
    except (ExportError, OSError) as err:
        print(f"meshseg batch: error: the derivative could not be written: {err}",
              file=sys.stderr)
        return 1
    if args.zip:
        write_archive(out, out.with_name(out.name + ".zip"))
    _summary(outcome, args.quiet)
    if not args.quiet:
        print(f"meshseg: BIDS derivative of {dataset.name} in {out} "
              f"({len(archive_names(out))} files; {written['removed']} of failed images "
              "removed)", file=sys.stderr)
    return 1 if outcome["failed"] else 0


def _check_bids_out(root: Path, out: Path) -> None:
    """Refuse an --out that would write into the source dataset or over another dataset."""
    from meshseg.export.bids.layout import DESCRIPTION
    from meshseg.export.registry import ExportError

    root_r, out_r = root.resolve(), out.resolve()
    derivatives = root_r / "derivatives"
    if out_r == root_r or (root_r in out_r.parents and derivatives != out_r
                           and derivatives not in out_r.parents):
        raise ExportError(f"{out}: is inside the BIDS dataset {root}; write the derivative to "
                          f"{root}/derivatives/meshseg or outside the dataset.")
    if out_r in root_r.parents:
        raise ExportError(f"{out}: holds the BIDS dataset {root}; choose a folder beside it, "
                          f"such as {root}/derivatives/meshseg.")
    description = out / DESCRIPTION
    if description.is_file():
        import json

        try:
            generated = json.loads(description.read_text(encoding="utf-8"))["GeneratedBy"]
            ours = generated[0]["Name"] == "meshseg"
        except (ValueError, KeyError, IndexError, TypeError, UnicodeDecodeError):
            ours = False
        if not ours:
            raise ExportError(f"{out}: holds another dataset ({DESCRIPTION} not written by "
                              "meshseg); choose an empty folder for the derivative.")


def _summary(outcome: dict, quiet: bool) -> None:
    entries, failed = outcome["entries"], outcome["failed"]
    if not quiet:
        runtime = outcome["runtime"]
        print(f"meshseg: {len(entries) - len(failed)} of {len(entries)} scans segmented "
              f"({outcome['skipped']} already done, skipped) in {outcome['seconds']:.1f} s; "
              f"scheduler {runtime['scheduler']}, {runtime.get('workers')} workers x "
              f"{runtime.get('threads')} threads", file=sys.stderr)
    for entry in failed:
        print(f"meshseg: failed: {entry['error']}", file=sys.stderr)


def _usage(message: str) -> int:
    print(f"meshseg batch: error: {message}", file=sys.stderr)
    return 2
