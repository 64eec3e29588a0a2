// Page wiring: connects the UI modules to a Segmenter (js/api/segmenter.js). No side effect
// on import: <meshseg-app> (js/element.js) calls createApp. The page state lives in
// createApp's closure.
//
// A chosen file goes to the worker first: it is validated there, and only the worker's
// decompressed copy of an accepted scan reaches the viewer (nothing is allocated for a
// refused file, and the viewer never parses what the worker has not checked).

import { createCompareFlow } from './compare-flow.js';
import { IMAGE_EXTENSIONS } from './constants.js';
import { createAbout } from './ui/about.js';
import { createComparePanel } from './ui/compare-panel.js';
import { createCompareViewer } from './ui/compare-viewer.js';
import { createBatchPanel } from './ui/batch-panel.js';
import { createDownloads } from './ui/downloads.js';
import { createExports } from './ui/exports.js';
import { produce as produceExport } from './export/index.js';
import { createDicomSegNotice } from './ui/dicom-seg-notice.js';
import { createFileDrop } from './ui/file-drop.js';
import { createMaskEditor } from './ui/mask-editor.js';
import { createMeshToggle } from './ui/mesh-toggle.js';
import { createModelPicker } from './ui/model-picker.js';
import { createNotices } from './ui/notices.js';
import { createOwnModel } from './ui/own-model.js';
import { createProbabilityPanel } from './ui/probability.js';
import { createProgress } from './ui/progress.js';
import { createQuality } from './ui/quality.js';
import { createRunOptions } from './ui/run-options.js';
import { createRunSummary } from './ui/run-summary.js';
import { createStatsTable } from './ui/stats-table.js';
import { createStatus, errorText } from './ui/status.js';
import { createViewer } from './ui/viewer.js';
import { createWarnings } from './ui/warnings.js';

async function readJson(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${new URL(url).pathname}: HTTP ${response.status}`);
  return response.json();
}

function finder(root) {
  return (id) => {
    const element = root.querySelector(`#${id}`);
    if (!element) throw new Error(`page is missing #${id}`);
    return element;
  };
}

/** The page's UI parts, built from the DOM under `root`. */
function createParts($) {
  const viewer = createViewer({
    canvas: $('viewer-canvas'), message: $('viewer-message'), opacity: $('opacity'),
    opacityValue: $('opacity-value'), cursorLabel: $('cursor-label'),
  });
  return {
    status: createStatus($('status')),
    progress: createProgress({
      panel: $('progress'), stages: $('stages'), bar: $('progress-bar'),
      percent: $('progress-percent'), elapsed: $('elapsed'), message: $('progress-message'),
    }),
    picker: createModelPicker({ select: $('model-select'), card: $('model-card') }),
    stats: createStatsTable({ table: $('stats'), empty: $('results-empty') }),
    downloads: createDownloads({ container: $('downloads'), mask: $('download-mask'), csv: $('download-csv'), json: $('download-json') }),
    notices: createNotices($('notices')),
    warnings: createWarnings($('warnings')),
    quality: createQuality({ badge: $('quality'), details: $('quality-details') }),
    runOptions: createRunOptions({ tta: $('tta') }),
    summary: createRunSummary($('run-summary')),
    about: createAbout({ list: $('about-list'), models: $('about-models') }),
    viewer,
    compareViewer: createCompareViewer({
      viewer, pane: $('viewer-b'), canvas: $('viewer-b-canvas'), captionA: $('viewer-caption-a'),
      captionB: $('viewer-caption-b'), legend: $('difference-legend'),
    }),
    runButton: $('run'),
    cancelButton: $('cancel'),
  };
}

/**
 * Build the app inside `root` (which holds APP_TEMPLATE) and start the segmenter.
 * @param {Element} root
 * @param {import('./api/segmenter.js').Segmenter} segmenter
 * @param {object} settings
 * @param {string} settings.exampleUrl
 * @param {string} settings.versionUrl
 * @param {string|null} [settings.model] the model chosen at start
 * @param {(result: object, card: object) => void} [settings.onResult]
 * @param {(error: Error) => void} [settings.onError]
 * @returns {{ready: Promise<void>, state: object, parts: object}}
 */
