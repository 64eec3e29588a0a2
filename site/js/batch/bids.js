// BIDS datasets in the page's batch: a dropped (or chosen) folder with dataset_description.json
// at its root is a BIDS dataset; only its sub-*/[ses-*/]anat/*_T1w.nii[.gz] images are
// segmented, and the batch ZIP is the dataset's BIDS derivative: the layout of
// py/meshseg/export/bids (layout.py: which images, and their entities; derivatives.py: the
// names and small files), with the names of constants.js BIDS (one definition, in
// py/meshseg/constants.py). tests/js/bids.test.mjs checks that both give the same names and
// files for the same inputs.
//
//   dataset_description.json, README.md, .bidsignore
//   sub-01/[ses-1/]anat/sub-01_[ses-1_]..._space-orig_desc-<model>_dseg.nii.gz  (+ .tsv, .json)
//                                           ..._volumes.tsv (+ .json)
//   sourcedata/meshseg-batch/manifest.json, volumes.csv, <scan>_<model>_stats.csv, ...
//
// The page writes no probseg (the CLI's --probseg).

import { BIDS } from '../constants.js';
import { outputNames, unique } from './naming.js';

export const DESCRIPTION = 'dataset_description.json';
export const README = 'README.md';
export const BIDSIGNORE = '.bidsignore';
/** Where the source dataset lies, seen from the derivative: the page's ZIP is meant to be
 * unpacked as <dataset>/derivatives/meshseg (BIDS's place for a derivative). */
export const PAGE_RAW_LINK = '../..';
const T1W_SUFFIX = 'T1w';
const EXTENSIONS = ['.nii.gz', '.nii'];
const LABEL = /^[0-9A-Za-z]+$/;
const IMAGE = /^(sub-[^/]+)\/(?:(ses-[^/]+)\/)?anat\/([^/]+_T1w\.nii(?:\.gz)?)$/;
const FOUND = /^sub-[^/]*\/(?:ses-[^/]*\/)?anat\/[^/]*_T1w\.nii(?:\.gz)?$/;
const ORDER = new Map(BIDS.entity_order.map((key, index) => [key, index]));

/** A dropped BIDS dataset that cannot be a batch (named: the file or folder, and why). */
export class BidsError extends Error {
  constructor(message) {
    super(message);
    this.name = 'BidsError';
  }
}

const dirname = (path) => path.split('/').slice(0, -1).join('/');
const basename = (path) => path.split('/').pop();

/** `filename` without .nii.gz or .nii (layout.image_stem). */
export function imageStem(filename) {
  for (const ext of EXTENSIONS) if (filename.endsWith(ext)) return filename.slice(0, -ext.length);
  return filename;
}

/** The entities of a T1w file name, in its order, as [key, label] pairs (layout.parse_name). */
export function parseName(filename) {
  const stem = imageStem(filename);
  const parts = stem.split('_');
  if (stem === filename || parts[parts.length - 1] !== T1W_SUFFIX) {
    throw new BidsError(`${filename}: is not a T1w image (a name ending in _T1w.nii.gz or _T1w.nii).`);
  }
  const allowed = BIDS.t1w_entities;
  const entities = [];
  for (const part of parts.slice(0, -1)) {
    const at = part.indexOf('-');
    const key = at < 0 ? part : part.slice(0, at);
    const label = at < 0 ? '' : part.slice(at + 1);
    if (at < 0 || !key) throw new BidsError(`${filename}: '${part}' is not a key-label pair such as acq-fast.`);
    if (!allowed.includes(key)) {
      throw new BidsError(`${filename}: ${key}- is not an entity a T1w name may carry (${allowed.join(', ')}).`);
    }
    if (!LABEL.test(label)) throw new BidsError(`${filename}: the label of ${key}- ('${label}') may hold only letters and digits.`);
    if (entities.some(([seen]) => seen === key)) throw new BidsError(`${filename}: ${key}- is given twice.`);
    entities.push([key, label]);
  }
  if (!entities.length || entities[0][0] !== 'sub') throw new BidsError(`${filename}: a BIDS name starts with sub-<label>.`);
  return entities;
}

