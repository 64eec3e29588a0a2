// A BIDS dataset dropped on the page's batch: only its two T1w images are queued, and the
// batch ZIP is their BIDS derivative (dataset_description.json, README.md, .bidsignore,
// per image the dseg on the T1w's grid with its .tsv and .json and the volume tables, the
// batch's manifest in sourcedata/meshseg-batch/), which bids-validator (npm, offline)
// passes with 0 errors. The dataset: the shared 2.4 mm head (two of its stored
// orientations) as sub-01/ses-1 and sub-02 with acq-; the model: `sphere`, a real ONNX
// thresholding rule (tests/batch_site.py), so the two runs take seconds.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import config from '../../playwright.config.js';
import { download, foreignUrls, launchBrowser, recordRequests, startServer, waitForState } from './helpers.mjs';

const MODEL = 'sphere';
const { timeouts } = config;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'meshseg-bids-'));
const dataset = path.join(work, 'ds');
const IMAGES = {
  'sub-01/ses-1/anat/sub-01_ses-1_T1w.nii.gz': 'RAS.nii.gz',
  'sub-02/anat/sub-02_acq-lowres_T1w.nii.gz': 'PSR.nii.gz',
};
const OTHER = {  // files of the dataset that are not segmented
  'dataset_description.json': JSON.stringify({ Name: 'Shared head', BIDSVersion: '1.9.0', DatasetType: 'raw' }),
  README: 'The shared low-resolution head stored in two voxel orientations, as two subjects.\n',
  'participants.tsv': 'participant_id\nsub-01\nsub-02\n',
  'sub-01/ses-1/anat/sub-01_ses-1_T1w.json': '{}\n',
  'derivatives/old/README': 'an older derivative\n',
};
let server;
let browser;

function python(script, ...args) {
  const done = spawnSync('python3', ['-c', script, ...args], { encoding: 'utf-8', maxBuffer: 64 << 20,
    env: { ...process.env, PYTHONPATH: ['py', 'tests'].map((p) => path.join(config.root, p)).join(path.delimiter) } });
  if (done.status !== 0) throw new Error(`python failed:\n${done.stderr}`);
  return done.stdout.trim().split('\n').pop();
}

function validate(folder, legacy = false) {
  const done = spawnSync('node', [path.join(config.root, 'tests', 'bids_validate.mjs'), folder, ...(legacy ? ['--legacy'] : [])],
    { encoding: 'utf-8', maxBuffer: 64 << 20 });
  if (done.status !== 0) throw new Error(`bids_validate.mjs ${folder} failed:\n${done.stderr}`);
  return JSON.parse(done.stdout);
}

before(async () => {
  for (const [relpath, scan] of Object.entries(IMAGES)) {
    fs.mkdirSync(path.dirname(path.join(dataset, relpath)), { recursive: true });
    fs.copyFileSync(path.join(config.sharedData, 'nifti_space', scan), path.join(dataset, relpath));
  }
  for (const [relpath, text] of Object.entries(OTHER)) {
    fs.mkdirSync(path.dirname(path.join(dataset, relpath)), { recursive: true });
    fs.writeFileSync(path.join(dataset, relpath), text);
  }
  const env = { ...process.env, PYTHONPATH: ['py', 'tests'].map((p) => path.join(config.root, p)).join(path.delimiter) };
  const site = spawnSync('python3', [path.join(config.root, 'tests', 'batch_site.py'), 'site', config.dist, path.join(work, 'site')],
    { env, encoding: 'utf-8' });
  if (site.status !== 0) throw new Error(`batch_site.py site failed:\n${site.stderr}`);
  fs.mkdirSync(config.artifactDir, { recursive: true });
  server = await startServer({ dist: site.stdout.trim().split('\n').pop() });
  browser = await launchBrowser();
}, { timeout: 120_000 });

