// End-to-end: mask editing with NiiVue's drawing layer. Paint a stroke, undo restores the mask
// exactly, paint again, save: the saved file is on the input's grid with MeshSeg's header
// rules (intent LABEL, empty descrip), and exactly the painted voxels differ from the original
// download. Needs `python3 build.py` first. Run: node --test tests/e2e/edit.test.mjs

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import config from '../../playwright.config.js';
import {
  download, expectAffineClose, expectState, launchBrowser, niftiGeometry, readStatsTable, startServer, waitForState,
  openAppPage,
} from './helpers.mjs';

const MODEL = 'model5_gw_ae';
const EXAMPLE = path.join(config.sharedData, 't1_crop.nii.gz');
const { timeouts } = config;

let server;
let browser;
let page;
const pageErrors = [];

/** Voxels that differ between two label files, the header fields MeshSeg sets, label counts. */
function pythonDiff(original, edited) {
  const script = `
import json, sys, numpy as np, nibabel as nib
a, b = nib.load(sys.argv[1]), nib.load(sys.argv[2])
x, y = np.asarray(a.dataobj), np.asarray(b.dataobj)
h = b.header
print(json.dumps({"changed": int((x != y).sum()), "intent": int(h["intent_code"]),
  "descrip": h["descrip"].tobytes().rstrip(b"\\0").decode(), "dtype": str(h.get_data_dtype()),
  "counts": {int(v): int((y == v).sum()) for v in np.unique(y)}}))`;
  const done = spawnSync('python3', ['-c', script, original, edited], { encoding: 'utf-8' });
  if (done.status !== 0) throw new Error(`python failed:\n${done.stderr}`);
  return JSON.parse(done.stdout);
}

/** Run in the page with the app, its viewer's Niivue and js/ui/voxel-order.js. The call is
 * an expression Playwright evaluates itself: the site's CSP runs no `new Function` in the page. */
async function inPage(fn, arg) {
  await page.evaluate(async () => {
    window.meshsegVoxelOrder ??= await import(new URL('js/ui/voxel-order.js', document.baseURI).href);
  });
  return page.evaluate(`(async () => {
    const app = document.querySelector('meshseg-app').app;
    return (${fn.toString()})(app, app.parts.viewer.nv, window.meshsegVoxelOrder, ${JSON.stringify(arg ?? null)});
  })()`);
}

async function stroke(from, to) {
  // Mouse events only reach what is inside the viewport (the downloads scrolled the page).
  await page.locator('#viewer-canvas').scrollIntoViewIfNeeded();
  const box = await page.locator('#viewer-canvas').boundingBox();
  const at = ([fx, fy]) => [box.x + box.width * fx, box.y + box.height * fy];
  await page.mouse.move(...at(from));
  await page.mouse.down();
  for (let i = 1; i <= 12; i++) {
    const f = i / 12;
    await page.mouse.move(...at([from[0] + (to[0] - from[0]) * f, from[1] + (to[1] - from[1]) * f]));
  }
  await page.mouse.up();
  await page.waitForTimeout(200);
}

const paintedSinceStart = () => inPage((app, nv, order) => order.countDifferences(window.meshsegInitialDrawing, nv.drawBitmap));

/** The painted count once it has stopped changing (software WebGL handles input slowly). */
async function settledPainted(timeout = 30_000) {
  const until = Date.now() + timeout;
  let last = await paintedSinceStart();
  for (;;) {
    await page.waitForTimeout(1000);
    const now = await paintedSinceStart();
    if ((now === last && now > 0) || Date.now() > until) return now;
    last = now;
  }
}