/** '' when `relpath` is a BIDS T1w path whose name matches its folders, else why not (layout.check_image). */
export function checkImage(relpath) {
  const match = IMAGE.exec(relpath);
  if (!match) return `${relpath}: is not at sub-<label>/[ses-<label>/]anat/<name>_T1w.nii[.gz].`;
  const [, subject, session, filename] = match;
  let entities;
  try {
    entities = Object.fromEntries(parseName(filename));
  } catch (error) {
    if (!(error instanceof BidsError)) throw error;
    return `${dirname(relpath)}/${error.message}`;
  }
  if (`sub-${entities.sub}` !== subject) return `${relpath}: its subject (sub-${entities.sub}) is not its folder ${subject}.`;
  const named = entities.ses !== undefined ? `ses-${entities.ses}` : null;
  if (named !== (session ?? null)) {
    const where = session ? `in the folder ${session}` : 'outside a ses- folder';
    return `${relpath}: its session (${named ?? 'none'}) does not match: it is ${where}.`;
  }
  return '';
}

/** A model id as a BIDS label: its letters and digits (derivatives.desc_label). */
export function descLabel(modelId) {
  return String(modelId).replace(/[^0-9A-Za-z]/g, '') || 'meshseg';
}

/** The file name: `entities` plus space-orig [, label-] and desc-, in the spec's order. */
export function derivativeName(entities, suffix, extension, { desc, label = null }) {
  const pairs = entities.filter(([key]) => !['space', 'label', 'desc'].includes(key));
  pairs.push(['space', BIDS.space], ['desc', desc]);
  if (label) pairs.push(['label', label]);
  pairs.sort((a, b) => ORDER.get(a[0]) - ORDER.get(b[0]));
  return `${pairs.map(([key, value]) => `${key}-${value}`).join('_')}_${suffix}${extension}`;
}

/** sub-<label>[/ses-<label>]/anat */
export function derivativeFolder(entities) {
  const found = Object.fromEntries(entities);
  return [`sub-${found.sub}`, ...(found.ses !== undefined ? [`ses-${found.ses}`] : []), 'anat'].join('/');
}

/**
 * Every derivative file of one T1w, relative to the dataset root (derivatives.derivative_paths):
 * dseg, dseg_tsv, dseg_json, volumes, volumes_json, probseg, probseg_json.
 */
export function derivativePaths(entities, modelId, probsegLabel = null) {
  const folder = derivativeFolder(entities);
  const desc = descLabel(modelId);
  const path = (suffix, extension, label = null) => `${folder}/${derivativeName(entities, suffix, extension, { desc, label })}`;
  return {
    dseg: path('dseg', '.nii.gz'), dseg_tsv: path('dseg', '.tsv'), dseg_json: path('dseg', '.json'),
    volumes: path('volumes', '.tsv'), volumes_json: path('volumes', '.json'),
    probseg: path('probseg', '.nii.gz', probsegLabel), probseg_json: path('probseg', '.json', probsegLabel),
  };
}

/** The BIDS URI of a file of the source dataset (DatasetLinks "raw"). */
export function sourceUri(relpath) {
  return `bids:raw:${relpath}`;
}

/** The source dataset's Name, else its folder's name. */
export function rawName(datasetName, description) {
  const name = description && typeof description === 'object' ? description.Name : null;
  return typeof name === 'string' && name.trim() ? name.trim() : datasetName;
}

/** dataset_description.json of the derivative (derivatives.dataset_description). */
export function datasetDescription(datasetName, description, rawLink, version) {
  let source = { URL: 'bids:raw:' };
  const doi = description && typeof description === 'object' ? description.DatasetDOI : null;
  if (typeof doi === 'string' && doi) source = { DOI: doi, ...source };
  return {
    Name: `MeshSeg segmentations of ${rawName(datasetName, description)}`,
    BIDSVersion: BIDS.version,
    DatasetType: 'derivative',
    GeneratedBy: [{
      Name: BIDS.pipeline, Version: version,
      Description: 'Brain MRI segmentation with MeshNet models; each file\'s model is its desc- entity and its sidecar\'s Model.',
    }],
    SourceDatasets: [source],
    DatasetLinks: { raw: rawLink },
  };
}

/** README.md of the derivative. */
export function readme(datasetName, description, version) {
  return BIDS.readme.replaceAll('@NAME@', rawName(datasetName, description)).replaceAll('@VERSION@', version);
}

/** .bidsignore: the files that are not a BIDS file type. */
export function bidsignore() {
  return BIDS.bidsignore.map((line) => `${line}\n`).join('');
}

const cell = (value) => String(value ?? '').replace(/[\t\r\n]+/g, ' ');

