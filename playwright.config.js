// Shared settings for the browser tests in tests/e2e (node --test + playwright-core).
// Chromium comes from the system (/usr/bin/chromium); nothing is downloaded.

import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(fileURLToPath(import.meta.url));

export default {
  root,
  executablePath: process.env.MESHSEG_CHROMIUM ?? '/usr/bin/chromium',
  // Offline and quiet: every host except the loopback test server resolves to nothing.
  launchArgs: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
  ],
  // Added by tests/e2e/webgpu.test.mjs only: with it, headless Chromium (Debian 156) offers
  // its software WebGPU adapter (SwiftShader) to pages and workers, even with --disable-gpu.
  webgpuArgs: ['--enable-unsafe-webgpu'],
  // bench/browser.mjs --gpu hardware: launchArgs without --disable-gpu, plus these, give
  // headless Chromium the machine's GPU through Vulkan (Dawn's Vulkan backend for WebGPU,
  // ANGLE on Vulkan for the GL the viewer uses; no window surface in headless mode).
  // MESHSEG_GPU_ARGS (space-separated) replaces them where a machine needs other switches.
  hardwareGpuArgs: process.env.MESHSEG_GPU_ARGS?.split(' ').filter(Boolean) ??
    ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=vulkan',
      '--disable-vulkan-surface', '--ignore-gpu-blocklist'],
  viewport: { width: 1400, height: 1000 },
  // The built site served by `python -m meshseg.serve <dist> --port <port>`; port 0 picks a free one.
  dist: process.env.MESHSEG_DIST ?? path.join(root, 'dist'),
  host: '127.0.0.1',
  port: Number(process.env.MESHSEG_E2E_PORT ?? 0),
  sharedData: path.resolve(root, '..', 'shared', 'data'),
  artifactDir: path.join(root, 'test-results'),
  timeouts: {
    serverStart: 30_000,
    // Pyodide + numpy/scipy/nibabel start in the worker.
    runtime: 180_000,
    // One segmentation: a model runs on a 256^3 grid; WASM on 2 CPU cores takes about a minute.
    run: 300_000,
    action: 30_000,
    // One node:test test; covers a run plus a restart of the runtime.
    test: 600_000,
  },
};
