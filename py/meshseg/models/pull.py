"""Download models from a MeshSeg deployment (``meshseg models pull --from URL``).

A deployment's models folder (what build.py writes to ``dist/models/``, served by a
published Space at ``/models/``) holds ``index.json`` (every card) and, per model,
``<id>/model.onnx`` and ``<id>/card.json``. Each card names its ONNX file
(``runtime.onnx.file``, relative to the folder) and that file's ``sha256``.

Every file is downloaded to a temporary file in the target folder, hashed while it
streams, and renamed into place only when its sha256 matches the card; otherwise it
is deleted. The local ``index.json`` is rewritten (atomically) after each model, so
it only ever lists models whose files are in place. Standard library only.
"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path, PurePosixPath

from meshseg.errors import ModelError
from meshseg.models.card import ModelCard
from meshseg.models.download import (
    TIMEOUT_S,
    NotFound,
    Progress,
    download,
    fetch_text,
    sha256_file,
    write_atomic,
)
from meshseg.models.index import READABLE_VERSIONS, find_card, index_to_json, read_index

INDEX_FILE = "index.json"
CARD_FILE = "card.json"
SCHEMES = ("http", "https", "file")


def models_url(url: str) -> str:
    """The models folder's URL, ending in ``/`` (``.../index.json`` gives its folder).

    Raises
    ------
    ModelError
        When `url` is not an http(s) or file URL.

    Examples
    --------
    >>> models_url("https://example.org/models")
    'https://example.org/models/'
    >>> models_url("http://127.0.0.1:8000/models/index.json")
    'http://127.0.0.1:8000/models/'
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in SCHEMES or not (parts.netloc or parts.scheme == "file"):
        raise ModelError(f"{url}: not a URL of a MeshSeg models folder; give one such as "
                         "https://<a MeshSeg site>/models/.")
    path = parts.path
    if path.endswith("/" + INDEX_FILE):
        path = path[: -len(INDEX_FILE)]
    elif not path.endswith("/"):
        path += "/"
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def fetch_index(url: str, timeout: float = TIMEOUT_S) -> tuple[str, list[ModelCard]]:
    """The cards listed by a deployment's ``index.json``.

    Parameters
    ----------
    url : str
        The models folder (``https://host/models/``) or its ``index.json``. A site's
        root works too: when ``index.json`` is not found there, ``models/index.json``
        below it is tried.
    timeout : float
        Seconds to wait for the server at each step.

    Returns
    -------
    base : str
        The models folder's URL (ending in ``/``) the index was found in.
    cards : list of ModelCard
        In the index's order.

    Raises
    ------
    ModelError
        Naming the URL: unreachable, an HTTP error, not JSON, not a model index, or a
        card that is not valid.
    """
    base = models_url(url)
    try:
        text = fetch_text(base + INDEX_FILE, timeout)
    except NotFound as exc:
        if base.rstrip("/").endswith("/models"):
            raise
        try:
            text = fetch_text(base + "models/" + INDEX_FILE, timeout)
        except NotFound:
            raise ModelError(f"{str(exc).rstrip('.')} (nor {base}models/{INDEX_FILE}); give "
                             "a MeshSeg site's models folder "
                             "(https://<a MeshSeg site>/models/).") from exc
        base += "models/"
    return base, parse_index(text, base + INDEX_FILE)


def parse_index(text: str, source: str) -> list[ModelCard]:
    """Cards from the text of a downloaded ``index.json``; ModelError naming `source`."""
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelError(f"{source}: not valid JSON ({exc}); is this a MeshSeg models "
                         "folder (https://<a MeshSeg site>/models/)?") from exc
    if (not isinstance(payload, dict) or payload.get("version") not in READABLE_VERSIONS
            or not isinstance(payload.get("models"), list)):
        raise ModelError(f"{source}: not a MeshSeg model index (version "
                         f"{'/'.join(map(str, READABLE_VERSIONS))} with a list of models).")
    cards = []
    for item in payload["models"]:
        try:
            card = ModelCard.from_dict(item)
        except ModelError as exc:
            raise ModelError(f"{source}: {exc}") from exc
        model_file(card, source)  # refuse a path outside the folder now, before any download
        cards.append(card)
    return cards


