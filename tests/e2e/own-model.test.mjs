// End-to-end: 'Use your own model' with small third-party ONNX models built by onnx.helper
// (tests/own_models.py): a labels model from a ZIP, an image-to-image model from .onnx + .json,
// outputs on the input's grid (and the model grid), and named errors for bad files and cards.
// Probability outputs, on the same page and scan: a two-class model's foreground probability
// makes the threshold slider re-measure the stats table without a model run; a confidence
// model shows the uncertainty toggle and the low-confidence share; the probability downloads
// on the input's grid. Needs `python3 build.py` first. Run: node --test tests/e2e/own-model.test.mjs

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import config from '../../playwright.config.js';
import {
  download, expectState, launchBrowser, niftiGeometry, readStatsTable, setFilesAndWait, startServer,
  waitForState,
} from './helpers.mjs';
import { writeOwnModels } from './own-models.mjs';

const SCAN = path.join(config.sharedData, 'avg152T1_RL_nifti.nii.gz');
const { timeouts } = config;

let server;
let browser;
let page;
let models;
const pageErrors = [];

const choose = (testId, files) => setFilesAndWait(page, testId, files);

const addOwnModel = (files) => choose('own-model', files);

before(async () => {
  fs.mkdirSync(config.artifactDir, { recursive: true });
  models = writeOwnModels();
  server = await startServer();
  browser = await launchBrowser();
  page = await browser.context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(`${server.origin}/`);
  expectState(await waitForState(page, ['idle', 'error'], timeouts.runtime), 'idle');
  expectState(await choose('file-input', SCAN), 'idle');
}, { timeout: timeouts.runtime + timeouts.serverStart + 30_000 });

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('the threshold slider re-measures the volume without a model run', { timeout: timeouts.test }, async () => {
  expectState(await addOwnModel([models.file('byo_labels.onnx'), models.file('byo_labels.json')]), 'idle');
  assert.equal(await page.getByTestId('model-select').inputValue(), 'byo_labels');
  await page.getByTestId('run').click();
  expectState(await waitForState(page, ['done', 'error'], timeouts.run), 'done');
  const threshold = page.getByTestId('threshold');
  assert.ok(await threshold.isVisible());
  assert.equal(await page.getByTestId('threshold-value').textContent(), '0.50');
  assert.equal(await page.getByTestId('uncertainty').isVisible(), false);
  const before = (await readStatsTable(page)).find((row) => row.label === 1);
  assert.ok(before.voxels > 0);

  // Worker traffic during the slider moves: no segment request may be posted.
  await page.evaluate(() => {
    window.__segments = 0;
    const post = Worker.prototype.postMessage;
    Worker.prototype.postMessage = function patched(message, ...rest) {
      if (message?.type === 'segment') window.__segments += 1;
      return post.call(this, message, ...rest);
    };
  });
  const at = async (value) => {
    await threshold.fill(String(value));
    await page.waitForFunction((v) => document.querySelector('[data-testid="probability"]').dataset.threshold === v,
      String(value), { timeout: timeouts.action });
    return (await readStatsTable(page)).find((row) => row.label === 1);
  };
  const low = await at(0.1);
  const high = await at(0.9);
  const half = await at(0.5);
  assert.ok(low.voxels > half.voxels && half.voxels > high.voxels, JSON.stringify({ low, half, high }));
  assert.ok(low.ml > high.ml);
  assert.equal(await page.getByTestId('threshold-value').textContent(), '0.50');
  // at 0.5 the re-thresholded native probability is close to the label mask (trilinear vs majority)
  assert.ok(Math.abs(half.voxels - before.voxels) / before.voxels < 0.1, JSON.stringify({ half, before }));
  assert.equal(await page.evaluate(() => window.__segments), 0);
  assert.equal(await page.getByTestId('status').getAttribute('data-state'), 'done');
  process.stdout.write(`# slider: 0.1 -> ${low.ml} mL, 0.5 -> ${half.ml} mL, 0.9 -> ${high.ml} mL (mask ${before.ml} mL)\n`);

  const file = await download(page, 'download-probability', 'probability');
  const geometry = niftiGeometry(file);
  assert.deepEqual(geometry.shape, niftiGeometry(SCAN).shape);
  assert.deepEqual(pageErrors, []);
});

