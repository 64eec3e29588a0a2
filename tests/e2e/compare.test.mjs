// End-to-end: the compare view. Two models on one scan (the second without re-loading it), a
// per-label table whose Dice and volumes equal a nibabel/numpy computation on the two
// downloaded masks, the three view modes, a reference label file, and a CSV download.
// Needs `python3 build.py` first. Run: node --test tests/e2e/compare.test.mjs

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import config from '../../playwright.config.js';
import { download, expectState, launchBrowser, openAppPage, startServer, waitForState,
} from './helpers.mjs';

const MODEL_A = 'model5_gw_ae';
const MODEL_B = 'model11_gw_ae';
const { timeouts } = config;

let server;
let browser;
let page;
const pageErrors = [];
const files = {};

const inApp = (fn, arg) => page.evaluate(fn, arg);

/** The compare table as rows of {name, a, b, diff, dice} (numbers; dice null for "–"). */
async function readCompareTable() {
  const rows = await page.getByTestId('compare-table').locator('tbody tr').evaluateAll((trs) => trs.map(
    (tr) => [...tr.cells].map((cell) => cell.textContent.trim()),
  ));
  const number = (text) => (text === '–' ? null : Number(text.replaceAll(',', '').replace('+', '')));
  return rows.map(([name, a, b, diff, dice]) => ({ name, a: number(a), b: number(b), diff: number(diff), dice: number(dice) }));
}

/** Dice and mL per label name of two label files (by nibabel/numpy), and "all labelled". */
function pythonComparison(fileA, fileB, classes) {
  const script = `
import json, sys, numpy as np, nibabel as nib
a_img, b_img = nib.load(sys.argv[1]), nib.load(sys.argv[2])
a, b = np.asarray(a_img.dataobj), np.asarray(b_img.dataobj)
ml = abs(np.linalg.det(a_img.affine[:3, :3])) / 1000
def row(x, y):
    n = int(x.sum() + y.sum())
    return {"a": float(x.sum() * ml), "b": float(y.sum() * ml),
            "dice": (2 * int((x & y).sum()) / n) if n else None}
out = {c["name"]: row(a == c["index"], b == c["index"]) for c in json.loads(sys.argv[3]) if c["index"] != 0}
out["all labelled"] = row(a > 0, b > 0)
print(json.dumps(out))`;
  const done = spawnSync('python3', ['-c', script, fileA, fileB, JSON.stringify(classes)], { encoding: 'utf-8' });
  if (done.status !== 0) throw new Error(`python comparison failed:\n${done.stderr}`);
  return JSON.parse(done.stdout);
}

function expectTableMatches(table, want, label) {
  for (const [name, expected] of Object.entries(want)) {
    const row = table.find((r) => r.name === name);
    assert.ok(row, `${label}: no table row for ${name} (rows ${JSON.stringify(table)})`);
    assert.ok(Math.abs(row.dice - Number(expected.dice.toFixed(4))) < 1e-9, `${label} ${name}: Dice ${row.dice} in the page, ${expected.dice} in Python`);
    assert.ok(Math.abs(row.a - expected.a) < 0.006 && Math.abs(row.b - expected.b) < 0.006,
      `${label} ${name}: mL ${row.a}/${row.b} in the page, ${expected.a}/${expected.b} in Python`);
  }
  process.stdout.write(`# ${label} Dice: ${table.map((r) => `${r.name}=${r.dice}`).join(', ')}\n`);
}

before(async () => {
  // Software WebGL (SwiftShader) takes seconds per volume upload here, so waits are long.
  fs.mkdirSync(config.artifactDir, { recursive: true });
  server = await startServer();
  browser = await launchBrowser();
  page = await openAppPage(browser.context, `${server.origin}/`, pageErrors);
  page.setDefaultTimeout(timeouts.run);
}, { timeout: timeouts.runtime + timeouts.serverStart + 30_000 });

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('a second model runs on the loaded scan without re-loading it, and the Dice table equals numpy\'s', { timeout: timeouts.test }, async () => {
  await page.getByTestId('model-select').selectOption(MODEL_A);
  await page.getByTestId('example').click();
  await waitForState(page, ['idle', 'error'], timeouts.action);
  await page.waitForSelector('[data-testid="run"]:not([disabled])');
  let started = Date.now();
  await page.getByTestId('run').click();
  expectState(await waitForState(page, ['done', 'error'], timeouts.run), 'done');
  process.stdout.write(`# A (${MODEL_A}) took ${((Date.now() - started) / 1000).toFixed(1)} s\n`);

  await page.getByTestId('compare-model').selectOption(MODEL_B);
  started = Date.now();
  await page.getByTestId('compare-run').click();
  await page.waitForFunction(() => !document.querySelector('[data-testid="compare-table"]').hidden
    || document.querySelector('[data-testid="status"]').dataset.state === 'error', null, { timeout: timeouts.run, polling: 250 });
  expectState(await waitForState(page, ['done', 'error'], timeouts.run), 'done');
  process.stdout.write(`# B (${MODEL_B}) + compare took ${((Date.now() - started) / 1000).toFixed(1)} s\n`);

  const reused = await inApp((id) => document.querySelector('meshseg-app').app.state.results.get(id).reused, MODEL_B);
  for (const stage of ['load', 'conform']) assert.ok(reused.includes(stage), `B's run did not reuse ${stage}: ${JSON.stringify(reused)}`);
  const timings = await inApp((id) => document.querySelector('meshseg-app').app.state.results.get(id).timings, MODEL_B);
  process.stdout.write(`# B reused ${JSON.stringify(reused)}; B timings ${JSON.stringify(timings)}\n`);

  files.a = await download(page, 'download-mask', 'compare-a');
  files.b = await download(page, 'download-compare-mask', 'compare-b');
  const csv = fs.readFileSync(await download(page, 'download-compare-csv', 'compare'), 'utf-8').trim().split('\n');
  const table = await readCompareTable();
  assert.equal(csv[0], 'name,label_a,label_b,ml_a,ml_b,diff_ml,dice');
  assert.equal(csv.length - 1, table.length, 'the CSV and the table have different numbers of rows');

  const classes = await inApp((id) => document.querySelector('meshseg-app').segmenter.models.find((c) => c.id === id).classes, MODEL_A);
  const want = pythonComparison(files.a, files.b, classes);
  expectTableMatches(table, want, `${MODEL_A} vs ${MODEL_B}`);
  assert.ok(want['all labelled'].dice > 0.8, `the two models hardly agree: ${JSON.stringify(want)}`);
});

