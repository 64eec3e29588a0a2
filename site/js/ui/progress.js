// Staged progress: the stage list with the current stage highlighted, message, percent, elapsed time.
// The stages come from py/meshseg/constants.py (generated into constants.js by build.py).

import { STAGES } from '../constants.js';

export { STAGES };

// Stages shown under another stage's item: preparing the ONNX model belongs to "Model".
const ALIASES = { model: 'inference' };
const SHOWN = STAGES.filter(([id]) => !(id in ALIASES));

/**
 * Format seconds as m:ss.
 * @param {number} seconds
 * @returns {string}
 */
export function formatElapsed(seconds) {
  const whole = Math.floor(seconds);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, '0')}`;
}

/**
 * Manage the progress panel.
 * @param {object} elements
 * @param {HTMLElement} elements.panel - container shown while a run is going
 * @param {HTMLOListElement} elements.stages - list filled with one item per stage
 * @param {HTMLProgressElement} elements.bar
 * @param {HTMLElement} elements.percent
 * @param {HTMLElement} elements.elapsed
 * @param {HTMLElement} elements.message
 * @returns {{start: (withPremodel: boolean) => void, update: (progress: {stage: string,
 *            message: string, fraction?: number}) => void, stop: () => number,
 *            hide: () => void, finish: () => number}}
 */
export function createProgress({ panel, stages, bar, percent, elapsed, message }) {
  const items = new Map(
    SHOWN.map(([id, label]) => {
      const item = document.createElement('li');
      item.dataset.stage = id;
      item.textContent = label;
      return [id, item];
    }),
  );
  stages.replaceChildren(...items.values());
  let startedAt = 0;
  let timer = null;

  function tick() {
    elapsed.textContent = formatElapsed((performance.now() - startedAt) / 1000);
  }

  function highlight(stage) {
    const order = SHOWN.map(([id]) => id);
    const position = order.indexOf(ALIASES[stage] ?? stage);
    if (stage && position < 0) {
      return;
    }
    for (const [index, id] of order.entries()) {
      const item = items.get(id);
      item.classList.toggle('done', position >= 0 && index < position);
      item.classList.toggle('current', index === position);
      item.toggleAttribute('aria-current', index === position);
    }
  }

  /** Show the panel and start the clock; the "Find brain" stage only for models with a pre-model. */
  function start(withPremodel) {
    stop();
    items.get('premodel').hidden = !withPremodel;
    panel.hidden = false;
    startedAt = performance.now();
    highlight('');
    message.textContent = '';
    percent.textContent = '';
    bar.removeAttribute('value');
    tick();
    timer = setInterval(tick, 500);
  }

  function update({ stage, message: text, fraction }) {
    highlight(stage);
    message.textContent = text ?? '';
    if (typeof fraction === 'number' && Number.isFinite(fraction)) {
      bar.value = Math.min(Math.max(fraction, 0), 1);
      percent.textContent = `${Math.round(bar.value * 100)}%`;
    } else {
      bar.removeAttribute('value');
      percent.textContent = '';
    }
  }

  /** Stop the clock; returns the elapsed seconds. */
  function stop() {
    if (timer !== null) {
      clearInterval(timer);
      timer = null;
      tick();
    }
    return startedAt ? (performance.now() - startedAt) / 1000 : 0;
  }

  return {
    start,
    update,
    stop,
    hide() {
      stop();
      panel.hidden = true;
    },
    finish() {
      const seconds = stop();
      for (const item of items.values()) {
        item.classList.remove('current');
        item.removeAttribute('aria-current');
        item.classList.add('done');
      }
      bar.value = 1;
      percent.textContent = '100%';
      message.textContent = `Finished in ${formatElapsed(seconds)}.`;
      return seconds;
    },
  };
}
