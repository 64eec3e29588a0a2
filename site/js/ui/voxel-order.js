// Label voxels between NiiVue's drawing bitmap and MeshSeg's wire format. Pure functions.
//
// MeshSeg sends label voxels as uint8 bytes in NIfTI order (first axis fastest), i.e. the voxel
// data of an uncompressed NIfTI on the scan's grid. NiiVue keeps its drawing bitmap in the
// background volume's RAS-reoriented order: RAS voxel (rx, ry, rz), x fastest, sits at native
// index start[0] + rx*step[0] + start[1] + ry*step[1] + start[2] + rz*step[2], with
// step/start = nvImage.img2RASstep/img2RASstart (NiiVue's own saveImage({isSaveDrawing}) uses
// the same loop to write a drawing back in native order).

/**
 * The reorientation of a NiiVue volume: what the two conversions need.
 * @param {{hdr: {dims: number[]}, dimsRAS: number[], img2RASstep: number[], img2RASstart: number[]}} nvImage
 * @returns {{nVox: number, dimsRAS: number[], step: number[], start: number[]}}
 */
export function rasLayout(nvImage) {
  const { hdr, dimsRAS, img2RASstep, img2RASstart } = nvImage;
  if (!dimsRAS || !img2RASstep || !img2RASstart) throw new Error('the viewer has not oriented the scan yet');
  return {
    nVox: hdr.dims[1] * hdr.dims[2] * hdr.dims[3],
    dimsRAS: [dimsRAS[1], dimsRAS[2], dimsRAS[3]],
    step: [...img2RASstep],
    start: [...img2RASstart],
  };
}

function eachVoxel({ nVox, dimsRAS, step, start }, length, visit) {
  const [nx, ny, nz] = dimsRAS;
  if (nx * ny * nz !== nVox) throw new Error(`RAS grid ${nx}x${ny}x${nz} does not hold ${nVox} voxels`);
  if (length !== nVox) throw new Error(`${length} voxels given; the scan has ${nVox}`);
  let ras = 0;
  for (let z = 0; z < nz; z++) {
    const zi = start[2] + z * step[2];
    for (let y = 0; y < ny; y++) {
      const yi = zi + start[1] + y * step[1];
      for (let x = 0; x < nx; x++) {
        visit(ras, yi + start[0] + x * step[0]);
        ras += 1;
      }
    }
  }
}

/**
 * A drawing bitmap (RAS order) as label voxels in NIfTI order.
 * @param {Uint8Array} ras
 * @param {ReturnType<typeof rasLayout>} layout
 * @returns {Uint8Array}
 */
export function rasToNative(ras, layout) {
  const native = new Uint8Array(layout.nVox);
  eachVoxel(layout, ras.length, (r, n) => { native[n] = ras[r]; });
  return native;
}

/**
 * Label voxels in NIfTI order as a drawing bitmap (RAS order).
 * @param {Uint8Array} native
 * @param {ReturnType<typeof rasLayout>} layout
 * @returns {Uint8Array}
 */
export function nativeToRas(native, layout) {
  const ras = new Uint8Array(layout.nVox);
  eachVoxel(layout, native.length, (r, n) => { ras[r] = native[n]; });
  return ras;
}

/**
 * The voxel bytes of an uncompressed little-endian NIfTI-1 uint8 image (from vox_offset on).
 * @param {ArrayBuffer|Uint8Array} nifti
 * @returns {Uint8Array} a view, not a copy
 */
export function niftiVoxels(nifti) {
  const bytes = nifti instanceof Uint8Array ? nifti : new Uint8Array(nifti);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 352 || view.getInt32(0, true) !== 348) throw new Error('not an uncompressed little-endian NIfTI-1 image');
  const dims = [1, 2, 3].map((i) => view.getInt16(40 + 2 * i, true));
  const datatype = view.getInt16(70, true);
  if (datatype !== 2) throw new Error(`label image of NIfTI datatype ${datatype}; uint8 (2) expected`);
  const offset = Math.round(view.getFloat32(108, true));
  const nVox = dims[0] * dims[1] * dims[2];
  if (offset + nVox > bytes.byteLength) throw new Error('the label image is shorter than its header says');
  return bytes.subarray(offset, offset + nVox);
}

/** How many positions differ between two equally long arrays. */
export function countDifferences(a, b) {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} and ${b.length}`);
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n += 1;
  return n;
}
