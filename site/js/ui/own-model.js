// 'Use your own model': an .onnx file plus its card JSON (both dropped or chosen together,
// or one ZIP holding both). The files are read here and handed to the worker, which checks
// the card (naming the bad field) and the ONNX file (named errors: not-onnx, opset, operator,
// input-shape, output-missing, too-large) before any run. Nothing is uploaded or cached.

/**
 * The entries of a ZIP archive (stored or deflated) as {name: Uint8Array}.
 * @param {ArrayBuffer} buffer
 */
export async function unzip(buffer) {
  const view = new DataView(buffer);
  let end = buffer.byteLength - 22;
  while (end >= 0 && view.getUint32(end, true) !== 0x06054b50) end -= 1;
  if (end < 0) throw new Error('not a ZIP archive');
  const count = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  const files = {};
  for (let n = 0; n < count; n += 1) {
    if (view.getUint32(at, true) !== 0x02014b50) throw new Error('damaged ZIP archive');
    const method = view.getUint16(at + 10, true);
    const size = view.getUint32(at + 20, true);
    const nameLength = view.getUint16(at + 28, true);
    const extra = view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
    const local = view.getUint32(at + 42, true);
    const name = new TextDecoder().decode(new Uint8Array(buffer, at + 46, nameLength));
    at += 46 + nameLength + extra;
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    const raw = new Uint8Array(buffer, start, size);
    if (method === 0) files[name] = raw.slice();
    else if (method === 8) {
      const stream = new Blob([raw]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
      files[name] = new Uint8Array(await new Response(stream).arrayBuffer());
    } else throw new Error(`ZIP entry ${name} uses compression method ${method}`);
  }
  return files;
}

/** {onnx: Uint8Array, card: object} from chosen files (.onnx + .json, or a .zip). */
export async function readOwnModel(files) {
  const found = {};
  for (const file of files) {
    const name = file.name.toLowerCase();
    const bytes = new Uint8Array(await file.arrayBuffer());
    if (name.endsWith('.zip')) {
      for (const [entry, data] of Object.entries(await unzip(bytes.buffer))) {
        if (entry.toLowerCase().endsWith('.onnx')) found.onnx = data;
        else if (entry.toLowerCase().endsWith('.json')) found.card = data;
      }
    } else if (name.endsWith('.onnx')) found.onnx = bytes;
    else if (name.endsWith('.json')) found.card = bytes;
  }
  if (!found.onnx || !found.card) {
    throw Object.assign(new Error('Use your own model: choose an .onnx file and its card (.json) ' +
      'together, or one ZIP holding both.'), { kind: 'model' });
  }
  let card;
  try {
    card = JSON.parse(new TextDecoder().decode(found.card));
  } catch (error) {
    throw Object.assign(new Error(`card: the card is not valid JSON (${error.message})`), { kind: 'model' });
  }
  return { onnx: found.onnx, card };
}

/**
 * @param {object} parts
 * @param {HTMLElement} parts.container
 * @param {import('../api/segmenter.js').Segmenter} parts.segmenter
 * @param {(card: object) => void} parts.onAdded
 * @param {(error: Error) => void} parts.onError
 * @param {(text: string) => void} parts.onBusy
 */
export function createOwnModel({ container, segmenter, onAdded, onError, onBusy }) {
  const label = document.createElement('label');
  label.htmlFor = 'own-model';
  label.textContent = 'Use your own model (.onnx + card .json, or a .zip): ';
  const input = document.createElement('input');
  Object.assign(input, { type: 'file', id: 'own-model', multiple: true, accept: '.onnx,.json,.zip' });
  input.dataset.testid = 'own-model';
  const note = document.createElement('p');
  note.className = 'own-model-note';
  note.textContent = 'Your model stays in this tab: it is not uploaded and not cached.';
  container.append(label, input, note);

  input.addEventListener('change', async () => {
    const files = [...input.files];
    if (files.length === 0) return;
    onBusy(`Checking your model (${files.map((file) => file.name).join(', ')})…`);
    try {
      const { onnx, card } = await readOwnModel(files);
      onAdded(await segmenter.addModel(card, onnx));
    } catch (error) {
      onError(error);
    } finally {
      input.value = '';
    }
  });
  return { setEnabled: (enabled) => { input.disabled = !enabled; } };
}
