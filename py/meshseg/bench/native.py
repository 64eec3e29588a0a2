"""Benchmark: per-stage times and peak memory of the CLI pipeline, and the browser.

``python -m meshseg.bench [--model model5_gw_ae] [--repeat 3] [--json out.json]``

Each case (input x model) runs in a fresh subprocess so that its peak resident
memory is its own; the table reports medians over ``--repeat`` runs. Inputs: the
already-conformed t1_crop (fast path) and a non-1 mm oblique scan (PSR.nii.gz
with its affine rotated, so that every stage takes its general path).

``python -m meshseg.bench --browser [--model ID ...] [--repeat 3] [--threads 1,2]``
compares native onnxruntime with the page in headless Chromium (onnxruntime-web,
WASM) on t1_crop, interleaving the runtimes within each repeat (native at each
thread count, then the browser at each); see bench/README.md.

The browser rows are WASM. WebGPU against WASM on a GPU: ``python -m meshseg.bench.webgpu``
(measured rows in bench/webgpu-measured.json); on Chromium's software adapter (SwiftShader)
only the correctness test tests/e2e/webgpu.test.mjs runs.

``python -m meshseg.bench --crop-vs-full MODEL`` runs the job with its crop and on the
whole volume, and prints the mean label Dice between the two and their FLOPs ratio.

``python -m meshseg.bench --reference MODEL`` counts the voxels where native
onnxruntime's labels differ from the float64 numpy reference on the very tensor
the pipeline feeds the model.
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


def run_case(scan: Path, model: str, models_dir: str | None, threads: int | None,
             save_mask: str | None = None) -> dict:
    """One pipeline run in this process: stage times, inference info, work, peak RSS.

    ``run_s`` is the time spent in ``session.run`` alone (sessions are created
    beforehand, outside it); ``save_mask`` writes the label NIfTI there.
    """
    from meshseg.cli import _cards
    from meshseg.inference import OnnxRunner
    from meshseg.pipeline import open_job, run_job
    from meshseg.weights import default_models_dir

    args = argparse.Namespace(models=models_dir or str(default_models_dir()), weights=None)
    cards = _cards(args)
    runner = OnnxRunner(args.models, cards, threads=threads)
    spent = {"run_s": 0.0}

    def infer(model_id, tensor):
        runner.session(model_id)
        started = time.perf_counter()
        labels = runner(model_id, tensor)
        spent["run_s"] += time.perf_counter() - started
        return labels

    start = time.perf_counter()
    result = run_job(open_job(scan.read_bytes(), scan.name, cards, model), infer)
    total = time.perf_counter() - start
    if save_mask:
        Path(save_mask).write_bytes(result.mask_bytes)
    return {
        "input": scan.name, "model": model, "total_s": round(total, 3),
        "run_s": round(spent["run_s"], 3), "stages": result.timings, "runner": runner.info(),
        "work": result.work, "labelled_ml": round(sum(r["ml"] for r in result.stats), 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def run_isolated(scan: Path, model: str, models_dir: str | None, threads: int | None,
                 save_mask: str | None = None) -> dict:
    """:func:`run_case` in a fresh Python process (clean peak memory)."""
    cmd = [sys.executable, "-m", "meshseg.bench", "--one", str(scan), "--model", model]
    if models_dir:
        cmd += ["--models", models_dir]
    if threads:
        cmd += ["--threads", str(threads)]
    if save_mask:
        cmd += ["--save-mask", save_mask]
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


# --- browser versus native ---------------------------------------------------

REPO = Path(__file__).resolve().parents[3]
BROWSER_DRIVER = REPO / "bench" / "browser.mjs"


def parse_threads(text: str) -> list[int]:
    """``"1,2"`` -> ``[1, 2]``; every entry a positive integer."""
    try:
        values = [int(part) for part in str(text).split(",") if part.strip()]
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"--threads takes numbers like 1,2, not {text!r}") from err
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"--threads takes numbers >= 1, like 1,2, not {text!r}")
    return values


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``, or None when either is missing or the denominator is 0."""
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def median_or_none(values) -> float | None:
    """Median of the values that are not None (None when there are none)."""
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def total_gflop(work: list[dict]) -> float:
    """GFLOP of a job's inferences (``Result.work``: one entry per network run)."""
    return float(sum(entry["gflop"] for entry in work))


def browser_run_s(case: dict) -> float:
    """Seconds the browser spent in ``session.run`` (the worker's ``inference[].runMs``)."""
    return sum(run["runMs"] for run in case["inference"]) / 1000