test('side by side (crosshairs synced), overlay and difference views', { timeout: timeouts.test }, async () => {
  const volumes = () => inApp(() => {
    const app = document.querySelector('meshseg-app').app;
    return { a: app.parts.viewer.nv.volumes.length, b: app.parts.compareViewer.nvB?.volumes.length ?? 0 };
  });
  assert.equal(await page.getByTestId('compare-mode').inputValue(), 'side');
  assert.equal(await page.getByTestId('viewer-b').isVisible(), true, 'side by side does not show the second viewer');
  assert.deepEqual(await volumes(), { a: 2, b: 2 });

  // A click on the first viewer moves the second viewer's crosshair to the same world point.
  // The viewer is scrolled into view first: a click outside the viewport reaches nothing.
  await page.locator('#viewer-canvas').scrollIntoViewIfNeeded();
  const box = await page.locator('#viewer-canvas').boundingBox();
  // Both crosshairs in world mm, and whether the first moved from `start`.
  const crosshairs = (start) => {
    const { parts } = document.querySelector('meshseg-app').app;
    const [a, b] = [parts.viewer.nv, parts.compareViewer.nvB];
    const [mmA, mmB] = [a, b].map((nv) => Array.from(nv.frac2mm(nv.scene.crosshairPos)).slice(0, 3));
    return { mmA, mmB, moved: start !== null && mmA.some((v, i) => Math.abs(v - start[i]) > 1e-3),
      agree: mmA.every((v, i) => Math.abs(v - mmB[i]) < 1e-3) };
  };
  // The second viewer follows on the viewers' own schedule (software WebGL is slow here):
  // poll until it has, or until the action timeout, then check what was seen last.
  const before = await inApp(crosshairs, null);
  await page.mouse.click(box.x + box.width * 0.3, box.y + box.height * 0.3); // the coronal view
  let seen;
  for (const until = Date.now() + timeouts.action; ;) {
    seen = await inApp(crosshairs, before.mmA);
    if ((seen.moved && seen.agree) || Date.now() > until) break;
    await page.waitForTimeout(100);
  }
  const { mmA, mmB } = seen;
  assert.ok(seen.moved, `the click did not move the first crosshair (${mmA})`);
  assert.ok(mmA.every((v, i) => Math.abs(v - mmB[i]) < 1e-3), `crosshairs differ: A ${mmA}, B ${mmB}`);
  // Saved with the other test artefacts; docs/compare.png is a copy of it, refreshed by hand.
  await page.screenshot({ path: path.join(config.artifactDir, 'compare.png'), fullPage: true });

  await page.getByTestId('compare-mode').selectOption('overlay');
  await page.waitForFunction(() => document.querySelector('meshseg-app').app.parts.viewer.nv.volumes.length === 3, null, { timeout: timeouts.run });
  assert.equal(await page.getByTestId('viewer-b').isVisible(), false);

  await page.getByTestId('compare-mode').selectOption('difference');
  await page.waitForFunction(() => document.querySelector('meshseg-app').app.parts.viewer.nv.volumes.length === 2
    && !document.querySelector('[data-testid="difference-legend"]').hidden, null, { timeout: timeouts.run });
  const legend = await page.getByTestId('difference-legend').textContent();
  for (const word of ['agree', 'only A', 'only B']) assert.ok(legend.includes(word), `legend lacks ${word}: ${legend}`);
  await page.screenshot({ path: path.join(config.artifactDir, 'compare-difference.png'), fullPage: true });
});

test('a reference label file (B\'s mask) compares like the model it came from', { timeout: timeouts.test }, async () => {
  const before = await readCompareTable();
  await page.getByTestId('compare-reference').setInputFiles(files.b);
  await page.waitForFunction((name) => document.querySelector('#compare-caption').textContent.includes(name)
    || document.querySelector('[data-testid="status"]').dataset.state === 'error', path.basename(files.b), { timeout: timeouts.run });
  expectState(await waitForState(page, ['done', 'error'], timeouts.run), 'done');
  const table = await readCompareTable();
  const all = (rows) => rows.find((r) => r.name === 'all labelled').dice;
  assert.equal(all(table), all(before), `reference Dice ${all(table)} differs from the model's ${all(before)}`);
});

test('the page threw nothing', () => {
  assert.deepEqual(pageErrors, []);
});
