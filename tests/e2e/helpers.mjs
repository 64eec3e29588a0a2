// Helpers for the browser tests: the test server, the browser, request recording,
// the page's status, and reading NIfTI geometry with nibabel.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import config from '../../playwright.config.js';

/**
 * Start `python -m meshseg.serve <dist> --port <port>` and wait until it listens.
 * @param {{dist?: string, port?: number, logJson?: string, headers?: 'site'|'host'|'plain'}} [options]
 *   another site folder, a fixed port (same origin across restarts), a file for one JSON line
 *   per response, and which headers go out: 'site' (isolation + the site's CSP), 'host' (a host
 *   page of another site, isolated: no CSP) or 'plain' (an ordinary host: neither)
 * @returns {Promise<{origin: string, stop: () => Promise<void>, log: () => string}>}
 */
export async function startServer({ dist = config.dist, port = config.port, logJson = null, headers = 'site' } = {}) {
  if (!fs.existsSync(path.join(dist, 'index.html'))) {
    throw new Error(`${dist}/index.html not found: run \`python3 build.py\` before the e2e tests.`);
  }
  const env = { ...process.env, PYTHONPATH: [path.join(config.root, 'py'), process.env.PYTHONPATH].filter(Boolean).join(path.delimiter) };
  const args = ['-m', 'meshseg.serve', dist, '--port', String(port), '--host', config.host, '--quiet'];
  if (logJson) args.push('--log-json', logJson);
  if (headers === 'plain') args.push('--plain');
  else if (headers === 'host') args.push('--no-csp');
  else if (headers !== 'site') throw new TypeError(`startServer: headers must be site, host or plain, not ${headers}`);
  const child = spawn('python3', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const origin = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the test server did not start in ${config.timeouts.serverStart} ms:\n${output}`)),
      config.timeouts.serverStart);
    const onData = (chunk) => {
      output += chunk;
      const match = output.match(/at (http:\/\/[^/\s]+)\//);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the test server exited with code ${code}:\n${output}`));
    });
  });
  return {
    origin,
    log: () => output,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) {
        resolve();
        return;
      }
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}

/**
 * Launch Chromium with the shared settings and a fresh user-data dir. Every Content-Security-
 * Policy violation a page reports in its console is kept in `violations`, and close() fails
 * when there was one, unless `violationsExpected` (a test that provokes them): a feature that
 * the site's policy breaks then fails the suite even where the page shows no error. (Workers'
 * violations do not reach Playwright's console events; a worker feature the policy broke
 * fails its own test.)
 * @param {{args?: string[], serviceWorkers?: 'allow'|'block', violationsExpected?: boolean}} [options]
 *   command-line switches added to config.launchArgs; 'block': a browser with service workers off
 * @returns {Promise<{context: import('playwright-core').BrowserContext, violations: string[],
 *   close: () => Promise<void>}>}
 */
export async function launchBrowser({ args = [], serviceWorkers = 'allow', violationsExpected = false } = {}) {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshseg-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: config.executablePath,
    headless: true,
    args: [...config.launchArgs, ...args],
    viewport: config.viewport,
    acceptDownloads: true,
    serviceWorkers,
  });
  context.setDefaultTimeout(config.timeouts.action);
  const violations = [];
  const watchPage = (page) => page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(`${page.url()}: ${message.text()}`);
  });
  context.pages().forEach(watchPage);
  context.on('page', watchPage);
  return {
    context,
    violations,
    async close() {
      await context.close();
      fs.rmSync(userDataDir, { recursive: true, force: true });
      if (violations.length > 0 && !violationsExpected) {
        throw new Error(`the site's Content-Security-Policy refused ${violations.length} thing(s):\n${violations.join('\n')}`);
      }
    },
  };
}

/**
 * Record every URL the browser asks for: page and worker requests (reported on the context)
 * and the scripts of workers the page starts.
 * @param {import('playwright-core').BrowserContext} context
 * @param {import('playwright-core').Page} page
 * @returns {string[]} the list, filled as requests happen
 */
export function recordRequests(context, page) {
  const urls = [];
  context.on('request', (request) => urls.push(request.url()));
  page.on('worker', (worker) => urls.push(worker.url()));
  return urls;
}

/** URLs that went anywhere but `origin` (data: and blob: URLs are local). */
export function foreignUrls(urls, origin) {
  return urls.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith('data:') && !url.startsWith('blob:'));
}

/** The status element's state and text. */
export async function readStatus(page) {
  const status = page.getByTestId('status');
  return { state: await status.getAttribute('data-state'), text: (await status.textContent()).trim() };
}

/**
 * Wait until the status is in one of `states`; the error names the status seen last.
 * @returns {Promise<{state: string, text: string}>}
 */
export async function waitForState(page, states, timeout) {
  try {
    await page.waitForFunction(
      (wanted) => wanted.includes(document.querySelector('[data-testid="status"]')?.dataset.state),
      states, { timeout, polling: 250 },
    );
  } catch (error) {
    const seen = await readStatus(page);
    throw new Error(`status did not reach ${states.join('|')} within ${timeout / 1000} s; `
      + `it is ${seen.state}: "${seen.text}" (${error.message.split('\n')[0]})`);
  }
  return readStatus(page);
}

/** Fail with the status text unless the status is `state`. */
export function expectState(seen, state) {
  if (seen.state !== state) {
    throw new Error(`expected status ${state}, got ${seen.state}: "${seen.text}"`);
  }
}

/** The page's stats table as rows of {label, name, voxels, ml}. */
export async function readStatsTable(page) {
  const rows = await page.getByTestId('stats').locator('tbody tr').evaluateAll((trs) => trs.map(
    (tr) => [...tr.cells].map((td) => td.textContent.trim()),
  ));
  const number = (text) => Number(text.replaceAll(',', ''));
  return rows.map(([label, name, voxels, ml]) => ({ label: number(label), name, voxels: number(voxels), ml: number(ml) }));
}

