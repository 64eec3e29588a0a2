// Page wiring: connects the UI modules to the segmenter client. The page state
// (chosen scan, running or not) lives in startApp's closure; nothing global.

import { registerServiceWorker } from './pwa/register.js';
import { SegmenterClient, SegmenterError } from './segmenter-client.js';
import { createAbout } from './ui/about.js';
import { createDownloads } from './ui/downloads.js';
import { createFileDrop } from './ui/file-drop.js';
import { createModelPicker } from './ui/model-picker.js';
import { createNotices } from './ui/notices.js';
import { createProgress } from './ui/progress.js';
import { createRunSummary } from './ui/run-summary.js';
import { createStatsTable } from './ui/stats-table.js';
import { createStatus, errorText } from './ui/status.js';
import { createViewer } from './ui/viewer.js';
import { runnerOptionsFromQuery } from './worker/backend.js';

const WORKER_URL = new URL('./worker/worker.js', import.meta.url);
const EXAMPLE_URL = new URL('../example/t1_crop.nii.gz', import.meta.url);
const VERSION_URL = new URL('../version.json', import.meta.url);
const MODELS_URL = new URL('../models/index.json', import.meta.url);

async function readJson(url) {
  const response = await fetch(url);
  if (!response.ok) {
    throw new Error(`${url.pathname}: HTTP ${response.status}`);
  }
  return response.json();
}

function byId(root, id) {
  const element = root.getElementById(id);
  if (!element) {
    throw new Error(`page is missing #${id}`);
  }
  return element;
}

/**
 * Build the page's parts from the DOM and wire them to a segmenter client.
 * @param {Document} root
 * @param {SegmenterClient} client
 */
export function startApp(root, client) {
  const $ = (id) => byId(root, id);
  const status = createStatus($('status'));
  const progress = createProgress({
    panel: $('progress'), stages: $('stages'), bar: $('progress-bar'),
    percent: $('progress-percent'), elapsed: $('elapsed'), message: $('progress-message'),
  });
  const picker = createModelPicker({ select: $('model-select'), card: $('model-card') });
  const stats = createStatsTable({ table: $('stats'), empty: $('results-empty') });
  const downloads = createDownloads({
    container: $('downloads'), mask: $('download-mask'), csv: $('download-csv'), json: $('download-json'),
  });
  const notices = createNotices($('notices'));
  const summary = createRunSummary($('run-summary'));
  const about = createAbout({ list: $('about-list'), models: $('about-models') });
  const viewer = createViewer({
    canvas: $('viewer-canvas'), message: $('viewer-message'), opacity: $('opacity'),
    opacityValue: $('opacity-value'), cursorLabel: $('cursor-label'),
  });
  const runButton = $('run');
  const cancelButton = $('cancel');

  const state = { ready: false, running: false, scan: null };

  function refresh() {
    runButton.disabled = !(state.ready && state.scan && !state.running && picker.selected());
    cancelButton.disabled = !state.running;
    picker.setEnabled(!state.running);
    fileDrop.setEnabled(!state.running);
  }

  function clearResults() {
    stats.clear();
    downloads.clear();
    notices.clear();
    summary.clear();
    viewer.clearLabels();
  }

  function idleMessage() {
    return state.scan
      ? `Ready to segment ${state.scan.name}. Press “Run segmentation”.`
      : 'Ready. Choose a scan, or try the example.';
  }

  const fileDrop = createFileDrop(
    { zone: $('drop-zone'), input: $('file-input'), example: $('example'), fileName: $('file-name') },
    {
      exampleUrl: EXAMPLE_URL,
      onFile(file) {
        state.scan = file;
        clearResults();
        progress.hide();
        viewer.showScan(file);
        if (state.ready) {
          status.set('idle', idleMessage());
        }
        refresh();
      },
      onError(error) {
        status.set('error', errorText(error));
      },
    },
  );

  async function run() {
    const model = picker.selected();
    const scan = state.scan;
    state.running = true;
    clearResults();
    refresh();
    progress.start(Boolean(model.pre_model));
    status.set('running', `Segmenting ${scan.name} with ${model.title ?? model.id}…`);
    const onProgress = (update) => {
      progress.update(update);
      status.set('running', update.message);
    };
    try {
      // After a cancel the client starts a new worker; init shows that restart's progress.
      await client.init(onProgress);
      const result = await client.segment({ name: scan.name, bytes: scan.bytes }, model.id, null, onProgress);
      const seconds = progress.finish();
      stats.show(result.stats);
      downloads.show(result, scan.name);
      notices.show(result.notices ?? []);
      summary.show(result);
      if (result.backend) {
        about.setBackend(result.backend);
      }
      status.set('done', `Done in ${seconds.toFixed(1)} s: ${scan.name} segmented with ${model.title ?? model.id}.`);
      viewer.showLabels(result.mask, result.maskName, model.classes);
    } catch (error) {
      progress.hide();
      if (error.name === 'CancelledError') {
        status.set('idle', `Cancelled. ${idleMessage()}`);
      } else if (error instanceof SegmenterError) {
        status.set('error', errorText(error));
      } else {
        console.error(error);
        status.set('error', `Something went wrong in the page while showing the result (${error.message}). Please report this.`);
      }
    } finally {
      state.running = false;
      refresh();
    }
  }

  async function showModelIndex() {
    try {
      picker.setModels((await readJson(MODELS_URL)).models);
    } catch (error) {
      $('model-card').textContent = `The model list is not available yet (${error.message}).`;
    }
  }

  async function init() {
    let runner;
    try {
      // ?provider=auto|wasm|webgpu&threads=N&optimisation=disabled|basic|extended|all
      runner = runnerOptionsFromQuery(root.location.search);
    } catch (error) {
      status.set('error', `The page address has an invalid runner option: ${error.message}. Fix or remove it and reload.`);
      return showModelIndex();
    }
    status.set('loading', 'Starting the in-browser runtime…');
    const [versions, started] = await Promise.allSettled([
      readJson(VERSION_URL),
      client.init((update) => status.set('loading', update.message), runner),
      showModelIndex(),
    ]);
    if (started.status === 'rejected') {
      const reason = errorText(started.reason).replace(/([^.!?])$/, '$1.');
      status.set('error', `The segmentation runtime could not start: ${reason} Reload the page to try again.`);
      return;
    }
    const { info, models } = started.value;
    const niivue = versions.status === 'fulfilled' ? versions.value.niivue : `unknown (${versions.reason.message})`;
    picker.setModels(models);
    about.show(info, models, niivue);
    state.ready = true;
    status.set('idle', idleMessage());
    refresh();
  }

  runButton.addEventListener('click', run);
  cancelButton.addEventListener('click', () => {
    status.set('running', 'Cancelling…');
    client.cancel();
  });
  $('model-select').addEventListener('change', refresh);
  refresh();
  return init();
}

registerServiceWorker(document, startApp(document, new SegmenterClient(WORKER_URL)));
