// Probability outputs on the page: for two-class models a live threshold slider that
// re-thresholds the native-grid foreground probability (no model run) and re-measures the
// volume; for many-class models an uncertainty overlay (1 - confidence) that can be toggled
// and the share of labelled voxels under a confidence of 0.5; a download of the probability
// NIfTI. The panel builds its own controls inside `container`.

import { NVImage } from '../../niivue/index.js';

const DATATYPES = { 2: Uint8Array, 16: Float32Array };

/**
 * The voxels of an uncompressed NIfTI-1 (uint8 or float32), scaled by scl_slope/scl_inter,
 * and the volume of one voxel in mL.
 * @param {ArrayBuffer} buffer
 * @returns {{values: Float32Array|Uint8Array, slope: number, inter: number, voxelMl: number}}
 */
export function readNifti(buffer) {
  const view = new DataView(buffer);
  const little = view.getInt32(0, true) === 348;
  const datatype = view.getInt16(70, little);
  const dims = [1, 2, 3].map((i) => view.getInt16(40 + 2 * i, little));
  const pixdim = [1, 2, 3].map((i) => Math.abs(view.getFloat32(76 + 4 * i, little)));
  const offset = view.getFloat32(108, little);
  let slope = view.getFloat32(112, little);
  const inter = view.getFloat32(116, little) || 0;
  if (!slope) slope = 1;
  const Type = DATATYPES[datatype];
  if (!Type || !little) throw new Error(`unsupported probability NIfTI (datatype ${datatype})`);
  const count = dims[0] * dims[1] * dims[2];
  // A view, not a copy (a native-grid confidence map of a big scan is tens of MB); a copy only
  // where the offset does not suit the type's alignment.
  const values = offset % Type.BYTES_PER_ELEMENT === 0 ? new Type(buffer, offset, count)
    : new Type(buffer.slice(offset, offset + count * Type.BYTES_PER_ELEMENT));
  return { values, slope, inter, voxelMl: (pixdim[0] * pixdim[1] * pixdim[2]) / 1000 };
}

/** Voxels whose probability is at least `threshold`. */
export function countAtLeast(nifti, threshold) {
  const { values, slope, inter } = nifti;
  let count = 0;
  for (let i = 0; i < values.length; i += 1) {
    if (values[i] * slope + inter >= threshold) count += 1;
  }
  return count;
}

function element(tag, attributes = {}, text = '') {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text) node.textContent = text;
  return node;
}

/**
 * @param {object} parts
 * @param {HTMLElement} parts.container shown while a result has a probability output
 * @param {{show: Function}} parts.stats the stats table (re-shown with re-measured rows)
 * @param {{nv: object}} parts.viewer
 * @returns {{show: (result: object, card: object) => void, clear: () => void}}
 */
