"""Upstream facts about each model, as data (from the weights README and upstream configs).

Everything here is what the upstream projects state or configure; the converter
combines it with what it reads from the weight files (layers, classes,
checksums) into a :class:`meshseg.models.card.ModelCard`.
"""

from __future__ import annotations

BRAINCHOP = {
    "repo": "neuroneural/brainchop",
    "commit": "4c87885f3a2a8835e260d521dcec922b58d91d41",
    "folder": "public/models",
    "licence": "MIT",
    "conform": {
        "shape": [256, 256, 256],
        "voxel_size": [1.0, 1.0, 1.0],
        "orientation": "LIA",
        "scale_to_uint8": True,
    },
}

ARC_MESHCHOP = {
    "repo": "The-Obstacle-Is-The-Way/arc-meshchop",
    "commit": "9b407779d1c86f0da5af7cdd8dcb382151c07b90",
    "folder": "experiments/fold_0_restart_0",
    "licence": "Apache-2.0",
    "conform": {
        "shape": [256, 256, 256],
        "voxel_size": [1.0, 1.0, 1.0],
        "orientation": "RAS",
        "scale_to_uint8": False,
    },
}

T1 = "T1-weighted brain MRI (whole head)"

# Per model: display text and the preprocessing upstream configures.
# ``colormap``: file naming the classes (None: ``class_names`` gives them).
MODELS = {
    "mindgrab": {
        "title": "Brain mask, any modality (MindGrab)",
        "task": "skull strip",
        "description": "Skull stripping for any MRI contrast or CT ('omnimodal'): "
                       "26-layer MeshNet with instance normalisation and GELU.",
        "expects": "Any head MRI contrast or CT",
        "normalisation": "minmax", "pre_model": None, "crop_padding": 20,
        "crop_threshold": 0.5, "colormap": "colormap.json", "upstream_ids": [16, 17],
        "notes": "Upstream crops at 0.5 of the maximum before inference.",
    },
    "model5_gw_ae": {
        "title": "Grey/white matter, fast",
        "task": "tissue",
        "description": "Light 3-class tissue model (background, white matter, grey matter). "
                       "Its non-zero labels are also upstream's fast brain mask and the "
                       "pre-model that crops the brain for the large atlases.",
        "expects": T1,
        "normalisation": "minmax", "pre_model": None, "crop_padding": 18,
        "crop_threshold": None, "colormap": "colormap3.json", "upstream_ids": [1, 10, 12],
        "notes": "colormap.json (2 entries) is upstream's brain-mask view; the network "
                 "has 3 outputs, named by colormap3.json.",
    },
    "model11_gw_ae": {
        "title": "Brain mask, high accuracy",
        "task": "brain mask",
        "description": "Brain extraction, high accuracy: the non-zero labels form the mask.",
        "expects": T1,
        "normalisation": "minmax", "pre_model": None, "crop_padding": 0,
        "crop_threshold": None, "colormap": None, "upstream_ids": [11, 13],
        "class_names": ["background", "White Matter", "Grey Matter"],
        "notes": "Upstream ships no colormap for this 3-output grey/white model; its "
                 "classes are named like model5_gw_ae's colormap3.json. Upstream's mask "
                 "variant [13] uses quantile normalisation instead of min-max.",
    },
    "model20chan3cls": {
        "title": "Grey/white matter, high accuracy",
        "task": "tissue",
        "description": "3-class tissue segmentation (background, white matter, grey matter).",
        "expects": T1,
        "normalisation": "quantile", "pre_model": None, "crop_padding": 0,
        "crop_threshold": 0.2, "colormap": "colormap.json", "upstream_ids": [2, 3],
        "notes": "",
    },
    "model18cls": {
        "title": "Subcortical + grey/white matter (18 labels)",
        "task": "subcortical",
        "description": "FreeSurfer aseg-style subcortical structures with cerebral "
                       "white matter and cortex, 18 labels.",
        "expects": T1,
        "normalisation": "minmax", "pre_model": None, "crop_padding": 0,
        "crop_threshold": 0.2, "colormap": "colormap.json", "upstream_ids": [6],
        "notes": "",
    },
    "model30chan18cls": {
        "title": "Subcortical + grey/white matter, high accuracy (18 labels)",
        "task": "subcortical",
        "description": "Wider (30-channel) 18-label subcortical model, run on the brain "
                       "cropped by model5_gw_ae.",
        "expects": T1,
        "normalisation": "minmax", "pre_model": "model5_gw_ae", "crop_padding": 0,
        "crop_threshold": None, "colormap": "colormap.json", "upstream_ids": [4, 5, 7],
        "notes": "Upstream runs it with the model5 brain-mask crop in configuration [7] "
                 "only; MeshSeg always crops.",
    },
    "model30chan50cls": {
        "title": "Cortical + subcortical atlas (50 labels)",
        "task": "parcellation",
        "description": "aparc+aseg-style parcellation with 50 labels, run on the brain "
                       "cropped by model5_gw_ae.",
        "expects": T1,
        "normalisation": "quantile", "pre_model": "model5_gw_ae", "crop_padding": 0,
        "crop_threshold": None, "colormap": "colormap.json", "upstream_ids": [8, 9],
        "notes": "",
    },
    "model21_104class": {
        "title": "Desikan-Killiany atlas (104 labels)",
        "task": "parcellation",
        "description": "aparc+aseg parcellation with the Desikan-Killiany cortical atlas, "
                       "104 labels, run on the brain cropped by model5_gw_ae.",
        "expects": T1,
        "normalisation": "minmax", "pre_model": "model5_gw_ae", "crop_padding": 0,
        "crop_threshold": None, "colormap": "colormap.json", "upstream_ids": [14, 15],
        "notes": "Upstream crops with model5 in configuration [14] only; MeshSeg always crops.",
    },
}

STROKE = {
    "id": "meshnet26_stroke",
    "title": "Stroke lesion (T2, MeshNet-26)",
    "task": "stroke lesion",
    "description": "Stroke-lesion segmentation trained on the Aphasia Recovery Cohort "
                   "(MeshNet-26, 10 layers, batch normalisation folded into the convolutions).",
    "expects": "T2-weighted scans of stroke patients",
    "normalisation": "minmax", "pre_model": None, "crop_padding": 0, "crop_threshold": None,
    "crop": False,
    "checkpoint": "meshnet26_stroke_fold0.pt",
    "results": "results_fold0.json",
    "upstream_file": "final.pt",
    "dilations": [1, 2, 4, 8, 16, 16, 8, 4, 2, 1],
    "class_names": ["background", "lesion"],
    "class_colors": [[0, 0, 0], [255, 0, 0]],
    "notes": "Trained on scans reoriented to RAS+, resampled to 1 mm (linear), centre "
             "cropped/padded to 256^3 and min-max scaled; cross-validation fold 0 "
             "weights (held-out Dice 0.667; the paper reports 0.876 for its own training).",
}
