// The surface mesh of a result, made in the page by niimath's WebAssembly (as brain2print
// makes its meshes), written as binary STL in world (scanner RAS) millimetres: the same
// surface as the CLI's `--mesh` (py/meshseg/export/mesh/, scikit-image's marching cubes),
// within the figures docs/exports/mesh.md gives. Nothing leaves the browser: niimath's
// module, worker and wasm are served from the site's own vendor/niimath/.
//
// Steps: the label NIfTI is binarised (every label > 0, or one label), cropped to its
// bounding box and padded by one background voxel (so a mask on the grid's edge closes,
// and niimath's own edge darkening never touches it), with the sform moved to match;
// niimath meshes it at LEVEL with no pre-smoothing, no post-smoothing, no reduction, every
// component kept and no bubble filling, and writes mz3 in world millimetres (its sform);
// the triangles are then checked (closed: every edge used by exactly two triangles;
// manifold: each vertex's triangles form one fan; oriented) and wound outward (niimath does
// not turn them over for a reflected sform, det < 0, as LIA, LAS or PSR scans have), and
// written as STL.

import { IMAGE_EXTENSIONS } from '../constants.js';
import { DEFAULT_BASE } from '../assets.js';

/** The iso-level: 0.5 less 1/1024, as py/meshseg/export/mesh/surface.py's LEVEL (exactly
 * 0.5 is a tie on every ambiguous cube face of a binary mask, broken inconsistently). */
export const LEVEL = 0.5 - 2 ** -10;

/** niimath's -mesh sub-options: the exact surface (no smoothing, no reduction, all parts).
 * `-p 0` (no pre-smoothing) is parsed by niimath but not listed by its JS wrapper. */
export const NIIMATH_MESH_ARGS = Object.freeze(['-mesh', '-i', String(LEVEL), '-p', '0', '-s', '0', '-r', '1', '-l', '0', '-b', '0', '-v', '0']);

const STL_HEADER = 'meshseg binary STL: world (scanner RAS) millimetres, outward normals';

/** The file name the CLI's files.output_name gives: `<scan stem>_<model>_mesh.stl`. */
export function meshFileName(scanName, modelId, extension = '.stl') {
  const lower = scanName.toLowerCase();
  let stem = scanName;
  for (const ext of [...IMAGE_EXTENSIONS, '.gz']) {
    if (lower.endsWith(ext)) {
      stem = scanName.slice(0, -ext.length);
      break;
    }
  }
  return `${stem}_${modelId}_mesh${extension}`;
}

/**
 * A NIfTI-1 (uint8, 0/1) of the voxels to mesh: labels > 0 (label null) or == label, cropped
 * to their bounding box padded by one voxel, its sform moved so every voxel keeps its world
 * position; the qform is dropped (niimath then reads the sform).
 * @param {ArrayBuffer|Uint8Array} labelsNifti an uncompressed NIfTI-1 label image (uint8)
 * @param {number|null} [label]
 * @returns {{bytes: Uint8Array, voxels: number, dims: number[], affine: number[][]}}
 */
