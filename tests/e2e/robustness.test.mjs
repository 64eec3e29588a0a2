// Nothing frozen, nothing silently wrong, in the page: a header claiming 1024^3 voxels is
// refused by name without freezing the page; file names render as text; a 512x512x256 int16
// scan reaches the viewer whole (its strided copy, every voxel) and segments without a
// freeze; a crashed worker
// (WASM trap, uncaught error) is reported and recovered from; the awkward-input corpus
// (tests/corpus.py) gives a result or its named error, and the page stays usable.
// Time is asserted only where it catches a real fault, a freeze of seconds (FREEZE_MS), with
// a wide margin for this shared 2-core machine. The 0.5 s goal for the longest main-thread
// task is the benchmark's: `node bench/browser.mjs --big-scan` prints it.
// Needs `python3 build.py`. Run: node --test tests/e2e/robustness.test.mjs

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import config from '../../playwright.config.js';
import { expectState, launchBrowser, readStatsTable, readStatus, startServer, waitForState } from './helpers.mjs';

const MODEL = 'model5_gw_ae';
// The scan the crash test and the "page stays usable" checks run: the shared 2.4 mm head
// (79x67x64, PSR). The model runs on the conformed 256^3 grid as for any scan, while the
// viewer (software WebGL here) draws a small volume instead of the example's 256^3.
const SCAN = path.join(config.sharedData, 'nifti_space', 'PSR.nii.gz');
const FLAIR = path.join(config.sharedData, 'FLAIR.nrrd');
// A main-thread task this long is a frozen page (the goal, 0.5 s, is measured in the benchmark).
const FREEZE_MS = 5000;
const { timeouts } = config;

let server; let browser; let page; let files; let folder;
const dialogs = [];
const pageErrors = [];

// Runs before the page's scripts: every main-thread task over 50 ms, as the browser reports it.
function observeLongTasks() {
  window.longTasks = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) window.longTasks.push({ start: entry.startTime, ms: entry.duration });
  }).observe({ type: 'longtask', buffered: true });
}

async function longestTaskSince(mark) {
  return page.evaluate((since) => Math.max(0, ...window.longTasks.filter((t) => t.start >= since).map((t) => t.ms)), mark);
}

const now = () => page.evaluate(() => performance.now());

/** Choose a file (a path, or {name, buffer}); resolves with the status once the worker judged it. */
async function choose(file) {
  const input = typeof file === 'string' ? file : { name: file.name, mimeType: 'application/octet-stream', buffer: file.buffer };
  const name = typeof file === 'string' ? path.basename(file) : file.name;
  await page.locator('#file-name').evaluate((element) => { element.textContent = ''; });
  await page.getByTestId('file-input').setInputFiles(input);
  // The name shows once the file is read, when the worker's check has begun (status loading).
  await page.waitForFunction((wanted) => document.querySelector('#file-name').textContent === wanted
    && document.querySelector('[data-testid="status"]').dataset.state !== 'loading',
  name, { timeout: timeouts.run, polling: 50 });
  return readStatus(page);
}

async function run() {
  await page.getByTestId('run').click();
  return waitForState(page, ['done', 'error'], timeouts.run);
}

const viewerVolumes = () => page.evaluate(() => document.querySelector('meshseg-app').app.parts.viewer.nv.volumes.length);

before(async () => {
  folder = fs.mkdtempSync(path.join(os.tmpdir(), 'meshseg-robust-'));
  const made = spawnSync('python3', [path.join(config.root, 'tests', 'page_corpus.py'), folder], { encoding: 'utf-8' });
  if (made.status !== 0) throw new Error(`tests/page_corpus.py failed:\n${made.stderr}`);
  files = JSON.parse(made.stdout);
  server = await startServer();
  browser = await launchBrowser();
  page = await browser.context.newPage();
  await page.addInitScript(observeLongTasks);
  page.on('dialog', (dialog) => { dialogs.push(dialog.message()); dialog.dismiss(); });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(`${server.origin}/?debug=1&provider=wasm&model=${MODEL}`);
  expectState(await waitForState(page, ['idle', 'error'], timeouts.runtime), 'idle');
}, { timeout: timeouts.runtime + timeouts.serverStart + 120_000 });

after(async () => {
  await browser?.close();
  await server?.stop();
  fs.rmSync(folder, { recursive: true, force: true });
});

test('a 57-byte file claiming 1024^3 voxels is refused by name without reading it and without freezing the page', { timeout: timeouts.test }, async () => {
  const name = path.basename(files.hugeHeader);
  assert.ok(fs.statSync(files.hugeHeader).size <= 100);
  const mark = await now();
  const started = Date.now();
  const seen = await choose(files.hugeHeader);
  const seconds = (Date.now() - started) / 1000;
  expectState(seen, 'error');
  assert.ok(seen.text.startsWith(`${name}: `), seen.text);
  assert.ok(seconds < 20, `the refusal took ${seconds} s: the file's 1024^3 voxels were read or allocated`);
  const longest = await longestTaskSince(mark);
  process.stdout.write(`# 1024^3 header: refused in ${seconds.toFixed(2)} s, longest main-thread task ${longest.toFixed(0)} ms\n`);
  assert.ok(longest <= FREEZE_MS, `the page froze for ${longest} ms`);
  assert.equal(await viewerVolumes(), 0, 'the viewer holds a refused volume');
});

