// Model picker: a <select> of the available models and the selected model's card.

import { renderModelCard } from './model-card.js';

/**
 * Wire the model select and card panel.
 * @param {object} elements
 * @param {HTMLSelectElement} elements.select
 * @param {HTMLElement} elements.card - container for the selected model's card
 * @returns {{setModels: (cards: object[]) => void, selected: () => object|null,
 *            setEnabled: (enabled: boolean) => void}}
 */
export function createModelPicker({ select, card }) {
  let models = [];

  function selected() {
    return models.find((model) => model.id === select.value) ?? null;
  }

  /** List `cards`; keep the current choice, else take `preferred`, when listed. */
  function setModels(cards, preferred = null) {
    const previous = select.value || preferred;
    models = cards;
    select.replaceChildren(
      ...cards.map((model) => new Option(model.title ?? model.id, model.id)),
    );
    if (cards.length === 0) {
      select.append(new Option('No models available', ''));
    } else if (cards.some((model) => model.id === previous)) {
      select.value = previous;
    }
    renderModelCard(card, selected());
  }

  select.addEventListener('change', () => renderModelCard(card, selected()));

  return {
    setModels,
    selected,
    setEnabled(enabled) {
      select.disabled = !enabled || models.length === 0;
    },
  };
}
