// Pure parts of the page's batch (dist/js/batch/*): the names, volumes.csv and manifest
// match the CLI's (py/meshseg/batch) for the same inputs; the DICOM header reader and the
// LPS -> RAS NIfTI writer agree with pydicom and nibabel.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dist = path.join(root, 'dist', 'js', 'batch');
const { stem, unique, seriesName, outputNames } = await import(path.join(dist, 'naming.js'));
const { volumesCsv, manifestText, entryOf, csvField } = await import(path.join(dist, 'archive.js'));
const { readDicomHeader, enhancedFrames } = await import(path.join(dist, 'dicom-header.js'));
const { enhancedGeometry, niftiBytes, affineFromItk } = await import(path.join(dist, 'nifti.js'));

function python(script, ...args) {
  const env = { ...process.env, PYTHONPATH: [path.join(root, 'py'), path.join(root, 'tests')].join(path.delimiter) };
  const done = spawnSync('python3', ['-c', script, ...args], { env, encoding: 'utf-8' });
  if (done.status !== 0) throw new Error(done.stderr);
  return JSON.parse(done.stdout);
}

test('stems, unique names, series names and output names are the CLI\'s', () => {
  const names = ['scan.nii.gz', 'scan.nii', 'a.MGZ', 'x.nrrd', 'h.nhdr', 'b.dcm', 'c.gz', 'd.zip', '.nii', 'noext', 'scan.nii.gz'];
  const series = [['T1 MPRAGE', '3'], ['', ''], ['  ..weird//name__', 7], ['ä ö', '12'], ['x'.repeat(100), '1']];
  const py = python(`
import json, sys
from meshseg.batch.inputs import _stem, _unique
from meshseg.batch.item import output_names
from meshseg.readers.dicom import series_name
names, series = json.loads(sys.argv[1]), json.loads(sys.argv[2])
used = set()
print(json.dumps({"stems": [_stem(n) for n in names], "unique": [_unique(_stem(n), used) for n in names],
  "series": [series_name(d, str(n)) for d, n in series], "outputs": output_names("scan", "m")}))`,
  JSON.stringify(names), JSON.stringify(series));
  assert.deepEqual(names.map(stem), py.stems);
  const used = new Set();
  assert.deepEqual(names.map((n) => unique(stem(n), used)), py.unique);
  assert.deepEqual(series.map(([d, n]) => seriesName(d, String(n))), py.series);
  assert.deepEqual(outputNames('scan', 'm'), py.outputs);
});

test('volumes.csv is the CLI\'s for the same per-scan stats, and manifest entries have the CLI\'s keys', () => {
  const stats = {
    one: 'label,name,voxels,ml\n1,brain,1000,1.0\n2,"a, b",5,0.005\n',
    'two,x': 'label,name,voxels,ml\n1,brain,7,0.007\n',
  };
  const entries = [
    { name: 'one', model: 'm', status: 'done', outputs: { stats: 'one_m_stats.csv' } },
    { name: 'bad', model: 'm', status: 'failed', outputs: {} },
    { name: 'two,x', model: 'm', status: 'warning', outputs: { stats: 'two,x_m_stats.csv' } },
  ];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshseg-volumes-'));
  for (const entry of entries) if (stats[entry.name]) fs.writeFileSync(path.join(dir, entry.outputs.stats), stats[entry.name]);
  const py = python(`
import json, sys
from pathlib import Path
from meshseg.batch.outputs import write_volumes, entry_of
rows = write_volumes(sys.argv[1], json.loads(sys.argv[2]))
print(json.dumps({"csv": (Path(sys.argv[1]) / "volumes.csv").read_text(), "keys": list(entry_of({}).keys())}))`,
  dir, JSON.stringify(entries));
  fs.rmSync(dir, { recursive: true, force: true });
  assert.equal(volumesCsv(entries.map((entry) => ({ entry, statsCsv: stats[entry.name] }))), py.csv);
  assert.deepEqual(Object.keys(entryOf({})), py.keys);
  const doc = JSON.parse(manifestText({ version: '0.1.0', runtime: { provider: 'wasm', threads: 2 },
    card: { id: 'm', title: 'M', onnx: { sha256: 'f'.repeat(64) } }, entries: entries.map(entryOf) }));
  assert.deepEqual(Object.keys(doc), ['meshseg', 'runtime', 'model', 'summary', 'items']);
  assert.deepEqual(doc.summary, { done: 1, warning: 1, failed: 1, skipped: 0 });
  assert.equal(csvField('a"b'), '"a""b"');
});

