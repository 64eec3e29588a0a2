// Batch naming, mirrored from py/meshseg/batch/inputs.py and readers/dicom.py so that the
// page's archive and the CLI's output folder use the same names (tests/js/batch.test.mjs
// checks both give the same output for the same inputs).

import { exportsFor } from './item-exports.js';

const EXTENSIONS = ['.nii.gz', '.nii', '.mgz', '.mgh', '.nrrd', '.nhdr', '.dcm', '.gz', '.zip'];
export const SKIP_NAMES = new Set(['.DS_Store', 'Thumbs.db', 'desktop.ini', 'DICOMDIR']);
export const SKIP_DIRS = new Set(['__MACOSX', '.git']);

/** The file name without its image extension (inputs._stem). */
export function stem(name) {
  const lower = name.toLowerCase();
  for (const ext of EXTENSIONS) {
    if (lower.endsWith(ext) && name.length > ext.length) return name.slice(0, -ext.length);
  }
  return name;
}

/** `name`, or `name-2`, `name-3`… not yet in `used` (which it is added to) (inputs._unique). */
export function unique(name, used) {
  let candidate = name;
  let number = 2;
  while (used.has(candidate)) {
    candidate = `${name}-${number}`;
    number += 1;
  }
  used.add(candidate);
  return candidate;
}

/** A file-name-safe series name from its description and number (dicom.series_name). */
export function seriesName(description, number) {
  const text = [String(description ?? '').trim(), String(number ?? '').trim()].filter(Boolean).join('_');
  const safe = text.replace(/[^A-Za-z0-9.+-]+/g, '_').replace(/^[._]+|[._]+$/g, '');
  return (safe || 'series').slice(0, 80);
}

/** True for a path the batch leaves out (hidden files, OS clutter), as inputs._walk does. */
export function skipped(path) {
  const parts = path.split('/').filter(Boolean);
  const name = parts.pop() ?? '';
  if (SKIP_NAMES.has(name) || name.startsWith('.')) return true;
  return parts.some((dir) => SKIP_DIRS.has(dir) || dir.startsWith('.'));
}

/**
 * The item's output file names (batch/item.output_names): label mask, volume table and the
 * files of item-exports.js that an item of `kind` gets.
 */
export function outputNames(name, modelId, kind = 'file') {
  const names = { mask: `${name}_${modelId}_labels.nii.gz`, stats: `${name}_${modelId}_stats.csv` };
  for (const entry of exportsFor({ kind })) names[entry.key] = `${name}_${modelId}${entry.suffix}`;
  return names;
}
