// Shapes of the values MeshSeg's API and worker exchange (JSDoc typedefs, checked by editors;
// the worker protocol is described in docs/worker-protocol.md). This module exports nothing
// at run time.

/**
 * @typedef {object} Assets where the runtime files are (js/assets.js)
 * @property {string} base the site folder (holds index.html)
 * @property {string} pyodide @property {string} wheels @property {string} ort
 * @property {string} models @property {string} modelsIndex @property {string} worker
 * @property {string} example @property {string} version
 */

/**
 * @typedef {object} SegmenterSettings
 * @property {string|URL} [baseUrl] the MeshSeg site folder (default: where meshseg.js is served)
 * @property {'auto'|'wasm'|'webgpu'} [provider] default auto
 * @property {number} [threads] WASM threads (default: cores up to 8 when cross-origin isolated, else 1)
 * @property {'disabled'|'basic'|'extended'|'layout'|'all'} [optimisation] ORT graph optimisation, default all
 * @property {(p: Progress) => void} [onProgress] start-up progress
 * @property {() => Worker} [createWorker] start the worker yourself (tests)
 * @property {number} [graceMs] how long a cancelled run may take before the worker is restarted
 * @property {boolean} [debug] enable the crash test hook (debugCrash); for tests only
 */

/**
 * @typedef {object} Progress
 * @property {string} stage one of STAGES in constants.js
 * @property {string} message plain words
 * @property {number|null} fraction 0..1, or null when unknown
 */

/**
 * @typedef {object} PlainError an error as data (Python: meshseg.errors.error_object)
 * @property {'input'|'option'|'model'|'cancelled'|'internal'|'crashed'} kind
 * @property {string|null} file the input's name
 * @property {string|null} option the option's name
 * @property {string} message the whole sentence to show
 * @property {string} hint what would work, or ""
 */

/**
 * @typedef {object} LabelRow
 * @property {number} label @property {string} name @property {number} voxels @property {number} ml
 */

/**
 * @typedef {object} SegmentResult (meshseg.service.result_payload + the worker's additions)
 * @property {string} model the card id
 * @property {'native'|'conformed'} space
 * @property {string} maskName `<stem>_<model>_labels.nii.gz`
 * @property {ArrayBuffer} mask the label image, .nii.gz, on the input's grid
 * @property {ArrayBuffer} labelsNifti the same image uncompressed (.nii), for viewers
 * @property {ArrayBuffer} [viewerLabelsNifti] for a scan over 256³ voxels: the labels at the
 *   viewer's stride (what the viewer shows; labelsNifti stays full resolution)
 * @property {LabelRow[]} stats per label, background left out
 * @property {string} statsCsv @property {string} statsJson
 * @property {string[]} notices things to know about the input
 * @property {string[]} warnings things that look wrong in the result
 * @property {Object<string, number>} timings seconds per stage (Python work; premodel and
 *   inference include the model runs, timed by the driver)
 * @property {string[]} reused stages answered from the scan session's cache
 * @property {object[]} work one entry per network run: model, shape, voxels, gflop, seconds
 * @property {{model: string, provider: string, loadMs: number, runMs: number}[]} inference
 * @property {{provider: string, threads: number, optimisation: string, fallbackReason: string|null}} backend
 * @property {object} scanInfo shape, voxel size, orientation, dtype, format, notices
 * @property {Quality|null} quality the result's quality score (docs/quality.md); null for an
 *   image-to-image model
 */

/**
 * @typedef {object} SegmentOptions the `options` of segment() (meshseg.options.SegmentOptions;
 *   an unknown key or a wrong type rejects with kind "option")
 * @property {'native'|'conformed'} [space] @property {boolean} [crop] @property {boolean} [exact_crop]
 * @property {boolean} [largest_component] @property {boolean} [clean_classes]
 * @property {'majority'|'nearest'} [resample] @property {number|null} [tile_mb]
 * @property {boolean} [tta] test-time augmentation: the model also runs on the mirrored scan
 *   and the two are averaged (about twice the model time); default false
 */

/**
 * @typedef {object} Quality how far to trust a labels result (meshseg.quality; docs/quality.md).
 *   A public contract: new fields may be added, none renamed.
 * @property {1} version
 * @property {number} score 0..1, the predicted agreement with the truth
 * @property {boolean} flagged score under `threshold`, or a hard failure (e.g. reversed contrast)
 * @property {number} threshold
 * @property {string[]} reasons plain sentences
 * @property {{snr: number|null, cnr: number|null, cjv: number|null, efc: number|null,
 *   fber: number|null}} image image quality metrics
 * @property {Object<string, string>} missing why each null metric could not be computed
 * @property {{expected: 'T1'|'T2'|'any', observed: 'T1'|'FLAIR/T2'|'unclear'|null,
 *   ok: boolean|null}} contrast
 * @property {Object<string, number>} labels per-structure score 0..1, by class name
 * @property {Object<string, number>} signals the score's inputs, for experts
 * @property {boolean} tta whether test-time augmentation was on
 */

/**
 * @typedef {object} Backend how the networks run (js/worker/backend.js)
 * @property {'wasm'|'webgpu'} provider the one in use (WebGPU may give way to WASM)
 * @property {number} threads WASM threads
 * @property {boolean} crossOriginIsolated whether the page is (threads need it)
 * @property {string|null} threadsReason why WASM runs on one thread (not isolated), or null
 * @property {'disabled'|'basic'|'extended'|'layout'|'all'} optimisation ORT graph optimisation
 * @property {string|null} fallbackReason why WebGPU is not used, or null
 * @property {boolean} canFallBack whether WebGPU may give way to WASM (provider "auto")
 * @property {{vendor: string, architecture: string, device: string, description: string,
 *   software: boolean}|null} adapter the WebGPU adapter offered (null: none, or not probed)
 * @property {object} requested the runner options as asked
 */

/**
 * @typedef {object} ProgressReply
 * @property {number} v @property {number} id @property {'progress'} type
 * @property {string} stage @property {string} message @property {number|null} fraction
 */

export {};
