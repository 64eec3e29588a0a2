"""Shared fixtures: where the upstream data and weights live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MESHSEG_SHARED", ROOT.parent / "shared"))


def _require(path: Path) -> Path:
    """`path`, or skip the test when the upstream data are not there."""
    if not path.exists():
        pytest.skip(f"{path} is missing: these tests need ../shared beside the checkout "
                    "(or MESHSEG_SHARED pointing at it).")
    return path


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Real scans and edge cases (../shared/data)."""
    return _require(SHARED / "data")


@pytest.fixture(scope="session")
def weights_dir() -> Path:
    """Upstream pretrained weights (../shared/weights)."""
    return _require(SHARED / "weights")


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory, weights_dir) -> Path:
    """All upstream models converted to ONNX + cards, once per session."""
    from meshseg.convert import convert_all

    out = tmp_path_factory.mktemp("models")
    convert_all(weights_dir, out)
    return out
