// One in-browser benchmark case: the built page (dist/) in a fresh headless Chromium, one
// model on one scan with the given runner options, timed from the Run click to the
// page's "done". Writes a JSON report (see bench/README.md) and saves the label mask.
//
//   node bench/browser.mjs --model model5_gw_ae [--threads 2] [--provider wasm]
//        [--optimisation all] [--input scan.nii.gz] [--out case.json] [--mask-dir dir]
//        [--origin http://127.0.0.1:8000] [--timeout-s 3600] [--gpu none|software|hardware]
//        [--big-scan]
//
// Without --origin it starts `python -m meshseg.serve dist --port 0` itself. --big-scan uses
// a 512x512x256 int16 phantom (tests/page_corpus.py) as the input. Every report gives the
// longest main-thread task until the scan is shown and until the labels are shown, against
// the 0.5 s goal (LONG_TASK_GOAL_MS): the tests assert only that the page never freezes.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import config from '../playwright.config.js';
import { download, expectState, startServer, waitForState } from '../tests/e2e/helpers.mjs';

const OPTIONS = {
  model: { type: 'string' },
  threads: { type: 'string' },
  provider: { type: 'string', default: 'wasm' },
  optimisation: { type: 'string', default: 'all' },
  input: { type: 'string', default: path.join(config.sharedData, 't1_crop.nii.gz') },
  out: { type: 'string' },
  'mask-dir': { type: 'string', default: os.tmpdir() },
  origin: { type: 'string' },
  'timeout-s': { type: 'string', default: '3600' },
  gpu: { type: 'string', default: 'none' },
  'big-scan': { type: 'boolean', default: false },
};

// The longest main-thread task the page may have while it shows a scan and its labels.
const LONG_TASK_GOAL_MS = 500;

// Chromium switches per --gpu: none = the tests' settings (no WebGPU adapter); software =
// the SwiftShader adapter (as tests/e2e/webgpu.test.mjs); hardware = the machine's GPU.
const GPU_ARGS = {
  none: () => config.launchArgs,
  software: () => [...config.launchArgs, ...config.webgpuArgs],
  hardware: () => [...config.launchArgs.filter((arg) => arg !== '--disable-gpu'),
    ...config.hardwareGpuArgs],
};

// Runs in the page before its scripts: keep what the worker posts (results without their
// mask bytes, ready infos) and the times of the Run click and of the final status.
function captureWorkerMessages() {
  const bench = { results: [], ready: [], clickedAt: null, finishedAt: null, longTasks: [] };
  window.__meshsegBench = bench;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) bench.longTasks.push({ start: entry.startTime, ms: entry.duration });
  }).observe({ type: 'longtask', buffered: true });
  const NativeWorker = window.Worker;
  window.Worker = class extends NativeWorker {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', ({ data }) => {
        // Protocol v2: the init reply carries {info, models}; a segment reply carries a maskName.
        if (data?.type === 'result' && data.value?.info && data.value?.models) {
          bench.ready.push({ info: data.value.info, error: null, at: performance.now() });
        } else if (data?.type === 'result' && data.value?.maskName) {
          const { mask, labelsNifti, ...rest } = data.value;
          bench.results.push({ result: { ...rest, maskBytes: mask?.byteLength ?? null }, error: null, at: performance.now() });
        } else if (data?.type === 'error') {
          bench.results.push({ result: null, error: data.error, at: performance.now() });
        }
      });
    }
  };
  document.addEventListener('click', (event) => {
    if (event.target.closest?.('[data-testid="run"]')) bench.clickedAt = performance.now();
  }, true);
}

function watchStatus() {
  const bench = window.__meshsegBench;
  const element = document.querySelector('[data-testid="status"]');
  new MutationObserver(() => {
    if (['done', 'error'].includes(element.dataset.state) && bench.finishedAt === null) {
      bench.finishedAt = performance.now();
    }
  }).observe(element, { attributes: true, attributeFilter: ['data-state'] });
}

