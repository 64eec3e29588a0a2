"""Model cards, upstream facts and the card index (pure data, no onnx)."""

from meshseg.models.card import ModelCard
from meshseg.models.index import cards_from_json, find_card, index_to_json, read_index

__all__ = ["ModelCard", "cards_from_json", "find_card", "index_to_json", "read_index"]
