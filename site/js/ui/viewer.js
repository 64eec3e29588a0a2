// NiiVue viewer: the input scan (from the user's own bytes) in multiplanar + 3D render layout,
// the native-space label mask as an overlay coloured from the model card, an opacity slider,
// and the label name under the cursor.

import { MULTIPLANAR_TYPE, NVImage, Niivue, SHOW_RENDER } from '../../niivue/index.js';

/**
 * NiiVue label colormap ({R, G, B, A, I, labels}) from model card classes; background (0) clear.
 * @param {{index: number, name: string, color: number[]}[]} classes
 * @returns {{R: number[], G: number[], B: number[], A: number[], I: number[], labels: string[]}}
 */
export function labelColormap(classes) {
  const sorted = [...classes].sort((a, b) => a.index - b.index);
  return {
    R: sorted.map((cls) => cls.color[0]),
    G: sorted.map((cls) => cls.color[1]),
    B: sorted.map((cls) => cls.color[2]),
    A: sorted.map((cls) => (cls.index === 0 ? 0 : 255)),
    I: sorted.map((cls) => cls.index),
    labels: sorted.map((cls) => cls.name),
  };
}

/**
 * Resolve in a later task, so that the page can paint and handle input in between: reading a
 * volume (NiiVue scans every voxel for its range) and uploading it to the GPU are each a
 * main-thread task of 0.1-0.3 s for a 256 x 256 x 128 image, and together they blocked the page
 * for over 0.5 s.
 * @returns {Promise<void>}
 */
export function nextTask() {
  return globalThis.scheduler?.yield ? globalThis.scheduler.yield() : new Promise((resolve) => { setTimeout(resolve, 0); });
}

/**
 * Read a NIfTI into an NVImage in a task of its own (nextTask before and after), so that reading
 * it and adding it to the viewer (the GPU upload) never share one task.
 * @param {object} options NVImage.loadFromUrl options
 * @returns {Promise<NVImage>}
 */
async function readVolume(options) {
  await nextTask();
  const image = await NVImage.loadFromUrl(options);
  await nextTask();
  return image;
}

/**
 * Manage the viewer.
 * @param {object} elements
 * @param {HTMLCanvasElement} elements.canvas
 * @param {HTMLElement} elements.message - overlay text shown when there is nothing to draw
 * @param {HTMLInputElement} elements.opacity - range 0..1 for the label overlay
 * @param {HTMLOutputElement} elements.opacityValue
 * @param {HTMLElement} elements.cursorLabel - label name under the cursor
 * @returns {{nv: Niivue, ready: Promise<boolean>, showScan: Function, showLabels: Function, showOverlays: Function, clearLabels: Function, clear: Function}}
 */
