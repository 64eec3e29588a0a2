// Download links for a result: the label mask (NIfTI) and the volume table (CSV, JSON).

import { IMAGE_EXTENSIONS, LABELS_SUFFIX, VOLUMES_SUFFIX } from '../constants.js';

/**
 * Base name of a scan without its image extension ("sub-01_T1w.nii.gz" -> "sub-01_T1w").
 * @param {string} name
 * @returns {string}
 */
export function stem(name) {
  const ending = [...IMAGE_EXTENSIONS, '.gz'].find((ext) => name.toLowerCase().endsWith(ext));
  return ending ? name.slice(0, -ending.length) : name;
}

/** "scan_model5_gw_ae_labels.nii.gz" -> "scan_model5_gw_ae_volumes". */
export function volumesName(maskName) {
  const base = maskName.endsWith(LABELS_SUFFIX) ? maskName.slice(0, -LABELS_SUFFIX.length) : stem(maskName);
  return `${base}${VOLUMES_SUFFIX}`;
}

/**
 * Manage the download links; object URLs of the previous result are revoked on each change.
 * @param {object} elements
 * @param {HTMLElement} elements.container - shown only while there is a result
 * @param {HTMLAnchorElement} elements.mask
 * @param {HTMLAnchorElement} elements.csv
 * @param {HTMLAnchorElement} elements.json
 * @returns {{show: (result: object) => void, clear: () => void}}
 */
export function createDownloads({ container, mask, csv, json }) {
  let urls = [];

  function link(anchor, blob, filename) {
    const url = URL.createObjectURL(blob);
    urls.push(url);
    anchor.href = url;
    anchor.download = filename;
  }

  function clear() {
    for (const url of urls) {
      URL.revokeObjectURL(url);
    }
    urls = [];
    for (const anchor of [mask, csv, json]) {
      anchor.removeAttribute('href');
      anchor.removeAttribute('download');
    }
    container.hidden = true;
  }

  function show(result) {
    clear();
    const base = volumesName(result.maskName);
    link(mask, new Blob([result.mask], { type: 'application/gzip' }), result.maskName);
    link(csv, new Blob([result.statsCsv], { type: 'text/csv' }), `${base}.csv`);
    link(json, new Blob([result.statsJson], { type: 'application/json' }), `${base}.json`);
    mask.textContent = `Download label mask (${result.maskName})`;
    container.hidden = false;
  }

  return { show, clear };
}
