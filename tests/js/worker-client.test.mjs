// The main-thread client: a promise per request id, progress routed by id, cancel between
// steps with a forced restart as the last resort, crash recovery.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WorkerClient } from '../../dist/js/api/worker-client.js';
import { FakeWorker, cooperativeWorker } from './fake-worker.mjs';

function clientWith(handlers, graceMs = 50) {
  const workers = [];
  const client = new WorkerClient({ graceMs, createWorker: () => { const w = new FakeWorker(handlers); workers.push(w); return w; } });
  return { client, workers };
}

test('replies resolve their own request; progress reaches its caller', async () => {
  const { client } = clientWith(cooperativeWorker());
  const seen = [];
  const [opened, segmented] = await Promise.all([
    client.request('open', { name: 'a.nii', data: new ArrayBuffer(1) }),
    client.request('segment', { scan: 'scan-1', model: 'm', options: null }, { onProgress: (p) => seen.push(p) }),
  ]);
  assert.equal(opened.scan, 'scan-1');
  assert.equal(segmented.maskName, 'a_m_labels.nii.gz');
  assert.deepEqual(seen, [{ stage: 'inference', message: 'inference…', fraction: 0.5 }]);
});

test('worker errors reject with their kind, file and message', async () => {
  const { client } = clientWith({ open: () => { throw Object.assign(new Error('x'), { plain: { kind: 'input', file: 'a.nii', message: 'a.nii: is empty.', hint: 'Export it again.' } }); } });
  await assert.rejects(client.request('open', { name: 'a.nii', data: new ArrayBuffer(1) }),
    (error) => error.name === 'SegmenterError' && error.kind === 'input' && error.file === 'a.nii' && error.hint === 'Export it again.');
});

test('abort sends a cancel for that request, and the worker stops it between steps', async () => {
  let release;
  const handlers = {
    segment: (request) => new Promise((resolve) => { release = () => resolve(undefined); }),
    cancel: (request, worker) => {
      worker.reply({ type: 'error', id: request.target, error: { kind: 'cancelled', message: 'cancelled before inference' } });
      return { target: request.target };
    },
  };
  const { client, workers } = clientWith(handlers, 10_000);
  const controller = new AbortController();
  const running = client.request('segment', { scan: 's', model: 'm' }, { signal: controller.signal });
  controller.abort();
  await assert.rejects(running, (error) => error.kind === 'cancelled');
  const cancel = workers[0].sent.find((m) => m.type === 'cancel');
  assert.equal(cancel.target, workers[0].sent[0].id);
  assert.equal(workers[0].terminated, false, 'a cooperative cancel must not kill the worker');
  release();
});

test('a request that ignores the cancel is ended by restarting the worker', async () => {
  const { client, workers } = clientWith({ segment: () => new Promise(() => {}), init: () => ({}) }, 30);
  const controller = new AbortController();
  const stuck = client.request('segment', { scan: 's', model: 'm' }, { signal: controller.signal });
  controller.abort();
  await assert.rejects(stuck, (error) => error.kind === 'cancelled' && /restarting the worker/.test(error.message));
  assert.equal(workers[0].terminated, true);
  await client.request('init', {});
  assert.equal(workers.length, 2);
  assert.equal(client.generation, 2);
});

test('a crash rejects pending calls in plain words and the next call gets a new worker', async () => {
  const { client, workers } = clientWith({ segment: () => new Promise(() => {}), status: () => ({ scans: [] }) });
  const pending = client.request('segment', { scan: 's', model: 'm' });
  workers[0].crash();
  await assert.rejects(pending, (error) => error.kind === 'crashed' && /stopped unexpectedly/.test(error.message) && /run again/.test(error.message));
  assert.deepEqual(await client.request('status', {}), { scans: [] });
  assert.equal(workers.length, 2);
});

test('an already aborted signal never reaches the worker', async () => {
  const { client, workers } = clientWith(cooperativeWorker());
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(client.request('status', {}, { signal: controller.signal }), (error) => error.kind === 'cancelled');
  assert.equal(workers.length, 0);
});
