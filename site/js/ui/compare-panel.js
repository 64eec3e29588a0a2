// Compare panel: choose B (a second model run on the open scan, or a reference label file),
// the view mode, and show the per-label table Python computed (meshseg.compare) with a CSV
// download. Displays only; nothing is computed here.

/** Compare view modes: value -> words. */
export const COMPARE_MODES = { side: 'Side by side', overlay: 'Overlay', difference: 'Difference map' };

const ml = (value) => value.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/**
 * The cells of one table row (meshseg.compare row: name, ml_a, ml_b, diff_ml, dice).
 * @param {{name: string, ml_a: number, ml_b: number, diff_ml: number, dice: number|null}} row
 * @returns {string[]}
 */
export function compareCells(row) {
  const diff = row.diff_ml > 0 ? `+${ml(row.diff_ml)}` : ml(row.diff_ml);
  return [row.name, ml(row.ml_a), ml(row.ml_b), diff, row.dice === null ? '–' : row.dice.toFixed(4)];
}

/**
 * @param {object} el
 * @param {HTMLElement} el.hint @param {HTMLSelectElement} el.model @param {HTMLButtonElement} el.run
 * @param {HTMLInputElement} el.reference @param {HTMLSelectElement} el.mode
 * @param {HTMLTableElement} el.table @param {HTMLElement} el.caption @param {HTMLElement} el.downloads
 * @param {HTMLAnchorElement} el.csv @param {HTMLAnchorElement} el.mask
 * @param {{onRun: (model: string) => void, onReference: (file: File) => void, onMode: (mode: string) => void}} on
 */
export function createComparePanel(el, { onRun, onReference, onMode }) {
  let urls = [];
  el.mode.replaceChildren(...Object.entries(COMPARE_MODES).map(([value, text]) => new Option(text, value)));
  el.run.addEventListener('click', () => onRun(el.model.value));
  el.reference.addEventListener('change', () => {
    const [file] = el.reference.files;
    el.reference.value = '';
    if (file) onReference(file);
  });
  el.mode.addEventListener('change', () => onMode(el.mode.value));

  function link(anchor, blob, name, text) {
    const url = URL.createObjectURL(blob);
    urls.push(url);
    Object.assign(anchor, { href: url, download: name, textContent: text });
    anchor.hidden = false;
  }

  return {
    /** The models B can be (card list); `exclude` (A's model) is listed but not chosen first. */
    setModels(models, exclude) {
      const previous = el.model.value;
      el.model.replaceChildren(...models.map((card) => new Option(card.title ?? card.id, card.id)));
      const keep = models.some((card) => card.id === previous) && previous !== exclude;
      el.model.value = keep ? previous : (models.find((card) => card.id !== exclude)?.id ?? '');
    },
    /** Enable the B choices (a result A exists and nothing runs). */
    setEnabled(enabled, hint) {
      for (const control of [el.model, el.run, el.reference]) control.disabled = !enabled;
      el.hint.textContent = hint;
    },
    get mode() {
      return el.mode.value;
    },
    /** Show a comparison ({rows, csv}) of A and B, with B's mask for download. */
    show(comparison, { nameA, nameB, csvName, maskB }) {
      this.clear();
      el.caption.textContent = `A: ${nameA} · B: ${nameB} (difference is B − A; labels matched by name)`;
      el.table.tBodies[0].replaceChildren(...comparison.rows.map((row) => {
        const tr = document.createElement('tr');
        tr.dataset.label = row.name;
        compareCells(row).forEach((text, i) => {
          const td = document.createElement(i === 0 ? 'th' : 'td');
          if (i === 0) td.scope = 'row';
          else td.className = 'num';
          td.textContent = text;
          tr.append(td);
        });
        return tr;
      }));
      link(el.csv, new Blob([comparison.csv], { type: 'text/csv' }), csvName, 'Comparison (CSV)');
      if (maskB) link(el.mask, new Blob([maskB.bytes], { type: 'application/gzip' }), maskB.name, `Mask B (${maskB.name})`);
      el.table.hidden = false;
      el.downloads.hidden = false;
      el.mode.disabled = false;
    },
    clear() {
      for (const url of urls) URL.revokeObjectURL(url);
      urls = [];
      el.table.tBodies[0].replaceChildren();
      el.table.hidden = true;
      el.downloads.hidden = true;
      el.mask.hidden = true;
      el.mode.value = 'side';
      el.mode.disabled = true;
    },
  };
}
