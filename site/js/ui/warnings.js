// The warning banner next to a result: what looks wrong about it and what to check.
// The result and its downloads stay available; the banner only says to look twice.

/**
 * Manage the warnings banner.
 * @param {HTMLElement} element a container with role=alert
 * @returns {{show: (warnings: string[]) => void, clear: () => void}}
 */
export function createWarnings(element) {
  function show(warnings) {
    const title = document.createElement('p');
    title.className = 'warnings-title';
    title.textContent = warnings.length === 1 ? 'Check this result:' : `Check this result (${warnings.length} warnings):`;
    const list = document.createElement('ul');
    list.append(...warnings.map((text) => {
      const item = document.createElement('li');
      item.textContent = text;
      return item;
    }));
    element.replaceChildren(title, list);
    element.hidden = warnings.length === 0;
  }
  return { show, clear: () => show([]) };
}
