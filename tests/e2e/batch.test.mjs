// Batch in the page: several files, a folder and ZIP archives in; one ZIP out whose manifest,
// masks, volumes.csv and per-scan aseg.stats and report match the CLI's formats. Runs on a
// copy of dist/ with one more model, `sphere` (a real ONNX thresholding rule on a 96^3 grid:
// tests/batch_site.py), so each scan takes seconds. DICOM series (classic and enhanced;
// uncompressed, JPEG-LS, RLE, JPEG 2000) are written from an oblique NIfTI phantom with pydicom.
//
// BIDS: a BIDS dataset dropped on the page's batch: only its two T1w images are queued, and
// the batch ZIP is their BIDS derivative (dataset_description.json, README.md, .bidsignore,
// per image the dseg on the T1w's grid with its .tsv and .json and the volume tables, the
// batch's manifest in sourcedata/meshseg-batch/), which bids-validator (npm, offline)
// passes with 0 errors. The dataset: the shared 2.4 mm head (two of its stored
// orientations) as sub-01/ses-1 and sub-02 with acq-; the model: `sphere`.
//
// DICOM SEG: a DICOM series opened in the page (files dropped on the drop zone, or chosen
// together in the file input) is segmented by model5_gw_ae, and its DICOM SEG download
// (data-testid download-dicom-seg) first shows the patient-data notice (dicom-seg-notice),
// then writes a SEG that highdicom reads back to the page's own label mask on every source
// frame (0 voxels differ), that references the series and passes dciodvfy; the mask has no
// patient field. A NIfTI scan has no SEG button; a page batch of the series puts the SEG in
// its ZIP. The shared 3-slice series is too thin to be segmented (a named error); the run
// uses an oblique synthetic series of the shared low-res head (tests/dicom_seg_helpers.py head).
//
// One server (the copy of dist/ with `sphere`) and one browser for all of them.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import config from '../../playwright.config.js';
import {
  download, expectState, foreignUrls, launchBrowser, niftiGeometry, openAppPage, recordRequests,
  setFilesAndWait, startServer, waitForState,
} from './helpers.mjs';

const MODEL = 'sphere';
const SEG_MODEL = 'model5_gw_ae'; // the DICOM SEG tests: a real model's two segments
const { timeouts } = config;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'meshseg-batch-'));
const PYTHONPATH = ['py', 'tests'].map((p) => path.join(config.root, p)).join(path.delimiter);
// BIDS: the dataset dropped on the batch
const dataset = path.join(work, 'ds');
const IMAGES = {
  'sub-01/ses-1/anat/sub-01_ses-1_T1w.nii.gz': 'RAS.nii.gz',
  'sub-02/anat/sub-02_acq-lowres_T1w.nii.gz': 'PSR.nii.gz',
};
const OTHER = {  // files of the dataset that are not segmented
  'dataset_description.json': JSON.stringify({ Name: 'Shared head', BIDSVersion: '1.9.0', DatasetType: 'raw' }),
  README: 'The shared low-resolution head stored in two voxel orientations, as two subjects.\n',
  'participants.tsv': 'participant_id\nsub-01\nsub-02\n',
  'sub-01/ses-1/anat/sub-01_ses-1_T1w.json': '{}\n',
  'derivatives/old/README': 'an older derivative\n',
};
// DICOM SEG: the shared 3-slice series
const SHARED = ['1-001.dcm', '1-002.dcm', '1-003.dcm'].map((name) => path.join(config.sharedData, 'dicom', name));
let server;
let browser;
let data;
let head;
const errors = []; // page errors of the DICOM SEG tests' pages

/** Run tests/batch_site.py (site | data | check); its last line of output. */
function python(...args) {
  const env = { ...process.env, PYTHONPATH };
  const done = spawnSync('python3', [path.join(config.root, 'tests', 'batch_site.py'), ...args], { env, encoding: 'utf-8', maxBuffer: 64 << 20 });
  if (done.status !== 0) throw new Error(`batch_site.py ${args[0]} failed:\n${done.stderr}`);
  return done.stdout.trim().split('\n').pop();
}

/** Run a Python `script` on `args`; its last line of output. */
function pythonScript(script, ...args) {
  const done = spawnSync('python3', ['-c', script, ...args], { encoding: 'utf-8', maxBuffer: 64 << 20,
    env: { ...process.env, PYTHONPATH } });
  if (done.status !== 0) throw new Error(`python failed:\n${done.stderr}`);
  return done.stdout.trim().split('\n').pop();
}

