// End-to-end: probability outputs on the page. A small two-class third-party model (built with
// onnx.helper, tests/own_models.py) gives a foreground probability: the threshold slider
// re-measures the stats table without a model run; a confidence model shows the uncertainty
// toggle and the low-confidence share; the probability downloads on the input's grid.
// Needs `python3 build.py` first. Run: node --test tests/e2e/probability.test.mjs

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import config from '../../playwright.config.js';
import {
  download, expectState, launchBrowser, niftiGeometry, readStatsTable, readStatus, startServer,
  waitForState,
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
const inferences = [];

const choose = (testId, files) => setFilesAndWait(page, testId, files);

const addOwnModel = (files) => choose('own-model', files);

before(async () => {
  fs.mkdirSync(config.artifactDir, { recursive: true });
  models = writeOwnModels();
  server = await startServer();
  browser = await launchBrowser();
  page = await browser.context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (/Running byo_/.test(message.text())) inferences.push(message.text());
  });
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
