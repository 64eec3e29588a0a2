// Stats table: one row per label (label, name, voxels, mL) and a total of the non-background labels.

/**
 * Sum of the non-background rows (label 0 is background).
 * @param {{label: number, voxels: number, ml: number}[]} stats
 * @returns {{voxels: number, ml: number}}
 */
export function foregroundTotal(stats) {
  return stats
    .filter((row) => row.label !== 0)
    .reduce((sum, row) => ({ voxels: sum.voxels + row.voxels, ml: sum.ml + row.ml }), { voxels: 0, ml: 0 });
}

function cell(tag, text, numeric) {
  const element = document.createElement(tag);
  element.textContent = text;
  if (numeric) {
    element.className = 'num';
  }
  return element;
}

function row(cells) {
  const tr = document.createElement('tr');
  tr.append(...cells);
  return tr;
}

const integer = (value) => value.toLocaleString('en-US');
const millilitres = (value) => value.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/**
 * Manage the stats table.
 * @param {object} elements
 * @param {HTMLTableElement} elements.table - table with a thead, tbody and tfoot
 * @param {HTMLElement} elements.empty - text shown while there are no results
 * @returns {{show: (stats: object[]) => void, clear: () => void}}
 */
export function createStatsTable({ table, empty }) {
  const body = table.tBodies[0];
  const foot = table.tFoot;

  function show(stats) {
    body.replaceChildren(
      ...stats.map((entry) => row([
        cell('td', String(entry.label)),
        cell('td', entry.name),
        cell('td', integer(entry.voxels), true),
        cell('td', millilitres(entry.ml), true),
      ])),
    );
    const total = foregroundTotal(stats);
    const label = cell('th', 'Total (all labels except background)');
    label.colSpan = 2;
    label.scope = 'row';
    foot.replaceChildren(row([label, cell('td', integer(total.voxels), true), cell('td', millilitres(total.ml), true)]));
    table.hidden = false;
    empty.hidden = true;
  }

  function clear() {
    body.replaceChildren();
    foot.replaceChildren();
    table.hidden = true;
    empty.hidden = false;
  }

  return { show, clear };
}
