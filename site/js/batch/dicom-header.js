// A small DICOM Part 10 header reader: just what grouping files into series and the
// geometry of enhanced (multi-frame) files need. It stops at the pixel data and decodes
// only the tags listed in WANTED: patient-identifying fields are skipped over, never read.

const WANTED = {
  '00020010': 'transferSyntax',
  '00080016': 'sopClass',
  '0008103E': 'description',
  '0020000E': 'seriesUid',
  '00200011': 'number',
  '00200013': 'instance',
  '00200032': 'position',
  '00200037': 'orientation',
  '00280008': 'frames',
  '00280010': 'rows',
  '00280011': 'columns',
  '00280030': 'spacing',
  '00180050': 'thickness',
  '00281053': 'slope',
  '00281052': 'intercept',
};
// Sequences whose items are read (the functional groups of enhanced images).
const SEQUENCES = {
  '52009229': 'shared',
  '52009230': 'perFrame',
  '00209113': 'planePosition',
  '00209116': 'planeOrientation',
  '00289110': 'pixelMeasures',
  '00289145': 'pixelValueTransformation',
};
const NUMBERS = new Set(['number', 'instance', 'frames', 'slope', 'intercept', 'thickness']);
const VECTORS = new Set(['position', 'orientation', 'spacing']);
const LONG_VR = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const UNDEFINED = 0xFFFFFFFF;
const IMPLICIT_LE = '1.2.840.10008.1.2';
const EXPLICIT_BE = '1.2.840.10008.1.2.2';
const DEFLATED = '1.2.840.10008.1.2.1.99';

export class DicomHeaderError extends Error {}

/** True when `bytes` (the first 132 at least) start a DICOM Part 10 file. */
export function isDicom(bytes) {
  return bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4D;
}

/**
 * Read the header of a DICOM Part 10 file.
 * @param {Uint8Array} bytes
 * @returns {object} the WANTED fields (strings; numbers and vectors decoded), `shared` and
 *   `perFrame` as arrays of item objects for enhanced images, `enhanced` (bool)
 */