function hex(color) {
  if (!Array.isArray(color) || color.length < 3) return 'n/a';
  return `#${color.slice(0, 3).map((c) => Math.max(0, Math.min(255, Math.trunc(Number(c)))).toString(16).padStart(2, '0')).join('')}`;
}

/** The dseg's lookup table: index, name, color of every class. */
export function dsegTsv(classes) {
  const rows = [...classes].sort((a, b) => Number(a.index) - Number(b.index))
    .map((c) => `${Math.trunc(Number(c.index))}\t${cell(c.name)}\t${hex(c.color)}`);
  return `${['index\tname\tcolor', ...rows].join('\n')}\n`;
}

/** The model as a sidecar states it. */
export function modelFacts(card) {
  return { id: card.id, title: card.title || '', licence: card.licence || '', onnx_sha256: card.onnx?.sha256 ?? '' };
}

/** The dseg's JSON sidecar. */
export function dsegSidecar(card, relpath) {
  const title = card.title ? ` (${card.title})` : '';
  return {
    Description: `MeshSeg segmentation of ${basename(relpath)} by the model ${card.id}${title}, on the T1w image's own voxel grid.`,
    Sources: [sourceUri(relpath)],
    SpatialReference: sourceUri(relpath),
    Manual: false,
    Model: modelFacts(card),
  };
}

/** Rows of CSV text as Python's csv module reads them (quoted fields, doubled quotes). */
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i += 1; } else if (ch === '"') quoted = false; else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { row.push(field); field = ''; } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i += 1;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  return rows;
}

/** The volume table (index, name, voxels, ml) of a batch's `<scan>_<model>_stats.csv`. */
export function volumesTsvFromCsv(statsCsv) {
  const [header = [], ...rows] = parseCsv(statsCsv);
  const at = ['label', 'name', 'voxels', 'ml'].map((key) => header.indexOf(key));
  const lines = [BIDS.volume_columns.join('\t'), ...rows.map((row) => at.map((i) => cell(row[i])).join('\t'))];
  return `${lines.join('\n')}\n`;
}

/** The volume table's column descriptions. */
export function volumesSidecar() {
  return {
    index: { Description: 'The label\'s value in the dseg image (background left out).' },
    name: { Description: 'The label\'s name (the model\'s class).' },
    voxels: { Description: 'Voxels with this label.' },
    ml: { Description: 'The label\'s volume: its voxels times the T1w\'s voxel volume.', Units: 'mL' },
  };
}

