// End-to-end: the built page (dist/) in Chromium, served by meshseg.serve, one browser page shared
// by all tests (the runtime starts once). Needs `python3 build.py` first. Run: node --test tests/e2e/

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import config from '../../playwright.config.js';
import {
  download, expectAffineClose, expectState, foreignUrls, launchBrowser, niftiGeometry,
  readStatsTable, readStatus, recordRequests, startServer, waitForState,
} from './helpers.mjs';

const MODEL = 'model5_gw_ae';
const EXAMPLE = path.join(config.sharedData, 't1_crop.nii.gz');
const PSR = path.join(config.sharedData, 'nifti_space', 'PSR.nii.gz');
const COMPLEX = path.join(config.sharedData, 'complex_image.nii.gz');
const { timeouts } = config;

let server;
let browser;
let page;
let requests;
const pageErrors = [];

/** Choose a file; the worker checks it first: resolves with the status that follows. */
async function chooseFile(file) {
  await page.locator('#file-name').evaluate((element) => { element.textContent = ''; });
  await page.getByTestId('file-input').setInputFiles(file);
  // The name shows once the file is read, when the worker's check has begun (status loading).
  await page.waitForFunction((wanted) => document.querySelector('#file-name').textContent === wanted
    && document.querySelector('[data-testid="status"]').dataset.state !== 'loading',
  path.basename(file), { timeout: timeouts.action, polling: 100 });
  return readStatus(page);
}

async function runTo(states) {
  await page.getByTestId('run').click();
  return waitForState(page, states, timeouts.run);
}

function logStageTimings(label, text) {
  process.stdout.write(`# ${label}: ${text}\n`);
}

before(async () => {
  fs.mkdirSync(config.artifactDir, { recursive: true });
  server = await startServer();
  browser = await launchBrowser();
  page = await browser.context.newPage();
  requests = recordRequests(browser.context, page);
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') {
      process.stdout.write(`# console error: ${message.text()}\n`);
    }
  });
  await page.goto(`${server.origin}/`);
  const seen = await waitForState(page, ['idle', 'error'], timeouts.runtime);
  expectState(seen, 'idle');
  await page.getByTestId('model-select').selectOption(MODEL);
}, { timeout: timeouts.runtime + timeouts.serverStart + 30_000 });

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('the page lists the built models, shows versions, and its drop zone works from the keyboard', { timeout: timeouts.test }, async () => {
  const index = JSON.parse(fs.readFileSync(path.join(config.dist, 'models', 'index.json'), 'utf-8'));
  const options = await page.getByTestId('model-select').locator('option').evaluateAll((els) => els.map((el) => el.value));
  assert.deepEqual(options, index.models.map((card) => card.id));
  const selected = index.models.find((card) => card.id === MODEL);
  assert.match(await page.locator('#model-card').textContent(), new RegExp(`Labels${selected.classes.length}Parameters`));

  await page.locator('[data-testid="about"] summary').click();
  const about = await page.getByTestId('about').textContent();
  for (const text of ['Pyodide', 'nibabel', 'onnxruntime-web', 'NiiVue', 'Inference backend', 'Nothing is uploaded']) {
    assert.ok(about.includes(text), `About panel lacks "${text}"`);
  }
  for (const card of index.models) {
    const sha256 = card.runtime?.onnx?.sha256 ?? card.onnx.sha256; // card v2 or v1
    assert.ok(about.includes(sha256), `About panel lacks the sha256 of ${card.id}`);
  }
  await page.locator('[data-testid="about"] summary').click();

  const chooser = page.waitForEvent('filechooser');
  await page.locator('#drop-zone').focus();
  await page.keyboard.press('Enter');
  await chooser;
});

