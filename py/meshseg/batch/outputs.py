"""Batch outputs: manifest.json, volumes.csv and the optional ZIP archive."""

from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from pathlib import Path

from meshseg import __version__
from meshseg.batch.item import output_names

MANIFEST = "manifest.json"
VOLUMES = "volumes.csv"
VOLUME_FIELDS = ("scan", "model", "label", "name", "voxels", "ml", "quality_score",
                 "quality_flagged")
_ENTRY_KEYS = ("name", "input", "input_sha256", "model", "files", "status", "notices", "error",
               "timings", "outputs", "rss_mb", "quality")


def read_manifest(out_dir) -> dict:
    """The folder's manifest, or an empty one."""
    path = Path(out_dir) / MANIFEST
    if not path.is_file():
        return {"items": []}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, OSError):
        return {"items": []}


def finished_entry(manifest: dict, item, model_id: str, out_dir) -> dict | None:
    """The manifest entry that lets `item` be skipped: same name, model and input sha256,
    done (or warning), listing every output this version writes
    (:func:`meshseg.batch.item.output_names`: an entry of an older version without the
    aseg.stats or report is run again), each present."""
    for entry in manifest.get("items", []):
        if (entry.get("name"), entry.get("model")) != (item.name, model_id):
            continue
        if entry.get("input_sha256") != item.sha256 or entry.get("status") == "failed":
            return None
        outputs = entry.get("outputs") or {}
        if outputs != output_names(item.name, model_id, item.kind):
            return None
        if all((Path(out_dir) / f).is_file() for f in outputs.values()):
            return entry
        return None
    return None


def entry_of(summary: dict) -> dict:
    """The manifest entry of an item summary (no stats rows, no process ids)."""
    return {key: summary.get(key) for key in _ENTRY_KEYS}


def write_manifest(out_dir, entries: list[dict], card, runtime: dict, previous: dict,
                   skipped: int = 0) -> None:
    """manifest.json: version, runtime, model card, one entry per item (kept from earlier runs
    for items not in this batch)."""
    current = {(e["name"], e["model"]) for e in entries}
    kept = [e for e in previous.get("items", []) if (e.get("name"), e.get("model")) not in current]
    doc = {
        "meshseg": __version__,
        "runtime": runtime,
        "model": {"id": card.id, "title": card.title, "sha256": card.onnx.get("sha256", "")},
        "summary": dict(_counts(entries), skipped=skipped),
        "items": kept + entries,
    }
    _write_text(Path(out_dir) / MANIFEST, json.dumps(doc, indent=2) + "\n")


def write_volumes(out_dir, manifest_entries: list[dict]) -> int:
    """volumes.csv from the per-scan stats files of the successful entries; returns rows."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=VOLUME_FIELDS, lineterminator="\n")
    writer.writeheader()
    rows = 0
    for entry in manifest_entries:
        stats = (entry.get("outputs") or {}).get("stats")
        if entry.get("status") == "failed" or not stats:
            continue
        path = Path(out_dir) / stats
        if not path.is_file():
            continue
        scores = quality_cells(entry.get("quality"))
        for row in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))):
            writer.writerow({"scan": entry["name"], "model": entry["model"], **row, **scores})
            rows += 1
    _write_text(Path(out_dir) / VOLUMES, out.getvalue())
    return rows


def quality_cells(quality) -> dict:
    """volumes.csv's ``quality_score`` (4 decimals) and ``quality_flagged`` cells of a
    manifest entry's quality object (both empty without one).

    Examples
    --------
    >>> quality_cells({"score": 0.91234, "flagged": False})
    {'quality_score': '0.9123', 'quality_flagged': 'false'}
    >>> quality_cells(None)
    {'quality_score': '', 'quality_flagged': ''}
    """
    quality = quality or {}
    return {"quality_score": "" if quality.get("score") is None else f"{quality['score']:.4f}",
            "quality_flagged": _flag_text(quality.get("flagged"))}


def _flag_text(flagged) -> str:
    """``true``/``false`` (empty for a result without a quality object).

    Examples
    --------
    >>> _flag_text(True), _flag_text(None)
    ('true', '')
    """
    return "" if flagged is None else str(bool(flagged)).lower()


def write_zip(out_dir, archive) -> Path:
    """The output folder as a reproducible ZIP (sorted names, fixed time stamps)."""
    out_dir, archive = Path(out_dir), Path(archive)
    tmp = archive.with_name(f".{archive.name}.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in sorted(p for p in out_dir.rglob("*") if p.is_file()):
            relative = path.relative_to(out_dir)
            if any(part.startswith(".") for part in relative.parts):
                continue
            info = zipfile.ZipInfo(str(relative.as_posix()), date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zipped.writestr(info, path.read_bytes())
    os.replace(tmp, archive)
    return archive


def _counts(entries: list[dict]) -> dict:
    counts = {"done": 0, "warning": 0, "failed": 0}
    for entry in entries:
        status = entry.get("status", "failed")
        counts[status] = counts.get(status, 0) + 1
    return counts


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
