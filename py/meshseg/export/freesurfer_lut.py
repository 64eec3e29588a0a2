"""FreeSurfer's label codes for the class names our models share with FreeSurfer.

A label whose name is one of FreeSurfer's whole-brain segmentation names (the aseg and
Desikan-Killiany ``aparc+aseg`` entries of ``FreeSurferColorLUT.txt``, FreeSurfer 7)
gets that code and that name: ``Left-Hippocampus`` is 17, ``ctx-rh-insula`` 2035. Names
match ignoring case, a trailing ``*`` and the difference between space, ``_`` and ``-``
(``Corpus callosum`` is ``Corpus_Callosum``, 192); FreeSurfer 6's
``Left-Thalamus-Proper`` (written ``Left-Thalamus-Proper*`` by brainchop's models) is
FreeSurfer 7's ``Left-Thalamus``, 10 (and Right: 49).

Every other label (bilateral names such as ``Hippocampus`` or ``White Matter``, a
user's own names) keeps its name, with blanks written as ``-``, and gets the id
``10000 + its label value`` (:data:`OWN_ID_BASE`): FreeSurferColorLUT has no code
from 9507 to 11099, so such an id never means a FreeSurfer structure. Within one table
each id is used once: a second label whose name maps to a code already used gets its
own id instead.

Examples
--------
>>> lookup("Left-Hippocampus")
(17, 'Left-Hippocampus')
>>> lookup("Right-Thalamus-Proper*")
(49, 'Right-Thalamus')
>>> lookup("Hippocampus") is None
True
>>> seg_ids([(14, "Hippocampus"), (77, "Left-Hippocampus"), (1, "Grey Matter")])
[(10014, 'Hippocampus'), (17, 'Left-Hippocampus'), (10001, 'Grey-Matter')]
"""

from __future__ import annotations

import re

#: Ids of labels FreeSurfer has no code for: OWN_ID_BASE + the model's label value.
OWN_ID_BASE = 10000

#: The Desikan-Killiany cortical regions in FreeSurferColorLUT order (ctx-lh-X is
#: 1000 + position, ctx-rh-X 2000 + position).
DK_REGIONS = (
    "unknown", "bankssts", "caudalanteriorcingulate", "caudalmiddlefrontal",
    "corpuscallosum", "cuneus", "entorhinal", "fusiform", "inferiorparietal",
    "inferiortemporal", "isthmuscingulate", "lateraloccipital", "lateralorbitofrontal",
    "lingual", "medialorbitofrontal", "middletemporal", "parahippocampal", "paracentral",
    "parsopercularis", "parsorbitalis", "parstriangularis", "pericalcarine", "postcentral",
    "posteriorcingulate", "precentral", "precuneus", "rostralanteriorcingulate",
    "rostralmiddlefrontal", "superiorfrontal", "superiorparietal", "superiortemporal",
    "supramarginal", "frontalpole", "temporalpole", "transversetemporal", "insula",
)

#: FreeSurferColorLUT.txt (FreeSurfer 7) codes of the aseg structures, beside the cortex.
ASEG = {
    1: "Left-Cerebral-Exterior", 2: "Left-Cerebral-White-Matter", 3: "Left-Cerebral-Cortex",
    4: "Left-Lateral-Ventricle", 5: "Left-Inf-Lat-Vent", 6: "Left-Cerebellum-Exterior",
    7: "Left-Cerebellum-White-Matter", 8: "Left-Cerebellum-Cortex", 10: "Left-Thalamus",
    11: "Left-Caudate", 12: "Left-Putamen", 13: "Left-Pallidum", 14: "3rd-Ventricle",
    15: "4th-Ventricle", 16: "Brain-Stem", 17: "Left-Hippocampus", 18: "Left-Amygdala",
    24: "CSF", 26: "Left-Accumbens-area", 28: "Left-VentralDC", 30: "Left-vessel",
    31: "Left-choroid-plexus", 40: "Right-Cerebral-Exterior",
    41: "Right-Cerebral-White-Matter", 42: "Right-Cerebral-Cortex",
    43: "Right-Lateral-Ventricle", 44: "Right-Inf-Lat-Vent", 45: "Right-Cerebellum-Exterior",
    46: "Right-Cerebellum-White-Matter", 47: "Right-Cerebellum-Cortex", 49: "Right-Thalamus",
    50: "Right-Caudate", 51: "Right-Putamen", 52: "Right-Pallidum", 53: "Right-Hippocampus",
    54: "Right-Amygdala", 58: "Right-Accumbens-area", 60: "Right-VentralDC",
    62: "Right-vessel", 63: "Right-choroid-plexus", 72: "5th-Ventricle",
    77: "WM-hypointensities", 78: "Left-WM-hypointensities", 79: "Right-WM-hypointensities",
    80: "non-WM-hypointensities", 81: "Left-non-WM-hypointensities",
    82: "Right-non-WM-hypointensities", 85: "Optic-Chiasm", 99: "Lesion",
    192: "Corpus_Callosum", 251: "CC_Posterior", 252: "CC_Mid_Posterior", 253: "CC_Central",
    254: "CC_Mid_Anterior", 255: "CC_Anterior",
}

#: Older FreeSurfer names of the same codes (FreeSurfer 6 and brainchop's cards).
ALIASES = {"Left-Thalamus-Proper": 10, "Right-Thalamus-Proper": 49}


def _codes() -> dict[int, str]:
    codes = dict(ASEG)
    for offset, hemi in ((1000, "lh"), (2000, "rh")):
        codes.update({offset + i: f"ctx-{hemi}-{region}" for i, region in enumerate(DK_REGIONS)})
    return codes


#: Code -> FreeSurfer name of every structure this module maps.
CODES = _codes()


def _key(name: str) -> str:
    """A name as it is matched: lower case, no trailing '*', blanks/_/- as one '-'."""
    return re.sub(r"[\s_\-]+", "-", str(name).strip().rstrip("*").strip()).lower()


_BY_KEY = {_key(name): code for code, name in CODES.items()}
_BY_KEY.update({_key(name): code for name, code in ALIASES.items()})


def lookup(name: str) -> tuple[int, str] | None:
    """``(code, FreeSurfer name)`` of a class name FreeSurfer has, else None."""
    code = _BY_KEY.get(_key(name))
    return None if code is None else (code, CODES[code])


def own_name(name: str, label: int) -> str:
    """`name` as one StructName field: blanks and '#' as '-' (``label-N`` when empty).

    Examples
    --------
    >>> own_name("brain mask", 1), own_name("  ", 3)
    ('brain-mask', 'label-3')
    """
    text = re.sub(r"[\s#]+", "-", str(name).strip())
    return text or f"label-{int(label)}"


def seg_ids(labels) -> list[tuple[int, str]]:
    """``(SegId, StructName)`` of each ``(label value, class name)``, in order.

    A FreeSurfer name gets its code (once per table); any other label gets
    ``OWN_ID_BASE + label`` and :func:`own_name`.
    """
    used: set[int] = set()
    out = []
    for label, name in labels:
        found = lookup(name)
        if found is not None and found[0] not in used:
            out.append(found)
        else:
            out.append((OWN_ID_BASE + int(label), own_name(name, label)))
        used.add(out[-1][0])
    return out
