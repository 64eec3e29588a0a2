// The status line: one state (idle|loading|running|done|error) and a plain-words message.

const STATES = new Set(['idle', 'loading', 'running', 'done', 'error']);

/**
 * Manage the status element (role=status, aria-live=polite).
 * @param {HTMLElement} element - element whose data-state and text show the status
 * @returns {{set: (state: string, message: string) => void, state: () => string}}
 */
export function createStatus(element) {
  function set(state, message) {
    if (!STATES.has(state)) {
      throw new Error(`unknown status state: ${state}`);
    }
    element.dataset.state = state;
    element.textContent = message;
  }
  return { set, state: () => element.dataset.state };
}

/**
 * The message to show for an error thrown by the segmenter (its message is user-ready).
 * Adds the file name in front when the message does not already name it.
 * @param {{message: string, file?: string|null, filename?: string}} error
 * @returns {string}
 */
export function errorText(error) {
  const message = error.message || String(error);
  const file = error.file ?? error.filename;
  if (file && !message.includes(file)) {
    return `${file}: ${message}`;
  }
  return message;
}
