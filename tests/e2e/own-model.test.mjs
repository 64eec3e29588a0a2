// End-to-end: 'Use your own model' with small third-party ONNX models built by onnx.helper
// (tests/own_models.py): a labels model from a ZIP, an image-to-image model from .onnx + .json,
// outputs on the input's grid (and the model grid), and named errors for bad files and cards.
// Needs `python3 build.py` first. Run: node --test tests/e2e/own-model.test.mjs

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import config from '../../playwright.config.js';
import {
  download, expectState, launchBrowser, niftiGeometry, readStatus, startServer, waitForState,
  setFilesAndWait,
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
