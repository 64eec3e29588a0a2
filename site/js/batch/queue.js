// Run batch items one at a time through a Segmenter: read (and for DICOM convert) an item,
// open it as a scan session, segment, write its outputs (mask, volume table and the files
// of item-exports.js: aseg.stats, report) into the archive, and close the scan before the
// next item, so a batch holds one scan at a time. One item's failure is a named error for
// that item (and none of its files is in the archive); the batch goes on. Cancel stops
// after the current step; finished items stay in the archive.

import { STAGES } from '../constants.js';
import { createArchive, entryOf, manifestText, volumesCsv, MANIFEST, VOLUMES } from './archive.js';
import { archiveFor } from './bids.js';
import { seriesToNifti } from './dicom.js';
import { sha256Hex } from './inputs.js';
import { itemExportFiles } from './item-exports.js';
import { outputNames } from './naming.js';

const STAGE_INDEX = new Map(STAGES.map(([id], index) => [id, index]));

/** Fraction 0..1 of one item from a progress update (stage position, then its own fraction). */
export function itemFraction(stage, fraction) {
  const index = STAGE_INDEX.get(stage);
  if (index === undefined) return 0;
  return Math.min(1, (index + (fraction ?? 0)) / STAGES.length);
}

/** Elapsed and estimated remaining seconds from the batch's done fraction. */
export function estimate(elapsedS, fraction) {
  return { elapsedS, leftS: fraction > 0.02 ? (elapsedS / fraction) * (1 - fraction) : null };
}

function errorMessage(error) {
  return error?.message ?? String(error);
}

/**
 * Run `items` with `card`'s model.
 * @param {object} how
 * @param {import('../api/segmenter.js').Segmenter} how.segmenter (ready)
 * @param {object} how.card the model card
 * @param {object[]} how.items from expandSources
 * @param {string|URL} how.vendorBase
 * @param {string} how.version MeshSeg's version
 * @param {AbortSignal} [how.signal]
 * @param {(update: object) => void} [how.onUpdate] {item, index, state, fraction (batch),
 *   itemFraction, message, elapsedS, leftS}
 * @returns {Promise<{blob: Blob, manifest: object, entries: object[], seconds: number, cancelled: boolean}>}
 */
export async function runBatch({ segmenter, card, items, vendorBase, version, signal, onUpdate = () => {} }) {
  const archive = archiveFor(await createArchive(vendorBase), { items, card, version }); // BIDS: a derivative
  const start = performance.now();
  const entries = [];
  const volumes = [];
  let cancelled = false;
  const report = (index, state, fraction, message) => {
    const batch = (index + fraction) / Math.max(1, items.length);
    onUpdate({ item: items[index], index, state, itemFraction: fraction, fraction: batch, message,
      ...estimate((performance.now() - start) / 1000, batch) });
  };
  for (const [index, item] of items.entries()) {
    if (signal?.aborted) {
      cancelled = true;
      report(index, 'cancelled', 0, `${item.name}: cancelled`);
      continue;
    }
    report(index, 'running', 0, `${item.name}: starting`);
    const summary = await runItem({ segmenter, card, item, vendorBase, signal, archive,
      onProgress: (fraction, message) => report(index, 'running', fraction, message) });
    if (summary.cancelled) {
      cancelled = true;
      report(index, 'cancelled', 0, `${item.name}: cancelled`);
      continue;
    }
    const entry = entryOf(summary);
    entries.push(entry);
    volumes.push({ entry, statsCsv: summary.statsCsv });
    report(index, summary.status, 1, summary.status === 'failed' ? summary.error : `${item.name}: ${summary.status}`);
  }
  const info = segmenter.info ?? {};
  const backend = info.backend ?? {};
  const runtime = { provider: backend.provider ?? null, threads: backend.threads ?? null,
    optimisation: backend.optimisation ?? null, scheduler: 'browser', workers: 1, items: items.length };
  const manifestBody = manifestText({ version, runtime, card, entries,
    cancelled: cancelled ? items.length - entries.length : null });
  await archive.add(VOLUMES, volumesCsv(volumes));
  await archive.add(MANIFEST, manifestBody);
  const blob = await archive.finish();
  return { blob, manifest: JSON.parse(manifestBody), entries, cancelled,
    seconds: (performance.now() - start) / 1000 };
}

async function runItem({ segmenter, card, item, vendorBase, signal, archive, onProgress }) {
  const t0 = performance.now();
  const timings = {};
  const lap = (name, since) => { timings[name] = Math.round(performance.now() - since) / 1000; };
  const summary = { name: item.name, input: item.input, input_sha256: item.sha256, model: card.id,
    files: item.files, status: 'failed', notices: [], error: '', timings, outputs: {}, rss_mb: null };
  let scan = null;
  try {
    if (item.kind === 'error') throw new Error(item.error);
    let bytes;
    let name;
    const t = performance.now();
    if (item.kind === 'dicom') {
      onProgress(0, `${item.name}: decoding ${item.files} DICOM file${item.files === 1 ? '' : 's'}`);
      const converted = await seriesToNifti(item.series, { vendorBase });
      bytes = converted.bytes;
      summary.notices.push(...converted.notices);
      name = `${item.name}.nii`;
      lap('dicom', t);
    } else {
      bytes = await item.source.blob.arrayBuffer();
      summary.input_sha256 = item.sha256 = await sha256Hex(bytes);
      name = item.input.split('/').pop();
      lap('read', t);
    }
    if (signal?.aborted) return { cancelled: true };
    const t2 = performance.now();
    scan = await segmenter.open(bytes, name, { signal });
    bytes = null;
    lap('open', t2);
    if (signal?.aborted) return { cancelled: true };
    const result = await segmenter.segment(scan, card.id, { signal,
      onProgress: (update) => onProgress(itemFraction(update.stage, update.fraction), `${item.name}: ${update.message}`) });
    const names = outputNames(item.name, card.id, item.kind);
    const backend = result.backend ?? {};
    const exported = await itemExportFiles({ segmenter, scan, result, card, item, names,
      runtime: { provider: backend.provider ?? '', threads: backend.threads ?? null, commit: '' } });
    for (const [file, data] of [[names.mask, result.mask], [names.stats, result.statsCsv], ...exported]) {
      await archive.add(file, data);
    }
    const flagged = result.quality?.flagged ? [result.quality.summary] : [];
    for (const notice of [...(scan.info?.notices ?? []), ...(result.notices ?? []), ...flagged]) {
      if (!summary.notices.includes(notice)) summary.notices.push(notice);
    }
    Object.assign(timings, result.timings ?? {});
    Object.assign(summary, { status: summary.notices.length ? 'warning' : 'done', outputs: names,
      statsCsv: result.statsCsv, warnings: result.warnings ?? [], quality: result.quality ?? null });
  } catch (error) {
    if (error?.kind === 'cancelled' || (signal?.aborted && error?.name === 'AbortError')) return { cancelled: true };
    summary.error = errorMessage(error);
  } finally {
    if (scan) await segmenter.close(scan).catch(() => {});
  }
  timings.total = Math.round(performance.now() - t0) / 1000;
  return summary;
}
