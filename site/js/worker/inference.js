// ONNX Runtime Web sessions, one per model id, with a fall back from WebGPU to
// WebAssembly when a WebGPU session cannot be created or run (provider "auto" only).
// It lives in the inference worker (inference-worker.js) and is given each model's ONNX
// bytes by the host (inference-host.js); it fetches nothing itself.

const MAX_OWN_BYTES = 1024 * 2 ** 20; // 1 GiB (meshseg.own_model.MAX_BYTES)

/** An ONNX ModelProto starts with field 1 (ir_version, varint): byte 0x08. */
function looksLikeOnnx(bytes) {
  return bytes.length > 16 && bytes[0] === 0x08;
}

/** Input rank/shape and declared outputs of a user's model against its card. */
function checkOwnSession(session, card) {
  const inputName = card.onnx?.input ?? session.inputNames[0];
  if (!session.inputNames.includes(inputName) || session.inputNames.length !== 1) {
    throw new Error(`input-shape: the model has inputs ${session.inputNames.join(', ')}; one ` +
      `float32 input [1, 1, D, H, W]${card.onnx?.input ? ` named ${card.onnx.input}` : ''} is expected`);
  }
  const meta = (session.inputMetadata ?? []).find((item) => item.name === inputName);
  if (meta?.shape) {
    const expected = [1, 1, ...card.conform.shape];
    if (meta.shape.length !== 5) {
      throw new Error(`input-shape: input ${inputName} is rank ${meta.shape.length}; ` +
        'a float32 [1, 1, D, H, W] tensor is expected');
    }
    meta.shape.forEach((dim, axis) => {
      if (typeof dim === 'number' && dim > 0 && dim !== expected[axis]) {
        throw new Error(`input-shape: input ${inputName} has shape [${meta.shape.join(', ')}]; ` +
          `the card's grid needs [${expected.join(', ')}]`);
      }
    });
  }
  for (const { name, kind } of card.outputs ?? []) {
    if (!session.outputNames.includes(name)) {
      throw new Error(`output-missing: the model has no output "${name}" (the card's ${kind} ` +
        `output); it has ${session.outputNames.join(', ')}`);
    }
  }
}

export class InferenceEngine {
  /**
   * @param {object} ort the onnxruntime-web module (see backend.js loadOrt)
   * @param {import('../types.js').Backend} backend updated in place when WebGPU falls back
   *   to WebAssembly
   */
  constructor(ort, backend) {
    this.ort = ort;
    this.backend = backend;
    this.sessions = new Map(); // `${model}:${provider}` -> Promise<InferenceSession>
    this.bytes = new Map(); // model -> ONNX bytes, kept to re-create a session after a fall back
  }

  /** Whether this engine holds `model`'s ONNX bytes (else a run must bring them). */
  knows(model) {
    return this.bytes.has(model);
  }

  /**
   * Run one model on a float32 [1, 1, D, H, W] tensor.
   * @param {{model: string, outputs: {name: string, kind: string}[], bytes?: Uint8Array}} spec
   *   the model, its declared outputs, and its ONNX bytes unless the engine knows them
   * @param {Float32Array} data @param {number[]} dims
   * @param {(stage: string, message: string, fraction?: number|null) => void} report
   * @returns {Promise<{outputs: Object<string, Uint8Array|Float32Array>, provider: string,
   *   loadMs: number, runMs: number}>} outputs by kind (labels, probability, image)
   */
  async run({ model, outputs: declared, bytes }, data, dims, report) {
    if (bytes) this.bytes.set(model, bytes);
    const started = performance.now();
    let session = await this.session(model, report);
    const loadMs = performance.now() - started;
    const input = new this.ort.Tensor("float32", data, dims);
    report("inference", `Running ${model} (${this.backend.provider})`, null);
    const ran = performance.now();
    let outputs;
    try {
      outputs = await this.runSession(session, input, declared);
    } catch (error) {
      if (!this.mayFallBack()) throw error;
      this.fallBack(`WebGPU inference failed: ${error.message}`);
      session = await this.session(model, report);
      outputs = await this.runSession(session, input, declared);
    } finally {
      input.dispose();
    }
    return { outputs, provider: this.backend.provider, loadMs, runMs: performance.now() - ran };
  }

