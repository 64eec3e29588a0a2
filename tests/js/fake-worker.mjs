// A stand-in for the MeshSeg worker in node: answers protocol-v2 requests with handlers
// given by the test, so the client and the API can be checked without a browser.

export class FakeWorker {
  /** @param {Object<string, (request: object, worker: FakeWorker) => any>} handlers by request type */
  constructor(handlers) {
    this.handlers = handlers;
    this.sent = [];
    this.terminated = false;
    this.onmessage = null;
    this.onerror = null;
  }

  postMessage(request) {
    this.sent.push(request);
    const handler = this.handlers[request.type];
    if (!handler) return;
    Promise.resolve().then(async () => {
      try {
        const value = await handler(request, this);
        if (value !== undefined) this.reply({ type: 'result', id: request.id, value });
      } catch (error) {
        this.reply({ type: 'error', id: request.id, error: error.plain ?? { kind: 'internal', message: error.message } });
      }
    });
  }

  reply(message) {
    if (!this.terminated) this.onmessage?.({ data: { v: 2, ...message } });
  }

  progress(id, stage, fraction = null) {
    this.reply({ type: 'progress', id, stage, message: `${stage}…`, fraction });
  }

  crash(message = 'RangeError: WebAssembly.Memory(): could not allocate memory') {
    this.onerror?.({ message, preventDefault() {} });
  }

  terminate() {
    this.terminated = true;
  }
}

/** Handlers of a worker that knows one model and keeps opened scans by name. */
export function cooperativeWorker(log = []) {
  let opened = 0;
  return {
    init: () => ({ info: { meshseg: '0.1.0', backend: { provider: 'wasm', threads: 1 } }, models: [{ id: 'm', title: 'M' }] }),
    open: (request) => {
      log.push(`open ${request.name}`);
      opened += 1;
      return { scan: `scan-${opened}`, info: { name: request.name, notices: [] } };
    },
    segment: (request, worker) => {
      log.push(`segment ${request.scan} ${request.model}`);
      worker.progress(request.id, 'inference', 0.5);
      return { model: request.model, maskName: 'a_m_labels.nii.gz', mask: new ArrayBuffer(4), stats: [], reused: [] };
    },
    close: (request) => ({ scan: request.scan, bytesReleased: 10 }),
  };
}
