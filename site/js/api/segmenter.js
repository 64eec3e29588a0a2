// The MeshSeg JavaScript API (served as dist/meshseg.js): open a scan once, run any number
// of models on it, measure, save and compare label images. Everything runs in a Web Worker
// of this origin's MeshSeg files; nothing leaves the browser. See docs/embedding.md.

import { siteAssets } from '../assets.js';
import { checkRunnerOptions } from '../worker/backend.js';
import { RequestType } from '../worker/protocol.js';
import { SegmenterError, WorkerClient, startModuleWorker } from './worker-client.js';

export { SegmenterError };

/**
 * Start a segmenter and wait until its runtime is ready.
 * @param {import('../types.js').SegmenterSettings} [settings]
 * @returns {Promise<Segmenter>}
 */
export async function createSegmenter(settings = {}) {
  const segmenter = new Segmenter(settings);
  await segmenter.ready(settings.onProgress);
  return segmenter;
}

/** A scan opened in the segmenter: `id`, `name`, `info` (shape, voxel size, orientation…). */
export class Scan {
  constructor(name, data) {
    this.name = name;
    this.data = data; // kept to re-open the scan after a worker restart
    this.id = null;
    this.info = null;
    this.generation = -1;
    this.closed = false;
  }
}

export class Segmenter {
  #client;
  #assets;
  #runner;
  #started = null; // {generation, promise}
  #debug;

