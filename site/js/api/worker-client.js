// Main-thread client of the worker (protocol v2): one promise per request, progress by
// request id, cancellation through an AbortSignal. A cancel first asks the worker to stop
// between two steps; a request still running `graceMs` later (a long model run) is ended
// by terminating the worker, the last resort. A worker that dies rejects every pending
// call with kind "crashed"; the next call starts a new worker (`generation` counts them).

import { startModuleWorker } from '../module-worker.js';
import { PROTOCOL_VERSION, RequestType, ReplyType } from '../worker/protocol.js';

export { startModuleWorker };

/** An error reported by the worker, or by this client: `kind` is one of ERROR_KINDS plus
 * "crashed" (the worker died). `message` is ready to show; `file` names the input. */
export class SegmenterError extends Error {
  /** @param {import('../types.js').PlainError} plain */
  constructor(plain) {
    super(plain.message);
    this.name = 'SegmenterError';
    this.kind = plain.kind ?? 'internal';
    this.file = plain.file ?? null;
    this.option = plain.option ?? null;
    this.hint = plain.hint ?? '';
  }
}

const cancelledError = (message) => new SegmenterError({ kind: 'cancelled', message });

export class WorkerClient {
  #createWorker;
  #graceMs;
  #worker = null;
  #pending = new Map();
  #nextId = 1;
  /** How many workers have been started; scans opened in an older one are gone. */
  generation = 0;

  /**
   * @param {object} settings
   * @param {() => Worker} settings.createWorker starts a worker (tests pass a fake one)
   * @param {number} [settings.graceMs] how long a cancelled request may take to stop
   */
  constructor({ createWorker, graceMs = 4000 }) {
    this.#createWorker = createWorker;
    this.#graceMs = graceMs;
  }

  /** Whether a worker is running (none before the first request or after a crash/terminate). */
  get alive() {
    return this.#worker !== null;
  }

  /**
   * Send one request.
   * @param {string} type one of RequestType
   * @param {object} fields the request's fields (see docs/worker-protocol.md)
   * @param {{onProgress?: Function, signal?: AbortSignal, transfer?: Transferable[]}} [how]
   * @returns {Promise<any>} the reply's value; rejects with SegmenterError
   */
  request(type, fields, { onProgress, signal, transfer = [] } = {}) {
    if (signal?.aborted) return Promise.reject(cancelledError('cancelled before it was sent'));
    const worker = this.#ensureWorker();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const call = { resolve, reject, onProgress, worker, timer: null, signal, abort: null };
      if (signal) {
        call.abort = () => this.#cancel(id, call);
        signal.addEventListener('abort', call.abort, { once: true });
      }
      this.#pending.set(id, call);
      worker.postMessage({ v: PROTOCOL_VERSION, id, type, ...fields }, transfer);
    });
  }

  /** End the worker now; pending calls reject as cancelled. The next request starts a new one. */
  terminate(reason = 'the worker was stopped') {
    const worker = this.#worker;
    this.#worker = null;
    worker?.terminate();
    this.#rejectAll(worker, () => cancelledError(reason));
  }

  #cancel(id, call) {
    if (!this.#pending.has(id) || call.worker !== this.#worker) return;
    call.worker.postMessage({ v: PROTOCOL_VERSION, id: this.#nextId++, type: RequestType.CANCEL, target: id });
    call.timer = setTimeout(() => {
      if (this.#pending.has(id)) this.terminate('cancelled: the model was stopped by restarting the worker');
    }, this.#graceMs);
  }

  #ensureWorker() {
    if (this.#worker === null) {
      const worker = this.#createWorker();
      worker.onmessage = ({ data }) => this.#receive(worker, data);
      worker.onerror = (event) => {
        event.preventDefault?.();
        this.#crashed(worker, event.message || 'the worker stopped with an error');
      };
      worker.onmessageerror = () => this.#crashed(worker, 'a worker message could not be read');
      this.#worker = worker;
      this.generation += 1;
    }
    return this.#worker;
  }

  #receive(worker, message) {
    const call = this.#pending.get(message?.id);
    if (!call || call.worker !== worker) return; // a cancel's own reply, or a stale worker
    if (message.type === ReplyType.PROGRESS) {
      call.onProgress?.({ stage: message.stage, message: message.message, fraction: message.fraction ?? null });
      return;
    }
    if (message.type === ReplyType.ERROR && message.error?.kind === 'crashed') {
      this.#crashed(worker, message.error.message); // the worker ends itself; so do its calls
      return;
    }
    this.#settle(message.id, call);
    if (message.type === ReplyType.ERROR) call.reject(new SegmenterError(message.error));
    else call.resolve(message.value);
  }

  /** The worker died (out of memory, a WASM trap, a failed start). */
  crash(message) {
    this.#crashed(this.#worker, message);
  }

  #crashed(worker, message) {
    if (worker === null || worker !== this.#worker) return;
    this.#worker = null;
    worker.terminate();
    this.#rejectAll(worker, () => new SegmenterError({
      kind: 'crashed',
      message: `The segmentation engine stopped unexpectedly (${message}). It has been restarted: `
        + 'run again; a very large scan or model may need more memory than this browser tab has.',
    }));
  }

  #settle(id, call) {
    this.#pending.delete(id);
    clearTimeout(call.timer);
    if (call.abort) call.signal.removeEventListener('abort', call.abort);
  }

  #rejectAll(worker, makeError) {
    for (const [id, call] of [...this.#pending]) {
      if (call.worker !== worker) continue;
      this.#settle(id, call);
      call.reject(makeError());
    }
  }
}