export function createProbabilityPanel({ container, stats, viewer }) {
  const thresholdRow = element('p', { class: 'probability-threshold' });
  const slider = element('input', { type: 'range', id: 'threshold', 'data-testid': 'threshold',
    min: '0.05', max: '0.95', step: '0.05', value: '0.5', 'aria-label': 'Probability threshold' });
  const value = element('output', { for: 'threshold', 'data-testid': 'threshold-value' }, '0.50');
  thresholdRow.append(element('label', { for: 'threshold' }, 'Threshold '), slider, ' ', value);

  const uncertaintyRow = element('p', { class: 'probability-uncertainty' });
  const toggle = element('input', { type: 'checkbox', id: 'uncertainty', 'data-testid': 'uncertainty' });
  uncertaintyRow.append(toggle, element('label', { for: 'uncertainty' }, ' Show uncertainty (1 − confidence)'));
  const share = element('p', { 'data-testid': 'low-confidence' });

  const download = element('a', { class: 'button secondary', 'data-testid': 'download-probability',
    href: '#' }, 'Download probability (NIfTI)');
  const modelGrid = element('a', { class: 'button secondary', 'data-testid': 'download-model-grid',
    href: '#' }, 'Download output on the model grid (NIfTI)');
  container.append(thresholdRow, uncertaintyRow, share, download, modelGrid);

  let state = null; // {result, card, nifti, url, overlay}

  function remeasure() {
    const level = Number(slider.value);
    value.textContent = level.toFixed(2);
    const { result, nifti } = state;
    const count = countAtLeast(nifti, level);
    const total = nifti.values.length;
    const rows = result.stats.map((row) => {
      if (row.label === 1) return { ...row, voxels: count, ml: count * nifti.voxelMl };
      if (row.label === 0) return { ...row, voxels: total - count, ml: (total - count) * nifti.voxelMl };
      return row;
    });
    if (!rows.some((row) => row.label === 1)) {
      rows.push({ label: 1, name: state.card.classes?.[1]?.name ?? 'foreground', voxels: count,
        ml: count * nifti.voxelMl });
    }
    stats.show(rows);
    container.dataset.threshold = String(level);
  }

  async function showUncertainty(on) {
    const nv = viewer.nv;
    if (state?.overlay) {
      nv.removeVolume(state.overlay);
      state.overlay = null;
    }
    if (!on || !state) return;
    const { nifti } = state;
    const bytes = state.result.probabilityNifti.slice(0);
    const offset = new DataView(bytes).getFloat32(108, true);
    const voxels = new Uint8Array(bytes, offset, nifti.values.length);
    for (let i = 0; i < voxels.length; i += 1) voxels[i] = 255 - voxels[i]; // 1 - confidence
    const image = await NVImage.loadFromUrl({ url: bytes, name: 'uncertainty.nii', colormap: 'warm',
      opacity: 0.7, cal_min: 0, cal_max: 1 });
    if (!toggle.checked || !state) return;
    state.overlay = image;
    nv.addVolume(image);
  }

  function show(result, card) {
    clear();
    if (result.modelImage) { // image-to-image: the output on the model grid as well
      const url = URL.createObjectURL(new Blob([result.modelImage], { type: 'application/gzip' }));
      state = { result, card, url, overlay: null };
      modelGrid.href = url;
      modelGrid.download = result.modelImageName;
      for (const part of [thresholdRow, uncertaintyRow, share, download]) part.hidden = true;
      modelGrid.hidden = false;
      container.hidden = false;
      return;
    }
    if (!result.probabilityNifti) return;
    modelGrid.hidden = true;
    download.hidden = false;
    const nifti = readNifti(result.probabilityNifti);
    const url = URL.createObjectURL(new Blob([result.probability], { type: 'application/gzip' }));
    state = { result, card, nifti, url, overlay: null };
    download.href = url;
    download.download = result.probabilityName;
    const foreground = result.probabilityMeaning === 'foreground';
    thresholdRow.hidden = !foreground;
    uncertaintyRow.hidden = foreground;
    share.hidden = foreground || !result.uncertainty;
    if (!foreground && result.uncertainty) {
      const percent = (100 * result.uncertainty.lowConfidenceShare).toFixed(1);
      share.textContent = `Labelled voxels with a confidence under ${result.uncertainty.below}: ${percent}%`;
    }
    container.dataset.meaning = result.probabilityMeaning;
    container.hidden = false;
  }

  function clear() {
    if (state?.url) URL.revokeObjectURL(state.url);
    if (state?.overlay) viewer.nv.removeVolume(state.overlay);
    state = null;
    slider.value = '0.5';
    value.textContent = '0.50';
    toggle.checked = false;
    container.hidden = true;
    delete container.dataset.threshold;
  }

  slider.addEventListener('input', () => { if (state) remeasure(); });
  toggle.addEventListener('change', () => {
    showUncertainty(toggle.checked).catch((error) => console.warn('meshseg: uncertainty overlay', error));
  });
  clear();
  return { show, clear };
}
