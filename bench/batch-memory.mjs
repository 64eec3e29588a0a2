// Renderer memory of a batch in the page: the peak resident memory (VmHWM, /proc) of the
// Chromium renderer running a batch of N copies of one scan, each scan's session closed
// after its run. Prints one JSON line.
//
//   PYTHONPATH=py:tests python3 tests/batch_site.py site dist /tmp/site
//   node bench/batch-memory.mjs --site /tmp/site --scan ../shared/data/t1_crop.nii.gz --count 20 [--model sphere]

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import config from '../playwright.config.js';
import { startServer } from '../tests/e2e/helpers.mjs';

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, value, i, all) => (i % 2 ? pairs : [...pairs, [all[i].replace(/^--/, ''), all[i + 1]]]), []));
const count = Number(args.count ?? 1);
const model = args.model ?? 'sphere';
const scan = path.resolve(args.scan);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'meshseg-batch-bench-'));
const files = Array.from({ length: count }, (_, i) => {
  const target = path.join(work, `scan${String(i + 1).padStart(2, '0')}${scan.endsWith('.nii.gz') ? '.nii.gz' : path.extname(scan)}`);
  fs.copyFileSync(scan, target);
  return target;
});

function rendererPeakKb(userDataDir) {
  const done = spawnSync('python3', ['-c', 'import json,sys; from meshseg.bench.native import renderer_peaks; print(json.dumps(renderer_peaks(sys.argv[1])))', userDataDir],
    { env: { ...process.env, PYTHONPATH: path.join(config.root, 'py') }, encoding: 'utf-8' });
  return Math.max(0, ...JSON.parse(done.stdout).map((p) => p.vmhwm_kb));
}

const server = await startServer({ dist: args.site });
const userDataDir = path.join(work, 'profile');
const context = await chromium.launchPersistentContext(userDataDir, { executablePath: config.executablePath, headless: true, args: config.launchArgs, acceptDownloads: true });
try {
  const page = await context.newPage();
  await page.goto(`${server.origin}/`);
  await page.waitForFunction(() => ['idle', 'error'].includes(document.querySelector('[data-testid="status"]')?.dataset.state), null, { timeout: 300_000 });
  await page.getByTestId('model-select').selectOption(model);
  const readyKb = rendererPeakKb(userDataDir);
  await page.getByTestId('batch-input').setInputFiles(files);
  await page.waitForFunction(() => document.querySelector('[data-testid="batch"]')?.dataset.state === 'ready', null, { timeout: 120_000 });
  await page.getByTestId('batch-run').click();
  await page.waitForFunction(() => ['done', 'cancelled', 'error'].includes(document.querySelector('[data-testid="batch"]')?.dataset.state), null, { timeout: 3_600_000, polling: 500 });
  const seconds = Number(await page.getByTestId('batch').getAttribute('data-seconds'));
  const message = await page.getByTestId('batch-message').textContent();
  console.log(JSON.stringify({ count, model, scan: path.basename(scan), seconds: Math.round(seconds * 10) / 10,
    perScanS: Math.round((seconds / count) * 100) / 100, rendererPeakMB: Math.round(rendererPeakKb(userDataDir) / 1024),
    rendererAtReadyMB: Math.round(readyKb / 1024), message }));
} finally {
  await context.close();
  await server.stop();
  fs.rmSync(work, { recursive: true, force: true });
}
