// The result's on-demand downloads (report, FreeSurfer stats, mesh, DICOM SEG): each button
// writes its file when pressed (js/export/), then hands it to the browser as a download.
// Errors are shown beside the buttons and passed on; nothing fails silently.

/**
 * @param {{buttons: HTMLButtonElement[], message: HTMLElement}} elements
 * @param {{produce: (format: string) => Promise<{blob: Blob, filename: string}>,
 *          available?: (format: string) => boolean, onError?: (error: Error) => void}} how
 * @returns {{show: () => void, clear: () => void}}
 */
export function createExports({ buttons, message }, { produce, available = () => true, onError }) {
  let generation = 0;

  function say(text, state) {
    message.textContent = text;
    message.dataset.state = state;
    message.hidden = !text;
  }

  async function download(button) {
    const format = button.dataset.format;
    const mine = generation;
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    say(`Writing the ${button.textContent.trim()}…`, 'busy');
    try {
      const { blob, filename } = await produce(format);
      if (mine !== generation) return;
      const url = URL.createObjectURL(blob);
      const anchor = document.createElement('a');
      anchor.href = url;
      anchor.download = filename;
      anchor.hidden = true;
      document.body.append(anchor);
      anchor.click();
      anchor.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      say(`Saved ${filename} (${(blob.size / 1024).toFixed(0)} KB).`, 'done');
    } catch (error) {
      if (mine !== generation) return;
      say(`${button.textContent.trim()}: ${error.message ?? error}`, 'error');
      onError?.(error);
    } finally {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  }

  for (const button of buttons) button.addEventListener('click', () => download(button));

  return {
    show() {
      generation += 1;
      say('', 'idle');
      for (const button of buttons) button.hidden = !available(button.dataset.format);
    },
    clear() {
      generation += 1;
      say('', 'idle');
    },
  };
}
