// DICOM geometry (LPS) -> NIfTI-1 (RAS) in pure functions: the header written here holds
// geometry and voxel type only (no description, no DICOM field), so nothing identifying
// can reach the worker or any output.

const DATATYPES = new Map([
  [Uint8Array, [2, 8]], [Int16Array, [4, 16]], [Int32Array, [8, 32]], [Float32Array, [16, 32]],
  [Float64Array, [64, 64]], [Int8Array, [256, 8]], [Uint16Array, [512, 16]], [Uint32Array, [768, 32]],
]);
const HEADER_BYTES = 352;

const cross = (a, b) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const dot = (a, b) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];

/**
 * The RAS voxel-to-world affine (4x4, rows) of an ITK image: `direction` is ITK's 3x3
 * matrix stored row by row (column k = direction of axis k, in LPS), `origin` in LPS mm.
 */
export function affineFromItk({ origin, spacing, direction }) {
  const affine = [];
  for (let r = 0; r < 3; r += 1) {
    const sign = r < 2 ? -1 : 1; // LPS -> RAS
    affine.push([0, 1, 2].map((k) => sign * direction[r * 3 + k] * spacing[k]).concat(sign * origin[r]));
  }
  affine.push([0, 0, 0, 1]);
  return affine;
}

/**
 * Sort the frames of an enhanced image along the slice normal and give its RAS affine.
 * @param {{positions: number[][], orientation: number[], spacing: number[], thickness?: number|null}} frames
 *   ImagePositionPatient per frame (in file order), ImageOrientationPatient, PixelSpacing
 * @returns {{order: number[], affine: number[][], uneven: boolean}} `order[k]`: the file frame of slice k
 */
export function enhancedGeometry({ positions, orientation, spacing, thickness = null }) {
  const row = orientation.slice(0, 3); // direction of increasing column index (i)
  const column = orientation.slice(3, 6); // direction of increasing row index (j)
  const normal = cross(row, column);
  const depth = positions.map((p) => dot(p, normal));
  const order = positions.map((_, k) => k).sort((a, b) => depth[a] - depth[b]);
  const first = positions[order[0]];
  const n = order.length;
  let step;
  if (n > 1) {
    const last = positions[order[n - 1]];
    step = [0, 1, 2].map((r) => (last[r] - first[r]) / (n - 1));
  } else {
    step = normal.map((v) => v * (thickness || 1));
  }
  const gaps = order.slice(1).map((k, i) => depth[k] - depth[order[i]]);
  const mean = gaps.length ? gaps.reduce((a, b) => a + b, 0) / gaps.length : 0;
  const uneven = gaps.some((gap) => Math.abs(gap - mean) > 0.01 * Math.abs(mean) || gap < 1e-3);
  const affine = [];
  for (let r = 0; r < 3; r += 1) {
    const sign = r < 2 ? -1 : 1;
    affine.push([sign * row[r] * spacing[1], sign * column[r] * spacing[0], sign * step[r], sign * first[r]]);
  }
  affine.push([0, 0, 0, 1]);
  return { order, affine, uneven };
}

/** `data` (slices in file order, each `sliceVoxels` long) with its slices put in `order`. */
export function reorderSlices(data, sliceVoxels, order) {
  const out = new data.constructor(data.length);
  order.forEach((from, to) => out.set(data.subarray(from * sliceVoxels, (from + 1) * sliceVoxels), to * sliceVoxels));
  return out;
}

/**
 * An uncompressed NIfTI-1 file (.nii) of a 3D volume.
 * @param {{shape: number[], affine: number[][], data: ArrayBufferView}} volume voxels in NIfTI
 *   order (first axis fastest); the affine is RAS, written as the sform (code 1, scanner)
 * @returns {ArrayBuffer}
 */
export function niftiBytes({ shape, affine, data }) {
  const type = DATATYPES.get(data.constructor);
  if (!type) throw new TypeError(`no NIfTI data type for ${data.constructor.name}`);
  const [nx, ny, nz] = shape;
  if (nx * ny * nz !== data.length) throw new RangeError(`shape ${shape} does not hold ${data.length} voxels`);
  const buffer = new ArrayBuffer(HEADER_BYTES + data.byteLength);
  const view = new DataView(buffer);
  view.setInt32(0, 348, true);
  [3, nx, ny, nz, 1, 1, 1, 1].forEach((v, i) => view.setInt16(40 + 2 * i, v, true));
  view.setInt16(70, type[0], true);
  view.setInt16(72, type[1], true);
  const zooms = [0, 1, 2].map((k) => Math.hypot(affine[0][k], affine[1][k], affine[2][k]));
  [1, ...zooms, 0, 0, 0, 0].forEach((v, i) => view.setFloat32(76 + 4 * i, v, true));
  view.setFloat32(108, HEADER_BYTES, true);
  view.setFloat32(112, 1, true); // scl_slope
  view.setUint8(123, 2 | 8); // mm, s
  view.setInt16(252, 0, true); // qform_code: the sform holds the geometry
  view.setInt16(254, 1, true); // sform_code: scanner
  for (let r = 0; r < 3; r += 1) {
    for (let c = 0; c < 4; c += 1) view.setFloat32(280 + 16 * r + 4 * c, affine[r][c], true);
  }
  [0x6E, 0x2B, 0x31, 0].forEach((v, i) => view.setUint8(344 + i, v));
  new Uint8Array(buffer, HEADER_BYTES).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return buffer;
}
