// The inference worker: ONNX Runtime Web and its sessions, apart from Python. The MeshSeg
// worker starts one for each segmentation, sends it tensors and model bytes, and ends it
// afterwards (inference-host.js), so the WebAssembly heap that a wide model grew is given
// back instead of held for the rest of the page's life.

import { loadOrt } from './backend.js';
import { InferenceEngine } from './inference.js';
import { InferenceReply, InferenceRequest, brokenEngine } from './inference-protocol.js';

let engine = null; // set by START

const HANDLERS = {
  async [InferenceRequest.START]({ backend, ortUrl }) {
    const started = performance.now();
    engine = new InferenceEngine(await loadOrt(backend, ortUrl), backend);
    return { ortMs: performance.now() - started };
  },
  async [InferenceRequest.RUN]({ spec, data, dims }, report) {
    const run = await engine.run(spec, new Float32Array(data), dims, report);
    return { ...run, backend: engine.backend };
  },
  async [InferenceRequest.ADD_MODEL]({ card, bytes }, report) {
    await engine.addModel(card, new Uint8Array(bytes), report);
    return { added: card.id };
  },
};

/** Whether `buffer` is shared memory. Without cross-origin isolation the SharedArrayBuffer
 * constructor does not exist at all (so `instanceof SharedArrayBuffer` would throw). */
function isShared(buffer) {
  return typeof SharedArrayBuffer === 'function' && buffer instanceof SharedArrayBuffer;
}

/** The output buffers of a run, for postMessage's transfer list (each whole, or copied). */
function ownedOutputs(value) {
  if (!value?.outputs) return [];
  for (const [kind, data] of Object.entries(value.outputs)) {
    const whole = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
    if (!whole || isShared(data.buffer)) value.outputs[kind] = data.slice();
  }
  return Object.values(value.outputs).map((data) => data.buffer);
}

self.onmessage = async ({ data: request }) => {
  const { id, type } = request;
  const report = (stage, message, fraction) => postMessage({ id, type: InferenceReply.PROGRESS, stage, message, fraction });
  try {
    if (!(type in HANDLERS)) throw new Error(`unknown inference request ${JSON.stringify(type)}`);
    if (type !== InferenceRequest.START && engine === null) throw new Error('the inference worker has not started');
    const value = await HANDLERS[type](request, report);
    postMessage({ id, type: InferenceReply.RESULT, value }, ownedOutputs(value));
  } catch (error) {
    const broken = brokenEngine(error);
    postMessage({ id, type: InferenceReply.ERROR, message: broken ?? String(error?.message ?? error), broken: broken !== null });
    if (broken) self.close(); // its heap is unusable; the host starts a new one
  }
};
