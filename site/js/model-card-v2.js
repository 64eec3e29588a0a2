// Model cards, version 2 (docs/model-card.schema.json): `runtime` (what inference needs)
// and `provenance` (where the model came from). The UI and the inference engine read the
// flat view built here (the same attributes as meshseg.models.card.ModelCard); version 1
// cards (flat, from older builds) pass through with their declared labels output.

/**
 * The flat view of a card (version 1 or 2).
 * @param {object} card
 * @returns {object}
 */
export function flatCard(card) {
  if (!card || card.card_version === undefined) {
    const output = card?.onnx?.output ?? 'labels';
    return { ...card, outputs: card?.outputs ?? [{ name: output, kind: 'labels' }] };
  }
  const runtime = card.runtime ?? {};
  const provenance = card.provenance ?? {};
  const crop = runtime.crop ?? {};
  const network = provenance.network ?? {};
  return {
    card_version: card.card_version,
    id: card.id, title: card.title ?? card.id, task: card.task ?? '',
    description: card.description ?? '', expects: card.expects ?? '', notes: card.notes ?? '',
    classes: card.classes ?? [],
    onnx: runtime.onnx ?? {}, conform: runtime.input ?? {},
    normalisation: runtime.normalisation?.method,
    normalisation_parameters: runtime.normalisation?.parameters ?? {},
    crop: crop.enabled ?? false, pre_model: crop.pre_model ?? null,
    crop_padding: crop.padding ?? 0, crop_threshold: crop.threshold ?? null,
    crop_context: crop.context ?? 0, receptive_radius: runtime.receptive_radius ?? null,
    contrast: runtime.contrast ?? 'any',
    outputs: runtime.outputs ?? [], channels: runtime.cost?.channels ?? 0,
    flops_per_voxel: runtime.cost?.flops_per_voxel ?? 0,
    licence: provenance.licence ?? '', source: provenance.source ?? {},
    parameters: provenance.parameters ?? 0, metrics: provenance.metrics ?? {},
    layers: network.layers ?? 0, activation: network.activation ?? '',
    dilations: network.dilations ?? [],
  };
}

/** The declared output of `kind` ('labels', 'probability', 'image'), or undefined. */
export function cardOutput(card, kind) {
  return (card.outputs ?? []).find((output) => output.kind === kind);
}
