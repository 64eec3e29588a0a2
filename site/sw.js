// MeshSeg's service worker: the whole site offline, one version at a time.
//
// build.py replaces BUILD below with this deployment's file list: every file's
// sha256 (the same hashes version.json and the model cards carry), the files to
// precache at install and the models, which are cached on first use keyed by
// their sha256. Each deployment gets its own cache, filled completely (and every
// file checked against its hash) before the new worker may take over, so a page
// never sees files of two versions; the page shows "a new version is ready" and
// the user decides when to reload (see js/pwa/register.js).
//
// Every response it serves carries COOP/COEP/CORP (the coi-serviceworker
// approach), so hosts that cannot set headers still get cross-origin isolation
// and multi-threaded WebAssembly, and the site's Content-Security-Policy
// (BUILD.csp, from meshseg.security.csp), so that nothing the page or its workers
// do can reach another origin. It must be the only service worker on its scope.

const BUILD = /*MESHSEG_BUILD*/null;

const PREFIX = "meshseg-";
const MODELS_CACHE = `${PREFIX}models`;
const MANIFEST_KEY = "__meshseg-files.json";
const ISOLATION_HEADERS = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
  "Cross-Origin-Resource-Policy": "cross-origin",
};
const SCOPE = new URL(self.registration.scope);
const versionCache = () => `${PREFIX}${BUILD.version}`;

self.addEventListener("install", (event) => {
  if (!BUILD) return; // unbuilt site/: nothing to cache
  event.waitUntil((async () => {
    await precache();
    // The very first worker takes over at once; an update waits for the user.
    if (!self.registration.active) await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    if (BUILD) await dropOtherVersions();
    await self.clients.claim();
  })());
});

self.addEventListener("message", (event) => {
  if (event.data?.type === "skip-waiting") self.skipWaiting();
  if (event.data?.type === "version") {
    event.source?.postMessage({ type: "version", version: BUILD?.version ?? null });
  }
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== SCOPE.origin) return;
  const path = sitePath(url, request.mode === "navigate");
  if (!BUILD || path === null) {
    event.respondWith(isolated(fetch(request), path));
  } else if (path in BUILD.models) {
    event.respondWith(isolated(modelResponse(path, BUILD.models[path]), path));
  } else if (path in BUILD.files) {
    event.respondWith(isolated(siteResponse(path), path));
  } else {
    event.respondWith(isolated(fetch(request), path));
  }
});

/** Path relative to the scope ("" for the page itself -> index.html); null outside it. */
function sitePath(url, navigate) {
  if (!url.pathname.startsWith(SCOPE.pathname)) return null;
  const path = decodeURIComponent(url.pathname.slice(SCOPE.pathname.length));
  if (navigate && (path === "" || path.endsWith("/"))) return `${path}index.html`;
  return path;
}

/** Fill this version's cache: precache files (copied from an older version's cache
 * when unchanged), the manifest of hashes, and the precached models. */
