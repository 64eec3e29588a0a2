// The quality score of a result (Result.quality, docs/quality.md) as plain text and rows:
// the badge's words, the reasons, the image metrics (a reason for each one missing), the
// contrast check, the per-structure scores (lowest first) and the score's inputs. No DOM:
// js/ui/quality.js renders what this returns.

/** The image metrics, in the order shown, with what each one says about the scan. */
export const METRICS = Object.freeze([
  ['snr', 'SNR', 'Signal-to-noise ratio: tissue signal over the background noise. Higher is better.'],
  ['cnr', 'CNR', 'Contrast-to-noise ratio: grey/white matter contrast over the noise. Higher is better.'],
  ['cjv', 'CJV', 'Coefficient of joint variation of grey and white matter: their overlap (noise, bias field, motion). Lower is better.'],
  ['efc', 'EFC', 'Entropy focus criterion: ghosting and blurring, as from head motion. Lower is better.'],
  ['fber', 'FBER', 'Foreground-to-background energy ratio: head signal over the air around it. Higher is better.'],
]);

/** How many per-structure scores show before "show all". */
export const LABEL_LIMIT = 10;

const isNumber = (value) => typeof value === 'number' && Number.isFinite(value);

/**
 * A number for people: 1530, 42.2, 3.14, 0.41, 0.031 (two or three significant digits), or "n/a".
 * @param {number|null|undefined} value
 * @returns {string}
 */
export function formatNumber(value) {
  if (!isNumber(value)) return 'n/a';
  const size = Math.abs(value);
  if (size >= 100) return value.toFixed(0);
  if (size >= 10) return value.toFixed(1);
  if (size >= 1) return value.toFixed(2);
  if (size === 0) return '0';
  return value.toPrecision(2);
}

/**
 * The badge: "Quality 0.91 — looks good" or "Quality 0.42 — check this result".
 * `flagged` is the Python side's verdict (a hard failure flags a high score too).
 * @param {{score: number|null, flagged: boolean}} quality
 * @returns {string}
 */
export function badgeText(quality) {
  const score = isNumber(quality.score) ? quality.score.toFixed(2) : 'n/a';
  return `Quality ${score} — ${quality.flagged ? 'check this result' : 'looks good'}`;
}

/**
 * One row per image metric: its value, or "not available: <reason>".
 * @param {object} quality
 * @returns {{key: string, name: string, explanation: string, value: number|null, text: string, available: boolean}[]}
 */
export function metricRows(quality) {
  const image = quality.image ?? {};
  const missing = quality.missing ?? {};
  return METRICS.map(([key, name, explanation]) => {
    const value = image[key];
    if (isNumber(value)) return { key, name, explanation, value, text: formatNumber(value), available: true };
    const reason = missing[key] || 'no reason given';
    return { key, name, explanation, value: null, text: `not available: ${reason}`, available: false };
  });
}

/**
 * The contrast check in words, and whether it passed (null: not checked or unclear).
 * @param {object} quality
 * @returns {{text: string, ok: boolean|null}}
 */
export function contrastRow(quality) {
  const contrast = quality.contrast ?? {};
  const { expected, observed } = contrast;
  const ok = typeof contrast.ok === 'boolean' ? contrast.ok : null;
  if (expected === 'any') return { text: 'The model takes any contrast; not checked.', ok };
  const wanted = expected ? `The model expects ${expected}` : 'The model\'s expected contrast is not stated';
  if (observed === null || observed === undefined) return { text: `${wanted}; the scan's contrast was not checked.`, ok };
  if (observed === 'unclear') return { text: `${wanted}; the scan's contrast is unclear.`, ok };
  const verdict = ok === true ? 'matches' : ok === false ? 'does not match' : 'may not match';
  return { text: `${wanted}; the scan looks ${observed}: ${verdict}.`, ok };
}

/**
 * The per-structure scores, lowest first (ties by name).
 * @param {object} quality
 * @returns {{name: string, score: number, text: string}[]}
 */
export function labelRows(quality) {
  return Object.entries(quality.labels ?? {})
    .filter(([, score]) => isNumber(score))
    .map(([name, score]) => ({ name, score, text: score.toFixed(2) }))
    .sort((a, b) => a.score - b.score || a.name.localeCompare(b.name));
}

/**
 * The rows shown: the first `limit` unless all are asked for.
 * @template T
 * @param {T[]} rows
 * @param {boolean} all
 * @param {number} [limit]
 * @returns {{shown: T[], hidden: number}}
 */
export function visibleRows(rows, all, limit = LABEL_LIMIT) {
  const shown = all ? rows : rows.slice(0, limit);
  return { shown, hidden: rows.length - shown.length };
}

/**
 * The score's inputs as "name: value" rows (numbers; anything else as JSON).
 * @param {object} quality
 * @returns {{key: string, text: string}[]}
 */
export function signalRows(quality) {
  return Object.entries(quality.signals ?? {}).map(([key, value]) => ({
    key, text: isNumber(value) ? formatNumber(value) : JSON.stringify(value),
  }));
}

/**
 * Everything the quality badge and panel show, or null when the result has no score
 * (an image-to-image model).
 * @param {object|null|undefined} quality Result.quality
 * @returns {null|{flagged: boolean, score: number|null, badge: string, reasons: string[], threshold: string,
 *   metrics: ReturnType<typeof metricRows>, contrast: ReturnType<typeof contrastRow>,
 *   labels: ReturnType<typeof labelRows>, signals: ReturnType<typeof signalRows>, tta: string}}
 */
export function describeQuality(quality) {
  if (quality === null || quality === undefined) return null;
  if (typeof quality !== 'object') throw new TypeError(`quality must be an object or null, not ${typeof quality}`);
  const flagged = quality.flagged === true;
  const reasons = (quality.reasons ?? []).filter((text) => typeof text === 'string' && text !== '');
  return {
    flagged,
    score: isNumber(quality.score) ? quality.score : null,
    badge: badgeText({ score: quality.score, flagged }),
    reasons: reasons.length ? reasons : [flagged ? 'The score is below the threshold.' : 'Nothing looks wrong.'],
    threshold: isNumber(quality.threshold) ? quality.threshold.toFixed(2) : 'n/a',
    metrics: metricRows(quality),
    contrast: contrastRow(quality),
    labels: labelRows(quality),
    signals: signalRows(quality),
    tta: quality.tta === true ? 'Test-time augmentation: on (mirrored run averaged in).' : 'Test-time augmentation: off.',
  };
}
