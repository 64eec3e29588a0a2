"""The card index: ``index.json`` beside the converted models lists every card."""

from __future__ import annotations

import json
from pathlib import Path

from meshseg.errors import ModelError
from meshseg.models.card import ModelCard

INDEX_VERSION = 2  # version 2 cards; version 1 indexes (older builds) are still read
READABLE_VERSIONS = (1, 2)


def index_to_json(cards: list[ModelCard]) -> str:
    """Serialise cards as the text of ``index.json`` (stable, ends in a newline)."""
    payload = {"version": INDEX_VERSION, "models": [card.to_dict() for card in cards]}
    return json.dumps(payload, indent=2) + "\n"


def cards_from_json(text: str, source: str = "index.json") -> list[ModelCard]:
    """Cards from the text of ``index.json``.

    Raises
    ------
    ModelError
        When the text is not an index of this version.
    """
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelError(f"{source}: not valid JSON ({exc}); re-run the converter.") from exc
    if not isinstance(payload, dict) or payload.get("version") not in READABLE_VERSIONS:
        raise ModelError(f"{source}: not a version {INDEX_VERSION} model index; "
                         "re-run the converter.")
    return [ModelCard.from_dict(item) for item in payload["models"]]


def read_index(path: str | Path) -> list[ModelCard]:
    """Cards listed in an ``index.json`` file."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: model index not found; convert the models first "
                         "(python -m meshseg convert WEIGHTS_DIR OUT_DIR).")
    return cards_from_json(path.read_text(encoding="utf-8"), str(path))


def find_card(cards: list[ModelCard], model_id: str) -> ModelCard:
    """The card with ``model_id``; ModelError listing the known ids otherwise."""
    for card in cards:
        if card.id == model_id:
            return card
    known = ", ".join(card.id for card in cards)
    raise ModelError(f"unknown model {model_id!r}; available: {known}.")
