// One-line summary of a finished run: the scan's grid and the time each stage took.

/**
 * "256×256×256 voxels of 1×1×1 mm, LIA, uint8".
 * @param {{shape: number[], voxel_size_mm: number[], orientation: string|string[], dtype: string}} scanInfo
 * @returns {string}
 */
export function describeScan(scanInfo) {
  const size = (scanInfo.voxel_size_mm ?? scanInfo.voxel_size).map((value) => Number(value.toFixed(3))).join('×');
  const orientation = Array.isArray(scanInfo.orientation) ? scanInfo.orientation.join('') : scanInfo.orientation;
  return `${scanInfo.shape.join('×')} voxels of ${size} mm, ${orientation}, ${scanInfo.dtype}`;
}

/**
 * "load 0.3 s · conform 2.1 s · …" in the order the stages ran.
 * @param {Object<string, number>} timings - seconds per stage
 * @returns {string}
 */
export function describeTimings(timings) {
  return Object.entries(timings)
    .map(([stage, seconds]) => `${stage} ${seconds.toFixed(1)} s`)
    .join(' · ');
}

/**
 * Manage the summary paragraph.
 * @param {HTMLElement} element
 * @returns {{show: (result: object) => void, clear: () => void}}
 */
export function createRunSummary(element) {
  return {
    show(result) {
      const parts = [];
      if (result.scanInfo) {
        parts.push(`Scan: ${describeScan(result.scanInfo)}.`);
      }
      if (result.timings) {
        parts.push(`Time per stage: ${describeTimings(result.timings)}.`);
      }
      element.textContent = parts.join(' ');
      element.hidden = parts.length === 0;
    },
    clear() {
      element.textContent = '';
      element.hidden = true;
    },
  };
}
