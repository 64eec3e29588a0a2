"""Upstream facts about each model, as data: ``catalog.json`` beside this module.

Everything in the file is what the upstream projects state or configure (from the
weights README and upstream configs), plus which probability output each model
gets (``foreground`` for two-class models, ``confidence`` otherwise). The
converter combines it with what it reads from the weight files (layers, classes,
checksums) into a :class:`meshseg.models.card.ModelCard`.
"""

from __future__ import annotations

import json
from pathlib import Path

_DATA = json.loads((Path(__file__).with_name("catalog.json")).read_text(encoding="utf-8"))

BRAINCHOP: dict = _DATA["BRAINCHOP"]
ARC_MESHCHOP: dict = _DATA["ARC_MESHCHOP"]
T1: str = _DATA["T1"]
MODELS: dict = _DATA["MODELS"]
STROKE: dict = _DATA["STROKE"]
