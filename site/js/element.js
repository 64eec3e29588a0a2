// <meshseg-app>: the whole MeshSeg page as a custom element, for host pages.
//
//   <script type="module" src="https://…/meshseg/js/element.js"></script>
//   <meshseg-app model="model5_gw_ae" provider="wasm"></meshseg-app>
//
// Attributes (read when the element is connected): `model` (the model chosen at start),
// `provider`, `threads`, `optimisation` (runner options), `base` (the MeshSeg site folder;
// default: where this module is served), `debug` (tests only: enables segmenter.debugCrash).
// Events (bubbling, composed):
// `meshseg-result` (detail: the SegmentResult, js/types.js: {model, maskName, mask, stats,
// warnings, quality, …}, and the model's `title`) and
// `meshseg-error` (detail: {kind, file, message}). One <meshseg-app> per page.

import { createSegmenter, Segmenter } from './api/segmenter.js';
import { createApp } from './app.js';
import { siteAssets } from './assets.js';
import { APP_TEMPLATE } from './ui/template.js';

const RUNNER_ATTRIBUTES = ['provider', 'threads', 'optimisation'];

export class MeshSegApp extends HTMLElement {
  #app = null;
  #segmenter = null;

  connectedCallback() {
    if (this.#app) return;
    this.innerHTML = APP_TEMPLATE;
    this.#ensureStylesheet();
    const assets = siteAssets(this.getAttribute('base') ?? undefined);
    let segmenter;
    try {
      segmenter = new Segmenter({ baseUrl: assets.base, debug: this.hasAttribute('debug'), ...this.#runnerOptions() });
    } catch (error) {
      this.#showStartError(error);
      return;
    }
    this.#segmenter = segmenter;
    this.#app = createApp(this, segmenter, {
      exampleUrl: assets.example,
      versionUrl: assets.version,
      model: this.getAttribute('model'),
      onResult: (result, card) => this.#emit('meshseg-result', { ...result, title: card.title }),
      onError: (error) => this.#emit('meshseg-error', { kind: error.kind ?? 'internal', file: error.file ?? null, message: error.message }),
    });
  }

  disconnectedCallback() {
    this.#segmenter?.terminate();
  }

  /** The app's controller ({ready, state, parts}), for scripts and tests. */
  get app() {
    return this.#app;
  }

  /** The Segmenter behind the element (the JS API). */
  get segmenter() {
    return this.#segmenter;
  }

  #runnerOptions() {
    return Object.fromEntries(RUNNER_ATTRIBUTES.filter((name) => this.hasAttribute(name))
      .map((name) => [name, this.getAttribute(name)]));
  }

  #showStartError(error) {
    const status = this.querySelector('[data-testid="status"]');
    status.dataset.state = 'error';
    status.textContent = `The page settings are invalid: ${error.message}. Fix them and reload.`;
    this.#emit('meshseg-error', { kind: 'option', file: null, message: error.message });
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }

  /** Host pages get the stylesheet too (index.html links it already). */
  #ensureStylesheet() {
    const href = new URL('../css/app.css', import.meta.url).href;
    const linked = [...document.querySelectorAll('link[rel="stylesheet"]')].some((link) => link.href === href);
    if (!linked) {
      const link = document.createElement('link');
      link.rel = 'stylesheet';
      link.href = href;
      document.head.append(link);
    }
  }
}

if (!customElements.get('meshseg-app')) customElements.define('meshseg-app', MeshSegApp);

export { createSegmenter };
