// Unit tests of site/js/ui/voxel-order.js (node --test tests/js/).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countDifferences, nativeToRas, niftiVoxels, rasLayout, rasToNative } from '../../site/js/ui/voxel-order.js';

// Native grid 2x3x4 whose RAS axes are (-i, k, j): what NiiVue's calculateRAS gives for
// permRAS [-1, 3, 2] (inStep [1, 2, 6] -> step [-1, 6, 2], start [1, 0, 0]).
const dims = [2, 3, 4];
const layout = rasLayout({ hdr: { dims: [3, ...dims] }, dimsRAS: [3, 2, 4, 3], img2RASstep: [-1, 6, 2], img2RASstart: [1, 0, 0] });
const nativeIndex = (i, j, k) => i + dims[0] * j + dims[0] * dims[1] * k;

test('RAS voxel (x, y, z) is native voxel (1 - x, z, y) for permRAS [-1, 3, 2]', () => {
  const native = Uint8Array.from({ length: 24 }, (_, n) => n + 1);
  const ras = nativeToRas(native, layout);
  let r = 0;
  for (let z = 0; z < 3; z++) for (let y = 0; y < 4; y++) for (let x = 0; x < 2; x++) {
    assert.equal(ras[r], native[nativeIndex(1 - x, z, y)], `RAS voxel ${x},${y},${z}`);
    r += 1;
  }
  assert.deepEqual(rasToNative(ras, layout), native);
});

test('an identity layout copies, and wrong lengths are refused', () => {
  const identity = rasLayout({ hdr: { dims: [3, 2, 3, 4] }, dimsRAS: [3, 2, 3, 4], img2RASstep: [1, 2, 6], img2RASstart: [0, 0, 0] });
  const native = Uint8Array.from({ length: 24 }, (_, n) => 3 * n);
  assert.deepEqual(nativeToRas(native, identity), native);
  assert.throws(() => rasToNative(new Uint8Array(23), identity), /23 voxels given/);
  assert.throws(() => rasLayout({ hdr: { dims: [3, 1, 1, 1] } }), /not oriented/);
});

test('niftiVoxels reads uint8 voxels at vox_offset; countDifferences counts', () => {
  const bytes = new Uint8Array(352 + 6);
  const view = new DataView(bytes.buffer);
  view.setInt32(0, 348, true);
  [3, 1, 2, 3].forEach((d, i) => view.setInt16(40 + 2 * i, d, true));
  view.setInt16(70, 2, true);
  view.setFloat32(108, 352, true);
  bytes.set([0, 1, 2, 3, 4, 5], 352);
  const voxels = niftiVoxels(bytes.buffer);
  assert.deepEqual([...voxels], [0, 1, 2, 3, 4, 5]);
  assert.equal(countDifferences(voxels, Uint8Array.of(0, 1, 9, 3, 9, 5)), 2);
  view.setInt16(70, 16, true);
  assert.throws(() => niftiVoxels(bytes), /datatype 16/);
});
