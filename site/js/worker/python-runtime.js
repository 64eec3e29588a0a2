// Pyodide: load the runtime, numpy from the lock and our wheels (scipy trimmed to
// ndimage/special/_lib by build.py, nibabel, meshseg), then talk to a
// meshseg.service.Service. Python formats its own answers and errors; this module only
// converts values between the two runtimes.

/**
 * Start Pyodide and install everything meshseg needs.
 * @param {import('../types.js').Assets} assets
 * @param {(stage: string, message: string, fraction?: number|null) => void} report
 * @returns {Promise<{pyodide: object, versions: object, timings: object}>}
 */
export async function loadPython(assets, report) {
  const timings = {};
  let started = performance.now();
  report('runtime', 'Loading the Python runtime (Pyodide)', null);
  const [pyodide, { lock, wheels }] = await Promise.all([
    startPyodide(assets), fetchJson(new URL('manifest.json', assets.wheels)), // build.py's list
  ]);
  timings.runtime_ms = performance.now() - started;

  // The lock packages by name, then the wheels build.py serves (two calls: one that mixes
  // lock names with wheel URLs of lock packages, like scipy, fails in Pyodide 0.27).
  started = performance.now();
  report('runtime', 'Loading numpy', null);
  await loadPackages(pyodide, lock, lock);
  timings.packages_ms = performance.now() - started;

  started = performance.now();
  report('runtime', 'Loading scipy, nibabel and meshseg', null);
  const urls = wheels.map((name) => new URL(name, assets.wheels).href);
  await loadPackages(pyodide, urls, wheels.map(distributionName));
  timings.wheels_ms = performance.now() - started;

  started = performance.now(); // imports numpy, scipy, nibabel and meshseg (not meshseg.service)
  const versions = pythonVersions(pyodide);
  timings.imports_ms = performance.now() - started;
  return { pyodide, versions, timings };
}

async function startPyodide(assets) {
  const { loadPyodide } = await import(new URL('pyodide.mjs', assets.pyodide).href);
  return loadPyodide({ indexURL: assets.pyodide, fullStdLib: false });
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
    throw new Error(`could not load Python packages ${missing.join(', ')}: `
      + `${errors.join('; ') || 'no error reported'}`);
  }
}

/** `typing_extensions-4.12.2-py3-none-any.whl` -> `typing_extensions`. */
function distributionName(wheel) {
  return wheel.split('-')[0];
}

function pythonVersions(pyodide) {
  const versions = { pyodide: pyodide.version };
  for (const module of ['sys', 'numpy', 'scipy', 'nibabel', 'meshseg']) {
    const proxy = pyodide.pyimport(module);
    versions[module === 'sys' ? 'python' : module] = module === 'sys' ? proxy.version.split(' ')[0] : proxy.__version__;
    proxy.destroy();
  }
  return versions;
}

async function fetchJson(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`cannot fetch ${new URL(url).pathname}: HTTP ${response.status}`);
  return response.json();
}

/**
 * The Python side of the worker: one meshseg.service.Service.
 */
// Python for PythonService.fetchFromPython: the outcome of one request, failure included.
const FETCH_PROBE = `
async def _meshseg_fetch_probe(url):
    from pyodide.http import pyfetch
    try:
        response = await pyfetch(url)
    except Exception as error:  # the answer is the failure itself
        return {"fetched": False, "message": f"{type(error).__name__}: {error}"}
    return {"fetched": True, "message": f"HTTP {response.status}"}
_meshseg_fetch_probe
`;

/** The next securitypolicyviolation in this worker within `ms`, as plain data; else null. */
function nextViolation(ms) {
  return new Promise((resolve) => {
    const seen = (event) => finish({ directive: event.effectiveDirective, blocked: event.blockedURI });
    const timer = setTimeout(() => finish(null), ms);
    function finish(value) {
      clearTimeout(timer);
      self.removeEventListener('securitypolicyviolation', seen);
      resolve(value);
    }
    self.addEventListener('securitypolicyviolation', seen);
  });
}

export class PythonService {
  #pyodide;
  #service;

  /**
   * @param {object} pyodide
   * @param {Object<string, object>} cards model cards by id
   */
  constructor(pyodide, cards) {
    this.#pyodide = pyodide;
    const module = pyodide.pyimport('meshseg.service');
    const cardsPy = pyodide.toPy(cards);
    try {
      this.#service = module.Service(cardsPy);
    } finally {
      cardsPy.destroy();
      module.destroy();
    }
  }

