// The page's surface mesh (niimath's WebAssembly, js/export/mesh.js) of the shared result:
// a closed, manifold, outward STL in world millimetres whose enclosed volume is within 3 % of
// the downloaded mask's and of the CLI's mesh of that same mask (meshseg.export.mesh,
// scikit-image), with bounds within one voxel of the CLI's; then shown in NiiVue's 3D view.
// The figures (triangles, bytes, milliseconds, volume errors) are printed as TAP comments.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import config from '../../../playwright.config.js';
import { download } from '../helpers.mjs';

export const title = 'mesh: the page\'s niimath STL is closed and manifold, in world mm, and agrees with the CLI\'s mesh';
export const timeout = 300_000;

const say = (text) => process.stdout.write(`# mesh: ${text}\n`);
const pct = (x) => `${(100 * x).toFixed(2)} %`;

/** meshseg.export.mesh's checks of the page's mesh against the mask, and of its own mesh of it. */
function pythonChecks(stl, mask) {
  const done = spawnSync('python3', ['-m', 'meshseg.export.mesh', stl, '--mask', mask, '--cli'], { encoding: 'utf-8' });
  if (!done.stdout) throw new Error(`python3 -m meshseg.export.mesh failed:\n${done.stderr}`);
  return JSON.parse(done.stdout);
}

export async function check({ page }) {
  const mask = await download(page, 'download-mask', 'mesh');
  const started = Date.now();
  const stl = await download(page, 'download-mesh', 'mesh');
  const firstMs = Date.now() - started;
  assert.match(stl, /_model5_gw_ae_mesh\.stl$/);
  assert.equal(await page.getByTestId('export-message').getAttribute('data-state'), 'done');

  const page_ = pythonChecks(stl, mask);
  const { cli, agreement } = page_;
  assert.deepEqual([page_.closed, page_.manifold, page_.oriented], [true, true, true],
    `the page's mesh: ${page_.boundary_edges} open edges, ${page_.nonmanifold_edges} edges of 3+ triangles, ${page_.nonmanifold_vertices} pinched vertices, ${page_.misoriented_edges} misoriented`);
  assert.ok(page_.volume_mm3 > 0, 'the page\'s mesh is wound inward');
  assert.deepEqual([cli.closed, cli.manifold, cli.oriented], [true, true, true]);
  assert.ok(Math.abs(page_.volume_error) < 0.03, `page: volume ${page_.volume_mm3} mm3 vs mask ${page_.mask_volume_mm3} mm3`);
  assert.ok(Math.abs(cli.volume_error) < 0.03, `CLI: volume ${cli.volume_mm3} mm3 vs mask ${cli.mask_volume_mm3} mm3`);
  assert.ok(Math.abs(agreement.volume_difference) < 0.03, `page vs CLI volume: ${pct(agreement.volume_difference)}`);
  assert.ok(agreement.bounds_difference_voxels <= 1, `page vs CLI bounds differ by ${agreement.bounds_difference_mm} mm`);
  assert.ok(page_.bounds_error_mm <= agreement.voxel_mm, `page bounds vs the mask's voxel centres: ${page_.bounds_error_mm} mm`);

  // the page's own figures, warm (niimath loaded), timed inside the page
  const warm = await page.evaluate(`(async () => {
    const app = document.querySelector('meshseg-app').app;
    const result = app.state.results.get(app.state.current);
    const { meshLabels } = await import(new URL('js/export/mesh.js', document.baseURI).href);
    const { stats } = await meshLabels(result.labelsNifti, { siteBase: new URL('./', document.baseURI).href });
    return stats;
  })()`);
  assert.equal(warm.triangles, page_.faces);
  say(`page (niimath WASM): ${page_.faces} triangles, ${page_.vertices} vertices, ${page_.bytes} bytes STL, `
    + `first download ${firstMs} ms (niimath loaded on first use), warm ${warm.ms.total.toFixed(0)} ms `
    + `(niimath ${warm.ms.niimath.toFixed(0)} ms), turned outward: ${warm.flipped}`);
  say(`CLI (scikit-image): ${cli.faces} triangles, ${cli.vertices} vertices, ${cli.bytes} bytes STL, ${cli.ms} ms`);
  say(`mask ${page_.mask_volume_mm3.toFixed(0)} mm3; page ${page_.volume_mm3.toFixed(0)} mm3 (${pct(page_.volume_error)}), `
    + `CLI ${cli.volume_mm3.toFixed(0)} mm3 (${pct(cli.volume_error)}); page vs CLI ${pct(agreement.volume_difference)}, `
    + `bounds ${agreement.bounds_difference_mm.toFixed(3)} mm (${agreement.bounds_difference_voxels.toFixed(3)} voxel of ${agreement.voxel_mm.toFixed(2)} mm)`);
  say(`page bounds ${JSON.stringify(page_.bounds_mm.map((b) => b.map((x) => Number(x.toFixed(2)))))}`);

  // shown in NiiVue's 3D view, and hidden again
  const meshes = () => page.evaluate(() => {
    const { nv } = document.querySelector('meshseg-app').app.parts.viewer;
    return nv.meshes.map((m) => ({ triangles: m.tris ? m.tris.length / 3 : null, name: m.name }));
  });
  await page.getByTestId('show-mesh').click();
  await page.waitForFunction(() => document.querySelector('meshseg-app').app.parts.viewer.nv.meshes.length > 0, null, { timeout: config.timeouts.action });
  assert.equal(await page.getByTestId('show-mesh').getAttribute('aria-pressed'), 'true');
  assert.notEqual(await page.getByTestId('export-message').getAttribute('data-state'), 'error',
    await page.getByTestId('export-message').textContent());
  const shown = await meshes();
  assert.equal(shown.length, 1);
  assert.equal(shown[0].triangles, page_.faces);
  say(`shown in NiiVue's 3D view: ${JSON.stringify(shown)}`);
  await page.getByTestId('show-mesh').click();
  assert.deepEqual(await meshes(), []);
  assert.equal(await page.getByTestId('show-mesh').getAttribute('aria-pressed'), 'false');
}