export function readDicomHeader(bytes) {
  if (!isDicom(bytes)) throw new DicomHeaderError('is not a DICOM file (no DICM marker)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const header = {};
  // File meta information: always explicit VR little endian.
  let offset = 132;
  while (offset + 8 <= bytes.length && view.getUint16(offset, true) === 0x0002) {
    offset = readElement(bytes, view, offset, { explicit: true, little: true }, header);
  }
  const syntax = header.transferSyntax ?? '';
  if (syntax === DEFLATED) throw new DicomHeaderError('uses the deflated transfer syntax, which is not supported');
  const how = { explicit: syntax !== IMPLICIT_LE, little: syntax !== EXPLICIT_BE };
  readDataset(bytes, view, offset, bytes.length, how, header, true);
  header.enhanced = Array.isArray(header.perFrame) || (header.frames ?? 1) > 1;
  return header;
}

function readDataset(bytes, view, offset, end, how, into, topLevel = false) {
  while (offset + 8 <= end) {
    const group = view.getUint16(offset, how.little);
    if (group === 0xFFFE) {
      const element = view.getUint16(offset + 2, how.little);
      if (element === 0xE00D) return offset + 8; // item delimiter
    }
    if (topLevel && group === 0x7FE0) return offset; // pixel data: stop
    offset = readElement(bytes, view, offset, how, into);
  }
  return offset;
}

function readElement(bytes, view, offset, how, into) {
  const group = view.getUint16(offset, how.little);
  const element = view.getUint16(offset + 2, how.little);
  const tag = hex(group) + hex(element);
  let vr = null;
  let length;
  let at;
  if (how.explicit && group !== 0xFFFE) {
    vr = String.fromCharCode(bytes[offset + 4], bytes[offset + 5]);
    if (LONG_VR.has(vr)) {
      length = view.getUint32(offset + 8, how.little);
      at = offset + 12;
    } else {
      length = view.getUint16(offset + 6, how.little);
      at = offset + 8;
    }
  } else {
    length = view.getUint32(offset + 4, how.little);
    at = offset + 8;
  }
  const isSequence = vr === 'SQ' || (vr === null && (length === UNDEFINED || tag in SEQUENCES));
  if (isSequence) {
    const items = [];
    const next = readSequence(bytes, view, at, length, how, items);
    if (tag in SEQUENCES) into[SEQUENCES[tag]] = items;
    return next;
  }
  if (length === UNDEFINED) throw new DicomHeaderError(`has an element (${tag}) of undefined length outside a sequence`);
  if (at + length > bytes.length) throw new DicomHeaderError('is cut short (truncated header)');
  if (tag in WANTED) into[WANTED[tag]] = decode(WANTED[tag], vr, bytes, view, at, length, how);
  return at + length;
}

function readSequence(bytes, view, offset, length, how, items) {
  const end = length === UNDEFINED ? bytes.length : offset + length;
  while (offset + 8 <= end) {
    const group = view.getUint16(offset, how.little);
    const element = view.getUint16(offset + 2, how.little);
    const itemLength = view.getUint32(offset + 4, how.little);
    offset += 8;
    if (group === 0xFFFE && element === 0xE0DD) return offset; // sequence delimiter
    if (group !== 0xFFFE || element !== 0xE000) throw new DicomHeaderError('has a malformed sequence');
    const item = {};
    if (itemLength === UNDEFINED) {
      offset = readDataset(bytes, view, offset, bytes.length, how, item);
    } else {
      readDataset(bytes, view, offset, offset + itemLength, how, item);
      offset += itemLength;
    }
    items.push(item);
  }
  return end;
}

function decode(field, vr, bytes, view, at, length, how) {
  if (field === 'rows' || field === 'columns') {
    if (vr === null || vr === 'US') return view.getUint16(at, how.little);
  }
  let text = '';
  for (let i = at; i < at + length; i += 1) text += String.fromCharCode(bytes[i]);
  text = text.replace(/[\0 ]+$/, '').trim();
  if (VECTORS.has(field)) return text.split('\\').map(Number);
  if (NUMBERS.has(field)) return text === '' ? null : Number(text);
  return text;
}

function hex(value) {
  return value.toString(16).toUpperCase().padStart(4, '0');
}

/** The first value of `field` in an enhanced header's functional group `sequence`. */
function groupValue(groups, sequence, field) {
  for (const group of groups ?? []) {
    for (const item of group?.[sequence] ?? []) if (item[field] !== undefined) return item[field];
  }
  return undefined;
}

/**
 * Geometry of an enhanced multi-frame image from its functional groups.
 * @returns {{positions: number[][], orientation: number[], spacing: number[], thickness: number|null,
 *   slope: number|null, intercept: number|null}}
 */
export function enhancedFrames(header) {
  const frames = header.perFrame ?? [];
  const positions = frames.map((frame) => groupValue([frame], 'planePosition', 'position'));
  const pick = (sequence, field) => groupValue(header.perFrame, sequence, field) ?? groupValue(header.shared, sequence, field);
  const orientation = groupValue(header.shared, 'planeOrientation', 'orientation') ?? pick('planeOrientation', 'orientation');
  const spacing = groupValue(header.shared, 'pixelMeasures', 'spacing') ?? pick('pixelMeasures', 'spacing');
  if (!frames.length || positions.some((p) => !p || p.length !== 3) || orientation?.length !== 6 || spacing?.length !== 2) {
    throw new DicomHeaderError('is an enhanced DICOM image without plane positions, orientation or pixel spacing');
  }
  return {
    positions, orientation, spacing,
    thickness: pick('pixelMeasures', 'thickness') ?? null,
    slope: pick('pixelValueTransformation', 'slope') ?? null,
    intercept: pick('pixelValueTransformation', 'intercept') ?? null,
  };
}
