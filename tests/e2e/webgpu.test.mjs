// End-to-end: WebGPU proven on headless Chromium's software adapter (SwiftShader, switched
// on by --enable-unsafe-webgpu). The same seeded phantom (tests/webgpu_inputs.py) is
// segmented by the built page with ?provider=wasm and with ?provider=webgpu by
// model5_gw_ae (a 64^3 crop) and model18cls (18 classes, a 20^3 crop); the downloaded label
// masks must agree voxel by voxel, the volume tables exactly, and the confidence maps to
// within one uint8 step. The WebGPU run must really be WebGPU: the result's backend, every
// model run and the About panel say so, with no fallback reason, and no console error. As
// SwiftShader runs these networks tens to hundreds of times slower than WASM, the crops are
// small (bench/README.md has the figures). Without an adapter the tests skip, saying why.
// Needs `python3 build.py` first.
// Run: node --test --test-concurrency=1 tests/e2e/webgpu.test.mjs

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import config from '../../playwright.config.js';
import {
  download, expectState, labelCounts, launchBrowser, openAppPage, readStatsTable,
  setFilesAndWait, startServer, voxelDifference, waitForState,
} from './helpers.mjs';
import { probeAdapters } from './webgpu-probe.mjs';

const MODELS = ['model5_gw_ae', 'model18cls'];
const PROVIDERS = ['wasm', 'webgpu'];
const { timeouts } = config;

let server;
let browser;
let phantom;
let adapters;
let skipReason = null;
const runs = {}; // provider -> model -> what the page gave
const compared = {}; // model -> {labels, confidence} (voxelDifference of wasm vs webgpu)
const started = Date.now();

function log(text) {
  process.stdout.write(`# ${text}\n`);
}

/** Write the phantom with tests/webgpu_inputs.py; its path and design sizes. */
function makePhantom() {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'meshseg-webgpu-'));
  const script = path.join(config.root, 'tests', 'webgpu_inputs.py');
  const done = spawnSync('python3', [script, folder], { encoding: 'utf-8' });
  if (done.status !== 0) throw new Error(`tests/webgpu_inputs.py failed:\n${done.stderr}`);
  return { ...JSON.parse(done.stdout), folder };
}

/** The crop each model's card makes of the phantom: its block or cube, plus the padding. */
function expectedInputShape(modelId) {
  const index = JSON.parse(fs.readFileSync(path.join(config.dist, 'models', 'index.json'), 'utf-8'));
  const { crop } = index.models.find((card) => card.id === modelId).runtime;
  // Threshold crops keep the voxels above 0.2 of the maximum (the cube); the others keep
  // every voxel above the minimum (the block).
  const size = (crop.threshold ? phantom.cube : phantom.block) + 2 * crop.padding;
  return [size, size, size];
}

/**
 * Why the WebGPU tests cannot run here, or null: no adapter in the page. (An adapter in
 * the page but not in its workers is a failure of the first test, not a skip.)
 */
function missingAdapter(found) {
  if (!found.page.api) return 'this Chromium has no navigator.gpu';
  if (!found.page.adapter) {
    return `no WebGPU adapter with the switches ${config.webgpuArgs.join(' ') || '(none)'} added`;
  }
  return null;
}

before(async () => {
  fs.mkdirSync(config.artifactDir, { recursive: true });
  phantom = makePhantom();
  server = await startServer();
  browser = await launchBrowser({ args: config.webgpuArgs });
  const page = await browser.context.newPage();
  await page.goto(`${server.origin}/version.json`);
  adapters = await probeAdapters(page);
  await page.close();
  skipReason = missingAdapter(adapters);
}, { timeout: timeouts.serverStart + 60_000 });

