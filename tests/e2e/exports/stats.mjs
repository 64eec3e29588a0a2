// The FreeSurfer stats download (tests/e2e/exports.test.mjs runs this on the shared result):
// an aseg.stats file, parsed here on its own (not with meshseg's reader), whose rows are the
// page's CSV rows: NVoxels = voxels, Volume_mm3 = voxels x the scan's voxel volume = ml x 1000,
// SegId = 10000 + label and StructName = the class name with '-' for blanks (model5_gw_ae's
// "White Matter" and "Grey Matter" are not FreeSurfer names), and a TotalLabelledVol measure
// equal to their sum.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { download, niftiGeometry } from '../helpers.mjs';

export const title = 'FreeSurfer stats: an aseg.stats table whose rows equal the CSV\'s';

const COLUMNS = ['Index', 'SegId', 'NVoxels', 'Volume_mm3', 'StructName'];

/** aseg.stats as asegstats2table reads it: '#' lines are headers, every other line a row. */
function parseStats(text) {
  const headers = {};
  const measures = {};
  const rows = [];
  let columns = null;
  for (const line of text.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1)) {
    if (line.startsWith('#')) {
      const body = line.slice(1).trim();
      if (body.startsWith('Measure ')) {
        const parts = body.slice('Measure '.length).split(',').map((p) => p.trim());
        assert.equal(parts.length, 5, `a Measure line has 5 fields: ${line}`);
        measures[parts[1]] = { value: Number(parts[3]), units: parts[4] };
      } else if (body.startsWith('ColHeaders')) {
        columns = body.split(/\s+/).slice(1);
      } else if (body && !body.startsWith('TableCol')) {
        const [key, ...rest] = body.split(/\s+/);
        headers[key] = rest.join(' ');
      }
      continue;
    }
    assert.ok(columns, `a row before # ColHeaders: ${line}`);
    const fields = line.trim().split(/\s+/);
    assert.equal(fields.length, columns.length, `row "${line}"`);
    rows.push(Object.fromEntries(columns.map((c, i) => [c, c === 'StructName' ? fields[i] : Number(fields[i])])));
  }
  return { headers, measures, columns, rows };
}

function csvRows(text) {
  const [header, ...rows] = text.trim().split('\n');
  assert.equal(header, 'label,name,voxels,ml');
  return rows.map((line) => {
    const [label, name, voxels, ml] = line.split(',');
    return { label: Number(label), name, voxels: Number(voxels), ml: Number(ml) };
  });
}

export async function check({ page, scan, model }) {
  const file = await download(page, 'download-stats', 'exports');
  assert.match(path.basename(file), new RegExp(`_${model}_aseg\\.stats$`));
  assert.match(await page.getByTestId('export-message').textContent(), /Saved .*_aseg\.stats/);
  const stats = parseStats(fs.readFileSync(file, 'utf-8'));
  const csv = csvRows(fs.readFileSync(await download(page, 'download-csv', 'exports-stats'), 'utf-8'));

  const { affine } = niftiGeometry(scan);
  const [a, b, c] = affine.slice(0, 3).map((row) => row.slice(0, 3));
  const voxelMm3 = Math.abs(a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0]) + a[2] * (b[0] * c[1] - b[1] * c[0]));
  assert.ok(Math.abs(Number(stats.headers.VoxelVolume_mm3) - voxelMm3) < 1e-6 * voxelMm3,
    `VoxelVolume_mm3 ${stats.headers.VoxelVolume_mm3}, the scan's voxels are ${voxelMm3} mm^3`);

  assert.deepEqual(stats.columns, COLUMNS);
  assert.equal(Number(stats.headers.NRows), csv.length);
  assert.equal(Number(stats.headers.NTableCols), COLUMNS.length);
  assert.equal(stats.rows.length, csv.length);
  assert.ok(csv.length === 2 && csv.every((row) => row.voxels > 1000), JSON.stringify(csv));
  for (const [index, row] of stats.rows.entries()) {
    const want = csv[index];
    assert.equal(row.Index, index + 1);
    assert.equal(row.SegId, 10000 + want.label, `${want.name}: SegId`);
    assert.equal(row.StructName, want.name.replace(/\s+/g, '-'));
    assert.equal(row.NVoxels, want.voxels, `${want.name}: NVoxels`);
    assert.ok(Math.abs(row.Volume_mm3 - want.voxels * voxelMm3) <= 0.0005 + 1e-9, `${want.name}: ${row.Volume_mm3} mm^3 = ${want.voxels} x ${voxelMm3}`);
    assert.ok(Math.abs(row.Volume_mm3 / 1000 - want.ml) <= 0.0005 + 1e-9, `${want.name}: ${row.Volume_mm3} mm^3 vs ${want.ml} mL`);
  }
  const total = stats.measures.TotalLabelledVol;
  assert.equal(total.units, 'mm^3');
  assert.ok(Math.abs(total.value - stats.rows.reduce((sum, row) => sum + row.Volume_mm3, 0)) < 0.01, JSON.stringify(total));
  assert.equal(stats.measures.MaskVol, undefined, 'model5_gw_ae is not a brain-mask model');
  assert.equal(stats.headers.generating_program, 'meshseg');
  assert.equal(stats.headers.InVolFile, path.basename(scan));
}
