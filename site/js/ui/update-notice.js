// "A new version is ready — reload": shown when a new deployment has been fully
// cached by the service worker and waits to take over (see js/pwa/register.js).

const MARKUP = 'A new version of MeshSeg is ready — '
  + '<button type="button" class="button secondary" data-testid="update-reload">Reload</button>';

/**
 * The notice element (`[data-testid="update-ready"]`, created at the top of
 * `<body>` when the page has none) and its reload button (`update-reload`).
 * @param {Document} root
 * @returns {{show: (onReload: () => void) => void, hide: () => void}}
 */
export function createUpdateNotice(root) {
  let element = root.querySelector('[data-testid="update-ready"]');
  if (!element) {
    element = root.createElement('div');
    element.className = 'update-notice';
    element.dataset.testid = 'update-ready';
    element.setAttribute('role', 'status');
    element.hidden = true;
    element.innerHTML = MARKUP;
    root.body.prepend(element);
  }
  const button = element.querySelector('[data-testid="update-reload"]');
  let handler = null;
  button.addEventListener('click', () => {
    button.disabled = true;
    handler?.();
  });
  return {
    show(onReload) {
      handler = onReload;
      button.disabled = false;
      element.hidden = false;
    },
    hide() {
      element.hidden = true;
    },
  };
}
