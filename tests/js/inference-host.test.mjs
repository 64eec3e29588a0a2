// The worker's side of inference (inference-host.js): model bytes sent once per inference
// worker, a fresh worker after each release, cancel and out-of-memory end only the
// inference worker, a WebGPU -> WASM fall back carried to the next one. Node has no Worker:
// a fake one stands in for inference-worker.js.

import assert from 'node:assert/strict';
import test from 'node:test';
import { EngineFailure, InferenceHost } from '../../dist/js/worker/inference-host.js';

/** A fake inference worker: START answers at once, RUN waits for the test to answer it. */
class FakeInferenceWorker {
  static started = [];

  constructor(url, options) {
    this.url = url;
    this.options = options;
    this.sent = [];
    this.terminated = false;
    this.runs = [];
    FakeInferenceWorker.started.push(this);
  }

  postMessage(message, transfer = []) {
    this.sent.push({ message, transfer });
    if (message.type === 'start') this.answer(message.id, { ortMs: 1 });
    if (message.type === 'run') this.runs.push(message);
  }

  answer(id, value) {
    queueMicrotask(() => { if (!this.terminated) this.onmessage({ data: { id, type: 'result', value } }); });
  }

  fail(id, message, broken) {
    queueMicrotask(() => this.onmessage({ data: { id, type: 'error', message, broken } }));
  }

  terminate() {
    this.terminated = true;
  }
}

const CARDS = { m: { id: 'm', title: 'M', onnx: { file: 'm/model.onnx', output: 'labels' } } };
const ONNX = new Uint8Array([8, 8, 1, 2, 3]);

function host(provider = 'wasm', { requested = 'auto', measured = null, cards = CARDS } = {}) {
  FakeInferenceWorker.started = [];
  globalThis.Worker = FakeInferenceWorker;
  globalThis.fetch = async (url) => {
    assert.match(String(url), /^http:\/\/x\/models\/[mn]\/model\.onnx$/);
    return new Response(ONNX, { headers: { 'Content-Length': String(ONNX.length) } });
  };
  return new InferenceHost({
    workerUrl: 'http://x/js/worker/inference-worker.js', ortUrl: 'http://x/ort/', modelsUrl: 'http://x/models/',
    cards: structuredClone(cards), measured,
    backend: { provider, threads: 2, optimisation: 'all', fallbackReason: null, canFallBack: true, requested: { provider: requested } },
  });
}

/** The `index`th fake inference worker once it has received a run. */
async function withRun(index) {
  const tick = () => new Promise((resolve) => setTimeout(resolve, 1));
  while (!FakeInferenceWorker.started[index]?.runs.length) await tick();
  return FakeInferenceWorker.started[index];
}

/** Wait until the `index`th fake has received a run, then answer it with `backend` and labels. */
async function answerRun(index, backend = { provider: 'wasm', fallbackReason: null }) {
  const worker = await withRun(index);
  const run = worker.runs.shift();
  worker.answer(run.id, { outputs: { labels: new Uint8Array([1, 0]) }, provider: backend.provider, loadMs: 1, runMs: 2, backend });
  return run;
}

const tensor = () => new Float32Array([0.5, 0.25]);

test('a run sends the model bytes and a transferred copy of the tensor; a second run on the same worker sends no bytes', async () => {
  const engine = host();
  const data = tensor();
  const first = engine.run('m', data, [1, 1, 1, 1, 2], () => {});
  const sent = await answerRun(0);
  const answer = await first;
  assert.deepEqual([...answer.outputs.labels], [1, 0]);
  assert.deepEqual([...sent.spec.bytes], [...ONNX]);
  assert.deepEqual(sent.spec.outputs, [{ name: 'labels', kind: 'labels' }]);
  assert.notEqual(sent.data, data.buffer, 'the tensor must be copied (it may live in Python\'s heap)');
  const runMessage = FakeInferenceWorker.started[0].sent.find(({ message }) => message.type === 'run');
  assert.deepEqual(runMessage.transfer, [sent.data]);

  const second = engine.run('m', tensor(), [1, 1, 1, 1, 2], () => {});
  const again = await answerRun(0);
  await second;
  assert.equal(again.spec.bytes, undefined);
  assert.equal(FakeInferenceWorker.started.length, 1);
});

test('release ends the inference worker; the next run starts a fresh one, which is sent the bytes again', async () => {
  const engine = host();
  const first = engine.run('m', tensor(), [2], () => {});
  await answerRun(0);
  await first;
  engine.release();
  assert.equal(FakeInferenceWorker.started[0].terminated, true);
  assert.equal(FakeInferenceWorker.started.length, 1, 'no engine may be held between segmentations');
  const next = engine.run('m', tensor(), [2], () => {});
  const sent = await answerRun(1);
  await next;
  assert.deepEqual([...sent.spec.bytes], [...ONNX]);
});

