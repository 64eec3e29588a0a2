// MeshSeg's JavaScript API: private brain-MRI segmentation in a Web Worker.
//   import { createSegmenter } from './meshseg.js';
//   const segmenter = await createSegmenter({ provider: 'wasm' });
//   const scan = await segmenter.open(file);
//   const { mask, maskName, stats } = await segmenter.segment(scan, 'model5_gw_ae');
// See docs/embedding.md; types in js/types.js.

export { Scan, Segmenter, SegmenterError, createSegmenter } from './js/api/segmenter.js';
export { siteAssets } from './js/assets.js';