test('file names are shown as text, never as markup', { timeout: timeouts.test }, async () => {
  const name = '<img src=x onerror=alert(1)>.nii.gz';
  const seen = await choose({ name, buffer: fs.readFileSync(files.hugeHeader) });
  expectState(seen, 'error');
  assert.ok(seen.text.includes(name), `the name is not shown literally: "${seen.text}"`);
  assert.equal(await page.locator('meshseg-app img').count(), 0, 'the name became an element');
  assert.equal(await page.locator('#file-name').textContent(), name);
  assert.deepEqual(dialogs, []);
});

test('a 512x512x256 int16 scan reaches the viewer whole and segments without freezing the page', { timeout: timeouts.test }, async () => {
  const mark = await now();
  expectState(await choose(files.bigScan), 'idle');
  await page.waitForFunction(() => document.querySelector('meshseg-app').app.parts.viewer.nv.volumes.length === 1,
    null, { timeout: timeouts.run });
  const loading = await longestTaskSince(mark);
  // The viewer got the worker's strided copy of the scan, every voxel of it: its shape, and
  // the sum of its voxels against the copy's (tests/page_corpus.py, viewer_expectation).
  const shown = await page.evaluate(() => {
    const [volume] = document.querySelector('meshseg-app').app.parts.viewer.nv.volumes;
    let sum = 0;
    for (const value of volume.img) sum += value;
    return { dims: Array.from(volume.hdr.dims).slice(1, 4), sum, length: volume.img.length };
  });
  const expected = files.bigScanViewer;
  assert.deepEqual(shown.dims, expected.dims);
  assert.equal(shown.length, expected.dims.reduce((a, b) => a * b, 1));
  assert.equal(shown.sum, expected.sum, 'the viewer holds other values than the worker sent');
  expectState(await run(), 'done');
  const total = (await readStatsTable(page)).reduce((sum, row) => sum + row.ml, 0);
  await page.waitForFunction(() => document.querySelector('meshseg-app').app.parts.viewer.nv.volumes.length === 2,
    null, { timeout: timeouts.run });
  const whole = await longestTaskSince(mark);
  process.stdout.write(`# 512x512x256 int16: longest task ${loading.toFixed(0)} ms until shown, ${whole.toFixed(0)} ms until the labels are shown; ${total.toFixed(1)} mL\n`);
  assert.ok(loading <= FREEZE_MS, `loading the scan into the viewer froze the page for ${loading} ms`);
  assert.ok(whole <= FREEZE_MS, `showing the result froze the page for ${whole} ms`);
  assert.ok(total > 100, `only ${total} mL labelled`);
});

test('a worker that crashes (a WASM trap, an uncaught error) is reported in plain words and the next run works', { timeout: timeouts.test }, async () => {
  expectState(await choose(SCAN), 'idle');
  await page.getByTestId('run').click();
  await page.waitForFunction(() => document.querySelector('#stages li.current')?.dataset.stage === 'inference', null, { timeout: timeouts.run, polling: 50 });
  const crashed = await page.evaluate(() => document.querySelector('meshseg-app').segmenter.debugCrash('trap').then(() => 'no crash', (error) => error.kind));
  assert.equal(crashed, 'crashed');
  const reported = await waitForState(page, ['error', 'done'], timeouts.action);
  expectState(reported, 'error');
  assert.match(reported.text, /stopped unexpectedly.*run again/i);
  expectState(await run(), 'done');
  const first = await readStatsTable(page);

  await page.evaluate(() => document.querySelector('meshseg-app').segmenter.debugCrash('throw').catch(() => {}));
  await page.waitForTimeout(1000);
  expectState(await run(), 'done');
  assert.deepEqual(await readStatsTable(page), first, 'the run after the second crash differs');
  assert.ok(first.reduce((sum, row) => sum + row.ml, 0) > 1000);
});

