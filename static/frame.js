// One grayscale frame at full precision, as the server's
// /instances/{id}/frames/{n}/pixels route sends it (previewer/framedata.py):
// the values (stored values, or modality values when the rescale cannot be
// undone exactly), the rescale that turns them into modality values, the
// frame's windows and VOI LUT tables, the server's default VOI, and whether
// the Presentation LUT stage inverts.  This module is where the displayed
// frame's modality values are reachable (a probe or an ROI reads them here).
import { failure } from './api.js';

const MAGIC = 'PVF1';
const TYPES = {
  uint8: Uint8Array, int8: Int8Array, uint16: Uint16Array, int16: Int16Array,
  uint32: Uint32Array, int32: Int32Array, float32: Float32Array, float64: Float64Array,
};
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export class Frame {
  /** `head` is the JSON header, `values` a typed array of rows x columns samples. */
  constructor(head, values) {
    this.head = head;
    this.values = values;
    this.columns = head.columns;
    this.rows = head.rows;
    this.slope = head.rescale.slope;
    this.intercept = head.rescale.intercept;
    /** Integer values within [min, max]: one lookup table indexed by the value shows them. */
    this.integer = head.min !== null && head.max !== null;
    this.min = head.min;
    this.max = head.max;
    this.windows = head.windows;
    this.voiLuts = head.voi_luts;
    this.inverse = head.inverse;
    this.units = head.rescale.type || null;
    this.pixelSpacing = null;   // [row, column] in mm, from the instance's /info when known
    this.bytes = values.byteLength;
  }

  /** The modality value of a transported value, computed as the server does (float64, slope then intercept). */
  modality(value) {
    return this.slope === 1 && this.intercept === 0 ? value : value * this.slope + this.intercept;
  }

  /** The raw transported value at column x, row y (integers), or undefined outside the frame. */
  valueAt(x, y) {
    if (!Number.isInteger(x) || !Number.isInteger(y) || x < 0 || y < 0 || x >= this.columns || y >= this.rows) {
      return undefined;
    }
    return this.values[y * this.columns + x];
  }

  /** The modality value (e.g. HU) at column x, row y, or undefined outside the frame. */
  modalityAt(x, y) {
    const value = this.valueAt(x, y);
    return value === undefined ? undefined : this.modality(value);
  }
}

/** Parse an answer of the pixels route. */
export function parseFrame(buffer) {
  const bytes = new Uint8Array(buffer);
  if (bytes.length < 8 || String.fromCharCode(...bytes.subarray(0, 4)) !== MAGIC) {
    throw new Error('not a frame of the pixels route');
  }
  const length = new DataView(buffer).getUint32(4, true);
  const head = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length)));
  const start = 8 + length + ((8 - ((8 + length) % 8)) % 8);
  const Type = TYPES[head.dtype];
  if (!Type) throw new Error(`unknown sample type ${head.dtype}`);
  const count = head.rows * head.columns;
  if (start + count * Type.BYTES_PER_ELEMENT > buffer.byteLength) throw new Error('truncated frame');
  let values = new Type(buffer, start, count);
  if (!LITTLE_ENDIAN && Type.BYTES_PER_ELEMENT > 1) values = swapped(buffer, start, count, Type);
  return new Frame(head, values);
}

function swapped(buffer, start, count, Type) {
  const view = new DataView(buffer, start);
  const out = new Type(count);
  const size = Type.BYTES_PER_ELEMENT;
  const get = { 'Int16Array': 'getInt16', 'Uint16Array': 'getUint16', 'Int32Array': 'getInt32',
    'Uint32Array': 'getUint32', 'Float32Array': 'getFloat32', 'Float64Array': 'getFloat64' }[Type.name];
  for (let i = 0; i < count; i += 1) out[i] = view[get](i * size, true);
  return out;
}

/**
 * The frame at `url`, or {usePng: true, reason, bytes: 0} when the server
 * shows that frame through its PNG route (colour, or values the client
 * cannot take); rejects with the server's ServerError (or an AbortError).
 */
export async function fetchFrame(url, options = {}) {
  // "Range: bytes=0-" asks for the whole body and makes the browser send
  // "Accept-Encoding: identity" (Fetch standard): Orthanc then sends the
  // values as they are instead of deflating them at zlib's level 6, which
  // costs more than the rest of the request and saves little on pixel
  // values (see README, "The viewer").  The frames are kept in memory, so
  // the HTTP cache is not used for them.
  const response = await fetch(url, { ...options, cache: 'no-store', headers: { Range: 'bytes=0-' } });
  if (!response.ok) throw await failure(response);
  if ((response.headers.get('Content-Type') || '').startsWith('application/json')) {
    const answer = await response.json();
    return { usePng: true, reason: String(answer.reason || 'server'), bytes: 0 };
  }
  return parseFrame(await response.arrayBuffer());
}

/** The pixels route of a frame, relative to the page. */
export function frameUrl(instanceId, frame) {
  return `instances/${encodeURIComponent(instanceId)}/frames/${frame}/pixels`;
}
