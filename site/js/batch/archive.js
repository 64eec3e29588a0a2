// The batch archive: per scan `<name>_<model>_labels.nii.gz`, `<name>_<model>_stats.csv` and
// the files of item-exports.js (`_aseg.stats`, `_report.html`), then `volumes.csv` and
// `manifest.json`, in the formats of py/meshseg/batch/outputs.py (the CLI's), written
// entry by entry with zip.js as the batch runs.

import { loadZip } from './inputs.js';

export const MANIFEST = 'manifest.json';
export const VOLUMES = 'volumes.csv';
export const VOLUME_FIELDS = ['scan', 'model', 'label', 'name', 'voxels', 'ml', 'quality_score', 'quality_flagged'];
const ENTRY_KEYS = ['name', 'input', 'input_sha256', 'model', 'files', 'status', 'notices', 'error', 'timings', 'outputs', 'rss_mb', 'quality'];

/** A CSV field as Python's csv module writes it (QUOTE_MINIMAL). */
export function csvField(value) {
  const text = String(value ?? '');
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The manifest entry of an item summary, keys in the CLI's order (outputs.entry_of). */
export function entryOf(summary) {
  return Object.fromEntries(ENTRY_KEYS.map((key) => [key, summary[key] ?? null]));
}

/** Counts of done / warning / failed entries (outputs._counts). */
export function counts(entries) {
  const result = { done: 0, warning: 0, failed: 0 };
  for (const entry of entries) {
    const status = entry.status ?? 'failed';
    result[status] = (result[status] ?? 0) + 1;
  }
  return result;
}

/**
 * manifest.json's object (outputs.write_manifest), as indented JSON text.
 * @param {{version: string, runtime: object, card: {id: string, title?: string, onnx?: {sha256?: string}},
 *   entries: object[], skipped?: number, cancelled?: number}} what
 */
export function manifestText({ version, runtime, card, entries, skipped = 0, cancelled = null }) {
  const summary = { ...counts(entries), skipped };
  if (cancelled !== null) summary.cancelled = cancelled;
  const doc = {
    meshseg: version,
    runtime,
    model: { id: card.id, title: card.title ?? null, sha256: card.onnx?.sha256 ?? '' },
    summary,
    items: entries,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/**
 * volumes.csv (outputs.write_volumes): one row per scan x label, from each successful
 * entry's stats CSV text, with the scan's quality score and flag (docs/quality.md).
 * @param {{entry: object, statsCsv: string}[]} scans
 */
export function volumesCsv(scans) {
  const lines = [VOLUME_FIELDS.join(',')];
  for (const { entry, statsCsv } of scans) {
    if (entry.status === 'failed' || !statsCsv) continue;
    const rows = statsCsv.split('\n').filter((line) => line.trim() !== '');
    const quality = qualityFields(entry.quality);
    for (const row of rows.slice(1)) lines.push(`${csvField(entry.name)},${csvField(entry.model)},${row.replace(/\r$/, '')},${quality}`);
  }
  return `${lines.join('\n')}\n`;
}

/** quality_score,quality_flagged as the CLI writes them (empty without a quality object). */
export function qualityFields(quality) {
  if (!quality) return ',';
  return `${quality.score.toFixed(4)},${quality.flagged ? 'true' : 'false'}`;
}

/**
 * A ZIP written as the batch goes: add() an entry at a time, finish() gives the Blob.
 * Already-compressed entries (.gz) are stored, others deflated.
 */
export async function createArchive(vendorBase) {
  const zip = await loadZip(vendorBase);
  const writer = new zip.ZipWriter(new zip.BlobWriter('application/zip'), { lastModDate: new Date(Date.UTC(1980, 0, 1)) });
  const names = [];
  return {
    names,
    async add(name, data) {
      const reader = typeof data === 'string' ? new zip.TextReader(data) : new zip.Uint8ArrayReader(new Uint8Array(data));
      await writer.add(name, reader, { level: name.endsWith('.gz') ? 0 : 6 });
      names.push(name);
    },
    finish: () => writer.close(),
  };
}