export function binaryMaskNifti(labelsNifti, label = null) {
  const src = labelsNifti instanceof Uint8Array ? labelsNifti : new Uint8Array(labelsNifti);
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const little = view.getInt32(0, true) === 348;
  if (!little && view.getInt32(0, false) !== 348) throw new Error('mesh: the labels are not an uncompressed NIfTI-1 image');
  const dims = [1, 2, 3].map((axis) => Math.max(1, view.getInt16(40 + 2 * axis, little)));
  if (view.getInt16(70, little) !== 2) throw new Error('mesh: the labels are not uint8');
  if (view.getInt16(254, little) <= 0) throw new Error('mesh: the labels have no sform (world coordinates)');
  const offset = Math.round(view.getFloat32(108, little));
  const srow = [280, 296, 312].map((at) => [0, 1, 2, 3].map((k) => view.getFloat32(at + 4 * k, little)));
  const [nx, ny, nz] = dims;
  const data = src.subarray(offset, offset + nx * ny * nz);
  if (data.length < nx * ny * nz) throw new Error('mesh: the label image is shorter than its header says');
  const inside = label === null ? (value) => value > 0 : (value) => value === label;
  const lo = [nx, ny, nz];
  const hi = [-1, -1, -1];
  let voxels = 0;
  for (let z = 0, i = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++, i++) {
        if (!inside(data[i])) continue;
        voxels += 1;
        if (x < lo[0]) lo[0] = x;
        if (x > hi[0]) hi[0] = x;
        if (y < lo[1]) lo[1] = y;
        if (y > hi[1]) hi[1] = y;
        if (z < lo[2]) lo[2] = z;
        if (z > hi[2]) hi[2] = z;
      }
    }
  }
  if (voxels === 0) throw new Error(label === null ? 'mesh: the result has no labelled voxel; nothing to mesh' : `mesh: label ${label} has no voxel in this result; nothing to mesh`);
  const size = [0, 1, 2].map((k) => hi[k] - lo[k] + 3); // + one voxel of background each side
  const out = new Uint8Array(352 + size[0] * size[1] * size[2]);
  out.set(src.subarray(0, 348));
  const o = new DataView(out.buffer);
  o.setInt16(40, 3, little);
  for (let k = 0; k < 7; k++) o.setInt16(42 + 2 * k, k < 3 ? size[k] : 1, little);
  o.setInt16(70, 2, little); // uint8
  o.setInt16(72, 8, little);
  o.setFloat32(108, 352, little);
  o.setFloat32(112, 1, little); // scl_slope
  o.setFloat32(116, 0, little);
  o.setFloat32(124, 0, little); // cal_max, cal_min
  o.setFloat32(128, 0, little);
  o.setInt16(68, 0, little); // intent: none
  o.setInt16(252, 0, little); // qform_code: niimath uses the sform
  const shift = [0, 1, 2].map((k) => lo[k] - 1);
  const affine = srow.map((row) => [row[0], row[1], row[2], row[3] + row[0] * shift[0] + row[1] * shift[1] + row[2] * shift[2]]);
  affine.forEach((row, r) => o.setFloat32(280 + 16 * r + 12, row[3], little));
  const body = out.subarray(352);
  for (let z = lo[2]; z <= hi[2]; z++) {
    for (let y = lo[1]; y <= hi[1]; y++) {
      const from = (z * ny + y) * nx;
      const to = ((z - lo[2] + 1) * size[1] + (y - lo[1] + 1)) * size[0] + 1;
      for (let x = lo[0]; x <= hi[0]; x++) body[to + x - lo[0]] = inside(data[from + x]) ? 1 : 0;
    }
  }
  return { bytes: out, voxels, dims: size, affine: [...affine, [0, 0, 0, 1]] };
}

/** Gunzip when the bytes start with gzip's magic number (niimath compresses mz3 at -q 1). */
export async function maybeGunzip(bytes) {
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * The triangles and vertices of an uncompressed mz3 (niimath's and Surf Ice's mesh format).
 * @param {Uint8Array} bytes
 * @returns {{positions: Float32Array, indices: Uint32Array}}
 */
export function readMz3(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 16 || view.getUint16(0, true) !== 0x5a4d) throw new Error('mesh: niimath did not write an mz3 mesh');
  const attr = view.getUint16(2, true);
  const nface = view.getUint32(4, true);
  const nvert = view.getUint32(8, true);
  const skip = view.getUint32(12, true);
  if (!(attr & 1) || !(attr & 2)) throw new Error('mesh: the mz3 mesh has no faces or no vertices');
  let at = 16 + skip;
  const need = at + nface * 12 + nvert * 12;
  if (bytes.length < need) throw new Error(`mesh: the mz3 mesh is ${bytes.length} bytes; its header says ${need}`);
  const indices = new Uint32Array(nface * 3);
  for (let i = 0; i < nface * 3; i++, at += 4) indices[i] = view.getInt32(at, true);
  const positions = new Float32Array(nvert * 3);
  for (let i = 0; i < nvert * 3; i++, at += 4) positions[i] = view.getFloat32(at, true);
  for (const index of indices) if (index >= nvert) throw new Error('mesh: an mz3 face names a vertex it does not have');
  return { positions, indices };
}

/** The signed volume the triangles enclose (mm^3; positive when wound outward). */
export function signedVolume(positions, indices) {
  const n = positions.length / 3;
  let cx = 0;
  let cy = 0;
  let cz = 0;
  for (let i = 0; i < n; i++) {
    cx += positions[3 * i];
    cy += positions[3 * i + 1];
    cz += positions[3 * i + 2];
  }
  [cx, cy, cz] = [cx / n, cy / n, cz / n];
  let sum = 0;
  for (let t = 0; t < indices.length; t += 3) {
    const [a, b, c] = [indices[t] * 3, indices[t + 1] * 3, indices[t + 2] * 3];
    const ax = positions[a] - cx; const ay = positions[a + 1] - cy; const az = positions[a + 2] - cz;
    const bx = positions[b] - cx; const by = positions[b + 1] - cy; const bz = positions[b + 2] - cz;
    const qx = positions[c] - cx; const qy = positions[c + 1] - cy; const qz = positions[c + 2] - cz;
    sum += ax * (by * qz - bz * qy) - ay * (bx * qz - bz * qx) + az * (bx * qy - by * qx);
  }
  return sum / 6;
}

