// Expand what the user gave (several files, folders, ZIP archives) into named batch items,
// as py/meshseg/batch/inputs.py does for the CLI: DICOM files, wherever they were found,
// are grouped into series by SeriesInstanceUID (one item per series, named after its
// description and number); every other file is one item named after the file. Sources
// are kept as Blobs (ZIP entries are extracted one at a time into Blobs), so the batch
// holds no more than one scan's bytes at a time. A BIDS dataset (dataset_description.json
// at the root of what was given) gives the items of its T1w images only (bids.js).

import { bidsItems, findDataset } from './bids.js';
import { pairDetachedNrrd } from './nrrd-pair.js';
import { DicomHeaderError, isDicom, readDicomHeader } from './dicom-header.js';
import { seriesName, skipped, stem, unique } from './naming.js';

/** @typedef {{path: string, blob: Blob}} Source a file and the path shown for it */

const zipModules = new Map();

/** zip.js (native compression streams, no web workers), served from `vendorBase`. */
export function loadZip(vendorBase) {
  const url = new URL('zip/lib/zip-core-native.js', vendorBase).href;
  if (!zipModules.has(url)) {
    zipModules.set(url, import(url).then((zip) => {
      zip.configure({ useWebWorkers: false });
      return zip;
    }));
  }
  return zipModules.get(url);
}

/** Sources of an <input type=file> (with webkitRelativePath for a directory picker). */
export function sourcesOfFiles(files) {
  return [...files].map((file) => ({ path: file.webkitRelativePath || file.name, blob: file }));
}

/**
 * Sources of a drop: folders are walked, files taken as they are.
 * @param {{entries: FileSystemEntry[], files: File[]}} drop the drop's
 *   DataTransferItem.webkitGetAsEntry() results (taken during the drop event) and its files
 */
export async function sourcesOfDrop({ entries = [], files = [] }) {
  if (!entries.length) return sourcesOfFiles(files);
  const found = [];
  for (const entry of entries) await walkEntry(entry, found);
  return found;
}