test('every corpus file gives a result or its named error, and the page stays usable', { timeout: timeouts.test * 2 }, async () => {
  const sample = new Set(['head_uint8.mgz', 'head_4d.nii.gz', 'head_nifti2.nii', 'bright_spot_only.nii.gz', 'brain_cut_by_slab.nii.gz', 'bright_everywhere.nii.gz']);
  const outcomes = [];
  for (const item of files.cases) {
    const file = path.join(files.corpus, item.file);
    const name = path.basename(file);
    let seen = await choose(file);
    let when = 'open';
    if (seen.state === 'idle' && (item.outcome === 'error' || sample.has(name))) {
      seen = await run();
      when = 'run';
    }
    const warnings = await page.getByTestId('warnings').isVisible() ? await page.getByTestId('warnings').textContent() : '';
    const flagged = when === 'run' && seen.state === 'done' ? await page.getByTestId('quality').getAttribute('data-flagged') : null;
    outcomes.push(`${name}: ${item.outcome} -> ${seen.state} at ${when}${warnings ? ' (warning banner)' : ''}${flagged ? ` (quality flagged: ${flagged})` : ''}`);
    // a result whose volume is implausible is flagged too (docs/quality.md: capped at 0.5)
    if (/nearly empty|Most of the image is labelled/.test(item.fragment) && when === 'run') {
      assert.equal(flagged, 'true', `${name}: an implausible result is not flagged`);
    }
    if (item.outcome === 'error') {
      expectState(seen, 'error');
      assert.ok(seen.text.includes(item.fragment), `${name}: "${seen.text}" lacks "${item.fragment}"`);
      assert.ok(seen.text.includes(name), `${name}: the error does not name the file: "${seen.text}"`);
    } else {
      assert.notEqual(seen.state, 'error', `${name} (${item.outcome}): ${seen.text}`);
    }
  }
  process.stdout.write(`# page outcomes:\n${outcomes.map((line) => `#   ${line}`).join('\n')}\n`);
  // the page is still usable, here with test-time augmentation: two model runs, one result
  expectState(await choose(SCAN), 'idle');
  await page.getByTestId('tta').check();
  expectState(await run(), 'done');
  await page.getByTestId('tta').uncheck();
  const badge = page.getByTestId('quality');
  assert.ok(await badge.isVisible(), 'no quality badge after a TTA run');
  assert.match(await badge.textContent(), /^.{0,2}Quality [01]\.\d\d/);
  assert.match(await page.getByTestId('quality-overview').textContent(), /Test-time augmentation: on/);
  // The issue's first case: a real FLAIR given to the T1 model runs, and is flagged for its contrast.
  expectState(await choose(FLAIR), 'idle');
  expectState(await run(), 'done');
  assert.equal(await badge.getAttribute('data-flagged'), 'true', `FLAIR.nrrd with a T1 model is not flagged: ${await badge.textContent()}`);
  assert.match(await badge.textContent(), /check this result/);
  assert.match(await page.getByTestId('quality-reasons').textContent(), /looks like FLAIR\/T2/);
  assert.match(await page.getByTestId('quality-contrast').textContent(), /does not match/);
  assert.deepEqual(dialogs, []);
  assert.deepEqual(pageErrors, []);
});

test('seeded fuzzed NIfTI-1/NIfTI-2/MGH headers in the page\'s worker: each a scan or a named input error', { timeout: timeouts.test }, async () => {
  // The same generator as tests/test_header_fuzz.py (tests/header_fuzz.py), other seeds.
  const fuzzed = path.join(folder, 'fuzzed');
  const script = 'import sys; sys.path.insert(0, sys.argv[1]); import json, header_fuzz; '
    + 'print(json.dumps(header_fuzz.write_cases(sys.argv[2], 80, start_offset=50_000)))';
  const made = spawnSync('python3', ['-c', script, path.join(config.root, 'tests'), fuzzed], { encoding: 'utf-8' });
  if (made.status !== 0) throw new Error(`header_fuzz.write_cases failed:\n${made.stderr}`);
  const cases = JSON.parse(made.stdout).map((entry) => ({ ...entry, bytes: Array.from(fs.readFileSync(path.join(fuzzed, entry.name))) }));
  const outcomes = await page.evaluate(async (list) => {
    const { segmenter } = document.querySelector('meshseg-app');
    const seen = [];
    for (const { name, bytes, family, seed } of list) {
      try {
        const scan = await segmenter.open(new Uint8Array(bytes).buffer, name);
        await segmenter.close(scan);
        seen.push({ name, family, seed, outcome: 'scan' });
      } catch (error) {
        seen.push({ name, family, seed, outcome: error.kind, message: error.message });
      }
    }
    return seen;
  }, cases);
  const wrong = outcomes.filter((o) => o.outcome !== 'scan' && !(o.outcome === 'input' && o.message.startsWith(`${o.name}: `)));
  assert.deepEqual(wrong, [], `not a scan nor a named input error:\n${wrong.map((o) => `${o.family} seed ${o.seed}: ${o.outcome}: ${o.message}`).join('\n')}`);
  const scans = outcomes.filter((o) => o.outcome === 'scan').length;
  process.stdout.write(`# fuzzed headers in the page: ${outcomes.length} cases, ${scans} scans, ${outcomes.length - scans} named errors\n`);
  assert.ok(scans < outcomes.length, 'no fuzzed case was refused: the generator is broken');
  expectState(await choose(SCAN), 'idle'); // the page is still usable
});