test('the example scan segments to a plausible brain volume and a mask on its grid', { timeout: timeouts.test }, async () => {
  await page.getByTestId('example').click();
  await page.waitForSelector('[data-testid="run"]:not([disabled])');
  expectState(await runTo(['done', 'error']), 'done');

  // The quality score beside the status (docs/quality.md): the clean example is not flagged.
  const badge = page.getByTestId('quality');
  assert.equal(await badge.isVisible(), true, 'no quality badge after a labels result');
  const badgeText = await badge.textContent();
  assert.equal(await badge.getAttribute('data-flagged'), 'false', `the example scan is flagged: ${badgeText}`);
  assert.match(badgeText, /Quality \d\.\d\d — looks good/);
  assert.equal(await page.locator('[data-testid="quality-details"] [data-testid="quality-metrics"] tbody tr').count(), 5,
    'the quality details do not list the five image metrics');
  assert.equal(await page.getByTestId('tta').isChecked(), false, 'test-time augmentation is on by default');

  const rows = await readStatsTable(page);
  const brain = rows.filter((row) => row.label !== 0).reduce((sum, row) => sum + row.ml, 0);
  assert.ok(brain > 1000 && brain < 1800, `brain volume ${brain} mL outside 1000..1800 (rows ${JSON.stringify(rows)})`);

  const csv = fs.readFileSync(await download(page, 'download-csv', 'example'), 'utf-8').trim().split('\n');
  assert.equal(csv[0], 'label,name,voxels,ml');
  assert.equal(csv.length - 1, rows.length, `CSV has ${csv.length - 1} rows, the table ${rows.length}`);
  const json = JSON.parse(fs.readFileSync(await download(page, 'download-json', 'example'), 'utf-8'));
  assert.ok(JSON.stringify(json).includes(rows[0].name), 'the JSON download does not list the table\'s labels');

  const mask = await download(page, 'download-mask', 'example');
  const got = niftiGeometry(mask);
  const want = niftiGeometry(EXAMPLE);
  assert.deepEqual(got.shape, want.shape);
  expectAffineClose(got.affine, want.affine);

  logStageTimings('example stage timings', await page.locator('#run-summary').textContent());
  await page.screenshot({ path: path.join(config.artifactDir, 'meshseg-done.png'), fullPage: true });
});

test('two models that share the pre-model, on the loaded scan: the second reuses the load, the conform and the brain box', { timeout: timeouts.test }, async () => {
  // Through the page's own Segmenter and open scan (the JS API), so that only the worker works.
  const runs = await page.evaluate(async (models) => {
    const app = document.querySelector('meshseg-app');
    const out = [];
    for (const model of models) {
      const stages = [];
      const result = await app.segmenter.segment(app.app.state.scan, model, { onProgress: ({ stage }) => stages.push(stage) });
      out.push({ model, stages: [...new Set(stages)], reused: result.reused,
        ml: result.stats.reduce((sum, row) => sum + row.ml, 0), work: result.work.map((w) => w.model) });
    }
    return out;
  }, ['model30chan18cls', 'model21_104class']);
  const [first, second] = runs;
  assert.deepEqual(first.reused, ['load', 'conform'], JSON.stringify(first));
  assert.ok(first.stages.includes('premodel') && first.work.includes('model5_gw_ae'), `the first run did not find the brain: ${JSON.stringify(first)}`);
  assert.deepEqual(second.reused, ['load', 'conform', 'premodel'], JSON.stringify(second));
  assert.ok(!second.stages.includes('conform') && !second.stages.includes('premodel'), `the second run redid work: ${second.stages}`);
  assert.deepEqual(second.work, ['model21_104class'], 'the second run ran the pre-model again');
  assert.ok(second.ml > 1000 && second.ml < 1800, `the 104-class labels total ${second.ml} mL`);
  process.stdout.write(`# pre-model reuse: first run stages ${first.stages.join(',')}; second ${second.stages.join(',')}\n`);
});

test('unreadable files give an error naming the file when chosen, with no stale result, and the page stays usable', { timeout: timeouts.test }, async () => {
  const textFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'meshseg-e2e-')), 'not-a-scan.nii.gz');
  fs.writeFileSync(textFile, 'this is a text file, not a NIfTI image\n');
  assert.equal(await page.getByTestId('download-mask').isVisible(), true, 'the previous test left no result');
  for (const file of [COMPLEX, textFile]) {
    const seen = await chooseFile(file);
    expectState(seen, 'error');
    assert.ok(seen.text.includes(path.basename(file)), `error message does not name ${path.basename(file)}: "${seen.text}"`);
    assert.equal(seen.text.split(path.basename(file)).length - 1, 1, `the name is printed more than once: "${seen.text}"`);
    assert.equal(await page.getByTestId('stats').isVisible(), false, 'a stats table is shown after an error');
    assert.equal(await page.getByTestId('quality').isVisible(), false, 'a quality badge is shown after an error');
    assert.equal(await page.getByTestId('download-mask').isVisible(), false, 'a download of the previous scan is still offered');
    assert.equal(await page.getByTestId('run').isEnabled(), false, 'Run is enabled for a refused file');
  }
});

