// The run's segmentation options chosen on the page (meshseg.options.SegmentOptions):
// for now the test-time augmentation checkbox. Only options the user turned on are sent,
// so a run with the defaults sends none.

/**
 * @param {object} parts
 * @param {HTMLInputElement} parts.tta the "Test-time augmentation" checkbox (data-testid="tta")
 * @returns {{options: () => object|null, setEnabled: (enabled: boolean) => void}}
 */
export function createRunOptions({ tta }) {
  return {
    /** The `options` of a segment call: `{tta: true}` when checked, else null (the defaults). */
    options() {
      return tta.checked ? { tta: true } : null;
    },
    setEnabled(enabled) {
      tta.disabled = !enabled;
    },
  };
}
