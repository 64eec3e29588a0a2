// Scan input: file picker, keyboard-usable drop zone, and the example scan button.

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

/**
 * Wire the scan inputs. Each chosen file is read and handed to onFile.
 * @param {object} elements
 * @param {HTMLElement} elements.zone - the drop zone (role=button, tabindex=0)
 * @param {HTMLInputElement} elements.input - the file input
 * @param {HTMLButtonElement} elements.example - the "Try the example" button
 * @param {HTMLElement} elements.fileName - where the chosen file name is shown
 * @param {object} handlers
 * @param {(file: {name: string, bytes: ArrayBuffer}) => void} handlers.onFile
 * @param {(error: Error) => void} handlers.onError - reading failed
 * @param {string|URL} handlers.exampleUrl
 * @returns {{setEnabled: (enabled: boolean) => void}}
 */
export function createFileDrop({ zone, input, example, fileName }, { onFile, onError, exampleUrl }) {
  let enabled = true;

  async function take(load, label) {
    if (!enabled) {
      return;
    }
    fileName.textContent = `Reading ${label}…`;
    try {
      const file = await load();
      fileName.textContent = file.name;
      onFile(file);
    } catch (error) {
      fileName.textContent = '';
      onError(error);
    }
  }

  function takeFile(file) {
    if (file) {
      take(() => readFile(file), file.name);
    }
  }

  input.addEventListener('change', () => {
    takeFile(input.files[0]);
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
    takeFile(event.dataTransfer.files[0]);
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
