// Mask editing with NiiVue's drawing layer: pen, eraser, filled pen, brush size, label chooser
// (names from the model card), undo. The drawing starts as a copy of the result's labels; the
// result itself is never changed. Saving hands the labels (NIfTI order) to `onSave`, which goes
// through segmenter.save (meshseg.label_image: the scan's grid, anonymised, intent LABEL).

import { labelColormap } from './viewer.js';
import { nativeToRas, niftiVoxels, rasLayout, rasToNative } from './voxel-order.js';

const TOOLS = ['pen', 'eraser', 'fill'];

/**
 * @param {object} el
 * @param {HTMLButtonElement} el.toggle @param {HTMLElement} el.tools shown while editing
 * @param {HTMLButtonElement} el.pen @param {HTMLButtonElement} el.eraser @param {HTMLButtonElement} el.fill
 * @param {HTMLInputElement} el.size @param {HTMLSelectElement} el.label
 * @param {HTMLButtonElement} el.undo @param {HTMLButtonElement} el.save
 * @param {HTMLAnchorElement} el.download @param {HTMLElement} el.message
 * @param {object} how
 * @param {import('../../niivue/index.js').Niivue} how.nv the page's viewer
 * @param {(labels: Uint8Array) => Promise<{maskName: string, mask: ArrayBuffer}>} how.onSave
 * @param {(editing: boolean) => void} [how.onToggle] before editing starts / after it stops
 * @param {(error: Error) => void} how.onError
 */
export function createMaskEditor(el, { nv, onSave, onToggle, onError }) {
  let target = null; // {labelsNifti, classes, title}
  let editing = false;
  let tool = 'pen';
  let undoDepth = 0;
  let overlayOpacity = null;
  let url = null;

  function refresh() {
    el.toggle.disabled = !target;
    el.toggle.setAttribute('aria-pressed', String(editing));
    el.toggle.textContent = editing ? 'Stop editing (discard unsaved)' : 'Edit mask';
    el.tools.hidden = !editing;
    el.undo.disabled = undoDepth === 0;
    for (const name of TOOLS) el[name].setAttribute('aria-pressed', String(name === tool));
  }

  function applyPen() {
    const value = Number(el.label.value);
    if (tool === 'eraser') nv.setPenValue(0, false);
    else nv.setPenValue(value, tool === 'fill');
    nv.opts.penSize = Math.max(1, Math.round(Number(el.size.value) || 1));
  }

  function setTool(name) {
    tool = name;
    applyPen();
    refresh();
  }

  nv.onDrawingChanged = (action) => {
    if (!editing) return;
    if (action === 'draw') undoDepth = Math.min(undoDepth + 1, nv.opts.maxDrawUndoBitmaps - 1);
    el.message.textContent = undoDepth ? 'Unsaved edits.' : 'No edits.';
    refresh();
  };

  function start() {
    if (!target || nv.volumes.length === 0) throw new Error('run a model first: there is no mask to edit');
    const [, ...dims] = nv.volumes[0].hdr.dims;
    const voxels = dims.slice(0, 3).reduce((product, n) => product * n, 1);
    if (voxels !== niftiVoxels(target.labelsNifti).length) {
      throw new Error('This scan has more than 256³ voxels, so the viewer shows it at reduced resolution, '
        + 'where a drawing cannot be mapped to every voxel. Edit a copy resampled to about 1 mm.');
    }
    onToggle?.(true);
    const layout = rasLayout(nv.volumes[0]);
    const ras = nativeToRas(niftiVoxels(target.labelsNifti), layout);
    el.label.replaceChildren(...target.classes.filter((cls) => cls.index !== 0)
      .map((cls) => new Option(`${cls.index} ${cls.name}`, String(cls.index))));
    nv.setDrawingEnabled(true);
    nv.setDrawColormap(labelColormap(target.classes));
    nv.drawBitmap = ras;
    nv.drawClearAllUndoBitmaps();
    nv.drawAddUndoBitmap();
    nv.refreshDrawing(true);
    nv.setDrawOpacity(0.8);
    if (nv.volumes[1]) {
      overlayOpacity = nv.volumes[1].opacity;
      nv.setOpacity(1, 0);
    }
    editing = true;
    undoDepth = 0;
    el.message.textContent = `Editing the ${target.title} mask: drag on a slice to paint.`;
    setTool('pen');
  }

  function stop() {
    if (!editing) return;
    editing = false;
    undoDepth = 0;
    nv.setDrawingEnabled(false);
    nv.closeDrawing();
    if (nv.volumes[1] && overlayOpacity !== null) nv.setOpacity(1, overlayOpacity);
    overlayOpacity = null;
    el.message.textContent = '';
    refresh();
    onToggle?.(false);
  }

  /** The drawing's labels in NIfTI order (the scan's grid). */
  function labels() {
    if (!editing || !nv.drawBitmap) throw new Error('not editing');
    return rasToNative(nv.drawBitmap, rasLayout(nv.volumes[0]));
  }

  async function save() {
    el.save.disabled = true;
    el.message.textContent = 'Saving the edited mask…';
    try {
      const saved = await onSave(labels());
      if (url) URL.revokeObjectURL(url);
      url = URL.createObjectURL(new Blob([saved.mask], { type: 'application/gzip' }));
      Object.assign(el.download, { href: url, download: saved.maskName, textContent: `Download edited mask (${saved.maskName})` });
      el.download.hidden = false;
      el.message.textContent = `Saved as ${saved.maskName}; the volumes above are of the edited mask.`;
    } catch (error) {
      el.message.textContent = `Saving failed: ${error.message}`;
      onError(error);
    } finally {
      el.save.disabled = false;
    }
  }

  const guard = (action) => () => {
    try {
      action();
    } catch (error) {
      el.message.textContent = error.message;
      onError(error);
    }
  };
  el.toggle.addEventListener('click', guard(() => (editing ? stop() : start())));
  for (const name of TOOLS) el[name].addEventListener('click', guard(() => setTool(name)));
  el.size.addEventListener('input', guard(applyPen));
  el.label.addEventListener('change', guard(() => setTool(tool === 'eraser' ? 'pen' : tool)));
  el.undo.addEventListener('click', guard(() => {
    if (undoDepth === 0) return;
    undoDepth -= 1;
    nv.drawUndo();
  }));
  el.save.addEventListener('click', save);
  refresh();

  return {
    get editing() {
      return editing;
    },
    labels,
    /** The mask to edit ({labelsNifti, classes, title}), or null; stops editing. */
    setTarget(next) {
      stop();
      target = next;
      if (url) URL.revokeObjectURL(url);
      url = null;
      el.download.hidden = true;
      el.download.removeAttribute('href');
      refresh();
    },
    stop,
  };
}
