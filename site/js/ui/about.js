// About panel: component versions, the inference backend, and each model's ONNX sha256.

/**
 * Plain-words description of an inference backend.
 * @param {{provider: string, threads?: number, optimisation?: string,
 *   fallbackReason?: string|null, threadsReason?: string|null, adapter?: object|null}|null} backend
 * @returns {string}
 */
export function describeBackend(backend) {
  if (!backend) {
    return 'not started yet';
  }
  const name = backend.provider === 'webgpu' ? `WebGPU${adapterName(backend.adapter)}`
    : backend.provider === 'wasm' ? 'WebAssembly (CPU)' : backend.provider;
  const threads = backend.threads ? `, ${backend.threads} thread${backend.threads === 1 ? '' : 's'}` : '';
  const optimisation = backend.optimisation ? `, graph optimisation ${backend.optimisation}` : '';
  const reasons = [backend.fallbackReason, backend.provider === 'wasm' ? backend.threadsReason : null]
    .filter(Boolean);
  return `${name}${threads}${optimisation}${reasons.length > 0 ? ` (${reasons.join('; ')})` : ''}`;
}

/** ` on <vendor architecture description>` for a WebGPU adapter ('' when unknown). */
function adapterName(adapter) {
  if (!adapter) return '';
  const words = [adapter.vendor, adapter.architecture, adapter.description].filter(Boolean);
  const software = adapter.software ? ', a software adapter' : '';
  return words.length > 0 || software ? ` on ${words.join(' ') || 'an unnamed adapter'}${software}` : '';
}

function entries(info, niivueVersion) {
  return [
    ['MeshSeg', info.meshseg],
    ['Pyodide', info.pyodide],
    ['Python', info.python],
    ['numpy', info.numpy],
    ['scipy', info.scipy],
    ['nibabel', info.nibabel],
    ['onnxruntime-web', info.onnxruntimeWeb],
    ['NiiVue', niivueVersion],
    ['Cross-origin isolated', info.crossOriginIsolated ? 'yes (multi-threading available)'
      : 'no: WebAssembly runs on one thread (the host sends no COOP/COEP headers)'],
  ];
}

/**
 * Manage the About panel.
 * @param {object} elements
 * @param {HTMLDListElement} elements.list - versions and backend
 * @param {HTMLUListElement} elements.models - one item per model with its sha256
 * @returns {{show: (info: object, models: object[], niivueVersion: string) => void,
 *            setBackend: (backend: object) => void}}
 */
export function createAbout({ list, models }) {
  const backend = document.createElement('dd');

  function show(info, cards, niivueVersion) {
    list.replaceChildren();
    for (const [term, value] of entries(info, niivueVersion)) {
      const dt = document.createElement('dt');
      const dd = document.createElement('dd');
      dt.textContent = term;
      dd.textContent = value ?? 'unknown';
      list.append(dt, dd);
    }
    const dt = document.createElement('dt');
    dt.textContent = 'Inference backend';
    backend.textContent = describeBackend(info.backend);
    list.append(dt, backend);
    models.replaceChildren(
      ...cards.map((card) => {
        const item = document.createElement('li');
        const hash = document.createElement('code');
        hash.textContent = `sha256 ${card.onnx?.sha256 ?? 'unknown'}`;
        item.append(`${card.id}: `, hash);
        return item;
      }),
    );
  }

  return {
    show,
    setBackend(value) {
      backend.textContent = describeBackend(value);
    },
  };
}
