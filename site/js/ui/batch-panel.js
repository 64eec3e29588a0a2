// The batch panel: several files, a folder (picker or drop) or ZIP archives in; a queue with
// each item's state, the progress of the batch and of the current item, elapsed and
// estimated time left, Cancel; one ZIP out (js/batch/*). The batch modules, zip.js and
// itk-wasm load only when the panel is used.

const MARKUP = `
<h2 id="batch-heading">Batch</h2>
<p class="batch-hint">Several scans at once: files, a folder or ZIP archives (NIfTI, MGZ, DICOM series).
  Every result goes into one ZIP with <code>volumes.csv</code> and <code>manifest.json</code>; a BIDS dataset folder
  gives its T1w images' BIDS derivative dataset. Nothing is uploaded.</p>
<div class="drop-zone batch-drop" id="batch-drop" data-testid="batch-drop" tabindex="0" role="button"
     aria-label="Choose scans for a batch, or drop files, folders or ZIP archives here">
  <p class="drop-title">Drop files, folders or ZIP archives here</p>
</div>
<div class="actions">
  <label class="button secondary" for="batch-input">Choose files…</label>
  <input class="visually-hidden" type="file" id="batch-input" data-testid="batch-input" multiple>
  <label class="button secondary" for="batch-folder">Choose a folder…</label>
  <input class="visually-hidden" type="file" id="batch-folder" data-testid="batch-folder" webkitdirectory multiple>
  <button type="button" class="button secondary" id="batch-clear" data-testid="batch-clear" disabled>Clear</button>
</div>
<div class="actions">
  <button type="button" class="button primary" id="batch-run" data-testid="batch-run" disabled>Run batch</button>
  <button type="button" class="button secondary" id="batch-cancel" data-testid="batch-cancel" disabled>Cancel batch</button>
</div>
<div class="batch-progress" data-testid="batch-progress" aria-live="polite">
  <label>Batch <progress id="batch-progress-all" max="1" value="0"></progress></label>
  <label>Current item <progress id="batch-progress-item" max="1" value="0"></progress></label>
  <p class="batch-time" data-testid="batch-time" id="batch-time"></p>
  <p class="batch-message" data-testid="batch-message" id="batch-message"></p>
</div>
<ol class="batch-queue" data-testid="batch-queue" id="batch-queue" aria-label="Batch queue"></ol>
<a class="button secondary" id="download-batch" data-testid="download-batch" href="#" hidden>Download results (ZIP)</a>
`;

function seconds(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) return '…';
  const s = Math.round(value);
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}

/**
 * Build the panel inside `section` (empty) and wire it to the page's segmenter.
 * @param {HTMLElement} section
 * @param {{segmenter: import('../api/segmenter.js').Segmenter, selectedCard: () => object|null,
 *   ready: Promise<unknown>, modelSelect?: HTMLSelectElement}} how
 */