after(async () => {
  await browser?.close();
  await server?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

/** Drop `folder` on the batch's drop zone as a browser does for a dragged folder: a drop
 * event whose DataTransfer item is the folder's FileSystemDirectoryEntry. */
async function dropFolder(page, folder) {
  const files = [];
  const walk = (dir) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      if (fs.statSync(full).isDirectory()) walk(full);
      else files.push({ path: path.relative(path.dirname(folder), full).split(path.sep).join('/'), data: fs.readFileSync(full).toString('base64') });
    }
  };
  walk(folder);
  await page.getByTestId('batch-drop').evaluate((zone, given) => {
    const root = { children: new Map() };
    for (const file of given) {
      const parts = file.path.split('/');
      let node = root;
      for (const part of parts.slice(0, -1)) {
        if (!node.children.has(part)) node.children.set(part, { children: new Map() });
        node = node.children.get(part);
      }
      const bytes = Uint8Array.from(atob(file.data), (c) => c.charCodeAt(0));
      node.children.set(parts[parts.length - 1], { file: new File([bytes], parts[parts.length - 1]) });
    }
    const entry = (name, node, fullPath) => (node.file
      ? { isFile: true, isDirectory: false, name, fullPath, file: (ok) => ok(node.file) }
      : { isFile: false, isDirectory: true, name, fullPath,
        createReader() {
          let read = false;
          const children = [...node.children].map(([child, value]) => entry(child, value, `${fullPath}/${child}`));
          return { readEntries: (ok) => { ok(read ? [] : children); read = true; } };
        } });
    const [[name, top]] = [...root.children];
    const event = new Event('drop', { bubbles: true, cancelable: true });
    Object.defineProperty(event, 'dataTransfer', { value: { items: [{ webkitGetAsEntry: () => entry(name, top, `/${name}`) }], files: [] } });
    zone.dispatchEvent(event);
  }, files);
}

async function waitBatch(page, states, timeout = timeouts.run) {
  await page.waitForFunction((wanted) => wanted.includes(document.querySelector('[data-testid="batch"]')?.dataset.state),
    states, { timeout, polling: 250 });
  return page.getByTestId('batch').getAttribute('data-state');
}

const CHECK = `
import json, sys, zipfile
from pathlib import Path
import nibabel as nib, numpy as np
archive, raw, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
with zipfile.ZipFile(archive) as zipped:
    names = zipped.namelist()
    zipped.extractall(out)
grids = {}
for name in names:
    if name.endswith("_dseg.nii.gz"):
        sources = json.loads((out / name.replace(".nii.gz", ".json")).read_text())["Sources"]
        t1w = nib.load(raw / sources[0].removeprefix("bids:raw:"))
        dseg = nib.load(out / name)
        grids[name] = {"source": sources[0], "shape": dseg.shape == t1w.shape,
                       "affine": bool(np.allclose(dseg.affine, t1w.affine, atol=1e-4)),
                       "voxels": int((np.asarray(dseg.dataobj) > 0).sum()),
                       "dtype": str(dseg.get_data_dtype())}
print(json.dumps({"names": sorted(names), "grids": grids}))
`;