export function createApp(root, segmenter, settings) {
  const $ = finder(root);
  const parts = createParts($);
  const { status, progress, picker, viewer, runButton, cancelButton } = parts;
  // current: the model id of the result shown (A); comparison: A, B and their comparison.
  const state = { ready: false, running: false, opening: 0, file: null, scan: null, results: new Map(), abort: null, current: null, comparison: null, card: null, version: null };
  $('file-input').accept = [...IMAGE_EXTENSIONS, '.gz'].join(',');
  const flow = createCompareFlow({ segmenter, state, parts, refresh: () => refresh(), fail: (error) => fail(error) });
  parts.compare = createComparePanel({
    hint: $('compare-hint'), model: $('compare-model'), run: $('compare-run'), reference: $('compare-reference'),
    mode: $('compare-mode'), table: $('compare-table'), caption: $('compare-caption'), downloads: $('compare-downloads'),
    csv: $('download-compare-csv'), mask: $('download-compare-mask'),
  }, { onRun: flow.runModel, onReference: flow.loadReference, onMode: flow.setMode });
  parts.editor = createMaskEditor({
    toggle: $('edit-toggle'), tools: $('edit-controls'), pen: $('edit-pen'), eraser: $('edit-eraser'), fill: $('edit-fill'),
    size: $('edit-size'), label: $('edit-label'), undo: $('edit-undo'), save: $('edit-save'), download: $('download-edited'),
    message: $('edit-message'),
  }, {
    nv: viewer.nv,
    onSave: saveEdited,
    onToggle: (editing) => {
      if (editing) parts.compareViewer.reset();
      else if (state.comparison) flow.setMode(parts.compare.mode);
      refresh();
    },
    onError: (error) => fail(error),
  });
  parts.exports = createExports({
    buttons: ['download-report', 'download-stats', 'download-mesh', 'download-dicom-seg'].map($), message: $('export-message'),
  }, { produce: (format) => produceExport(format, exportContext()), available: exportAvailable, onError: (error) => console.warn('meshseg: export failed', error) });
  createDicomSegNotice($('download-dicom-seg')); // its first press says it carries patient data
  parts.meshToggle = createMeshToggle({ button: $('show-mesh'), message: $('export-message') },
    { viewer, produce: () => produceExport('mesh', exportContext()), available: () => exportAvailable('mesh') });

  /** What a writer (js/export/) needs of the result shown. */
  function exportContext() {
    const result = state.results.get(state.current);
    const backend = result?.backend ?? {};
    return {
      segmenter, scan: state.scan, result, card: state.card, viewer, source: state.file?.source ?? null,
      runtime: { provider: backend.provider ?? '', threads: backend.threads ?? null, commit: state.version?.commit ?? '' },
    };
  }

  /** Which downloads the result shown has: DICOM SEG only for a DICOM series input; none for an image model's output. */
  function exportAvailable(format) {
    if (state.results.get(state.current)?.kind === 'image') return false;
    if (format === 'dicom-seg') return state.file?.source?.kind === 'dicom';
    return true;
  }
  parts.probability = createProbabilityPanel({ container: $('probability'), stats: parts.stats, viewer });

  function refresh() {
    runButton.disabled = !(state.ready && state.scan && !state.running && picker.selected());
    cancelButton.disabled = !state.running;
    picker.setEnabled(!state.running);
    parts.runOptions.setEnabled(!state.running);
    fileDrop.setEnabled(!state.running);
    const canCompare = Boolean(state.ready && state.scan && state.current && !state.running);
    parts.compare.setEnabled(canCompare, state.current
      ? `A is ${state.current}. Choose B: a second model run on the open scan, or a reference label image.`
      : 'Run a model first; then compare it (A) with a second model or a reference label image (B).');
    $('edit-toggle').disabled = !state.current || state.running;
    parts.ownModel?.setEnabled(state.ready && !state.running);
  }

  /** Save the edited labels (NIfTI order) through Python: the scan's grid, anonymised, intent LABEL. */
  async function saveEdited(labels) {
    const saved = await segmenter.save(state.scan, labels, state.current, { edited: true });
    parts.stats.show(saved.stats);
    status.set('done', `Saved the edited mask ${saved.maskName}; volumes recomputed.`);
    return saved;
  }

  function clearResults() {
    for (const part of [parts.stats, parts.downloads, parts.exports, parts.notices, parts.warnings, parts.quality, parts.summary, parts.probability]) part.clear();
    viewer.clearLabels();
    parts.meshToggle.clear();
    state.results.clear();
    parts.editor.setTarget(null);
    parts.compare.clear();
    parts.compareViewer.reset();
    Object.assign(state, { current: null, comparison: null, card: null });
  }

  function idleMessage() {
    return state.scan ? `Ready to segment ${state.scan.name}. Press “Run segmentation”.` : 'Ready. Choose a scan, or try the example.';
  }

  function fail(error) {
    status.set('error', errorText(error));
    settings.onError?.(error);
  }

  async function openScan(file) {
    const mine = ++state.opening;
    if (state.scan) segmenter.close(state.scan).catch((error) => console.warn('meshseg: close failed', error));
    Object.assign(state, { file, scan: null });
    clearResults();
    progress.hide();
    viewer.clear();
    refresh();
    status.set('loading', `Checking ${file.name}…`);
    try {
      const scan = await segmenter.open(file.bytes, file.name, { viewer: true });
      if (mine !== state.opening) return;
      state.scan = scan;
      parts.notices.show([...(file.notices ?? []), ...(scan.info.notices ?? [])]);
      status.set('idle', idleMessage());
      viewer.showScan({ name: `${scan.name}.checked.nii`, bytes: scan.viewerImage });
      delete scan.viewerImage;
    } catch (error) {
      if (mine === state.opening) fail(error);
    } finally {
      refresh();
    }
  }

  const fileDrop = createFileDrop(
    { zone: $('drop-zone'), input: $('file-input'), example: $('example'), fileName: $('file-name') },
    { exampleUrl: settings.exampleUrl, onFile: openScan, onError: fail, vendorBase: () => new URL('vendor/', segmenter.assets.base) },
  );

  function showResult(result, card, seconds) {
    parts.stats.show(result.stats);
    parts.downloads.show(result);
    parts.notices.show(result.notices ?? []);
    parts.warnings.show(result.warnings ?? []);
    parts.quality.show(result.quality ?? null); // null for an image-to-image model: hidden
    parts.summary.show(result);
    parts.about.setBackend(result.backend);
    status.set('done', `Done in ${seconds.toFixed(1)} s: ${state.scan.name} segmented with ${card.title ?? card.id}.`);
    showOutput(result, card);
    parts.probability.show(result, card);
    state.current = card.id;
    state.card = card;
    parts.exports.show();
    parts.meshToggle.show();
    parts.editor.setTarget(result.kind === 'image' ? null : { labelsNifti: result.labelsNifti, classes: card.classes, title: card.title ?? card.id });
    parts.compare.setModels(segmenter.models, card.id);
  }

  /** Labels over the scan; an image model's output beside the scan (the compare view's B). */
  function showOutput(result, card) {
    if (result.kind !== 'image') {
      viewer.showLabels(result.viewerLabelsNifti ?? result.labelsNifti, result.maskName, card.classes);
      return;
    }
    const output = { bytes: result.labelsNifti, name: result.maskName, title: card.title ?? card.id };
    parts.compareViewer.showImageBeside(output, state.scan.name).catch((error) => {
      console.warn('meshseg: the side-by-side view failed; showing the output over the scan', error);
      viewer.showImage(result.labelsNifti, result.maskName);
    });
  }

  async function run() {
    const card = picker.selected();
    state.running = true;
    state.abort = new AbortController();
    clearResults();
    refresh();
    progress.start(Boolean(card.pre_model));
    status.set('running', `Segmenting ${state.scan.name} with ${card.title ?? card.id}…`);
    const onProgress = (update) => {
      progress.update(update);
      status.set('running', update.message);
    };
    try {
      const options = parts.runOptions.options();
      const result = await segmenter.segment(state.scan, card.id, { options, onProgress, signal: state.abort.signal });
      state.results.set(card.id, result);
      showResult(result, card, progress.finish());
      settings.onResult?.(result, card);
    } catch (error) {
      progress.hide();
      if (error.kind === 'cancelled') status.set('idle', `Cancelled. ${idleMessage()}`);
      else fail(error);
    } finally {
      state.running = false;
      state.abort = null;
      refresh();
    }
  }

  async function start() {
    status.set('loading', 'Starting the in-browser runtime…');
    const version = readJson(settings.versionUrl).then((v) => {
      state.version = v;
      return v.niivue;
    }, (error) => `unknown (${error.message})`);
    try {
      await segmenter.ready((update) => status.set('loading', update.message));
    } catch (error) {
      const reason = errorText(error).replace(/([^.!?])$/, '$1.');
      status.set('error', `The segmentation runtime could not start: ${reason} Reload the page to try again.`);
      settings.onError?.(error);
      return;
    }
    picker.setModels(segmenter.models, settings.model ?? null);
    parts.about.show(segmenter.info, segmenter.models, await version);
    state.ready = true;
    if (!state.file) status.set('idle', idleMessage());
    refresh();
  }

  parts.ownModel = createOwnModel({
    container: $('own-model-panel'), segmenter, onError: fail,
    onBusy: (text) => status.set('loading', text),
    onAdded: (card) => {
      picker.setModels(segmenter.models, card.id);
      $('model-select').value = card.id; // the user's model becomes the choice
      $('model-select').dispatchEvent(new Event('change'));
      status.set('idle', `Your model ${card.title ?? card.id} passed the checks. ${idleMessage()}`);
      refresh();
    },
  });
  runButton.addEventListener('click', run);
  cancelButton.addEventListener('click', () => {
    status.set('running', 'Cancelling after the current step…');
    state.abort?.abort();
  });
  $('model-select').addEventListener('change', refresh);
  refresh();
  const ready = start();
  parts.batch = createBatchPanel($('batch'), { segmenter, selectedCard: () => picker.selected(), ready, modelSelect: $('model-select') });
  return { ready, state, parts };
}
