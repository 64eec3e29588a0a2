// Scan sessions in the page: what a second run on a loaded scan saves, per stage, and the
// renderer's memory over many runs in one page (goal: growth <= 10 % over the first run).
//
//   node bench/session.mjs [--runs 10] [--models model5_gw_ae,model11_gw_ae] [--threads 2]
//        [--input scan.nii.gz] [--out session.json]
//
// Drives the built page (dist/) in headless Chromium like a user: the example (or --input)
// once, then --runs runs cycling through --models with the Run button. After each run it
// reads the stage timings of the result (with ONNX Runtime's session load and run
// seconds: each segmentation gets a fresh inference worker) and the resident memory of the Chromium renderer
// processes (/proc: VmRSS now, VmHWM peak), and prints one row per run. Before the next run
// it waits until the viewer has drawn the result (the GPU process is idle): headless
// Chromium draws with SwiftShader on the CPU, which would slow the next run's inference.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import config from '../playwright.config.js';
import { expectState, startServer, waitForState } from '../tests/e2e/helpers.mjs';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    models: { type: 'string', default: 'model5_gw_ae,model11_gw_ae' },
    threads: { type: 'string', default: '2' },
    input: { type: 'string', default: path.join(config.sharedData, 't1_crop.nii.gz') },
    out: { type: 'string' },
  },
});

/** Renderer processes of the Chromium using `userDataDir`: {pid, rssMb, peakMb}. */
function renderers(userDataDir) {
  const found = [];
  for (const pid of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    let cmdline;
    try {
      cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf-8');
    } catch {
      continue; // the process ended while we looked
    }
    if (!cmdline.includes('--type=renderer') || !cmdline.includes(userDataDir)) continue;
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf-8');
    const kb = (field) => Number(status.match(new RegExp(`${field}:\\s+(\\d+)`))?.[1] ?? 0);
    found.push({ pid: Number(pid), rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 });
  }
  return found;
}

/** CPU seconds used so far by the Chromium GPU process of `userDataDir` (software GL here). */
function gpuCpuSeconds(userDataDir) {
  let seconds = 0;
  for (const pid of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    let cmdline;
    try {
      cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf-8');
      if (!cmdline.includes('--type=gpu-process') || !cmdline.includes(userDataDir)) continue;
      const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf-8').split(') ')[1].split(' ');
      seconds += (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks (CLK_TCK 100)
    } catch {
      continue; // the process ended while we looked
    }
  }
  return seconds;
}

/**
 * Wait (at most `limitMs`) until the GPU process has used under 0.1 s of CPU in a second:
 * in headless Chromium the viewer draws a new result with SwiftShader (software GL) for
 * several seconds, which would otherwise take a core from the next run's inference.
 */
async function gpuQuiet(page, userDataDir, limitMs = 30000) {
  const until = Date.now() + limitMs;
  while (Date.now() < until) {
    const before = gpuCpuSeconds(userDataDir);
    await page.waitForTimeout(1000);
    if (gpuCpuSeconds(userDataDir) - before < 0.1) return;
  }
}

function memory(userDataDir) {
  const all = renderers(userDataDir);
  return { rssMb: all.reduce((sum, p) => sum + p.rssMb, 0), peakMb: Math.max(0, ...all.map((p) => p.peakMb)) };
}

async function main() {
  const models = args.models.split(',');
  const runs = Number(args.runs);
  const server = await startServer();
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshseg-session-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: config.executablePath, headless: true, args: config.launchArgs, viewport: config.viewport,
  });
  const page = await context.newPage();
  const rows = [];
  try {
    await page.goto(`${server.origin}/?provider=wasm&threads=${args.threads}`);
    expectState(await waitForState(page, ['idle', 'error'], config.timeouts.runtime), 'idle');
    await page.getByTestId('file-input').setInputFiles(args.input);
    // The name shows once the file is read; then wait for the worker's verdict.
    await page.waitForFunction((name) => document.querySelector('#file-name').textContent === name
      && document.querySelector('[data-testid="status"]').dataset.state !== 'loading',
    path.basename(args.input), { timeout: config.timeouts.run });
    expectState(await waitForState(page, ['idle', 'error'], config.timeouts.run), 'idle');
    for (let run = 1; run <= runs; run++) {
      const model = models[(run - 1) % models.length];
      await page.getByTestId('model-select').selectOption(model);
      const started = Date.now();
      await page.getByTestId('run').click();
      expectState(await waitForState(page, ['done', 'error'], config.timeouts.run), 'done');
      const seconds = (Date.now() - started) / 1000;
      const result = await page.evaluate(() => {
        const app = document.querySelector('meshseg-app').app;
        const last = [...app.state.results.values()].at(-1);
        return { timings: last.timings, reused: last.reused, inference: last.inference };
      });
      await gpuQuiet(page, userDataDir);
      rows.push({ run, model, seconds, ...result, ...memory(userDataDir) });
      const r = rows.at(-1);
      process.stderr.write(`run ${run} ${model}: ${seconds.toFixed(1)} s, reused ${r.reused.join('+') || '-'}, renderer ${r.rssMb.toFixed(0)} MB (peak ${r.peakMb.toFixed(0)} MB)\n`);
    }
  } finally {
    await context.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
    await server.stop();
  }
  report(rows);
  if (args.out) fs.writeFileSync(args.out, JSON.stringify(rows, null, 2));
}

function report(rows) {
  const stages = ['load', 'conform', 'normalise', 'premodel', 'inference', 'postprocess', 'native', 'stats'];
  const head = ['run', 'model'.padEnd(16), 'run s', ...stages.map((s) => s.slice(0, 8).padStart(8)), 'ort load', 'ort run', 'reused'.padEnd(20), 'rss MB', 'peak MB'];
  console.log(head.join(' '));
  for (const r of rows) {
    const cells = stages.map((s) => (r.timings[s] === undefined ? '-' : r.timings[s].toFixed(2)).padStart(8));
    const sum = (key) => r.inference.reduce((total, run) => total + run[key], 0) / 1000;
    const ort = [sum('loadMs').toFixed(2).padStart(8), sum('runMs').toFixed(2).padStart(7)];
    console.log([String(r.run).padStart(3), r.model.padEnd(16), r.seconds.toFixed(1).padStart(5), ...cells, ...ort,
      (r.reused.join('+') || '-').padEnd(20), r.rssMb.toFixed(0).padStart(6), r.peakMb.toFixed(0).padStart(7)].join(' '));
  }
  const first = rows[0];
  const again = rows.find((r) => r.run > 1 && r.model === first.model);
  if (again) {
    const saved = stages.map((s) => [s, (first.timings[s] ?? 0) - (again.timings[s] ?? 0)]).filter(([, v]) => Math.abs(v) >= 0.005);
    console.log(`second ${first.model} run on the loaded scan: ${again.seconds.toFixed(1)} s vs ${first.seconds.toFixed(1)} s; `
      + `saved per stage: ${saved.map(([s, v]) => `${s} ${v.toFixed(2)} s`).join(', ')}`);
  }
  const last = rows.at(-1);
  console.log(`renderer memory after run 1: ${first.rssMb.toFixed(0)} MB; after run ${last.run}: ${last.rssMb.toFixed(0)} MB `
    + `(${(100 * (last.rssMb / first.rssMb - 1)).toFixed(1)} % growth; peak ${Math.max(...rows.map((r) => r.peakMb)).toFixed(0)} MB)`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
