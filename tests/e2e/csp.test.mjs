// "Nothing leaves the browser", enforced by the browser: the site's Content-Security-Policy
// (py/meshseg/security/csp.py) refuses a request to another origin from the page, from Python
// in the MeshSeg worker and from the inference worker (a securitypolicyviolation, and the other
// server sees nothing), while the same requests to the site's own origin go through. Three
// deliveries: the server's header, the <meta> tag alone (a host that sends no headers, no
// service worker), and the service worker's headers on such a host. That every feature still
// works under the policy is checked by every other e2e file: launchBrowser fails a file in
// which the policy refused anything.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import config from '../../playwright.config.js';
import { expectState, launchBrowser, startServer, waitForState } from './helpers.mjs';

const MODEL = 'model5_gw_ae';
const { timeouts } = config;

let site; let plainSite; let outside; let artifacts; let outsideLog;

before(async () => {
  artifacts = fs.mkdtempSync(path.join(os.tmpdir(), 'meshseg-csp-'));
  const hostDir = path.join(artifacts, 'outside');
  fs.mkdirSync(hostDir);
  fs.writeFileSync(path.join(hostDir, 'index.html'), '<!doctype html><title>another origin</title>');
  outsideLog = path.join(artifacts, 'outside.jsonl');
  [site, plainSite, outside] = await Promise.all([startServer(), startServer({ headers: 'plain' }),
    startServer({ dist: hostDir, headers: 'host', logJson: outsideLog })]);
}, { timeout: timeouts.serverStart * 3 });

after(async () => {
  await Promise.all([site, plainSite, outside].map((server) => server?.stop()));
  fs.rmSync(artifacts, { recursive: true, force: true });
});

/** Paths the other origin was asked for (its server's log). */
const outsideRequests = () => (fs.existsSync(outsideLog) ? fs.readFileSync(outsideLog, 'utf-8') : '')
  .split('\n').filter(Boolean).map((line) => JSON.parse(line).path);

// Runs in a page or a worker: fetch `url`; what happened, and the policy violation it raised.
// A refused fetch waits up to 5 s for its violation event; one that was answered was not
// refused by connect-src, so it waits no longer than the event already queued (one task).
async function fetchAndWatch(url) {
  let settle;
  const violation = new Promise((resolve) => {
    settle = resolve;
    self.addEventListener('securitypolicyviolation', (event) => resolve({ blocked: event.blockedURI,
      directive: event.effectiveDirective }), { once: true });
    setTimeout(() => resolve(null), 5000);
  });
  const outcome = await fetch(url, { cache: 'no-store' }).then((response) => `HTTP ${response.status}`, (error) => `refused: ${error.message}`);
  if (outcome.startsWith('HTTP')) setTimeout(() => settle(null), 0);
  return { outcome, violation: await violation };
}

function expectRefused(seen, url, where) {
  assert.match(seen.outcome, /^refused/, `${where}: the request to ${url} was not refused (${seen.outcome})`);
  assert.equal(seen.violation?.directive, 'connect-src', `${where}: no connect-src violation (${JSON.stringify(seen.violation)})`);
  assert.ok(seen.violation.blocked.startsWith(outside.origin), `${where}: blocked ${seen.violation.blocked}`);
}

/** Open the page at `origin` with the debug hooks; wait until idle. */
async function openPage(browser, origin) {
  const page = await browser.context.newPage();
  await page.goto(`${origin}/?debug=1&provider=wasm&model=${MODEL}`);
  expectState(await waitForState(page, ['idle', 'error'], timeouts.runtime), 'idle');
  return page;
}

/** Page and Python fetches: another origin refused, the site's own answered. */
async function checkPageAndPython(page, origin, tag) {
  const fromPage = `${outside.origin}/${tag}-page`;
  expectRefused(await page.evaluate(fetchAndWatch, fromPage), fromPage, `${tag}: the page`);
  assert.equal((await page.evaluate(fetchAndWatch, `${origin}/version.json`)).outcome, 'HTTP 200');
  const python = (url) => page.evaluate((u) => document.querySelector('meshseg-app').segmenter.debugFetch(u), url);
  const fromPython = `${outside.origin}/${tag}-python`;
  const refused = await python(fromPython);
  expectRefused({ outcome: refused.fetched ? refused.message : `refused: ${refused.message}`,
    violation: refused.violation }, fromPython, `${tag}: Python in the worker`);
  assert.deepEqual(await python(`${origin}/version.json`), { fetched: true, message: 'HTTP 200', violation: null });
}

