// Batch in the page: several files, a folder and ZIP archives in; one ZIP out whose manifest,
// masks, volumes.csv and per-scan aseg.stats and report match the CLI's formats. Runs on a
// copy of dist/ with one more model, `sphere` (a real ONNX thresholding rule on a 96^3 grid:
// tests/batch_site.py), so each scan takes seconds. DICOM series (classic and enhanced;
// uncompressed, JPEG-LS, RLE, JPEG 2000) are written from an oblique NIfTI phantom with pydicom.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import config from '../../playwright.config.js';
import { download, foreignUrls, launchBrowser, niftiGeometry, recordRequests, startServer, waitForState } from './helpers.mjs';

const MODEL = 'sphere';
const { timeouts } = config;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'meshseg-batch-'));
let server;
let browser;
let data;

function python(...args) {
  const env = { ...process.env, PYTHONPATH: ['py', 'tests'].map((p) => path.join(config.root, p)).join(path.delimiter) };
  const done = spawnSync('python3', [path.join(config.root, 'tests', 'batch_site.py'), ...args], { env, encoding: 'utf-8', maxBuffer: 64 << 20 });
  if (done.status !== 0) throw new Error(`batch_site.py ${args[0]} failed:\n${done.stderr}`);
  return done.stdout.trim().split('\n').pop();
}

before(async () => {
  const site = python('site', config.dist, path.join(work, 'site'));
  data = JSON.parse(python('data', path.join(work, 'data')));
  fs.mkdirSync(config.artifactDir, { recursive: true });
  server = await startServer({ dist: site });
  browser = await launchBrowser();
}, { timeout: 120_000 });

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
    for (const [what, on] of [['isolated', { browser, server }], ['plain', plain]]) {
      const { page } = await openPage(on);
      await page.getByTestId('batch-input').setInputFiles(data.nifti);
      const { state, archive } = await runBatch(page, `batch-${what}`);
      assert.equal(state, 'done', what);
      archives[what] = JSON.parse(python('check', archive));
      await page.close();
    }
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
