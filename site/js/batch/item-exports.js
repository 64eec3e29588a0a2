// The files each batch item writes beyond its label mask and volume table, written in
// Python (meshseg.export, in the worker) through segmenter.export while the item's scan
// is still open. The page's copy of ITEM_EXPORTS in py/meshseg/batch/item.py: the same
// keys (in the manifest entry's `outputs`) and file names, so the page's ZIP and the
// CLI's folder hold the same files. One entry per file:
//   key      its name in `outputs`
//   format   a meshseg.export.registry format ('stats', 'report', 'dicom-seg', ...)
//   suffix   after `<name>_<model>` (meshseg.export.files.SUFFIXES)
//   when     (item) => whether this item gets it (item.kind: 'file' | 'dicom')
//   options  ({names, item}) => the writer's options, or null
//   write    (optional) ({segmenter, result, card, item, runtime}) => Promise<Uint8Array>: a
//            file written in the page instead (the DICOM SEG: js/export/dicom-seg.js)

import { labelVoxels } from '../export/labels.js';

export const ITEM_EXPORTS = Object.freeze([
  { key: 'aseg', format: 'stats', suffix: '_aseg.stats', when: () => true, options: ({ names }) => ({ seg_file: names.mask }) },
  { key: 'report', format: 'report', suffix: '_report.html', when: () => true, options: () => null },
  { key: 'dicom_seg', format: 'dicom-seg', suffix: '_seg.dcm', when: (item) => item.kind === 'dicom', options: () => null, write: (how) => import('../export/dicom-seg.js').then((m) => m.itemFile(how)) },
]);

/** The entries of ITEM_EXPORTS `item` gets. */
export function exportsFor(item) {
  return ITEM_EXPORTS.filter((entry) => entry.when(item));
}

/**
 * The item's export files, each written from the result's labels on the open scan.
 * @param {object} how
 * @param {import('../api/segmenter.js').Segmenter} how.segmenter
 * @param {object} how.scan the item's open scan
 * @param {import('../types.js').SegmentResult} how.result its result (labelsNifti, warnings, notices)
 * @param {object} how.card the model card
 * @param {object} how.item the batch item
 * @param {Object<string, string>} how.names its output names (naming.outputNames)
 * @param {{provider?: string, threads?: number, commit?: string}} [how.runtime] for the provenance
 * @returns {Promise<[string, Uint8Array][]>} [file name, bytes] in ITEM_EXPORTS order
 */
export async function itemExportFiles({ segmenter, scan, result, card, item, names, runtime = null }) {
  const labels = labelVoxels(result.labelsNifti);
  const files = [];
  for (const entry of exportsFor(item)) {
    if (entry.write) { // written in the page (JavaScript), not by meshseg.export
      files.push([names[entry.key], await entry.write({ segmenter, result, card, item, runtime })]);
      continue;
    }
    const file = await segmenter.export(scan, labels.slice(), card.id, entry.format, {
      options: entry.options({ names, item }), warnings: result.warnings ?? [], notices: result.notices ?? [], runtime,
    });
    files.push([names[entry.key], new Uint8Array(file.data)]);
  }
  return files;
}
