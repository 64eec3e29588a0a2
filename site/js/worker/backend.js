// Choose and load ONNX Runtime Web: WebGPU when the browser offers an adapter,
// otherwise multi-threaded WebAssembly. Every ORT file comes from dist/ort/.

const ORT_URL = new URL("../../ort/", import.meta.url);
const WASM_BUNDLE = "ort.wasm.min.mjs";
const WEBGPU_BUNDLE = "ort.webgpu.min.mjs";
const MAX_THREADS = 8;

/**
 * Load onnxruntime-web for the best available execution provider.
 * @returns {Promise<{ort: object, backend: {provider: "webgpu"|"wasm",
 *   threads: number, fallbackReason: string|null}}>}
 */
export async function loadBackend() {
  const gpu = await probeWebGPU();
  const ort = await import(new URL(gpu.ok ? WEBGPU_BUNDLE : WASM_BUNDLE, ORT_URL).href);
  const threads = configureWasm(ort);
  const backend = {
    provider: gpu.ok ? "webgpu" : "wasm",
    threads,
    fallbackReason: gpu.ok ? null : gpu.reason,
  };
  return { ort, backend };
}

/** Whether WebGPU can be used here, and if not, why. */
async function probeWebGPU() {
  if (!("gpu" in navigator) || !navigator.gpu) {
    return { ok: false, reason: "WebGPU is not available in this browser" };
  }
  let adapter;
  try {
    adapter = await navigator.gpu.requestAdapter();
  } catch (error) {
    return { ok: false, reason: `WebGPU adapter request failed: ${error.message}` };
  }
  if (!adapter) return { ok: false, reason: "the browser offers no WebGPU adapter" };
  return { ok: true, reason: null };
}

/**
 * Point ORT at dist/ort/ (never a CDN) and set the thread count explicitly:
 * threads need cross-origin isolation (SharedArrayBuffer).
 * @returns {number} threads
 */
function configureWasm(ort) {
  const threads = globalThis.crossOriginIsolated
    ? Math.max(1, Math.min(navigator.hardwareConcurrency || 1, MAX_THREADS))
    : 1;
  ort.env.wasm.wasmPaths = ORT_URL.href;
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.proxy = false;
  ort.env.logLevel = "error"; // warnings are about node placement, not actionable here
  return threads;
}
