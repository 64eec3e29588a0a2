// The quality score's words and rows (js/ui/quality-rows.js, no DOM) and the page's run
// options (js/ui/run-options.js): what the badge and the details panel show.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  LABEL_LIMIT, METRICS, badgeText, contrastRow, describeQuality, formatNumber, labelRows,
  metricRows, signalRows, visibleRows,
} from '../../dist/js/ui/quality-rows.js';
import { createRunOptions } from '../../dist/js/ui/run-options.js';

/** A quality object as Python sends it (docs/quality.md). */
function quality(overrides = {}) {
  return {
    version: 1, score: 0.912, flagged: false, threshold: 0.6, reasons: [],
    image: { snr: 14.26, cnr: 3.5, cjv: 0.41, efc: 0.5212, fber: null },
    missing: { fber: 'the scan has no air around the head (cropped field of view)' },
    contrast: { expected: 'T1', observed: 'T1', ok: true },
    labels: { 'White Matter': 0.93, 'Grey Matter': 0.88, 'Left-Hippocampus': 0.71 },
    signals: { meanConfidence: 0.9731, lowConfidenceShare: 0.021 },
    tta: false,
    ...overrides,
  };
}

test('the badge says the score and the verdict in words', () => {
  assert.equal(badgeText({ score: 0.912, flagged: false }), 'Quality 0.91 — looks good');
  assert.equal(badgeText({ score: 0.42, flagged: true }), 'Quality 0.42 — check this result');
  // A hard failure (reversed contrast) flags a high score too: the verdict is Python's flag.
  assert.equal(badgeText({ score: 0.8, flagged: true }), 'Quality 0.80 — check this result');
  assert.equal(badgeText({ score: null, flagged: true }), 'Quality n/a — check this result');
});

test('five metric rows in a fixed order; a null metric shows its reason', () => {
  const rows = metricRows(quality());
  assert.deepEqual(rows.map((row) => row.name), ['SNR', 'CNR', 'CJV', 'EFC', 'FBER']);
  assert.deepEqual(rows.map((row) => row.text), ['14.3', '3.50', '0.41', '0.52',
    'not available: the scan has no air around the head (cropped field of view)']);
  assert.deepEqual(rows.map((row) => row.available), [true, true, true, true, false]);
  assert.ok(rows.every((row) => row.explanation.length > 20), 'every metric has a short explanation');
  assert.equal(METRICS.length, 5);
  // A metric with no value and no reason, or one left out, still gets a row saying so.
  const bare = metricRows({ image: { snr: 3 }, missing: {} });
  assert.equal(bare.length, 5);
  assert.equal(bare[1].text, 'not available: no reason given');
  assert.equal(metricRows({ image: { snr: Number.NaN } })[0].available, false);
});

test('numbers keep two or three significant digits', () => {
  assert.deepEqual([1530.4, 42.17, 3.14159, 0.41, 0.0312, 0.004567, 0, -12.34, null, Number.POSITIVE_INFINITY].map(formatNumber),
    ['1530', '42.2', '3.14', '0.41', '0.031', '0.0046', '0', '-12.3', 'n/a', 'n/a']);
});

test('the contrast check in words', () => {
  assert.deepEqual(contrastRow(quality()), { text: 'The model expects T1; the scan looks T1: matches.', ok: true });
  assert.deepEqual(contrastRow(quality({ contrast: { expected: 'T1', observed: 'FLAIR/T2', ok: false } })),
    { text: 'The model expects T1; the scan looks FLAIR/T2: does not match.', ok: false });
  assert.equal(contrastRow(quality({ contrast: { expected: 'T1', observed: 'unclear', ok: null } })).text,
    'The model expects T1; the scan\'s contrast is unclear.');
  assert.equal(contrastRow(quality({ contrast: { expected: 'T2', observed: null, ok: null } })).text,
    'The model expects T2; the scan\'s contrast was not checked.');
  assert.deepEqual(contrastRow(quality({ contrast: { expected: 'any', observed: null, ok: null } })),
    { text: 'The model takes any contrast; not checked.', ok: null });
});

test('per-structure scores lowest first, ties by name; the first ten, then all', () => {
  const rows = labelRows(quality({ labels: { b: 0.5, a: 0.5, c: 0.1, d: 0.99, bad: null } }));
  assert.deepEqual(rows.map((row) => [row.name, row.text]), [['c', '0.10'], ['a', '0.50'], ['b', '0.50'], ['d', '0.99']]);
  const many = labelRows(quality({ labels: Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`s${i}`, 1 - i / 25])) }));
  assert.equal(many[0].name, 's24');
  const first = visibleRows(many, false);
  assert.equal(LABEL_LIMIT, 10);
  assert.equal(first.shown.length, 10);
  assert.equal(first.hidden, 15);
  assert.deepEqual(first.shown, many.slice(0, 10));
  assert.deepEqual(visibleRows(many, true), { shown: many, hidden: 0 });
  assert.deepEqual(labelRows({}), []);
});

test('describeQuality: null for an image model; flagged state, reasons and the rest', () => {
  assert.equal(describeQuality(null), null);
  assert.equal(describeQuality(undefined), null); // Pyodide hands None over as undefined
  assert.throws(() => describeQuality('0.9'), /quality must be an object or null/);

  const good = describeQuality(quality());
  assert.equal(good.flagged, false);
  assert.equal(good.badge, 'Quality 0.91 — looks good');
  assert.deepEqual(good.reasons, ['Nothing looks wrong.']);
  assert.equal(good.threshold, '0.60');
  assert.equal(good.metrics.length, 5);
  assert.equal(good.labels[0].name, 'Left-Hippocampus');
  assert.deepEqual(good.signals, [{ key: 'meanConfidence', text: '0.97' }, { key: 'lowConfidenceShare', text: '0.021' }]);
  assert.match(good.tta, /off/);

  const reason = 'Tissue contrast looks like FLAIR/T2, not the T1 the model expects.';
  const bad = describeQuality(quality({ score: 0.42, flagged: true, reasons: [reason, ''], tta: true,
    contrast: { expected: 'T1', observed: 'FLAIR/T2', ok: false } }));
  assert.equal(bad.flagged, true);
  assert.equal(bad.badge, 'Quality 0.42 — check this result');
  assert.deepEqual(bad.reasons, [reason]);
  assert.equal(bad.contrast.ok, false);
  assert.match(bad.tta, /on/);
  assert.deepEqual(describeQuality(quality({ flagged: true, score: 0.5 })).reasons, ['The score is below the threshold.']);
  assert.deepEqual(signalRows({ signals: { list: [1, 2] } }), [{ key: 'list', text: '[1,2]' }]);
});

test('run options: {tta: true} only when the box is checked; disabled while running', () => {
  const box = { checked: false, disabled: false };
  const options = createRunOptions({ tta: box });
  assert.equal(options.options(), null);
  box.checked = true;
  assert.deepEqual(options.options(), { tta: true });
  options.setEnabled(false);
  assert.equal(box.disabled, true);
  options.setEnabled(true);
  assert.equal(box.disabled, false);
});
