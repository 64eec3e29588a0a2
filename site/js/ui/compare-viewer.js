// Compare views of label images A and B on the scan: side by side (a second NiiVue, crosshairs
// synced both ways with broadcastTo), overlaid (B over A), or the difference map (agree /
// only A / only B / different labels) coloured with DIFFERENCE_CLASSES from constants.js.

import { DIFFERENCE_CLASSES } from '../constants.js';
import { NVImage, Niivue } from '../../niivue/index.js';
import { labelColormap } from './viewer.js';

const SYNC = { '2d': true, '3d': true, crosshair: true, zoomPan: true, sliceType: true };

/**
 * @param {object} el
 * @param {ReturnType<import('./viewer.js').createViewer>} el.viewer the page's viewer (shows A)
 * @param {HTMLElement} el.pane the second viewer's box (hidden unless side by side)
 * @param {HTMLCanvasElement} el.canvas the second viewer's canvas
 * @param {HTMLElement} el.captionA @param {HTMLElement} el.captionB names shown on the two viewers
 * @param {HTMLElement} el.legend the difference map's colour key
 */
export function createCompareViewer({ viewer, pane, canvas, captionA, captionB, legend }) {
  let second = null; // {nv, ready}
  legend.replaceChildren(...DIFFERENCE_CLASSES.filter((cls) => cls.index !== 0).map((cls) => {
    const item = document.createElement('li');
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = `rgb(${cls.color.join(',')})`;
    item.append(swatch, cls.name);
    return item;
  }));

  function secondViewer() {
    if (!second) {
      const nv = new Niivue({ backColor: [0, 0, 0, 1], show3Dcrosshair: true, dragAndDropEnabled: false, isResizeCanvas: true, logLevel: 'error' });
      second = { nv, ready: nv.attachToCanvas(canvas).then(() => true) };
    }
    return second;
  }

  function unsync() {
    viewer.nv.broadcastTo([]);
    if (second) second.nv.broadcastTo([]);
  }

  async function showSide(b) {
    pane.hidden = false;
    const { nv, ready } = secondViewer();
    await ready;
    nv.resizeListener?.();
    while (nv.volumes.length > 0) nv.removeVolume(nv.volumes[nv.volumes.length - 1]);
    nv.addVolume(viewer.nv.volumes[0].clone());
    const overlay = viewer.nv.volumes[1];
    if (!overlay) throw new Error('the viewer has no label overlay to compare');
    const image = await NVImage.loadFromUrl({ url: b.bytes.slice(0), name: b.name, opacity: overlay.opacity });
    image.setColormapLabel(labelColormap(b.classes));
    nv.addVolume(image);
    nv.setSliceType(viewer.nv.opts.sliceType);
    nv.scene.crosshairPos = nv.mm2frac(viewer.nv.frac2mm(viewer.nv.scene.crosshairPos));
    viewer.nv.broadcastTo(nv, SYNC);
    nv.broadcastTo(viewer.nv, SYNC);
    nv.drawScene();
  }

  return {
    /** The second Niivue (side by side), or null before the first side-by-side view. */
    get nvB() {
      return second?.nv ?? null;
    },
    /**
     * Show A and B in `mode` ('side', 'overlay' or 'difference').
     * @param {string} mode
     * @param {{a: object, b: object, difference: {bytes: ArrayBuffer, name: string}}} images
     *   a and b: {bytes (uncompressed NIfTI), name, classes, title}
     */
    async show(mode, { a, b, difference }) {
      unsync();
      pane.hidden = true;
      legend.hidden = mode !== 'difference';
      captionA.textContent = mode === 'side' ? `A: ${a.title}` : mode === 'overlay' ? `A: ${a.title} · B (over A): ${b.title}` : `Difference: A ${a.title} · B ${b.title}`;
      captionB.textContent = `B: ${b.title}`;
      captionA.hidden = false;
      if (mode === 'difference') {
        await viewer.showOverlays([{ ...difference, classes: DIFFERENCE_CLASSES, opacity: 0.8 }]);
      } else if (mode === 'overlay') {
        await viewer.showOverlays([{ ...a, opacity: 0.45 }, { ...b, opacity: 0.45 }]);
      } else {
        await viewer.showOverlays([a]);
        await showSide(b);
      }
    },
    /**
     * An image model's output beside its input: A (the page's viewer) the scan, B the output,
     * crosshairs synced.
     * @param {{bytes: ArrayBuffer, name: string, title: string}} output uncompressed NIfTI
     * @param {string} inputTitle
     */
    async showImageBeside(output, inputTitle) {
      unsync();
      legend.hidden = true;
      captionA.textContent = `Input: ${inputTitle}`;
      captionB.textContent = `Output: ${output.title}`;
      captionA.hidden = false;
      await viewer.clearLabels();
      pane.hidden = false;
      const { nv, ready } = secondViewer();
      await ready;
      nv.resizeListener?.();
      while (nv.volumes.length > 0) nv.removeVolume(nv.volumes[nv.volumes.length - 1]);
      nv.addVolume(await NVImage.loadFromUrl({ url: output.bytes.slice(0), name: output.name, colormap: 'gray' }));
      nv.setSliceType(viewer.nv.opts.sliceType);
      nv.scene.crosshairPos = nv.mm2frac(viewer.nv.frac2mm(viewer.nv.scene.crosshairPos));
      viewer.nv.broadcastTo(nv, SYNC);
      nv.broadcastTo(viewer.nv, SYNC);
      nv.drawScene();
    },
    /** Back to the single viewer (the caller re-shows its labels). */
    reset() {
      unsync();
      pane.hidden = true;
      legend.hidden = true;
      captionA.hidden = true;
      captionA.textContent = '';
      if (second) while (second.nv.volumes.length > 0) second.nv.removeVolume(second.nv.volumes[second.nv.volumes.length - 1]);
    },
  };
}
