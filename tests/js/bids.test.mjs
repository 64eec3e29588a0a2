// The page's BIDS derivative (dist/js/batch/bids.js) gives the CLI's names and files
// (py/meshseg/export/bids) for the same inputs: which images of a dropped dataset, their
// errors and item names, every derivative path, dataset_description.json, README.md,
// .bidsignore, the dseg's .tsv and .json and the volume tables; and the batch archive of a
// BIDS batch is arranged as that derivative.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const site = process.env.MESHSEG_DIST ?? path.join(root, 'dist');
const dist = path.join(site, 'js');
const bids = await import(path.join(dist, 'batch', 'bids.js'));
const { flatCard } = await import(path.join(dist, 'model-card-v2.js'));
const index = JSON.parse(fs.readFileSync(path.join(site, 'models', 'index.json'), 'utf-8'));

function python(script, input) {
  const env = { ...process.env, PYTHONPATH: [path.join(root, 'py'), path.join(root, 'tests')].join(path.delimiter) };
  const done = spawnSync('python3', ['-c', script], { env, encoding: 'utf-8', input: JSON.stringify(input) });
  if (done.status !== 0) throw new Error(done.stderr);
  return JSON.parse(done.stdout);
}

const RELPATHS = [
  'sub-01/ses-1/anat/sub-01_ses-1_T1w.nii.gz', 'sub-01/ses-2/anat/sub-01_ses-2_run-2_T1w.nii',
  'sub-02/anat/sub-02_acq-fast_run-1_chunk-3_T1w.nii.gz', 'sub-02/anat/sub-02_acq-fast_run-1_chunk-3_T1w.nii',
  'sub-03/anat/sub-04_T1w.nii.gz', 'sub-05/ses-a/anat/sub-05_T1w.nii.gz', 'sub-06/anat/sub-06_ses-x_T1w.nii.gz',
  'sub-07/anat/sub-07_foo-1_T1w.nii.gz', 'sub-08/anat/sub-08_acq-a_b_T1w.nii.gz', 'sub-09/anat/sub-09_acq-a_acq-b_T1w.nii.gz',
  'sub-10/anat/sub-10_acq-x.y_T1w.nii.gz', 'sub-11/anat/_T1w.nii.gz', 'sub-12/anat/acq-1_T1w.nii',
];