/** JSON as every file of the dataset is written (2-space indent, newline). */
export function jsonText(value) {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Derivative path -> text of one T1w's tables and sidecars (derivatives.small_files, no probseg). */
export function smallFiles(entities, relpath, card, statsCsv) {
  const paths = derivativePaths(entities, card.id);
  return {
    [paths.dseg_tsv]: dsegTsv(card.classes ?? []),
    [paths.dseg_json]: jsonText(dsegSidecar(card, relpath)),
    [paths.volumes]: volumesTsvFromCsv(statsCsv),
    [paths.volumes_json]: jsonText(volumesSidecar()),
  };
}

/** dataset_description.json, README.md and .bidsignore. */
export function topFiles(datasetName, description, rawLink, version) {
  return {
    [DESCRIPTION]: jsonText(datasetDescription(datasetName, description, rawLink, version)),
    [README]: readme(datasetName, description, version),
    [BIDSIGNORE]: bidsignore(),
  };
}

/**
 * The BIDS dataset among a batch's sources, or null when there is none: a
 * dataset_description.json at the root of what was dropped (`ds/dataset_description.json`
 * for a folder, `dataset_description.json` for a folder's files).
 * @param {{path: string, blob: Blob}[]} sources
 * @returns {Promise<null|{name: string, description: object, images: object[]}>} images:
 *   {source, relpath, entities, error} sorted by path, as layout.find_images gives them
 * @throws {BidsError} two datasets, a file outside the dataset, a description that is not
 *   a JSON object, a dataset without T1w images
 */
export async function findDataset(sources) {
  const roots = sources.filter((s) => s.path === DESCRIPTION || /^[^/]+\/dataset_description\.json$/.test(s.path));
  if (!roots.length) return null;
  if (roots.length > 1) {
    throw new BidsError(`${roots.map((s) => dirname(s.path) || '.').join(' and ')}: two BIDS datasets; a BIDS dataset is a batch of its own: Clear, then drop one.`);
  }
  const prefix = roots[0].path.slice(0, -DESCRIPTION.length);
  const name = prefix ? prefix.slice(0, -1) : 'dataset';
  const outside = sources.find((s) => !s.path.startsWith(prefix));
  if (outside) {
    throw new BidsError(`${outside.path}: is not in the BIDS dataset ${name}; a BIDS dataset is a batch of its own: Clear, then drop it alone.`);
  }
  let description;
  try {
    description = JSON.parse(await roots[0].blob.text());
  } catch (error) {
    throw new BidsError(`${name}/${DESCRIPTION}: is not valid JSON (${error.message}).`);
  }
  if (!description || typeof description !== 'object' || Array.isArray(description)) {
    throw new BidsError(`${name}/${DESCRIPTION}: is not a JSON object.`);
  }
  const found = sources.map((source) => ({ source, relpath: source.path.slice(prefix.length) }))
    .filter(({ relpath }) => FOUND.test(relpath) && !basename(relpath).startsWith('.'))
    .sort((a, b) => (a.relpath < b.relpath ? -1 : a.relpath > b.relpath ? 1 : 0));
  if (!found.length) {
    throw new BidsError(`${name}: this BIDS dataset has no T1w image (no sub-<label>/[ses-<label>/]anat/*_T1w.nii[.gz]).`);
  }
  const stems = new Map();
  const images = found.map(({ source, relpath }) => {
    let error = checkImage(relpath);
    const stem = `${dirname(relpath)}/${imageStem(basename(relpath))}`;
    if (!error && stems.has(stem)) error = `${relpath}: the dataset also has ${stems.get(stem)}; a BIDS image is one file.`;
    if (!stems.has(stem)) stems.set(stem, relpath);
    return { source, relpath, entities: error ? [] : parseName(basename(relpath)), error };
  });
  return { name, description, images };
}

/** The batch items of a dataset's T1w images (inputs.bids_items): named after the file,
 * shown as `<dataset>/<path>`; an image whose name breaks the BIDS rules is an error item. */
export function bidsItems(dataset) {
  const used = new Set();
  const shared = { name: dataset.name, description: dataset.description };
  return dataset.images.map((image) => {
    const name = unique(imageStem(basename(image.relpath)), used);
    const input = `${dataset.name}/${image.relpath}`;
    if (image.error) return { name, kind: 'error', input, files: 1, sha256: null, error: image.error };
    return { name, kind: 'file', input, files: 1, sha256: null, source: image.source,
      bids: { dataset: shared, relpath: image.relpath, entities: image.entities } };
  });
}

/**
 * The batch archive as a BIDS derivative when `items` came from a BIDS dataset (else
 * `archive` itself): each item's label mask goes to its dseg path, its volume table
 * (stats CSV) also becomes its volumes.tsv and the dseg's .tsv and .json are added; every
 * other file (the stats CSV, the item's exports, volumes.csv, manifest.json) goes to
 * sourcedata/meshseg-batch/; finish() adds dataset_description.json, README.md, .bidsignore.
 * @param {{add: (name: string, data: string|ArrayBuffer|Uint8Array) => Promise<void>, finish: () => Promise<Blob>, names: string[]}} archive
 * @param {{items: object[], card: object, version: string}} how
 */
export function archiveFor(archive, { items, card, version }) {
  const bids = items.filter((item) => item.bids);
  if (!bids.length) return archive;
  const { dataset } = bids[0].bids;
  const masks = new Map();
  const stats = new Map();
  for (const item of bids) {
    const names = outputNames(item.name, card.id, item.kind);
    masks.set(names.mask, item);
    stats.set(names.stats, item);
  }
  return {
    names: archive.names,
    async add(name, data) {
      const masked = masks.get(name);
      if (masked) {
        await archive.add(derivativePaths(masked.bids.entities, card.id).dseg, data);
        return;
      }
      const measured = stats.get(name);
      if (measured) {
        const text = typeof data === 'string' ? data : new TextDecoder().decode(data);
        for (const [path, content] of Object.entries(smallFiles(measured.bids.entities, measured.bids.relpath, card, text))) {
          await archive.add(path, content);
        }
      }
      await archive.add(`${BIDS.batch_dir}/${name}`, data);
    },
    async finish() {
      for (const [path, content] of Object.entries(topFiles(dataset.name, dataset.description, PAGE_RAW_LINK, version))) {
        await archive.add(path, content);
      }
      return archive.finish();
    },
  };
}