test('a dropped BIDS folder queues its T1w images only and gives a ZIP that is their BIDS derivative, valid for bids-validator', { timeout: timeouts.test }, async () => {
  const page = await browser.context.newPage();
  const urls = recordRequests(browser.context, page);
  await page.goto(`${server.origin}/`);
  await waitForState(page, ['idle', 'error'], timeouts.runtime);
  await page.getByTestId('model-select').selectOption(MODEL);
  await dropFolder(page, dataset);
  assert.equal(await waitBatch(page, ['ready', 'error']), 'ready', await page.getByTestId('batch-message').textContent());
  const queued = await page.getByTestId('batch-queue').locator('li').evaluateAll((items) => items.map((li) => li.dataset.name));
  assert.deepEqual(queued, ['sub-01_ses-1_T1w', 'sub-02_acq-lowres_T1w']);
  assert.match(await page.getByTestId('batch-message').textContent(), /the T1w images of the BIDS dataset ds; the ZIP will be its BIDS derivative/);
  await page.getByTestId('batch-run').click();
  assert.equal(await waitBatch(page, ['done', 'cancelled', 'error']), 'done', await page.getByTestId('batch-message').textContent());
  const archive = await download(page, 'download-batch', 'bids');

  const derivative = path.join(work, 'derivative');
  const { names, grids } = JSON.parse(python(CHECK, archive, dataset, derivative));
  const stems = ['sub-01/ses-1/anat/sub-01_ses-1_space-orig_desc-sphere', 'sub-02/anat/sub-02_acq-lowres_space-orig_desc-sphere'];
  const expected = ['.bidsignore', 'README.md', 'dataset_description.json',
    ...stems.flatMap((stem) => ['dseg.json', 'dseg.nii.gz', 'dseg.tsv', 'volumes.json', 'volumes.tsv'].map((end) => `${stem}_${end}`))];
  assert.deepEqual(names.filter((n) => !n.startsWith('sourcedata/')), expected.sort());
  const batch = names.filter((n) => n.startsWith('sourcedata/meshseg-batch/'));
  assert.ok(batch.includes('sourcedata/meshseg-batch/manifest.json') && batch.includes('sourcedata/meshseg-batch/volumes.csv'), batch.join(', '));
  assert.ok(!batch.some((n) => n.endsWith('_labels.nii.gz')), 'the label images are the dseg files, not copies');
  for (const [stem, relpath] of stems.map((s, i) => [s, Object.keys(IMAGES)[i]])) {
    const grid = grids[`${stem}_dseg.nii.gz`];
    assert.deepEqual(grid, { ...grid, source: `bids:raw:${relpath}`, shape: true, affine: true, dtype: 'uint8' });
    assert.ok(grid.voxels > 1000, `${stem}: ${grid.voxels} labelled voxels`);
    const tsv = fs.readFileSync(path.join(derivative, `${stem}_dseg.tsv`), 'utf-8');
    assert.equal(tsv, 'index\tname\tcolor\n0\tbackground\t#000000\n1\tsphere\t#ff0000\n');
    const volumes = fs.readFileSync(path.join(derivative, `${stem}_volumes.tsv`), 'utf-8').trim().split('\n');
    assert.equal(volumes[0], 'index\tname\tvoxels\tml');
    assert.equal(volumes[1].split('\t')[2], String(grid.voxels));
  }
  const description = JSON.parse(fs.readFileSync(path.join(derivative, 'dataset_description.json'), 'utf-8'));
  assert.equal(description.DatasetType, 'derivative');
  assert.equal(description.GeneratedBy[0].Name, 'meshseg');
  assert.match(description.GeneratedBy[0].Version, /^\d+\.\d+/);
  assert.equal(description.Name, 'MeshSeg segmentations of Shared head');
  const manifest = JSON.parse(fs.readFileSync(path.join(derivative, 'sourcedata', 'meshseg-batch', 'manifest.json'), 'utf-8'));
  assert.deepEqual(manifest.items.map((e) => [e.name, e.status === 'warning' ? 'done' : e.status, e.input]),
    [['sub-01_ses-1_T1w', 'done', `ds/${Object.keys(IMAGES)[0]}`], ['sub-02_acq-lowres_T1w', 'done', `ds/${Object.keys(IMAGES)[1]}`]]);

  const report = validate(derivative);
  console.log(`# ${report.validator}: ${report.errors.length} errors, ${report.warnings.length} warnings (${[...new Set(report.warnings.map((w) => w.code))].join(', ')})`);
  assert.deepEqual(report.errors, []);
  fs.cpSync(derivative, path.join(dataset, 'derivatives', 'meshseg'), { recursive: true });
  const nested = validate(dataset, true);
  console.log(`# ${nested.validator} on the dataset with derivatives/meshseg: ${nested.errors.length} errors, warnings ${nested.warnings.map((w) => w.code).join(', ')}`);
  assert.deepEqual(nested.errors, []);
  assert.deepEqual(foreignUrls(urls, server.origin), []);
  await page.close();
});
