// DICOM series -> NIfTI bytes in the page: itk-wasm (@itk-wasm/dicom, served from this
// origin's vendor/itk/, loaded on first use) decodes the pixels of every transfer syntax;
// the geometry of enhanced files comes from their functional groups (dicom-header.js), as
// itk-wasm leaves enhanced frames in file order with unit spacing. The NIfTI written here
// carries geometry and voxels only, so no DICOM field reaches the worker or an output.

import { enhancedFrames } from './dicom-header.js';
import { affineFromItk, enhancedGeometry, niftiBytes, reorderSlices } from './nifti.js';

const modules = new Map();

/** The itk-wasm DICOM module, its pipelines and worker served from `vendorBase` (no CDN). */
export function loadItkDicom(vendorBase) {
  const base = new URL('itk/', vendorBase).href;
  if (!modules.has(base)) {
    modules.set(base, import(`${base}dicom.js`).then((itk) => {
      itk.setPipelinesBaseUrl(`${base}pipelines`);
      itk.setPipelineWorkerUrl(`${base}itk-wasm-pipeline.min.worker.js`);
      return itk;
    }));
  }
  return modules.get(base);
}

export class SeriesError extends Error {}

/**
 * Convert one series to an uncompressed NIfTI.
 * @param {{name: string, files: {path: string, blob: Blob, header: object}[]}} series
 * @param {{vendorBase: string|URL}} how
 * @returns {Promise<{bytes: ArrayBuffer, notices: string[]}>}
 */
export async function seriesToNifti(series, { vendorBase }) {
  const enhanced = series.files.filter((file) => file.header.enhanced);
  if (enhanced.length && (enhanced.length > 1 || series.files.length > 1)) {
    throw new SeriesError(`${series.name}: is a series of ${series.files.length} files with enhanced (multi-frame) images; only one enhanced file per series is supported.`);
  }
  const itk = await loadItkDicom(vendorBase);
  const inputImages = [];
  for (const [index, file] of series.files.entries()) {
    inputImages.push({ path: `s${index}.dcm`, data: new Uint8Array(await file.blob.arrayBuffer()) });
  }
  let image;
  let pool = null;
  try {
    const result = await itk.readImageDicomFileSeries({ inputImages, singleSortedSeries: false });
    image = result.outputImage;
    pool = result.webWorkerPool;
  } catch (error) {
    throw new SeriesError(`${series.name}: its pixel data could not be decoded (${plain(error)}).`);
  } finally {
    inputImages.length = 0;
    pool?.terminateWorkers?.();
  }
  if (image.imageType.components !== 1) {
    throw new SeriesError(`${series.name}: has ${image.imageType.components} components per voxel (colour?); a greyscale MR series is needed.`);
  }
  const [nx, ny, nz = 1] = image.size;
  const notices = [];
  let data = image.data;
  let affine;
  if (enhanced.length) {
    const frames = enhancedFrames(enhanced[0].header);
    if (frames.positions.length !== nz) {
      throw new SeriesError(`${series.name}: lists ${frames.positions.length} frame positions for ${nz} frames.`);
    }
    const geometry = enhancedGeometry(frames);
    data = reorderSlices(data, nx * ny, geometry.order);
    affine = geometry.affine;
    if (geometry.uneven) notices.push(`${series.name}: its slices are unevenly spaced; the mean spacing is used.`);
    const { slope, intercept } = frames;
    if (((slope ?? 1) !== 1 || (intercept ?? 0) !== 0) && !(data instanceof Float32Array || data instanceof Float64Array)) {
      data = Float32Array.from(data, (v) => v * (slope ?? 1) + (intercept ?? 0));
    }
  } else {
    affine = affineFromItk({ origin: [...image.origin, 0, 0].slice(0, 3), spacing: [...image.spacing, 1].slice(0, 3), direction: direction3(image) });
  }
  const bytes = niftiBytes({ shape: [nx, ny, nz], affine, data });
  return { bytes, notices };
}

function direction3(image) {
  const d = Array.from(image.direction);
  if (d.length === 9) return d;
  // a 2D image (one slice): its in-plane directions, the third axis their normal
  return [d[0], d[1], 0, d[2], d[3], 0, 0, 0, 1];
}

function plain(error) {
  const text = error?.message ?? String(error);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