/** tests/bids_validate.mjs on `folder` (the schema validator, or the legacy CLI). */
function validate(folder, legacy = false) {
  const done = spawnSync('node', [path.join(config.root, 'tests', 'bids_validate.mjs'), folder, ...(legacy ? ['--legacy'] : [])],
    { encoding: 'utf-8', maxBuffer: 64 << 20 });
  if (done.status !== 0) throw new Error(`bids_validate.mjs ${folder} failed:\n${done.stderr}`);
  return JSON.parse(done.stdout);
}

/** Run tests/dicom_seg_helpers.py (head | check); its JSON answer. */
function helper(...args) {
  const env = { ...process.env, PYTHONPATH };
  const done = spawnSync('python3', [path.join(config.root, 'tests', 'dicom_seg_helpers.py'), ...args], { env, encoding: 'utf-8', maxBuffer: 1 << 26 });
  if (done.status !== 0) throw new Error(`dicom_seg_helpers.py ${args[0]} failed:\n${done.stderr}`);
  return JSON.parse(done.stdout);
}

function writeDataset() {
  for (const [relpath, scan] of Object.entries(IMAGES)) {
    fs.mkdirSync(path.dirname(path.join(dataset, relpath)), { recursive: true });
    fs.copyFileSync(path.join(config.sharedData, 'nifti_space', scan), path.join(dataset, relpath));
  }
  for (const [relpath, text] of Object.entries(OTHER)) {
    fs.mkdirSync(path.dirname(path.join(dataset, relpath)), { recursive: true });
    fs.writeFileSync(path.join(dataset, relpath), text);
  }
}

before(async () => {
  const site = python('site', config.dist, path.join(work, 'site'));
  data = JSON.parse(python('data', path.join(work, 'data')));
  head = helper('head', path.join(work, 'head'), config.sharedData);
  writeDataset();
  fs.mkdirSync(config.artifactDir, { recursive: true });
  server = await startServer({ dist: site });
  browser = await launchBrowser();
}, { timeout: 120_000 + timeouts.serverStart + timeouts.runtime });

