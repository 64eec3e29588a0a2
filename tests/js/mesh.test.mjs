// The pure parts of the page's mesh export (dist/js/export/mesh.js), against the CLI's
// (py/meshseg/export/mesh): the binary mask NIfTI niimath meshes keeps every voxel's world
// position, the post-step on niimath's mz3 (checks, outward winding, STL) gives what the
// Python reader and checks accept, and the checks catch open and pinched meshes.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dist = process.env.MESHSEG_DIST ?? path.join(root, 'dist');
const mesh = await import(path.join(dist, 'js', 'export', 'mesh.js'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'meshseg-mesh-js-'));

function python(script, ...args) {
  const done = spawnSync('python3', ['-c', script, ...args], {
    encoding: 'utf-8', env: { ...process.env, PYTHONPATH: [path.join(root, 'py'), path.join(root, 'tests'), process.env.PYTHONPATH].filter(Boolean).join(path.delimiter) },
  });
  if (done.status !== 0) throw new Error(`python failed:\n${done.stderr}`);
  return JSON.parse(done.stdout);
}

// Labels 1 and 2 (two spheres) on an oblique, anisotropic, reflected grid (det < 0).
const LABELS = `
import json, sys, numpy as np, nibabel as nib
from synthetic import centred_affine
from meshseg.label_image import label_image
shape = (30, 26, 22)
affine = centred_affine(shape, zooms=(1.3, 0.9, 1.7), axes="LPI", rotation_deg=(12, -20, 8))
ijk = np.indices(shape).reshape(3, -1)
xyz = (affine[:3, :3] @ ijk + affine[:3, 3:4]).T
labels = np.zeros(shape, np.uint8)
labels.reshape(-1)[np.linalg.norm(xyz - [-4, 0, 0], axis=1) < 7] = 1
labels.reshape(-1)[np.linalg.norm(xyz - [7, 2, 0], axis=1) < 5] = 2
img = label_image(labels, nib.Nifti1Image(labels, affine))
open(sys.argv[1], "wb").write(img.to_bytes())
print(json.dumps({"det": float(np.linalg.det(affine[:3, :3]))}))
`;

test('the binary mask niimath meshes keeps every voxel where it was in the world', () => {
  const labels = path.join(tmp, 'labels.nii');
  const { det } = python(LABELS, labels);
  assert.ok(det < 0);
  const source = new Uint8Array(fs.readFileSync(labels));
  for (const label of [null, 2]) {
    const made = mesh.binaryMaskNifti(source, label);
    const out = path.join(tmp, `mask-${label}.nii`);
    fs.writeFileSync(out, made.bytes);
    const check = python(`
import json, sys, numpy as np, nibabel as nib
a, b = nib.load(sys.argv[1]), nib.load(sys.argv[2])
label = None if sys.argv[3] == "null" else int(sys.argv[3])
la, mb = np.asarray(a.dataobj), np.asarray(b.dataobj)
inside = la > 0 if label is None else la == label
world = lambda img, m: np.sort((np.argwhere(m) @ img.affine[:3, :3].T + img.affine[:3, 3]).round(3), axis=0)
wa, wb = world(a, inside), world(b, mb > 0)
print(json.dumps({"same": bool(wa.shape == wb.shape and np.abs(wa - wb).max() < 1e-3),
  "count": int(inside.sum()), "values": sorted(np.unique(mb).tolist()),
  "edges": int(mb[0].sum() + mb[-1].sum() + mb[:, 0].sum() + mb[:, -1].sum() + mb[:, :, 0].sum() + mb[:, :, -1].sum()),
  "sform": int(b.header["sform_code"]), "qform": int(b.header["qform_code"])}))`, labels, out, String(label));
    assert.equal(check.same, true, `label ${label}: the mask's voxels moved`);
    assert.equal(check.count, made.voxels);
    assert.deepEqual(check.values, [0, 1]);
    assert.equal(check.edges, 0, 'the mask must be padded by a background voxel on every side');
    assert.deepEqual([check.sform > 0, check.qform], [true, 0]);
  }
  assert.throws(() => mesh.binaryMaskNifti(source, 7), /label 7 has no voxel/);
});

