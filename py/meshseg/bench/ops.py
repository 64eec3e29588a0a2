"""Benchmark: where a model's time goes, per operator type and per layer.

``python -m meshseg.bench.ops [--model ID ...] [--input t1_crop.nii.gz] [--threads 2]
[--optimisation all] [--top 8] [--json out.json]``

For each model it builds the tensor the pipeline feeds it (pre-model and crop included,
the job stops there), then runs that tensor through an
onnxruntime session with profiling on (same threads and graph optimisation as the CLI)
and reads onnxruntime's profile: the kernel time of every node after graph optimisation
(fused nodes appear as ``FusedConv`` etc.). The report gives, per operator type, the node
count, milliseconds and share of the run, then the slowest nodes ("layers") with their
output shapes. ``--optimisation disable`` shows the graph as converted, so the two reports
side by side say what onnxruntime's optimisation buys per operator.

The browser runs the same ONNX graphs with onnxruntime-web, whose WASM build offers no
per-node timing to JavaScript; its totals per model are in ``python -m meshseg.bench
--browser`` and the WebGPU ones in ``python -m meshseg.bench.webgpu``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from meshseg.bench.native import REPO, _all_models
from meshseg.inference import OPTIMISATION_LEVELS, session_options


def kernel_events(profile: list[dict]) -> list[dict]:
    """The per-node kernel timings of an onnxruntime profile, as ``{node, op, ms, shape}``.

    >>> kernel_events([{"cat": "Node", "name": "conv1_kernel_time", "dur": 2500,
    ...                 "args": {"op_name": "Conv",
    ...                          "output_type_shape": [{"float": [1, 5, 8, 8, 8]}]}},
    ...                {"cat": "Session", "name": "model_run", "dur": 3000}])
    [{'node': 'conv1', 'op': 'Conv', 'ms': 2.5, 'shape': [1, 5, 8, 8, 8]}]
    """
    events = []
    for event in profile:
        if event.get("cat") != "Node" or not event["name"].endswith("_kernel_time"):
            continue
        shapes = event.get("args", {}).get("output_type_shape") or [{}]
        events.append({"node": event["name"].removesuffix("_kernel_time"),
                       "op": event["args"]["op_name"], "ms": event["dur"] / 1000,
                       "shape": next(iter(shapes[0].values()), None)})
    return events


def by_operator(events: list[dict]) -> list[dict]:
    """Node count, milliseconds and share of the total per operator type, slowest first.

    >>> rows = by_operator([{"op": "Conv", "ms": 3.0}, {"op": "Conv", "ms": 1.0},
    ...                     {"op": "Relu", "ms": 1.0}])
    >>> [(r["op"], r["nodes"], r["ms"], r["share"]) for r in rows]
    [('Conv', 2, 4.0, 0.8), ('Relu', 1, 1.0, 0.2)]
    """
    total = sum(e["ms"] for e in events) or 1.0
    grouped = defaultdict(lambda: {"nodes": 0, "ms": 0.0})
    for event in events:
        grouped[event["op"]]["nodes"] += 1
        grouped[event["op"]]["ms"] += event["ms"]
    rows = [{"op": op, **values, "share": values["ms"] / total} for op, values in grouped.items()]
    return sorted(rows, key=lambda row: -row["ms"])


def profile_run(model_path: Path, input_name: str, tensor, threads: int,
                optimisation: str) -> list[dict]:
    """Run `tensor` once through a profiling session; the profile's kernel events."""
    import onnxruntime as ort

    with tempfile.TemporaryDirectory(prefix="meshseg-ops-") as tmp:
        options = session_options(threads, optimisation)  # as the CLI's runner
        options.enable_profiling = True
        options.profile_file_prefix = str(Path(tmp) / "profile")
        session = ort.InferenceSession(str(model_path), options,
                                       providers=["CPUExecutionProvider"])
        session.run(None, {input_name: tensor})
        profile = json.loads(Path(session.end_profiling()).read_text(encoding="utf-8"))
    return kernel_events(profile)


class _Captured(Exception):
    """Stops a job at `model`'s run, carrying the tensor the pipeline built for it."""


def model_tensor(scan: Path, model: str, cards: dict, runner):
    """The tensor the job for `scan` feeds `model` (pre-model runs answered by `runner`);
    the job stops there, so the model itself runs only in the profiling session."""
    from meshseg.pipeline import open_job, run_job

    def infer(model_id, tensor):
        if model_id == model:
            raise _Captured(tensor)
        return runner(model_id, tensor)

    try:
        run_job(open_job(scan.read_bytes(), scan.name, cards, model), infer)
    except _Captured as captured:
        return captured.args[0]
    raise RuntimeError(f"the job for {scan.name} never ran {model}")


def profile_model(scan: Path, model: str, models_dir: str, threads: int,
                  optimisation: str) -> dict:
    """The operator and layer profile of `model`'s own run in the job for `scan`."""
    from meshseg.cli import _cards
    from meshseg.inference import OnnxRunner

    cards = _cards(argparse.Namespace(models=models_dir, weights=None))
    runner = OnnxRunner(models_dir, cards, threads=threads)
    tensor = model_tensor(scan, model, cards, runner)
    card = cards[model]
    path = Path(models_dir) / card.onnx.get("file", f"{model}/model.onnx")
    events = profile_run(path, card.onnx.get("input", "input"), tensor, threads, optimisation)
    return {"model": model, "input_shape": list(tensor.shape), "threads": threads,
            "optimisation": optimisation, "total_ms": sum(e["ms"] for e in events),
            "operators": by_operator(events), "nodes": events}


def report(profile: dict, top: int) -> str:
    """One model's profile as text: operator types, then the `top` slowest nodes."""
    head = (f"{profile['model']}: input {profile['input_shape']}, {profile['threads']} threads, "
            f"optimisation {profile['optimisation']}, kernels {profile['total_ms'] / 1000:.2f} s")
    lines = [head, f"  {'operator':<22} {'nodes':>5} {'ms':>9} {'share':>6}"]
    lines += [f"  {r['op']:<22} {r['nodes']:>5} {r['ms']:>9.1f} {r['share']:>6.1%}"
              for r in profile["operators"]]
    lines.append(f"  slowest nodes: {'node':<28} {'operator':<14} {'ms':>8}  output")
    for node in sorted(profile["nodes"], key=lambda n: -n["ms"])[:top]:
        lines.append(f"  {'':15}{node['node'][:28]:<28} {node['op'][:14]:<14} "
                     f"{node['ms']:>8.1f}  {node['shape']}")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m meshseg.bench.ops", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", help="model id (repeatable; default all)")
    parser.add_argument("--input", default=str(REPO.parent / "shared" / "data" / "t1_crop.nii.gz"))
    parser.add_argument("--models", default=str(REPO / "dist" / "models"),
                        help="converted models folder (default: the files the page serves)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--optimisation", choices=OPTIMISATION_LEVELS, default="all")
    parser.add_argument("--top", type=int, default=8, help="slowest nodes to list")
    parser.add_argument("--json", help="write the profiles here")
    return parser


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    profiles = []
    for model in args.model or _all_models(args.models):
        profiles.append(profile_model(Path(args.input), model, args.models, args.threads,
                                      args.optimisation))
        print(report(profiles[-1], args.top), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(profiles, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