after(async () => {
  await browser?.close();
  await server?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

async function openPage(on = { browser, server }) {
  const page = await on.browser.context.newPage();
  const urls = recordRequests(on.browser.context, page);
  await page.goto(`${on.server.origin}/`);
  await waitForState(page, ['idle', 'error'], timeouts.runtime);
  await page.getByTestId('model-select').selectOption(MODEL);
  return { page, urls };
}

async function waitBatch(page, states, timeout = timeouts.run) {
  await page.waitForFunction((wanted) => wanted.includes(document.querySelector('[data-testid="batch"]')?.dataset.state),
    states, { timeout, polling: 250 });
  return page.getByTestId('batch').getAttribute('data-state');
}

async function runBatch(page, prefix) {
  await waitBatch(page, ['ready']);
  await page.getByTestId('batch-run').click();
  const state = await waitBatch(page, ['done', 'cancelled', 'error']);
  const archive = await download(page, 'download-batch', prefix);
  return { state, archive };
}

const itemStates = (page) => page.getByTestId('batch-queue').locator('li').evaluateAll(
  (items) => items.map((li) => ({ name: li.dataset.name, state: li.dataset.state })));

test('3 scans + 1 bad file + a ZIP of a DICOM series give one ZIP: manifest with 1 named failure, masks on the inputs\' grids, volumes.csv = per-scan stats, each scan\'s aseg.stats = its CSV and its report; no request leaves the origin', { timeout: timeouts.test }, async () => {
  const { page, urls } = await openPage();
  await page.getByTestId('batch-input').setInputFiles([...data.nifti, data.bad, data.zip]);
  const { state, archive } = await runBatch(page, 'batch-mixed');
  assert.equal(state, 'done');
  const checked = JSON.parse(python('check', archive));
  const { manifest } = checked;
  assert.equal(manifest.items.length, 5, JSON.stringify(manifest.items.map((e) => [e.name, e.status, e.error])));
  assert.deepEqual(manifest.model.id, MODEL);
  assert.match(manifest.model.sha256, /^[0-9a-f]{64}$/);
  assert.ok(manifest.runtime.provider && manifest.runtime.threads >= 1, JSON.stringify(manifest.runtime));
  const failed = manifest.items.filter((e) => e.status === 'failed');
  assert.equal(failed.length, 1);
  assert.equal(failed[0].input, 'broken.nii.gz');
  assert.match(failed[0].error, /broken\.nii\.gz/);
  assert.deepEqual(manifest.summary.failed, 1);
  for (const entry of manifest.items) assert.match(entry.input_sha256 ?? '', /^[0-9a-f]{64}$/, entry.name);
  const series = manifest.items.find((e) => e.input.startsWith('DICOM series'));
  assert.equal(series.name, 'T1_classic_3');
  assert.equal(series.files, 24);
  for (const [index, file] of data.nifti.entries()) {
    const name = `scan${index + 1}`;
    const entry = manifest.items.find((e) => e.name === name);
    assert.ok(['done', 'warning'].includes(entry.status), `${name}: ${entry.error}`);
    assert.deepEqual(entry.outputs, { mask: `${name}_${MODEL}_labels.nii.gz`, stats: `${name}_${MODEL}_stats.csv`,
      aseg: `${name}_${MODEL}_aseg.stats`, report: `${name}_${MODEL}_report.html` });
    const input = niftiGeometry(file);
    assert.deepEqual(checked.masks[name].shape, input.shape);
    const worst = Math.max(...checked.masks[name].affine.flat().map((v, i) => Math.abs(v - input.affine.flat()[i])));
    assert.ok(worst < 1e-4, `${name}: affine differs by ${worst}`);
    assert.ok(checked.masks[name].voxels > 1000, `${name}: ${checked.masks[name].voxels} voxels`);
  }
  assert.deepEqual(checked.masks.T1_classic_3.shape, [70, 60, 24]);
  assert.equal(checked.volumesMatch, true);
  assert.ok(checked.volumeRows >= 4);
  // every scan's aseg.stats rows = its CSV rows, its report shows them (batch_site.exports_problems)
  const done = manifest.items.filter((e) => e.status !== 'failed');
  assert.equal(done.length, 4);
  for (const entry of done) {
    for (const key of ['aseg', 'report']) assert.ok(checked.names.includes(entry.outputs[key]), `${entry.name}: ${key} in the ZIP`);
  }
  assert.deepEqual(checked.exportProblems, []);
  assert.deepEqual(checked.patientFound, []);
  const states = await itemStates(page);
  assert.deepEqual(states.map((s) => (s.state === 'warning' ? 'done' : s.state)).sort(), ['done', 'done', 'done', 'done', 'failed']);
  assert.deepEqual(foreignUrls(urls, server.origin), []);
  assert.ok(urls.some((u) => u.includes('/vendor/zip/')), 'zip.js came from this origin');
  await page.close();
});

test('DICOM series (classic and enhanced; uncompressed, JPEG-LS, RLE, JPEG 2000) from a folder give masks equal to the NIfTI phantom\'s in world space, with no patient field in any output', { timeout: timeouts.test }, async () => {
  const { page, urls } = await openPage();
  await page.getByTestId('batch-input').setInputFiles([data.phantom]);
  await waitBatch(page, ['ready']);
  await page.getByTestId('batch-folder').setInputFiles(data.dicom);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="batch-queue"] li').length >= 4, null, { timeout: timeouts.action });
  const { state, archive } = await runBatch(page, 'batch-dicom');
  assert.equal(state, 'done');
  const checked = JSON.parse(python('check', archive, 'phantom'));
  const names = checked.manifest.items.map((e) => `${e.name}:${e.status}:${e.error}`);
  const expected = ['T1_classic_3', 'T1_LS_7', 'T1_enhanced_5', ...(data.j2k ? ['T1_J2K_9'] : [])];
  for (const name of expected) {
    assert.ok(checked.dice[name] >= 0.99, `${name}: Dice ${checked.dice[name]} (${names.join(', ')})`);
  }
  console.log(`# Dice with the NIfTI's mask: ${JSON.stringify(checked.dice)}`);
  assert.deepEqual(checked.patientFound, []);
  assert.ok(!JSON.stringify(checked.manifest).includes('DOE'), 'no patient name in the manifest');
  assert.deepEqual(foreignUrls(urls, server.origin), []);
  assert.ok(urls.some((u) => u.endsWith('/vendor/itk/pipelines/read-image-dicom-file-series.wasm.zst')), 'itk-wasm pipeline served from this origin');
  await page.close();
});

test('the shared DICOM files each give a result or a named error; Cancel stops after the current step and finished items stay downloadable', { timeout: timeouts.test }, async () => {
  const { page } = await openPage();
  const shared = path.join(config.sharedData, 'dicom');
  await page.getByTestId('batch-folder').setInputFiles(shared);
  const { state, archive } = await runBatch(page, 'batch-shared');
  assert.equal(state, 'done');
  const { manifest } = JSON.parse(python('check', archive));
  assert.ok(manifest.items.length >= 2, JSON.stringify(manifest.items));
  for (const entry of manifest.items) {
    if (entry.status === 'failed') assert.ok(entry.error.startsWith(entry.name), `a named error: ${entry.error}`);
  }
  console.log(`# shared DICOM: ${JSON.stringify(manifest.items.map((e) => [e.name, e.status, e.error]))}`);

  // Cancel: a batch of the three scans, cancelled as the second starts.
  await page.getByTestId('batch-clear').click();
  await page.getByTestId('batch-input').setInputFiles(data.nifti);
  await waitBatch(page, ['ready']);
  await page.getByTestId('batch-run').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="batch-queue"] li:nth-child(2)')?.dataset.state === 'running',
    null, { timeout: timeouts.run, polling: 20 });
  await page.getByTestId('batch-cancel').click();
  const cancelled = await waitBatch(page, ['done', 'cancelled', 'error']);
  assert.equal(cancelled, 'cancelled');
  const states = (await itemStates(page)).map((s) => s.state);
  assert.ok(['done', 'warning'].includes(states[0]), states.join(','));
  assert.ok(states.slice(1).includes('cancelled'), states.join(','));
  const partial = await download(page, 'download-batch', 'batch-cancelled');
  const partialManifest = JSON.parse(python('check', partial)).manifest;
  assert.ok(partialManifest.items.some((e) => e.name === 'scan1' && e.status !== 'failed'));
  assert.ok(partialManifest.summary.cancelled >= 1);
  await page.close();
});

