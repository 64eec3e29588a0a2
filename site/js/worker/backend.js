// Runner choices (execution provider, threads, graph optimisation) and loading
// ONNX Runtime Web for them. Every ORT file comes from the site's ort/ folder.

const DEFAULT_ORT_URL = new URL("../../ort/", import.meta.url).href;
const WASM_BUNDLE = "ort.wasm.min.mjs";
const WEBGPU_BUNDLE = "ort.webgpu.min.mjs";
const MAX_THREADS = 8;
const MAX_REQUESTED_THREADS = 64;

export const PROVIDERS = Object.freeze(["auto", "wasm", "webgpu"]);
// onnxruntime-web 1.30 maps these strings to ORT levels 0, 1, 2, 3 (layout) and 99
// (getGraphOptimzationLevel in onnxruntime-web/dist/ort.wasm.min.mjs).
export const OPTIMISATION_LEVELS = Object.freeze(["disabled", "basic", "extended", "layout", "all"]);

/**
 * Check runner options and fill in the defaults. Values may be strings (as read
 * from a URL query) or already typed; unknown keys or values throw a TypeError
 * naming the accepted values.
 * @param {{provider?: string, threads?: number|string|null,
 *   optimisation?: string}|null} [options]
 * @returns {{provider: "auto"|"wasm"|"webgpu", threads: number|null,
 *   optimisation: "disabled"|"basic"|"extended"|"layout"|"all"}} `threads: null` = the default
 */
export function checkRunnerOptions(options) {
  const given = options ?? {};
  const unknown = Object.keys(given).filter(
    (key) => !["provider", "threads", "optimisation"].includes(key));
  if (unknown.length > 0) {
    throw new TypeError(`unknown runner option ${unknown.join(", ")}; ` +
      "known: provider, threads, optimisation");
  }
  const provider = given.provider ?? "auto";
  if (!PROVIDERS.includes(provider)) {
    throw new TypeError(`unknown execution provider ${JSON.stringify(provider)}; ` +
      `use one of ${PROVIDERS.join(", ")}`);
  }
  const optimisation = given.optimisation ?? "all";
  if (!OPTIMISATION_LEVELS.includes(optimisation)) {
    throw new TypeError(`unknown graph optimisation level ${JSON.stringify(optimisation)}; ` +
      `use one of ${OPTIMISATION_LEVELS.join(", ")}`);
  }
  return { provider, threads: checkThreads(given.threads), optimisation };
}

function checkThreads(value) {
  if (value === undefined || value === null || value === "") return null;
  const threads = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_REQUESTED_THREADS) {
    throw new TypeError(`threads must be a whole number from 1 to ${MAX_REQUESTED_THREADS}, ` +
      `not ${JSON.stringify(value)}`);
  }
  return threads;
}

/**
 * Runner options from a URL query string (`?provider=wasm&threads=1&optimisation=all`).
 * Other query parameters are ignored; bad values throw a TypeError.
 * @param {string} search e.g. `location.search`
 */
export function runnerOptionsFromQuery(search) {
  const query = new URLSearchParams(search);
  const options = {};
  for (const key of ["provider", "threads", "optimisation"]) {
    if (query.has(key)) options[key] = query.get(key);
  }
  return checkRunnerOptions(options);
}

/**
 * Choose the backend for the requested runner options, without loading ONNX Runtime.
 * `auto` uses WebGPU when a hardware adapter exists, else WASM (a software adapter, such
 * as SwiftShader, is tens of times slower than WASM); an explicit `webgpu` without an
 * adapter is an error (no silent change of what was asked for), on a software one it runs.
 * @param {object|null} [options] see checkRunnerOptions
 * @returns {Promise<import('../types.js').Backend>}
 */
export async function chooseBackend(options) {
  const requested = checkRunnerOptions(options);
  const gpu = requested.provider === "wasm"
    ? { ok: false, reason: "chosen with provider=wasm", adapter: null }
    : await probeWebGPU();
  if (requested.provider === "webgpu" && !gpu.ok) {
    throw new Error(`WebGPU was requested (provider=webgpu) but cannot be used: ${gpu.reason}`);
  }
  const software = requested.provider === "auto" && gpu.ok && gpu.adapter.software;
  const useGpu = gpu.ok && !software;
  const isolated = globalThis.crossOriginIsolated === true;
  return {
    provider: useGpu ? "webgpu" : "wasm",
    threads: wasmThreads(requested.threads, isolated, navigator.hardwareConcurrency),
    crossOriginIsolated: isolated,
    threadsReason: isolated ? null : NOT_ISOLATED,
    optimisation: requested.optimisation,
    fallbackReason: software
      ? `the only WebGPU adapter is a software one (${gpu.adapter.architecture || "fallback"}), slower than WebAssembly`
      : gpu.reason,
    canFallBack: requested.provider === "auto",
    adapter: gpu.adapter,
    requested,
  };
}