/**
 * Connectivity checks, as py/meshseg/export/mesh/checks.py's topology: every undirected edge
 * used by exactly two triangles (closed), once each way (oriented), and each vertex's
 * triangles one fan (manifold).
 * @returns {{triangles: number, vertices: number, boundaryEdges: number, nonmanifoldEdges: number,
 *   misorientedEdges: number, nonmanifoldVertices: number, degenerate: number, closed: boolean,
 *   manifold: boolean, oriented: boolean}}
 */
export function meshTopology(positions, indices) {
  const nvert = positions.length / 3;
  const edges = new Map(); // key (low * nvert + high) -> [uses, forward uses]
  let degenerate = 0;
  for (let t = 0; t < indices.length; t += 3) {
    const tri = [indices[t], indices[t + 1], indices[t + 2]];
    if (tri[0] === tri[1] || tri[1] === tri[2] || tri[0] === tri[2]) degenerate += 1;
    for (let k = 0; k < 3; k++) {
      const a = tri[k];
      const b = tri[(k + 1) % 3];
      const key = Math.min(a, b) * nvert + Math.max(a, b);
      const entry = edges.get(key) ?? [0, 0];
      entry[0] += 1;
      if (a < b) entry[1] += 1;
      edges.set(key, entry);
    }
  }
  let boundaryEdges = 0;
  let nonmanifoldEdges = 0;
  let misorientedEdges = 0;
  for (const [uses, forward] of edges.values()) {
    if (uses === 1) boundaryEdges += 1;
    else if (uses > 2) nonmanifoldEdges += 1;
    else if (forward !== 1) misorientedEdges += 1;
  }
  const closed = indices.length > 0 && boundaryEdges === 0 && nonmanifoldEdges === 0 && degenerate === 0;
  const nonmanifoldVertices = closed ? countSplitFans(indices, nvert) : -1;
  return {
    triangles: indices.length / 3, vertices: nvert, edges: edges.size, boundaryEdges, nonmanifoldEdges,
    misorientedEdges, nonmanifoldVertices, degenerate,
    closed, manifold: closed && nonmanifoldVertices === 0, oriented: closed && misorientedEdges === 0,
  };
}

/** Vertices whose triangles form more than one fan (the link, the opposite edges, is split). */
function countSplitFans(indices, nvert) {
  // per vertex, union-find over its neighbours joined by the opposite edge of each triangle
  const start = new Uint32Array(nvert + 1);
  for (const v of indices) start[v + 1] += 2;
  for (let v = 0; v < nvert; v++) start[v + 1] += start[v];
  const link = new Uint32Array(indices.length * 2);
  const fill = start.slice(0, nvert);
  for (let t = 0; t < indices.length; t += 3) {
    for (let k = 0; k < 3; k++) {
      const v = indices[t + k];
      link[fill[v]++] = indices[t + ((k + 1) % 3)];
      link[fill[v]++] = indices[t + ((k + 2) % 3)];
    }
  }
  let split = 0;
  for (let v = 0; v < nvert; v++) {
    const parent = new Map();
    const find = (x) => {
      while (parent.get(x) !== x) {
        const up = parent.get(parent.get(x));
        parent.set(x, up);
        x = up;
      }
      return x;
    };
    for (let i = start[v]; i < start[v + 1]; i += 2) {
      const [p, q] = [link[i], link[i + 1]];
      if (!parent.has(p)) parent.set(p, p);
      if (!parent.has(q)) parent.set(q, q);
      parent.set(find(p), find(q));
    }
    let roots = 0;
    for (const [x, up] of parent) if (x === up) roots += 1;
    if (roots > 1) split += 1;
  }
  return split;
}

/** Reverse every triangle's winding, in place (a b c -> a c b). */
export function flipFaces(indices) {
  for (let t = 0; t < indices.length; t += 3) [indices[t + 1], indices[t + 2]] = [indices[t + 2], indices[t + 1]];
  return indices;
}

/** World bounds [[xmin, ymin, zmin], [xmax, ymax, zmax]] of the vertices. */
export function meshBounds(positions) {
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < positions.length; i++) {
    const k = i % 3;
    if (positions[i] < lo[k]) lo[k] = positions[i];
    if (positions[i] > hi[k]) hi[k] = positions[i];
  }
  return [lo, hi];
}

/** Binary STL (the CLI's layout): 80-byte header, count, per triangle normal, corners, 0. */
export function writeStl(positions, indices) {
  const count = indices.length / 3;
  const out = new ArrayBuffer(84 + 50 * count);
  const bytes = new Uint8Array(out);
  const header = new TextEncoder().encode(STL_HEADER.padEnd(80, ' '));
  bytes.set(header.subarray(0, 80));
  const view = new DataView(out);
  view.setUint32(80, count, true);
  let at = 84;
  for (let t = 0; t < indices.length; t += 3) {
    const p = [indices[t], indices[t + 1], indices[t + 2]].map((v) => [positions[3 * v], positions[3 * v + 1], positions[3 * v + 2]]);
    const u = [0, 1, 2].map((k) => p[1][k] - p[0][k]);
    const w = [0, 1, 2].map((k) => p[2][k] - p[0][k]);
    const normal = [u[1] * w[2] - u[2] * w[1], u[2] * w[0] - u[0] * w[2], u[0] * w[1] - u[1] * w[0]];
    const length = Math.hypot(...normal) || 1;
    for (const value of normal) { view.setFloat32(at, value / length, true); at += 4; }
    for (const corner of p) for (const value of corner) { view.setFloat32(at, value, true); at += 4; }
    view.setUint16(at, 0, true);
    at += 2;
  }
  return bytes;
}

