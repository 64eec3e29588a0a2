// Where most hosts are: pages that send no COOP/COEP headers (a lab website, a blog).
// There is no cross-origin isolation, so no SharedArrayBuffer at all, and WebAssembly runs
// on one thread. Each way of using MeshSeg must still run a model to done, say that it ran
// on one thread and why, and give the same mask as the isolated page (2 threads here):
// embed.html framed by such a host, <meshseg-app> and meshseg.js on one, and the site
// itself served without the headers to a browser with service workers off (so nothing
// can add them back). Batches: batch.test.mjs.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import config from '../../playwright.config.js';
import { download, expectState, labelDifference, launchBrowser, startServer, waitForState } from './helpers.mjs';
import { writeHostPages } from './host-pages.mjs';

const MODEL = 'model5_gw_ae';
const { timeouts } = config;
const ONE_THREAD = /not cross-origin isolated/;

let site; let plainSite; let host; let browser; let artifacts; let reference;

before(async () => {
  artifacts = fs.mkdtempSync(path.join(os.tmpdir(), 'meshseg-plain-'));
  const hostDir = writeHostPages(path.join(artifacts, 'host'), MODEL);
  [site, plainSite, host] = await Promise.all([startServer(), startServer({ headers: 'plain' }),
    startServer({ dist: hostDir, headers: 'plain' })]);
  browser = await launchBrowser({ serviceWorkers: 'block' });
  fs.mkdirSync(config.artifactDir, { recursive: true });
}, { timeout: timeouts.serverStart * 3 });

after(async () => {
  await browser?.close();
  await Promise.all([site, plainSite, host].map((server) => server?.stop()));
  fs.rmSync(artifacts, { recursive: true, force: true });
});

/** Run the example on the page at `origin`; the page's isolation, About text and mask file. */
async function runThePage(origin, prefix) {
  const page = await browser.context.newPage();
  await page.goto(`${origin}/?provider=wasm&model=${MODEL}`);
  expectState(await waitForState(page, ['idle', 'error'], timeouts.runtime), 'idle');
  const isolated = await page.evaluate(() => ({ coi: globalThis.crossOriginIsolated, sab: typeof SharedArrayBuffer,
    controlled: Boolean(navigator.serviceWorker?.controller) }));
  await page.getByTestId('example').click();
  await page.waitForSelector('[data-testid="run"]:not([disabled])', { timeout: timeouts.action });
  await page.getByTestId('run').click();
  expectState(await waitForState(page, ['done', 'error'], timeouts.run), 'done');
  const mask = await download(page, 'download-mask', prefix);
  await page.locator('[data-testid="about"] summary').click();
  const about = await page.getByTestId('about').textContent();
  await page.close();
  return { isolated, about, mask };
}

/** The isolated page's mask, run once: what every other way must give. Started by the
 * first test beside its own one-thread run (this machine has cores to spare for it). */
async function referenceMask() {
  reference ??= runThePage(site.origin, 'isolated').then((run) => {
    assert.equal(run.isolated.coi, true, 'the reference page is not cross-origin isolated');
    assert.match(run.about, /Cross-origin isolated\s*yes/);
    return run.mask;
  });
  return reference;
}

/** Start `make()` now and keep its promise; the test that awaits it sees its failure, and
 * none is reported as unhandled before that. */
function early(make) {
  const promise = make();
  promise.catch(() => {});
  return promise;
}

function sameMask(file, what) {
  return referenceMask().then((expected) => {
    const compared = labelDifference(file, expected);
    assert.equal(compared.affinesClose, true, `${what}: the mask's affine differs from the isolated page's`);
    assert.equal(compared.differing, 0, `${what}: the mask differs from the isolated page's in ${compared.differing} voxels`);
  });
}

