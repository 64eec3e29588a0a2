"""The score's reasons, in plain words: what lowered it, and what to check."""

from __future__ import annotations

from meshseg.quality import score

#: SNR (MRIQC's, on the model grid) below this is called very noisy in the reasons.
NOISY_SNR = 5.0
#: Voxels coarser than this (mm, largest side) get a caveat: on such scans the score
#: misses some poor results (docs/quality.md, the held-out check on a 2.4 mm scan).
COARSE_MM = 2.0


def summary_line(score_value: float, flagged: bool, reasons: list[str]) -> str:
    """The result's quality in one line (what the CLI prints for a flagged result).

    Examples
    --------
    >>> summary_line(0.42, True, ["The image is very noisy (SNR 3.1)."])
    'quality 0.42 is below 0.80: check this result. The image is very noisy (SNR 3.1).'
    >>> summary_line(0.97, False, [])
    'quality 0.97: no problem found.'
    """
    if flagged:
        return " ".join([f"quality {score_value:.2f} is below {score.THRESHOLD:.2f}: check "
                         "this result.", *reasons])
    if reasons:
        return " ".join([f"quality {score_value:.2f}.", *reasons])
    return f"quality {score_value:.2f}: no problem found."


def reasons_for(signals: dict, factors: dict, caps: dict, contrast: dict, card, flagged: bool,
                image: dict) -> list[str]:
    """Sentences for every factor below :data:`score.MENTION_BELOW` and every cap; a
    flagged result always names at least its weakest factor."""
    known = {k: v for k, v in factors.items() if v is not None}
    sentences = {name: _sentence(name, signals, contrast, card) for name in known}
    reasons = []
    if "contrast" in caps:
        reasons.append(_contrast_sentence(contrast, card))
    if "volume" in caps:
        reasons.append("The labelled volume is outside what a human brain can have (see the "
                       "warnings): the model did not find the structures it looks for.")
    for name, value in sorted(known.items(), key=lambda item: item[1]):
        if value < score.MENTION_BELOW:
            reasons.append(sentences[name])
    if flagged and not reasons and known:
        reasons.append(sentences[min(known, key=known.get)])
    coarse = coarse_caveat(signals.get("largest_voxel_mm"))
    if coarse and not any(s.startswith("The scan's voxels are") for s in reasons):
        reasons.append(coarse)
    snr = image.get("snr")
    if snr is not None and snr < NOISY_SNR:
        reasons.append(f"The image is very noisy (SNR {snr:.1f}).")
    if signals["reference_uncertainty"] is None and signals["uncertainty"] is not None:
        reasons.append(f"No clean-scan baseline is known for {card.id}: its confidence could "
                       "not be compared, so the score rests on the other checks.")
    return reasons


def coarse_caveat(largest_voxel_mm: float | None) -> str | None:
    """The caveat for a scan whose voxels are coarser than :data:`COARSE_MM` (else None).

    Examples
    --------
    >>> coarse_caveat(1.0) is None, coarse_caveat(2.4)[:28]
    (True, "The scan's voxels are 2.4 mm")
    """
    if largest_voxel_mm is None or largest_voxel_mm <= COARSE_MM:
        return None
    return (f"The scan's voxels are {largest_voxel_mm:.1f} mm along one axis: on scans this "
            "coarse the score is less reliable (it rests on the model's confidence, which "
            "changes little here), so check the result by eye.")


def _sentence(name: str, signals: dict, contrast: dict, card) -> str:
    if name == "contrast":
        return _contrast_sentence(contrast, card)
    if name == "dropout":
        return (f"A slab of the scan is blank: {100 * signals['dropout_fraction']:.0f}% of the "
                "head's extent along one axis has no signal (a lost or corrupt slab).")
    if name == "confidence":
        return (f"The model is unsure of much of this result: mean confidence "
                f"{1 - signals['uncertainty']:.2f} over its labels, against "
                f"{1 - signals['reference_uncertainty']:.2f} on a clean scan.")
    if name == "slices":
        return (f"The scan's voxels are {signals['largest_voxel_mm']:.1f} mm along one axis; "
                f"the model works on {signals['model_voxel_mm']:.1f} mm voxels, so detail "
                "between slices is interpolated, not seen.")
    return (f"Labels change under a left-right flip: the two runs agree with a mean Dice of "
            f"{signals['tta_agreement']:.2f} (a clean scan: "
            f"{signals['reference_tta_agreement']:.2f}).")


def _contrast_sentence(contrast: dict, card) -> str:
    if contrast["ok"] is False:
        looks = contrast["observed"]
        return (f"Tissue contrast looks like {looks}, not the {contrast['expected']} "
                f"{card.id} expects: the deep brain is "
                f"{'darker' if looks == 'FLAIR/T2' else 'brighter'} than the tissue around it.")
    return (f"Tissue contrast is unclear for a {contrast['expected']} scan: the deep brain "
            "is barely brighter than the tissue around it (low contrast, or another "
            "modality).")
