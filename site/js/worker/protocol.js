// The worker's message protocol (docs/worker-protocol.md): message types, reply
// builders and the conversion of any thrown value into a plain, cloneable error.

export const MessageType = Object.freeze({
  INIT: "init",
  READY: "ready",
  SEGMENT: "segment",
  PROGRESS: "progress",
  RESULT: "result",
});

const REQUEST_TYPES = new Set([MessageType.INIT, MessageType.SEGMENT]);

/**
 * Check a request from the page; throws a TypeError naming what is wrong.
 * @param {object} message
 */
export function validateRequest(message) {
  if (!message || !REQUEST_TYPES.has(message.type)) {
    throw new TypeError(`unknown request type ${JSON.stringify(message?.type)}; ` +
      `expected one of ${[...REQUEST_TYPES].join(", ")}`);
  }
  if (!Number.isInteger(message.id)) {
    throw new TypeError(`request ${message.type} has no integer id`);
  }
  if (message.type === MessageType.SEGMENT) validateSegment(message);
}

function validateSegment({ file, modelId }) {
  if (!file || typeof file.name !== "string" || !(file.bytes instanceof ArrayBuffer)) {
    throw new TypeError("segment needs file: {name: string, bytes: ArrayBuffer}");
  }
  if (typeof modelId !== "string" || modelId === "") {
    throw new TypeError("segment needs a modelId (a card id from models/index.json)");
  }
}

/** A progress message; `fraction` is 0..1 or null when unknown. */
export function progress(id, stage, message, fraction = null) {
  return { type: MessageType.PROGRESS, id, error: null, stage, message, fraction };
}

/**
 * Any thrown value as a plain object {name, message, filename?, stack?}.
 * Python exceptions (Pyodide's PythonError) carry the whole traceback in
 * `message`: keep only the exception's own text, the traceback goes to `stack`.
 * @param {unknown} error
 * @param {string} [filename] the user's file name, reported for input errors
 */
export function toPlainError(error, filename) {
  if (error?.constructor?.name === "PythonError" && typeof error.type === "string") {
    return pythonError(error, filename);
  }
  if (error instanceof Error) {
    return { name: error.name, message: error.message, stack: error.stack ?? null };
  }
  return { name: "Error", message: String(error), stack: null };
}

function pythonError(error, filename) {
  const traceback = error.message;
  const header = new RegExp(`^(?:[\\w.]+\\.)?${error.type}: `, "gm");
  let start = -1;
  for (const match of traceback.matchAll(header)) start = match.index + match[0].length;
  const message = start >= 0 ? traceback.slice(start).trim() : lastLine(traceback);
  const plain = { name: error.type, message, stack: traceback };
  if (error.type === "InputImageError" && filename) plain.filename = filename;
  return plain;
}

function lastLine(text) {
  const lines = text.trim().split("\n");
  return lines[lines.length - 1];
}