def run_browser(model: str, threads: int, out_dir: Path, scan: Path,
                optimisation: str = "all", provider: str = "wasm", gpu: str = "none") -> dict:
    """One case of ``bench/browser.mjs`` (fresh Chromium and server) -> its JSON report.

    ``gpu`` picks Chromium's switches: ``none`` (no WebGPU adapter, as the tests),
    ``software`` (SwiftShader) or ``hardware`` (the machine's GPU through Vulkan).
    """
    out = out_dir / f"browser-{model}-{provider}-t{threads}-{time.time_ns()}.json"
    cmd = ["node", str(BROWSER_DRIVER), "--model", model, "--threads", str(threads),
           "--provider", provider, "--optimisation", optimisation, "--input", str(scan),
           "--out", str(out), "--mask-dir", str(out_dir), "--gpu", gpu]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=REPO)
    if done.returncode != 0:
        raise RuntimeError(f"browser case {model} / {provider} / {threads} threads failed:\n"
                           f"{done.stderr}")
    return json.loads(out.read_text(encoding="utf-8"))


def differing_voxels(path_a: str | Path, path_b: str | Path) -> int:
    """Voxels where two label images differ (they must share a shape)."""
    a = np.asanyarray(nib.load(str(path_a)).dataobj)
    b = np.asanyarray(nib.load(str(path_b)).dataobj)
    if a.shape != b.shape:
        raise ValueError(f"{path_a} {a.shape} and {path_b} {b.shape} differ in shape")
    return int(np.count_nonzero(a != b))


def summarise_pair(model: str, threads: int, native: list[dict], browser: list[dict],
                   diffs: list[int]) -> dict:
    """Medians and ratios of one model at one thread count (native vs browser runs)."""
    gflop = total_gflop(native[0]["work"])
    row = {
        "model": model, "threads": threads, "repeats": len(native), "gflop": gflop,
        "native_total_s": median_or_none(r["total_s"] for r in native),
        "native_infer_stage_s": median_or_none(r["stages"].get("inference") for r in native),
        "native_run_s": median_or_none(r["run_s"] for r in native),
        "native_peak_mb": median_or_none(r["peak_rss_mb"] for r in native),
        "browser_total_s": median_or_none(r["run_to_done_s"] for r in browser),
        "browser_infer_stage_s": median_or_none(r["timings"].get("inference") for r in browser),
        "browser_run_s": median_or_none(browser_run_s(r) for r in browser),
        "browser_peak_mb": median_or_none(r["renderer_peak_mb"] for r in browser),
        "browser_backend": browser[0]["backend"] if browser else None,
        "browser_gflop": total_gflop(browser[0]["work"]) if browser else None,
        "differing_voxels": max(diffs) if diffs else None,
        "native_conform_s": median_or_none(r["stages"].get("conform") for r in native),
        "browser_conform_s": median_or_none(r["timings"].get("conform") for r in browser),
    }
    row["ratio_conform"] = ratio(row["browser_conform_s"], row["native_conform_s"])
    row["ratio_total"] = ratio(row["browser_total_s"], row["native_total_s"])
    row["ratio_inference"] = ratio(row["browser_run_s"], row["native_run_s"])
    row["native_gflops"] = ratio(gflop, row["native_run_s"])
    row["browser_gflops"] = ratio(gflop, row["browser_run_s"])
    return row


COMPARE_COLUMNS = (  # title, row key, width, format spec
    ("model", "model", 18, "s"), ("thr", "threads", 3, "d"), ("GFLOP", "gflop", 6, ".0f"),
    ("nat s", "native_total_s", 7, ".1f"), ("nat inf", "native_run_s", 7, ".1f"),
    ("web s", "browser_total_s", 7, ".1f"), ("web inf", "browser_run_s", 7, ".1f"),
    ("x job", "ratio_total", 6, ".2f"), ("x inf", "ratio_inference", 6, ".2f"),
    ("x conf", "ratio_conform", 6, ".2f"),
    ("natGF/s", "native_gflops", 7, ".1f"), ("webGF/s", "browser_gflops", 7, ".1f"),
    ("nat MB", "native_peak_mb", 7, ".0f"), ("web MB", "browser_peak_mb", 7, ".0f"),
    ("diff", "differing_voxels", 5, "d"),
)


