"""Segmentation options: a typed, checked object instead of a free-form dict.

Every way in (CLI flags, the worker's JSON, the JS API) goes through
:meth:`SegmentOptions.from_mapping`, so an unknown key or a value of the wrong
type is an :class:`~meshseg.errors.OptionError` naming the option, never a
silent default: ``{"crop": "no"}`` is refused, not taken as true.

Examples
--------
>>> SegmentOptions.from_mapping({"space": "conformed"}).space
'conformed'
>>> SegmentOptions.from_mapping({"crop": "no"})
Traceback (most recent call last):
...
meshseg.errors.OptionError: option crop must be true or false, not 'no' (a str)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass

from meshseg.errors import OptionError

SPACES = ("native", "conformed")
RESAMPLE_METHODS = ("majority", "nearest")


@dataclass(frozen=True)
class SegmentOptions:
    """How one run prepares, post-processes and writes its labels.

    Attributes
    ----------
    space : {"native", "conformed"}
        ``native``: labels on the input's own grid; ``conformed``: on the model grid.
    largest_component : bool
        Keep only the largest 26-connected component of the labels (upstream's clean-up).
    clean_classes : bool
        Also remove small islands of each class.
    resample : {"majority", "nearest"}
        How labels are mapped back to the native grid.
    crop : bool
        Crop to the brain/head box as the model card configures it.
    exact_crop : bool
        Grow a pre-model's crop box by the card's ``crop_context`` (the network's
        receptive radius), so that every label in the box equals a whole-volume run's.
        Off by default: the grown box is about three times the voxels of upstream's
        crop (model21_104class on t1_crop: 13.0 M voxels, 9.7 GB native peak, more than
        a browser's 4 GB WebAssembly memory), so the default stays upstream's crop.
    tile_mb : float or None
        Largest hidden activation (MB) one inference may hold; larger inputs run as
        exact overlapping tiles. None: never tile.
    tta : bool
        Test-time augmentation: run the model on the scan and on its left-right mirror
        and merge the two (:mod:`meshseg.quality.tta`); about twice the model time. Their
        agreement feeds the quality score.
    """

    space: str = "native"
    largest_component: bool = True
    clean_classes: bool = False
    resample: str = "majority"
    crop: bool = True
    exact_crop: bool = False
    tile_mb: float | None = 1300.0
    tta: bool = False

    def __post_init__(self) -> None:
        _choice("space", self.space, SPACES)
        _choice("resample", self.resample, RESAMPLE_METHODS)
        for name in ("largest_component", "clean_classes", "crop", "exact_crop", "tta"):
            _boolean(name, getattr(self, name))
        _positive_or_none("tile_mb", self.tile_mb)

    @classmethod
    def from_mapping(cls, values: Mapping | SegmentOptions | None) -> SegmentOptions:
        """Options from a mapping of overrides (None or {} gives the defaults).

        Raises
        ------
        OptionError
            For an unknown key (listing the known ones) or a value of the wrong type.
        """
        if values is None:
            return cls()
        if isinstance(values, SegmentOptions):
            return values
        if not isinstance(values, Mapping):
            raise OptionError("options", f"options must be a mapping of names to values, "
                              f"not {type(values).__name__}")
        known = [f.name for f in dataclasses.fields(cls)]
        for key in values:
            if key not in known:
                raise OptionError(str(key), f"unknown option {key!r}; known options: "
                                  f"{', '.join(known)}")
        return cls(**dict(values))

    def to_dict(self) -> dict:
        """Plain values (JSON-able)."""
        return dataclasses.asdict(self)


def _choice(name: str, value, allowed: tuple[str, ...]) -> None:
    if not isinstance(value, str) or value not in allowed:
        raise OptionError(name, f"option {name} must be one of {', '.join(allowed)}, "
                          f"not {value!r}")


def _boolean(name: str, value) -> None:
    if not isinstance(value, bool):
        raise OptionError(name, f"option {name} must be true or false, not {value!r} "
                          f"(a {type(value).__name__})")


def _positive_or_none(name: str, value) -> None:
    if value is None:
        return
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or value <= 0:
        raise OptionError(name, f"option {name} must be a positive number or null, "
                          f"not {value!r}")