test('DICOM headers (classic and enhanced) are read like pydicom reads them, and no patient field is decoded', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshseg-dicom-'));
  const truth = python(`
import json, sys
from pathlib import Path
from pydicom.uid import RLELossless
import batch_helpers as b
img = b.phantom()
classic = b.write_classic(img, Path(sys.argv[1]) / "c")
enh = b.write_enhanced(img, Path(sys.argv[1]) / "e.dcm", syntax=RLELossless)
import pydicom
ds = pydicom.dcmread(classic[0], stop_before_pixels=True)
print(json.dumps({"classic": str(classic[0]), "enhanced": str(enh), "uid": ds.SeriesInstanceUID,
  "position": [float(v) for v in ds.ImagePositionPatient], "affine": img.affine.tolist()}))`, dir);
  const classic = readDicomHeader(new Uint8Array(fs.readFileSync(truth.classic)));
  assert.equal(classic.seriesUid, truth.uid);
  assert.equal(classic.description, 'T1 classic');
  assert.equal(classic.number, 3);
  assert.deepEqual([classic.rows, classic.columns], [60, 70]);
  assert.deepEqual(classic.position, truth.position);
  assert.equal(classic.enhanced, false);
  for (const value of Object.values(classic)) assert.ok(!/DOE|PID-31415|19700101/.test(JSON.stringify(value)));
  const enhanced = readDicomHeader(new Uint8Array(fs.readFileSync(truth.enhanced)));
  assert.equal(enhanced.enhanced, true);
  assert.equal(enhanced.perFrame.length, 24);
  const geometry = enhancedGeometry(enhancedFrames(enhanced));
  assert.equal(geometry.uneven, false);
  // The sorted frames' affine is the phantom's, up to the direction of the slice axis.
  const flipped = truth.affine.map((row) => row.slice());
  for (let r = 0; r < 3; r += 1) {
    flipped[r][3] += truth.affine[r][2] * 23;
    flipped[r][2] = -truth.affine[r][2];
  }
  const close = (a, b) => a.flat().every((v, i) => Math.abs(v - b.flat()[i]) < 1e-3);
  assert.ok(close(geometry.affine, truth.affine) || close(geometry.affine, flipped), JSON.stringify(geometry.affine));
  fs.rmSync(dir, { recursive: true, force: true });
  // implicit VR little endian (niivue's test series in shared/data)
  const shared = path.join(root, '..', 'shared', 'data', 'dicom', '1-001.dcm');
  if (fs.existsSync(shared)) {
    const implicit = readDicomHeader(new Uint8Array(fs.readFileSync(shared)));
    assert.equal(implicit.transferSyntax, '1.2.840.10008.1.2');
    assert.equal(implicit.description, 't1_mpr_tra_gk_v4');
    assert.deepEqual([implicit.rows, implicit.columns], [512, 512]);
  }
});

test('the NIfTI writer gives nibabel the affine it was given (ITK LPS geometry -> RAS sform)', () => {
  const affine = affineFromItk({ origin: [10, 20, 30], spacing: [1, 2, 3], direction: [0, 0, 1, 1, 0, 0, 0, 1, 0] });
  assert.deepEqual(affine, [[-0, -0, -3, -10], [-1, -0, -0, -20], [0, 2, 0, 30], [0, 0, 0, 1]]);
  const data = Int16Array.from({ length: 2 * 3 * 4 }, (_, i) => i);
  const file = path.join(os.tmpdir(), `meshseg-writer-${process.pid}.nii`);
  fs.writeFileSync(file, Buffer.from(niftiBytes({ shape: [2, 3, 4], affine, data })));
  const py = python(`
import json, sys, nibabel as nib, numpy as np
img = nib.load(sys.argv[1])
print(json.dumps({"affine": img.affine.tolist(), "shape": list(img.shape), "v": int(np.asarray(img.dataobj)[1, 2, 3]),
  "dtype": str(img.get_data_dtype()), "descrip": img.header["descrip"].tobytes().strip(b"\\0").decode()}))`, file);
  fs.rmSync(file);
  assert.deepEqual(py.shape, [2, 3, 4]);
  assert.ok(py.affine.flat().every((v, i) => Math.abs(v - affine.flat()[i]) < 1e-6));
  assert.equal(py.v, 1 + 2 * 2 + 3 * 6);
  assert.equal(py.dtype, 'int16');
  assert.equal(py.descrip, '');
});
