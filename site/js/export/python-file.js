// An output file written in Python (meshseg.export, in the worker) from a result's labels.

import { labelVoxels } from './labels.js';

/**
 * @param {import('./index.js').ExportContext} context
 * @param {string} format a meshseg.export.registry format
 * @param {{extension?: string, options?: object}} [how]
 * @returns {Promise<{blob: Blob, filename: string}>}
 */
export async function pythonFile(context, format, { extension = null, options = null } = {}) {
  const { segmenter, scan, result, card, runtime } = context;
  const labels = labelVoxels(result.labelsNifti).slice(); // a copy: the worker takes the buffer
  const file = await segmenter.export(scan, labels, card.id, format, {
    extension, options, warnings: result.warnings ?? [], notices: result.notices ?? [], runtime: runtime ?? null,
  });
  return { blob: new Blob([file.data], { type: file.mime }), filename: file.name };
}
