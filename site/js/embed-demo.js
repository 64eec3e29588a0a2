// embed-demo.html: the three ways to embed MeshSeg, driven from one module (the site's
// Content-Security-Policy runs no inline script).

import { createSegmenter } from '../meshseg.js';
import './element.js';

const example = new URL('example/t1_crop.nii.gz', location.href);
const total = (stats) => stats.reduce((sum, row) => sum + row.ml, 0).toFixed(1);
const bytes = async () => (await fetch(example)).arrayBuffer();

// 1. API
const apiOutput = document.querySelector('[data-testid="api-output"]');
let segmenter = null;
document.querySelector('[data-testid="api-run"]').addEventListener('click', async () => {
  try {
    segmenter ??= await createSegmenter({ onProgress: ({ message }) => { apiOutput.textContent = message; } });
    const scan = await segmenter.open(await bytes(), 't1_crop.nii.gz');
    const result = await segmenter.segment(scan, 'model5_gw_ae', { onProgress: ({ message }) => { apiOutput.textContent = message; } });
    apiOutput.textContent = `${result.maskName}: ${total(result.stats)} mL labelled (${result.mask.byteLength} bytes of .nii.gz).`;
    await segmenter.close(scan);
  } catch (error) {
    apiOutput.textContent = `Error: ${error.message}`;
  }
});

// 2. iframe (here on the same origin; on another origin list yours in ?origins=)
const frame = document.getElementById('frame');
const frameOutput = document.querySelector('[data-testid="frame-output"]');
const frameRun = document.querySelector('[data-testid="frame-run"]');
frame.src = `embed.html?origins=${encodeURIComponent(location.origin)}`;
window.addEventListener('message', (event) => {
  if (event.source !== frame.contentWindow) return;
  const message = event.data;
  if (message.type === 'meshseg:ready') frameRun.disabled = false;
  if (message.type === 'meshseg:progress') frameOutput.textContent = `${message.stage}…`;
  if (message.type === 'meshseg:result') frameOutput.textContent = `${message.maskName}: ${total(message.stats)} mL labelled, ${message.threads} thread(s).`;
  if (message.type === 'meshseg:error') frameOutput.textContent = `Error: ${message.message}`;
});
frameRun.addEventListener('click', async () => {
  const data = await bytes();
  frame.contentWindow.postMessage({ type: 'meshseg:segment', id: 1, name: 't1_crop.nii.gz', data, model: 'model5_gw_ae' },
    location.origin, [data]);
});

// 3. custom element events
document.querySelector('meshseg-app').addEventListener('meshseg-result', (event) => {
  console.log(`meshseg-result: ${event.detail.maskName}, ${total(event.detail.stats)} mL`);
});
