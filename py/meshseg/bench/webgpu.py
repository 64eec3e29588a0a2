"""Benchmark: WebGPU against WASM in the page, on the machine's own GPU.

``python -m meshseg.bench.webgpu [--model ID ...] [--threads 8] [--repeat 1]
[--gpu hardware] [--input t1_crop.nii.gz] [--json out.json]``

For each model and repeat it runs the built page (``dist/``) twice in a fresh headless
Chromium each (``bench/browser.mjs``): ``?provider=wasm&threads=N``, then
``?provider=webgpu``, on the same scan, and compares the two downloaded label masks
voxel by voxel. ``--gpu hardware`` launches Chromium with the GPU switches of
``playwright.config.js`` (``hardwareGpuArgs``: Vulkan, no ``--disable-gpu``);
``--gpu software`` uses SwiftShader instead (a correctness check; its times measure a CPU
emulation). The adapter the page was offered is printed with the table, and a run that
was not on a hardware adapter says so.

``faster`` is the provider with the shorter Run -> done time (the figure a user waits
for; each run creates its ONNX Runtime session, so WebGPU's shader compilation is in
it). :func:`provider_table` turns the rows into what ``provider=auto`` uses per model:
``bench/webgpu-measured.json`` holds the measured rows, and ``build.py`` writes
``dist/models/providers.json`` from it (bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from meshseg.bench.native import (
    REPO,
    _all_models,
    browser_run_s,
    differing_voxels,
    fixed_width_table,
    median_or_none,
    ratio,
    run_browser,
    total_gflop,
)

GPU_CHOICES = ("hardware", "software")


def is_hardware(adapter: dict | None) -> bool:
    """Whether an adapter (``bench/browser.mjs``'s ``adapter``) is a GPU, not an emulation."""
    if not adapter:
        return False
    software = adapter.get("isFallbackAdapter") or adapter.get("architecture") == "swiftshader"
    return not software


def summarise_model(model: str, wasm: list[dict], webgpu: list[dict], diffs: list[int]) -> dict:
    """Medians of one model's WASM and WebGPU runs, their ratios and the worst mask difference.

    >>> case = {"run_to_done_s": 4.0, "inference": [{"runMs": 3000}], "work": [{"gflop": 60}],
    ...         "backend": {"provider": "wasm", "threads": 8, "fallbackReason": None},
    ...         "adapter": None}
    >>> gpu = dict(case, run_to_done_s=2.0, inference=[{"runMs": 1000}],
    ...            backend={"provider": "webgpu", "threads": 8, "fallbackReason": None})
    >>> row = summarise_model("m", [case], [gpu], [0])
    >>> row["speedup_total"], row["speedup_run"], row["faster"]
    (2.0, 3.0, 'webgpu')
    """
    row = {
        "model": model, "repeats": len(wasm), "gflop": total_gflop(wasm[0]["work"]),
        "threads": wasm[0]["backend"]["threads"],
        "wasm_total_s": median_or_none(c["run_to_done_s"] for c in wasm),
        "wasm_run_s": median_or_none(browser_run_s(c) for c in wasm),
        "webgpu_total_s": median_or_none(c["run_to_done_s"] for c in webgpu),
        "webgpu_run_s": median_or_none(browser_run_s(c) for c in webgpu),
        "webgpu_provider": webgpu[0]["backend"]["provider"],
        "webgpu_fallback": webgpu[0]["backend"].get("fallbackReason"),
        "adapter": webgpu[0].get("adapter"),
        "differing_voxels": max(diffs),
    }
    row["speedup_total"] = ratio(row["wasm_total_s"], row["webgpu_total_s"])
    row["speedup_run"] = ratio(row["wasm_run_s"], row["webgpu_run_s"])
    row["faster"] = "webgpu" if row["webgpu_total_s"] < row["wasm_total_s"] else "wasm"
    return row


def auto_choices(rows: list[dict]) -> dict[str, bool]:
    """Per model: may ``provider=auto`` use WebGPU? Only where it ran on a hardware adapter,
    without falling back, with labels equal to WASM's, and faster from Run to done.

    >>> auto_choices([{"model": "a", "faster": "webgpu", "differing_voxels": 0,
    ...                "webgpu_provider": "webgpu", "adapter": {"architecture": "hopper"}},
    ...               {"model": "b", "faster": "wasm", "differing_voxels": 0,
    ...                "webgpu_provider": "webgpu", "adapter": {"architecture": "hopper"}}])
    {'a': True, 'b': False}
    """
    return {row["model"]: (row["faster"] == "webgpu" and row["differing_voxels"] == 0
                           and row["webgpu_provider"] == "webgpu"
                           and is_hardware(row["adapter"]))
            for row in rows}


def provider_table(measured: dict, source: str = "bench/webgpu-measured.json") -> dict:
    """What the page's ``provider=auto`` reads (``models/providers.json``): per measured
    model, whether WebGPU may be used (:func:`auto_choices`) and the two Run -> done times.

    >>> row = {"model": "m", "faster": "wasm", "differing_voxels": 0, "wasm_total_s": 2.0,
    ...        "webgpu_total_s": 3.0, "webgpu_provider": "webgpu", "adapter": {"vendor": "x"}}
    >>> provider_table({"adapter": "GPU X", "measured": "2026-11-22", "rows": [row]})["models"]
    {'m': {'webgpu': False, 'wasm_s': 2.0, 'webgpu_s': 3.0}}
    """
    choices = auto_choices(measured["rows"])
    return {
        "source": source, "measured": measured["measured"], "adapter": measured["adapter"],
        "models": {row["model"]: {"webgpu": choices[row["model"]],
                                  "wasm_s": round(row["wasm_total_s"], 1),
                                  "webgpu_s": round(row["webgpu_total_s"], 1)}
                   for row in measured["rows"]},
    }


COLUMNS = (  # title, key, width, format
    ("model", "model", 18, "s"), ("GFLOP", "gflop", 6, ".0f"), ("thr", "threads", 3, "d"),
    ("wasm s", "wasm_total_s", 7, ".1f"), ("wasm inf", "wasm_run_s", 8, ".1f"),
    ("gpu s", "webgpu_total_s", 7, ".1f"), ("gpu inf", "webgpu_run_s", 7, ".1f"),
    ("x job", "speedup_total", 6, ".2f"), ("x inf", "speedup_run", 6, ".2f"),
    ("faster", "faster", 6, "s"), ("diff", "differing_voxels", 5, "d"),
)


def describe_adapter(adapter: dict | None) -> str:
    """One line naming the adapter and whether it is hardware."""
    if not adapter:
        return "WebGPU adapter: none offered to the page"
    kind = "hardware" if is_hardware(adapter) else "software emulation (times are not a GPU's)"
    names = ", ".join(f"{key} {adapter.get(key)!r}" for key in
                      ("vendor", "architecture", "device", "description") if adapter.get(key))
    return f"WebGPU adapter: {names} ({kind}; shader-f16 {adapter.get('shaderF16')})"


def report(rows: list[dict]) -> str:
    """The table (``x job``/``x inf`` = WASM time / WebGPU time), the adapter and auto's choices."""
    lines = [fixed_width_table(COLUMNS, rows), "",
             describe_adapter(rows[0]["adapter"] if rows else None)]
    fallbacks = [f"{r['model']}: {r['webgpu_fallback']}" for r in rows if r["webgpu_fallback"]]
    if fallbacks:
        lines.append("fell back to WASM: " + "; ".join(fallbacks))
    choices = auto_choices(rows)
    lines.append("provider=auto may use WebGPU for: "
                 + (", ".join(m for m, ok in choices.items() if ok) or "no model"))
    return "\n".join(lines)


def compare(models: list[str], threads: int, repeat: int, scan: Path, gpu: str,
            log=print) -> list[dict]:
    """WASM then WebGPU per model and repeat, each in a fresh Chromium; one row per model."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="meshseg-webgpu-") as tmp:
        tmp = Path(tmp)
        for model in models:
            wasm, webgpu, diffs = [], [], []
            for r in range(repeat):
                wasm.append(run_browser(model, threads, tmp, scan, provider="wasm", gpu=gpu))
                webgpu.append(run_browser(model, threads, tmp, scan, provider="webgpu", gpu=gpu))
                diffs.append(differing_voxels(webgpu[-1]["mask"], wasm[-1]["mask"]))
                log(f"{model} repeat {r + 1}: wasm {wasm[-1]['run_to_done_s']:.1f} s, "
                    f"webgpu {webgpu[-1]['run_to_done_s']:.1f} s, {diffs[-1]} differing voxels")
            rows.append(summarise_model(model, wasm, webgpu, diffs))
    return rows


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m meshseg.bench.webgpu", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", help="model id (repeatable; default all)")
    parser.add_argument("--input", default=str(REPO.parent / "shared" / "data" / "t1_crop.nii.gz"))
    parser.add_argument("--threads", type=int, default=8, help="WASM threads (default 8, "
                        "the page's default on a machine with 8 or more cores)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--gpu", choices=GPU_CHOICES, default="hardware")
    parser.add_argument("--json", help="write the rows here")
    return parser


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    models = args.model or _all_models(str(REPO / "dist" / "models"))
    rows = compare(models, args.threads, args.repeat, Path(args.input), args.gpu,
                   log=lambda text: print(text, file=sys.stderr, flush=True))
    print(report(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
