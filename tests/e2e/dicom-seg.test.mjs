// End-to-end: a DICOM series opened in the page (files dropped on the drop zone, or chosen
// together in the file input) is segmented, and its DICOM SEG download (data-testid
// download-dicom-seg) first shows the patient-data notice (dicom-seg-notice), then writes a
// SEG that highdicom reads back to the page's own label mask on every source frame (0 voxels
// differ), that references the series and passes dciodvfy; the mask has no patient field. A
// NIfTI scan has no SEG button; a page batch of the series puts the SEG in its ZIP.
// The shared 3-slice series is too thin to be segmented (a named error); the run uses an
// oblique synthetic series of the shared low-res head (tests/dicom_seg_helpers.py head).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import config from '../../playwright.config.js';
import { download, expectState, launchBrowser, openAppPage, setFilesAndWait, startServer, waitForState } from './helpers.mjs';

const MODEL = 'model5_gw_ae';
const { timeouts } = config;
const SHARED = ['1-001.dcm', '1-002.dcm', '1-003.dcm'].map((name) => path.join(config.sharedData, 'dicom', name));

function helper(...args) {
  const env = { ...process.env, PYTHONPATH: [path.join(config.root, 'py'), path.join(config.root, 'tests')].join(path.delimiter) };
  const done = spawnSync('python3', [path.join(config.root, 'tests', 'dicom_seg_helpers.py'), ...args], { env, encoding: 'utf-8', maxBuffer: 1 << 26 });
  if (done.status !== 0) throw new Error(`dicom_seg_helpers.py ${args[0]} failed:\n${done.stderr}`);
  return JSON.parse(done.stdout);
}

let server;
let browser;
let head;
const errors = [];
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'meshseg-dicom-seg-'));

before(async () => {
  fs.mkdirSync(config.artifactDir, { recursive: true });
  head = helper('head', path.join(work, 'head'), config.sharedData);
  server = await startServer();
  browser = await launchBrowser();
}, { timeout: timeouts.serverStart + timeouts.runtime });

after(async () => {
  await browser?.close();
  await server?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

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
  await page.getByTestId('model-select').selectOption(MODEL);
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
  await page.getByTestId('model-select').selectOption(MODEL);
  expectState(await setFilesAndWait(page, 'file-input', head, timeouts.runtime), 'idle');
  assert.match(await page.locator('#file-name').textContent(), /head_7 \(DICOM series/);
  expectState(await setFilesAndWait(page, 'file-input', path.join(config.sharedData, 'nifti_space', 'RAS.nii.gz'), timeouts.runtime), 'idle');
  await page.getByTestId('run').click();
  expectState(await waitForState(page, ['done', 'error'], timeouts.run), 'done');
  assert.equal(await page.getByTestId('download-dicom-seg').isVisible(), false, 'no SEG for a NIfTI scan');
  // batch: the series' files as one item
  await page.getByTestId('batch-input').setInputFiles(head);
  const batchState = (states, timeout) => page.waitForFunction((wanted) => wanted.includes(document.querySelector('[data-testid="batch"]')?.dataset.state), states, { timeout, polling: 250 });
  await batchState(['ready'], timeouts.action);
  await page.getByTestId('batch-run').click();
  await batchState(['done', 'cancelled', 'error'], timeouts.run);
  const archive = await download(page, 'download-batch', 'dicom-seg-batch');
  const unzip = path.join(work, 'batch');
  const done = spawnSync('python3', ['-c', 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])', archive, unzip], { encoding: 'utf-8' });
  assert.equal(done.status, 0, done.stderr);
  const manifest = JSON.parse(fs.readFileSync(path.join(unzip, 'manifest.json'), 'utf-8'));
  const [item] = manifest.items;
  assert.ok(['done', 'warning'].includes(item.status), `${item.name}: ${item.error}`);
  assert.equal(item.outputs.dicom_seg, `head_7_${MODEL}_seg.dcm`);
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
