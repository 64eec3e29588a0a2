// Unit tests of the compare table's cells and the reference colouring (node --test tests/js/;
// compare-flow.js imports the generated constants.js, so it is read from dist/ after a build).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COMPARE_MODES, compareCells } from '../../site/js/ui/compare-panel.js';

test('table cells: mL with two decimals, signed difference, Dice with four, – for none', () => {
  assert.deepEqual(compareCells({ name: 'Grey Matter', ml_a: 612.3456, ml_b: 1200, diff_ml: 587.6544, dice: 0.91237 }),
    ['Grey Matter', '612.35', '1,200.00', '+587.65', '0.9124']);
  assert.deepEqual(compareCells({ name: 'x', ml_a: 2, ml_b: 0, diff_ml: -2, dice: null }), ['x', '2.00', '0.00', '-2.00', '–']);
  assert.deepEqual(Object.keys(COMPARE_MODES), ['side', 'overlay', 'difference']);
});

test('a reference is coloured with A\'s classes where values match, grey elsewhere', async () => {
  const { referenceClasses } = await import('../../dist/js/compare-flow.js');
  const classesA = [{ index: 0, name: 'bg', color: [0, 0, 0] }, { index: 1, name: 'WM', color: [1, 2, 3] }];
  const classes = referenceClasses([1, 7], classesA);
  assert.deepEqual(classes.map((c) => [c.index, c.name]), [[0, 'bg'], [1, 'WM'], [7, 'label 7']]);
  assert.deepEqual(classes[1].color, [1, 2, 3]);
});