test('an inward mz3 (a reflected grid) is wound outward, checked and written as the CLI reads STL', async () => {
  const mz3 = path.join(tmp, 'inward.mz3');
  // the CLI's own surface of a sphere, faces reversed (as niimath leaves them for det < 0), gzipped
  const expected = python(`
import gzip, json, struct, sys, numpy as np
from meshseg.export.mesh.surface import mask_surface
from meshseg.export.mesh.checks import enclosed_volume
ijk = np.indices((20, 20, 20)) - 9.5
mask = (ijk ** 2).sum(0) < 49
affine = np.diag([-1.2, 1.0, 0.8, 1.0]); affine[:3, 3] = [10, -5, 3]
v, f = mask_surface(mask, affine)
inward = f[:, ::-1]
body = struct.pack("<HHIII", 0x5A4D, 3, len(f), len(v), 0) + inward.astype("<i4").tobytes() + v.astype("<f4").tobytes()
open(sys.argv[1], "wb").write(gzip.compress(body))
print(json.dumps({"faces": len(f), "vertices": len(v), "volume": enclosed_volume(v, f)}))`, mz3);
  const bytes = await mesh.maybeGunzip(new Uint8Array(fs.readFileSync(mz3)));
  const checked = mesh.checkedMesh(bytes);
  assert.equal(checked.flipped, true);
  assert.equal(checked.topology.triangles, expected.faces);
  assert.ok(Math.abs(checked.volume - expected.volume) / expected.volume < 1e-5, `${checked.volume} vs ${expected.volume}`);
  const stl = path.join(tmp, 'out.stl');
  fs.writeFileSync(stl, mesh.writeStl(checked.positions, checked.indices));
  const read = python(`
import json, sys
from meshseg.export.mesh.formats import read_stl
from meshseg.export.mesh.checks import topology, enclosed_volume
v, f = read_stl(open(sys.argv[1], "rb").read())
t = topology(v, f)
print(json.dumps({"faces": t["faces"], "manifold": t["manifold"], "oriented": t["oriented"], "volume": enclosed_volume(v, f)}))`, stl);
  assert.deepEqual([read.faces, read.manifold, read.oriented], [expected.faces, true, true]);
  assert.ok(Math.abs(read.volume - expected.volume) / expected.volume < 1e-5);
});

test('the checks find open edges, edges of three triangles and pinched vertices', () => {
  const tetra = (offset, flip = false) => {
    const faces = [[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]].map((f) => f.map((v) => v + offset));
    return flip ? faces.map(([a, b, c]) => [a, c, b]) : faces;
  };
  const positions = new Float32Array([0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, -1, 0, 0, 0, -1, 0, 0, 0, -1]);
  const closed = mesh.meshTopology(positions.subarray(0, 12), new Uint32Array(tetra(0).flat()));
  assert.deepEqual([closed.closed, closed.manifold, closed.oriented], [true, true, true]);
  assert.ok(mesh.signedVolume(positions.subarray(0, 12), new Uint32Array(tetra(0).flat())) > 0);
  const open = mesh.meshTopology(positions.subarray(0, 12), new Uint32Array(tetra(0).slice(1).flat()));
  assert.deepEqual([open.closed, open.boundaryEdges], [false, 3]);
  // two tetrahedra sharing vertex 0: closed, every edge twice, but vertex 0 is pinched
  const second = tetra(3).map((f) => f.map((v) => (v === 3 ? 0 : v)));
  const pinched = mesh.meshTopology(positions, new Uint32Array([...tetra(0), ...second].flat()));
  assert.deepEqual([pinched.closed, pinched.nonmanifoldVertices, pinched.manifold], [true, 1, false]);
  const fin = mesh.meshTopology(positions.subarray(0, 12), new Uint32Array([...tetra(0), [0, 1, 2]].flat()));
  assert.ok(fin.nonmanifoldEdges > 0);
  const twisted = mesh.meshTopology(positions.subarray(0, 12), new Uint32Array([...tetra(0).slice(1), [0, 1, 2]].flat()));
  assert.deepEqual([twisted.closed, twisted.oriented], [true, false]);
  assert.throws(() => mesh.checkedMesh(mz3Of(positions.subarray(0, 12), tetra(0).slice(1).flat())), /not a closed manifold/);
});

test('the mesh file is named as the CLI names it', () => {
  const names = python(`
import json
from meshseg.export.files import output_name
print(json.dumps([output_name(n, "model5_gw_ae", "mesh") for n in ("sub-01_T1w.nii.gz", "t1.MGZ", "scan")]))`);
  assert.deepEqual(['sub-01_T1w.nii.gz', 't1.MGZ', 'scan'].map((n) => mesh.meshFileName(n, 'model5_gw_ae')), names);
});

function mz3Of(positions, faces) {
  const out = new DataView(new ArrayBuffer(16 + faces.length * 4 + positions.length * 4));
  out.setUint16(0, 0x5a4d, true);
  out.setUint16(2, 3, true);
  out.setUint32(4, faces.length / 3, true);
  out.setUint32(8, positions.length / 3, true);
  faces.forEach((v, i) => out.setInt32(16 + 4 * i, v, true));
  positions.forEach((v, i) => out.setFloat32(16 + 4 * faces.length + 4 * i, v, true));
  return new Uint8Array(out.buffer);
}
