// Notices from the pipeline (e.g. "the scan was resampled to 1 mm"), shown as a plain list.

/**
 * Manage the notices list.
 * @param {HTMLUListElement} list
 * @returns {{show: (notices: string[]) => void, clear: () => void}}
 */
export function createNotices(list) {
  function show(notices) {
    list.replaceChildren(
      ...notices.map((notice) => {
        const item = document.createElement('li');
        item.textContent = typeof notice === 'string' ? notice : notice.message ?? JSON.stringify(notice);
        return item;
      }),
    );
    list.hidden = notices.length === 0;
  }
  return { show, clear: () => show([]) };
}
