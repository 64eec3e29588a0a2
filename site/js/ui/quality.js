// The quality badge beside the status line and its details panel (rendering only; the
// words and rows come from js/ui/quality-rows.js). Hidden while there is no score: before
// a labels result, during a run, after an error, for an image-to-image model.

import { describeQuality, visibleRows } from './quality-rows.js';

function element(tag, attributes = {}, text = '') {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text) node.textContent = text;
  return node;
}

function table(testid, caption, headings) {
  const node = element('table', { class: 'stats quality-table', 'data-testid': testid });
  const head = element('tr');
  head.append(...headings.map(([text, className]) => element('th', { scope: 'col', ...(className ? { class: className } : {}) }, text)));
  node.append(element('caption', {}, caption), element('thead'), element('tbody'));
  node.tHead.append(head);
  return node;
}

/**
 * @param {object} parts
 * @param {HTMLElement} parts.badge the badge (data-testid="quality"), beside the status
 * @param {HTMLDetailsElement} parts.details the details panel (data-testid="quality-details")
 * @returns {{show: (quality: object|null|undefined) => void, clear: () => void}}
 */
export function createQuality({ badge, details }) {
  const mark = element('span', { class: 'quality-mark', 'aria-hidden': 'true' });
  const words = element('span', { class: 'quality-text' });
  badge.replaceChildren(mark, words);

  const summary = element('summary', {}, 'Quality details');
  const overview = element('p', { class: 'quality-overview', 'data-testid': 'quality-overview' });
  const reasons = element('ul', { class: 'quality-reasons', 'data-testid': 'quality-reasons' });
  const metrics = table('quality-metrics', 'Image quality metrics', [['Metric'], ['Value', 'num'], ['What it measures']]);
  const contrast = element('p', { class: 'quality-contrast', 'data-testid': 'quality-contrast' });
  const labels = table('quality-labels', 'Score per structure, lowest first', [['Structure'], ['Score', 'num']]);
  const showAll = element('button', { type: 'button', class: 'button secondary', 'data-testid': 'quality-labels-all', 'aria-expanded': 'false' });
  const signals = element('details', { class: 'quality-signals', 'data-testid': 'quality-signals' });
  const signalList = element('dl');
  signals.append(element('summary', {}, 'Inputs of the score (for experts)'), signalList);
  details.replaceChildren(summary, overview, element('h3', {}, 'Why'), reasons, metrics,
    element('h3', {}, 'Contrast'), contrast, labels, showAll, signals);

  let shown = null; // describeQuality's answer for the result shown
  let all = false;

  function renderLabels() {
    const { shown: rows, hidden } = visibleRows(shown.labels, all);
    labels.tBodies[0].replaceChildren(...rows.map((row) => {
      const tr = element('tr');
      tr.append(element('th', { scope: 'row' }, row.name), element('td', { class: 'num' }, row.text));
      return tr;
    }));
    labels.hidden = shown.labels.length === 0;
    showAll.hidden = !all && hidden === 0;
    showAll.setAttribute('aria-expanded', String(all));
    showAll.textContent = all ? 'Show the lowest 10' : `Show all ${shown.labels.length}`;
  }

  function show(quality) {
    clear();
    shown = describeQuality(quality);
    if (!shown) return;
    badge.dataset.flagged = String(shown.flagged);
    mark.textContent = shown.flagged ? '⚠' : '✓';
    words.textContent = shown.badge;
    overview.textContent = `Predicted agreement with the truth: ${shown.score === null ? 'n/a' : shown.score.toFixed(2)} `
      + `(results under ${shown.threshold} are flagged). ${shown.tta}`;
    reasons.replaceChildren(...shown.reasons.map((text) => element('li', {}, text)));
    metrics.tBodies[0].replaceChildren(...shown.metrics.map((row) => {
      const tr = element('tr', { 'data-metric': row.key, 'data-available': String(row.available) });
      tr.append(element('th', { scope: 'row' }, row.name), element('td', { class: 'num' }, row.text),
        element('td', { class: 'quality-explain' }, row.explanation));
      return tr;
    }));
    contrast.textContent = shown.contrast.text;
    contrast.dataset.ok = shown.contrast.ok === null ? 'unknown' : String(shown.contrast.ok);
    renderLabels();
    signalList.replaceChildren(...shown.signals.flatMap((row) => [element('dt', {}, row.key), element('dd', {}, row.text)]));
    signals.hidden = shown.signals.length === 0;
    badge.hidden = false;
    details.hidden = false;
  }

  function clear() {
    shown = null;
    all = false;
    badge.hidden = true;
    badge.dataset.flagged = 'false';
    details.hidden = true;
    details.open = false;
  }

  showAll.addEventListener('click', () => {
    if (!shown) return;
    all = !all;
    renderLabels();
  });
  clear();
  return { show, clear };
}
