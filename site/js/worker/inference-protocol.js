// Messages between the MeshSeg worker (inference-host.js) and its inference worker
// (inference-worker.js). Every request carries an id; the inference worker answers it with
// any number of `progress` messages, then one `result` or `error`.

export const InferenceRequest = Object.freeze({ START: 'start', RUN: 'run', ADD_MODEL: 'addModel' });

export const InferenceReply = Object.freeze({ PROGRESS: 'progress', RESULT: 'result', ERROR: 'error' });

/**
 * Why ONNX Runtime is unusable after `error`, or null: out of memory leaves its
 * WebAssembly heap in an unknown state.
 * @param {unknown} error
 * @returns {string|null}
 */
export function brokenEngine(error) {
  const text = String(error?.message ?? error);
  if (!/bad_alloc|out of memory|Aborted\(OOM\)|memory access out of bounds/i.test(text)) return null;
  return 'the model needed more memory than this browser tab can give it (WebAssembly is '
    + `limited to 4 GB; ${text.slice(0, 120)})`;
}
