// The VOI LUT and Presentation LUT stages on the client (PS3.3 C.11.2,
// C.11.6), computed as the server's pipeline does (previewer/pixels/voi.py
// and output.py): the same float64 formulas, the same clipping, round half
// to even, the same inversion.  A frame shown through these functions is the
// server's gray8 PNG to the grey level.
//
// A frame of integer values is shown through one table indexed by the value
// (its Modality, VOI and Presentation stages evaluated once per possible
// value); other frames (float values, or too wide a range) are computed
// pixel by pixel.

/** Frames of integer values spanning at most this many values use a table. */
export const TABLE_MAX = 1 << 20;
const LEVELS = 255;

/**
 * The VOI of `frame` for the viewer's `choice`: null (the server's default
 * for the frame), {voi: K} (the K-th stored window, then VOI LUT), or
 * {center, width, function?} (LINEAR unless given, as the server's window=C,W).
 * Returns {window: {center, width, function}} or {lut: {first_mapped, bits, data}}.
 */
export function chooseVoi(frame, choice) {
  if (choice && Number.isFinite(choice.center)) {
    return { window: { center: choice.center, width: choice.width, function: choice.function || 'LINEAR' } };
  }
  if (choice && Number.isInteger(choice.voi)) {
    const { windows, voiLuts } = frame;
    if (choice.voi < windows.length) return { window: windows[choice.voi] };
    const lut = voiLuts[choice.voi - windows.length];
    if (!lut) throw new RangeError(`voi ${choice.voi}: the frame has ${windows.length} window(s) and ${voiLuts.length} VOI LUT(s)`);
    return { lut };
  }
  const fallback = frame.head.default;
  return fallback.window ? { window: fallback.window } : { lut: frame.voiLuts[fallback.voi_lut] };
}

/** x (a modality value) -> display fraction y in [0, 1], or NaN for NaN input. */
export function voiTransfer(voi) {
  if (voi.lut) return lutTransfer(voi.lut);
  const { center: c, width: w, function: fn } = voi.window;
  if (fn === 'LINEAR') {
    // PS3.3 C.11.2.1.2.1
    if (!(w >= 1)) throw new RangeError(`window width ${w} < 1 is invalid for LINEAR`);
    const low = c - 0.5 - (w - 1) / 2;
    const high = c - 0.5 + (w - 1) / 2;
    if (w === 1) return (x) => (Number.isNaN(x) ? NaN : x <= low ? 0 : 1);
    return (x) => {
      if (x <= low) return 0;
      if (x > high) return 1;
      return clip((x - (c - 0.5)) / (w - 1) + 0.5);
    };
  }
  if (fn === 'LINEAR_EXACT') {
    // PS3.3 C.11.2.1.3.2
    if (!(w > 0)) throw new RangeError(`window width ${w} <= 0 is invalid for LINEAR_EXACT`);
    return (x) => {
      if (x <= c - w / 2) return 0;
      if (x > c + w / 2) return 1;
      return clip((x - c) / w + 0.5);
    };
  }
  if (fn === 'SIGMOID') {
    // PS3.3 C.11.2.1.3.1
    if (!(w > 0)) throw new RangeError(`window width ${w} <= 0 is invalid for SIGMOID`);
    return (x) => 1 / (1 + Math.exp((-4 * (x - c)) / w));
  }
  throw new RangeError(`unsupported VOI LUT Function ${fn}`);
}

function lutTransfer({ first_mapped: first, bits, data }) {
  // PS3.3 C.11.2.1.1: below the first mapped value the first entry, above the last the last.
  const top = 2 ** bits - 1;
  const last = data.length - 1;
  return (x) => {
    if (Number.isNaN(x)) return NaN;
    const index = Math.min(last, Math.max(0, rint(x) - first));
    return clip(data[index] / top);
  };
}

function clip(y) {
  return y < 0 ? 0 : y > 1 ? 1 : y;
}

/** Round half to even, as numpy.rint. */
export function rint(v) {
  const r = Math.round(v);
  return r - v === 0.5 && (r & 1) !== 0 ? r - 1 : r;
}

/** Fraction -> grey level 0..255; PS3.3 C.11.6.1 INVERSE flips it.  NaN is 0, as numpy's cast to uint8 gives. */
export function quantiser(inverse) {
  return (y) => {
    if (Number.isNaN(y)) return 0;
    const q = rint(clip(y) * LEVELS);
    return inverse ? LEVELS - q : q;
  };
}

/** True if `frame` is shown through a table (see greyTable). */
export function usesTable(frame) {
  return frame.integer && frame.max - frame.min < TABLE_MAX;
}

/**
 * The grey level of every value frame.min..frame.max, as a Uint8Array
 * indexed by value - frame.min.  `invert` is the viewer's inversion; the
 * frame's own (MONOCHROME1, INVERSE) combines with it as on the server.
 */
export function greyTable(frame, voi, invert) {
  const transfer = voiTransfer(voi);
  const quantise = quantiser(frame.inverse !== invert);
  const size = frame.max - frame.min + 1;
  const table = new Uint8Array(size);
  for (let i = 0; i < size; i += 1) table[i] = quantise(transfer(frame.modality(frame.min + i)));
  return table;
}

/** The displayed frame at its own size: one grey level per pixel, row by row. */
export function greyImage(frame, voi, invert, out = new Uint8Array(frame.values.length)) {
  const { values } = frame;
  if (usesTable(frame)) {
    const table = greyTable(frame, voi, invert);
    const offset = frame.min;
    for (let i = 0, n = values.length; i < n; i += 1) out[i] = table[values[i] - offset];
    return out;
  }
  const transfer = voiTransfer(voi);
  const quantise = quantiser(frame.inverse !== invert);
  for (let i = 0, n = values.length; i < n; i += 1) out[i] = quantise(transfer(frame.modality(values[i])));
  return out;
}