test('a batch on a host without COOP/COEP, no service worker, runs on one thread and gives the isolated page\'s masks', { timeout: timeouts.test }, async () => {
  const plain = { server: await startServer({ dist: path.join(work, 'site'), headers: 'plain' }),
    browser: await launchBrowser({ serviceWorkers: 'block' }) };
  try {
    const archives = {};
    // The two batches side by side: the one-thread batch leaves a core to the other.
    const runs = await Promise.allSettled([['isolated', { browser, server }], ['plain', plain]].map(async ([what, on]) => {
      const { page } = await openPage(on);
      await page.getByTestId('batch-input').setInputFiles(data.nifti);
      const { state, archive } = await runBatch(page, `batch-${what}`);
      assert.equal(state, 'done', what);
      archives[what] = JSON.parse(python('check', archive));
      await page.close();
    }));
    const failed = runs.find((run) => run.status === 'rejected');
    if (failed) throw failed.reason;
    assert.equal(archives.plain.manifest.runtime.threads, 1, JSON.stringify(archives.plain.manifest.runtime));
    assert.equal(archives.isolated.manifest.runtime.threads, Math.min(os.cpus().length, 8));
    assert.equal(Object.keys(archives.plain.masks).length, data.nifti.length);
    for (const [name, mask] of Object.entries(archives.isolated.masks)) {
      assert.equal(archives.plain.masks[name]?.sha256, mask.sha256, `${name}: the one-thread mask differs`);
    }
  } finally {
    await plain.browser.close();
    await plain.server.stop();
  }
});

// BIDS

/** Drop `folder` on the batch's drop zone as a browser does for a dragged folder: a drop
 * event whose DataTransfer item is the folder's FileSystemDirectoryEntry. */