export function createViewer({ canvas, message, opacity, opacityValue, cursorLabel }) {
  const nv = new Niivue({
    backColor: [0, 0, 0, 1],
    show3Dcrosshair: true,
    multiplanarShowRender: SHOW_RENDER.ALWAYS,
    multiplanarLayout: MULTIPLANAR_TYPE.GRID,
    dragAndDropEnabled: false,
    isResizeCanvas: true,
    logLevel: 'error',
  });
  let names = new Map();
  let generation = 0; // bumped when the scan changes: a scan still loading is dropped
  let layering = 0; // bumped when the overlays change: overlays still loading are dropped

  function say(text) {
    message.textContent = text;
    message.hidden = text === '';
  }

  const ready = nv.attachToCanvas(canvas).then(
    () => {
      nv.setSliceType(nv.sliceTypeMultiplanar);
      return true;
    },
    (error) => {
      say(`The viewer is not available in this browser (${error.message}). Segmentation and downloads still work.`);
      return false;
    },
  );

  function clearVolumes() {
    while (nv.volumes.length > 0) {
      nv.removeVolume(nv.volumes[nv.volumes.length - 1]);
    }
  }

  /** Everything but the scan. */
  function removeOverlays() {
    while (nv.volumes.length > 1) {
      nv.removeVolume(nv.volumes[1]);
    }
  }

  function labelAt(location) {
    const value = location.values?.[1]?.value;
    if (value === undefined || Number.isNaN(value)) {
      return '';
    }
    const index = Math.round(value);
    return `Label under cursor: ${index} ${names.get(index) ?? ''}`.trim();
  }

  nv.onLocationChange = (location) => {
    cursorLabel.textContent = labelAt(location);
  };

  opacity.addEventListener('input', () => {
    opacityValue.value = `${Math.round(Number(opacity.value) * 100)}%`;
    if (nv.volumes.length > 1) {
      nv.setOpacity(1, Number(opacity.value));
    }
  });

  /** Remove everything (a new scan is being checked). */
  async function clear() {
    generation += 1;
    layering += 1;
    if (!(await ready)) {
      return;
    }
    clearVolumes();
    cursorLabel.textContent = '';
    say('Choose a scan to see it here.');
  }

  /** Show a scan ({name, bytes}: an uncompressed NIfTI the worker has checked); the bytes are
   * handed over, not copied. Resolves false (with a message shown) if it cannot be drawn. */
  async function showScan(file) {
    if (!(await ready)) {
      return false;
    }
    const mine = ++generation;
    layering += 1;
    say('Loading the scan into the viewer…');
    cursorLabel.textContent = '';
    clearVolumes();
    try {
      const image = await readVolume({ url: file.bytes, name: file.name, colormap: 'gray' });
      if (mine !== generation) {
        return false;
      }
      nv.addVolume(image);
      say('');
      return true;
    } catch (error) {
      say(`The viewer cannot display ${file.name} (${error.message}). Segmentation may still work.`);
      return false;
    }
  }

  /** Overlay the label mask (native-space NIfTI bytes) with colours from the card classes. */
  function showLabels(bytes, name, classes) {
    return showOverlays([{ bytes, name, classes }]);
  }

  /**
   * Replace the overlays by label images ({bytes, name, classes, opacity?}; the first one's
   * names are shown under the cursor). Resolves false (with a message shown) if they cannot be drawn.
   */
  async function showOverlays(layers) {
    const mine = ++layering;
    if (!(await ready) || nv.volumes.length === 0) {
      return false;
    }
    removeOverlays();
    try {
      for (const layer of layers) {
        const image = await readVolume({ url: layer.bytes.slice(0), name: layer.name, opacity: layer.opacity ?? Number(opacity.value) });
        image.setColormapLabel(labelColormap(layer.classes));
        if (mine !== layering || nv.volumes.length === 0) {
          return false;
        }
        nv.addVolume(image);
      }
      names = new Map((layers[0]?.classes ?? []).map((cls) => [cls.index, cls.name]));
      return true;
    } catch (error) {
      say(`The viewer cannot overlay the labels (${error.message}). The downloads are complete.`);
      return false;
    }
  }

  /** Show an image-to-image model's output (float NIfTI on the scan's grid) over the scan. */
  async function showImage(bytes, name) {
    const mine = ++layering;
    if (!(await ready) || nv.volumes.length === 0) {
      return false;
    }
    removeOverlays();
    try {
      const image = await readVolume({ url: bytes.slice(0), name, colormap: 'hot', opacity: Number(opacity.value) });
      if (mine !== layering || nv.volumes.length === 0) {
        return false;
      }
      nv.addVolume(image);
      return true;
    } catch (error) {
      say(`The viewer cannot show the output image (${error.message}). The downloads are complete.`);
      return false;
    }
  }

  async function clearLabels() {
    layering += 1;
    if (!(await ready)) {
      return;
    }
    removeOverlays();
    cursorLabel.textContent = '';
  }

  /**
   * A PNG of the 3D render alone (for the report): the render view is drawn over the whole
   * canvas, without the crosshair, copied, and the layout restored in the same task, so the
   * page never shows it. Null when there is nothing to draw.
   * @returns {Promise<Uint8Array|null>}
   */
  async function snapshot3d() {
    if (!(await ready) || nv.volumes.length === 0) {
      return null;
    }
    const { sliceType, show3Dcrosshair } = nv.opts;
    let picture;
    try {
      nv.opts.show3Dcrosshair = false;
      nv.setSliceType(nv.sliceTypeRender); // draws at once
      picture = new Promise((resolve) => { canvas.toBlob(resolve, 'image/png'); }); // copied now
    } finally {
      nv.opts.show3Dcrosshair = show3Dcrosshair;
      nv.setSliceType(sliceType);
    }
    const blob = await picture;
    return blob ? new Uint8Array(await blob.arrayBuffer()) : null;
  }

  return { nv, ready, showScan, showLabels, showImage, showOverlays, clearLabels, clear, snapshot3d };
}

/**
 * Show a surface mesh in the viewer's 3D view (the render pane), replacing any mesh shown.
 * @param {{nv: Niivue, ready: Promise<boolean>}} viewer what createViewer returned
 * @param {Uint8Array|ArrayBuffer} bytes the mesh file (STL, OBJ, GIfTI or MZ3: by `name`'s extension)
 * @param {string} name
 * @returns {Promise<boolean>} false when the viewer is not available
 */
export async function showMesh(viewer, bytes, name) {
  if (!(await viewer.ready)) return false;
  hideMesh(viewer);
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const buffer = view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength); // a copy: NiiVue keeps it
  // In the 2D views only where the surface meets the slice (1 mm either side): the whole
  // mesh drawn over every slice would hide the scan.
  viewer.nv.opts.meshThicknessOn2D = 1;
  await viewer.nv.addMeshFromUrl({ url: name, name, buffer, rgba255: [255, 214, 170, 255] });
  return true;
}

/** Remove every mesh from the viewer. */
export function hideMesh(viewer) {
  while (viewer.nv.meshes.length > 0) viewer.nv.removeMesh(viewer.nv.meshes[viewer.nv.meshes.length - 1]);
}