test('embed.html framed by a host page without COOP/COEP: a result on one thread, the same mask as the isolated page', { timeout: timeouts.test }, async () => {
  early(referenceMask);
  const page = await browser.context.newPage();
  const frameUrl = `${site.origin}/embed.html?origins=${encodeURIComponent(host.origin)}&provider=wasm`;
  await page.goto(`${host.origin}/frame.html?frame=${encodeURIComponent(frameUrl)}`);
  assert.equal(await page.evaluate(() => globalThis.crossOriginIsolated), false, 'the host page is isolated');
  await page.waitForFunction(() => window.received.some((m) => m.data.type === 'meshseg:ready'), null, { timeout: timeouts.runtime });
  await page.evaluate(([url, model]) => window.sendScan(url, model), [`${site.origin}/example/t1_crop.nii.gz`, MODEL]);
  await page.waitForFunction(() => window.received.some((m) => ['meshseg:result', 'meshseg:error'].includes(m.data.type)), null, { timeout: timeouts.run });
  const last = await page.evaluate(() => {
    const { data } = window.received.at(-1);
    return { ...data, mask: data.mask ? Array.from(new Uint8Array(data.mask)) : undefined };
  });
  assert.equal(last.type, 'meshseg:result', `the frame answered ${JSON.stringify(last)}`);
  assert.equal(last.crossOriginIsolated, false);
  assert.equal(last.threads, 1);
  assert.equal(last.backend.crossOriginIsolated, false);
  assert.match(last.backend.threadsReason, ONE_THREAD);
  const file = path.join(artifacts, `framed-${last.maskName}`);
  fs.writeFileSync(file, Buffer.from(last.mask));
  await sameMask(file, 'embed.html on a plain host');
  await page.close();
});

test('<meshseg-app> on a host page without COOP/COEP runs to done on one thread and says so in About', { timeout: timeouts.test }, async () => {
  const page = await browser.context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${host.origin}/element.html?element=${encodeURIComponent(`${site.origin}/js/element.js`)}`);
  expectState(await waitForState(page, ['idle', 'error'], timeouts.runtime), 'idle');
  await page.getByTestId('example').click();
  await page.waitForSelector('[data-testid="run"]:not([disabled])', { timeout: timeouts.action });
  await page.getByTestId('run').click();
  expectState(await waitForState(page, ['done', 'error'], timeouts.run), 'done');
  const events = await page.evaluate(() => window.events);
  assert.deepEqual(events.map((e) => e.type), ['meshseg-result'], JSON.stringify(events));
  await page.locator('[data-testid="about"] summary').click();
  const about = await page.getByTestId('about').textContent();
  assert.match(about, /WebAssembly \(CPU\), 1 thread/);
  assert.match(about, ONE_THREAD);
  await sameMask(await download(page, 'download-mask', 'element-plain'), '<meshseg-app> on a plain host');
  assert.deepEqual(errors, []);
  await page.close();
});

test('meshseg.js imported by a host page without COOP/COEP segments on one thread', { timeout: timeouts.test }, async () => {
  const page = await browser.context.newPage();
  await page.goto(`${host.origin}/api.html`);
  const run = await page.evaluate(([api, scan, model]) => window.segmentWithApi(api, scan, model),
    [`${site.origin}/meshseg.js`, `${site.origin}/example/t1_crop.nii.gz`, MODEL]);
  assert.equal(run.backend.threads, 1);
  assert.equal(run.backend.crossOriginIsolated, false);
  assert.match(run.backend.threadsReason, ONE_THREAD);
  const file = path.join(artifacts, `api-${run.maskName}`);
  fs.writeFileSync(file, Buffer.from(run.mask));
  await sameMask(file, 'meshseg.js on a plain host');
  await page.close();
});

test('the page served without COOP/COEP to a browser without service workers runs to done on one thread', { timeout: timeouts.test }, async () => {
  const run = await runThePage(plainSite.origin, 'plain-page');
  assert.deepEqual(run.isolated, { coi: false, sab: 'undefined', controlled: false });
  assert.match(run.about, /Cross-origin isolated\s*no: WebAssembly runs on one thread/);
  assert.match(run.about, /WebAssembly \(CPU\), 1 thread/);
  await sameMask(run.mask, 'the page served without COOP/COEP');
});
