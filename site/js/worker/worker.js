// MeshSeg's module Web Worker, protocol v2 (docs/worker-protocol.md): Python (Pyodide)
// holds the scan sessions, ONNX Runtime Web runs the networks. Requests run one at a
// time in arrival order, except `cancel`, which is answered at once and stops its target
// between two steps.

import { siteAssets } from '../assets.js';
import { flatCard } from '../model-card-v2.js';
import { checkRunnerOptions, loadBackend } from './backend.js';
import { InferenceEngine } from './inference.js';
import { PythonService, loadPython, transferables } from './python-runtime.js';
import { RequestType, checkRequest, failure, jsError, progress, result } from './protocol.js';

/**
 * Load everything once.
 * @param {object} request the init request (options: runner, assets: {base})
 * @param {Function} report
 */
async function start(request, report) {
  const started = performance.now();
  const runner = checkRunnerOptions(request.options ?? null);
  const assets = siteAssets(request.assets?.base ?? undefined);
  const python = await loadPython(assets, report);
  report('runtime', 'Loading ONNX Runtime Web', null);
  const ortStarted = performance.now();
  const { ort, backend } = await loadBackend(runner, assets.ort);
  const ortMs = performance.now() - ortStarted;
  const stored = (await fetchJson(assets.modelsIndex)).models; // version 2 cards (or 1)
  const models = stored.map(flatCard); // the flat view the page and the engine read
  const cards = Object.fromEntries(models.map((card) => [card.id, card]));
  const storedCards = Object.fromEntries(stored.map((card) => [card.id, card]));
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
  return {
    service: new PythonService(python.pyodide, storedCards),
    engine: new InferenceEngine(ort, backend, cards, assets.models),
    runner, info, models, debug: request.debug === true,
  };
}

async function fetchJson(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`cannot fetch ${new URL(url).pathname}: HTTP ${response.status}`);
  return response.json();
}

/** What each request does, given the started state. */
const HANDLERS = {
  open(state, request) {
    const opened = unwrap(state.service.call('open', { data: request.data, name: request.name }));
    if (request.viewer) {
      opened.viewerImage = unwrap(state.service.call('viewer_image', { scan: opened.scan }));
    }
    return opened;
  },
  async segment(state, request, report, cancelled) {
    const inference = [];
    const infer = async (model, data, dims) => {
      const run = await state.engine.run(model, data, dims, report);
      inference.push({ model, provider: run.provider, loadMs: run.loadMs, runMs: run.runMs });
      return run.outputs; // by kind: labels, probability, image
    };
    const value = unwrap(await state.service.segment(request, { infer, report, cancelled }));
    return { ...value, inference, backend: { ...state.engine.backend } };
  },
  measure: (state, { scan, labels, model }) => unwrap(state.service.call('measure', { scan, labels, model })),
  save: (state, { scan, labels, model, edited }) => unwrap(state.service.call('save', { scan, labels, model, edited: edited !== false })),
  reference: (state, { scan, data, name }) => unwrap(state.service.call('reference', { scan, data, name })),
  compare: (state, { scan, a, b, classesA, classesB }) => unwrap(state.service.call('compare', {
    scan, a, b, classes_a: classesA, classes_b: classesB ?? null,
  })),
  close: (state, { scan }) => unwrap(state.service.call('close', { scan })),
  async addModel(state, { card, data }, report) {
    // The user's model: the card is checked in Python (named field), the ONNX file by ONNX
    // Runtime Web itself; the bytes stay in this worker's memory only (never cached).
    const checked = unwrap(state.service.call('add_model', { card }));
    const flat = flatCard(checked.card);
    try {
      await state.engine.addModel(flat, new Uint8Array(data), report);
    } catch (error) {
      state.service.call('remove_model', { model: flat.id });
      throw new WorkerFailure(jsError(error.message, 'model'));
    }
    return { card: flat };
  },
  status: (state) => unwrap(state.service.call('status', {})),
};

/**
 * Why a runtime is unusable after `error`, or null: a Pyodide fatal error, or ONNX Runtime
 * out of memory (its WebAssembly heap is left in an unknown state).
 */
function brokenRuntime(error) {
  if (error?.pyodide_fatal_error) return `the Python runtime failed (${error.message})`;
  if (/bad_alloc|out of memory|Aborted\(OOM\)/i.test(String(error?.message ?? error))) {
    return 'the model needed more memory than this browser tab can give it (WebAssembly is '
      + `limited to 4 GB; ${String(error?.message ?? error).slice(0, 120)})`;
  }
  return null;
}

/** Test hook: crash now, even while another request runs (a worker started with debug). */
function crash(state, { action }) {
  if (!state.debug) throw new WorkerFailure(jsError('debug requests need a worker started with debug: true', 'option'));
  if (action === 'trap') state.service.trap();
  else setTimeout(() => { throw new Error('debug: an uncaught error in the worker'); });
  return { action };
}

/** A Python answer's value, or its plain error thrown as a WorkerFailure. */
function unwrap(answer) {
  if (!answer.ok) throw new WorkerFailure(answer.error);
  return answer.value;
}

class WorkerFailure extends Error {
  constructor(plain) {
    super(plain.message);
    this.plain = plain;
  }
}

/** The message loop. */
function serve() {
  let state = null; // promise of the started state
  const cancelled = new Set();
  let queue = Promise.resolve();

  const ensureStarted = (request, report) => {
    if (state === null) {
      state = start(request, report);
      state.catch(() => { state = null; }); // the request's reply reports the error
      return state;
    }
    return state.then((ready) => {
      const asked = checkRunnerOptions(request.options ?? null);
      if (request.type === RequestType.INIT && request.options
          && JSON.stringify(asked) !== JSON.stringify(ready.runner)) {
        throw new TypeError(`runner options ${JSON.stringify(asked)} differ from those this worker `
          + `started with (${JSON.stringify(ready.runner)}); start a new worker to change them`);
      }
      return ready;
    });
  };

  const handle = async (request) => {
    const report = (stage, message, fraction) => postMessage(progress(request.id, stage, message, fraction));
    if (cancelled.delete(request.id)) throw new WorkerFailure(jsError('cancelled before it started', 'cancelled'));
    const ready = await ensureStarted(request, report);
    if (request.type === RequestType.INIT) return { info: ready.info, models: ready.models };
    const isCancelled = () => cancelled.has(request.id);
    try {
      return await HANDLERS[request.type](ready, request, report, isCancelled);
    } finally {
      cancelled.delete(request.id);
    }
  };

  self.onmessage = ({ data: request }) => {
    try {
      checkRequest(request);
    } catch (error) {
      postMessage(failure(request?.id ?? null, jsError(error, 'option')));
      return;
    }
    if (request.type === RequestType.CANCEL) {
      cancelled.add(request.target);
      postMessage(result(request.id, { target: request.target }));
      return;
    }
    const reply = (work) => work.then(
      (value) => postMessage(result(request.id, value), transferables(value)),
      (error) => {
        const broken = brokenRuntime(error);
        if (broken) {
          // Pyodide or ONNX Runtime is unusable for good (a WASM trap, out of memory): say so
          // and end this worker; the client starts a new one for the next request.
          postMessage(failure(request.id, jsError(broken, 'crashed')));
          self.close();
          return;
        }
        postMessage(failure(request.id, error instanceof WorkerFailure ? error.plain : jsError(error)));
      },
    );
    if (request.type === RequestType.DEBUG) {
      reply((state ?? Promise.reject(new Error('the worker has not started'))).then((ready) => crash(ready, request)));
      return;
    }
    queue = queue.then(() => reply(handle(request)));
  };
}

serve();