def _cell(value, width: int, spec: str) -> str:
    if value is None:
        return f"{'-':>{width}s}"
    if spec == "s":
        return f"{str(value)[:width]:{width}s}"
    return format(value, f">{width}{spec}")


def fixed_width_table(columns, rows: list[dict]) -> str:
    """Rows as a fixed-width table; `columns` are (title, row key, width, format spec)
    tuples, and a missing value shows as "-"."""
    head = " ".join(f"{t:{w}s}" if s == "s" else f"{t:>{w}s}" for t, _, w, s in columns)
    lines = [head, "-" * len(head)]
    for row in rows:
        lines.append(" ".join(_cell(row.get(key), w, spec) for _, key, w, spec in columns))
    return "\n".join(lines)


def compare_table(rows: list[dict]) -> str:
    """The comparison rows as a fixed-width table ("-" for missing values)."""
    return fixed_width_table(COMPARE_COLUMNS, rows)


WEBGPU_NOTE = (
    "WebGPU: the rows above are WASM (provider=wasm). WebGPU against WASM on a hardware "
    "adapter is measured by python -m meshseg.bench.webgpu (rows in bench/webgpu-measured.json: "
    "NVIDIA H100 through Vulkan, labels equal to WASM for every model); on headless "
    "Chromium's software adapter (SwiftShader) only the correctness test "
    "tests/e2e/webgpu.test.mjs runs, whose times measure a CPU emulation (bench/README.md).")


def browser_report(rows: list[dict]) -> str:
    """The browser-versus-native table followed by :data:`WEBGPU_NOTE`."""
    return f"{compare_table(rows)}\n\n{WEBGPU_NOTE}"


