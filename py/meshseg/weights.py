"""Where the upstream weights and the converted models live on this machine."""

from __future__ import annotations

import os
from pathlib import Path

from meshseg.errors import ModelError

_REPO = Path(__file__).resolve().parents[2]


def weights_candidates(explicit: str | os.PathLike | None = None) -> list[Path]:
    """Folders searched for upstream weights, in order.

    ``explicit`` (``--weights``), ``$MESHSEG_WEIGHTS``, ``../shared/weights`` beside the
    current directory and beside the source checkout, then ``./weights``.
    """
    if explicit:
        return [Path(explicit)]
    found = [Path(os.environ["MESHSEG_WEIGHTS"])] if os.environ.get("MESHSEG_WEIGHTS") else []
    found += [Path.cwd().parent / "shared" / "weights", _REPO.parent / "shared" / "weights",
              Path.cwd() / "weights"]
    return list(dict.fromkeys(found))


def find_weights(explicit: str | os.PathLike | None = None) -> Path:
    """First folder of :func:`weights_candidates` that holds a ``brainchop`` folder.

    Raises
    ------
    ModelError
        When none does, naming every place searched.
    """
    candidates = weights_candidates(explicit)
    for path in candidates:
        if (path / "brainchop").is_dir():
            return path.resolve()
    searched = ", ".join(str(p) for p in candidates)
    raise ModelError(
        f"no MeshNet weights folder found (searched {searched}). Pass --weights DIR "
        "pointing at a folder with brainchop/ (and arc-meshchop/) inside, or set MESHSEG_WEIGHTS."
    )


def default_models_dir() -> Path:
    """Where the CLI keeps converted ONNX models: ``$MESHSEG_MODELS`` or a user cache."""
    if os.environ.get("MESHSEG_MODELS"):
        return Path(os.environ["MESHSEG_MODELS"])
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "meshseg" / "models"
