// The JS API: option checks, open/segment, scans re-opened after a worker restart.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Segmenter, createSegmenter } from '../../dist/meshseg.js';
import { checkRunnerOptions, runnerOptionsFromQuery, wasmThreads } from '../../dist/js/worker/backend.js';
import { FakeWorker, cooperativeWorker } from './fake-worker.mjs';

function fakeSegmenter(log = [], settings = {}) {
  const workers = [];
  const createWorker = () => { const w = new FakeWorker(cooperativeWorker(log)); workers.push(w); return w; };
  return { workers, segmenter: createSegmenter({ createWorker, ...settings }) };
}

test('runner options are checked and name what is accepted', () => {
  assert.deepEqual(checkRunnerOptions({ threads: '2' }), { provider: 'auto', threads: 2, optimisation: 'all' });
  assert.throws(() => checkRunnerOptions({ provider: 'cuda' }), /unknown execution provider "cuda"; use one of auto, wasm, webgpu/);
  assert.throws(() => checkRunnerOptions({ threads: '0' }), /threads must be a whole number from 1 to 64/);
  assert.throws(() => checkRunnerOptions({ threads: 2.5 }), /threads must be a whole number/);
  assert.throws(() => checkRunnerOptions({ optimisation: 'max' }), /unknown graph optimisation level "max"/);
  assert.throws(() => checkRunnerOptions({ gpu: true }), /unknown runner option gpu/);
  assert.deepEqual(runnerOptionsFromQuery('?provider=wasm&threads=1&model=x'), { provider: 'wasm', threads: 1, optimisation: 'all' });
  assert.equal(wasmThreads(null, false, 16), 1);
  assert.equal(wasmThreads(null, true, 16), 8);
  assert.equal(wasmThreads(3, true, 16), 3);
  assert.throws(() => new Segmenter({ provider: 'cuda', createWorker: () => new FakeWorker({}) }), TypeError);
});

test('open then segment; the init carries the runner options and the asset base', async () => {
  const { segmenter, workers } = fakeSegmenter([], { provider: 'wasm', baseUrl: 'https://example.org/meshseg/' });
  const ready = await segmenter;
  assert.deepEqual(ready.models.map((m) => m.id), ['m']);
  const init = workers[0].sent[0];
  assert.deepEqual(init.options, { provider: 'wasm', threads: null, optimisation: 'all' });
  assert.equal(init.assets.base, 'https://example.org/meshseg/');
  assert.equal(ready.assets.worker, 'https://example.org/meshseg/js/worker/worker.js');
  const scan = await ready.open(new Uint8Array([1, 2, 3]), 'a.nii.gz');
  assert.equal(scan.id, 'scan-1');
  const stages = [];
  const result = await ready.segment(scan, 'm', { onProgress: (p) => stages.push(p.stage) });
  assert.equal(result.maskName, 'a_m_labels.nii.gz');
  assert.deepEqual(stages, ['inference']);
  assert.equal(workers[0].sent.find((m) => m.type === 'open').data.byteLength, 3);
});

test('segment options reach the worker as given, and the result keeps its quality', async () => {
  const quality = { version: 1, score: 0.9, flagged: false, threshold: 0.6, reasons: [], tta: true };
  const handlers = cooperativeWorker();
  const plain = handlers.segment;
  handlers.segment = (request, worker) => ({ ...plain(request, worker), quality: request.options?.tta ? quality : null });
  const worker = new FakeWorker(handlers);
  const ready = await createSegmenter({ createWorker: () => worker });
  const scan = await ready.open(new ArrayBuffer(1), 'a.nii');
  const result = await ready.segment(scan, 'm', { options: { tta: true } });
  assert.deepEqual(result.quality, quality);
  assert.equal((await ready.segment(scan, 'm')).quality, null);
  assert.deepEqual(worker.sent.filter((m) => m.type === 'segment').map((m) => m.options), [{ tta: true }, null]);
});

test('a scan is re-opened transparently after the worker crashed', async () => {
  const log = [];
  const { segmenter, workers } = fakeSegmenter(log);
  const ready = await segmenter;
  const scan = await ready.open(new ArrayBuffer(2), 'b.nii');
  await ready.segment(scan, 'm');
  workers[0].crash();
  await ready.segment(scan, 'm');
  assert.equal(workers.length, 2);
  assert.deepEqual(log, ['open b.nii', 'segment scan-1 m', 'open b.nii', 'segment scan-1 m']);
  await ready.close(scan);
  await assert.rejects(ready.segment(scan, 'm'), /b.nii was closed/);
});

test('open needs a name and bytes', async () => {
  const ready = await fakeSegmenter().segmenter;
  await assert.rejects(ready.open(new ArrayBuffer(1)), /name the scan/);
  await assert.rejects(ready.open('scan.nii', 'scan.nii'), /must be a File, Blob, ArrayBuffer or typed array/);
  await assert.rejects(ready.segment({ id: 'x' }, 'm'), /pass a scan returned by open/);
});