async function walkEntry(entry, found) {
  if (entry.isFile) {
    const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
    found.push({ path: entry.fullPath.replace(/^\//, ''), blob: file });
    return;
  }
  const reader = entry.createReader();
  const children = [];
  for (;;) {
    const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    if (!batch.length) break;
    children.push(...batch);
  }
  children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const child of children) await walkEntry(child, found);
}

async function head(blob, bytes) {
  return new Uint8Array(await blob.slice(0, bytes).arrayBuffer());
}

async function isZip(source) {
  const start = await head(source.blob, 4);
  return start.length === 4 && start[0] === 0x50 && start[1] === 0x4B && start[2] === 0x03 && start[3] === 0x04;
}

/** The hex sha256 of bytes. */
export async function sha256Hex(data) {
  const digest = await crypto.subtle.digest('SHA-256', data);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** sha256 of several files: of their sha256s in order (inputs._sha256_many). */
export async function sha256Many(hexes) {
  if (hexes.length === 1) return hexes[0];
  return sha256Hex(new TextEncoder().encode(hexes.join('')));
}

/**
 * The batch items of `sources`, in the CLI's order: single files, DICOM series, DICOM
 * files that could not be read, damaged archives.
 * @param {Source[]} sources
 * @param {{vendorBase: string|URL, onProgress?: (message: string) => void}} how
 * @returns {Promise<object[]>} items: {name, kind: 'file'|'dicom'|'error', input, files,
 *   sha256 (null until read), source | series, error}; the items of a BIDS dataset's T1w
 *   images also have `bids` {dataset, relpath, entities} (see bids.js)
 * @throws {import('./bids.js').BidsError} a BIDS dataset given with other inputs, or one
 *   without T1w images
 */
export async function expandSources(sources, { vendorBase, onProgress } = {}) {
  const dataset = await findDataset(sources.filter((source) => !skipped(source.path)));
  if (dataset) return bidsItems(dataset);
  const files = [];
  const archiveErrors = [];
  for (const source of sources) {
    if (skipped(source.path)) continue;
    if (await isZip(source)) {
      onProgress?.(`Reading ${source.path}…`);
      try {
        files.push(...await zipSources(source, vendorBase));
      } catch (error) {
        archiveErrors.push({ path: source.path, message: `${baseName(source.path)}: is a damaged ZIP archive (${error.message}). Get the archive again.` });
      }
    } else {
      files.push(source);
    }
  }
  const nrrd = await pairDetachedNrrd(files);
  archiveErrors.push(...nrrd.errors);
  const singles = [];
  const dicoms = [];
  for (const source of nrrd.sources) (isDicom(await head(source.blob, 132)) ? dicoms : singles).push(source);
  const used = new Set();
  const items = singles.map((source) => ({
    name: unique(stem(baseName(source.path)), used), kind: 'file', input: source.path, files: 1, sha256: null, source,
  }));
  if (dicoms.length) items.push(...await dicomItems(dicoms, used, onProgress));
  for (const failure of archiveErrors) {
    items.push(errorItem(unique(stem(baseName(failure.path)), used), failure.path, failure.message, null));
  }
  return items;
}

async function zipSources(source, vendorBase) {
  const zip = await loadZip(vendorBase);
  const reader = new zip.ZipReader(new zip.BlobReader(source.blob));
  const found = [];
  try {
    for await (const entry of reader.getEntriesGenerator()) {
      if (entry.directory) continue;
      const path = `${source.path}/${entry.filename}`;
      if (skipped(entry.filename)) continue;
      if (entry.filename.split('/').includes('..') || entry.filename.startsWith('/')) {
        throw new Error(`member ${JSON.stringify(entry.filename)} points outside the archive`);
      }
      found.push({ path, blob: await entry.getData(new zip.BlobWriter()) });
    }
  } finally {
    await reader.close();
  }
  found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return found;
}

async function dicomItems(dicoms, used, onProgress) {
  const groups = new Map();
  const failures = [];
  for (const [index, source] of dicoms.entries()) {
    if (index % 20 === 0) onProgress?.(`Reading DICOM headers (${index + 1} of ${dicoms.length})…`);
    const bytes = new Uint8Array(await source.blob.arrayBuffer());
    let header;
    try {
      header = readDicomHeader(bytes);
    } catch (error) {
      const why = error instanceof DicomHeaderError ? error.message : error.name;
      failures.push({ source, message: `is not a readable DICOM file (${why}).`, sha: await sha256Hex(bytes) });
      continue;
    }
    if (header.rows === undefined || header.columns === undefined) {
      failures.push({ source, message: 'is a DICOM file without an image (e.g. a report or a presentation state).', sha: await sha256Hex(bytes) });
      continue;
    }
    const uid = header.seriesUid || `no-uid:${source.path}`;
    if (!groups.has(uid)) groups.set(uid, { description: header.description ?? '', number: header.number ?? '', files: [] });
    groups.get(uid).files.push({ path: source.path, blob: source.blob, header: pickHeader(header), sha: await sha256Hex(bytes) });
  }
  const items = [];
  for (const group of groups.values()) {
    const name = unique(seriesName(group.description, group.number ?? ''), used);
    const sorted = [...group.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    items.push({
      name, kind: 'dicom', input: `DICOM series ${name} (${group.files.length} files)`, files: group.files.length,
      sha256: await sha256Many(sorted.map((f) => f.sha)), series: { name, files: group.files },
    });
  }
  for (const failure of failures) {
    const base = baseName(failure.source.path);
    items.push(errorItem(unique(stem(base), used), failure.source.path, `${base}: ${failure.message}`, failure.sha));
  }
  return items;
}

/** The header fields the conversion needs (geometry only; no names, dates or ids). */
function pickHeader(header) {
  const { enhanced, perFrame, shared, rows, columns, frames } = header;
  return { enhanced, perFrame, shared, rows, columns, frames };
}

function errorItem(name, input, message, sha) {
  return { name, kind: 'error', input, files: 1, sha256: sha, error: message };
}

function baseName(path) {
  return path.split('/').filter(Boolean).pop() ?? path;
}
