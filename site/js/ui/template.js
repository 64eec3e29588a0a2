// The page's markup, rendered into <meshseg-app> (and so into index.html). Element ids are
// unique within one page: one <meshseg-app> per document.

export const APP_TEMPLATE = `
<div class="app">
  <header class="app-header">
    <h1>MeshSeg</h1>
    <p class="tagline">Brain MRI segmentation that runs entirely in your browser. Your scan never leaves this computer.</p>
  </header>

  <main class="layout">
    <section class="panel controls" aria-labelledby="input-heading">
      <h2 id="input-heading">1. Scan</h2>
      <div class="drop-zone" id="drop-zone" tabindex="0" role="button"
           aria-describedby="drop-hint" aria-label="Choose a scan file, or drop one here">
        <p class="drop-title">Drop a scan here or press to choose a file</p>
        <p class="drop-hint" id="drop-hint">NIfTI (.nii, .nii.gz) or FreeSurfer (.mgz, .mgh), or the files (or folder) of one DICOM series: one 3D T1-weighted volume.</p>
        <p class="drop-file" id="file-name" aria-live="polite"></p>
      </div>
      <label class="visually-hidden" for="file-input">Scan file</label>
      <input class="visually-hidden" type="file" id="file-input" data-testid="file-input"
             accept="">
      <button type="button" class="button secondary" id="example" data-testid="example">Try the example scan</button>

      <h2 id="model-heading">2. Model</h2>
      <label for="model-select">Segmentation model</label>
      <select id="model-select" data-testid="model-select" disabled>
        <option value="">Loading models…</option>
      </select>
      <div class="model-card" id="model-card" aria-live="polite"></div>
      <div class="own-model" id="own-model-panel"></div>

      <h2 id="run-heading">3. Run</h2>
      <p class="run-option">
        <input type="checkbox" id="tta" data-testid="tta">
        <label for="tta">Test-time augmentation (mirror; about twice the model time)</label>
      </p>
      <div class="actions">
        <button type="button" class="button primary" id="run" data-testid="run" disabled>Run segmentation</button>
        <button type="button" class="button secondary" id="cancel" data-testid="cancel" disabled>Cancel</button>
      </div>
      <p class="status" id="status" data-testid="status" data-state="loading"
         role="status" aria-live="polite">Starting…</p>
      <p class="quality" id="quality" data-testid="quality" data-flagged="false" hidden></p>
      <div class="progress" id="progress" hidden>
        <ol class="stages" id="stages" aria-label="Processing stages"></ol>
        <div class="progress-line">
          <progress id="progress-bar" max="1" aria-label="Stage progress"></progress>
          <span id="progress-percent"></span>
          <span class="elapsed" id="elapsed" aria-label="Elapsed time"></span>
        </div>
        <p class="progress-message" id="progress-message"></p>
      </div>
      <ul class="notices" id="notices" aria-label="Notices" hidden></ul>
    </section>

    <div class="main-column">
      <section class="panel view" aria-labelledby="view-heading">
        <h2 id="view-heading">Viewer</h2>
        <div class="viewer-pair">
          <div class="viewer" data-testid="viewer" id="viewer">
            <canvas id="viewer-canvas" aria-label="Scan viewer: three slices and a 3D rendering"></canvas>
            <p class="viewer-empty" id="viewer-message">Choose a scan to see it here.</p>
            <p class="viewer-caption" id="viewer-caption-a" hidden></p>
          </div>
          <div class="viewer" data-testid="viewer-b" id="viewer-b" hidden>
            <canvas id="viewer-b-canvas" aria-label="Second viewer: label image B, crosshair synced with the first"></canvas>
            <p class="viewer-caption" id="viewer-caption-b"></p>
          </div>
        </div>
        <ul class="difference-legend" id="difference-legend" data-testid="difference-legend" aria-label="Difference map colours" hidden></ul>
        <div class="viewer-tools">
          <label for="opacity">Label opacity</label>
          <input type="range" id="opacity" data-testid="opacity" min="0" max="1" step="0.05" value="0.5">
          <output id="opacity-value" for="opacity">50%</output>
          <p class="cursor-label" id="cursor-label" aria-live="off"></p>
        </div>
        <div class="edit-tools" aria-label="Mask editing">
          <button type="button" class="button secondary" id="edit-toggle" data-testid="edit-toggle" aria-pressed="false" disabled>Edit mask</button>
          <div class="edit-controls" id="edit-controls" hidden>
            <div class="tool-group" role="group" aria-label="Drawing tool">
              <button type="button" class="button secondary" id="edit-pen" data-testid="edit-pen" aria-pressed="true">Pen</button>
              <button type="button" class="button secondary" id="edit-eraser" data-testid="edit-eraser" aria-pressed="false">Eraser</button>
              <button type="button" class="button secondary" id="edit-fill" data-testid="edit-fill" aria-pressed="false">Fill (outline)</button>
            </div>
            <label for="edit-size">Brush</label>
            <input type="number" id="edit-size" data-testid="edit-size" min="1" max="25" step="1" value="1">
            <label for="edit-label">Label</label>
            <select id="edit-label" data-testid="edit-label"></select>
            <button type="button" class="button secondary" id="edit-undo" data-testid="edit-undo" disabled>Undo</button>
            <button type="button" class="button primary" id="edit-save" data-testid="edit-save">Save edited mask</button>
          </div>
          <a class="button secondary" id="download-edited" data-testid="download-edited" href="#" hidden>Download edited mask</a>
          <p class="edit-message" id="edit-message" aria-live="polite"></p>
        </div>
      </section>

      <section class="panel results" aria-labelledby="results-heading">
        <h2 id="results-heading">Results</h2>
        <div class="warnings" id="warnings" data-testid="warnings" role="alert" hidden></div>
        <details class="quality-details" id="quality-details" data-testid="quality-details" hidden></details>
        <p class="results-empty" id="results-empty">Volumes appear here after a run.</p>
        <table class="stats" data-testid="stats" id="stats" hidden>
          <caption id="stats-caption">Volume per label</caption>
          <thead>
            <tr><th scope="col">Label</th><th scope="col">Name</th><th scope="col" class="num">Voxels</th><th scope="col" class="num">mL</th></tr>
          </thead>
          <tbody></tbody>
          <tfoot></tfoot>
        </table>
        <div class="probability" id="probability" data-testid="probability" hidden></div>
        <p class="run-summary" id="run-summary" hidden></p>
        <div class="downloads" id="downloads" hidden>
          <a class="button secondary" id="download-mask" data-testid="download-mask" href="#">Download label mask</a>
          <a class="button secondary" id="download-csv" data-testid="download-csv" href="#">Volumes (CSV)</a>
          <a class="button secondary" id="download-json" data-testid="download-json" href="#">Volumes (JSON)</a>
          <button type="button" class="button secondary" id="download-report" data-testid="download-report" data-format="report">Report (HTML)</button>
          <button type="button" class="button secondary" id="download-stats" data-testid="download-stats" data-format="stats">FreeSurfer stats</button>
          <button type="button" class="button secondary" id="download-mesh" data-testid="download-mesh" data-format="mesh">Mesh (STL)</button>
          <button type="button" class="button secondary" id="show-mesh" data-testid="show-mesh" aria-pressed="false">Show mesh in 3D</button>
          <button type="button" class="button secondary" id="download-dicom-seg" data-testid="download-dicom-seg" data-format="dicom-seg" hidden>DICOM SEG</button>
          <p class="export-message" id="export-message" data-testid="export-message" role="status" hidden></p>
        </div>
      </section>

      <section class="panel compare" aria-labelledby="compare-heading">
        <h2 id="compare-heading">Compare</h2>
        <p class="compare-hint" id="compare-hint">Run a model first; then compare it (A) with a second model or a reference label image (B).</p>
        <div class="compare-sources">
          <div>
            <label for="compare-model">Model B (runs on the open scan)</label>
            <div class="actions">
              <select id="compare-model" data-testid="compare-model" disabled></select>
              <button type="button" class="button secondary" id="compare-run" data-testid="compare-run" disabled>Run and compare</button>
            </div>
          </div>
          <div>
            <label for="compare-reference">…or a reference label image B (NIfTI/MGZ, any grid)</label>
            <input type="file" id="compare-reference" data-testid="compare-reference" accept=".nii,.nii.gz,.mgz,.mgh,.gz" disabled>
          </div>
          <div>
            <label for="compare-mode">View</label>
            <select id="compare-mode" data-testid="compare-mode" disabled></select>
          </div>
        </div>
        <table class="stats compare-table" data-testid="compare-table" id="compare-table" hidden>
          <caption id="compare-caption"></caption>
          <thead>
            <tr><th scope="col">Label</th><th scope="col" class="num">A (mL)</th><th scope="col" class="num">B (mL)</th><th scope="col" class="num">B − A (mL)</th><th scope="col" class="num">Dice</th></tr>
          </thead>
          <tbody></tbody>
        </table>
        <div class="downloads" id="compare-downloads" hidden>
          <a class="button secondary" id="download-compare-csv" data-testid="download-compare-csv" href="#">Comparison (CSV)</a>
          <a class="button secondary" id="download-compare-mask" data-testid="download-compare-mask" href="#" hidden>Mask B</a>
        </div>
      </section>
    </div>
  </main>

  <section class="panel batch" id="batch" aria-labelledby="batch-heading"></section>

  <details class="panel about" id="about" data-testid="about">
    <summary>About this tool</summary>
    <p class="privacy">Private by design: your scan is read and segmented inside this browser tab. Nothing is uploaded.</p>
    <dl class="about-list" id="about-list"></dl>
    <h3>Models</h3>
    <ul class="about-models" id="about-models"></ul>
    <p class="disclaimer">For research and education. Not a medical device; not for diagnosis.</p>
  </details>
</div>
`;
