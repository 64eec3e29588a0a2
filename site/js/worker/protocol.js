// The worker protocol, version 2 (docs/worker-protocol.md): request types, the check of a
// request's fields, and the reply builders. Every request carries an integer `id`; every
// reply echoes it. Errors are plain objects {kind, file, option, message, hint}, built by
// Python for Python errors (meshseg.errors.error_object) and by jsError() here.

import { PROTOCOL_VERSION } from '../constants.js';

export { PROTOCOL_VERSION };

export const RequestType = Object.freeze({
  INIT: 'init', OPEN: 'open', SEGMENT: 'segment', MEASURE: 'measure', SAVE: 'save', EXPORT: 'export',
  REFERENCE: 'reference', COMPARE: 'compare', CLOSE: 'close', STATUS: 'status', CANCEL: 'cancel',
  DEBUG: 'debug',
  ADD_MODEL: 'addModel',
});

export const ReplyType = Object.freeze({ PROGRESS: 'progress', RESULT: 'result', ERROR: 'error' });

const isBuffer = (value) => value instanceof ArrayBuffer;
const isText = (value) => typeof value === 'string' && value !== '';
const isList = (value) => Array.isArray(value);
const isObjectOrNull = (value) => value === null || value === undefined
  || (typeof value === 'object' && !Array.isArray(value));

// Fields each request must have: name -> [check, what is expected].
const FIELDS = {
  init: { options: [isObjectOrNull, 'runner options or null'], assets: [isObjectOrNull, 'asset URLs or null'],
    debug: [(value) => value === undefined || typeof value === 'boolean', 'true or false'] },
  open: { name: [isText, 'the file name'], data: [isBuffer, 'an ArrayBuffer'] },
  segment: { scan: [isText, 'a scan id'], model: [isText, 'a model id'], options: [isObjectOrNull, 'options or null'] },
  measure: { scan: [isText, 'a scan id'], model: [isText, 'a model id'], labels: [isBuffer, 'an ArrayBuffer of label voxels'] },
  save: { scan: [isText, 'a scan id'], model: [isText, 'a model id'], labels: [isBuffer, 'an ArrayBuffer of label voxels'] },
  export: { scan: [isText, 'a scan id'], model: [isText, 'a model id'], labels: [isBuffer, 'an ArrayBuffer of label voxels'],
    format: [isText, 'an output format (meshseg.export.registry.FORMATS)'], options: [isObjectOrNull, 'writer options or null'] },
  reference: { scan: [isText, 'a scan id'], name: [isText, 'the file name'], data: [isBuffer, 'an ArrayBuffer'] },
  compare: { scan: [isText, 'a scan id'], a: [isBuffer, 'an ArrayBuffer'], b: [isBuffer, 'an ArrayBuffer'], classesA: [isList, 'a list of classes'] },
  close: { scan: [isText, 'a scan id'] },
  addModel: { card: [(value) => isObjectOrNull(value) && value !== null && value !== undefined, 'a model card object'], data: [isBuffer, 'an ArrayBuffer of ONNX bytes'] },
  status: {},
  cancel: { target: [Number.isInteger, 'the id of the request to cancel'] },
  // Test hooks, honoured only by a worker started with `debug: true`: make it crash, or
  // have Python fetch `url` (the site's Content-Security-Policy must refuse other origins).
  debug: { action: [(value) => ['throw', 'trap', 'fetch'].includes(value), '"throw", "trap" or "fetch"'],
    url: [(value) => value === undefined || isText(value), 'a URL (for "fetch")'] },
};

/**
 * Check a request; throws a TypeError naming the bad field.
 * @param {any} message
 */
export function checkRequest(message) {
  if (!message || typeof message !== 'object') throw new TypeError('a request must be an object');
  if (message.v !== PROTOCOL_VERSION) {
    throw new TypeError(`protocol version ${JSON.stringify(message.v)} is not supported; this worker speaks v${PROTOCOL_VERSION}`);
  }
  if (!Number.isInteger(message.id)) throw new TypeError(`request ${message.type} has no integer id`);
  const fields = FIELDS[message.type];
  if (!fields) {
    throw new TypeError(`unknown request type ${JSON.stringify(message.type)}; expected one of ${Object.keys(FIELDS).join(', ')}`);
  }
  for (const [name, [check, expected]] of Object.entries(fields)) {
    if (!check(message[name])) throw new TypeError(`${message.type} request: ${name} must be ${expected}`);
  }
}

/** @returns {import('../types.js').ProgressReply} */
export function progress(id, stage, message, fraction = null) {
  return { v: PROTOCOL_VERSION, id, type: ReplyType.PROGRESS, stage, message, fraction };
}

export function result(id, value) {
  return { v: PROTOCOL_VERSION, id, type: ReplyType.RESULT, value };
}

/** @param {import('../types.js').PlainError} error */
export function failure(id, error) {
  return { v: PROTOCOL_VERSION, id, type: ReplyType.ERROR, error };
}

/**
 * A JavaScript exception as a plain error object (Python builds its own).
 * @param {unknown} error
 * @param {string} [kind] default "internal"
 * @returns {import('../types.js').PlainError}
 */
export function jsError(error, kind = 'internal') {
  const message = error instanceof Error ? `${error.message}` : String(error);
  return { kind, file: null, option: null, message, hint: '' };
}