  /**
   * One synchronous call (meshseg.service.CALLS); ArrayBuffers become Python bytes-likes.
   * @returns {{ok: true, value: any} | {ok: false, error: import('../types.js').PlainError}}
   */
  call(name, kwargs) {
    const args = this.#toPy(kwargs);
    try {
      return this.#answer(this.#service.call(name, args));
    } finally {
      args.destroy();
    }
  }

  /**
   * Run a model on an open scan through meshseg.driver (the one driver loop).
   * @param {{scan: string, model: string, options: object|null}} request
   * @param {{infer: (modelId: string, data: Float32Array, dims: number[]) =>
   *   Promise<Uint8Array|Object<string, Uint8Array|Float32Array>>,
   *   report: Function, cancelled: () => boolean}} handlers
   */
  /**
   * Test hook: fetch `url` from Python (pyodide.http.pyfetch), as code in the worker could,
   * and report the Content-Security-Policy violation it raised in this worker, if any.
   * @returns {Promise<{fetched: boolean, message: string,
   *   violation: {directive: string, blocked: string}|null}>}
   */
  async fetchFromPython(url) {
    const violation = nextViolation(2000);
    const probe = this.#pyodide.runPython(FETCH_PROBE);
    try {
      const outcome = (await probe(url)).toJs({ dict_converter: Object.fromEntries });
      return { ...outcome, violation: await violation };
    } finally {
      probe.destroy();
    }
  }

  async segment({ scan, model, options }, { infer, report, cancelled }) {
    const optionsPy = this.#toPy(options ?? null);
    const inferPy = (modelId, tensor) => this.#infer(modelId, tensor, infer);
    const progress = (event) => report(event.stage, event.message, event.fraction ?? null);
    try {
      const answer = await this.#service.segment(scan, model, optionsPy, inferPy, progress, cancelled);
      return this.#answer(answer);
    } finally {
      optionsPy?.destroy?.();
    }
  }

  /**
   * Hand the tensor to ORT without a copy on our side: getBuffer gives a view into the
   * Pyodide heap, which ORT copies once into its own heap. Taken synchronously, before
   * Pyodide may release the argument proxy.
   */
  #infer(modelId, tensor, infer) {
    const buffer = tensor.getBuffer('f32');
    if (!buffer.c_contiguous) {
      buffer.release();
      throw new Error('pipeline tensor is not C-contiguous');
    }
    return infer(modelId, buffer.data, buffer.shape.slice())
      .then((answer) => this.#answerToPy(answer))
      .finally(() => buffer.release());
  }

  /** Test hook: a WASM memory trap inside Python (Pyodide then reports a fatal error). */
  trap() {
    this.#pyodide.runPython('import ctypes; ctypes.string_at(0xFFFFFFF0, 64)');
  }

  /** Labels (a Uint8Array), or outputs by kind: a Python dict of memoryviews. */
  #answerToPy(answer) {
    if (ArrayBuffer.isView(answer)) return this.#pyodide.toPy(answer);
    const bytes = Object.fromEntries(Object.entries(answer).map(
      ([kind, data]) => [kind, new Uint8Array(data.buffer, data.byteOffset, data.byteLength)],
    ));
    return this.#pyodide.toPy(bytes); // meshseg.pipeline reads each as its kind's dtype
  }

  #toPy(value) {
    const plain = value === null || value === undefined ? value : convertBuffers(value);
    return this.#pyodide.toPy(plain);
  }

  #answer(proxy) {
    try {
      const answer = proxy.toJs({ dict_converter: Object.fromEntries, create_pyproxies: false });
      return answer.ok ? { ok: true, value: ownBuffers(answer.value) } : answer;
    } finally {
      proxy.destroy();
    }
  }
}

/** ArrayBuffer fields as Uint8Arrays (which Pyodide turns into Python buffers). */
function convertBuffers(object) {
  return Object.fromEntries(Object.entries(object).map(
    ([key, value]) => [key, value instanceof ArrayBuffer ? new Uint8Array(value) : value],
  ));
}

/** An answer whose bytes (itself, or its top-level fields) are ArrayBuffers of their own. */
function ownBuffers(value) {
  if (value instanceof Uint8Array) return ownBuffer(value);
  if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).map(
    ([key, item]) => [key, item instanceof Uint8Array ? ownBuffer(item) : item],
  ));
}

function ownBuffer(bytes) {
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  return whole ? bytes.buffer : bytes.slice().buffer;
}

/** The ArrayBuffers among a value's top-level fields (for postMessage's transfer list). */
export function transferables(value) {
  if (!value || typeof value !== 'object') return [];
  return Object.values(value).filter((item) => item instanceof ArrayBuffer);
}
