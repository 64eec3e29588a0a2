// The iframe's message checks: who may drive it, and what a segment request must hold.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allowedOrigins, checkSegmentMessage } from '../../dist/js/embed.js';
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

test('download names come from the shared extension list', () => {
  assert.equal(stem('sub-01_T1w.nii.gz'), 'sub-01_T1w');
  assert.equal(stem('brain.MGZ'), 'brain');
  assert.equal(stem('notes.txt'), 'notes.txt');
  assert.equal(volumesName('sub-01_model5_gw_ae_labels.nii.gz'), 'sub-01_model5_gw_ae_volumes');
});
