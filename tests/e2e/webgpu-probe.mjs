// What WebGPU adapter a page, a module worker and a worker started by that worker get:
// the inference runs in a module worker (and may move into a nested one), so all three count.

/** Runs in the page (and, as source text, in the workers): the adapter's facts or null. */
async function adapterFacts() {
  if (!navigator.gpu) return { api: false, adapter: null };
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) return { api: true, adapter: null };
  const { vendor, architecture, device, description } = adapter.info;
  return {
    api: true,
    adapter: {
      vendor, architecture, device, description,
      isFallbackAdapter: adapter.info.isFallbackAdapter ?? adapter.isFallbackAdapter ?? null,
      shaderF16: adapter.features.has('shader-f16'),
      maxBufferSize: adapter.limits.maxBufferSize,
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    },
  };
}

/** Module-worker source: answer with the facts, or start one more worker and relay its answer. */
const WORKER_SOURCE = `${adapterFacts.toString()}
self.onmessage = async ({ data: nested }) => {
  if (!nested) {
    self.postMessage(await adapterFacts().catch((error) => ({ error: String(error) })));
    return;
  }
  const inner = new Worker(self.location.href, { type: 'module' });
  inner.onmessage = ({ data }) => self.postMessage(data);
  inner.onerror = (event) => self.postMessage({ error: 'nested worker: ' + event.message });
  inner.postMessage(false);
};`;

/**
 * The adapter seen by the page, a module worker and a worker that worker starts.
 * @param {import('playwright-core').Page} page any page of the served origin
 * @returns {Promise<{page: object, worker: object, nestedWorker: object}>} each
 *   {api, adapter: {vendor, architecture, ...} | null} or {error}
 */
export async function probeAdapters(page) {
  const inPage = await page.evaluate(adapterFacts);
  const inWorkers = await page.evaluate(async (source) => {
    const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
    const ask = (nested) => new Promise((resolve) => {
      const worker = new Worker(url, { type: 'module' });
      worker.onmessage = ({ data }) => { worker.terminate(); resolve(data); };
      worker.onerror = (event) => resolve({ error: event.message });
      worker.postMessage(nested);
    });
    return { worker: await ask(false), nestedWorker: await ask(true) };
  }, WORKER_SOURCE);
  return { page: inPage, ...inWorkers };
}
