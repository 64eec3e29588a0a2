// The report of a result: one self-contained HTML page written in Python
// (meshseg.export.report, in the worker), with a picture of the viewer's 3D render in it.
// Without one (no WebGL, or the viewer failed), the writer renders the labels' surface itself.

import { pythonFile } from './python-file.js';

/**
 * The centre square of a PNG (NiiVue centres its 3D render and fits it to the canvas's
 * shorter side, so nothing of the head is cut), as PNG bytes.
 * @param {Uint8Array} png
 * @returns {Promise<Uint8Array>}
 */
async function centreSquare(png) {
  const bitmap = await createImageBitmap(new Blob([png], { type: 'image/png' }));
  try {
    const side = Math.min(bitmap.width, bitmap.height);
    if (side === bitmap.width && side === bitmap.height) return png;
    const canvas = document.createElement('canvas');
    canvas.width = side;
    canvas.height = side;
    canvas.getContext('2d').drawImage(bitmap, (bitmap.width - side) / 2, (bitmap.height - side) / 2, side, side, 0, 0, side, side);
    const blob = await new Promise((resolve) => { canvas.toBlob(resolve, 'image/png'); });
    return blob ? new Uint8Array(await blob.arrayBuffer()) : png;
  } finally {
    bitmap.close();
  }
}

/** @param {import('./index.js').ExportContext} context */
export async function produce(context) {
  let view3d = null;
  try {
    const png = await context.viewer?.snapshot3d?.();
    view3d = png ? await centreSquare(png) : null;
  } catch (error) {
    console.warn('meshseg: no picture of the viewer\'s 3D render for the report; it draws its own', error);
    view3d = null;
  }
  return pythonFile(context, 'report', { options: { view3d, uncertainty: context.result?.uncertainty ?? null } });
}
