// Scan input: file picker, keyboard-usable drop zone, and the example scan button.
//
// One NIfTI/MGZ file is read as it is. A DICOM series (several files chosen together, or a
// dropped folder) is grouped and converted to NIfTI in the page as the batch does it
// (js/batch/inputs.js groups files by SeriesInstanceUID, js/batch/dicom.js converts them;
// both loaded only when a DICOM file is seen): the NIfTI holds geometry and voxels only,
// and the series' files stay with the scan as its source ({kind: 'dicom', files}) for the
// DICOM SEG download, the one output that references them.

/**
 * Read a File into the {name, bytes} shape the segmenter takes.
 * @param {File} file
 * @returns {Promise<{name: string, bytes: ArrayBuffer}>}
 */
export async function readFile(file) {
  return { name: file.name, bytes: await file.arrayBuffer() };
}

/**
 * Fetch the example scan from the same origin.
 * @param {string|URL} url
 * @returns {Promise<{name: string, bytes: ArrayBuffer}>}
 */
export async function fetchExample(url) {
  const response = await fetch(url);
  if (!response.ok) {
    throw new Error(`The example scan could not be loaded (HTTP ${response.status}).`);
  }
  const name = new URL(url, document.baseURI).pathname.split('/').pop();
  return { name, bytes: await response.arrayBuffer() };
}

async function startsLikeDicom(blob) {
  const head = new Uint8Array(await blob.slice(0, 132).arrayBuffer());
  return head.length === 132 && head[128] === 0x44 && head[129] === 0x49 && head[130] === 0x43 && head[131] === 0x4D;
}

/**
 * The one scan in `sources` ({path, blob}[]: chosen files or a dropped folder's files):
 * a single non-DICOM file, or one DICOM series converted to NIfTI.
 * @param {{path: string, blob: Blob}[]} sources
 * @param {{vendorBase: string|URL, onProgress?: (text: string) => void}} how
 * @returns {Promise<{name: string, bytes: ArrayBuffer, label?: string, notices?: string[],
 *   source?: {kind: 'dicom', name: string, files: Blob[]}}>}
 */
export async function readSources(sources, { vendorBase, onProgress }) {
  if (sources.length === 1 && !(await startsLikeDicom(sources[0].blob))) {
    const { path, blob } = sources[0];
    return { name: path.split('/').pop(), bytes: await blob.arrayBuffer() };
  }
  const [{ expandSources }, { seriesToNifti }] = await Promise.all([import('../batch/inputs.js'), import('../batch/dicom.js')]);
  const items = await expandSources(sources, { vendorBase, onProgress });
  const series = items.filter((item) => item.kind === 'dicom');
  const files = items.filter((item) => item.kind === 'file');
  if (series.length === 0 && files.length === 1) return readSources([files[0].source], { vendorBase, onProgress });
  if (series.length !== 1 || files.length) {
    const listed = [...series, ...files].map((item) => (item.kind === 'dicom' ? `DICOM series ${item.name} (${item.files} files)` : item.input));
    const unreadable = items.find((item) => item.kind === 'error');
    if (!listed.length) throw new Error(unreadable ? unreadable.error : 'No scan found among the files given.');
    throw new Error(`The files given hold ${listed.length} scans (${listed.slice(0, 6).join('; ')}${listed.length > 6 ? '; …' : ''}); the page opens one scan at a time: one NIfTI/MGZ file, or the files (or folder) of one DICOM series. Use "Several scans (batch)" for all of them.`);
  }
  const [item] = series;
  onProgress?.(`Decoding ${item.files} DICOM file${item.files === 1 ? '' : 's'}…`);
  const { bytes, notices } = await seriesToNifti(item.series, { vendorBase });
  return {
    name: `${item.name}.nii`,
    label: `${item.name} (DICOM series, ${item.files} file${item.files === 1 ? '' : 's'})`,
    bytes, notices,
    source: { kind: 'dicom', name: item.name, files: item.series.files.map((file) => file.blob) },
  };
}

/**
 * Wire the scan inputs. Each chosen file (or DICOM series) is read and handed to onFile.
 * @param {object} elements
 * @param {HTMLElement} elements.zone - the drop zone (role=button, tabindex=0)
 * @param {HTMLInputElement} elements.input - the file input
 * @param {HTMLButtonElement} elements.example - the "Try the example" button
 * @param {HTMLElement} elements.fileName - where the chosen file name is shown
 * @param {object} handlers
 * @param {(file: {name: string, bytes: ArrayBuffer, source?: object, notices?: string[]}) => void} handlers.onFile
 * @param {(error: Error) => void} handlers.onError - reading failed
 * @param {string|URL} handlers.exampleUrl
 * @param {() => string|URL} [handlers.vendorBase] - where vendor/ (zip.js, itk-wasm) is served
 * @returns {{setEnabled: (enabled: boolean) => void}}
 */
export function createFileDrop({ zone, input, example, fileName }, { onFile, onError, exampleUrl, vendorBase = () => new URL('vendor/', document.baseURI) }) {
  let enabled = true;
  input.multiple = true; // the files of a DICOM series are chosen together
  if (input.accept && !input.accept.includes('.dcm')) input.accept += ',.dcm,application/dicom';

  async function take(load, label) {
    if (!enabled) {
      return;
    }
    fileName.textContent = `Reading ${label}…`;
    try {
      const file = await load();
      fileName.textContent = file.label ?? file.name;
      onFile(file);
    } catch (error) {
      fileName.textContent = '';
      onError(error);
    }
  }

  function takeSources(getSources, label) {
    take(async () => readSources(await getSources(), {
      vendorBase: vendorBase(), onProgress: (text) => { fileName.textContent = text; },
    }), label);
  }

  function takeFiles(files) {
    if (files.length === 1) {
      take(() => readSources([{ path: files[0].name, blob: files[0] }], { vendorBase: vendorBase() }), files[0].name);
    } else if (files.length > 1) {
      takeSources(() => files.map((file) => ({ path: file.webkitRelativePath || file.name, blob: file })), `${files.length} files`);
    }
  }

  input.addEventListener('change', () => {
    takeFiles([...input.files]);
    input.value = '';
  });
  zone.addEventListener('click', () => enabled && input.click());
  zone.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      if (enabled) {
        input.click();
      }
    }
  });
  zone.addEventListener('dragover', (event) => {
    event.preventDefault();
    zone.classList.toggle('dragging', enabled);
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('dragging'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('dragging');
    // Entries must be taken during the event; a dropped folder is walked afterwards.
    const entries = [...(event.dataTransfer.items ?? [])].map((item) => item.webkitGetAsEntry?.()).filter(Boolean);
    const files = [...event.dataTransfer.files];
    if (entries.some((entry) => entry.isDirectory)) {
      takeSources(async () => {
        const { sourcesOfDrop } = await import('../batch/inputs.js');
        return sourcesOfDrop({ entries, files });
      }, 'the dropped folder');
    } else {
      takeFiles(files);
    }
  });
  example.addEventListener('click', () => take(() => fetchExample(exampleUrl), 'the example scan'));

  return {
    setEnabled(value) {
      enabled = value;
      input.disabled = !value;
      example.disabled = !value;
      zone.setAttribute('aria-disabled', String(!value));
    },
  };
}