async function precache() {
  const cache = await caches.open(versionCache());
  const older = await olderFiles();
  const pending = [...BUILD.precache];
  const worker = async () => {
    while (pending.length > 0) {
      const path = pending.shift();
      if (await cache.match(scoped(path))) continue;
      const reuse = older.get(`${path} ${BUILD.files[path]}`);
      const response = reuse ? await reuse() : await verifiedFetch(path, BUILD.files[path]);
      await cache.put(scoped(path), response);
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  await cache.put(scoped(MANIFEST_KEY), new Response(JSON.stringify(BUILD.files)));
  const models = await caches.open(MODELS_CACHE);
  for (const path of BUILD.precacheModels) {
    const key = modelKey(BUILD.models[path]);
    if (!(await models.match(key))) await models.put(key, await verifiedFetch(path, BUILD.models[path]));
  }
}

/** Files of other versions' caches: "path sha256" -> () => Promise<Response>. */
async function olderFiles() {
  const found = new Map();
  for (const name of await caches.keys()) {
    if (!name.startsWith(PREFIX) || name === MODELS_CACHE || name === versionCache()) continue;
    const cache = await caches.open(name);
    const manifest = await cache.match(scoped(MANIFEST_KEY));
    if (!manifest) continue;
    for (const [path, sha] of Object.entries(await manifest.json())) {
      found.set(`${path} ${sha}`, async () => {
        const response = await cache.match(scoped(path));
        return response ?? verifiedFetch(path, sha);
      });
    }
  }
  return found;
}

/** Remove other versions' caches and models this version does not list. */
async function dropOtherVersions() {
  for (const name of await caches.keys()) {
    if (name.startsWith(PREFIX) && name !== MODELS_CACHE && name !== versionCache()) {
      await caches.delete(name);
    }
  }
  const wanted = new Set(Object.values(BUILD.models).map(modelKey));
  const models = await caches.open(MODELS_CACHE);
  for (const request of await models.keys()) {
    if (!wanted.has(request.url)) await models.delete(request);
  }
}

/** A site file of this version: from its cache, else fetched, checked and cached. */
async function siteResponse(path) {
  const cache = await caches.open(versionCache());
  const hit = await cache.match(scoped(path));
  if (hit) return hit;
  const response = await verifiedFetch(path, BUILD.files[path]);
  await cache.put(scoped(path), response.clone());
  return response;
}

/** A model, keyed by its sha256 (shared by every version that ships it). */
async function modelResponse(path, sha256) {
  const cache = await caches.open(MODELS_CACHE);
  const hit = await cache.match(modelKey(sha256));
  if (hit) return hit;
  const response = await verifiedFetch(path, sha256);
  await cache.put(modelKey(sha256), response.clone());
  return response;
}

/**
 * Fetch a file and check it is this version's (sha256). A file of another
 * deployment is refused rather than mixed in: the page is told to reload.
 */
async function verifiedFetch(path, sha256) {
  const response = await fetch(new Request(scoped(path), { cache: "no-cache" }));
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  const body = await response.arrayBuffer();
  const digest = hex(await crypto.subtle.digest("SHA-256", body));
  if (digest !== sha256) {
    throw new Error(`${path} belongs to another version of MeshSeg (sha256 ${digest}, ` +
      `expected ${sha256}); reload the page`);
  }
  // The body is decoded already: keep the type, drop the transfer encoding.
  const headers = new Headers({ "Content-Type": response.headers.get("Content-Type") ??
    "application/octet-stream", "Content-Length": String(body.byteLength) });
  return new Response(body, { status: 200, headers });
}

/** The headers every response gets: isolation, and the policy for `path` (null: outside the
 * scope, or an unbuilt site without one). */
function siteHeaders(path) {
  const csp = BUILD?.csp;
  if (!csp || path === null) return ISOLATION_HEADERS;
  const name = path.split("/").pop() || "index.html";
  return { ...ISOLATION_HEADERS, "Content-Security-Policy": csp.pages[name] ?? csp.default };
}

/** The response with the isolation and policy headers; errors become a 503. */
async function isolated(pending, path) {
  let response;
  try {
    response = await pending;
  } catch (error) {
    return new Response(`MeshSeg offline copy: ${error.message}`, {
      status: 503, headers: { "Content-Type": "text/plain; charset=utf-8", ...siteHeaders(path) },
    });
  }
  if (response.status === 0 || response.type === "opaqueredirect") return response;
  const headers = new Headers(response.headers);
  for (const [name, value] of Object.entries(siteHeaders(path))) headers.set(name, value);
  return new Response(response.body, { status: response.status, statusText: response.statusText,
    headers });
}

function scoped(path) {
  return new URL(path, SCOPE).href;
}

function modelKey(sha256) {
  return new URL(`models-by-sha256/${sha256}`, SCOPE).href;
}

function hex(buffer) {
  return [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