test('a non-1 mm, non-LIA scan (PSR) gives a mask on the input grid, after errors', { timeout: timeouts.test }, async () => {
  expectState(await chooseFile(PSR), 'idle');
  expectState(await runTo(['done', 'error']), 'done');
  const mask = await download(page, 'download-mask', 'psr');
  const got = niftiGeometry(mask);
  const want = niftiGeometry(PSR);
  assert.deepEqual(got.shape, want.shape);
  expectAffineClose(got.affine, want.affine);
  logStageTimings('PSR stage timings', await page.locator('#run-summary').textContent());
});

test('cancel during a run stops it between steps without restarting the worker, and the next run works', { timeout: timeouts.test }, async () => {
  expectState(await chooseFile(PSR), 'idle');
  const workersBefore = requests.filter((url) => url.endsWith('/js/worker/worker.js')).length;
  await page.getByTestId('run').click();
  // Cancel while Python is busy on the scan: the cancel takes effect at the next step.
  await page.waitForFunction(
    () => document.querySelector('#stages li.current')?.dataset.stage === 'conform'
      || document.querySelector('[data-testid="status"]').dataset.state !== 'running',
    null, { timeout: timeouts.run, polling: 20 },
  );
  expectState(await readStatus(page), 'running');
  await page.getByTestId('cancel').click();
  const cancelled = await waitForState(page, ['idle', 'error'], timeouts.action);
  assert.ok(cancelled.state === 'idle' || /cancel/i.test(cancelled.text), `unexpected state after cancel: ${JSON.stringify(cancelled)}`);
  assert.equal(await page.getByTestId('run').isEnabled(), true, 'Run is not enabled after cancel');
  assert.equal(await page.getByTestId('cancel').isEnabled(), false, 'Cancel is still enabled after cancel');

  const workersAfter = requests.filter((url) => url.endsWith('/js/worker/worker.js')).length;
  assert.equal(workersAfter, workersBefore, 'the cancel restarted the worker instead of stopping the run');
  expectState(await runTo(['done', 'error']), 'done');
  assert.ok((await readStatsTable(page)).length > 1, 'no stats rows after the run that followed a cancel');
});

test('cancel during the model run ends only the inference engine: the scan stays open and the next run reuses it', { timeout: timeouts.test }, async () => {
  const workersBefore = requests.filter((url) => url.endsWith('/js/worker/worker.js')).length;
  await page.getByTestId('run').click();
  await page.waitForFunction(
    () => document.querySelector('#stages li.current')?.dataset.stage === 'inference'
      || document.querySelector('[data-testid="status"]').dataset.state !== 'running',
    null, { timeout: timeouts.run, polling: 20 },
  );
  expectState(await readStatus(page), 'running');
  const clicked = Date.now();
  await page.getByTestId('cancel').click();
  const cancelled = await waitForState(page, ['idle', 'error'], timeouts.action);
  assert.ok(cancelled.state === 'idle' || /cancel/i.test(cancelled.text), `unexpected state after cancel: ${JSON.stringify(cancelled)}`);
  console.log(`cancel during the model run: page idle ${((Date.now() - clicked) / 1000).toFixed(2)} s after the click`);
  const workersAfter = requests.filter((url) => url.endsWith('/js/worker/worker.js')).length;
  assert.equal(workersAfter, workersBefore, 'the cancel restarted the MeshSeg worker (its scans are lost)');

  await page.evaluate(() => {
    const { state } = document.querySelector('meshseg-app').app;
    window.resultBefore = state.results.get(state.current);
  });
  expectState(await runTo(['done', 'error']), 'done');
  const { fresh, reused } = await page.evaluate(() => {
    const { state } = document.querySelector('meshseg-app').app;
    const after = state.results.get(state.current);
    return { fresh: after !== window.resultBefore, reused: after.reused };
  });
  assert.ok(fresh, 'no new result after the run that followed the cancel');
  assert.deepEqual(reused.slice(0, 2), ['load', 'conform'], `the run after the cancel did not reuse the open scan: ${reused}`);
});

test('no request leaves the test server and the page throws nothing', () => {
  // The worker's own fetches (Pyodide, wheels, ONNX Runtime, the model) must be among those recorded.
  for (const part of ['/js/worker/worker.js', '/pyodide/', '/wheels/', '/ort/', `/models/${MODEL}/`]) {
    assert.ok(requests.some((url) => url.includes(part)), `no recorded request for ${part}: worker requests are not being seen`);
  }
  assert.deepEqual(foreignUrls(requests, server.origin), []);
  assert.deepEqual(pageErrors, []);
});