export function createBatchPanel(section, { segmenter, selectedCard, ready, modelSelect = null }) {
  section.innerHTML = MARKUP;
  section.setAttribute('data-testid', 'batch');
  const $ = (id) => section.querySelector(`#${id}`);
  const els = {
    drop: $('batch-drop'), input: $('batch-input'), folder: $('batch-folder'), clear: $('batch-clear'),
    run: $('batch-run'), cancel: $('batch-cancel'), all: $('batch-progress-all'), item: $('batch-progress-item'),
    time: $('batch-time'), message: $('batch-message'), queue: $('batch-queue'), download: $('download-batch'),
  };
  const vendorBase = new URL('vendor/', segmenter.assets.base).href;
  const state = { sources: [], items: [], running: false, ready: false, abort: null, url: null, expanding: 0 };
  let modules = null;
  const load = () => (modules ??= Promise.all([import('../batch/inputs.js'), import('../batch/queue.js')])
    .then(([inputs, queue]) => ({ ...inputs, ...queue })));

  function setState(value) {
    section.dataset.state = value;
  }

  function refresh() {
    const busy = state.running || state.expanding > 0;
    els.run.disabled = !(state.ready && state.items.length && !busy && selectedCard());
    els.cancel.disabled = !state.running;
    els.clear.disabled = busy || !state.sources.length;
    els.input.disabled = busy;
    els.folder.disabled = busy;
    els.drop.setAttribute('aria-disabled', String(busy));
  }

  function showQueue() {
    els.queue.replaceChildren(...state.items.map((item) => {
      const li = document.createElement('li');
      li.dataset.state = 'queued';
      li.dataset.name = item.name;
      li.innerHTML = '<span class="batch-name"></span> <span class="batch-state"></span> <span class="batch-detail"></span>';
      li.querySelector('.batch-name').textContent = item.name;
      li.querySelector('.batch-state').textContent = 'queued';
      li.querySelector('.batch-detail').textContent = item.input;
      return li;
    }));
  }

  function markItem(index, itemState, detail) {
    const li = els.queue.children[index];
    if (!li) return;
    li.dataset.state = itemState;
    li.querySelector('.batch-state').textContent = itemState;
    if (detail) li.querySelector('.batch-detail').textContent = detail;
  }

  async function addSources(sourcesPromise) {
    if (state.running) return;
    state.expanding += 1;
    setState('expanding');
    refresh();
    try {
      const { expandSources } = await load();
      state.sources.push(...await sourcesPromise);
      const items = await expandSources(state.sources, { vendorBase, onProgress: (m) => { els.message.textContent = m; } });
      state.items = items;
      showQueue();
      const bids = items.find((item) => item.bids)?.bids.dataset;
      els.message.textContent = `${items.length} item${items.length === 1 ? '' : 's'} in the queue${bids ? ` (the T1w images of the BIDS dataset ${bids.name}; the ZIP will be its BIDS derivative)` : ''}.`;
      setState('ready');
    } catch (error) {
      els.message.textContent = `The inputs could not be read: ${error.message}`;
      setState('error');
    } finally {
      state.expanding -= 1;
      refresh();
    }
  }

  async function run() {
    const card = selectedCard();
    if (!card) return;
    const { runBatch } = await load();
    state.running = true;
    state.abort = new AbortController();
    if (state.url) URL.revokeObjectURL(state.url);
    els.download.hidden = true;
    setState('running');
    refresh();
    showQueue();
    try {
      const outcome = await runBatch({
        segmenter, card, items: state.items, vendorBase, version: segmenter.info?.meshseg ?? 'unknown',
        signal: state.abort.signal,
        onUpdate: (update) => {
          markItem(update.index, update.state, update.state === 'failed' ? update.message : null);
          els.all.value = update.fraction;
          els.item.value = update.itemFraction;
          els.time.textContent = `Elapsed ${seconds(update.elapsedS)}; about ${seconds(update.leftS)} left.`;
          els.message.textContent = update.message;
        },
      });
      state.url = URL.createObjectURL(outcome.blob);
      els.download.href = state.url;
      els.download.download = `meshseg-batch-${card.id}.zip`;
      els.download.hidden = false;
      const { done, warning, failed } = outcome.manifest.summary;
      els.all.value = outcome.cancelled ? els.all.value : 1;
      els.time.textContent = `Finished in ${seconds(outcome.seconds)}.`;
      els.message.textContent = `${outcome.cancelled ? 'Cancelled' : 'Done'}: ${done} done, ${warning} with warnings, ${failed} failed.`;
      section.dataset.seconds = String(outcome.seconds);
      setState(outcome.cancelled ? 'cancelled' : 'done');
    } catch (error) {
      els.message.textContent = `The batch stopped: ${error.message}`;
      setState('error');
    } finally {
      state.running = false;
      state.abort = null;
      refresh();
    }
  }

  els.input.addEventListener('change', async () => {
    const { sourcesOfFiles } = await load();
    const sources = sourcesOfFiles(els.input.files);
    els.input.value = '';
    addSources(Promise.resolve(sources));
  });
  els.folder.addEventListener('change', async () => {
    const { sourcesOfFiles } = await load();
    const sources = sourcesOfFiles(els.folder.files);
    els.folder.value = '';
    addSources(Promise.resolve(sources));
  });
  els.drop.addEventListener('click', () => !state.running && els.input.click());
  els.drop.addEventListener('keydown', (event) => {
    if ((event.key === 'Enter' || event.key === ' ') && !state.running) {
      event.preventDefault();
      els.input.click();
    }
  });
  els.drop.addEventListener('dragover', (event) => {
    event.preventDefault();
    els.drop.classList.toggle('dragging', !state.running);
  });
  els.drop.addEventListener('dragleave', () => els.drop.classList.remove('dragging'));
  els.drop.addEventListener('drop', (event) => {
    event.preventDefault();
    els.drop.classList.remove('dragging');
    // Entries must be taken from the DataTransfer before the event handler returns.
    const entries = [...(event.dataTransfer.items ?? [])].map((item) => item.webkitGetAsEntry?.()).filter(Boolean);
    const files = [...(event.dataTransfer.files ?? [])];
    addSources(load().then(({ sourcesOfDrop }) => sourcesOfDrop({ entries, files })));
  });
  els.clear.addEventListener('click', () => {
    state.sources = [];
    state.items = [];
    showQueue();
    els.message.textContent = '';
    setState('idle');
    refresh();
  });
  els.run.addEventListener('click', run);
  els.cancel.addEventListener('click', () => {
    els.message.textContent = 'Cancelling after the current step…';
    state.abort?.abort();
  });
  modelSelect?.addEventListener('change', refresh);
  setState('idle');
  refresh();
  Promise.resolve(ready).then(() => {
    state.ready = true;
    refresh();
  });
  return { state };
}
