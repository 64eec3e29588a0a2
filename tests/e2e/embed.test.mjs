// Embedding, across origins: the iframe (embed.html + postMessage) on a cross-origin
// isolated host page of a second origin, a third origin that the frame must ignore, and
// <meshseg-app> on a host page of the second origin. Three local servers; nothing may go
// anywhere else. Hosts that are not isolated: plain-host.test.mjs.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import config from '../../playwright.config.js';
import {
  download, expectState, labelDifference, launchBrowser, niftiGeometry, recordRequests,
  startServer, urlsOutside, waitForState,
} from './helpers.mjs';
import { writeHostPages } from './host-pages.mjs';

const MODEL = 'model5_gw_ae';
const EXAMPLE = path.join(config.sharedData, 't1_crop.nii.gz');
const { timeouts } = config;

let site; let second; let third; let browser; let requests; let artifacts;

before(async () => {
  artifacts = fs.mkdtempSync(path.join(os.tmpdir(), 'meshseg-embed-'));
  const hostDir = writeHostPages(path.join(artifacts, 'host'), MODEL);
  const host = { dist: hostDir, headers: 'host' }; // isolated host pages, with inline scripts
  [site, second, third] = await Promise.all([startServer(), startServer(host), startServer(host)]);
  browser = await launchBrowser();
  requests = [];
  browser.context.on('request', (request) => requests.push(request.url()));
  fs.mkdirSync(config.artifactDir, { recursive: true });
}, { timeout: timeouts.serverStart * 3 });

after(async () => {
  await browser?.close();
  await Promise.all([site, second, third].map((server) => server?.stop()));
});

async function hostWithFrame(origin, allowed) {
  const page = await browser.context.newPage();
  const frameUrl = `${site.origin}/embed.html?origins=${encodeURIComponent(allowed)}&provider=wasm`;
  await page.goto(`${origin}/frame.html?frame=${encodeURIComponent(frameUrl)}`);
  return page;
}

async function maskOfThePage() {
  const page = await browser.context.newPage();
  await page.goto(`${site.origin}/?provider=wasm&model=${MODEL}`);
  expectState(await waitForState(page, ['idle', 'error'], timeouts.runtime), 'idle');
  await page.getByTestId('example').click();
  await page.waitForSelector('[data-testid="run"]:not([disabled])', { timeout: timeouts.action });
  await page.getByTestId('run').click();
  expectState(await waitForState(page, ['done', 'error'], timeouts.run), 'done');
  const file = await download(page, 'download-mask', 'page');
  await page.close();
  return file;
}

test('a second-origin host page gets progress and the same mask as the page; a third origin is ignored', { timeout: timeouts.test }, async () => {
  const host = await hostWithFrame(second.origin, second.origin);
  await host.waitForFunction(() => window.received.some((m) => m.data.type === 'meshseg:ready'), null, { timeout: timeouts.runtime });
  const ready = await host.evaluate(() => window.received.find((m) => m.data.type === 'meshseg:ready'));
  assert.equal(ready.origin, site.origin);
  assert.match(ready.data.version, /^\d+\.\d+/);

  // The third origin embeds the same frame, which lists only the second origin: it must get nothing.
  const stranger = await hostWithFrame(third.origin, second.origin);
  await host.evaluate(([url, model]) => window.sendScan(url, model), [`${site.origin}/example/t1_crop.nii.gz`, MODEL]);
  await host.waitForFunction(() => window.received.some((m) => ['meshseg:result', 'meshseg:error'].includes(m.data.type)), null, { timeout: timeouts.run });
  const received = await host.evaluate(() => window.received.map((m) => ({ ...m, data: { ...m.data, mask: m.data.mask ? Array.from(new Uint8Array(m.data.mask)) : undefined } })));
  const last = received.at(-1).data;
  assert.equal(last.type, 'meshseg:result', `the frame answered ${JSON.stringify(last)}`);
  assert.equal(last.id, 7);
  const progress = received.filter((m) => m.data.type === 'meshseg:progress');
  assert.ok(progress.length >= 4, `only ${progress.length} progress messages`);
  assert.ok(progress.every((m) => m.data.id === 7 && typeof m.data.stage === 'string'));
  assert.ok(received.every((m) => m.origin === site.origin));
  assert.equal(last.crossOriginIsolated, true, 'the frame is not cross-origin isolated');
  assert.equal(last.threads, Math.min(os.cpus().length, 8));
  const total = last.stats.reduce((sum, row) => sum + row.ml, 0);
  assert.ok(total > 1000 && total < 1800, `labelled ${total} mL`);
  assert.deepEqual(Object.keys(last.stats[0]).sort(), ['label', 'ml', 'name', 'voxels']);
  assert.ok(Number.isFinite(last.quality?.score), `the result message has no quality score: ${JSON.stringify(last.quality)}`);

  const framed = path.join(artifacts, last.maskName);
  fs.writeFileSync(framed, Buffer.from(last.mask));
  const geometry = niftiGeometry(framed);
  assert.deepEqual(geometry.shape, niftiGeometry(EXAMPLE).shape);
  const compared = labelDifference(framed, await maskOfThePage());
  assert.equal(compared.affinesClose, true);
  assert.equal(compared.differing, 0, `the iframe's mask differs from the page's in ${compared.differing} voxels`);

  // The stranger's frame started too, but never spoke to it (not even "ready").
  await stranger.evaluate(([url, model]) => window.sendScan(url, model), [`${site.origin}/example/t1_crop.nii.gz`, MODEL]);
  await stranger.waitForTimeout(5000);
  assert.deepEqual(await stranger.evaluate(() => window.received), []);
  await Promise.all([host.close(), stranger.close()]);
});

test('<meshseg-app> on a second-origin host page runs the example and fires meshseg-result', { timeout: timeouts.test }, async () => {
  const page = await browser.context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${second.origin}/element.html?element=${encodeURIComponent(`${site.origin}/js/element.js`)}`);
  expectState(await waitForState(page, ['idle', 'error'], timeouts.runtime), 'idle');
  assert.equal(await page.getByTestId('model-select').inputValue(), MODEL);
  await page.getByTestId('example').click();
  await page.waitForSelector('[data-testid="run"]:not([disabled])', { timeout: timeouts.action });
  await page.getByTestId('run').click();
  expectState(await waitForState(page, ['done', 'error'], timeouts.run), 'done');
  const events = await page.evaluate(() => window.events);
  assert.equal(events.length, 1, JSON.stringify(events));
  assert.equal(events[0].type, 'meshseg-result');
  assert.equal(events[0].maskName, `t1_crop_${MODEL}_labels.nii.gz`);
  const total = events[0].stats.reduce((sum, row) => sum + row.ml, 0);
  assert.ok(total > 1000 && total < 1800, `labelled ${total} mL`);
  assert.ok(Number.isFinite(events[0].quality?.score), `meshseg-result has no quality score: ${JSON.stringify(events[0].quality)}`);
  assert.deepEqual(errors, []);
  await page.close();
});

test('nothing left the three test servers', () => {
  assert.ok(requests.some((url) => url.startsWith(`${site.origin}/pyodide/`)), 'the frame\'s runtime requests were not recorded');
  assert.deepEqual(urlsOutside(requests, [site.origin, second.origin, third.origin]), []);
});