test('abort during a run ends only the inference worker: the run fails as cancelled', async () => {
  const engine = host();
  const running = engine.run('m', tensor(), [2], () => {});
  await withRun(0);
  engine.abort();
  await assert.rejects(running, (error) => error instanceof EngineFailure && error.kind === 'cancelled');
  assert.equal(FakeInferenceWorker.started[0].terminated, true);
  engine.abort(); // nothing running: no effect, no new failure
});

test('an out-of-memory run fails with kind model and a hint; the next run gets a new worker', async () => {
  const engine = host();
  const running = engine.run('m', tensor(), [2], () => {});
  const worker = await withRun(0);
  worker.fail(worker.runs.shift().id, 'the model needed more memory than this browser tab can give it', true);
  await assert.rejects(running, (error) => error.kind === 'model' && /more memory/.test(error.message) && /fewer channels/.test(error.hint));
  assert.equal(worker.terminated, true);
  const next = engine.run('m', tensor(), [2], () => {});
  await answerRun(1);
  await next;
});

test('a WebGPU -> WASM fall back is kept for the next inference worker', async () => {
  const engine = host('webgpu');
  assert.equal(engine.backend.provider, 'webgpu');
  const first = engine.run('m', tensor(), [2], () => {});
  await answerRun(0, { provider: 'wasm', fallbackReason: 'WebGPU inference failed: x' });
  await first;
  assert.equal(engine.backend.provider, 'wasm');
  engine.release();
  engine.prewarm();
  const start = FakeInferenceWorker.started[1].sent[0].message;
  assert.equal(start.type, 'start');
  assert.equal(start.backend.provider, 'wasm');
});

test('an unknown model is a named model error, and no worker is asked to run it', async () => {
  const engine = host();
  await assert.rejects(engine.run('nope', tensor(), [2], () => {}),
    (error) => error.kind === 'model' && /unknown model "nope"; available: m/.test(error.message));
  assert.equal(FakeInferenceWorker.started.length, 0);
});

test('ONNX Runtime out of memory is recognised by its messages; other errors are not', async () => {
  const { brokenEngine } = await import('../../dist/js/worker/inference-protocol.js');
  assert.match(brokenEngine(new Error('failed to call OrtRun(). error code = 6. std::bad_alloc')), /more memory than this browser tab/);
  assert.match(brokenEngine('Aborted(OOM)'), /limited to 4 GB/);
  assert.equal(brokenEngine(new Error('Non-zero status code returned while running Conv node')), null);
});

test('under auto, a model measured slower on WebGPU runs on a WASM engine; an unmeasured one keeps WebGPU', async () => {
  const measured = { adapter: 'GPU X', models: { m: { webgpu: false, wasm_s: 2, webgpu_s: 3 }, n: { webgpu: true, wasm_s: 9, webgpu_s: 3 } } };
  const cards = { ...CARDS, n: { id: 'n', title: 'N', onnx: { file: 'n/model.onnx', output: 'labels' } }, o: { id: 'o', title: 'O', onnx: { file: 'm/model.onnx', output: 'labels' } } };
  const engine = host('webgpu', { measured, cards });
  engine.prewarm('m');
  const started = (index) => FakeInferenceWorker.started[index].sent[0].message.backend;
  assert.equal(started(0).provider, 'wasm');
  assert.match(started(0).fallbackReason, /measured slower than WebAssembly for m \(3 s against 2 s on GPU X\)/);
  const first = engine.run('m', tensor(), [2], () => {});
  await answerRun(0, { provider: 'wasm', fallbackReason: started(0).fallbackReason });
  await first;
  assert.equal(engine.ran.provider, 'wasm');
  assert.equal(engine.backend.provider, 'webgpu', 'a per-model choice is not a fall back: the session stays on WebGPU');

  const second = engine.run('n', tensor(), [2], () => {}); // another provider: a fresh engine
  await answerRun(1, { provider: 'webgpu', fallbackReason: null });
  await second;
  assert.equal(FakeInferenceWorker.started[0].terminated, true);
  assert.equal(started(1).provider, 'webgpu');
  const third = engine.run('o', tensor(), [2], () => {}); // not measured: WebGPU, same engine
  await answerRun(1, { provider: 'webgpu', fallbackReason: null });
  await third;
  assert.equal(FakeInferenceWorker.started.length, 2);
});

test('an explicit provider=webgpu is never changed by the measurements', async () => {
  const measured = { adapter: 'GPU X', models: { m: { webgpu: false, wasm_s: 2, webgpu_s: 3 } } };
  const engine = host('webgpu', { requested: 'webgpu', measured });
  engine.prewarm('m');
  assert.equal(FakeInferenceWorker.started[0].sent[0].message.backend.provider, 'webgpu');
});
