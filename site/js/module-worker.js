// Starting a module Web Worker from any origin: a script on another origin (MeshSeg served
// from a CDN-like folder, or a worker started inside a blob worker) is started through a
// same-origin blob that imports it.

/**
 * A module worker for `url`.
 * @param {string|URL} url the worker script
 * @param {string} [name] shown in the browser's developer tools
 * @returns {Worker}
 */
export function startModuleWorker(url, name = 'meshseg') {
  const here = globalThis.location?.origin;
  if (here && here !== 'null' && new URL(url).origin === here) return new Worker(url, { type: 'module', name });
  const source = `import ${JSON.stringify(String(url))};`;
  const blob = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
  return new Worker(blob, { type: 'module', name });
}
