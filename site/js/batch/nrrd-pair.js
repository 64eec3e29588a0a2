// Detached NRRD (a .nhdr header naming its data file) in a batch: the header and the data
// file it names (same drop, folder or ZIP) become one attached NRRD, which the worker reads
// like any .nrrd (meshseg.readers.nrrd). A header whose data file is missing, or a list or
// pattern of files, is a named error for that item.

const DATA_FILE = /^data ?file:\s*(.+?)\s*$/im;

/**
 * The data file a NRRD header names, or null when the data is attached.
 * @param {string} header the header's text
 */
export function dataFileOf(header) {
  return header.match(DATA_FILE)?.[1] ?? null;
}

/**
 * One attached NRRD: the header without its data file line, a blank line, the data.
 * @param {string} header @param {Blob} data
 * @returns {Blob}
 */
export function attach(header, data) {
  const lines = header.replace(/\r\n/g, '\n').split('\n').filter((line) => !DATA_FILE.test(line));
  while (lines.length && lines[lines.length - 1].trim() === '') lines.pop();
  return new Blob([`${lines.join('\n')}\n\n`, data]);
}

function folderOf(path) {
  return path.includes('/') ? path.slice(0, path.lastIndexOf('/') + 1) : '';
}

function normalise(path) {
  const parts = [];
  for (const part of path.split('/')) {
    if (part === '..') parts.pop();
    else if (part && part !== '.') parts.push(part);
  }
  return parts.join('/');
}

/**
 * Replace each .nhdr source and the data file it names by one attached `<stem>.nrrd` source.
 * @param {{path: string, blob: Blob}[]} sources
 * @returns {Promise<{sources: {path: string, blob: Blob}[], errors: {path: string, message: string}[]}>}
 */
export async function pairDetachedNrrd(sources) {
  const byPath = new Map(sources.map((source) => [normalise(source.path), source]));
  const used = new Set();
  const paired = [];
  const errors = [];
  for (const source of sources) {
    if (!/\.nhdr$/i.test(source.path)) continue;
    const name = source.path.split('/').pop();
    const header = await source.blob.text();
    const file = dataFileOf(header);
    if (file === null) continue; // a header with its data attached: read as it is
    const data = byPath.get(normalise(folderOf(source.path) + file));
    if (/^LIST\b/.test(file) || /%|\s/.test(file) || !data) {
      errors.push({ path: source.path, message: /^LIST\b/.test(file) || /%|\s/.test(file)
        ? `${name}: names its data as a list or pattern of files (${file}); MeshSeg reads one data file per header. Save the volume as a single .nrrd.`
        : `${name}: its data file ${file} is not among the files given. Drop the header together with ${file}.` });
      used.add(source);
      continue;
    }
    used.add(source);
    used.add(data);
    paired.push({ path: source.path.replace(/\.nhdr$/i, '.nrrd'), blob: attach(header, data.blob) });
  }
  return { sources: [...sources.filter((source) => !used.has(source)), ...paired], errors };
}