/** Chromium with the test settings and a user-data dir we know (to find its processes). */
async function launch(gpu) {
  if (!Object.hasOwn(GPU_ARGS, gpu)) {
    throw new Error(`unknown --gpu ${JSON.stringify(gpu)}; use one of ${Object.keys(GPU_ARGS).join(', ')}`);
  }
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshseg-bench-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: config.executablePath, headless: true, args: GPU_ARGS[gpu](),
    viewport: config.viewport, acceptDownloads: true,
  });
  context.setDefaultTimeout(config.timeouts.action);
  return {
    context,
    userDataDir,
    async close() {
      await context.close();
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Peak memory of the browser's renderer processes, read by meshseg.bench from /proc. */
function rendererPeaks(userDataDir) {
  const env = { ...process.env, PYTHONPATH: [path.join(config.root, 'py'), process.env.PYTHONPATH].filter(Boolean).join(path.delimiter) };
  const done = spawnSync('python3', ['-m', 'meshseg.bench', '--renderer-peaks', userDataDir], { encoding: 'utf-8', env });
  if (done.status !== 0) {
    throw new Error(`reading renderer memory failed:\n${done.stderr}`);
  }
  return JSON.parse(done.stdout);
}

function pageUrl(origin, args) {
  const query = new URLSearchParams({ provider: args.provider, optimisation: args.optimisation });
  if (args.threads) query.set('threads', args.threads);
  return `${origin}/?${query}`;
}

/** The WebGPU adapter the page is offered (null when none): what the GPU figures ran on. */
async function adapterInfo(page) {
  return page.evaluate(async () => {
    const adapter = await navigator.gpu?.requestAdapter();
    if (!adapter) return null;
    const { vendor, architecture, device, description } = adapter.info;
    return { vendor, architecture, device, description,
      isFallbackAdapter: adapter.info.isFallbackAdapter ?? adapter.isFallbackAdapter ?? null,
      shaderF16: adapter.features.has('shader-f16'),
      maxBufferSize: adapter.limits.maxBufferSize,
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize };
  });
}

/** Once the page's viewer shows `count` volumes. Polled on a timer, as the robustness test
 * does: polling on animation frames makes headless Chromium draw every frame while the scan
 * loads, and that alone adds a 1.8-2.0 s task (software WebGL) a page left alone does not have. */
function viewerShows(page, count) {
  return page.waitForFunction((n) => document.querySelector('meshseg-app').app.parts.viewer.nv.volumes.length === n,
    count, { timeout: config.timeouts.run, polling: 100 });
}

/** The longest main-thread task (ms) since `mark` (page clock), as the browser reported it. */
function longestTaskSince(page, mark) {
  return page.evaluate((since) => Math.max(0, ...window.__meshsegBench.longTasks
    .filter((task) => task.start >= since).map((task) => task.ms)), mark);
}

async function runCase(page, browser, args) {
  await page.addInitScript(captureWorkerMessages);
  await page.goto(pageUrl(args.origin, args));
  expectState(await waitForState(page, ['idle', 'error'], config.timeouts.runtime), 'idle');
  const adapter = await adapterInfo(page);
  const chosen = await page.evaluate(() => performance.now());
  await page.getByTestId('file-input').setInputFiles(args.input);
  await viewerShows(page, 1);
  const untilShown = await longestTaskSince(page, chosen);
  await page.getByTestId('model-select').selectOption(args.model);
  await page.waitForSelector('[data-testid="run"]:not([disabled])');
  await page.evaluate(watchStatus);
  await page.getByTestId('run').click();
  const seen = await waitForState(page, ['done', 'error'], Number(args['timeout-s']) * 1000);
  const renderers = rendererPeaks(browser.userDataDir);
  const bench = await page.evaluate(() => window.__meshsegBench);
  expectState(seen, 'done');
  await viewerShows(page, 2);
  const untilLabels = await longestTaskSince(page, chosen);
  const [posted] = bench.results;
  const saved = await download(page, 'download-mask', `bench-${args.model}-t${args.threads ?? 'default'}`);
  const mask = path.join(args['mask-dir'], `browser-${process.pid}-${path.basename(saved)}`);
  fs.renameSync(saved, mask);
  return {
    model: args.model, input: path.basename(args.input),
    requested: { provider: args.provider, threads: args.threads ? Number(args.threads) : null, optimisation: args.optimisation },
    gpu: args.gpu, adapter, backend: posted.result.backend, info: bench.ready[0]?.info ?? null,
    ready_s: bench.ready[0] ? bench.ready[0].at / 1000 : null, // page navigation -> worker ready
    run_to_done_s: (bench.finishedAt - bench.clickedAt) / 1000,
    timings: posted.result.timings, inference: posted.result.inference, work: posted.result.work,
    stats: posted.result.stats,
    longest_task_ms: { until_shown: untilShown, until_labels_shown: untilLabels,
      goal: LONG_TASK_GOAL_MS, goal_met: Math.max(untilShown, untilLabels) <= LONG_TASK_GOAL_MS },
    // Every main-thread task over 50 ms from choosing the file on: start (s after the file
    // was chosen) and length (ms).
    long_tasks: bench.longTasks.filter((task) => task.start >= chosen)
      .map((task) => ({ at_s: (task.start - chosen) / 1000, ms: task.ms })),
    marks_s: { clicked: (bench.clickedAt - chosen) / 1000, finished: (bench.finishedAt - chosen) / 1000 },
    renderer_peak_mb: Math.max(0, ...renderers.map((r) => r.vmhwm_kb / 1024)),
    renderers, mask,
  };
}

/** Write the 512x512x256 int16 phantom of the robustness test into a temporary folder. */
function bigScan() {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'meshseg-bench-big-'));
  const script = 'import sys; sys.path.insert(0, sys.argv[1]); from pathlib import Path; import page_corpus; '
    + 'print(page_corpus.big_scan(Path(sys.argv[2]) / "big_512x512x256_int16.nii"))';
  const done = spawnSync('python3', ['-c', script, path.join(config.root, 'tests'), folder], { encoding: 'utf-8' });
  if (done.status !== 0) throw new Error(`writing the big scan failed:\n${done.stderr}`);
  return done.stdout.trim();
}

async function main() {
  const { values: args } = parseArgs({ options: OPTIONS });
  if (!args.model) {
    throw new Error('--model is required (a model id from dist/models/index.json)');
  }
  const big = args['big-scan'] ? bigScan() : null;
  if (big) args.input = big;
  const server = args.origin ? null : await startServer();
  args.origin ??= server.origin;
  const browser = await launch(args.gpu);
  try {
    const page = await browser.context.newPage();
    const report = await runCase(page, browser, args);
    const text = JSON.stringify(report, null, 2);
    if (args.out) fs.writeFileSync(args.out, text);
    else process.stdout.write(`${text}\n`);
  } finally {
    await browser.close();
    await server?.stop();
    if (big) fs.rmSync(path.dirname(big), { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exitCode = 1;
});