async function dropFolder(page, folder) {
  const files = [];
  const walk = (dir) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      if (fs.statSync(full).isDirectory()) walk(full);
      else files.push({ path: path.relative(path.dirname(folder), full).split(path.sep).join('/'), data: fs.readFileSync(full).toString('base64') });
    }
  };
  walk(folder);
  await page.getByTestId('batch-drop').evaluate((zone, given) => {
    const root = { children: new Map() };
    for (const file of given) {
      const parts = file.path.split('/');
      let node = root;
      for (const part of parts.slice(0, -1)) {
        if (!node.children.has(part)) node.children.set(part, { children: new Map() });
        node = node.children.get(part);
      }
      const bytes = Uint8Array.from(atob(file.data), (c) => c.charCodeAt(0));
      node.children.set(parts[parts.length - 1], { file: new File([bytes], parts[parts.length - 1]) });
    }
    const entry = (name, node, fullPath) => (node.file
      ? { isFile: true, isDirectory: false, name, fullPath, file: (ok) => ok(node.file) }
      : { isFile: false, isDirectory: true, name, fullPath,
        createReader() {
          let read = false;
          const children = [...node.children].map(([child, value]) => entry(child, value, `${fullPath}/${child}`));
          return { readEntries: (ok) => { ok(read ? [] : children); read = true; } };
        } });
    const [[name, top]] = [...root.children];
    const event = new Event('drop', { bubbles: true, cancelable: true });
    Object.defineProperty(event, 'dataTransfer', { value: { items: [{ webkitGetAsEntry: () => entry(name, top, `/${name}`) }], files: [] } });
    zone.dispatchEvent(event);
  }, files);
}

const CHECK = `
import json, sys, zipfile
from pathlib import Path
import nibabel as nib, numpy as np
archive, raw, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
with zipfile.ZipFile(archive) as zipped:
    names = zipped.namelist()
    zipped.extractall(out)
grids = {}
for name in names:
    if name.endswith("_dseg.nii.gz"):
        sources = json.loads((out / name.replace(".nii.gz", ".json")).read_text())["Sources"]
        t1w = nib.load(raw / sources[0].removeprefix("bids:raw:"))
        dseg = nib.load(out / name)
        grids[name] = {"source": sources[0], "shape": dseg.shape == t1w.shape,
                       "affine": bool(np.allclose(dseg.affine, t1w.affine, atol=1e-4)),
                       "voxels": int((np.asarray(dseg.dataobj) > 0).sum()),
                       "dtype": str(dseg.get_data_dtype())}
print(json.dumps({"names": sorted(names), "grids": grids}))
`;

