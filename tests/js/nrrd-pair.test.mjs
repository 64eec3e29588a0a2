// Detached NRRD in the page's batch: a .nhdr and its data file become one attached NRRD that
// meshseg's reader loads with the same voxels and affine as the pair itself (pynrrd writes it).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { attach, dataFileOf, pairDetachedNrrd } from '../../dist/js/batch/nrrd-pair.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const python = (script, ...args) => {
  const done = spawnSync('python3', ['-c', script, ...args], { encoding: 'utf-8', env: { ...process.env, PYTHONPATH: path.join(ROOT, 'py') } });
  if (done.status !== 0) throw new Error(done.stderr);
  return done.stdout;
};

test('the data file line is found, and attaching drops it', async () => {
  assert.equal(dataFileOf('NRRD0004\ntype: short\ndata file: brain.raw.gz\n'), 'brain.raw.gz');
  assert.equal(dataFileOf('NRRD0004\ndatafile: x.raw\n'), 'x.raw');
  assert.equal(dataFileOf('NRRD0004\ntype: short\n'), null);
  const text = await attach('NRRD0004\ntype: short\ndata file: x.raw\n\n', new Blob(['DATA'])).text();
  assert.equal(text, 'NRRD0004\ntype: short\n\nDATA');
});

test('a pynrrd .nhdr + .raw.gz pair loads like the pair; missing or listed data files are named errors', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshseg-nhdr-'));
  python(`import sys, numpy as np, nrrd
rng = np.random.default_rng(3)
data = rng.integers(0, 900, size=(64, 72, 48)).astype(np.int16)
header = {"space": "left-posterior-superior", "space directions": np.diag([1.2, 1.0, 1.5]),
          "space origin": [10.0, -20.0, 5.0], "encoding": "gzip"}
nrrd.write(sys.argv[1] + "/head.nhdr", data, header, detached_header=True)`, dir);
  const files = fs.readdirSync(dir);
  assert.deepEqual(files.sort(), ['head.nhdr', 'head.raw.gz']);
  const sources = files.map((name) => ({ path: `scans/${name}`, blob: new Blob([fs.readFileSync(path.join(dir, name))]) }));
  sources.push({ path: 'scans/lonely.nhdr', blob: new Blob(['NRRD0004\ntype: short\ndimension: 3\nsizes: 2 2 2\nencoding: raw\ndata file: gone.raw\n']) });
  sources.push({ path: 'scans/listed.nhdr', blob: new Blob(['NRRD0004\ntype: short\ndimension: 3\nsizes: 2 2 2\nencoding: raw\ndata file: LIST\na.raw\n']) });
  const { sources: out, errors } = await pairDetachedNrrd(sources);
  assert.deepEqual(out.map((s) => s.path), ['scans/head.nrrd']);
  assert.match(errors.find((e) => e.path.endsWith('lonely.nhdr')).message, /^lonely\.nhdr: its data file gone\.raw is not among the files given/);
  assert.match(errors.find((e) => e.path.endsWith('listed.nhdr')).message, /^listed\.nhdr: names its data as a list or pattern/);

  const attached = path.join(dir, 'head.nrrd');
  fs.writeFileSync(attached, Buffer.from(await out[0].blob.arrayBuffer()));
  const compared = JSON.parse(python(`import sys, json, numpy as np
from meshseg.loading import load_scan
a = load_scan(sys.argv[1]).image
b = load_scan(sys.argv[2]).image
print(json.dumps({"same": bool(np.array_equal(np.asanyarray(a.dataobj), np.asanyarray(b.dataobj))),
                  "affine": bool(np.allclose(a.affine, b.affine)), "shape": list(a.shape)}))`, attached, path.join(dir, 'head.nhdr')));
  assert.deepEqual(compared, { same: true, affine: true, shape: [64, 72, 48] });
});
