// The "Show mesh in 3D" toggle beside the downloads: makes the result's surface mesh (the
// same one the mesh download saves, js/export/mesh.js) and shows it in the viewer's 3D view,
// or hides it again. Errors go to the downloads' message line.

import { hideMesh, showMesh } from './viewer.js';

/**
 * @param {{button: HTMLButtonElement, message: HTMLElement}} elements
 * @param {{viewer: object, produce: () => Promise<{stl: Uint8Array, filename: string}>,
 *          available?: () => boolean}} how
 * @returns {{show: () => void, clear: () => void}}
 */
export function createMeshToggle({ button, message }, { viewer, produce, available = () => true }) {
  let generation = 0;

  function set(shown) {
    button.setAttribute('aria-pressed', String(shown));
    button.textContent = shown ? 'Hide mesh' : 'Show mesh in 3D';
  }

  function say(text, state) {
    message.textContent = text;
    message.dataset.state = state;
    message.hidden = !text;
  }

  button.addEventListener('click', async () => {
    const mine = ++generation;
    if (button.getAttribute('aria-pressed') === 'true') {
      hideMesh(viewer);
      set(false);
      return;
    }
    button.disabled = true;
    say('Making the mesh for the 3D view…', 'busy');
    try {
      const { stl, filename } = await produce();
      if (mine !== generation) return;
      if (await showMesh(viewer, stl, filename)) {
        set(true);
        say(`Showing ${filename} in the 3D view.`, 'done');
      } else {
        say('The 3D view is not available in this browser; the mesh download still works.', 'error');
      }
    } catch (error) {
      if (mine === generation) say(`Mesh: ${error.message ?? error}`, 'error');
    } finally {
      button.disabled = false;
    }
  });

  return {
    show() {
      generation += 1;
      button.hidden = !available();
      set(false);
    },
    clear() {
      generation += 1;
      hideMesh(viewer);
      set(false);
    },
  };
}
