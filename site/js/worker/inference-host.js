// The MeshSeg worker's side of inference: it fetches each model's ONNX bytes once, sends
// tensors to an inference worker (inference-worker.js, ONNX Runtime Web) and gets outputs
// back. ONNX Runtime's WebAssembly heap grows to the widest model's activations and never
// shrinks, so the host ends its inference worker after each segmentation, and the next
// one starts with the next segmentation (it loads while Python prepares the scan): memory
// between runs holds no ONNX Runtime, whatever ran before. Ending it is also how a model run is cancelled, and
// an out-of-memory engine costs only itself: the scans held by Python stay open.

import { startModuleWorker } from '../module-worker.js';
import { modelProvider } from './backend.js';
import { InferenceReply, InferenceRequest } from './inference-protocol.js';

const DEFAULT_OUTPUT = 'labels';

/** A failure of the inference engine, with the kind of plain error it becomes. */
export class EngineFailure extends Error {
  /**
   * @param {string} message @param {'model'|'cancelled'|'internal'} kind
   * @param {string} [hint]
   */
  constructor(message, kind, hint = '') {
    super(message);
    this.name = 'EngineFailure';
    this.kind = kind;
    this.hint = hint;
  }
}

const MEMORY_HINT = 'Try a model with fewer channels, or the command line (native onnxruntime) for this scan.';

/** One inference worker: a promise per request id, progress routed to its request. */
class InferenceWorker {
  #worker;
  #pending = new Map();
  #nextId = 1;
  /** Models whose ONNX bytes this worker already holds. */
  known = new Set();
  /** Why the worker ended, or null while it runs. */
  ended = null;

  constructor(url, backend, ortUrl) {
    /** The backend this worker was started with. */
    this.backend = backend;
    this.#worker = startModuleWorker(url, 'meshseg-inference');
    this.#worker.onmessage = ({ data }) => this.#reply(data);
    this.#worker.onerror = (event) => {
      event.preventDefault();
      this.end(new EngineFailure(`the inference engine stopped: ${event.message || 'an uncaught error'}`, 'internal'));
    };
    this.#worker.onmessageerror = () => this.end(new EngineFailure('an inference message could not be read', 'internal'));
    this.started = this.request({ type: InferenceRequest.START, backend, ortUrl });
    this.started.catch(() => {}); // each later request awaits it and gets its error
  }

  request(message, report = () => {}, transfer = []) {
    if (this.ended) return Promise.reject(this.ended);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, report });
      this.#worker.postMessage({ ...message, id }, transfer);
    });
  }

  #reply(message) {
    const call = this.#pending.get(message.id);
    if (!call) return;
    if (message.type === InferenceReply.PROGRESS) {
      call.report(message.stage, message.message, message.fraction);
      return;
    }
    this.#pending.delete(message.id);
    if (message.type === InferenceReply.RESULT) {
      call.resolve(message.value);
      return;
    }
    const failure = message.broken
      ? new EngineFailure(message.message, 'model', MEMORY_HINT)
      : new EngineFailure(message.message, 'internal');
    if (message.broken) this.end(failure);
    call.reject(failure);
  }

  /** Terminate the worker; its pending requests fail with `failure`. */
  end(failure) {
    if (this.ended) return;
    this.ended = failure;
    this.#worker.terminate();
    for (const call of this.#pending.values()) call.reject(failure);
    this.#pending.clear();
  }
}

export class InferenceHost {
  #workerUrl;
  #ortUrl;
  #modelsUrl;
  #worker = null;
  #runs = 0; // model runs in progress
  #bytes = new Map(); // model id -> ONNX bytes (fetched models and the user's own)

  /**
   * @param {object} settings
   * @param {string} settings.workerUrl inference-worker.js
   * @param {string} settings.ortUrl the folder holding the ORT files (assets.ort)
   * @param {string} settings.modelsUrl the folder holding the models (assets.models)
   * @param {Object<string, object>} settings.cards flat model cards by id
   * @param {import('../types.js').Backend} settings.backend the chosen backend; its
   *   provider turns to "wasm" when WebGPU falls back
   * @param {object|null} [settings.measured] models/providers.json: under provider=auto,
   *   the models for which WASM was measured faster than WebGPU (backend.js modelProvider)
   */
  constructor({ workerUrl, ortUrl, modelsUrl, cards, backend, measured = null }) {
    this.#workerUrl = workerUrl;
    this.#ortUrl = ortUrl;
    this.#modelsUrl = modelsUrl;
    this.cards = cards;
    this.backend = backend;
    this.measured = measured;
    /** The backend the last model run used (provider per model, fall back included). */
    this.ran = null;
  }

