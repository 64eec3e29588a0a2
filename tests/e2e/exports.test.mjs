// End-to-end: a result's on-demand downloads (report, FreeSurfer stats, mesh), one page and
// one model run shared by every check. Each format's checks live in tests/e2e/exports/<format>.mjs,
// which exports `title` and `check(context)`; they run in file-name order on the same result.
// The scan is not on the model grid (2.4 mm, PSR), so every writer sees a resampled result.

import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import config from '../../playwright.config.js';
import { expectState, launchBrowser, openAppPage, setFilesAndWait, startServer, waitForState } from './helpers.mjs';

const MODEL = 'model5_gw_ae';
const SCAN = path.join(config.sharedData, 'nifti_space', 'PSR.nii.gz');
const CHECKS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'exports');
const { timeouts } = config;

const checks = await Promise.all(fs.readdirSync(CHECKS).filter((name) => name.endsWith('.mjs')).sort()
  .map((name) => import(path.join(CHECKS, name)).then((module) => ({ name, ...module }))));

let server;
let browser;
const context = { page: null, origin: null, scan: SCAN, model: MODEL, errors: [] };

before(async () => {
  fs.mkdirSync(config.artifactDir, { recursive: true });
  server = await startServer();
  browser = await launchBrowser();
  context.origin = server.origin;
  context.page = await openAppPage(browser.context, `${server.origin}/`, context.errors);
  const { page } = context;
  await page.getByTestId('model-select').selectOption(MODEL);
  expectState(await setFilesAndWait(page, 'file-input', SCAN, timeouts.runtime), 'idle');
  await page.getByTestId('run').click();
  expectState(await waitForState(page, ['done', 'error'], timeouts.run), 'done');
}, { timeout: timeouts.runtime * 2 + timeouts.serverStart + timeouts.run });

after(async () => {
  await browser?.close();
  await server?.stop();
});

for (const check of checks) {
  test(check.title ?? check.name, { timeout: check.timeout ?? timeouts.test }, () => check.check(context));
}

test('no page errors while exporting', () => {
  if (context.errors.length) throw new Error(`page errors: ${context.errors.join('; ')}`);
});
