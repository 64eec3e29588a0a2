// The iframe's message checks: who may drive it, and what a segment request must hold.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allowedOrigins, checkSegmentMessage, resultMessage } from '../../dist/js/embed.js';
import { stem, volumesName } from '../../dist/js/ui/downloads.js';

test('allowed origins: the listed ones (normalised) and the frame\'s own', () => {
  const allowed = allowedOrigins('?origins=https://a.org, http://127.0.0.1:9000/path', 'https://meshseg.hf.space');
  assert.deepEqual([...allowed], ['https://meshseg.hf.space', 'https://a.org', 'http://127.0.0.1:9000']);
  assert.deepEqual([...allowedOrigins('', 'https://x.org')], ['https://x.org']);
  assert.throws(() => allowedOrigins('?origins=example.org', 'https://x.org'), /"example.org", which is not an origin/);
});

test('a segment message needs id, name, data and model', () => {
  const good = { type: 'meshseg:segment', id: 1, name: 'a.nii', data: new ArrayBuffer(1), model: 'm' };
  assert.equal(checkSegmentMessage(good), good);
  assert.throws(() => checkSegmentMessage({ ...good, id: null }), /needs an id/);
  assert.throws(() => checkSegmentMessage({ ...good, data: 'bytes' }), /`data` \(an ArrayBuffer\)/);
  assert.throws(() => checkSegmentMessage({ ...good, model: '' }), /model id/);
  assert.throws(() => checkSegmentMessage({ ...good, name: undefined }), /file name/);
});

test('the result message carries the quality score (null for an image model) and trimmed stats', () => {
  const quality = { version: 1, score: 0.91, flagged: false, threshold: 0.6, reasons: [], tta: true };
  const result = { maskName: 'a_m_labels.nii.gz', mask: new ArrayBuffer(2), warnings: [], notices: ['n'], quality,
    stats: [{ label: 1, name: 'WM', voxels: 5, ml: 0.005, extra: 1 }], backend: { provider: 'wasm', threads: 2 } };
  const message = resultMessage(7, result, true);
  assert.equal(message.type, 'meshseg:result');
  assert.equal(message.id, 7);
  assert.equal(message.quality, quality);
  assert.deepEqual(message.stats, [{ label: 1, name: 'WM', voxels: 5, ml: 0.005 }]);
  assert.equal(message.threads, 2);
  assert.equal(message.crossOriginIsolated, true);
  assert.equal(resultMessage(8, { ...result, quality: undefined }, false).quality, null);
});

test('download names come from the shared extension list', () => {
  assert.equal(stem('sub-01_T1w.nii.gz'), 'sub-01_T1w');
  assert.equal(stem('brain.MGZ'), 'brain');
  assert.equal(stem('notes.txt'), 'notes.txt');
  assert.equal(volumesName('sub-01_model5_gw_ae_labels.nii.gz'), 'sub-01_model5_gw_ae_volumes');
});