test('a dropped BIDS folder queues its T1w images only and gives a ZIP that is their BIDS derivative, valid for bids-validator', { timeout: timeouts.test }, async () => {
  const { page, urls } = await openPage();
  await dropFolder(page, dataset);
  assert.equal(await waitBatch(page, ['ready', 'error']), 'ready', await page.getByTestId('batch-message').textContent());
  const queued = await page.getByTestId('batch-queue').locator('li').evaluateAll((items) => items.map((li) => li.dataset.name));
  assert.deepEqual(queued, ['sub-01_ses-1_T1w', 'sub-02_acq-lowres_T1w']);
  assert.match(await page.getByTestId('batch-message').textContent(), /the T1w images of the BIDS dataset ds; the ZIP will be its BIDS derivative/);
  await page.getByTestId('batch-run').click();
  assert.equal(await waitBatch(page, ['done', 'cancelled', 'error']), 'done', await page.getByTestId('batch-message').textContent());
  const archive = await download(page, 'download-batch', 'bids');

  const derivative = path.join(work, 'derivative');
  const { names, grids } = JSON.parse(pythonScript(CHECK, archive, dataset, derivative));
  const stems = ['sub-01/ses-1/anat/sub-01_ses-1_space-orig_desc-sphere', 'sub-02/anat/sub-02_acq-lowres_space-orig_desc-sphere'];
  const expected = ['.bidsignore', 'README.md', 'dataset_description.json',
    ...stems.flatMap((stem) => ['dseg.json', 'dseg.nii.gz', 'dseg.tsv', 'volumes.json', 'volumes.tsv'].map((end) => `${stem}_${end}`))];
  assert.deepEqual(names.filter((n) => !n.startsWith('sourcedata/')), expected.sort());
  const batch = names.filter((n) => n.startsWith('sourcedata/meshseg-batch/'));
  assert.ok(batch.includes('sourcedata/meshseg-batch/manifest.json') && batch.includes('sourcedata/meshseg-batch/volumes.csv'), batch.join(', '));
  assert.ok(!batch.some((n) => n.endsWith('_labels.nii.gz')), 'the label images are the dseg files, not copies');
  for (const [stem, relpath] of stems.map((s, i) => [s, Object.keys(IMAGES)[i]])) {
    const grid = grids[`${stem}_dseg.nii.gz`];
    assert.deepEqual(grid, { ...grid, source: `bids:raw:${relpath}`, shape: true, affine: true, dtype: 'uint8' });
    assert.ok(grid.voxels > 1000, `${stem}: ${grid.voxels} labelled voxels`);
    const tsv = fs.readFileSync(path.join(derivative, `${stem}_dseg.tsv`), 'utf-8');
    assert.equal(tsv, 'index\tname\tcolor\n0\tbackground\t#000000\n1\tsphere\t#ff0000\n');
    const volumes = fs.readFileSync(path.join(derivative, `${stem}_volumes.tsv`), 'utf-8').trim().split('\n');
    assert.equal(volumes[0], 'index\tname\tvoxels\tml');
    assert.equal(volumes[1].split('\t')[2], String(grid.voxels));
  }
  const description = JSON.parse(fs.readFileSync(path.join(derivative, 'dataset_description.json'), 'utf-8'));
  assert.equal(description.DatasetType, 'derivative');
  assert.equal(description.GeneratedBy[0].Name, 'meshseg');
  assert.match(description.GeneratedBy[0].Version, /^\d+\.\d+/);
  assert.equal(description.Name, 'MeshSeg segmentations of Shared head');
  const manifest = JSON.parse(fs.readFileSync(path.join(derivative, 'sourcedata', 'meshseg-batch', 'manifest.json'), 'utf-8'));
  assert.deepEqual(manifest.items.map((e) => [e.name, e.status === 'warning' ? 'done' : e.status, e.input]),
    [['sub-01_ses-1_T1w', 'done', `ds/${Object.keys(IMAGES)[0]}`], ['sub-02_acq-lowres_T1w', 'done', `ds/${Object.keys(IMAGES)[1]}`]]);

  const report = validate(derivative);
  console.log(`# ${report.validator}: ${report.errors.length} errors, ${report.warnings.length} warnings (${[...new Set(report.warnings.map((w) => w.code))].join(', ')})`);
  assert.deepEqual(report.errors, []);
  fs.cpSync(derivative, path.join(dataset, 'derivatives', 'meshseg'), { recursive: true });
  const nested = validate(dataset, true);
  console.log(`# ${nested.validator} on the dataset with derivatives/meshseg: ${nested.errors.length} errors, warnings ${nested.warnings.map((w) => w.code).join(', ')}`);
  assert.deepEqual(nested.errors, []);
  assert.deepEqual(foreignUrls(urls, server.origin), []);
  await page.close();
});

// DICOM SEG

