// index.html: the page is one <meshseg-app>; runner options come from the page's address
// (?provider=auto|wasm|webgpu&threads=N&optimisation=…&model=ID) and become its attributes.

import './element.js';

const ATTRIBUTES = ['provider', 'threads', 'optimisation', 'model'];

const query = new URLSearchParams(location.search);
const app = document.createElement('meshseg-app');
for (const name of ATTRIBUTES) {
  if (query.has(name)) app.setAttribute(name, query.get(name));
}
document.querySelector('#app-root').replaceWith(app);
