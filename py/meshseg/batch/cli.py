"""``meshseg batch INPUT... -m MODEL --out DIR [--zip] [--scheduler ...]``.

Exit status: 0 when every item succeeded (done or warning), 1 when some failed
(listed on stderr and in manifest.json), 2 on usage errors.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

EPILOG = """\
Inputs: NIfTI, MGH/MGZ, NRRD (.nrrd, .nhdr + data) files, folders (searched
recursively), ZIP archives; DICOM files are grouped into series (one scan per
SeriesInstanceUID). Outputs in --out: <scan>_<model>_labels.nii.gz and
<scan>_<model>_stats.csv per scan, volumes.csv, manifest.json (and --zip: DIR.zip).
Items already done for the same input sha256 are skipped.
Scheduler: 'local' (default with Dask installed) starts a LocalCluster here;
tcp://HOST:8786 uses a running Dask cluster (e.g. from dask-jobqueue on Slurm/PBS;
inputs and --out must be on a file system the workers share); 'serial' runs one by one.
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
    batch.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    common(batch)
    batch.set_defaults(command=run)


class _Formatter(__import__("argparse").RawDescriptionHelpFormatter):
    pass


def run(args) -> int:
    """The ``batch`` command."""
    from meshseg.batch.inputs import UsageError, expand
    from meshseg.batch.outputs import write_zip
    from meshseg.batch.runner import DASK_HINT, Progress, dask_available, run_batch
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
    cards = _cards(args)
    if args.model not in cards:
        return _usage(f"unknown model {args.model!r}; available: {', '.join(sorted(cards))}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".inputs-", dir=out))
    try:
        try:
            items = expand(args.inputs, work)
        except UsageError as err:
            return _usage(str(err))
        if not items:
            return _usage("no files found in the inputs")
        if scheduler == "serial" and args.scheduler is None and not args.quiet:
            print(f"meshseg: running {len(items)} items one by one; {DASK_HINT}",
                  file=sys.stderr)
        progress = Progress(len(items), quiet=args.quiet)
        try:
            outcome = run_batch(items, cards[args.model], args.models, out,
                                scheduler=scheduler, workers=args.workers, threads=args.threads,
                                options={"space": args.space}, report=progress)
        finally:
            progress.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.zip:
        write_zip(out, out.with_name(out.name + ".zip"))
    _summary(outcome, args.quiet)
    return 1 if outcome["failed"] else 0


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
