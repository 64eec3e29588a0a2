// The compare workflow: B is a second model run on the open scan (no re-load: the worker's
// scan session answers load/conform and, for a shared pre-model, the pre-model box from its
// cache) or a reference label file resampled onto the scan's grid in Python. Python computes
// the table and the difference map (segmenter.compare); this module only routes the values
// to the compare panel and viewer.

import { stem } from './ui/downloads.js';
import { niftiVoxels } from './ui/voxel-order.js';

const GREY = [150, 150, 150];

/** Classes to colour a reference image: A's names where the values match, grey otherwise. */
export function referenceClasses(values, classesA) {
  const byIndex = new Map(classesA.map((cls) => [cls.index, cls]));
  return [0, ...values.filter((v) => v !== 0)].map((v) => byIndex.get(v) ?? { index: v, name: `label ${v}`, color: GREY });
}

/**
 * @param {object} app
 * @param {import('./api/segmenter.js').Segmenter} app.segmenter
 * @param {object} app.state the page state (scan, results, current, running, abort, comparison)
 * @param {object} app.parts the page parts (status, progress, compare, compareViewer, editor,
 *   runOptions: the page's segment options, used for B too)
 * @param {() => void} app.refresh @param {(error: Error) => void} app.fail
 */
export function createCompareFlow({ segmenter, state, parts, refresh, fail }) {
  const { status, progress } = parts;
  const cardOf = (id) => segmenter.models.find((card) => card.id === id);
  const titleOf = (card) => card.title ?? card.id;

  async function busy(message, work) {
    state.running = true;
    state.abort = new AbortController();
    refresh();
    status.set('running', message);
    try {
      await work(state.abort.signal);
    } catch (error) {
      progress.hide();
      if (error.kind === 'cancelled') status.set('idle', 'Cancelled.');
      else fail(error);
    } finally {
      state.running = false;
      state.abort = null;
      refresh();
    }
  }

  async function compareWith(b, classesB) {
    const resultA = state.results.get(state.current);
    const cardA = cardOf(state.current);
    const comparison = await segmenter.compare(state.scan, niftiVoxels(resultA.labelsNifti),
      niftiVoxels(b.labelsNifti), cardA.classes, classesB);
    const a = { bytes: resultA.labelsNifti, name: resultA.maskName, classes: cardA.classes, title: titleOf(cardA) };
    const shownB = { bytes: b.labelsNifti, name: b.name, classes: b.classes, title: b.title };
    state.comparison = { a, b: shownB, difference: { bytes: comparison.differenceNifti, name: 'difference.nii' }, value: comparison };
    parts.editor.stop();
    parts.compare.show(comparison, {
      nameA: a.title, nameB: b.title,
      csvName: `${stem(state.scan.name)}_${state.current}_vs_${stem(b.id)}_compare.csv`,
      maskB: b.mask ? { bytes: b.mask, name: b.maskName } : null,
    });
    await parts.compareViewer.show(parts.compare.mode, state.comparison);
    return comparison;
  }

  const all = (rows) => rows.find((row) => row.name === 'all labelled')?.dice;

  return {
    /** Run model `id` on the open scan as B and compare it with A. */
    runModel(id) {
      const card = cardOf(id);
      return busy(`Segmenting ${state.scan.name} with ${titleOf(card)} (B)…`, async (signal) => {
        progress.start(Boolean(card.pre_model));
        const onProgress = (update) => {
          progress.update(update);
          status.set('running', update.message);
        };
        const result = await segmenter.segment(state.scan, id, { options: parts.runOptions.options(), onProgress, signal });
        if (id !== state.current) state.results.set(id, result);
        const seconds = progress.finish();
        const comparison = await compareWith({
          id, title: titleOf(card), name: result.maskName, labelsNifti: result.labelsNifti,
          classes: card.classes, mask: result.mask, maskName: result.maskName,
        }, card.classes);
        const reused = result.reused?.length ? ` (reused: ${result.reused.join(', ')})` : '';
        status.set('done', `B (${titleOf(card)}) done in ${seconds.toFixed(1)} s${reused}. Dice of all labelled voxels: ${all(comparison.rows)}.`);
      });
    },
    /** Resample a reference label file onto the scan's grid as B and compare it with A. */
    loadReference(file) {
      return busy(`Reading the reference ${file.name}…`, async () => {
        progress.hide();
        const reference = await segmenter.reference(state.scan, file, file.name);
        const classes = referenceClasses(reference.values, cardOf(state.current).classes);
        const comparison = await compareWith({ id: file.name, title: file.name, name: file.name, labelsNifti: reference.labelsNifti, classes }, null);
        status.set('done', `Compared with the reference ${file.name}. Dice of all labelled voxels: ${all(comparison.rows)}.`);
      });
    },
    /** Show the comparison in another mode. */
    async setMode(mode) {
      if (!state.comparison) return;
      try {
        parts.editor.stop();
        await parts.compareViewer.show(mode, state.comparison);
      } catch (error) {
        fail(error);
      }
    },
  };
}