  /**
   * Start an inference worker now if none runs, so that the next run finds it ready.
   * @param {string|null} [model] the model the next run needs (its provider may differ)
   */
  prewarm(model = null) {
    this.#current(model);
  }

  /** The backend a run of `model` needs (the session's own when the model is not known). */
  #backendFor(model) {
    if (model === null) return { ...this.backend };
    return { ...this.backend, ...modelProvider(this.backend, model, this.measured) };
  }

  /** The inference worker for `model`, started (again) when none runs or its provider differs. */
  #current(model) {
    const wanted = this.#backendFor(model);
    if (this.#worker !== null && !this.#worker.ended && this.#worker.backend.provider !== wanted.provider) {
      this.release();
    }
    if (this.#worker === null || this.#worker.ended) {
      this.#worker = new InferenceWorker(this.#workerUrl, wanted, this.#ortUrl);
    }
    return this.#worker;
  }

  /**
   * Run one model on a float32 [1, 1, D, H, W] tensor.
   * @param {string} model @param {Float32Array} data (copied: it may be a view into
   *   Python's heap) @param {number[]} dims
   * @param {(stage: string, message: string, fraction?: number|null) => void} report
   * @returns {Promise<{outputs: Object<string, Uint8Array|Float32Array>, provider: string,
   *   loadMs: number, runMs: number}>}
   */
  async run(model, data, dims, report) {
    this.#runs += 1;
    try {
      return await this.#run(model, data, dims, report);
    } finally {
      this.#runs -= 1;
    }
  }

  async #run(model, data, dims, report) {
    const bytes = await this.#modelBytes(model, report);
    const worker = this.#current(model);
    await worker.started;
    const spec = { model, outputs: this.declaredOutputs(model) };
    if (!worker.known.has(model)) spec.bytes = bytes;
    const input = data.slice();
    const answer = await worker.request({ type: InferenceRequest.RUN, spec, data: input.buffer, dims },
      report, [input.buffer]);
    worker.known.add(model);
    const used = { provider: answer.backend.provider, fallbackReason: answer.backend.fallbackReason };
    this.ran = { ...worker.backend, ...used };
    // WebGPU failed and gave way to WASM: later engines start on WASM too.
    if (used.provider !== worker.backend.provider) this.backend = { ...this.backend, ...used };
    return answer;
  }

  /**
   * Check a user's model with ONNX Runtime Web and keep it (bytes in memory only).
   * @param {object} card flat card @param {Uint8Array} bytes
   */
  async addModel(card, bytes, report) {
    const worker = this.#current(null);
    await worker.started;
    await worker.request({ type: InferenceRequest.ADD_MODEL, card, bytes }, report);
    this.cards[card.id] = card;
    this.#bytes.set(card.id, bytes);
    worker.known.add(card.id);
  }

  /** Stop a model run in progress (its request fails with kind "cancelled"). */
  abort() {
    if (this.#runs > 0) this.#worker?.end(new EngineFailure('cancelled during the model run', 'cancelled'));
  }

  /** End the inference worker, giving its heap back; the next prewarm or run starts a fresh one. */
  release() {
    this.#worker?.end(new EngineFailure('the inference engine was released', 'internal'));
    this.#worker = null;
    this.ran = null;
  }

  /** The outputs the card declares ({name, kind}); version 1 cards: their labels output. */
  declaredOutputs(model) {
    const card = this.cards[model] ?? {};
    if (Array.isArray(card.outputs) && card.outputs.length > 0) return card.outputs;
    return [{ name: card.onnx?.output ?? DEFAULT_OUTPUT, kind: 'labels' }];
  }

  /** The model's ONNX bytes, downloaded once (with progress). */
  async #modelBytes(model, report) {
    if (!this.#bytes.has(model)) this.#bytes.set(model, await this.#fetchModel(model, report));
    return this.#bytes.get(model);
  }

  async #fetchModel(model, report) {
    const card = this.cards[model];
    if (!card) {
      throw new EngineFailure(`unknown model ${JSON.stringify(model)}; available: `
        + `${Object.keys(this.cards).join(', ')}`, 'model');
    }
    const url = new URL(card.onnx.file, this.#modelsUrl);
    const response = await fetch(url);
    if (!response.ok) throw new EngineFailure(`cannot fetch ${url.pathname}: HTTP ${response.status}`, 'model');
    const total = Number(response.headers.get('Content-Length')) || 0;
    const chunks = [];
    let received = 0;
    const reader = response.body.getReader();
    for (let part = await reader.read(); !part.done; part = await reader.read()) {
      chunks.push(part.value);
      received += part.value.length;
      report('model', `Downloading ${card.title ?? model}`, total ? received / total : null);
    }
    return concatenate(chunks, received);
  }
}

function concatenate(chunks, length) {
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}
