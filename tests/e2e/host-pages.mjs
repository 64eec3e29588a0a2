// Host pages of another site, for the embedding tests: a folder with a page that frames
// embed.html, one with <meshseg-app> and one using the JavaScript API (meshseg.js). Each
// page keeps what it received in window globals for the test to read.

import fs from 'node:fs';
import path from 'node:path';

// Frames `?frame=URL` (allow=cross-origin-isolated); keeps every message from the frame in
// window.received; window.sendScan(url, model) posts a scan to it.
const FRAME = `<!doctype html><meta charset="utf-8"><title>host</title>
<body><script>
window.received = [];
const frame = document.createElement('iframe');
frame.allow = 'cross-origin-isolated';
frame.src = new URLSearchParams(location.search).get('frame');
document.body.append(frame);
window.addEventListener('message', (event) => {
  if (event.source === frame.contentWindow) window.received.push({ origin: event.origin, data: event.data });
});
window.sendScan = async (url, model) => {
  const data = await (await fetch(url)).arrayBuffer();
  frame.contentWindow.postMessage({ type: 'meshseg:segment', id: 7, name: 't1_crop.nii.gz', data, model }, '*', [data]);
};
</script></body>`;

// <meshseg-app model=MODEL provider=wasm>, its module imported from `?element=URL`; its
// meshseg-result and meshseg-error events in window.events.
const element = (model) => `<!doctype html><meta charset="utf-8"><title>element host</title>
<body><meshseg-app model="${model}" provider="wasm"></meshseg-app><script type="module">
window.events = [];
document.querySelector('meshseg-app').addEventListener('meshseg-result', (e) => window.events.push({ type: e.type, maskName: e.detail.maskName, stats: e.detail.stats, quality: e.detail.quality }));
document.querySelector('meshseg-app').addEventListener('meshseg-error', (e) => window.events.push({ type: e.type, message: e.detail.message }));
await import(new URLSearchParams(location.search).get('element'));
</script></body>`;

// window.segmentWithApi(apiUrl, scanUrl, model): createSegmenter (WASM) from meshseg.js at
// apiUrl, one scan, one model; answers {mask: number[], maskName, backend, total}.
const API = `<!doctype html><meta charset="utf-8"><title>api host</title>
<body><script>
window.segmentWithApi = async (apiUrl, scanUrl, model) => {
  const { createSegmenter } = await import(apiUrl);
  const segmenter = await createSegmenter({ provider: 'wasm' });
  const scan = await segmenter.open(await (await fetch(scanUrl)).arrayBuffer(), 't1_crop.nii.gz');
  const result = await segmenter.segment(scan, model);
  await segmenter.close(scan);
  segmenter.terminate();
  return { mask: Array.from(new Uint8Array(result.mask)), maskName: result.maskName,
    backend: result.backend, total: result.stats.reduce((sum, row) => sum + row.ml, 0) };
};
</script></body>`;

/**
 * Write the host pages into a new folder `dir`: frame.html, element.html, api.html, index.html.
 * @param {string} dir
 * @param {string} model the model <meshseg-app> selects
 * @returns {string} dir
 */
export function writeHostPages(dir, model) {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'frame.html'), FRAME);
  fs.writeFileSync(path.join(dir, 'element.html'), element(model));
  fs.writeFileSync(path.join(dir, 'api.html'), API);
  fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>host</title>');
  return dir;
}
