"""Model cards: ids, classes, colours, provenance checksums, JSON round trip (no onnx)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meshseg.convert.cards import build_card
from meshseg.convert.sources import load_network, model_ids
from meshseg.errors import ModelError
from meshseg.models import ModelCard, cards_from_json, find_card, index_to_json, read_index

ROOT = Path(__file__).resolve().parents[1]

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
    with pytest.raises(ModelError, match="colour: unknown field"):
        ModelCard.from_dict({**data, "colour": 1})
    with pytest.raises(ModelError, match="version"):
        cards_from_json('{"models": []}')


def _with(data: dict, path: str, value):
    """A deep copy of `data` with the dotted `path` set to `value`."""
    data = json.loads(json.dumps(data))
    *parents, last = path.split(".")
    target = data
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return data


BAD_FIELDS = [
    ("runtime.normalisation.method", "zscale", "runtime.normalisation.method"),
    ("runtime.input.shape", [256, 256], "runtime.input.shape"),
    ("runtime.input.orientation", "LLA", "runtime.input.orientation"),
    ("runtime.outputs.0.kind", "mask", r"runtime.outputs\[0\].kind"),
    ("runtime.outputs", [], "runtime.outputs"),
    ("runtime.crop.threshold", 2, "runtime.crop.threshold"),
    ("classes.1.index", 5, r"classes\[1\].index"),
    ("classes.1.color", [0, 0], r"classes\[1\].color"),
    ("runtime.receptive_radius", -1, "runtime.receptive_radius"),
    ("card_version", 3, "card_version"),
]


@pytest.mark.parametrize(("path", "value", "named"), BAD_FIELDS)
def test_validation_names_the_bad_field(cards, path, value, named):
    data = _with(cards[0].to_dict(), path, value)
    with pytest.raises(ModelError, match=f"model card mindgrab: {named}:"):
        ModelCard.from_dict(data)


def test_missing_runtime_field_is_named(cards):
    data = cards[0].to_dict()
    del data["runtime"]["input"]
    with pytest.raises(ModelError, match=r"runtime.input: missing"):
        ModelCard.from_dict(data)


def test_schema_accepts_every_card_and_rejects_the_bad_ones(cards):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "docs" / "model-card.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    for card in cards:
        assert not list(validator.iter_errors(card.to_dict())), card.id
    for path, value, _ in BAD_FIELDS:
        if path.startswith("classes.1.index"):
            continue  # index = position is checked by the loader only
        assert list(validator.iter_errors(_with(cards[0].to_dict(), path, value))), path


def test_version_1_cards_are_still_read(cards):
    card = cards[0]
    flat = {f: getattr(card, f) for f in V1_FIELDS}
    flat["onnx"] = {**card.onnx, "output": "labels"}
    old = ModelCard.from_dict(json.loads(json.dumps(flat)))
    assert old == card
    assert old.output("labels") == {"name": "labels", "kind": "labels"}
    index = json.dumps({"version": 1, "models": [flat]})
    assert cards_from_json(index) == [card]


def test_minimal_card_needs_only_the_runtime():
    card = ModelCard.from_dict({
        "card_version": 2, "id": "mine",
        "classes": [{"index": 0, "name": "bg", "color": [0, 0, 0]},
                    {"index": 1, "name": "fg", "color": [255, 0, 0]}],
        "runtime": {"onnx": {"file": "mine.onnx"},
                    "input": {"shape": [64, 64, 64], "voxel_size": [2, 2, 2],
                              "orientation": "RAS"},
                    "normalisation": {"method": "zscore"},
                    "outputs": [{"name": "seg", "kind": "labels"}]}})
    assert card.kind == "labels" and card.output("labels")["name"] == "seg"
    assert card.crop is False and card.receptive_radius is None
    assert ModelCard.from_dict(card.to_dict()) == card


V1_FIELDS = ("id", "title", "task", "description", "classes", "normalisation", "conform",
             "pre_model", "crop_padding", "crop_threshold", "layers", "channels", "activation",
             "dilations", "parameters", "flops_per_voxel", "receptive_radius", "licence",
             "source", "onnx", "expects", "metrics", "notes", "crop", "crop_context")
