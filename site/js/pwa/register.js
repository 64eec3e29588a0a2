// Registers sw.js (offline copy, cross-origin isolation headers, update notice).
// One call from the page: registerServiceWorker(document, started), where `started`
// settles once the runtime is ready, so that the worker's precache revalidates
// files the page has just downloaded instead of downloading them a second time.

import { createUpdateNotice } from '../ui/update-notice.js';

const SW_URL = new URL('../../sw.js', import.meta.url);
const SCOPE = new URL('../../', import.meta.url);
const COI_RELOAD_KEY = 'meshseg-coi-reload';

/**
 * @param {Document} root
 * @param {Promise<unknown>} [started] registration waits for it (errors ignored)
 * @returns {Promise<ServiceWorkerRegistration|null>}
 */
export async function registerServiceWorker(root, started = Promise.resolve()) {
  const sw = globalThis.navigator?.serviceWorker;
  if (!sw || !globalThis.isSecureContext) return null;
  const notice = createUpdateNotice(root);
  await Promise.resolve(started).catch(() => {});
  await dropOtherWorkers(sw);
  let reloading = false;
  sw.addEventListener('controllerchange', () => {
    if (reloading) {
      root.location.reload();
    } else if (!globalThis.crossOriginIsolated && !sessionStorage.getItem(COI_RELOAD_KEY)) {
      // First install on a host without COOP/COEP: the worker adds them; reload once.
      sessionStorage.setItem(COI_RELOAD_KEY, '1');
      root.location.reload();
    }
  });
  let registration;
  try {
    registration = await sw.register(SW_URL, { scope: SCOPE.pathname, type: 'classic' });
  } catch (error) {
    console.warn(`meshseg: no offline copy (service worker registration failed: ${error.message})`);
    return null;
  }
  const offer = (worker) => {
    if (!worker || !sw.controller) return; // first install: nothing to update
    notice.show(() => {
      reloading = true;
      worker.postMessage({ type: 'skip-waiting' });
    });
  };
  const watch = (worker) => {
    if (!worker) return;
    if (worker.state === 'installed') offer(worker);
    worker.addEventListener('statechange', () => {
      if (worker.state === 'installed') offer(worker);
    });
  };
  watch(registration.waiting ?? registration.installing);
  registration.addEventListener('updatefound', () => watch(registration.installing));
  globalThis.navigator.storage?.persist?.().catch(() => {});
  return registration;
}

/** This must be the only service worker on its scope: unregister any other one. */
async function dropOtherWorkers(sw) {
  for (const registration of await sw.getRegistrations()) {
    const worker = registration.active ?? registration.waiting ?? registration.installing;
    if (registration.scope === SCOPE.href && worker && worker.scriptURL !== SW_URL.href) {
      await registration.unregister();
    }
  }
}