  /** @param {import('../types.js').SegmenterSettings} [settings] */
  constructor({ baseUrl, provider, threads, optimisation, createWorker, graceMs, debug = false } = {}) {
    this.#debug = debug === true;
    this.#runner = checkRunnerOptions(definedOnly({ provider, threads, optimisation }));
    this.#assets = siteAssets(baseUrl);
    const start = createWorker ?? (() => startModuleWorker(this.#assets.worker));
    this.#client = new WorkerClient({ createWorker: start, graceMs });
    /** @type {object|null} versions and backend, after ready() */
    this.info = null;
    /** @type {object[]} the model cards, after ready() */
    this.models = [];
  }

  /** The asset URLs in use. */
  get assets() {
    return { ...this.#assets };
  }

  /**
   * Start (or restart after a crash or a forced cancel) the runtime; idempotent.
   * @param {(p: import('../types.js').Progress) => void} [onProgress]
   */
  ready(onProgress) {
    const live = this.#started && this.#started.generation === this.#client.generation
      && this.#client.alive;
    if (!live) {
      const promise = this.#client.request(RequestType.INIT,
        { options: this.#runner, assets: { base: this.#assets.base }, debug: this.#debug }, { onProgress })
        .then(({ info, models }) => {
          this.info = info;
          this.models = models;
          return this;
        });
      this.#started = { generation: this.#client.generation, promise };
      promise.catch(() => { if (this.#started?.promise === promise) this.#started = null; });
    }
    return this.#started.promise;
  }

  /**
   * Load and validate a scan (NIfTI, MGH/MGZ).
   * @param {File|Blob|ArrayBuffer|ArrayBufferView} input
   * @param {string} [name] required unless `input` is a File
   * @param {{viewer?: boolean, onProgress?: Function, signal?: AbortSignal}} [how]
   *   `viewer: true` also returns `viewerImage`, the validated scan as uncompressed NIfTI
   * @returns {Promise<Scan>}
   */
  async open(input, name, { viewer = false, onProgress, signal } = {}) {
    const fileName = name ?? input?.name;
    if (typeof fileName !== 'string' || fileName === '') {
      throw new TypeError('open(input, name): name the scan (e.g. "scan.nii.gz")');
    }
    const scan = new Scan(fileName, await toArrayBuffer(input));
    const opened = await this.#open(scan, { viewer, onProgress, signal });
    return Object.assign(scan, viewer ? { viewerImage: opened.viewerImage } : {});
  }

  /**
   * Run a model on an open scan.
   * @param {Scan} scan
   * @param {string} model a card id (see `models`)
   * @param {{options?: import('../types.js').SegmentOptions|null, onProgress?: Function,
   *   signal?: AbortSignal}} [how] `options` go to Python as given (e.g. `{tta: true}`)
   * @returns {Promise<import('../types.js').SegmentResult>} with `quality` (null for an image model)
   */
  async segment(scan, model, { options = null, onProgress, signal } = {}) {
    await this.#live(scan, onProgress, signal);
    return this.#client.request(RequestType.SEGMENT, { scan: scan.id, model, options },
      { onProgress, signal });
  }

  /** Volumes of label voxels (uint8, the scan's grid, NIfTI order) named by `model`'s card. */
  async measure(scan, labels, model) {
    await this.#live(scan);
    return this.#client.request(RequestType.MEASURE, { scan: scan.id, model, labels: bufferOf(labels) });
  }

  /** A label NIfTI (.nii.gz, the scan's grid, anonymised) of `labels`, and its volumes. */
  async save(scan, labels, model, { edited = true } = {}) {
    await this.#live(scan);
    return this.#client.request(RequestType.SAVE, { scan: scan.id, model, labels: bufferOf(labels), edited });
  }

  /**
   * One output file of `labels` (uint8, the scan's grid, NIfTI order) written in Python by
   * meshseg.export: format 'report', 'stats', 'csv', 'json', 'mesh' or 'dicom-seg'.
   * @param {Scan} scan
   * @param {ArrayBuffer|Uint8Array} labels
   * @param {string} model
   * @param {string} format
   * @param {{extension?: string, options?: object, warnings?: string[], notices?: string[], runtime?: object}} [how]
   * @returns {Promise<{name: string, mime: string, data: ArrayBuffer}>}
   */
  async export(scan, labels, model, format, { extension = null, options = null, warnings = [], notices = [], runtime = null } = {}) {
    await this.#live(scan);
    return this.#client.request(RequestType.EXPORT, {
      scan: scan.id, model, labels: bufferOf(labels), format, extension, options, warnings, notices, runtime,
    });
  }

  /** A reference label file resampled (nearest neighbour, world space) onto the scan's grid. */
  async reference(scan, input, name) {
    await this.#live(scan);
    const data = await toArrayBuffer(input);
    return this.#client.request(RequestType.REFERENCE, { scan: scan.id, name: name ?? input?.name, data });
  }

  /** Per-label volumes and Dice of two label images on the scan's grid, and a difference map. */
  async compare(scan, a, b, classesA, classesB = null) {
    await this.#live(scan);
    return this.#client.request(RequestType.COMPARE,
      { scan: scan.id, a: bufferOf(a), b: bufferOf(b), classesA, classesB });
  }

  /** Forget a scan in the worker and free its arrays. */
  async close(scan) {
    scan.closed = true;
    if (scan.generation !== this.#client.generation || !this.#client.alive) return { bytesReleased: 0 };
    return this.#client.request(RequestType.CLOSE, { scan: scan.id });
  }

  /** Open scans and the bytes they hold in the worker. */
  /**
   * Use your own model: a version 2 card (object) and its ONNX bytes, checked in the worker
   * before any run (each failure a named error: card, not-onnx, opset, operator, input-shape,
   * output-missing, too-large). The model stays in the worker's memory (not cached); a
   * restarted worker forgets it.
   * @returns {Promise<object>} the flat card, also added to `models`
   */
  async addModel(card, data) {
    await this.ready();
    const { card: flat } = await this.#client.request(RequestType.ADD_MODEL,
      { card, data: await toArrayBuffer(data) });
    this.models = [...this.models.filter((model) => model.id !== flat.id), flat];
    return flat;
  }

  async status() {
    await this.ready();
    return this.#client.request(RequestType.STATUS, {});
  }

  /** Test hook (a segmenter created with `debug: true`): make the worker crash ("throw": an
   * uncaught error; "trap": a WASM memory fault inside Python). */
  async debugCrash(action) {
    await this.ready();
    return this.#client.request(RequestType.DEBUG, { action });
  }

  /** Test hook (a segmenter created with `debug: true`): have Python in the worker fetch
   * `url`; answers `{fetched, message}`. */
  async debugFetch(url) {
    await this.ready();
    return this.#client.request(RequestType.DEBUG, { action: 'fetch', url });
  }

  /** Stop the worker at once (pending calls reject as cancelled); the next call restarts it. */
  terminate() {
    this.#client.terminate();
  }

  async #open(scan, { viewer = false, onProgress, signal } = {}) {
    await this.ready(onProgress);
    onProgress?.({ stage: 'load', message: `Reading ${scan.name}`, fraction: null });
    const opened = await this.#client.request(RequestType.OPEN,
      { name: scan.name, data: scan.data, viewer }, { onProgress, signal });
    Object.assign(scan, { id: opened.scan, info: opened.info, generation: this.#client.generation });
    return opened;
  }

  /** Make sure `scan` is open in the current worker (re-opening it after a restart). */
  async #live(scan, onProgress, signal) {
    if (!(scan instanceof Scan)) throw new TypeError('pass a scan returned by open()');
    if (scan.closed) throw new TypeError(`${scan.name} was closed; open it again`);
    await this.ready(onProgress);
    if (scan.generation !== this.#client.generation) await this.#open(scan, { onProgress, signal });
  }
}

function definedOnly(object) {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined && value !== null));
}

/** An ArrayBuffer of a File, Blob, ArrayBuffer or typed array (a copy for views). */
export async function toArrayBuffer(input) {
  if (input instanceof ArrayBuffer) return input;
  if (ArrayBuffer.isView(input)) return bufferOf(input);
  if (typeof Blob !== 'undefined' && input instanceof Blob) return input.arrayBuffer();
  throw new TypeError('a scan must be a File, Blob, ArrayBuffer or typed array');
}

/** The bytes of a typed array or ArrayBuffer as an ArrayBuffer of their own. */
function bufferOf(labels) {
  if (labels instanceof ArrayBuffer) return labels;
  if (ArrayBuffer.isView(labels)) {
    return labels.buffer.slice(labels.byteOffset, labels.byteOffset + labels.byteLength);
  }
  throw new TypeError('labels must be an ArrayBuffer or a Uint8Array of voxels');
}