  /** Run `session`, fetching the declared outputs; their data by kind. */
  async runSession(session, input, declared) {
    for (const { name } of declared) {
      if (!session.outputNames.includes(name)) {
        throw new Error(`the model has no "${name}" output (outputs: ` +
          `${session.outputNames.join(", ")}); rebuild the site to re-convert the models`);
      }
    }
    const inputName = session.inputNames[0];
    const fetched = await session.run({ [inputName]: input }, declared.map(({ name }) => name));
    const outputs = {};
    for (const { name, kind } of declared) {
      const tensor = fetched[name];
      outputs[kind] = outputData(tensor, name, kind);
      tensor.dispose();
    }
    return outputs;
  }

  /**
   * Check a user's model (flat card + ONNX bytes) with ONNX Runtime Web and keep its
   * session: each failure is an Error whose message starts with its name.
   */
  async addModel(card, bytes, report) {
    if (bytes.byteLength > MAX_OWN_BYTES) {
      throw new Error(`too-large: the model is ${(bytes.byteLength / 2 ** 20).toFixed(0)} MiB; ` +
        `this page holds models up to ${MAX_OWN_BYTES / 2 ** 20} MiB`);
    }
    if (!looksLikeOnnx(bytes)) throw new Error('not-onnx: the file is not an ONNX model');
    report('model', `Checking ${card.title ?? card.id}`, null);
    let session;
    try {
      session = await this.ort.InferenceSession.create(bytes, this.sessionOptions());
    } catch (error) {
      const text = String(error.message ?? error);
      if (/opset/i.test(text)) throw new Error(`opset: ${text}`);
      if (/implementation|not supported|unsupported|domain/i.test(text)) throw new Error(`operator: ${text}`);
      throw new Error(`not-onnx: ${text}`);
    }
    checkOwnSession(session, card);
    for (const key of [...this.sessions.keys()]) if (key.startsWith(`${card.id}:`)) this.sessions.delete(key);
    this.bytes.set(card.id, bytes);
    this.sessions.set(`${card.id}:${this.backend.provider}`, Promise.resolve(session));
  }

  /** The cached session of `model`, created from its bytes on first use. */
  async session(model, report) {
    const key = `${model}:${this.backend.provider}`;
    if (!this.sessions.has(key)) {
      const pending = this.createSession(model, report);
      this.sessions.set(key, pending);
      pending.catch(() => this.sessions.delete(key));
    }
    return this.sessions.get(key);
  }

  async createSession(model, report) {
    const bytes = this.bytes.get(model);
    if (!bytes) throw new Error(`no ONNX bytes for model ${JSON.stringify(model)} in this engine`);
    report("model", `Preparing ${model} (${this.backend.provider})`, null);
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
    // Log severity 3 (errors): a session logs warnings by default whatever ort.env.logLevel
    // says, and on WebGPU every session warns, as console errors, that some nodes (the
    // integer label cast, shape ops) run on the CPU, which is expected and not actionable.
    return { executionProviders: [this.backend.provider],
      graphOptimizationLevel: this.backend.optimisation, enableCpuMemArena: false,
      logSeverityLevel: 3 };
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
}

/** A fetched tensor's data as the pipeline takes it: uint8 labels, float32 otherwise. */
function outputData(tensor, name, kind) {
  const data = tensor.data;
  if (kind === 'labels') {
    if (data instanceof Uint8Array) return data;
    if (data instanceof Float32Array || data instanceof Float64Array) {
      throw new Error(`model output "${name}" is ${tensor.type}, expected integer labels`);
    }
    return Uint8Array.from(data, Number); // int8/16/32/64 labels (0..255)
  }
  if (!(data instanceof Float32Array)) {
    throw new Error(`model output "${name}" is ${tensor.type}, expected float32`);
  }
  return data;
}