before(async () => {
  fs.mkdirSync(config.artifactDir, { recursive: true });
  server = await startServer();
  browser = await launchBrowser();
  page = await openAppPage(browser.context, `${server.origin}/`, pageErrors);
}, { timeout: timeouts.runtime + timeouts.serverStart + 30_000 });

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('paint, undo exactly, paint, save: the edited mask is on the input grid and differs by the painted voxels', { timeout: timeouts.test }, async () => {
  await page.getByTestId('model-select').selectOption(MODEL);
  await page.getByTestId('example').click();
  await waitForState(page, ['idle', 'error'], timeouts.action);
  await page.waitForSelector('[data-testid="run"]:not([disabled])');
  await page.getByTestId('run').click();
  expectState(await waitForState(page, ['done', 'error'], timeouts.run), 'done');
  const original = await download(page, 'download-mask', 'edit-original');
  const statsBefore = await readStatsTable(page);

  // Software WebGL (SwiftShader) re-uploads the volumes in seconds here; a GPU takes milliseconds.
  await page.getByTestId('edit-toggle').click({ timeout: timeouts.run });
  await page.getByTestId('edit-pen').waitFor({ state: 'visible', timeout: timeouts.run });
  // The drawing starts as the result's labels, in NiiVue's RAS order (our conversion = NiiVue's img2RAS).
  const start = await inPage((app, nv, order) => {
    const result = app.state.results.get(app.state.current);
    const native = order.niftiVoxels(result.labelsNifti);
    const layout = order.rasLayout(nv.volumes[0]);
    window.meshsegInitialDrawing = nv.drawBitmap.slice();
    nv.setSliceType(nv.sliceTypeAxial);
    return {
      vsNiivue: order.countDifferences(nv.drawBitmap, nv.volumes[1].img2RAS()),
      vsNative: order.countDifferences(order.rasToNative(nv.drawBitmap, layout), native),
      permRAS: Array.from(nv.volumes[0].permRAS),
    };
  });
  assert.deepEqual([start.vsNiivue, start.vsNative], [0, 0], `the drawing does not start as the mask: ${JSON.stringify(start)}`);

  await page.getByTestId('edit-size').fill('3');
  await page.getByTestId('edit-label').selectOption('2');
  await page.getByTestId('edit-pen').click();
  await stroke([0.35, 0.5], [0.65, 0.5]);
  const painted1 = await settledPainted();
  const state = await page.evaluate(() => {
    const nv = document.querySelector('meshseg-app').app.parts.viewer.nv;
    const r = document.querySelector('#viewer-canvas').getBoundingClientRect();
    const hit = document.elementFromPoint(r.x + r.width * 0.5, r.y + r.height * 0.5);
    return { hit: hit?.id || hit?.className || hit?.tagName, drawing: nv.opts.drawingEnabled, pen: nv.opts.penValue,
      size: nv.opts.penSize, slice: nv.opts.sliceType, same: nv.drawBitmap === window.meshsegInitialDrawing };
  });
  assert.ok(painted1 > 0, `the stroke painted nothing (${JSON.stringify(state)})`);
  assert.equal(await page.getByTestId('edit-undo').isEnabled(), true);

  await page.getByTestId('edit-undo').click();
  const undone = await inPage((app, nv, order) => ({
    vsStart: order.countDifferences(window.meshsegInitialDrawing, nv.drawBitmap),
    vsResult: order.countDifferences(app.parts.editor.labels(), order.niftiVoxels(app.state.results.get(app.state.current).labelsNifti)),
  }));
  assert.deepEqual(undone, { vsStart: 0, vsResult: 0 }, 'undo did not restore the mask exactly');
  assert.equal(await page.getByTestId('edit-undo').isEnabled(), false, 'undo is still enabled at the original mask');

  await page.getByTestId('edit-eraser').click();
  await stroke([0.5, 0.35], [0.5, 0.65]);
  await page.getByTestId('edit-pen').click();
  await stroke([0.4, 0.45], [0.6, 0.55]);
  const painted2 = await settledPainted();
  assert.ok(painted2 > 0, 'the second strokes changed nothing');

  await page.getByTestId('edit-save').click();
  await page.getByTestId('download-edited').waitFor({ state: 'visible', timeout: timeouts.run });
  expectState(await waitForState(page, ['done', 'error'], timeouts.action), 'done');
  const edited = await download(page, 'download-edited', 'edit');
  assert.match(path.basename(edited), /_labels_edited\.nii\.gz$/);
  assert.match(await page.getByTestId('download-edited').textContent(), /edited/);

  const got = niftiGeometry(edited);
  const want = niftiGeometry(EXAMPLE);
  assert.deepEqual(got.shape, want.shape);
  expectAffineClose(got.affine, want.affine);
  const diff = pythonDiff(original, edited);
  assert.equal(diff.intent, 1002, 'the edited mask is not intent LABEL');
  assert.equal(diff.descrip, '', 'the edited mask has a descrip');
  assert.equal(diff.changed, painted2, `${diff.changed} voxels differ in the files, ${painted2} were painted`);
  process.stdout.write(`# stroke 1 painted ${painted1} voxels (undone); strokes 2+3 changed ${painted2}; files differ in ${diff.changed} (permRAS ${start.permRAS})\n`);

  // The volumes shown are those of the edited mask (recomputed by measure), the result unchanged.
  const statsAfter = await readStatsTable(page);
  for (const row of statsAfter) {
    assert.equal(row.voxels, diff.counts[row.label] ?? 0, `label ${row.label}: ${row.voxels} voxels shown, ${diff.counts[row.label]} in the file`);
  }
  assert.notDeepEqual(statsAfter, statsBefore, 'the volumes did not change after saving edits');
  const unchanged = await inPage((app, nv, order) => order.countDifferences(
    order.niftiVoxels(app.state.results.get(app.state.current).labelsNifti), window.meshsegInitialDrawing.length ? order.rasToNative(window.meshsegInitialDrawing, order.rasLayout(nv.volumes[0])) : []));
  assert.equal(unchanged, 0, 'saving changed the original result');
  await page.screenshot({ path: path.join(config.artifactDir, 'edit.png'), fullPage: true });
});

test('the page threw nothing', () => {
  assert.deepEqual(pageErrors, []);
});
