// DICOM Segmentation (SEG) of a result on a DICOM series input, written in the page. dcmjs
// (served from this origin's vendor/dcmjs/, loaded on first use) reads the source files'
// headers and encodes the Part 10 file; the SEG's attributes are set here as the CLI's
// highdicom writer sets them (py/meshseg/export/dicom_seg.py, docs/exports/dicom-seg.md):
//
// - it references the source series (its Study, Series and SOP Instance UIDs) and carries
//   the source's patient and study modules, so a PACS files it with the series (the page
//   says so before the download: js/ui/dicom-seg-notice.js; every other output stays
//   anonymised);
// - one segment per class of the model except background, numbered by label value, named
//   after the class, AUTOMATIC, algorithm "MeshSeg <model id>", codes from dicom-seg-tables.js;
// - BINARY frames on the source frames: each source frame's pixel centres (from its
//   ImagePositionPatient, ImageOrientationPatient and PixelSpacing) take the label of the
//   nearest voxel of the result's label image (its affine), so a native-space result is
//   copied voxel for voxel; frames without any pixel of a segment are left out.

import { labelVoxels } from './labels.js';
import { TABLES } from './dicom-seg-tables.js';

const SEGMENTATION_STORAGE = '1.2.840.10008.5.1.4.1.1.66.4';
const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
// A fixed UID of this writer (2.25: derived from a UUID, PS3.5 B.2).
const IMPLEMENTATION_CLASS_UID = '2.25.181367251412357064318806045463337512371';
const PIXEL_DATA = '7FE00010';
const AI = { CodeValue: '123110', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Artificial Intelligence' };
const SOURCE_PURPOSE = { CodeValue: '121322', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Source image for image processing operation' };
const SEGMENTATION_DERIVATION = { CodeValue: '113076', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Segmentation' };
const SEGMENT_NUMBER_POINTER = 0x0062000B; // (0062,000B) Referenced Segment Number
const SEGMENT_GROUP_POINTER = 0x0062000A; // (0062,000A) Segment Identification Sequence
const POSITION_POINTER = 0x00200032; // (0020,0032) Image Position (Patient)
const POSITION_GROUP_POINTER = 0x00209113; // (0020,9113) Plane Position Sequence

/** Why a SEG needs a DICOM series input (the CLI's ExportError says the same). */
export const NOT_A_SERIES = 'A DICOM SEG references the DICOM series it segments (its study, series and image UIDs, and its patient), and this scan is not a DICOM series (NIfTI/MGZ files carry none of that). Open the DICOM series itself to get a DICOM SEG; for this scan use the label mask.';

const loaded = new Map();

/** dcmjs's ES module, served from `vendorBase` (no CDN). */
export function loadDcmjs(vendorBase) {
  const url = new URL('dcmjs/dcmjs.es.js', vendorBase).href;
  if (!loaded.has(url)) loaded.set(url, import(url));
  return loaded.get(url);
}

/**
 * @param {import('./index.js').ExportContext} context `source`: {kind: 'dicom', files: (Blob|{blob: Blob})[]}
 * @returns {Promise<{blob: Blob, filename: string}>}
 */
export async function produce(context) {
  const { segmenter, scan, result, card, source, runtime } = context;
  if (source?.kind !== 'dicom' || !source.files?.length) throw new Error(NOT_A_SERIES);
  const dcmjs = await loadDcmjs(context.vendorBase ?? new URL('vendor/', segmenter.assets.base));
  const headers = [];
  for (const file of source.files) headers.push(readHeader(dcmjs, await (file.blob ?? file).arrayBuffer()));
  const bytes = writeSegmentation(dcmjs, {
    headers, labelsNifti: result.labelsNifti, card,
    version: segmenter.info?.meshseg ?? 'unknown', commit: runtime?.commit ?? '',
  });
  return { blob: new Blob([bytes], { type: 'application/dicom' }), filename: `${stem(scan?.name ?? source.name ?? 'series')}_${card.id}_seg.dcm` };
}

/**
 * The SEG of a page batch item (a DICOM series: item.series.files), for js/batch/item-exports.js.
 * @returns {Promise<Uint8Array>}
 */
export async function itemFile({ segmenter, result, card, item, runtime }) {
  if (item?.kind !== 'dicom') throw new Error(NOT_A_SERIES);
  const { blob } = await produce({ segmenter, scan: { name: item.name }, result, card, runtime, source: { kind: 'dicom', name: item.name, files: item.series.files } });
  return new Uint8Array(await blob.arrayBuffer());
}

/** The naturalized header (everything before the pixel data) of one DICOM file. */
export function readHeader(dcmjs, buffer) {
  const { DicomMessage, DicomMetaDictionary } = dcmjs.data;
  // Quiet while reading: dcmjs's validation log says "Invalid vr type xs - using US" for
  // every US-or-SS element of an implicit VR file (a normal case, decoded correctly).
  const validation = dcmjs.log?.getLogger?.('validation.dcmjs');
  const level = validation?.getLevel();
  validation?.setLevel('silent', false);
  try {
    const file = DicomMessage.readFile(buffer, { untilTag: PIXEL_DATA, includeUntilTagValue: false });
    return DicomMetaDictionary.naturalizeDataset(file.dict);
  } finally {
    validation?.setLevel(level, false);
  }
}

/**
 * The DICOM SEG of a label image on the frames of its source series.
 * @param {object} dcmjs the dcmjs module
 * @param {object} how
 * @param {object[]} how.headers naturalized headers of the series' files (readHeader)
 * @param {ArrayBuffer|Uint8Array} how.labelsNifti the result's uncompressed uint8 label NIfTI
 * @param {{id: string, title?: string, classes: {index: number, name: string, color?: number[]}[]}} how.card
 * @param {string} how.version MeshSeg's version
 * @param {string} [how.commit] the build's commit (the SEG's device serial number)
 * @param {Date} [how.now]
 * @returns {ArrayBuffer} the Part 10 file
 */
export function writeSegmentation(dcmjs, { headers, labelsNifti, card, version, commit = '', now = new Date() }) {
  const classes = card.classes ?? [];
  if (classes.length < 2) throw new Error(`model ${card.id} has no label classes, so there is no segmentation to write as DICOM SEG.`);
  const frames = sourceFrames(headers);
  const grid = niftiGrid(labelsNifti);
  const [rows, columns] = frames[0].shape;
  const labelled = labelsOnFrames(grid, frames);
  let high = 0;
  for (const value of grid.labels) if (value > high) high = value;
  if (high >= classes.length) throw new Error(`label ${high} is beyond model ${card.id}'s ${classes.length} classes.`);
  const order = positionOrder(frames);
  const positionIndex = new Map(order.map((frame, rank) => [frame, rank + 1]));
  const pixels = rows * columns;
  // One SEG frame per (segment, source frame holding that segment), segment by segment.
  const chosen = [];
  for (const cls of classes.slice(1)) {
    for (const frame of order) {
      const values = labelled.subarray(frame * pixels, (frame + 1) * pixels);
      if (values.includes(cls.index)) chosen.push({ segment: cls.index, frame });
    }
  }
  if (!chosen.length) chosen.push(...order.map((frame) => ({ segment: classes[1].index, frame }))); // empty: every frame, all zero
  const first = headers[0];
  const organization = uid();
  const dataset = {
    ...patientAndStudy(first),
    SOPClassUID: SEGMENTATION_STORAGE,
    SOPInstanceUID: uid(),
    InstanceCreationDate: dicomDate(now),
    InstanceCreationTime: dicomTime(now),
    ImageType: ['DERIVED', 'PRIMARY'],
    Modality: 'SEG',
    SeriesInstanceUID: uid(),
    SeriesNumber: seriesNumber(first.SeriesNumber),
    SeriesDescription: `MeshSeg ${card.id}`.slice(0, 64),
    InstanceNumber: 1,
    ContentDate: dicomDate(now),
    ContentTime: dicomTime(now),
    ContentLabel: 'MESHSEG',
    ContentDescription: `${card.title ?? card.id} (${card.id})`.slice(0, 64),
    ContentCreatorName: '',
    FrameOfReferenceUID: first.FrameOfReferenceUID,
    PositionReferenceIndicator: first.PositionReferenceIndicator ?? '',
    Manufacturer: 'MeshSeg',
    ManufacturerModelName: 'MeshSeg',
    DeviceSerialNumber: String(commit || 'none').slice(0, 16),
    SoftwareVersions: String(version),
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: rows,
    Columns: columns,
    BitsAllocated: 1,
    BitsStored: 1,
    HighBit: 0,
    PixelRepresentation: 0,
    LossyImageCompression: '00',
    SegmentationType: 'BINARY',
    SegmentsOverlap: 'NO',
    SegmentSequence: classes.slice(1).map((cls) => segmentItem(cls, card, version)),
    ReferencedSeriesSequence: [{
      SeriesInstanceUID: first.SeriesInstanceUID,
      ReferencedInstanceSequence: headers.map((ds) => ({ ReferencedSOPClassUID: ds.SOPClassUID, ReferencedSOPInstanceUID: ds.SOPInstanceUID })),
    }],
    DimensionOrganizationSequence: [{ DimensionOrganizationUID: organization }],
    DimensionIndexSequence: [
      { DimensionOrganizationUID: organization, DimensionIndexPointer: SEGMENT_NUMBER_POINTER, FunctionalGroupPointer: SEGMENT_GROUP_POINTER, DimensionDescriptionLabel: 'Referenced Segment Number' },
      { DimensionOrganizationUID: organization, DimensionIndexPointer: POSITION_POINTER, FunctionalGroupPointer: POSITION_GROUP_POINTER, DimensionDescriptionLabel: 'Image Position Patient' },
    ],
    NumberOfFrames: chosen.length,
    SharedFunctionalGroupsSequence: [sharedGroups(frames, first)],
    PerFrameFunctionalGroupsSequence: chosen.map(({ segment, frame }) => perFrameGroup(frames[frame], segment, positionIndex.get(frame))),
    PixelData: packFrames(labelled, chosen, pixels),
    _vrMap: { PixelData: 'OB' },
  };
  if (first.SpecificCharacterSet) dataset.SpecificCharacterSet = first.SpecificCharacterSet;
  return encode(dcmjs, dataset);
}

/** (category, type, laterality or null) of a class name, as meshseg.export.dicom_seg.segment_codes. */
export function segmentCodes(name) {
  let key = String(name).toLowerCase().replace(/[^a-z0-9]/g, '');
  let side = null;
  for (const [prefix, which] of [['left', TABLES.left], ['right', TABLES.right]]) {
    if (key.startsWith(prefix) && key.length > prefix.length) {
      key = key.slice(prefix.length);
      side = which;
    }
  }
  if (TABLES.codes[key]) return [...TABLES.codes[key], side];
  for (const [prefix, entry] of TABLES.prefixes) {
    if (key.startsWith(prefix) && key !== prefix) {
      const rest = key.slice(prefix.length);
      if (rest.startsWith('lh')) side = side ?? TABLES.left;
      else if (rest.startsWith('rh')) side = side ?? TABLES.right;
      return [...TABLES.codes[entry], side];
    }
  }
  const value = String(name).toUpperCase().replace(/[^A-Z0-9]/g, '').slice(0, 16) || 'UNNAMED';
  return [TABLES.structure, [value, TABLES.privateScheme, String(name).slice(0, 64)], side];
}

function code([CodeValue, CodingSchemeDesignator, CodeMeaning]) {
  return { CodeValue, CodingSchemeDesignator, CodeMeaning };
}

function segmentItem(cls, card, version) {
  const [category, type, side] = segmentCodes(cls.name);
  const typeItem = code(type);
  if (side) typeItem.SegmentedPropertyTypeModifierCodeSequence = [code(side)];
  const item = {
    SegmentNumber: cls.index,
    SegmentLabel: String(cls.name).slice(0, 64),
    SegmentDescription: `MeshSeg label ${cls.index}`,
    SegmentAlgorithmType: 'AUTOMATIC',
    SegmentAlgorithmName: `MeshSeg ${card.id}`.slice(0, 64),
    SegmentationAlgorithmIdentificationSequence: [{
      AlgorithmFamilyCodeSequence: [AI], AlgorithmName: `MeshSeg ${card.id}`.slice(0, 64),
      AlgorithmVersion: String(version), AlgorithmSource: 'MeshSeg',
    }],
    SegmentedPropertyCategoryCodeSequence: [code(category)],
    SegmentedPropertyTypeCodeSequence: [typeItem],
  };
  const lab = cieLab(cls.color);
  if (lab) item.RecommendedDisplayCIELabValue = lab;
  return item;
}

/** DICOM's scaled CIELab (L 0..65535, a and b shifted) of an sRGB colour, as highdicom computes it; null if out of range. */
export function cieLab(rgb) {
  if (!Array.isArray(rgb) || rgb.length !== 3 || rgb.some((v) => !(v >= 0 && v <= 255))) return null;
  const linear = rgb.map((v) => {
    const c = v / 255;
    return (c > 0.04045 ? ((c + 0.055) / 1.055) ** 2.4 : c / 12.92) * 100;
  });
  const [r, g, b] = linear;
  const xyz = [
    (r * 0.4124 + g * 0.3576 + b * 0.1805) / 95.047,
    (r * 0.2126 + g * 0.7152 + b * 0.0722) / 100.0,
    (r * 0.0193 + g * 0.1192 + b * 0.9505) / 108.883,
  ].map((c) => (c >= 8.85645167903563082e-3 ? c ** (1 / 3) : (841 / 108) * c + 4 / 29));
  const l = 116 * xyz[1] - 16;
  const a = 500 * (xyz[0] - xyz[1]);
  const bb = 200 * (xyz[1] - xyz[2]);
  if (l < 0 || l > 100 || a < -128 || a > 127 || bb < -128 || bb > 127) return null;
  return [Math.round((l * 0xFFFF) / 100), Math.round(((a + 128) * 0xFFFF) / 255), Math.round(((bb + 128) * 0xFFFF) / 255)];
}

const first = (value) => (Array.isArray(value) ? value[0] : value);

function groupValue(groups, sequence, keyword) {
  for (const group of groups) {
    const item = first(group?.[sequence]);
    if (item && item[keyword] !== undefined) return item[keyword];
  }
  return undefined;
}

/**
 * Every source frame's geometry and reference: classic files (one frame each) or one
 * enhanced multi-frame file (its functional groups).
 * @returns {{position: number[], orientation: number[], spacing: number[], shape: number[],
 *   thickness: number|null, sopClass: string, sopInstance: string, frameNumber: number|null}[]}
 */
export function sourceFrames(headers) {
  if (!headers.length) throw new Error('the DICOM series has no files.');
  const enhanced = headers.filter((ds) => ds.PerFrameFunctionalGroupsSequence);
  if (enhanced.length && headers.length > 1) {
    throw new Error('a DICOM SEG of a series of several enhanced (multi-frame) files, or of enhanced and classic files together, is not supported; use a series of classic files or one enhanced file.');
  }
  const frames = [];
  if (enhanced.length) {
    const ds = headers[0];
    const shared = first(ds.SharedFunctionalGroupsSequence) ?? {};
    const perFrame = [].concat(ds.PerFrameFunctionalGroupsSequence);
    perFrame.forEach((group, index) => {
      const groups = [group, shared];
      frames.push(geometry({
        position: groupValue(groups, 'PlanePositionSequence', 'ImagePositionPatient'),
        orientation: groupValue(groups, 'PlaneOrientationSequence', 'ImageOrientationPatient'),
        spacing: groupValue(groups, 'PixelMeasuresSequence', 'PixelSpacing'),
        thickness: groupValue(groups, 'PixelMeasuresSequence', 'SliceThickness'),
      }, ds, `frame ${index + 1}`, index + 1));
    });
  } else {
    headers.forEach((ds, index) => {
      if ((Number(ds.NumberOfFrames) || 1) > 1) throw new Error(`file ${index + 1} is a multi-frame image without per-frame geometry; a DICOM SEG needs the geometry of every frame.`);
      frames.push(geometry({ position: ds.ImagePositionPatient, orientation: ds.ImageOrientationPatient, spacing: ds.PixelSpacing, thickness: ds.SliceThickness }, ds, `file ${index + 1}`, null));
    });
  }
  const shape = frames[0].shape.join('x');
  if (frames.some((frame) => frame.shape.join('x') !== shape)) throw new Error('the DICOM series mixes images of different sizes.');
  const orientation = frames[0].orientation;
  if (frames.some((frame) => frame.orientation.some((v, i) => Math.abs(v - orientation[i]) > 1e-4))) {
    throw new Error('the DICOM series mixes slices with different orientations; a DICOM SEG of it is not supported.');
  }
  return frames;
}

function geometry({ position, orientation, spacing, thickness }, ds, where, frameNumber) {
  const numbers = (value, count, keyword) => {
    const list = [].concat(value ?? []).map(Number);
    if (list.length !== count || !list.every(Number.isFinite)) throw new Error(`${where} has no valid ${keyword}; a DICOM SEG needs the geometry of every source frame.`);
    return list;
  };
  return {
    position: numbers(position, 3, 'ImagePositionPatient'),
    orientation: numbers(orientation, 6, 'ImageOrientationPatient'),
    spacing: numbers(spacing, 2, 'PixelSpacing'),
    thickness: Number(first(thickness)) > 0 ? Number(first(thickness)) : null,
    shape: [Number(ds.Rows), Number(ds.Columns)],
    sopClass: ds.SOPClassUID,
    sopInstance: ds.SOPInstanceUID,
    frameNumber,
  };
}

const cross = (a, b) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const dot = (a, b) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];

/** Frame indices sorted along the slice normal (then by their place in the series). */
function positionOrder(frames) {
  const normal = cross(frames[0].orientation.slice(0, 3), frames[0].orientation.slice(3));
  const depth = frames.map((frame) => dot(frame.position, normal));
  return frames.map((_, i) => i).sort((a, b) => depth[a] - depth[b] || a - b);
}

function sharedGroups(frames, ds) {
  const [a, b] = positionOrder(frames);
  const normal = cross(frames[0].orientation.slice(0, 3), frames[0].orientation.slice(3));
  const gap = b === undefined ? null : Math.abs(dot(frames[b].position, normal) - dot(frames[a].position, normal));
  const thickness = frames[0].thickness ?? (gap > 1e-3 ? gap : null) ?? (Number(ds.SliceThickness) || 1);
  return {
    PlaneOrientationSequence: [{ ImageOrientationPatient: frames[0].orientation }],
    PixelMeasuresSequence: [{ PixelSpacing: frames[0].spacing, SliceThickness: thickness }],
  };
}

function perFrameGroup(frame, segment, positionIndex) {
  const source = { ReferencedSOPClassUID: frame.sopClass, ReferencedSOPInstanceUID: frame.sopInstance };
  if (frame.frameNumber !== null) source.ReferencedFrameNumber = frame.frameNumber;
  source.PurposeOfReferenceCodeSequence = [SOURCE_PURPOSE];
  source.SpatialLocationsPreserved = 'YES';
  return {
    DerivationImageSequence: [{ SourceImageSequence: [source], DerivationCodeSequence: [SEGMENTATION_DERIVATION] }],
    FrameContentSequence: [{ DimensionIndexValues: [segment, positionIndex] }],
    PlanePositionSequence: [{ ImagePositionPatient: frame.position }],
    SegmentIdentificationSequence: [{ ReferencedSegmentNumber: segment }],
  };
}

/**
 * The voxels, shape and affine (RAS, rows of a 4x4) of an uncompressed NIfTI-1 label image,
 * with nibabel's rule: the sform when its code is set, else the qform, else the voxel sizes.
 */
export function niftiGrid(nifti) {
  const bytes = nifti instanceof Uint8Array ? nifti : new Uint8Array(nifti);
  const labels = labelVoxels(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const little = view.getInt32(0, true) === 348;
  if (!little && view.getInt32(0, false) !== 348) throw new Error('labels: a NIfTI-1 label image is needed for the DICOM SEG');
  const f32 = (offset) => view.getFloat32(offset, little);
  const shape = [1, 2, 3].map((axis) => Math.max(1, view.getInt16(40 + 2 * axis, little)));
  const pixdim = [0, 1, 2, 3].map((i) => f32(76 + 4 * i));
  let affine;
  if (view.getInt16(254, little) > 0) {
    affine = [0, 1, 2].map((r) => [0, 1, 2, 3].map((c) => f32(280 + 16 * r + 4 * c)));
  } else if (view.getInt16(252, little) > 0) {
    const [b, c, d] = [256, 260, 264].map(f32);
    const a = Math.sqrt(Math.max(0, 1 - (b * b + c * c + d * d)));
    const qfac = pixdim[0] < 0 ? -1 : 1;
    const rotation = [
      [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
      [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
      [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
    ];
    const zooms = [pixdim[1], pixdim[2], pixdim[3] * qfac];
    affine = rotation.map((row, r) => [...row.map((v, k) => v * zooms[k]), f32(268 + 4 * r)]);
  } else {
    affine = [0, 1, 2].map((r) => [0, 1, 2].map((k) => (r === k ? pixdim[k + 1] : 0)).concat(0));
  }
  affine.push([0, 0, 0, 1]);
  return { labels, shape, affine };
}

function invert3(m) {
  const [[a, b, c], [d, e, f], [g, h, i]] = m;
  const det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
  if (!Number.isFinite(det) || Math.abs(det) < 1e-12) throw new Error('labels: the label image has a singular affine');
  return [
    [(e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det],
    [(f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det],
    [(d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det],
  ];
}

/**
 * The label at every pixel centre of every source frame (frames x rows x columns, frame
 * by frame in series order), nearest voxel in world space; 0 outside the label grid.
 */
export function labelsOnFrames({ labels, shape, affine }, frames) {
  const inverse = invert3(affine.slice(0, 3).map((row) => row.slice(0, 3)));
  const shift = affine.slice(0, 3).map((row) => row[3]);
  const toVoxel = (ras) => inverse.map((row) => dot(row, [ras[0] - shift[0], ras[1] - shift[1], ras[2] - shift[2]]));
  const toRasDirection = (v) => [-v[0], -v[1], v[2]];
  const [nx, ny, nz] = shape;
  const [rows, columns] = frames[0].shape;
  const out = new Uint8Array(frames.length * rows * columns);
  frames.forEach((frame, index) => {
    const [rowSpacing, columnSpacing] = frame.spacing;
    const origin = toVoxel(toRasDirection(frame.position));
    const zero = toVoxel([0, 0, 0]);
    const alongRowWorld = toRasDirection(frame.orientation.slice(0, 3).map((v) => v * columnSpacing));
    const alongColumnWorld = toRasDirection(frame.orientation.slice(3).map((v) => v * rowSpacing));
    const alongRow = toVoxel(alongRowWorld).map((v, k) => v - zero[k]);
    const alongColumn = toVoxel(alongColumnWorld).map((v, k) => v - zero[k]);
    let at = index * rows * columns;
    for (let r = 0; r < rows; r += 1) {
      const x0 = origin[0] + r * alongColumn[0];
      const y0 = origin[1] + r * alongColumn[1];
      const z0 = origin[2] + r * alongColumn[2];
      for (let c = 0; c < columns; c += 1, at += 1) {
        const i = Math.round(x0 + c * alongRow[0]);
        const j = Math.round(y0 + c * alongRow[1]);
        const k = Math.round(z0 + c * alongRow[2]);
        if (i >= 0 && j >= 0 && k >= 0 && i < nx && j < ny && k < nz) out[at] = labels[i + nx * (j + ny * k)];
      }
    }
  });
  return out;
}

/** The chosen frames' bits, packed as DICOM packs 1-bit pixels (first pixel in the lowest bit), padded to even length. */
function packFrames(labelled, chosen, pixels) {
  const bits = chosen.length * pixels;
  const packed = new Uint8Array(Math.ceil(bits / 8) + (Math.ceil(bits / 8) % 2));
  let bit = 0;
  for (const { segment, frame } of chosen) {
    const start = frame * pixels;
    for (let p = 0; p < pixels; p += 1, bit += 1) {
      if (labelled[start + p] === segment) packed[bit >> 3] |= 1 << (bit & 7);
    }
  }
  return [packed.buffer];
}

/** The source's Patient and Study module attributes; the type 2 ones empty where it lacks them. */
function patientAndStudy(ds) {
  const copied = Object.fromEntries(TABLES.type2PatientStudy.map((keyword) => [keyword, '']));
  for (const keyword of TABLES.patientAndStudy) {
    if (ds[keyword] !== undefined) copied[keyword] = JSON.parse(JSON.stringify(ds[keyword])); // plain values: dcmjs's arrays carry accessors
  }
  return copied;
}

function encode(dcmjs, dataset) {
  const { DicomDict, DicomMetaDictionary } = dcmjs.data;
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: dataset.SOPClassUID,
    MediaStorageSOPInstanceUID: dataset.SOPInstanceUID,
    TransferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: 'MESHSEG',
  };
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  return dict.write();
}

/** A new UID: 2.25 and 128 random bits (PS3.5 B.2). */
export function uid() {
  const words = crypto.getRandomValues(new Uint32Array(4));
  let value = 0n;
  for (const word of words) value = (value << 32n) | BigInt(word);
  return `2.25.${value}`;
}

function seriesNumber(value) {
  const number = Number(first(value));
  return Number.isInteger(number) && number >= 0 && number < 2 ** 31 - 1001 ? number + 1000 : 1000;
}

const pad = (n, width = 2) => String(n).padStart(width, '0');
const dicomDate = (d) => `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}`;
const dicomTime = (d) => `${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}`;

function stem(name) {
  return String(name).replace(/\.(nii\.gz|nii|mgz|mgh|nrrd|nhdr|dcm)$/i, '') || 'series';
}
