// The page's DICOM SEG writer (dist/js/export/dicom-seg.js, with the dcmjs the site serves)
// on the shared DICOM files and synthetic series written by pydicom: read back by highdicom
// it is the label image on every source frame (0 voxels differ), it references the series,
// carries its patient, passes dciodvfy, and its segments (labels, codes, colours) are the
// CLI writer's (highdicom) for the same labels.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIST = process.env.MESHSEG_DIST ?? path.join(ROOT, 'dist');
const SHARED = process.env.MESHSEG_SHARED ? path.join(process.env.MESHSEG_SHARED, 'data') : path.join(ROOT, '..', 'shared', 'data');
const { readHeader, writeSegmentation, segmentCodes, cieLab, NOT_A_SERIES, produce } = await import(path.join(DIST, 'js', 'export', 'dicom-seg.js'));
const dcmjs = await import(path.join(DIST, 'vendor', 'dcmjs', 'dcmjs.es.js'));
const CLASSES = [
  { index: 0, name: 'background', color: [0, 0, 0] },
  { index: 1, name: 'White Matter', color: [255, 255, 255] },
  { index: 2, name: 'Grey Matter', color: [128, 128, 128] },
  { index: 3, name: 'Left-Hippocampus', color: [220, 216, 20] },
  { index: 4, name: 'ctx-rh-precuneus', color: [160, 140, 180] },
  { index: 5, name: 'Tumour core', color: [0, 0, 255] },
];

function helper(...args) {
  const env = { ...process.env, PYTHONPATH: [path.join(ROOT, 'py'), path.join(ROOT, 'tests')].join(path.delimiter) };
  const done = spawnSync('python3', [path.join(ROOT, 'tests', 'dicom_seg_helpers.py'), ...args], { env, encoding: 'utf-8', maxBuffer: 1 << 26 });
  if (done.status !== 0) throw new Error(`dicom_seg_helpers.py ${args[0]} failed:\n${done.stderr}`);
  return JSON.parse(done.stdout);
}

const read = (file) => {
  const bytes = fs.readFileSync(file);
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
};

test('the page writes a SEG highdicom reads back to the labels, equal to the CLI\'s segments', { timeout: 300_000 }, () => {
  if (!fs.existsSync(path.join(SHARED, 'dicom', '1-001.dcm'))) return; // no ../shared
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshseg-dicom-seg-'));
  const cases = helper('cases', dir, SHARED, JSON.stringify(CLASSES));
  const card = { id: 'model5_gw_ae', title: 'test', classes: CLASSES };
  for (const one of cases) {
    const headers = one.sources.map((file) => readHeader(dcmjs, read(file)));
    const seg = writeSegmentation(dcmjs, { headers, labelsNifti: read(one.labels), card, version: '0.1.0', commit: 'abc' });
    const out = path.join(dir, `${one.name}_page_seg.dcm`);
    fs.writeFileSync(out, Buffer.from(seg));
    const page = helper('check', out, one.labels, ...one.sources);
    const cli = helper('check', one.pythonSeg, one.labels, ...one.sources);
    console.log(`${one.name}: ${page.frames} source frames, ${page.labelled} labelled pixels, ${page.differing} differ; dciodvfy warnings: ${JSON.stringify(page.warnings)}`);
    assert.equal(page.differing, 0, one.name);
    assert.ok(page.labelled > 0 && page.offGrid < 1e-3, one.name);
    assert.equal(cli.differing, 0, one.name);
    for (const key of ['series', 'instances', 'study', 'frameOfReference', 'patient']) assert.equal(page[key], true, `${one.name}: ${key}`);
    assert.equal(page.niftiHasPatient, false);
    if (page.errors !== null) assert.deepEqual(page.errors, [], `${one.name}: dciodvfy`);
    assert.deepEqual(page.segments, CLASSES.slice(1).map((c) => c.name));
    assert.deepEqual(page.codes, cli.codes, `${one.name}: codes`);
    assert.deepEqual(page.lab, cli.lab, `${one.name}: colours`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('segment codes and colours follow the shared tables', () => {
  assert.deepEqual(segmentCodes('Grey Matter')[1], ['389081007', 'SCT', 'Gray Matter']);
  const [, thalamus, side] = segmentCodes('Left-Thalamus-Proper*');
  assert.equal(thalamus[2], 'Thalamus');
  assert.equal(side[2], 'Left');
  assert.equal(segmentCodes('ctx-rh-precuneus')[2][2], 'Right');
  assert.deepEqual(segmentCodes('Tumour core')[1], ['TUMOURCORE', '99MESHSEG', 'Tumour core']);
  assert.deepEqual(cieLab([0, 0, 0]), [0, 32896, 32896]);
  assert.equal(cieLab([300, 0, 0]), null);
});

test('a scan that is not a DICOM series is a named error', async () => {
  await assert.rejects(produce({ source: null, card: { id: 'm', classes: CLASSES } }), { message: NOT_A_SERIES });
  assert.match(NOT_A_SERIES, /not a DICOM series/);
});
