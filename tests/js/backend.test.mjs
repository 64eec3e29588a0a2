// Runner choices (backend.js): auto uses WebGPU only on a hardware adapter, an explicit
// webgpu runs on whatever adapter exists, and a per-model measurement can keep auto on WASM.

import assert from 'node:assert/strict';
import test from 'node:test';
import { NOT_ISOLATED, chooseBackend, describeAdapter, modelProvider } from '../../dist/js/worker/backend.js';
import { describeBackend } from '../../dist/js/ui/about.js';

const SWIFTSHADER = { info: { vendor: 'google', architecture: 'swiftshader', device: '', description: '', isFallbackAdapter: true } };
const NVIDIA = { info: { vendor: 'nvidia', architecture: '', device: '', description: '', isFallbackAdapter: false } };

/** Pretend the browser offers `adapter` (or none) to navigator.gpu. */
function offer(adapter) {
  Object.defineProperty(globalThis, 'navigator', {
    configurable: true,
    value: { hardwareConcurrency: 16, gpu: { requestAdapter: async () => adapter } },
  });
}

test('describeAdapter names the adapter and tells software from hardware', () => {
  assert.deepEqual(describeAdapter(SWIFTSHADER), { vendor: 'google', architecture: 'swiftshader', device: '', description: '', software: true });
  assert.equal(describeAdapter(NVIDIA).software, false);
  assert.equal(describeAdapter({ info: { vendor: 'x', architecture: 'swiftshader' } }).software, true);
  assert.equal(describeAdapter({ isFallbackAdapter: true }).software, true, 'older browsers: the flag on the adapter');
});

test('auto takes a hardware adapter, and keeps WASM on a software one (saying why)', async () => {
  offer(NVIDIA);
  const gpu = await chooseBackend({});
  assert.equal(gpu.provider, 'webgpu');
  assert.equal(gpu.fallbackReason, null);
  assert.equal(gpu.adapter.vendor, 'nvidia');
  offer(SWIFTSHADER);
  const cpu = await chooseBackend({ provider: 'auto' });
  assert.equal(cpu.provider, 'wasm');
  assert.match(cpu.fallbackReason, /software one \(swiftshader\), slower than WebAssembly/);
  offer(null);
  const none = await chooseBackend({});
  assert.equal(none.provider, 'wasm');
  assert.match(none.fallbackReason, /no WebGPU adapter/);
});

test('an explicit webgpu runs on a software adapter, and is an error without one', async () => {
  offer(SWIFTSHADER);
  const chosen = await chooseBackend({ provider: 'webgpu' });
  assert.equal(chosen.provider, 'webgpu');
  assert.equal(chosen.canFallBack, false);
  offer(null);
  await assert.rejects(chooseBackend({ provider: 'webgpu' }), /WebGPU was requested \(provider=webgpu\) but cannot be used/);
});

test('modelProvider keeps WASM under auto only for a model measured slower on WebGPU', () => {
  const measured = { adapter: 'GPU X', models: { slow: { webgpu: false, wasm_s: 2, webgpu_s: 3 }, fast: { webgpu: true, wasm_s: 9, webgpu_s: 3 } } };
  const auto = { provider: 'webgpu', fallbackReason: null, requested: { provider: 'auto' } };
  assert.deepEqual(modelProvider(auto, 'fast', measured), { provider: 'webgpu', fallbackReason: null });
  assert.deepEqual(modelProvider(auto, 'own', measured), { provider: 'webgpu', fallbackReason: null });
  const slow = modelProvider(auto, 'slow', measured);
  assert.equal(slow.provider, 'wasm');
  assert.match(slow.fallbackReason, /measured slower than WebAssembly for slow \(3 s against 2 s on GPU X\)/);
  const explicit = { ...auto, requested: { provider: 'webgpu' } };
  assert.equal(modelProvider(explicit, 'slow', measured).provider, 'webgpu');
  const wasm = { provider: 'wasm', fallbackReason: 'no adapter', requested: { provider: 'auto' } };
  assert.deepEqual(modelProvider(wasm, 'fast', measured), { provider: 'wasm', fallbackReason: 'no adapter' });
  assert.deepEqual(modelProvider(auto, 'slow', null), { provider: 'webgpu', fallbackReason: null });
});

test('without cross-origin isolation WASM runs on one thread, and the backend says why', async () => {
  offer(null);
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'crossOriginIsolated');
  try {
    Object.defineProperty(globalThis, 'crossOriginIsolated', { configurable: true, value: false });
    const plain = await chooseBackend({ provider: 'wasm', threads: 8 });
    assert.equal(plain.threads, 1);
    assert.equal(plain.crossOriginIsolated, false);
    assert.equal(plain.threadsReason, NOT_ISOLATED);
    assert.match(describeBackend(plain), /^WebAssembly \(CPU\), 1 thread, graph optimisation all \(chosen with provider=wasm; one thread: this page is not cross-origin isolated/);
    Object.defineProperty(globalThis, 'crossOriginIsolated', { configurable: true, value: true });
    const isolated = await chooseBackend({ provider: 'wasm' });
    assert.equal(isolated.threads, 8);
    assert.equal(isolated.threadsReason, null);
    assert.doesNotMatch(describeBackend(isolated), /one thread/);
  } finally {
    if (saved) Object.defineProperty(globalThis, 'crossOriginIsolated', saved);
    else delete globalThis.crossOriginIsolated;
  }
});
