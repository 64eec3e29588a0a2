"""The volume table as CSV and JSON (the formats ``--stats X.csv|X.json`` always had)."""

from __future__ import annotations

from meshseg.stats import stats_csv, stats_json


def write_csv(outcome, *, name: str = "") -> bytes:
    """label,name,voxels,ml rows of `outcome` (:func:`meshseg.stats.stats_csv`)."""
    return stats_csv(outcome.rows).encode("utf-8")


def write_json(outcome, *, name: str = "", meta: dict | None = None) -> bytes:
    """``{"meta", "total_ml", "labels"}`` of `outcome` (:func:`meshseg.stats.stats_json`)."""
    info = meta if meta is not None else {"file": outcome.name, "model": outcome.card.id}
    return stats_json(outcome.rows, info).encode("utf-8")