/**
 * Click a download link (by test id) and save the file under the artifact dir.
 * @returns {Promise<string>} the saved file's path
 */
export async function download(page, testId, prefix) {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testId).click()]);
  const target = path.join(config.artifactDir, `${prefix}-${download.suggestedFilename()}`);
  await download.saveAs(target);
  return target;
}

/** Run a nibabel `script` on `args` in python3 and parse the JSON it prints; `what` names
 * the job in the error (with Python's stderr) when it fails. */
function pythonJson(script, args, what) {
  const done = spawnSync('python3', ['-c', script, ...args], { encoding: 'utf-8' });
  if (done.status !== 0) throw new Error(`nibabel could not ${what}:\n${done.stderr}`);
  return JSON.parse(done.stdout);
}

/**
 * Shape and affine of a NIfTI/MGZ file as nibabel sees them.
 * @returns {{shape: number[], affine: number[][]}}
 */
export function niftiGeometry(file) {
  const script = 'import json, sys, nibabel as nib\n'
    + 'img = nib.load(sys.argv[1])\n'
    + 'print(json.dumps({"shape": list(img.shape), "affine": img.affine.tolist()}))';
  return pythonJson(script, [file], `read ${file}`);
}

/** Throw unless two affines agree within `tolerance` everywhere. */
export function expectAffineClose(actual, expected, tolerance = 1e-4) {
  const worst = Math.max(...actual.flat().map((value, i) => Math.abs(value - expected.flat()[i])));
  if (!(worst <= tolerance)) {
    throw new Error(`affines differ by ${worst}:\nactual   ${JSON.stringify(actual)}\nexpected ${JSON.stringify(expected)}`);
  }
}

/**
 * Voxels where two label images differ, with both geometries (nibabel).
 * @returns {{differing: number, shapes: number[][], affinesClose: boolean}}
 */
export function labelDifference(fileA, fileB) {
  const script = 'import json, sys, numpy as np, nibabel as nib\n'
    + 'a, b = nib.load(sys.argv[1]), nib.load(sys.argv[2])\n'
    + 'va, vb = np.asanyarray(a.dataobj), np.asanyarray(b.dataobj)\n'
    + 'same = va.shape == vb.shape\n'
    + 'print(json.dumps({"differing": int(np.count_nonzero(va != vb)) if same else -1,'
    + ' "shapes": [list(va.shape), list(vb.shape)],'
    + ' "affinesClose": bool(np.allclose(a.affine, b.affine, atol=1e-4))}))';
  return pythonJson(script, [fileA, fileB], `compare ${fileA} and ${fileB}`);
}

/**
 * Voxels where two images of the same grid differ, and the largest absolute difference of
 * their scaled values (nibabel; uint8 probabilities count in steps of their scl_slope).
 * @returns {{differing: number, maxAbs: number, shapes: number[][], range: number[],
 *   distinct: number}} range and distinct: the first image's extreme values and how many
 *   different values it holds
 */
export function voxelDifference(fileA, fileB) {
  const script = 'import json, sys, numpy as np, nibabel as nib\n'
    + 'a, b = (np.asanyarray(nib.load(f).dataobj).astype(np.float64) for f in sys.argv[1:3])\n'
    + 'if a.shape != b.shape: sys.exit(f"shapes differ: {a.shape} {b.shape}")\n'
    + 'print(json.dumps({"differing": int(np.count_nonzero(a != b)),'
    + ' "maxAbs": float(np.abs(a - b).max()), "shapes": [list(a.shape), list(b.shape)],'
    + ' "range": [float(a.min()), float(a.max())], "distinct": int(np.unique(a).size)}))';
  return pythonJson(script, [fileA, fileB], `compare ${fileA} and ${fileB}`);
}

/** Voxels per label value of a label image (nibabel), as {label: voxels}. */
export function labelCounts(file) {
  const script = 'import json, sys, numpy as np, nibabel as nib\n'
    + 'values, counts = np.unique(np.asanyarray(nib.load(sys.argv[1]).dataobj), return_counts=True)\n'
    + 'print(json.dumps({str(int(v)): int(n) for v, n in zip(values, counts)}))';
  return pythonJson(script, [file], `read ${file}`);
}

/** URLs that went to none of `origins` (data: and blob: URLs are local). */
export function urlsOutside(urls, origins) {
  return urls.filter((url) => !url.startsWith('data:') && !url.startsWith('blob:')
    && !origins.some((origin) => url.startsWith(`${origin}/`)));
}

/**
 * Set files on a file input (by test id) and wait until the page has judged them: the
 * status has left "loading" and its text changed.
 * @returns {Promise<{state: string, text: string}>}
 */
export async function setFilesAndWait(page, testId, files, timeout = config.timeouts.action) {
  const before = (await readStatus(page)).text;
  await page.getByTestId(testId).setInputFiles(files);
  await page.waitForFunction((old) => {
    const status = document.querySelector('[data-testid="status"]');
    return status.dataset.state !== 'loading' && status.textContent.trim() !== old;
  }, before, { timeout, polling: 100 });
  return readStatus(page);
}

/**
 * A new page on `url` once the app's runtime is ready (status idle); page errors go into
 * `errors`, console errors are printed as TAP comments.
 */
export async function openAppPage(context, url, errors) {
  const page = await context.newPage();
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') process.stdout.write(`# console error: ${message.text()}\n`);
  });
  await page.goto(url);
  expectState(await waitForState(page, ['idle', 'error'], config.timeouts.runtime), 'idle');
  return page;
}