after(async () => {
  await browser?.close();
  await server?.stop();
  if (phantom) fs.rmSync(phantom.folder, { recursive: true, force: true });
  log(`webgpu.test.mjs wall time ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

test('the software adapter is offered to the page, a module worker and a worker started by it', (t) => {
  log(`adapters: ${JSON.stringify(adapters)}`);
  if (skipReason) {
    t.skip(skipReason);
    return;
  }
  for (const where of ['worker', 'nestedWorker']) {
    assert.deepEqual(adapters[where].adapter && {
      vendor: adapters[where].adapter.vendor, architecture: adapters[where].adapter.architecture,
    }, { vendor: adapters.page.adapter.vendor, architecture: adapters.page.adapter.architecture },
    `the ${where} sees ${JSON.stringify(adapters[where])}, the page ${JSON.stringify(adapters.page)}`);
  }
});

/** The About panel's "Inference backend" entry. */
async function aboutBackend(page) {
  return page.getByTestId('about').locator('#about-list').evaluate((list) => {
    const term = [...list.querySelectorAll('dt')].find((dt) => dt.textContent === 'Inference backend');
    return term?.nextElementSibling?.textContent ?? null;
  });
}

test('provider=auto does not take the software adapter: WASM, and About says why', { timeout: timeouts.test }, async (t) => {
  if (skipReason) {
    t.skip(skipReason);
    return;
  }
  const errors = [];
  const page = await openAppPage(browser.context, `${server.origin}/`, errors);
  try {
    const about = await aboutBackend(page);
    log(`provider=auto on ${adapters.page.adapter.architecture}: About says "${about}"`);
    assert.match(about, /^WebAssembly \(CPU\).*\(the only WebGPU adapter is a software one \(swiftshader\), slower than WebAssembly\)$/);
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});

/** The small facts of the page's result for `model` (not its bytes). */
async function resultFacts(page, model) {
  return page.evaluate((id) => {
    const result = document.querySelector('meshseg-app').app.state.results.get(id);
    return { backend: result.backend, inference: result.inference, work: result.work };
  }, model);
}

/** Segment the phantom with `model` on an open page; what the page shows and downloads. */
async function segment(page, provider, model) {
  await page.getByTestId('model-select').selectOption(model);
  const clicked = Date.now();
  await page.getByTestId('run').click();
  expectState(await waitForState(page, ['done', 'error'], timeouts.run), 'done');
  const prefix = `webgpu-${provider}-${model}`;
  return {
    seconds: (Date.now() - clicked) / 1000,
    facts: await resultFacts(page, model),
    stats: await readStatsTable(page),
    about: await aboutBackend(page),
    mask: await download(page, 'download-mask', prefix),
    confidence: await download(page, 'download-probability', prefix),
  };
}

/** Open the page with ?provider=`provider`, load the phantom, run every model. */
async function runProvider(provider) {
  const errors = [];
  const page = await openAppPage(browser.context, `${server.origin}/?provider=${provider}`, errors);
  const consoleErrors = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  try {
    expectState(await setFilesAndWait(page, 'file-input', phantom.phantom), 'idle');
    const byModel = {};
    for (const model of MODELS) {
      byModel[model] = await segment(page, provider, model);
      const { seconds, facts } = byModel[model];
      log(`${provider} ${model}: ${seconds.toFixed(1)} s in the page; model runs `
        + `${JSON.stringify(facts.inference.map(({ provider: p, runMs }) => `${p} ${(runMs / 1000).toFixed(1)} s`))}`
        + `; input ${JSON.stringify(facts.work.map((work) => work.shape))}; About: ${byModel[model].about}`);
    }
    assert.deepEqual(errors, [], `page errors: ${errors.join('; ')}`);
    assert.deepEqual(consoleErrors, [], `console errors during the runs: ${consoleErrors.join('; ')}`);
    return byModel;
  } finally {
    await page.close();
  }
}

test('provider=wasm segments the phantom on the crops the cards make', { timeout: timeouts.test }, async (t) => {
  if (skipReason) {
    t.skip(skipReason);
    return;
  }
  runs.wasm = await runProvider('wasm');
  for (const model of MODELS) {
    const { facts, about } = runs.wasm[model];
    assert.equal(facts.backend.provider, 'wasm');
    assert.match(about, /^WebAssembly/);
    assert.deepEqual(facts.work.map((work) => work.shape), [expectedInputShape(model)], model);
  }
});

test('provider=webgpu runs every model on WebGPU (no fallback) and the About panel says WebGPU', { timeout: timeouts.test }, async (t) => {
  if (skipReason) {
    t.skip(skipReason);
    return;
  }
  runs.webgpu = await runProvider('webgpu');
  for (const model of MODELS) {
    const { facts, about } = runs.webgpu[model];
    assert.equal(facts.backend.provider, 'webgpu', `${model}: backend ${JSON.stringify(facts.backend)}`);
    assert.equal(facts.backend.fallbackReason, null, `${model}: fell back: ${facts.backend.fallbackReason}`);
    assert.deepEqual(facts.inference.map((run) => run.provider), ['webgpu'], model);
    assert.match(about, /^WebGPU/, `${model}: About says "${about}"`);
    assert.deepEqual(facts.work.map((work) => work.shape), [expectedInputShape(model)], model);
  }
});

/** mL per label from a stats table, as {label: mL}. */
function volumes(stats) {
  return Object.fromEntries(stats.map((row) => [row.label, row.ml]));
}

test('WebGPU labels equal WASM labels voxel by voxel; volumes equal; confidences within one uint8 step', { timeout: timeouts.test }, (t) => {
  if (skipReason) {
    t.skip(skipReason);
    return;
  }
  assert.ok(runs.wasm && runs.webgpu, 'the two runs above did not both finish');
  for (const model of MODELS) {
    const [wasm, webgpu] = PROVIDERS.map((provider) => runs[provider][model]);
    const labels = voxelDifference(wasm.mask, webgpu.mask);
    const confidence = voxelDifference(wasm.confidence, webgpu.confidence);
    compared[model] = { labels, confidence };
    log(`${model}: label voxels differing ${labels.differing} of ${labels.shapes[0].reduce((a, b) => a * b)}; `
      + `voxels per label wasm ${JSON.stringify(labelCounts(wasm.mask))} webgpu ${JSON.stringify(labelCounts(webgpu.mask))}`);
    log(`${model}: mL per label wasm ${JSON.stringify(volumes(wasm.stats))} webgpu ${JSON.stringify(volumes(webgpu.stats))}`);
    log(`${model}: confidence voxels differing ${confidence.differing}, largest difference ${confidence.maxAbs} `
      + `(wasm confidence ${confidence.range[0]}..${confidence.range[1]}, ${confidence.distinct} distinct values)`);
    assert.equal(labels.differing, 0, `${model}: ${labels.differing} label voxels differ`);
    assert.deepEqual(webgpu.stats, wasm.stats, `${model}: the volume tables differ`);
    // The confidence is stored as uint8 (steps of 1/255): a float difference far below a step
    // can still cross a rounding boundary, so one step is the finest test it allows.
    assert.ok(confidence.maxAbs <= 1 / 255 + 1e-6, `${model}: confidences differ by up to ${confidence.maxAbs}`);
  }
});

test('the comparison is not vacuous: model18cls labels several classes, model5 confidence varies', (t) => {
  if (skipReason) {
    t.skip(skipReason);
    return;
  }
  assert.ok(runs.wasm && compared.model5_gw_ae, 'the runs and the comparison above did not finish');
  const classes = Object.keys(labelCounts(runs.wasm.model18cls.mask)).filter((label) => label !== '0');
  assert.ok(classes.length >= 3, `model18cls labelled only classes ${classes.join(', ')} of the phantom`);
  // model5_gw_ae labels nothing on the phantom (see tests/webgpu_inputs.py): its confidence
  // map (its crop covers the whole phantom) must vary instead, or an all-zero WebGPU output
  // (onnxruntime issue 22974's failure mode) would pass as equal.
  const { distinct } = compared.model5_gw_ae.confidence;
  assert.ok(distinct >= 10, `model5_gw_ae's confidence holds only ${distinct} distinct values`);
});
