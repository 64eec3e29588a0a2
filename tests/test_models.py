"""Model cards: ids, classes, colours, provenance checksums, JSON round trip (no onnx)."""

from __future__ import annotations

import json

import pytest

from meshseg.convert.cards import build_card
from meshseg.convert.sources import load_network, model_ids
from meshseg.errors import ModelError
from meshseg.models import ModelCard, cards_from_json, find_card, index_to_json, read_index

EXPECTED_CLASSES = {
    "mindgrab": 2, "model5_gw_ae": 3, "model11_gw_ae": 3, "model20chan3cls": 3,
    "model18cls": 18, "model30chan18cls": 18, "model30chan50cls": 50,
    "model21_104class": 104, "meshnet26_stroke": 2,
}


@pytest.fixture(scope="module")
def cards(weights_dir):
    onnx_info = {"file": "x/model.onnx", "sha256": "0" * 64, "output": "labels"}
    return [build_card(weights_dir, load_network(weights_dir, mid), onnx_info)
            for mid in model_ids()]


def _sums(weights_dir) -> dict[str, str]:
    lines = (weights_dir / "SHA256SUMS").read_text().splitlines()
    return {path.removeprefix("./"): digest for digest, path in (ln.split() for ln in lines)}


def test_ids_and_class_counts(cards):
    assert {c.id: c.n_classes for c in cards} == EXPECTED_CLASSES


def test_classes_have_names_and_rgb_colours(cards):
    for card in cards:
        for cls in card.classes:
            assert cls["name"]
            assert len(cls["color"]) == 3 and all(0 <= v <= 255 for v in cls["color"])
        assert card.classes[0]["color"] == [0, 0, 0]


def test_specific_classes(cards):
    model5 = find_card(cards, "model5_gw_ae")
    assert [c["name"] for c in model5.classes] == ["background", "White Matter", "Grey Matter"]
    assert model5.classes[2]["color"] == [205, 62, 78]
    assert [c["name"] for c in find_card(cards, "model11_gw_ae").classes] == [
        "background", "White Matter", "Grey Matter"]
    assert find_card(cards, "model18cls").classes[2]["name"] == "Cerebral-Cortex"
    stroke = find_card(cards, "meshnet26_stroke")
    assert [c["name"] for c in stroke.classes] == ["background", "lesion"]
    dk = find_card(cards, "model21_104class")
    assert dk.classes[1]["name"] == "ctx-lh-bankssts"


def test_source_checksums_match_sha256sums(cards, weights_dir):
    sums = _sums(weights_dir)
    covered = set()
    for card in cards:
        for name, digest in card.source["files"].items():
            key = f"{card.source['local']}/{name}"
            assert sums[key] == digest, key
            covered.add(key)
    assert covered == set(sums)


def test_upstream_facts(cards):
    by_id = {c.id: c for c in cards}
    assert by_id["mindgrab"].activation == "gelu" and by_id["mindgrab"].channels == 15
    assert by_id["mindgrab"].layers == 26 and by_id["mindgrab"].crop_padding == 20
    assert by_id["model5_gw_ae"].crop_padding == 18
    assert by_id["model20chan3cls"].normalisation == "quantile"
    assert by_id["model30chan50cls"].pre_model == "model5_gw_ae"
    assert by_id["meshnet26_stroke"].parameters == 147474
    assert by_id["meshnet26_stroke"].conform["orientation"] == "RAS"
    assert by_id["meshnet26_stroke"].conform["scale_to_uint8"] is False
    assert by_id["meshnet26_stroke"].metrics["test_dice"] == pytest.approx(0.667, abs=1e-3)
    assert by_id["model18cls"].conform == {"shape": [256, 256, 256],
                                           "voxel_size": [1.0, 1.0, 1.0],
                                           "orientation": "LIA", "scale_to_uint8": True}
    assert by_id["model5_gw_ae"].flops_per_voxel == 2 * (27 * 5 + 8 * 27 * 25 + 5 * 3)
    for card in cards:
        assert len(card.dilations) == card.layers
        assert card.licence in ("MIT", "Apache-2.0")


def test_card_json_round_trip(cards):
    for card in cards:
        again = ModelCard.from_dict(json.loads(json.dumps(card.to_dict())))
        assert again == card


def test_index_round_trip_and_lookup(cards, tmp_path):
    path = tmp_path / "index.json"
    path.write_text(index_to_json(cards))
    assert read_index(path) == cards
    with pytest.raises(ModelError, match="available: mindgrab"):
        find_card(cards, "nope")


def test_bad_cards_raise(cards):
    data = cards[0].to_dict()
    with pytest.raises(ModelError, match="unknown keys"):
        ModelCard.from_dict({**data, "colour": 1})
    with pytest.raises(ModelError, match="normalisation"):
        ModelCard.from_dict({**data, "normalisation": "zscore"})
    with pytest.raises(ModelError, match="version"):
        cards_from_json('{"models": []}')
