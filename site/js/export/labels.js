// The label voxels of a result's uncompressed label NIfTI (uint8, NIfTI order): what
// segmenter.export and the JavaScript writers take.

const NIFTI1_HEADER = 348;
const NIFTI2_HEADER = 540;
const UINT8 = 2;

/**
 * The voxel bytes of an uncompressed NIfTI-1/2 label image (datatype uint8), as a view.
 * @param {ArrayBuffer|Uint8Array} nifti
 * @returns {Uint8Array}
 */
export function labelVoxels(nifti) {
  const bytes = nifti instanceof Uint8Array ? nifti : new Uint8Array(nifti);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sizeof = view.getInt32(0, true);
  const little = sizeof === NIFTI1_HEADER || sizeof === NIFTI2_HEADER;
  const header = little ? sizeof : view.getInt32(0, false);
  if (header !== NIFTI1_HEADER && header !== NIFTI2_HEADER) throw new Error('labels: not an uncompressed NIfTI image');
  const two = header === NIFTI2_HEADER;
  const datatype = view.getInt16(two ? 12 : 70, little);
  if (datatype !== UINT8) throw new Error(`labels: NIfTI datatype ${datatype}, expected uint8 (2)`);
  const offset = two ? Number(view.getBigInt64(168, little)) : Math.round(view.getFloat32(108, little));
  const dims = [1, 2, 3].map((axis) => (two ? Number(view.getBigInt64(16 + 8 * axis, little)) : view.getInt16(40 + 2 * axis, little)));
  const count = dims.reduce((a, b) => a * Math.max(1, b), 1);
  if (offset + count > bytes.byteLength) throw new Error('labels: the NIfTI image is shorter than its header says');
  return bytes.subarray(offset, offset + count);
}
