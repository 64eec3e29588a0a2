// The DICOM SEG download's confirm step: it is the one output that carries the source's
// patient data, so its button's first press only shows a notice saying so (data-testid
// dicom-seg-notice) and a second press downloads. The notice goes away, and the next
// download asks again, once the file is written or the button is hidden (another scan or
// result). No window.confirm dialog: the notice is part of the page.

/** What the page says before the download. */
export const PATIENT_NOTICE = 'This DICOM SEG carries the patient and study data of the source series (name, ID, birth date, study, as the series has them), so that a PACS files it with that series. It is the one download that is not anonymised: share it only where the series itself may go.';

/**
 * @param {HTMLButtonElement} button the download-dicom-seg button (js/ui/exports.js downloads on its click)
 * @returns {{armed: () => boolean, reset: () => void}}
 */
export function createDicomSegNotice(button) {
  const notice = document.createElement('p');
  notice.className = 'notices export-notice';
  notice.id = 'dicom-seg-notice';
  notice.dataset.testid = 'dicom-seg-notice';
  notice.setAttribute('role', 'alert');
  notice.hidden = true;
  notice.textContent = `${PATIENT_NOTICE} Press “${button.textContent.trim()}” again to download it.`;
  button.after(notice);
  button.setAttribute('aria-describedby', notice.id);
  let armed = false;

  function reset() {
    armed = false;
    notice.hidden = true;
  }

  // Capture phase on the button itself: runs before the download listener and can stop it.
  button.addEventListener('click', (event) => {
    if (!armed) {
      event.stopImmediatePropagation();
      armed = true;
      notice.hidden = false;
      return;
    }
    armed = false;
    setTimeout(() => { notice.hidden = true; }, 0); // after this press's download has started
  }, { capture: true });
  new MutationObserver(() => { if (button.hidden) reset(); }).observe(button, { attributes: true, attributeFilter: ['hidden'] });
  return { armed: () => armed, reset };
}
