// FreeSurfer aseg.stats of a result (meshseg.export.freesurfer_stats, in the worker).

import { pythonFile } from './python-file.js';

/** @param {import('./index.js').ExportContext} context */
export function produce(context) {
  return pythonFile(context, 'stats');
}