test('the images of a dataset, their errors and item names are the CLI\'s', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshseg-bids-'));
  const sources = [{ path: 'ds/dataset_description.json', blob: new Blob(['{"Name": "Study \u00e9"}']) },
    { path: 'ds/participants.tsv', blob: new Blob(['participant_id\n']) },
    { path: 'ds/sub-01/ses-1/anat/sub-01_ses-1_T1w.json', blob: new Blob(['{}']) },
    { path: 'ds/sub-01/ses-1/func/sub-01_ses-1_task-x_bold.nii.gz', blob: new Blob(['x']) },
    { path: 'ds/derivatives/x/sub-01/anat/sub-01_T1w.nii.gz', blob: new Blob(['x']) },
    ...RELPATHS.map((relpath) => ({ path: `ds/${relpath}`, blob: new Blob(['x']) }))];
  for (const source of sources) {
    fs.mkdirSync(path.dirname(path.join(dir, source.path)), { recursive: true });
    fs.writeFileSync(path.join(dir, source.path), Buffer.from(await source.blob.arrayBuffer()));
  }
  const dataset = await bids.findDataset(sources);
  const items = bids.bidsItems(dataset);
  const py = python(`
import json, sys
from meshseg.batch.inputs import bids_items
from meshseg.export.bids.layout import read_dataset
dataset = read_dataset(json.load(sys.stdin))
items, images = bids_items(dataset)
print(json.dumps({"images": [[i.relpath, [list(e) for e in i.entities], i.error] for i in dataset.images],
  "items": [[i.name, i.kind, i.input, i.error] for i in items], "name": dataset.name,
  "description": dataset.description}))`, path.join(dir, 'ds'));
  assert.deepEqual(dataset.images.map((i) => [i.relpath, i.entities, i.error]), py.images);
  assert.deepEqual(items.map((i) => [i.name, i.kind, i.input, i.error ?? '']), py.items);
  assert.equal(dataset.name, py.name);
  assert.deepEqual(dataset.description, py.description);
  assert.ok(py.images.some(([, , error]) => error === ''));
  assert.ok(py.images.filter(([, , error]) => error).length >= 9, JSON.stringify(py.images));
  const good = items.find((i) => i.name === 'sub-01_ses-1_T1w');
  assert.deepEqual(good.bids.entities, [['sub', '01'], ['ses', '1']]);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('no BIDS dataset, two datasets, a file outside it, bad JSON and no T1w: null or a named error', async () => {
  const blob = (text) => new Blob([text]);
  assert.equal(await bids.findDataset([{ path: 'scans/a.nii.gz', blob: blob('x') }]), null);
  assert.equal(await bids.findDataset([{ path: 'ds/deep/dataset_description.json', blob: blob('{}') }]), null);
  await assert.rejects(bids.findDataset([{ path: 'a/dataset_description.json', blob: blob('{}') },
    { path: 'b/dataset_description.json', blob: blob('{}') }]), /a and b: two BIDS datasets/);
  await assert.rejects(bids.findDataset([{ path: 'ds/dataset_description.json', blob: blob('{}') },
    { path: 'scan.nii.gz', blob: blob('x') }]), /scan\.nii\.gz: is not in the BIDS dataset ds/);
  await assert.rejects(bids.findDataset([{ path: 'ds/dataset_description.json', blob: blob('{nope') }]),
    /ds\/dataset_description\.json: is not valid JSON/);
  await assert.rejects(bids.findDataset([{ path: 'ds/dataset_description.json', blob: blob('[]') }]), /is not a JSON object/);
  await assert.rejects(bids.findDataset([{ path: 'ds/dataset_description.json', blob: blob('{}') },
    { path: 'ds/sub-01/anat/sub-01_T2w.nii.gz', blob: blob('x') }]), /ds: this BIDS dataset has no T1w image/);
  const flat = await bids.findDataset([{ path: 'dataset_description.json', blob: blob('{}') },
    { path: 'sub-01/anat/sub-01_T1w.nii.gz', blob: blob('x') }]);
  assert.deepEqual(flat.images.map((i) => i.relpath), ['sub-01/anat/sub-01_T1w.nii.gz']);
});

test('derivative paths, top files, dseg tables and sidecars and volume tables are the CLI\'s', () => {
  const cards = index.models.filter((m) => ['model5_gw_ae', 'mindgrab', 'model21_104class'].includes(m.id));
  assert.equal(cards.length, 3);
  const entitySets = [[['sub', '01']], [['sub', '01'], ['ses', '1']], [['sub', 'A1'], ['ses', 'pre'], ['run', '2'], ['acq', 'fast'], ['chunk', '1'], ['rec', 'x'], ['echo', '2'], ['part', 'mag'], ['task', 'rest'], ['ce', 'gad']]];
  const statsCsv = 'label,name,voxels,ml\n1,White Matter,1000,1.0\n2,"a, ""b""",5,0.005\n';
  const descriptions = [[{ Name: 'Study \u00e9', DatasetDOI: 'doi:10.1/x' }, '../..'], [{}, 'raw/ds'], [{ Name: '  ' }, '..']];
  const js = {
    paths: cards.flatMap((card) => entitySets.map((entities) => bids.derivativePaths(entities, card.id, 'brainmask'))),
    small: cards.flatMap((card) => entitySets.map((entities) => bids.smallFiles(entities, `${bids.derivativeFolder(entities)}/x_T1w.nii.gz`, flatCard(card), statsCsv))),
    top: descriptions.map(([description, link]) => bids.topFiles('ds', description, link, '9.9.9')),
  };
  const py = python(`
import json, sys
from meshseg.export.bids.derivatives import derivative_folder, derivative_paths, small_files, top_files
from meshseg.models.card import ModelCard
doc = json.load(sys.stdin)
cards = [ModelCard.from_dict(c) for c in doc["cards"]]
out = {"paths": [derivative_paths(e, c.id, "brainmask") for c in cards for e in doc["entities"]],
       "small": [small_files(e, derivative_folder(e) + "/x_T1w.nii.gz", c, doc["stats"]) for c in cards for e in doc["entities"]],
       "top": [top_files("ds", d, link, "9.9.9") for d, link in doc["descriptions"]]}
print(json.dumps(out))`, { cards, entities: entitySets, stats: statsCsv, descriptions });
  assert.deepEqual(js.paths, py.paths);
  assert.deepEqual(js.small, py.small);
  assert.deepEqual(js.top, py.top);
  assert.equal(js.paths.find((paths) => paths.dseg.includes('sub-A1') && paths.dseg.includes('model5gwae')).dseg, 'sub-A1/ses-pre/anat/sub-A1_ses-pre_task-rest_acq-fast_ce-gad_rec-x_run-2_echo-2_part-mag_space-orig_chunk-1_desc-model5gwae_dseg.nii.gz');
});

test('the archive of a BIDS batch is the derivative: dseg, tables, sidecars, the batch folder and the top files', async () => {
  const card = flatCard(index.models.find((m) => m.id === 'model5_gw_ae'));
  const dataset = { name: 'ds', description: { Name: 'Study' } };
  const items = [
    { name: 'sub-01_ses-1_T1w', kind: 'file', bids: { dataset, relpath: 'sub-01/ses-1/anat/sub-01_ses-1_T1w.nii.gz', entities: [['sub', '01'], ['ses', '1']] } },
    { name: 'sub-02_T1w', kind: 'error', error: 'bad' },
  ];
  const added = new Map();
  const inner = { names: [], add: async (name, data) => { added.set(name, data); }, finish: async () => 'blob' };
  assert.equal(bids.archiveFor(inner, { items: [{ name: 'a', kind: 'file' }], card, version: '1' }), inner);
  const archive = bids.archiveFor(inner, { items, card, version: '1.2.3' });
  await archive.add('sub-01_ses-1_T1w_model5_gw_ae_labels.nii.gz', new Uint8Array([1, 2]));
  await archive.add('sub-01_ses-1_T1w_model5_gw_ae_stats.csv', 'label,name,voxels,ml\n1,White Matter,3,0.1\n');
  await archive.add('sub-01_ses-1_T1w_model5_gw_ae_report.html', '<html>');
  await archive.add('manifest.json', '{}');
  assert.equal(await archive.finish(), 'blob');
  const stem = 'sub-01/ses-1/anat/sub-01_ses-1_space-orig_desc-model5gwae';
  assert.deepEqual([...added.keys()].sort(), [
    '.bidsignore', 'README.md', 'dataset_description.json',
    'sourcedata/meshseg-batch/manifest.json', 'sourcedata/meshseg-batch/sub-01_ses-1_T1w_model5_gw_ae_report.html',
    'sourcedata/meshseg-batch/sub-01_ses-1_T1w_model5_gw_ae_stats.csv',
    `${stem}_dseg.json`, `${stem}_dseg.nii.gz`, `${stem}_dseg.tsv`, `${stem}_volumes.json`, `${stem}_volumes.tsv`,
  ]);
  assert.deepEqual([...added.get(`${stem}_dseg.nii.gz`)], [1, 2]);
  assert.equal(added.get(`${stem}_volumes.tsv`), 'index\tname\tvoxels\tml\n1\tWhite Matter\t3\t0.1\n');
  const description = JSON.parse(added.get('dataset_description.json'));
  assert.equal(description.DatasetType, 'derivative');
  assert.deepEqual(description.GeneratedBy[0].Name, 'meshseg');
  assert.equal(description.GeneratedBy[0].Version, '1.2.3');
  assert.deepEqual(description.DatasetLinks, { raw: '../..' });
  assert.deepEqual(JSON.parse(added.get(`${stem}_dseg.json`)).Sources, ['bids:raw:sub-01/ses-1/anat/sub-01_ses-1_T1w.nii.gz']);
});
