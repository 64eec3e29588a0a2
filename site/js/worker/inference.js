// ONNX Runtime Web sessions, one per model id, with a fall back from WebGPU to
// WebAssembly when a WebGPU session cannot be created or run (provider "auto" only).

const DEFAULT_OUTPUT = "labels";

export class InferenceEngine {
  /**
   * @param {object} ort the onnxruntime-web module (see backend.js)
   * @param {{provider: string, threads: number, optimisation: string,
   *   fallbackReason: string|null, canFallBack: boolean}} backend (see backend.js)
   *   updated in place when WebGPU falls back to WebAssembly
   * @param {Object<string, object>} cards model cards by id (models/index.json)
   * @param {string} modelsUrl the folder holding the models (assets.models)
   */
  constructor(ort, backend, cards, modelsUrl) {
    this.ort = ort;
    this.backend = backend;
    this.cards = cards;
    this.modelsUrl = modelsUrl;
    this.sessions = new Map();
  }

  /**
   * Run one model on a float32 [1, 1, D, H, W] tensor.
   * @param {string} modelId
   * @param {Float32Array} data may be a view into another wasm heap: ORT copies it
   * @param {number[]} dims
   * @param {(stage: string, message: string, fraction?: number|null) => void} report
   * @returns {Promise<{labels: Uint8Array, provider: string, loadMs: number, runMs: number}>}
   */
  async run(modelId, data, dims, report) {
    const started = performance.now();
    let session = await this.session(modelId, report);
    const loadMs = performance.now() - started;
    const input = new this.ort.Tensor("float32", data, dims);
    report("inference", `Running ${modelId} (${this.backend.provider})`, null);
    const ran = performance.now();
    let labels;
    try {
      labels = await this.runSession(session, input, this.outputName(modelId));
    } catch (error) {
      if (!this.mayFallBack()) throw error;
      this.fallBack(`WebGPU inference failed: ${error.message}`);
      session = await this.session(modelId, report);
      labels = await this.runSession(session, input, this.outputName(modelId));
    } finally {
      input.dispose();
    }
    return { labels, provider: this.backend.provider, loadMs, runMs: performance.now() - ran };
  }

  /** The labels output the card declares ("labels" for every model built so far). */
  outputName(modelId) {
    return this.cards[modelId]?.onnx?.output ?? DEFAULT_OUTPUT;
  }

  async runSession(session, input, output) {
    if (!session.outputNames.includes(output)) {
      throw new Error(`the model has no "${output}" output (outputs: ` +
        `${session.outputNames.join(", ")}); rebuild the site to re-convert the models`);
    }
    const outputs = await session.run({ [session.inputNames[0]]: input }, [output]);
    const tensor = outputs[output];
    const labels = tensor.data;
    if (!(labels instanceof Uint8Array)) {
      throw new Error(`model output "${output}" is ${tensor.type}, expected uint8`);
    }
    tensor.dispose();
    return labels;
  }

  /** The cached session of `modelId`, fetching and creating it on first use. */
  async session(modelId, report) {
    const key = `${modelId}:${this.backend.provider}`;
    if (!this.sessions.has(key)) {
      const pending = this.createSession(modelId, report);
      this.sessions.set(key, pending);
      pending.catch(() => this.sessions.delete(key));
    }
    return this.sessions.get(key);
  }

  async createSession(modelId, report) {
    const bytes = await this.fetchModel(modelId, report);
    report("model", `Preparing ${modelId} (${this.backend.provider})`, null);
    try {
      return await this.ort.InferenceSession.create(bytes, this.sessionOptions());
    } catch (error) {
      if (!this.mayFallBack()) throw error;
      this.fallBack(`WebGPU session creation failed: ${error.message}`);
      return this.ort.InferenceSession.create(bytes, this.sessionOptions());
    }
  }

  sessionOptions() {
    // No CPU arena: a session's freed activations go back to the shared wasm heap, so a
    // pre-model's buffers are reused by the main model instead of held by its arena.
    return { executionProviders: [this.backend.provider],
      graphOptimizationLevel: this.backend.optimisation, enableCpuMemArena: false };
  }

  /** WebGPU may give way to WASM only when the page asked for "auto". */
  mayFallBack() {
    return this.backend.provider === "webgpu" && this.backend.canFallBack;
  }

  fallBack(reason) {
    console.warn(`meshseg: ${reason}; using WebAssembly`);
    this.backend.provider = "wasm";
    this.backend.fallbackReason = reason;
  }

  /** The model's ONNX bytes, reporting download progress. */
  async fetchModel(modelId, report) {
    const card = this.cards[modelId];
    if (!card) {
      throw new Error(`unknown model ${JSON.stringify(modelId)}; available: ` +
        `${Object.keys(this.cards).join(", ")}`);
    }
    const url = new URL(card.onnx.file, this.modelsUrl);
    const response = await fetch(url);
    if (!response.ok) throw new Error(`cannot fetch ${url.pathname}: HTTP ${response.status}`);
    const total = Number(response.headers.get("Content-Length")) || 0;
    const chunks = [];
    let received = 0;
    const reader = response.body.getReader();
    for (let part = await reader.read(); !part.done; part = await reader.read()) {
      chunks.push(part.value);
      received += part.value.length;
      report("model", `Downloading ${card.title ?? modelId}`, total ? received / total : null);
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
