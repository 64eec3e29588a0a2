// MeshSeg's module Web Worker: Python (Pyodide) prepares the scan and maps the
// labels back, ONNX Runtime Web runs the networks. Requests are handled one at a
// time; see docs/worker-protocol.md for the messages.

import { checkRunnerOptions, loadBackend } from "./backend.js";
import { InferenceEngine } from "./inference.js";
import { MessageType, progress, toPlainError, validateRequest } from "./protocol.js";
import { loadPython, runJob } from "./python-runtime.js";

const MODELS_INDEX = new URL("../../models/index.json", import.meta.url);

/**
 * Load everything once; returns the worker's state.
 * @param {number} id the request that started the worker (its progress carries it)
 * @param {object} runner checked runner options (see backend.js)
 */
async function start(id, runner) {
  const started = performance.now();
  const report = (stage, message, fraction) =>
    postMessage(progress(id, stage, message, fraction));
  const python = await loadPython(report);
  report("runtime", "Loading ONNX Runtime Web", null);
  const ortStarted = performance.now();
  const { ort, backend } = await loadBackend(runner);
  const ortMs = performance.now() - ortStarted;
  const models = await fetchModels();
  const cards = Object.fromEntries(models.map((card) => [card.id, card]));
  const info = {
    meshseg: python.versions.meshseg,
    pyodide: python.versions.pyodide,
    python: python.versions.python,
    numpy: python.versions.numpy,
    scipy: python.versions.scipy,
    nibabel: python.versions.nibabel,
    onnxruntimeWeb: ort.env.versions?.web ?? null,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    backend,
    timings: { ...python.timings, ort_ms: ortMs, total_ms: performance.now() - started },
  };
  return { pyodide: python.pyodide, engine: new InferenceEngine(ort, backend, cards),
    cards, models, info };
}

async function fetchModels() {
  const response = await fetch(MODELS_INDEX);
  if (!response.ok) {
    throw new Error(`cannot fetch ${MODELS_INDEX.pathname}: HTTP ${response.status}`);
  }
  return (await response.json()).models;
}

async function segment(state, { id, file, modelId, options }) {
  const report = (stage, message, fraction) =>
    postMessage(progress(id, stage, message, fraction));
  const inference = [];
  const infer = async (model, data, dims) => {
    const run = await state.engine.run(model, data, dims, report);
    inference.push({ modelId: model, provider: run.provider, loadMs: run.loadMs,
      runMs: run.runMs });
    return run.labels;
  };
  const result = await runJob(state.pyodide, file, state.cards, modelId, options ?? null,
    { infer, report });
  return { ...result, inference, backend: { ...state.engine.backend } };
}

/** The message loop: one request at a time, every reply carries `error`. */
function serve() {
  let state = null;
  let started = null; // the runner options the worker was started with
  let queue = Promise.resolve();
  const ensureStarted = (id, options) => {
    const runner = checkRunnerOptions(options);
    if (state === null) {
      state = start(id, runner);
      started = runner;
      state.catch(() => { state = null; }); // the request's reply reports the error
    } else if (options && JSON.stringify(runner) !== JSON.stringify(started)) {
      throw new TypeError(`runner options ${JSON.stringify(runner)} differ from those this ` +
        `worker started with (${JSON.stringify(started)}); start a new worker to change them`);
    }
    return state;
  };
  const handle = async (message) => {
    validateRequest(message);
    const init = message.type === MessageType.INIT;
    const ready = await ensureStarted(message.id, init ? message.options ?? null : null);
    if (init) {
      postMessage({ type: MessageType.READY, id: message.id, error: null, info: ready.info,
        models: ready.models });
      return;
    }
    const result = await segment(ready, message);
    postMessage({ type: MessageType.RESULT, id: message.id, error: null, result },
      [result.mask]);
  };
  self.onmessage = ({ data }) => {
    queue = queue.then(() => handle(data).catch((error) => replyError(data, error)));
  };
}

function replyError(message, error) {
  const type = message?.type === MessageType.SEGMENT ? MessageType.RESULT : MessageType.READY;
  const plain = toPlainError(error, message?.file?.name);
  console.error(`meshseg worker: ${plain.name}: ${plain.message}`);
  postMessage({ type, id: message?.id ?? null, error: plain });
}

serve();
