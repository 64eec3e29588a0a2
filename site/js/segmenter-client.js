// Main-thread client of the segmentation worker (site/js/worker/worker.js).
// One request at a time is typical; ids keep concurrent calls apart anyway.

import { checkRunnerOptions } from "./worker/backend.js";

/** An error reported by the worker: `name` is the error's kind (for Python
 * exceptions the exception class, e.g. "InputImageError" or "ModelError"). */
export class SegmenterError extends Error {
  /** @param {{name: string, message: string, filename?: string, stack?: string}} plain */
  constructor(plain) {
    super(plain.message);
    this.name = plain.name || "SegmenterError";
    this.filename = plain.filename ?? null;
    this.workerStack = plain.stack ?? null;
  }
}

/** The pending call was cancelled (the worker was terminated). */
export class CancelledError extends Error {
  constructor(message = "cancelled") {
    super(message);
    this.name = "CancelledError";
  }
}

export class SegmenterClient {
  #workerUrl;
  #worker = null;
  #ready = null;
  #runner = null;
  #pending = new Map();
  #nextId = 1;

  constructor(workerUrl = new URL("./worker/worker.js", import.meta.url)) {
    this.#workerUrl = workerUrl;
  }

  /**
   * Start the worker (Pyodide, packages, ONNX Runtime Web). Idempotent: later
   * calls return the same promise (their onProgress is not called).
   * @param {(p: {stage: string, message: string, fraction: number|null}) => void} [onProgress]
   * @param {{provider?: string, threads?: number|string, optimisation?: string}} [options]
   *   runner options (see worker/backend.js); kept for the workers started after a
   *   cancel(). Changing them while a worker runs throws: cancel() first.
   * @returns {Promise<{info: object, models: object[]}>} `info.backend` says what is used
   *   (rejects with a TypeError for unknown runner options or values)
   */
  init(onProgress, options) {
    if (options !== undefined) {
      try {
        this.#setRunner(checkRunnerOptions(options));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    if (this.#ready === null) {
      const ready = this.#request({ type: "init", options: this.#runner }, onProgress)
        .then(({ info, models }) => ({ info, models }));
      ready.catch(() => { if (this.#ready === ready) this.#ready = null; }); // retry next call
      this.#ready = ready;
    }
    return this.#ready;
  }

  #setRunner(runner) {
    const changed = JSON.stringify(runner) !== JSON.stringify(this.#runner);
    if (changed && this.#ready !== null) {
      throw new TypeError("the runner options cannot change while the worker runs; " +
        "call cancel() first");
    }
    this.#runner = runner;
  }

  /**
   * Segment a scan.
   * @param {{name: string, bytes: ArrayBuffer}} file copied to the worker, not transferred
   * @param {string} modelId a card id from `init()`'s models
   * @param {object|null} [options] passed to meshseg.pipeline.Job
   * @param {(p: {stage: string, message: string, fraction: number|null}) => void} [onProgress]
   * @returns {Promise<object>} see docs/worker-protocol.md ("result")
   * @throws {SegmenterError|CancelledError}
   */
  async segment(file, modelId, options = null, onProgress) {
    await this.init();
    const reply = await this.#request({ type: "segment", file, modelId, options }, onProgress);
    return reply.result;
  }

  /** Stop the worker now; pending calls reject with CancelledError. The next
   * call starts (and initialises) a new worker. */
  cancel() {
    const worker = this.#worker;
    this.#worker = null;
    this.#ready = null;
    worker?.terminate();
    this.#rejectAll(new CancelledError());
  }

  #request(message, onProgress) {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, onProgress });
      this.#ensureWorker().postMessage({ ...message, id });
    });
  }

  #ensureWorker() {
    if (this.#worker === null) {
      const worker = new Worker(this.#workerUrl, { type: "module", name: "meshseg" });
      worker.onmessage = ({ data }) => this.#receive(data);
      worker.onerror = (event) => this.#crashed(worker, event.message || "worker failed to load");
      worker.onmessageerror = () => this.#crashed(worker, "a worker message could not be read");
      this.#worker = worker;
    }
    return this.#worker;
  }

  #receive(message) {
    const call = this.#pending.get(message.id);
    if (!call) {
      console.warn(`meshseg: reply to unknown call ${message.id} ignored`);
      return;
    }
    if (message.type === "progress") {
      call.onProgress?.({ stage: message.stage, message: message.message,
        fraction: message.fraction ?? null });
      return;
    }
    this.#pending.delete(message.id);
    if (message.error) call.reject(new SegmenterError(message.error));
    else call.resolve(message);
  }

  #crashed(worker, message) {
    if (worker !== this.#worker) return;
    this.#worker = null;
    this.#ready = null;
    worker.terminate();
    this.#rejectAll(new SegmenterError({ name: "WorkerError", message }));
  }

  #rejectAll(error) {
    const calls = [...this.#pending.values()];
    this.#pending.clear();
    calls.forEach((call) => call.reject(error));
  }
}