/**
 * The provider one model runs on. Under `auto` WebGPU is kept unless the benchmark
 * measured it slower than WASM for this model (`measured`: models/providers.json, built
 * from bench/webgpu-measured.json); models it did not measure keep WebGPU.
 * @param {import('../types.js').Backend} backend the session's choice
 * @param {string} model
 * @param {{adapter: string, models: Object<string, {webgpu: boolean, wasm_s: number,
 *   webgpu_s: number}>}|null} measured
 * @returns {{provider: "wasm"|"webgpu", fallbackReason: string|null}}
 */
export function modelProvider(backend, model, measured) {
  const entry = measured?.models?.[model];
  if (backend.provider === "webgpu" && backend.requested?.provider === "auto" && entry?.webgpu === false) {
    return { provider: "wasm", fallbackReason: `WebGPU was measured slower than WebAssembly for ${model} ` +
      `(${entry.webgpu_s} s against ${entry.wasm_s} s on ${measured.adapter})` };
  }
  return { provider: backend.provider, fallbackReason: backend.fallbackReason };
}

/**
 * Import the onnxruntime-web bundle `backend.provider` needs (the WebGPU one also holds
 * the WASM provider) from `ortUrl` and set its WASM paths and thread count.
 * @param {import('../types.js').Backend} backend
 * @param {string} [ortUrl] the folder holding the ORT files (assets.ort)
 * @returns {Promise<object>} the onnxruntime-web module
 */
export async function loadOrt(backend, ortUrl = DEFAULT_ORT_URL) {
  const bundle = backend.provider === "webgpu" ? WEBGPU_BUNDLE : WASM_BUNDLE;
  const ort = await import(new URL(bundle, ortUrl).href);
  ort.env.wasm.wasmPaths = ortUrl; // never a CDN
  ort.env.wasm.numThreads = backend.threads;
  ort.env.wasm.proxy = false;
  ort.env.logLevel = "error"; // warnings are about node placement, not actionable here
  return ort;
}

/** Whether WebGPU can be used here (and on which adapter), and if not, why. */
async function probeWebGPU() {
  if (!("gpu" in navigator) || !navigator.gpu) {
    return { ok: false, reason: "WebGPU is not available in this browser", adapter: null };
  }
  let adapter;
  try {
    adapter = await navigator.gpu.requestAdapter({ powerPreference: "high-performance" });
  } catch (error) {
    return { ok: false, reason: `WebGPU adapter request failed: ${error.message}`, adapter: null };
  }
  if (!adapter) return { ok: false, reason: "the browser offers no WebGPU adapter", adapter: null };
  return { ok: true, reason: null, adapter: describeAdapter(adapter) };
}

/**
 * What a GPUAdapter is, as plain data: vendor, architecture, device, description and
 * whether it is a software one (a fallback adapter, or SwiftShader).
 * @param {{info?: object, isFallbackAdapter?: boolean}} adapter
 */
export function describeAdapter(adapter) {
  const info = adapter.info ?? {};
  const fallback = info.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false;
  return {
    vendor: info.vendor ?? "", architecture: info.architecture ?? "",
    device: info.device ?? "", description: info.description ?? "",
    software: fallback === true || info.architecture === "swiftshader",
  };
}

/** Why a page that is not cross-origin isolated runs WebAssembly on one thread. */
export const NOT_ISOLATED = "one thread: this page is not cross-origin isolated (its host sends no " +
  "COOP/COEP headers, or it is framed by a page that is not isolated), so WebAssembly threads " +
  "are not available; the result is the same, only slower";

/**
 * The WASM thread count: the requested one, else min(hardwareConcurrency, 8);
 * always 1 without cross-origin isolation (threads need SharedArrayBuffer).
 */
export function wasmThreads(requested, isolated, hardwareConcurrency) {
  if (!isolated) return 1;
  return requested ?? Math.max(1, Math.min(hardwareConcurrency || 1, MAX_THREADS));
}
