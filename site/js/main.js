// index.html: the page is one <meshseg-app>; runner options come from the page's address
// (?provider=auto|wasm|webgpu&threads=N&optimisation=…&model=ID) and become its attributes.
// The page also registers the service worker (offline copy, update notice) once the
// runtime is ready.

import './element.js';
import { registerServiceWorker } from './pwa/register.js';

const ATTRIBUTES = ['provider', 'threads', 'optimisation', 'model', 'debug'];

const query = new URLSearchParams(location.search);
const app = document.createElement('meshseg-app');
for (const name of ATTRIBUTES) {
  if (query.has(name)) app.setAttribute(name, query.get(name));
}
document.querySelector('#app-root').replaceWith(app);
registerServiceWorker(document, app.app?.ready);
