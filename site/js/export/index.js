// The page's output files beyond the label mask and the volume table, one module per
// format behind this registry, each loaded on first use. A module exports
// `produce(context) -> Promise<{blob: Blob, filename: string}>`; the context is
// {segmenter, scan, result, card, viewer, source, runtime} (see ExportContext below).

const MODULES = {
  report: () => import('./report.js'),
  stats: () => import('./stats.js'),
  mesh: () => import('./mesh.js'),
  'dicom-seg': () => import('./dicom-seg.js'),
};

/** The formats a page can offer. */
export const EXPORT_FORMATS = Object.freeze(Object.keys(MODULES));

/**
 * @typedef {object} ExportContext
 * @property {import('../api/segmenter.js').Segmenter} segmenter
 * @property {object} scan the open scan (segmenter.open)
 * @property {import('../types.js').SegmentResult} result the result shown
 * @property {object} card its model card
 * @property {object} [viewer] the page's viewer (js/ui/viewer.js), for pictures of the result
 * @property {object} [source] the input's source files where they matter (a DICOM series)
 * @property {{provider?: string, threads?: number, commit?: string}} [runtime]
 */

/**
 * Write `result` as `format`.
 * @param {string} format one of EXPORT_FORMATS
 * @param {ExportContext} context
 * @returns {Promise<{blob: Blob, filename: string}>}
 */
export async function produce(format, context) {
  const load = MODULES[format];
  if (!load) throw new Error(`unknown output format "${format}"; known: ${EXPORT_FORMATS.join(', ')}`);
  const module = await load();
  return module.produce(context);
}