/** Drop `files` on the drop zone as a user's drop does (a DataTransfer of File objects). */
async function dropFiles(page, files) {
  const payload = files.map((file) => ({ name: path.basename(file), data: fs.readFileSync(file).toString('base64') }));
  const before = (await page.getByTestId('status').textContent()).trim();
  await page.evaluate((items) => {
    const transfer = new DataTransfer();
    for (const { name, data } of items) {
      const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
      transfer.items.add(new File([bytes], name, { type: 'application/dicom' }));
    }
    document.querySelector('#drop-zone').dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, payload);
  await page.waitForFunction((old) => {
    const status = document.querySelector('[data-testid="status"]');
    return status.dataset.state !== 'loading' && status.textContent.trim() !== old;
  }, before, { timeout: timeouts.runtime, polling: 100 });
  return { state: await page.getByTestId('status').getAttribute('data-state'), text: (await page.getByTestId('status').textContent()).trim() };
}

test('a dropped DICOM series is segmented; the SEG download shows the patient notice first and reads back to the mask on every source frame', { timeout: timeouts.test }, async () => {
  const page = await openAppPage(browser.context, `${server.origin}/`, errors);
  await page.getByTestId('model-select').selectOption(SEG_MODEL);
  // the shared 3-slice series: grouped and converted, then refused by name (too thin)
  const thin = await dropFiles(page, SHARED);
  assert.equal(thin.state, 'error', thin.text);
  assert.match(thin.text, /t1_mpr_tra_gk_v4_2.*too small to be a head scan/);
  // the head series, dropped the same way
  const seen = await dropFiles(page, head);
  expectState(seen, 'idle');
  assert.match(await page.locator('#file-name').textContent(), /head_7 \(DICOM series, 67 files\)/);
  await page.getByTestId('run').click();
  expectState(await waitForState(page, ['done', 'error'], timeouts.run), 'done');
  const button = page.getByTestId('download-dicom-seg');
  assert.equal(await button.isVisible(), true, 'the DICOM SEG button is shown for a DICOM series');
  assert.equal(await page.getByTestId('dicom-seg-notice').isVisible(), false);
  // first press: the notice, no download
  let downloaded = false;
  const onDownload = () => { downloaded = true; };
  page.on('download', onDownload);
  await button.click();
  const notice = page.getByTestId('dicom-seg-notice');
  await notice.waitFor({ state: 'visible' });
  assert.match(await notice.textContent(), /patient and study data of the source series.*not anonymised/);
  await page.waitForTimeout(1500);
  assert.equal(downloaded, false, 'the first press does not download');
  page.off('download', onDownload);
  // second press: the SEG
  const seg = await download(page, 'download-dicom-seg', 'dicom-seg');
  assert.match(path.basename(seg), /head_7_model5_gw_ae_seg\.dcm$/);
  const mask = await download(page, 'download-mask', 'dicom-seg');
  const verdict = helper('check', seg, mask, ...head);
  console.log(`${verdict.frames} source frames, ${verdict.labelled} labelled pixels, ${verdict.differing} differ; dciodvfy warnings: ${JSON.stringify(verdict.warnings)}`);
  assert.equal(verdict.differing, 0);
  assert.ok(verdict.labelled > 1000 && verdict.offGrid < 1e-3, JSON.stringify(verdict));
  for (const key of ['series', 'instances', 'study', 'frameOfReference', 'patient']) assert.equal(verdict[key], true, key);
  assert.deepEqual(verdict.segments, ['White Matter', 'Grey Matter']);
  assert.equal(verdict.niftiHasPatient, false, 'the label mask carries no patient field');
  if (verdict.errors !== null) assert.deepEqual(verdict.errors, [], 'dciodvfy errors');
  await page.close();
});

test('files chosen together open as a series; a NIfTI scan has no DICOM SEG; a page batch of the series puts its SEG in the ZIP', { timeout: timeouts.test }, async () => {
  const page = await openAppPage(browser.context, `${server.origin}/`, errors);
  // The NIfTI scan's result comes from `sphere`: whether a SEG is offered depends on the scan.
  await page.getByTestId('model-select').selectOption(MODEL);
  expectState(await setFilesAndWait(page, 'file-input', head, timeouts.runtime), 'idle');
  assert.match(await page.locator('#file-name').textContent(), /head_7 \(DICOM series/);
  expectState(await setFilesAndWait(page, 'file-input', path.join(config.sharedData, 'nifti_space', 'RAS.nii.gz'), timeouts.runtime), 'idle');
  await page.getByTestId('run').click();
  expectState(await waitForState(page, ['done', 'error'], timeouts.run), 'done');
  assert.equal(await page.getByTestId('download-dicom-seg').isVisible(), false, 'no SEG for a NIfTI scan');
  // batch: the series' files as one item, segmented by the real model
  await page.getByTestId('model-select').selectOption(SEG_MODEL);
  await page.getByTestId('batch-input').setInputFiles(head);
  await waitBatch(page, ['ready'], timeouts.action);
  await page.getByTestId('batch-run').click();
  await waitBatch(page, ['done', 'cancelled', 'error'], timeouts.run);
  const archive = await download(page, 'download-batch', 'dicom-seg-batch');
  const unzip = path.join(work, 'batch');
  const done = spawnSync('python3', ['-c', 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])', archive, unzip], { encoding: 'utf-8' });
  assert.equal(done.status, 0, done.stderr);
  const manifest = JSON.parse(fs.readFileSync(path.join(unzip, 'manifest.json'), 'utf-8'));
  const [item] = manifest.items;
  assert.ok(['done', 'warning'].includes(item.status), `${item.name}: ${item.error}`);
  assert.equal(item.outputs.dicom_seg, `head_7_${SEG_MODEL}_seg.dcm`);
  const verdict = helper('check', path.join(unzip, item.outputs.dicom_seg), path.join(unzip, item.outputs.mask), ...head);
  assert.equal(verdict.differing, 0);
  assert.ok(verdict.labelled > 1000);
  if (verdict.errors !== null) assert.deepEqual(verdict.errors, [], 'dciodvfy errors');
  assert.equal(verdict.niftiHasPatient, false);
  await page.close();
});

test('no page errors', () => {
  assert.deepEqual(errors, []);
});