def select_models(cards: list[ModelCard], ids: list[str] | None,
                  source: str = INDEX_FILE) -> list[ModelCard]:
    """The cards to pull: `ids` (all when None or empty) and the pre-models they crop
    with, each once, every pre-model before the models that need it.

    Raises
    ------
    ModelError
        On an unknown id, naming `source` (the index's URL) and the ids it lists.
    """
    chosen: dict[str, ModelCard] = {}

    def add(model_id: str) -> None:
        if model_id in chosen:
            return
        try:
            card = find_card(cards, model_id)
        except ModelError as exc:
            raise ModelError(f"{source}: {exc}") from exc
        if card.pre_model:
            add(card.pre_model)
        chosen[card.id] = card

    for model_id in ids or [card.id for card in cards]:
        add(model_id)
    return list(chosen.values())


def model_file(card: ModelCard, source: str = INDEX_FILE) -> PurePosixPath:
    """The card's ONNX file relative to the models folder, checked to stay inside it.

    Raises
    ------
    ModelError
        When the card has no sha256 or names a path outside the folder.
    """
    name = card.onnx.get("file", "")
    path = PurePosixPath(name)
    if (not name or "\\" in name or path.is_absolute() or ".." in path.parts
            or ":" in path.parts[0]):
        raise ModelError(f"{source}: model {card.id}: runtime.onnx.file {name!r} is not a "
                         "path inside the models folder.")
    if not card.onnx.get("sha256"):
        raise ModelError(f"{source}: model {card.id}: its card has no runtime.onnx.sha256 "
                         "to check the download against.")
    return path


def pull_model(base: str, card: ModelCard, folder: str | Path,
               progress: Progress | None = None, timeout: float = TIMEOUT_S) -> int | None:
    """Put one model's ONNX file and card into `folder`, the ONNX checked by sha256.

    A file already there with the card's sha256 is kept as it is (no download).
    The card comes from ``card.json`` beside the ONNX file and must describe the same
    model as the index; a deployment without one gets the index's card written.

    Returns
    -------
    int or None
        Bytes downloaded (the ONNX file's size, verified); None when it was already
        there.

    Raises
    ------
    ModelError
        Naming the file and URL (see :func:`download`), or a card that disagrees with
        the index.
    """
    folder = Path(folder)
    relative = model_file(card, base + INDEX_FILE)
    target = folder.joinpath(*relative.parts)
    size = None
    if not (target.is_file() and sha256_file(target) == card.onnx["sha256"].lower()):
        size = download(base + relative.as_posix(), target, card.onnx["sha256"],
                        relative.as_posix(), progress, timeout)
    _pull_card(base, card, relative.parent / CARD_FILE, folder, timeout)
    return size


def _pull_card(base: str, card: ModelCard, relative: PurePosixPath, folder: Path,
               timeout: float) -> None:
    url = base + relative.as_posix()
    target = folder.joinpath(*relative.parts)
    try:
        text = fetch_text(url, timeout)
    except NotFound:
        text = json.dumps(card.to_dict(), indent=2) + "\n"
    try:
        same = ModelCard.from_dict(json.loads(text)) == card
    except (ValueError, TypeError):  # JSONDecodeError and ModelError are ValueErrors
        same = False
    if not same:
        raise ModelError(f"{url}: this card does not match model {card.id} in "
                         f"{base + INDEX_FILE}; the card was not kept.")
    write_atomic(target, text.encode("utf-8"))


def update_index(folder: str | Path, cards: list[ModelCard]) -> list[ModelCard]:
    """Add (or replace) `cards` in `folder`'s ``index.json``, keeping its other cards.

    An unreadable local index is replaced by one listing only `cards`.

    Returns
    -------
    list of ModelCard
        Every card the index now lists.
    """
    path = Path(folder) / INDEX_FILE
    try:
        kept = read_index(path) if path.is_file() else []
    except ModelError:
        kept = []
    new = {card.id: card for card in cards}
    merged = [new.pop(card.id, card) for card in kept] + list(new.values())
    write_atomic(path, index_to_json(merged).encode("utf-8"))
    return merged
