// Pyodide: load the runtime, numpy/scipy from the lock, our wheels, and drive a
// meshseg.pipeline.Job (progress | infer | done events) to its result.

const SITE_URL = new URL("../../", import.meta.url);
const PYODIDE_URL = new URL("pyodide/", SITE_URL);
const WHEELS_URL = new URL("wheels/", SITE_URL);
const LOCK_PACKAGES = ["numpy", "scipy", "packaging"];

/**
 * Start Pyodide and install everything meshseg needs.
 * @param {(stage: string, message: string, fraction?: number|null) => void} report
 * @returns {Promise<{pyodide: object, versions: object, timings: object}>}
 */
export async function loadPython(report) {
  const timings = {};
  let started = performance.now();
  report("runtime", "Loading the Python runtime (Pyodide)", null);
  const { loadPyodide } = await import(new URL("pyodide.mjs", PYODIDE_URL).href);
  const pyodide = await loadPyodide({ indexURL: PYODIDE_URL.href, fullStdLib: false });
  timings.runtime_ms = performance.now() - started;

  started = performance.now();
  report("runtime", "Loading numpy and scipy", null);
  await loadPackages(pyodide, LOCK_PACKAGES, LOCK_PACKAGES);
  timings.packages_ms = performance.now() - started;

  started = performance.now();
  report("runtime", "Loading nibabel and meshseg", null);
  const wheels = await fetchJson(new URL("manifest.json", WHEELS_URL));
  const urls = wheels.wheels.map((name) => new URL(name, WHEELS_URL).href);
  await loadPackages(pyodide, urls, wheels.wheels.map(distributionName));
  timings.wheels_ms = performance.now() - started;
  return { pyodide, versions: pythonVersions(pyodide), timings };
}

/**
 * pyodide.loadPackage reports failures through a callback instead of throwing:
 * collect them and check that every expected package is loaded.
 */
async function loadPackages(pyodide, names, expected) {
  const errors = [];
  await pyodide.loadPackage(names, {
    messageCallback: () => {},
    errorCallback: (message) => errors.push(message),
    checkIntegrity: true,
  });
  const missing = expected.filter((name) => !(name in pyodide.loadedPackages));
  if (missing.length > 0 || errors.length > 0) {
    throw new Error(`could not load Python packages ${missing.join(", ")}: ` +
      `${errors.join("; ") || "no error reported"}`);
  }
}

/** `typing_extensions-4.12.2-py3-none-any.whl` -> `typing_extensions`, the key
 * pyodide.loadedPackages uses for a wheel loaded from a URL. */
function distributionName(wheel) {
  return wheel.split("-")[0];
}

function pythonVersions(pyodide) {
  const versions = { pyodide: pyodide.version };
  for (const module of ["sys", "numpy", "scipy", "nibabel", "meshseg"]) {
    const proxy = pyodide.pyimport(module);
    versions[module === "sys" ? "python" : module] =
      module === "sys" ? proxy.version.split(" ")[0] : proxy.__version__;
    proxy.destroy();
  }
  return versions;
}

async function fetchJson(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`cannot fetch ${url.pathname}: HTTP ${response.status}`);
  return response.json();
}

/**
 * Run a segmentation job to completion.
 * @param {object} pyodide
 * @param {{name: string, bytes: ArrayBuffer}} file
 * @param {Object<string, object>} cards model cards by id
 * @param {string} modelId
 * @param {object|null} options
 * @param {{infer: Function, report: Function}} handlers
 *   `infer(modelId, Float32Array, dims)` resolves to a Uint8Array of labels
 * @returns {Promise<object>} the result (see resultOf)
 */
export async function runJob(pyodide, file, cards, modelId, options, handlers) {
  const job = createJob(pyodide, file, cards, modelId, options);
  try {
    return await drive(pyodide, job, handlers);
  } finally {
    job.destroy();
  }
}

function createJob(pyodide, file, cards, modelId, options) {
  const pipeline = pyodide.pyimport("meshseg.pipeline");
  const data = pyodide.toPy(new Uint8Array(file.bytes));
  const cardsPy = pyodide.toPy(cards);
  const optionsPy = pyodide.toPy(options ?? null);
  try {
    return pipeline.Job(data, file.name, cardsPy, modelId, optionsPy);
  } finally {
    [pipeline, data, cardsPy, optionsPy].forEach((proxy) => proxy?.destroy?.());
  }
}

async function drive(pyodide, job, { infer, report }) {
  let answer = null;
  for (;;) {
    let event;
    try {
      event = job.advance(answer);
    } finally {
      answer?.destroy();
      answer = null;
    }
    try {
      const kind = event.kind;
      if (kind === "done") return resultOf(event);
      if (kind === "progress") report(event.stage, event.message, event.fraction ?? null);
      else if (kind === "infer") answer = pyodide.toPy(await inferEvent(event, infer));
      else throw new Error(`unexpected pipeline event ${JSON.stringify(kind)}`);
    } finally {
      event.destroy();
    }
  }
}

/**
 * Hand the tensor to ORT without a copy on our side: getBuffer gives a view into
 * the Pyodide heap, which ORT copies once into its own heap.
 */
async function inferEvent(event, infer) {
  const tensor = event.tensor;
  const buffer = tensor.getBuffer("f32");
  try {
    if (!buffer.c_contiguous) throw new Error("pipeline tensor is not C-contiguous");
    return await infer(event.model_id, buffer.data, buffer.shape.slice());
  } finally {
    buffer.release();
    tensor.destroy();
  }
}

/**
 * The job's result for the page: `Result.to_dict()` with its top-level keys in
 * camelCase (nested values keep Python's keys), the CSV/JSON texts and the mask.
 */
function resultOf(event) {
  const result = event.result;
  try {
    const dict = result.to_dict();
    const plain = dict.toJs({ dict_converter: Object.fromEntries, create_pyproxies: false });
    dict.destroy();
    const entries = Object.entries(plain).map(([key, value]) => [camelCase(key), value]);
    return {
      ...Object.fromEntries(entries),
      statsCsv: result.stats_csv,
      statsJson: result.stats_json,
      mask: maskBuffer(result),
    };
  } finally {
    result.destroy();
  }
}

/** The label NIfTI bytes as an ArrayBuffer of their own (transferable). */
function maskBuffer(result) {
  const proxy = result.mask_bytes;
  const bytes = proxy.toJs();
  proxy.destroy();
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  return whole ? bytes.buffer : bytes.slice().buffer;
}

function camelCase(key) {
  return key.replace(/_([a-z0-9])/g, (_, letter) => letter.toUpperCase());
}
