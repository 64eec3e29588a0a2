// First visit and warm start of the built page, as the project's server sends it.
//
//   node bench/first-visit.mjs [--repeat 3] [--out result.json]
//
// Serves dist/ with `meshseg.serve --log-json` (one line per response: body bytes
// as sent, Content-Encoding), opens the page in a fresh Chromium profile and
// reports: bytes until the runtime is ready, bytes until the service worker has
// precached the offline copy, then warm starts (new tab, same profile: page
// navigation to ready) and the bytes they fetched from the server.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { launchBrowser, startServer, waitForState } from '../tests/e2e/helpers.mjs';

const { values } = parseArgs({ options: { repeat: { type: 'string', default: '3' }, out: { type: 'string' } } });
const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'meshseg-visit-')), 'log.jsonl');
const served = () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf-8').trim().split('\n').filter(Boolean).map(JSON.parse) : []);
const total = (lines) => lines.reduce((sum, line) => sum + line.bytes, 0);
const mb = (bytes) => Math.round(bytes / 1e4) / 100;

const server = await startServer({ logJson: logFile });
const browser = await launchBrowser();
const result = {};
try {
  const page = await browser.context.newPage();
  let started = performance.now();
  await page.goto(`${server.origin}/`);
  await waitForState(page, ['idle'], 300_000);
  result.first_ready_s = (performance.now() - started) / 1000;
  const ready = served();
  result.first_visit_mb = mb(total(ready));
  result.first_visit_encoded = Object.fromEntries(['br', 'gzip', null].map((e) => [e ?? 'identity', mb(total(ready.filter((l) => l.encoding === e)))]));
  await page.waitForFunction(() => navigator.serviceWorker.controller?.state === 'activated', null, { timeout: 300_000, polling: 250 });
  const cached = served();
  result.precache_extra_mb = mb(total(cached) - total(ready));
  result.largest = cached.sort((a, b) => b.bytes - a.bytes).slice(0, 8).map((l) => `${l.path} ${mb(l.bytes)} MB ${l.encoding ?? ''}`);
  await page.close();
  result.warm_s = [];
  result.warm_page_s = [];
  await browser.context.addInitScript(recordReadyTime);
  for (let i = 0; i < Number(values.repeat); i++) {
    const before = total(served());
    const warm = await browser.context.newPage();
    started = performance.now();
    await warm.goto(`${server.origin}/`);
    await waitForState(warm, ['idle'], 120_000);
    result.warm_s.push(Math.round((performance.now() - started) / 10) / 100);
    // The page's own clock: navigation start (time origin) to the status turning idle.
    result.warm_page_s.push(Math.round(await warm.evaluate(() => window.meshsegReadyAt) / 10) / 100);
    // The worker's own start-up stages (seconds): Pyodide, numpy/scipy, wheels, all.
    const timings = await warm.evaluate(() => document.querySelector('meshseg-app').segmenter.info.timings);
    (result.warm_worker_s ??= []).push(Object.fromEntries(Object.entries(timings)
      .map(([stage, ms]) => [stage.replace(/_ms$/, ''), Math.round(ms / 10) / 100])));
    result.warm_server_mb = mb(total(served()) - before);
    await warm.close();
  }
} finally {
  await browser.close();
  await server.stop();
}
const text = JSON.stringify(result, null, 2);
console.log(text);
if (values.out) fs.writeFileSync(values.out, text);

/** In the page, before its scripts: note when the status first turns idle (ready). */
function recordReadyTime() {
  new MutationObserver((_, observer) => {
    if (document.querySelector('[data-testid="status"]')?.dataset.state !== 'idle') return;
    window.meshsegReadyAt = performance.now();
    observer.disconnect();
  }).observe(document, { subtree: true, childList: true, attributes: true,
    attributeFilter: ['data-state'] });
}
