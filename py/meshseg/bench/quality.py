"""Does the quality score predict the truth? The validation table, and the baselines.

    python -m meshseg.bench.quality [--model model5_gw_ae] [--scan FILE ...] [--seed 0]
                                    [--set standard|heldout] [--tta]
                                    [--out bench/quality-measured.json]
    python -m meshseg.bench.quality --reference [--model ID ...]

Validation: every scan runs clean, then as each case of
:func:`meshseg.bench.degrade.degradation_set`. The true quality of a result is the
mean label Dice of its labels against the clean scan's result, both on the model
grid (a case the input checks refuse is listed as refused: it gives no result, so no
wrong one; a refused clean scan skips its scan). ``--set heldout`` validates on
strengths, axes and combinations the score was not fitted on. The table prints case,
true Dice, score, flagged and reasons; the summary gives Spearman(score, Dice), the
flag counts against the goals (every Dice < 0.75 flagged; no clean scan flagged), the
Spearman of each signal alone, and the time the default score and test-time
augmentation cost.

``--reference`` measures each model's clean-scan baseline on ``t1_crop.nii.gz``
(mean uncertainty overall and per label, the mirrored run's agreement) and writes
``meshseg/quality/reference.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from meshseg.bench.degrade import SETS
from meshseg.quality.reference import REFERENCE_FILE
from meshseg.quality.tta import mean_dice

DICE_GOAL = 0.75
SPEARMAN_GOAL = 0.7
SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data"
DEFAULT_SCANS = ("t1_crop.nii.gz", "avg152T1_RL_nifti.nii.gz")
#: Signals whose Spearman with the true Dice the summary reports (sign: +1 when a
#: larger value should mean a better result).
SIGNALS = (("uncertainty", -1), ("low_confidence_share", -1), ("contrast_ratio", 1),
           ("largest_voxel_mm", -1), ("tta_agreement", 1))
IMAGE_METRICS = (("snr", 1), ("cnr", 1), ("cjv", -1), ("efc", -1), ("fber", 1))


class Bench:
    """A native runner and the cards, running one model on images."""

    def __init__(self, models_dir: str | None, threads: int) -> None:
        from meshseg.cli import _cards
        from meshseg.inference import OnnxRunner
        from meshseg.weights import default_models_dir

        args = argparse.Namespace(models=models_dir or str(default_models_dir()), weights=None)
        self.cards = _cards(args)
        self.runner = OnnxRunner(args.models, self.cards, threads=threads)

    def run(self, image, name: str, model: str, tta: bool = False) -> dict:
        """One run on the model grid: labels, quality, timings, seconds."""
        from meshseg.driver import run
        from meshseg.session import ScanSession

        session = ScanSession.open(_nifti_bytes(image), name)
        started = time.perf_counter()
        result = run(session.job(self.cards, model, {"space": "conformed", "tta": tta}),
                     self.runner)
        return {"labels": np.asarray(result.labels), "quality": result.quality,
                "timings": dict(result.timings), "seconds": time.perf_counter() - started,
                "model_probability": result.model_probability}


def validate(bench: Bench, model: str, scans: list[Path], seed: int, tta: bool,
             kind: str = "standard") -> dict:
    """Rows for every scan and case (and with `tta` the same cases with test-time
    augmentation, against the clean scan's plain result), and the summaries."""
    import nibabel as nib

    from meshseg.bench.degrade import degradation_set
    from meshseg.errors import InputImageError

    rows, tta_rows, refused = [], [], []
    for scan in scans:
        img = nib.load(str(scan))
        cases = [("clean", img)] + [(c.name, c.image)
                                    for c in degradation_set(img, seed, kind=kind)]
        clean = None
        for name, image in cases:
            try:
                plain = bench.run(image, f"{name}.nii.gz", model)
            except InputImageError as error:  # refused: no result, so no wrong result
                refused.append({"scan": scan.name, "case": name, "error": str(error)})
                print(f"{scan.name[:18]:18s} {name:26s} refused: {error}", flush=True)
                if clean is None:
                    break  # no clean result: nothing to measure this scan's cases against
                continue
            clean = plain["labels"] if clean is None else clean
            rows.append(_row(scan.name, name, plain, clean))
            _print_row(rows[-1])
            if tta:
                mirrored = bench.run(image, f"{name}.nii.gz", model, tta=True)
                tta_rows.append(_row(scan.name, name, mirrored, clean, plain))
                _print_row(tta_rows[-1])
    result = {"model": model, "seed": seed, "set": kind, "rows": rows,
              "summary": {**summary(rows), "refused": len(refused)}, "refused": refused}
    if tta:
        result.update(tta_rows=tta_rows, tta_summary=summary(tta_rows))
    return result


def summary(rows: list[dict]) -> dict:
    """Spearman of the score and of each signal with the true Dice; flag counts; time."""
    dice = [r["dice"] for r in rows]
    low = [r for r in rows if r["dice"] < DICE_GOAL]
    clean = [r for r in rows if r["case"] == "clean"]
    per_signal = {}
    for key, sign in SIGNALS:
        per_signal[key] = _spearman([sign * v if v is not None else None
                                     for v in (r["signals"].get(key) for r in rows)], dice)
    for key, sign in IMAGE_METRICS:
        per_signal[key] = _spearman([None if r["image"][key] is None else sign * r["image"][key]
                                     for r in rows], dice)
    extra = {}
    if rows and rows[0].get("tta"):
        extra = {"changed_voxels_median": float(np.median([r["changed_voxels"] for r in rows])),
                 "inference_ratio_median": float(np.median([r["inference_ratio"]
                                                            for r in rows]))}
    return {
        **extra,
        "cases": len(rows), "spearman": _spearman([r["score"] for r in rows], dice),
        "below_goal": len(low), "below_goal_flagged": sum(r["flagged"] for r in low),
        "flagged_at_or_above_goal": sum(r["flagged"] for r in rows if r["dice"] >= DICE_GOAL),
        "clean": len(clean), "clean_flagged": sum(r["flagged"] for r in clean),
        "signal_spearman": per_signal,
        "quality_seconds_median": float(np.median([r["quality_seconds"] for r in rows])),
        "quality_share_median": float(np.median([r["quality_share"] for r in rows])),
    }


def _row(scan: str, case: str, run: dict, clean_labels, plain: dict | None = None) -> dict:
    quality = run["quality"]
    dice = mean_dice(run["labels"], clean_labels)
    timings = run["timings"]
    spent = sum(v for k, v in timings.items() if k != "load")
    extra = {}
    if plain is not None:  # a TTA run: what it changed against the plain run, its cost
        extra = {"tta": True,
                 "changed_voxels": int(np.count_nonzero(run["labels"] != plain["labels"])),
                 "inference_ratio": round(timings.get("inference", 0.0)
                                          / max(plain["timings"].get("inference", 0.0), 1e-9), 3)}
    return {**extra, "scan": scan, "case": case, "dice": round(1.0 if dice is None else dice, 4),
            "score": quality["score"], "flagged": quality["flagged"],
            "reasons": quality["reasons"], "signals": quality["signals"],
            "image": quality["image"], "contrast": quality["contrast"]["observed"],
            "quality_seconds": round(timings.get("quality", 0.0), 3),
            "quality_share": round(timings.get("quality", 0.0) / max(spent, 1e-9), 4),
            "inference_seconds": round(timings.get("inference", 0.0), 3)}


def _print_row(row: dict) -> None:
    reasons = "; ".join(reason.split(":")[0] for reason in row["reasons"]) or "-"
    kind = "TTA " if row.get("tta") else ""
    print(f"{kind}{row['scan'][:18]:18s} {row['case']:26s} dice {row['dice']:.3f}  "
          f"score {row['score']:.3f}  {'FLAGGED' if row['flagged'] else 'ok     '}  {reasons}",
          flush=True)


def _spearman(values: list, dice: list) -> float | None:
    from scipy.stats import spearmanr

    pairs = [(v, d) for v, d in zip(values, dice, strict=True) if v is not None]
    if len(pairs) < 3 or len({p[0] for p in pairs}) < 2:
        return None
    rho = spearmanr([p[0] for p in pairs], [p[1] for p in pairs]).statistic
    return None if not np.isfinite(rho) else round(float(rho), 4)


def reference(bench: Bench, models: list[str], scan: Path, keep=None) -> dict:
    """Each model's clean-scan baseline on `scan` (plain run, and with TTA); `keep`
    (model id, entry) is called after each model."""
    import nibabel as nib

    from meshseg.quality.confidence import confidence_map, label_uncertainty

    img = nib.load(str(scan))
    out = {}
    for model in models:
        card = bench.cards[model]
        prob = card.output("probability")
        if card.kind != "labels" or prob is None:
            print(f"{model}: no probability output, no baseline", flush=True)
            continue
        plain = bench.run(img, scan.name, model)
        mirrored = bench.run(img, scan.name, model, tta=True)
        confidence = confidence_map(plain["model_probability"], prob["meaning"])
        overall, per = label_uncertainty(plain["labels"], confidence)
        names = {int(c["index"]): str(c["name"]) for c in card.classes}
        out[model] = {
            "onnx_sha256": card.onnx.get("sha256", ""), "scan": scan.name,
            "uncertainty": round(overall, 4),
            "labels": {names.get(v, str(v)): round(u, 4) for v, (u, _) in sorted(per.items())},
            "tta_agreement": mirrored["quality"]["signals"]["tta_agreement"],
            "inference_seconds": round(plain["timings"].get("inference", 0.0), 3),
            "tta_inference_seconds": round(mirrored["timings"].get("inference", 0.0), 3),
            "quality_seconds": round(plain["timings"].get("quality", 0.0), 3),
            "run_seconds": round(sum(v for k, v in plain["timings"].items() if k != "load"), 3),
            "tta_run_seconds": round(sum(v for k, v in mirrored["timings"].items()
                                         if k != "load"), 3),
            "tta_changed_voxels": int((plain["labels"] != mirrored["labels"]).sum()),
            "labelled_voxels": int((plain["labels"] != 0).sum()),
        }
        print(f"{model}: uncertainty {overall:.4f}, mirrored agreement "
              f"{out[model]['tta_agreement']}", flush=True)
        if keep is not None:
            keep(model, out[model])
    return out


def keep_reference(model: str, entry: dict, path: Path = REFERENCE_FILE) -> None:
    """Merge one model's baseline into the reference file (written at once)."""
    old = json.loads(path.read_text()) if path.is_file() else {}
    models = {**old.get("models", {}), model: entry}
    path.write_text(json.dumps({"version": 1, "models": dict(sorted(models.items()))},
                               indent=1) + "\n")


def _nifti_bytes(image) -> bytes:
    import nibabel as nib

    if not isinstance(image, nib.Nifti1Image):
        image = nib.Nifti1Image(np.asanyarray(image.dataobj), image.affine)
    return image.to_bytes()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m meshseg.bench.quality",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", help="converted models folder (default: the CLI's)")
    parser.add_argument("--model", action="append", help="model id (repeatable)")
    parser.add_argument("--scan", action="append", type=Path, help="scan (repeatable)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tta", action="store_true", help="validate with test-time augmentation")
    parser.add_argument("--set", default="standard", choices=sorted(SETS),
                        help="degradation set (heldout: strengths and axes not fitted on)")
    parser.add_argument("--reference", action="store_true",
                        help=f"measure the clean-scan baselines into {REFERENCE_FILE.name}")
    parser.add_argument("--out", type=Path, help="write the rows and summary as JSON")
    args = parser.parse_args(argv)
    bench = Bench(args.models, args.threads)
    if args.reference:
        models = args.model or sorted(bench.cards)
        entries = reference(bench, models, (args.scan or [SHARED / DEFAULT_SCANS[0]])[0],
                            keep=keep_reference)
        print(f"wrote {REFERENCE_FILE} ({len(entries)} models measured)")
        return 0
    scans = args.scan or [SHARED / name for name in DEFAULT_SCANS]
    results = [validate(bench, model, scans, args.seed, args.tta, args.set)
               for model in (args.model or ["model5_gw_ae"])]
    for result in results:
        print(json.dumps({"model": result["model"], "summary": result["summary"],
                          "tta_summary": result.get("tta_summary")}, indent=1))
    if args.out:
        args.out.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
