// Where the site's runtime files live, from one base URL (the folder holding index.html).
// Nothing is hard-coded elsewhere: the worker and the API take these URLs, so an embedder
// can serve MeshSeg from any folder or origin.

/** The site root this module was served from (dist/). */
export const DEFAULT_BASE = new URL('../', import.meta.url).href;

/**
 * Every runtime URL under one base.
 * @param {string|URL} [base] the folder holding index.html (default: where this module lives)
 * @returns {import('./types.js').Assets}
 */
export function siteAssets(base = DEFAULT_BASE) {
  const root = new URL(base, globalThis.location?.href);
  if (!root.pathname.endsWith('/')) root.pathname += '/';
  const at = (path) => new URL(path, root).href;
  return {
    base: root.href,
    pyodide: at('pyodide/'),
    wheels: at('wheels/'),
    ort: at('ort/'),
    models: at('models/'),
    modelsIndex: at('models/index.json'),
    providers: at('models/providers.json'),
    worker: at('js/worker/worker.js'),
    example: at('example/t1_crop.nii.gz'),
    version: at('version.json'),
  };
}
