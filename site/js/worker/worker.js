// MeshSeg's module Web Worker, protocol v2 (docs/worker-protocol.md): Python (Pyodide)
// holds the scan sessions, ONNX Runtime Web runs the networks. Requests run one at a
// time in arrival order, except `cancel`, which is answered at once and stops its target
// between two steps.

import { siteAssets } from '../assets.js';
import { flatCard } from '../model-card-v2.js';
import { checkRunnerOptions, chooseBackend } from './backend.js';
import { EngineFailure, InferenceHost } from './inference-host.js';
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
  const backend = await chooseBackend(runner); // a WebGPU adapter probe unless provider=wasm
  const backendMs = performance.now() - started;
  const stored = (await fetchJson(assets.modelsIndex)).models; // version 2 cards (or 1)
  const measured = await fetchJson(assets.providers); // where auto keeps WASM (backend.js)
  const models = stored.map(flatCard); // the flat view the page and the engine read
  const cards = Object.fromEntries(models.map((card) => [card.id, card]));
  // ONNX Runtime runs in a worker of its own, one per segmentation (see inference-host.js).
  const engine = new InferenceHost({ workerUrl: new URL('inference-worker.js', assets.worker).href,
    ortUrl: assets.ort, modelsUrl: assets.models, cards, backend, measured });
  const python = await loadPython(assets, report);
  const serviceStarted = performance.now();
  const service = new PythonService(python.pyodide, Object.fromEntries(stored.map((card) => [card.id, card])));
  python.timings.service_ms = performance.now() - serviceStarted; // import meshseg.service
  const { onnxruntimeWeb } = await fetchJson(assets.version);
  const info = {
    meshseg: python.versions.meshseg,
    pyodide: python.versions.pyodide,
    python: python.versions.python,
    numpy: python.versions.numpy,
    scipy: python.versions.scipy,
    nibabel: python.versions.nibabel,
    onnxruntimeWeb,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    backend,
    timings: { backend_ms: backendMs, ...python.timings, total_ms: performance.now() - started },
  };
  return {
    service,
    engine,
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
    state.engine.prewarm(request.model); // ONNX Runtime loads in its own worker while Python prepares the scan
    const inference = [];
    let engineFailure = null; // a failed model run, reported as itself rather than through Python
    const infer = async (model, data, dims) => {
      try {
        const run = await state.engine.run(model, data, dims, report);
        inference.push({ model, provider: run.provider, loadMs: run.loadMs, runMs: run.runMs });
        return run.outputs; // by kind: labels, probability, image
      } catch (error) {
        engineFailure = error;
        throw error;
      }
    };
    try {
      const answer = await state.service.segment(request, { infer, report, cancelled });
      if (!answer.ok && engineFailure) throw engineError(engineFailure);
      return { ...unwrap(answer), inference, backend: { ...(state.engine.ran ?? state.engine.backend) } };
    } finally {
      state.engine.release(); // give the model's heap back (see inference-host.js)
    }
  },
  measure: (state, { scan, labels, model }) => unwrap(state.service.call('measure', { scan, labels, model })),
  save: (state, { scan, labels, model, edited }) => unwrap(state.service.call('save', { scan, labels, model, edited: edited !== false })),
  export: (state, { scan, labels, model, format, extension, options, warnings, notices, runtime }) => unwrap(state.service.call('export', {
    scan, labels, model, format, extension: extension ?? null, options: options ?? null,
    warnings: warnings ?? [], notices: notices ?? [], runtime: runtime ?? null,
  })),
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
      throw new WorkerFailure({ ...jsError(error.message, 'model'), hint: error.hint ?? '' });
    }
    return { card: flat };
  },
  status: (state) => unwrap(state.service.call('status', {})),
};

/** A failed model run as a WorkerFailure: the engine's own kind (cancelled, model), or internal. */
function engineError(error) {
  const kind = error instanceof EngineFailure ? error.kind : 'internal';
  return new WorkerFailure({ ...jsError(error, kind), hint: error.hint ?? '' });
}

/**
 * Why this worker is unusable after `error`, or null: a Pyodide fatal error (ONNX Runtime
 * out of memory ends only the inference worker, see inference-host.js).
 */
function brokenRuntime(error) {
  if (error?.pyodide_fatal_error) return `the Python runtime failed (${error.message})`;
  return null;
}

/** Test hooks (a worker started with debug): crash now, even while another request runs;
 * or fetch `url` from Python, answering what happened to the request. */
function debugHook(state, { action, url }) {
  if (!state.debug) throw new WorkerFailure(jsError('debug requests need a worker started with debug: true', 'option'));
  if (action === 'fetch') return state.service.fetchFromPython(url);
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
  let running = null; // the id of the request being handled

  const ensureStarted = (request, report) => {
    if (state === null) {
      state = start(request, report);
      state.catch(() => { state = null; }); // the request's reply reports the error
      return state;
    }
    return state.then((ready) => {
      // Only an init request's options are runner options (segment and export have their own).
      if (request.type !== RequestType.INIT || !request.options) return ready;
      const asked = checkRunnerOptions(request.options);
      if (JSON.stringify(asked) !== JSON.stringify(ready.runner)) {
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
    running = request.id;
    try {
      return await HANDLERS[request.type](ready, request, report, isCancelled);
    } finally {
      running = null;
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
      // A model run in progress stops at once: its inference worker is ended (Python's
      // scans stay open); any other step stops at the next step boundary.
      if (request.target === running) state?.then((ready) => ready.engine.abort());
      postMessage(result(request.id, { target: request.target }));
      return;
    }
    const reply = (work) => work.then(
      (value) => postMessage(result(request.id, value), transferables(value)),
      (error) => {
        const broken = brokenRuntime(error);
        if (broken) {
          // Pyodide is unusable for good (a WASM trap): say so and end this worker; the
          // client starts a new one for the next request.
          postMessage(failure(request.id, jsError(broken, 'crashed')));
          self.close();
          return;
        }
        postMessage(failure(request.id, error instanceof WorkerFailure ? error.plain : jsError(error)));
      },
    );
    if (request.type === RequestType.DEBUG) {
      reply((state ?? Promise.reject(new Error('the worker has not started'))).then((ready) => debugHook(ready, request)));
      return;
    }
    queue = queue.then(() => reply(handle(request)));
  };
}

serve();
