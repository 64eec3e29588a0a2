// The report download (tests/e2e/exports.test.mjs runs this on the shared result): one
// self-contained HTML file that loads in a fresh page with no request at all, shows four
// pictures (three slices and the viewer's 3D render), a volume table equal to the page's CSV,
// and provenance with the model's id and its ONNX sha256 from the served model index.
// Its screenshot goes to test-results/report.png.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import config from '../../../playwright.config.js';
import { download } from '../helpers.mjs';

export const title = 'report: a self-contained HTML page whose volumes equal the CSV';

/** The CSV's rows as arrays of strings (no quoting in these files: label names have no commas). */
function csvRows(text) {
  const [header, ...rows] = text.trim().split('\n');
  assert.equal(header, 'label,name,voxels,ml');
  return rows.map((line) => line.split(','));
}

export async function check({ page, model }) {
  const file = await download(page, 'download-report', 'exports');
  assert.match(path.basename(file), new RegExp(`_${model}_report\\.html$`));
  const html = fs.readFileSync(file, 'utf-8');
  assert.match(await page.getByTestId('export-message').textContent(), /Saved .*_report\.html/);

  // Self-contained: no reference of any kind to another file or host.
  for (const pattern of [/https?:/i, /\b(?:src|href)\s*=\s*(?!["']?data:)/i, /url\(/i, /@import/i, /<script/i, /<link/i]) {
    assert.doesNotMatch(html, pattern, `the report holds ${pattern}`);
  }
  const pictures = html.match(/<img src="data:image\/png;base64,/g) ?? [];
  assert.equal(pictures.length, 4, 'the report should embed 4 PNG pictures');
  assert.match(html, /the page's viewer \(NiiVue\)/, 'the 3D picture is not the viewer\'s render');

  // Opened in a fresh page: zero requests beyond the file itself.
  const viewer = await page.context().newPage();
  const requests = [];
  viewer.on('request', (request) => requests.push(request.url()));
  await viewer.route('**/*', (route) => (route.request().url().startsWith('file:') ? route.continue() : route.abort()));
  const url = pathToFileURL(file).href;
  try {
    await viewer.goto(url);
    const shown = await viewer.evaluate(() => ({
      images: [...document.images].map((img) => ({ ok: img.complete && img.naturalWidth > 0, width: img.naturalWidth, height: img.naturalHeight })),
      table: [...document.querySelectorAll('[data-testid="volume-table"] tbody tr')].map((tr) => [...tr.cells].map((td) => td.textContent.trim())),
      modelId: document.querySelector('[data-field="model-id"]')?.textContent.trim(),
      sha256: document.querySelector('[data-field="onnx-sha256"]')?.textContent.trim(),
      inputName: document.querySelector('[data-field="input-name"]')?.textContent.trim(),
      notice: document.querySelector('[data-testid="research-notice"]')?.textContent ?? '',
      // The viewer's 3D render is not a blank canvas: some pixels are lit.
      lit: (() => {
        const img = document.images[3];
        const canvas = document.createElement('canvas');
        canvas.width = img.naturalWidth;
        canvas.height = img.naturalHeight;
        const context = canvas.getContext('2d');
        context.drawImage(img, 0, 0);
        const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
        const first = [data[0], data[1], data[2]];
        let differing = 0;
        for (let i = 0; i < data.length; i += 4) {
          if (Math.abs(data[i] - first[0]) + Math.abs(data[i + 1] - first[1]) + Math.abs(data[i + 2] - first[2]) > 30) differing += 1;
        }
        return differing / (data.length / 4);
      })(),
    }));
    assert.deepEqual(requests.filter((request) => request !== url && !request.startsWith('data:')), [],
      'the report asked for something');
    assert.equal(shown.images.length, 4);
    for (const image of shown.images) assert.ok(image.ok, `a picture did not decode: ${JSON.stringify(shown.images)}`);
    assert.ok(shown.lit > 0.02, `the 3D picture is nearly blank (${(shown.lit * 100).toFixed(1)} % of pixels lit)`);

    const csv = csvRows(fs.readFileSync(await download(page, 'download-csv', 'exports'), 'utf-8'));
    assert.deepEqual(shown.table, csv, 'the report\'s volume table is not the CSV');

    const index = JSON.parse(fs.readFileSync(path.join(config.dist, 'models', 'index.json'), 'utf-8'));
    const card = index.models.find((entry) => entry.id === model);
    assert.equal(shown.modelId, model);
    assert.equal(shown.sha256, card.runtime.onnx.sha256);
    assert.equal(shown.inputName, 'PSR.nii.gz');
    assert.match(shown.notice, /research use only/i);

    fs.mkdirSync(config.artifactDir, { recursive: true });
    await viewer.screenshot({ path: path.join(config.artifactDir, 'report.png'), fullPage: true });
    assert.deepEqual(requests.filter((request) => request !== url && !request.startsWith('data:')), [],
      'the report asked for something while it was shown');
  } finally {
    await viewer.close();
  }
}