def compare(models: list[str], threads: list[int], repeat: int, scan: Path,
            models_dir: str | None, log=print) -> list[dict]:
    """Native and browser runs of each model, interleaved per repeat; one row per thread count."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="meshseg-bench-") as tmp:
        tmp = Path(tmp)
        for model in models:
            native = {t: [] for t in threads}
            browser = {t: [] for t in threads}
            diffs = {t: [] for t in threads}
            for r in range(repeat):
                masks = {}
                for t in threads:
                    masks[t] = str(tmp / f"native-{model}-t{t}-r{r}.nii.gz")
                    native[t].append(run_isolated(scan, model, models_dir, t, masks[t]))
                    log(f"native  {model} {t} thread(s) repeat {r + 1}: "
                        f"{native[t][-1]['total_s']:.1f} s")
                for t in threads:
                    case = run_browser(model, t, tmp, scan)
                    browser[t].append(case)
                    diffs[t].append(differing_voxels(case["mask"], masks[t]))
                    log(f"browser {model} {t} thread(s) repeat {r + 1}: "
                        f"{case['run_to_done_s']:.1f} s, {diffs[t][-1]} differing voxels")
            rows += [summarise_pair(model, t, native[t], browser[t], diffs[t]) for t in threads]
    return rows


# --- renderer memory (/proc) ----------------------------------------------------


def parse_proc_status(text: str) -> dict:
    """``Name`` and ``VmHWM`` (kB) of a ``/proc/<pid>/status`` text (None when absent)."""
    fields = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    hwm = fields.get("VmHWM")
    return {"name": fields.get("Name"), "vmhwm_kb": int(hwm.split()[0]) if hwm else None}


def renderer_peaks(user_data_dir: str, proc: Path = Path("/proc")) -> list[dict]:
    """VmHWM of every ``--type=renderer`` process of the Chromium using `user_data_dir`.

    Chromium passes ``--user-data-dir`` on to its renderers, so the command line
    tells a renderer of this browser from those of any other Chromium running.
    Chromium rewrites its children's command lines as one space-separated string,
    so arguments are matched as words of the whole text.
    """
    marker = f"--user-data-dir={user_data_dir}"
    found = []
    for entry in sorted(proc.iterdir(), key=lambda e: e.name):
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().decode("utf-8", "replace").replace(
                "\0", " ").split()
            status = parse_proc_status((entry / "status").read_text(errors="replace"))
        except (FileNotFoundError, ProcessLookupError):
            continue  # the process ended while we listed /proc: no longer anybody's peak
        if "--type=renderer" in args and marker in args and status["vmhwm_kb"] is not None:
            found.append({"pid": int(entry.name), "vmhwm_kb": status["vmhwm_kb"]})
    return found


# --- float64 reference ------------------------------------------------------------


def pipeline_tensors(scan: Path, model: str, cards: dict, runner) -> list[tuple[str, np.ndarray]]:
    """(model id, tensor) of each inference of a job for `scan`, in order (answered by `runner`)."""
    from meshseg.pipeline import open_job, run_job

    seen = []

    def infer(model_id, tensor):
        seen.append((model_id, tensor))
        return runner(model_id, tensor)

    run_job(open_job(scan.read_bytes(), scan.name, cards, model), infer)
    return seen


def reference_check(scan: Path, model: str, models_dir: str | None, weights_dir: str,
                    threads: int | None = None) -> dict:
    """Differing voxels between native onnxruntime and the float64 reference.

    Runs on the model's own input tensor (after any pre-model and crop), as
    the pipeline builds it. Slow: numpy float64, no slabs.
    """
    from meshseg.cli import _cards
    from meshseg.convert.sources import load_network
    from meshseg.inference import OnnxRunner
    from meshseg.reference import meshnet_forward
    from meshseg.weights import default_models_dir

    args = argparse.Namespace(models=models_dir or str(default_models_dir()), weights=None)
    cards = _cards(args)
    runner = OnnxRunner(args.models, cards, threads=threads)
    tensor = [t for m, t in pipeline_tensors(scan, model, cards, runner) if m == model][-1]
    native = runner.labels(model, tensor)
    started = time.perf_counter()
    scores = meshnet_forward(load_network(weights_dir, model).layers, tensor[0, 0])
    labels = np.argmax(scores, axis=0)
    seconds = time.perf_counter() - started
    gflop = cards[model].flops_per_voxel * native.size / 1e9
    return {"model": model, "shape": list(native.shape), "gflop": round(gflop, 1),
            "reference_s": round(seconds, 1), "reference_gflops": round(gflop / seconds, 2),
            "differing_voxels": int(np.count_nonzero(labels != native))}


# --- crop versus whole volume ------------------------------------------------------


def label_dice(a: np.ndarray, b: np.ndarray) -> dict[int, float]:
    """Dice per non-zero label present in `a` or `b`."""
    a, b = np.asarray(a).ravel(), np.asarray(b).ravel()
    n = int(max(a.max(), b.max())) + 1
    both = np.bincount(a[a == b], minlength=n)
    count_a, count_b = np.bincount(a, minlength=n), np.bincount(b, minlength=n)
    return {label: 2.0 * both[label] / (count_a[label] + count_b[label])
            for label in range(1, n) if count_a[label] + count_b[label] > 0}


def crop_vs_full(data: bytes, name: str, cards: dict, model: str, infer) -> dict:
    """The job with its exact crop (``exact_crop: True``) against the same job on the whole
    volume (``crop: False``).

    Labels are compared on the model grid (``space: conformed``), after the usual
    post-processing. Returns the mean label Dice, the worst label's Dice, the
    differing voxels and the GFLOP of each job (pre-model included) and their ratio.
    """
    from meshseg.pipeline import open_job, run_job

    runs = {}
    for key, crop in (("crop", True), ("full", False)):
        started = time.perf_counter()
        options = {"crop": crop, "exact_crop": True, "space": "conformed"}
        result = run_job(open_job(data, name, cards, model, options), infer)
        runs[key] = (result, time.perf_counter() - started)
    (cropped, crop_s), (full, full_s) = runs["crop"], runs["full"]
    dice = label_dice(cropped.labels, full.labels)
    gflop = {key: total_gflop(result.work) for key, (result, _) in runs.items()}
    return {
        "model": model, "mean_dice": float(np.mean(list(dice.values()))),
        "min_dice": float(min(dice.values())), "labels": len(dice),
        "differing_voxels": int(np.count_nonzero(cropped.labels != full.labels)),
        "crop_shapes": [w["shape"] for w in cropped.work],
        "gflop_crop": round(gflop["crop"], 1), "gflop_full": round(gflop["full"], 1),
        "flops_ratio": round(gflop["crop"] / gflop["full"], 3),
        "crop_s": round(crop_s, 1), "full_s": round(full_s, 1),
    }


def crop_vs_full_main(scan: Path, models: list[str], models_dir: str | None,
                      threads: int | None) -> list[dict]:
    """:func:`crop_vs_full` for each model with native onnxruntime."""
    from meshseg.cli import _cards
    from meshseg.inference import OnnxRunner
    from meshseg.weights import default_models_dir

    args = argparse.Namespace(models=models_dir or str(default_models_dir()), weights=None)
    cards = _cards(args)
    runner = OnnxRunner(args.models, cards, threads=threads)
    rows = []
    for model in models:
        rows.append(crop_vs_full(scan.read_bytes(), scan.name, cards, model, runner))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return rows


def crop_table(rows: list[dict]) -> str:
    """Mean/min label Dice crop vs whole volume and the FLOPs ratio, one row per model."""
    lines = [f"{'model':<20} {'mean Dice':>9} {'min Dice':>9} {'diff vox':>9} "
             f"{'GFLOP crop':>10} {'GFLOP full':>10} {'ratio':>6}"]
    for r in rows:
        lines.append(f"{r['model']:<20} {r['mean_dice']:>9.4f} {r['min_dice']:>9.4f} "
                     f"{r['differing_voxels']:>9} {r['gflop_crop']:>10.1f} "
                     f"{r['gflop_full']:>10.1f} {r['flops_ratio']:>6.3f}")
    return "\n".join(lines)


def _all_models(models_dir: str | None) -> list[str]:
    from meshseg.models.index import read_index
    from meshseg.weights import default_models_dir

    index = Path(models_dir or default_models_dir()) / "index.json"
    return [card.id for card in read_index(index)]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m meshseg.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", help="model id (repeatable)")
    parser.add_argument("--input", action="append", help="scan (repeatable)")
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--models", help="converted models folder")
    parser.add_argument("--weights", default=str(REPO.parent / "shared" / "weights"),
                        help="upstream weights folder (for --reference)")
    parser.add_argument("--threads", type=parse_threads,
                        help="thread counts, e.g. 2 (default: all cores) or 1,2 with --browser "
                             "(default 1,2)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--browser", action="store_true",
                        help="compare native onnxruntime with the page in Chromium (WASM)")
    parser.add_argument("--reference", metavar="MODEL",
                        help="count voxels where native labels differ from the float64 reference")
    parser.add_argument("--crop-vs-full", metavar="MODEL", action="append",
                        help="mean label Dice and FLOPs of the crop against a whole-volume "
                             "run (repeatable)")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--save-mask", help=argparse.SUPPRESS)
    parser.add_argument("--renderer-peaks", help=argparse.SUPPRESS)
    return parser


def _finish(text: str, data, json_path: str | None) -> int:
    print(text)
    if json_path:
        Path(json_path).write_text(json.dumps(data, indent=2), encoding="utf-8")
    return 0


def _stages_main(args, parser) -> int:
    if args.threads and len(args.threads) > 1:
        parser.error("--threads takes one number without --browser")
    threads = args.threads[0] if args.threads else None
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(args.data)
        inputs = [Path(p) for p in args.input] if args.input else [
            data / "t1_crop.nii.gz",
            oblique_copy(data / "nifti_space" / "PSR.nii.gz", Path(tmp) / "PSR_oblique.nii.gz")]
        cases = []
        for model in args.model or ["model5_gw_ae"]:
            for scan in inputs:
                runs = [run_isolated(scan, model, args.models, threads)
                        for _ in range(args.repeat)]
                cases.append(median_case(runs))
                print(f"done: {scan.name} / {model}", file=sys.stderr)
    return _finish(table(cases), cases, args.json)


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.renderer_peaks:
        print(json.dumps(renderer_peaks(args.renderer_peaks)))
        return 0
    if args.one:
        threads = args.threads[0] if args.threads else None
        print(json.dumps(run_case(Path(args.one), args.model[0], args.models, threads,
                                  args.save_mask)))
        return 0
    scan = Path(args.input[0]) if args.input else Path(args.data) / "t1_crop.nii.gz"
    if args.reference:
        threads = args.threads[0] if args.threads else None
        found = reference_check(scan, args.reference, args.models, args.weights, threads)
        return _finish(json.dumps(found, indent=2), found, args.json)
    if args.crop_vs_full:
        threads = args.threads[0] if args.threads else None
        rows = crop_vs_full_main(scan, args.crop_vs_full, args.models, threads)
        return _finish(crop_table(rows), rows, args.json)
    if args.browser:
        models_dir = args.models or str(REPO / "dist" / "models")  # the files the page runs
        models = args.model or _all_models(models_dir)
        rows = compare(models, args.threads or [1, 2], args.repeat, scan, models_dir,
                       log=lambda text: print(text, file=sys.stderr, flush=True))
        return _finish(browser_report(rows), rows, args.json)
    return _stages_main(args, parser)


if __name__ == "__main__":
    sys.exit(main())