test('a confidence output shows the uncertainty toggle and the low-confidence share', { timeout: timeouts.test }, async () => {
  expectState(await addOwnModel([models.file('byo_labels.onnx'), models.file('byo_conf.json')]), 'idle');
  await page.getByTestId('run').click();
  expectState(await waitForState(page, ['done', 'error'], timeouts.run), 'done');
  assert.equal(await page.getByTestId('threshold').isVisible(), false);
  const toggle = page.getByTestId('uncertainty');
  assert.ok(await toggle.isVisible());
  assert.match(await page.getByTestId('low-confidence').textContent(), /confidence under 0.5: \d+\.\d%/);
  await toggle.check();
  await page.waitForFunction(() => document.querySelector('[data-testid="uncertainty"]').checked);
  await page.waitForTimeout(500);
  await toggle.uncheck();
  const file = await download(page, 'download-probability', 'confidence');
  assert.deepEqual(niftiGeometry(file).shape, niftiGeometry(SCAN).shape);
  assert.deepEqual(pageErrors, []);
});

test('a labels model from a ZIP runs and its mask lies on the input grid', { timeout: timeouts.test }, async () => {
  expectState(await choose('own-model', models.file('byo_zip.zip')), 'idle');
  assert.equal(await page.getByTestId('model-select').inputValue(), 'byo_zip');
  await page.getByTestId('run').click();
  expectState(await waitForState(page, ['done', 'error'], timeouts.run), 'done');
  const mask = await download(page, 'download-mask', 'own-zip');
  assert.deepEqual(niftiGeometry(mask).shape, niftiGeometry(SCAN).shape);
  assert.deepEqual(pageErrors, []);
});

test('an image-to-image model: output on the input grid and on the model grid', { timeout: timeouts.test }, async () => {
  expectState(await choose('own-model', [models.file('byo_image.onnx'), models.file('byo_image.json')]), 'idle');
  await page.getByTestId('run').click();
  expectState(await waitForState(page, ['done', 'error'], timeouts.run), 'done');
  // The output is shown beside the input, in the compare view's second viewer.
  await page.waitForFunction(() => document.querySelector('meshseg-app').app.parts.compareViewer.nvB?.volumes.length === 1,
    null, { timeout: timeouts.run });
  assert.equal(await page.locator('#viewer-b').isVisible(), true);
  assert.match(await page.locator('#viewer-caption-b').textContent(), /^Output: /);
  await page.screenshot({ path: path.join(config.artifactDir, 'own-image.png'), fullPage: true });
  const native = await download(page, 'download-mask', 'own-image');
  assert.deepEqual(niftiGeometry(native).shape, niftiGeometry(SCAN).shape);
  const grid = await download(page, 'download-model-grid', 'own-image-grid');
  assert.deepEqual(niftiGeometry(grid).shape, [32, 32, 32]);
  assert.deepEqual(pageErrors, []);
});

test('bad model files and bad cards give named errors before any run', { timeout: timeouts.test }, async () => {
  const cases = [
    [[models.file('garbage.onnx'), models.file('byo_labels.json')], /not-onnx/],
    [[models.file('byo_labels.onnx'), models.file('bad_card.json')], /runtime\.input\.orientation/],
    [[models.file('small_grid.onnx'), models.file('byo_labels.json')], /input-shape/],
    [[models.file('byo_image.onnx'), models.file('image_as_labels.json')], /output-missing/],
    [[models.file('byo_labels.onnx')], /an \.onnx file and its card/],
  ];
  for (const [files, expected] of cases) {
    const seen = await choose('own-model', files);
    assert.equal(seen.state, 'error', seen.text);
    assert.match(seen.text, expected);
  }
});