/** Checked, outward-wound mesh of niimath's mz3 output; throws if it is not closed and manifold. */
export function checkedMesh(mz3) {
  const { positions, indices } = readMz3(mz3);
  const topology = meshTopology(positions, indices);
  if (!topology.closed || !topology.manifold || !topology.oriented) {
    throw new Error(`mesh: niimath's surface is not a closed manifold (${topology.boundaryEdges} open edges, ${topology.nonmanifoldEdges} edges of 3+ triangles, ${topology.nonmanifoldVertices} pinched vertices, ${topology.misorientedEdges} misoriented edges)`);
  }
  let volume = signedVolume(positions, indices);
  const flipped = volume < 0;
  if (flipped) {
    flipFaces(indices);
    volume = -volume;
  }
  return { positions, indices, topology, volume, flipped };
}

let niimath = null; // one worker for the page, loaded on the first mesh
let queue = Promise.resolve(); // niimath's worker answers one command at a time

/** niimath's ES module, worker and wasm from `<site>/vendor/niimath/` (no CDN). */
export function loadNiimath(siteBase = DEFAULT_BASE) {
  niimath ??= (async () => {
    const { Niimath } = await import(new URL('vendor/niimath/index.js', siteBase).href);
    const instance = new Niimath();
    await instance.init();
    // '-odt' of the volume output (unused by -mesh): the wrapper's default "float" is refused
    // by this build of niimath ("flt"); "input" is accepted by both, as brain2print sets it.
    instance.setOutputDataType('input');
    return instance;
  })().catch((error) => {
    niimath = null;
    throw new Error(`mesh: niimath's WebAssembly could not start (${error.message ?? error})`);
  });
  return niimath;
}

/**
 * The STL bytes of a label NIfTI's surface, and what was measured on the way.
 * @param {ArrayBuffer|Uint8Array} labelsNifti
 * @param {{label?: number|null, siteBase?: string}} [how]
 */
export async function meshLabels(labelsNifti, { label = null, siteBase = DEFAULT_BASE } = {}) {
  const started = performance.now();
  const mask = binaryMaskNifti(labelsNifti, label);
  const tool = await loadNiimath(siteBase);
  const loaded = performance.now();
  const run = queue.then(async () => {
    const processor = tool.image(new File([mask.bytes], 'meshseg-mask.nii'));
    processor.commands.push(...NIIMATH_MESH_ARGS);
    return new Uint8Array(await (await processor.run('meshseg-mesh.mz3')).arrayBuffer());
  });
  queue = run.catch(() => {});
  const mz3 = await maybeGunzip(await run);
  const meshed = performance.now();
  const mesh = checkedMesh(mz3);
  const stl = writeStl(mesh.positions, mesh.indices);
  const done = performance.now();
  return {
    stl,
    stats: {
      voxels: mask.voxels, triangles: mesh.topology.triangles, vertices: mesh.topology.vertices,
      volumeMm3: mesh.volume, bounds: meshBounds(mesh.positions), flipped: mesh.flipped,
      closed: mesh.topology.closed, manifold: mesh.topology.manifold, bytes: stl.byteLength,
      ms: { load: loaded - started, niimath: meshed - loaded, total: done - started },
    },
  };
}

const made = new WeakMap(); // result -> its mesh promise (the download and the 3D view share it)

/**
 * The result's surface mesh as an STL download (all labels > 0).
 * @param {import('./index.js').ExportContext} context
 * @returns {Promise<{blob: Blob, filename: string, stl: Uint8Array, stats: object}>}
 */
export async function produce(context) {
  const { segmenter, scan, result, card } = context;
  if (!result?.labelsNifti) throw new Error('mesh: there is no label result to mesh');
  let pending = made.get(result);
  if (!pending) {
    pending = meshLabels(result.labelsNifti, { siteBase: segmenter?.assets?.base ?? DEFAULT_BASE });
    made.set(result, pending);
    pending.catch(() => made.delete(result));
  }
  const { stl, stats } = await pending;
  const filename = meshFileName(scan?.name ?? 'scan', card?.id ?? 'model');
  return { blob: new Blob([stl], { type: 'model/stl' }), filename, stl, stats };
}
