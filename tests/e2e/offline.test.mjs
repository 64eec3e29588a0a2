// Offline PWA: load the site once, stop the server, reload: the example runs to done
// with model5_gw_ae from the service worker's cache. Then a second deployment (one
// changed file, `build.py --finalise`) shows the update notice; the page keeps the
// first version's files until the user reloads. Needs `python3 build.py` first.
// Run: node --test tests/e2e/offline.test.mjs

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import config from '../../playwright.config.js';
import { expectState, launchBrowser, startServer, waitForState } from './helpers.mjs';

const MODEL = 'model5_gw_ae';
const MARKER = '/* deployment 2 */';
const { timeouts } = config;

let site;
let server;
let browser;
let page;
let port;

/** A copy of dist/ (hard links: build.py --finalise writes new files, never in place). */
function copySite() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshseg-offline-'));
  const copy = path.join(dir, 'dist');
  const done = spawnSync('cp', ['-al', config.dist, copy], { encoding: 'utf-8' });
  assert.equal(done.status, 0, done.stderr);
  return copy;
}

async function waitForController() {
  // The worker takes control (clients.claim) only once its precache is complete.
  await page.waitForFunction(() => navigator.serviceWorker.controller?.state === 'activated',
    null, { timeout: timeouts.runtime, polling: 500 });
}

before(async () => {
  site = copySite();
  server = await startServer({ dist: site });
  port = Number(new URL(server.origin).port);
  browser = await launchBrowser();
  page = await browser.context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') process.stdout.write(`# console error: ${message.text()}\n`);
  });
}, { timeout: timeouts.serverStart + 10_000 });

after(async () => {
  await browser?.close();
  await server?.stop();
  if (site) fs.rmSync(path.dirname(site), { recursive: true, force: true });
});

test('after one visit the example runs to done offline', { timeout: timeouts.test }, async () => {
  await page.goto(`${server.origin}/`);
  expectState(await waitForState(page, ['idle', 'error'], timeouts.runtime), 'idle');
  await waitForController();
  await server.stop();
  server = null;

  await page.reload();
  expectState(await waitForState(page, ['idle', 'error'], timeouts.runtime), 'idle');
  assert.equal(await page.evaluate(() => globalThis.crossOriginIsolated), true);
  await page.getByTestId('example').click();
  await page.getByTestId('model-select').selectOption(MODEL);
  await page.waitForSelector('[data-testid="run"]:not([disabled])');
  await page.getByTestId('run').click();
  expectState(await waitForState(page, ['done', 'error'], timeouts.run), 'done');
  assert.equal(await page.getByTestId('update-ready').isHidden(), true);
});

test('a new deployment shows the update notice and never mixes versions', { timeout: timeouts.test }, async () => {
  const css = path.join(site, 'css', 'app.css');
  const text = fs.readFileSync(css, 'utf-8');
  fs.unlinkSync(css); // hard-linked to dist/: write a new file
  fs.writeFileSync(css, `${text}\n${MARKER}\n`);
  const done = spawnSync('python3', [path.join(config.root, 'build.py'), '--finalise', site], { encoding: 'utf-8' });
  assert.equal(done.status, 0, done.stderr);
  server = await startServer({ dist: site, port });

  await page.reload();
  await page.getByTestId('update-ready').waitFor({ state: 'visible', timeout: timeouts.runtime });
  const before = await page.evaluate(async () => (await fetch('css/app.css')).text());
  assert.ok(!before.includes(MARKER), 'the old version got a file of the new one');

  await Promise.all([page.waitForEvent('load', { timeout: timeouts.action }),
    page.getByTestId('update-reload').click()]);
  expectState(await waitForState(page, ['idle', 'error'], timeouts.runtime), 'idle');
  const now = await page.evaluate(async () => (await fetch('css/app.css')).text());
  assert.ok(now.includes(MARKER), 'the reload did not switch to the new version');
  assert.equal(await page.getByTestId('update-ready').isHidden(), true);
});
