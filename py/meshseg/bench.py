"""Benchmark: per-stage times and peak memory of the CLI pipeline.

``python -m meshseg.bench [--model model5_gw_ae] [--repeat 3] [--json out.json]``

Each case (input x model) runs in a fresh subprocess so that its peak resident
memory is its own; the table reports medians over ``--repeat`` runs. Inputs: the
already-conformed t1_crop (fast path) and a non-1 mm oblique scan (PSR.nii.gz
with its affine rotated, so that every stage takes its general path).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nibabel as nib
import numpy as np

STAGES = ("load", "conform", "normalise", "premodel", "inference", "postprocess", "native",
          "stats")


def oblique_copy(path: Path, out: Path, degrees: float = 12.0) -> Path:
    """`path` with its affine rotated by `degrees` about the x and z axes (data untouched)."""
    img = nib.load(str(path))
    theta = np.deg2rad(degrees)
    c, s = np.cos(theta), np.sin(theta)
    rot = np.eye(4)
    rot[:3, :3] = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]) @ np.array(
        [[1, 0, 0], [0, c, -s], [0, s, c]])
    oblique = nib.Nifti1Image(np.asanyarray(img.dataobj), rot @ img.affine)
    nib.save(oblique, str(out))
    return out


def run_case(scan: Path, model: str, models_dir: str | None, threads: int | None) -> dict:
    """One pipeline run in this process: stage times, inference info, peak RSS."""
    from meshseg.cli import _cards
    from meshseg.inference import OnnxRunner
    from meshseg.pipeline import Job, run_job
    from meshseg.weights import default_models_dir

    args = argparse.Namespace(models=models_dir or str(default_models_dir()), weights=None)
    cards = _cards(args)
    runner = OnnxRunner(args.models, cards, threads=threads)
    start = time.perf_counter()
    result = run_job(Job(scan.read_bytes(), scan.name, cards, model), runner)
    return {
        "input": scan.name, "model": model, "total_s": round(time.perf_counter() - start, 3),
        "stages": result.timings, "runner": runner.info(),
        "labelled_ml": round(sum(r["ml"] for r in result.stats), 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def run_isolated(scan: Path, model: str, models_dir: str | None, threads: int | None) -> dict:
    """:func:`run_case` in a fresh Python process (clean peak memory)."""
    cmd = [sys.executable, "-m", "meshseg.bench", "--one", str(scan), "--model", model]
    if models_dir:
        cmd += ["--models", models_dir]
    if threads:
        cmd += ["--threads", str(threads)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"benchmark case {scan.name} / {model} failed:\n{done.stderr}")
    return json.loads(done.stdout)


def median_case(runs: list[dict]) -> dict:
    """Medians of a case's repeated runs (stage times, total, peak memory)."""
    out = dict(runs[0])
    out["repeats"] = len(runs)
    out["total_s"] = statistics.median(r["total_s"] for r in runs)
    out["peak_rss_mb"] = statistics.median(r["peak_rss_mb"] for r in runs)
    out["stages"] = {s: statistics.median(r["stages"].get(s, 0.0) for r in runs)
                     for s in STAGES if any(s in r["stages"] for r in runs)}
    return out


def table(cases: list[dict]) -> str:
    """The cases as a fixed-width text table (seconds per stage, MB)."""
    stages = [s for s in STAGES if any(s in c["stages"] for c in cases)]
    head = f"{'input':22s} {'model':16s} " + " ".join(f"{s[:9]:>9s}" for s in stages)
    head += f" {'total':>8s} {'peakMB':>8s} {'mL':>8s}"
    lines = [head, "-" * len(head)]
    for c in cases:
        cells = " ".join(f"{c['stages'].get(s, 0.0):9.2f}" for s in stages)
        lines.append(f"{c['input'][:22]:22s} {c['model'][:16]:16s} {cells} "
                     f"{c['total_s']:8.2f} {c['peak_rss_mb']:8.0f} {c['labelled_ml']:8.1f}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m meshseg.bench", description=__doc__)
    parser.add_argument("--model", action="append", help="model id (repeatable)")
    parser.add_argument("--input", action="append", help="scan (repeatable)")
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2].parent
                                             / "shared" / "data"))
    parser.add_argument("--models", help="converted models folder")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_case(Path(args.one), args.model[0], args.models, args.threads)))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(args.data)
        inputs = [Path(p) for p in args.input] if args.input else [
            data / "t1_crop.nii.gz",
            oblique_copy(data / "nifti_space" / "PSR.nii.gz", Path(tmp) / "PSR_oblique.nii.gz")]
        cases = []
        for model in args.model or ["model5_gw_ae"]:
            for scan in inputs:
                runs = [run_isolated(scan, model, args.models, args.threads)
                        for _ in range(args.repeat)]
                cases.append(median_case(runs))
                print(f"done: {scan.name} / {model}", file=sys.stderr)
    print(table(cases))
    if args.json:
        Path(args.json).write_text(json.dumps(cases, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