test('the server sends the policy: frame-ancestors open only for embed.html and the app page; the pages carry it in <meta>', async () => {
  const header = async (file) => (await fetch(`${site.origin}/${file}`)).headers.get('content-security-policy');
  for (const file of ['', 'embed.html']) assert.match(await header(file), /frame-ancestors \*$/, file);
  for (const file of ['embed-demo.html', 'js/worker/worker.js', 'js/worker/inference-worker.js', 'sw.js']) {
    assert.match(await header(file), /frame-ancestors 'self'$/, file);
  }
  const policy = await header('');
  assert.match(policy, /connect-src 'self' blob: data:;/);
  assert.match(policy, /script-src 'self' 'wasm-unsafe-eval';/);
  assert.doesNotMatch(policy, /unsafe-inline|'unsafe-eval'/);
  for (const file of ['index.html', 'embed.html', 'embed-demo.html']) {
    const html = fs.readFileSync(path.join(config.dist, file), 'utf-8');
    const meta = html.match(/<meta http-equiv="Content-Security-Policy" content="([^"]+)">/);
    assert.ok(meta, `${file} has no CSP <meta>`);
    assert.equal(`${meta[1]}; frame-ancestors ${file === 'embed-demo.html' ? "'self'" : '*'}`, await header(file), file);
  }
  assert.equal((await fetch(`${plainSite.origin}/`)).headers.get('content-security-policy'), null);
});

test('under the header: the page, Python in the worker and the inference worker cannot reach another origin', { timeout: timeouts.test }, async () => {
  const browser = await launchBrowser({ violationsExpected: true, serviceWorkers: 'block' });
  try {
    const page = await openPage(browser, site.origin);
    await checkPageAndPython(page, site.origin, 'header');
    // What every other e2e file relies on: a page's violation reaches launchBrowser's list.
    assert.ok(browser.violations.some((line) => line.includes('/header-page')), browser.violations.join('\n'));
    // The inference worker lives for one segmentation: probe it while the model runs.
    const probed = new Promise((resolve, reject) => {
      page.on('worker', (worker) => {
        if (!worker.url().endsWith('/inference-worker.js')) return;
        const url = `${outside.origin}/header-inference`;
        Promise.all([worker.evaluate(fetchAndWatch, url), worker.evaluate(fetchAndWatch, `${site.origin}/version.json`)])
          .then(([refused, own]) => resolve({ url, refused, own }), reject);
      });
    });
    await page.getByTestId('example').click();
    await page.waitForSelector('[data-testid="run"]:not([disabled])', { timeout: timeouts.action });
    await page.getByTestId('run').click();
    const { url, refused, own } = await probed;
    expectRefused(refused, url, 'the inference worker');
    assert.equal(own.outcome, 'HTTP 200');
    expectState(await waitForState(page, ['done', 'error'], timeouts.run), 'done');
    assert.deepEqual(outsideRequests(), [], 'the other origin was reached');
  } finally {
    await browser.close();
  }
});

test('a host that sends no headers, without a service worker: the <meta> policy still guards the page', { timeout: timeouts.test }, async () => {
  const browser = await launchBrowser({ violationsExpected: true, serviceWorkers: 'block' });
  try {
    const page = await browser.context.newPage();
    await page.goto(`${plainSite.origin}/?provider=wasm`);
    expectState(await waitForState(page, ['idle', 'error'], timeouts.runtime), 'idle');
    const url = `${outside.origin}/meta-page`;
    expectRefused(await page.evaluate(fetchAndWatch, url), url, 'the page under <meta>');
    assert.deepEqual(outsideRequests(), []);
  } finally {
    await browser.close();
  }
});

test('a host that sends no headers, with the service worker: its responses carry the policy, to the workers too', { timeout: timeouts.test }, async () => {
  const browser = await launchBrowser({ violationsExpected: true });
  try {
    const page = await browser.context.newPage();
    await page.goto(`${plainSite.origin}/?debug=1&provider=wasm&model=${MODEL}`);
    // The first visit installs the worker, which reloads the page once, now isolated.
    await page.waitForFunction(() => globalThis.crossOriginIsolated && navigator.serviceWorker.controller, null,
      { timeout: timeouts.runtime, polling: 250 });
    expectState(await waitForState(page, ['idle', 'error'], timeouts.runtime), 'idle');
    const policy = await page.evaluate(async () => (await fetch('js/worker/worker.js')).headers.get('content-security-policy'));
    assert.match(policy ?? '', /connect-src 'self' blob: data:;.*frame-ancestors 'self'$/);
    await checkPageAndPython(page, plainSite.origin, 'sw');
    assert.deepEqual(outsideRequests(), []);
  } finally {
    await browser.close();
  }
});
