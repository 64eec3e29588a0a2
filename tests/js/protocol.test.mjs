// The worker protocol v2: request checks name the bad field; replies echo the id.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PROTOCOL_VERSION, checkRequest, failure, jsError, progress, result } from '../../dist/js/worker/protocol.js';
import { STAGES } from '../../dist/js/constants.js';

const buffer = new ArrayBuffer(8);
const valid = {
  init: { options: null },
  open: { name: 'a.nii.gz', data: buffer },
  segment: { scan: 'scan-1', model: 'm', options: { crop: false } },
  measure: { scan: 'scan-1', model: 'm', labels: buffer },
  save: { scan: 'scan-1', model: 'm', labels: buffer },
  reference: { scan: 'scan-1', name: 'ref.nii', data: buffer },
  compare: { scan: 'scan-1', a: buffer, b: buffer, classesA: [] },
  close: { scan: 'scan-1' },
  status: {},
  cancel: { target: 3 },
};

test('every request type with its fields passes the check', () => {
  for (const [type, fields] of Object.entries(valid)) {
    assert.doesNotThrow(() => checkRequest({ v: PROTOCOL_VERSION, id: 1, type, ...fields }), type);
  }
});

test('a missing or mistyped field is named', () => {
  for (const [type, fields] of Object.entries(valid)) {
    for (const name of Object.keys(fields)) {
      if (fields[name] === null) continue; // optional
      const broken = { v: PROTOCOL_VERSION, id: 1, type, ...fields, [name]: 42.5 };
      assert.throws(() => checkRequest(broken), new RegExp(`${type} request: ${name} must be`));
    }
  }
});

test('version, id and type are checked', () => {
  assert.throws(() => checkRequest({ v: 1, id: 1, type: 'status' }), /protocol version 1 is not supported/);
  assert.throws(() => checkRequest({ v: PROTOCOL_VERSION, type: 'status' }), /no integer id/);
  assert.throws(() => checkRequest({ v: PROTOCOL_VERSION, id: 1, type: 'format' }), /unknown request type "format"/);
  assert.throws(() => checkRequest(null), /must be an object/);
});

test('replies carry the version and echo the id', () => {
  assert.deepEqual(progress(5, 'conform', 'Conforming', 0.25),
    { v: PROTOCOL_VERSION, id: 5, type: 'progress', stage: 'conform', message: 'Conforming', fraction: 0.25 });
  assert.deepEqual(result(6, { ok: 1 }), { v: PROTOCOL_VERSION, id: 6, type: 'result', value: { ok: 1 } });
  const error = jsError(new TypeError('bad'), 'option');
  assert.deepEqual(failure(7, error), { v: PROTOCOL_VERSION, id: 7, type: 'error', error: { kind: 'option', file: null, option: null, message: 'bad', hint: '' } });
});

test('the generated stage list matches the Python constants', () => {
  assert.deepEqual(STAGES.map(([id]) => id),
    ['runtime', 'load', 'conform', 'normalise', 'premodel', 'model', 'inference', 'postprocess', 'native', 'stats', 'quality']);
});
