// dist/embed.html: MeshSeg in a (cross-origin) iframe, driven by postMessage.
//
// frame -> parent when ready : {type: "meshseg:ready", version, protocol}
// parent -> frame            : {type: "meshseg:segment", id, name, data: ArrayBuffer, model, options?}
//                              (options: the segment options, e.g. {tta: true}, passed through)
// frame -> parent            : {type: "meshseg:progress", id, stage, fraction, message} (any number)
//                              then {type: "meshseg:result", id, maskName, mask: ArrayBuffer,
//                              stats: [{label, name, voxels, ml}], warnings, notices, quality,
//                              threads, crossOriginIsolated, backend}
//                              or {type: "meshseg:error", id, message, kind, file}
// Messages are accepted only from the origins in ?origins= (comma-separated) and the frame's
// own origin; anything else is ignored, unanswered. Replies go only to the window that asked,
// addressed to its origin. See docs/embedding.md.

import { createSegmenter } from './api/segmenter.js';
import { PROTOCOL_VERSION } from './constants.js';
import { createStatus } from './ui/status.js';

/**
 * The origins allowed to drive the frame: ?origins= plus its own.
 * @param {string} search location.search
 * @param {string} own location.origin
 * @returns {Set<string>}
 */
export function allowedOrigins(search, own) {
  const listed = (new URLSearchParams(search).get('origins') ?? '').split(',')
    .map((text) => text.trim()).filter(Boolean)
    .map((text) => {
      try {
        return new URL(text).origin;
      } catch {
        throw new TypeError(`?origins= lists ${JSON.stringify(text)}, which is not an origin like https://example.org`);
      }
    });
  return new Set([own, ...listed]);
}

/** A checked meshseg:segment request, or a TypeError naming the bad field. */
export function checkSegmentMessage(message) {
  if (!Number.isInteger(message.id) && typeof message.id !== 'string') throw new TypeError('meshseg:segment needs an id (number or string)');
  if (typeof message.name !== 'string' || message.name === '') throw new TypeError('meshseg:segment needs the file name in `name`');
  if (!(message.data instanceof ArrayBuffer)) throw new TypeError('meshseg:segment needs the file bytes in `data` (an ArrayBuffer)');
  if (typeof message.model !== 'string' || message.model === '') throw new TypeError('meshseg:segment needs a model id in `model`');
  return message;
}

/**
 * The meshseg:result message of a segment result (its `mask` is to be transferred).
 * `quality` is the result's quality score (docs/quality.md), null for an image model.
 * @param {number|string} id the request's id
 * @param {import('./types.js').SegmentResult} result
 * @param {boolean} isolated whether the frame is cross-origin isolated
 */
export function resultMessage(id, result, isolated) {
  const stats = result.stats.map(({ label, name, voxels, ml }) => ({ label, name, voxels, ml }));
  return {
    type: 'meshseg:result', id, maskName: result.maskName, mask: result.mask, stats,
    warnings: result.warnings, notices: result.notices, quality: result.quality ?? null,
    threads: result.backend.threads, crossOriginIsolated: isolated, backend: result.backend,
  };
}

async function segmentFor(segmenter, message, reply) {
  const scan = await segmenter.open(message.data, message.name);
  try {
    const onProgress = ({ stage, fraction, message: text }) => reply({ type: 'meshseg:progress', id: message.id, stage, fraction, message: text });
    const result = await segmenter.segment(scan, message.model, { options: message.options ?? null, onProgress });
    reply(resultMessage(message.id, result, globalThis.crossOriginIsolated === true), [result.mask]);
  } finally {
    await segmenter.close(scan);
  }
}

async function main() {
  const status = createStatus(document.querySelector('[data-testid="status"]'));
  let allowed;
  try {
    allowed = allowedOrigins(location.search, location.origin);
  } catch (error) {
    status.set('error', error.message);
    return;
  }
  const query = new URLSearchParams(location.search);
  const runner = Object.fromEntries(['provider', 'threads', 'optimisation'].filter((k) => query.has(k)).map((k) => [k, query.get(k)]));
  const waiting = [];
  let segmenter = null;
  let queue = Promise.resolve();

  const handle = (event) => {
    if (!allowed.has(event.origin) || event.data?.type !== 'meshseg:segment') return;
    const reply = (message, transfer = []) => event.source?.postMessage(message, { targetOrigin: event.origin, transfer });
    queue = queue.then(async () => {
      try {
        checkSegmentMessage(event.data);
        status.set('running', `Segmenting ${event.data.name} with ${event.data.model}…`);
        await segmentFor(segmenter, event.data, reply);
        status.set('done', `Sent the labels of ${event.data.name} back to ${event.origin}.`);
      } catch (error) {
        status.set('error', error.message);
        reply({ type: 'meshseg:error', id: event.data.id ?? null, message: error.message, kind: error.kind ?? 'input', file: error.file ?? null });
      }
    });
  };
  // Requests that arrive while the runtime starts are kept and handled once it is ready.
  window.addEventListener('message', (event) => (segmenter ? handle(event) : waiting.push(event)));

  status.set('loading', 'Starting the in-browser runtime…');
  try {
    segmenter = await createSegmenter({ ...runner, onProgress: ({ message }) => status.set('loading', message) });
  } catch (error) {
    status.set('error', `The segmentation runtime could not start: ${error.message}`);
    return;
  }
  const threads = segmenter.info.backend.threads;
  status.set('idle', `Ready (${segmenter.info.backend.provider}, ${threads} thread${threads === 1 ? '' : 's'}). Waiting for a scan from ${[...allowed].join(', ')}.`);
  for (const origin of allowed) {
    window.parent.postMessage({ type: 'meshseg:ready', version: segmenter.info.meshseg, protocol: PROTOCOL_VERSION }, origin);
  }
  waiting.splice(0).forEach(handle);
}

if (typeof window !== 'undefined' && document.querySelector('[data-testid="status"]')) main();
