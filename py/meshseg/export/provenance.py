"""Where a result came from: software, model, runtime, date and input grid (no patient
fields): what a report and a derivative dataset must say about it."""

from __future__ import annotations

import datetime as _dt
import os

from meshseg import __version__

#: Said on every report and derivative: results are not a medical device's.
RESEARCH_NOTICE = ("For research use only. Not a medical device: not for diagnosis or "
                   "treatment decisions. Check every result by eye.")


def provenance(card, scan_info: dict | None = None, runtime: dict | None = None,
               now: _dt.datetime | None = None) -> dict:
    """A plain dict of provenance facts.

    Parameters
    ----------
    card : ModelCard
    scan_info : dict, optional
        :func:`meshseg.loading.describe` of the input (name, shape, voxel_size_mm,
        orientation, source_format).
    runtime : dict, optional
        ``provider`` (e.g. "onnxruntime CPU", "webgpu", "wasm"), ``threads``, and
        ``commit`` when the caller knows the build's commit (the page's version.json).
    now : datetime, optional
        The date to state (default: now, UTC).

    Examples
    --------
    >>> import datetime
    >>> from types import SimpleNamespace
    >>> card = SimpleNamespace(id="m", title="M", licence="MIT", onnx={"sha256": "ab" * 32})
    >>> p = provenance(card, {"name": "t1.nii.gz", "shape": [2, 3, 4],
    ...                       "voxel_size_mm": [1, 1, 2]},
    ...                {"provider": "wasm", "threads": 2, "commit": "abc"},
    ...                datetime.datetime(2026, 1, 2, tzinfo=datetime.timezone.utc))
    >>> p["model"]["id"], p["input"]["name"], p["runtime"]["threads"], p["date"]
    ('m', 't1.nii.gz', 2, '2026-01-02T00:00:00+00:00')
    """
    info = dict(scan_info or {})
    run = dict(runtime or {})
    when = (now or _dt.datetime.now(_dt.timezone.utc)).replace(microsecond=0)
    return {
        "meshseg": {"version": __version__, "commit": run.pop("commit", None) or _commit()},
        "model": {"id": card.id, "title": card.title, "licence": card.licence,
                  "onnx_sha256": (card.onnx or {}).get("sha256", "")},
        "runtime": {"provider": run.get("provider", ""), "threads": run.get("threads")},
        "date": when.isoformat(),
        "input": {"name": info.get("name", ""), "shape": _ints(info.get("shape")),
                  "voxel_size_mm": _floats(info.get("voxel_size_mm")),
                  "orientation": info.get("orientation", ""),
                  "source_format": info.get("source_format", "")},
        "notice": RESEARCH_NOTICE,
    }


def _commit() -> str:
    """The commit of this checkout (MESHSEG_COMMIT, else git), or "" when unknown."""
    if os.environ.get("MESHSEG_COMMIT"):
        return os.environ["MESHSEG_COMMIT"]
    try:
        import subprocess
        from pathlib import Path

        here = Path(__file__).resolve().parent
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5, check=False)
        return out.stdout.strip() if out.returncode == 0 else ""
    except (OSError, ValueError, Exception):  # noqa: BLE001 - Pyodide has no subprocess
        return ""


def _ints(values):
    return [int(v) for v in values][:3] if values is not None else None


def _floats(values):
    return [round(float(v), 4) for v in values][:3] if values is not None else None
