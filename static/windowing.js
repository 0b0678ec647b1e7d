// The window of a viewport as the overlay and the preset menu show it.
// `meta` is what is known of the image's display (Pane.displayMeta): its
// file windows, VOI LUTs, default window, stored bits and rescale; `window`
// is the viewport's choice (null: the default; {voi}: the file's window or
// VOI LUT of that number; {center, width}).  Plain data in, plain data out.
import * as format from './format.js';
import { CT_PRESETS } from './presets.js';

function presetOf(window, ct) {
  return ct ? CT_PRESETS.find((p) => p.center === window.center && p.width === window.width) || null : null;
}

/** The full range of the stored bits, as a window (where a VOI LUT applies, a drag starts from it). */
function fullRange(meta) {
  const width = 2 ** (meta.bits || 16) * Math.abs(meta.slope || 1);
  return { center: (meta.intercept || 0) + width / 2, width };
}

/**
 * The window on screen as {center, width, label}, or null if none applies
 * or is known.  A VOI LUT on screen is {center, width, label, lut: true}.
 */
export function effectiveWindow(meta, window, ct) {
  if (meta && meta.color) return null;
  if (window && 'center' in window) {
    const preset = presetOf(window, ct);
    return { ...window, label: preset ? preset.name : '' };
  }
  if (!meta) return null;
  if (window && 'voi' in window) {
    const stored = meta.windows[window.voi];
    if (stored) return { center: stored.center, width: stored.width, label: stored.explanation || `file window ${window.voi + 1}` };
    const lut = meta.voiLuts[window.voi - meta.windows.length];
    return lut ? { ...fullRange(meta), label: lut.explanation || `VOI LUT ${window.voi - meta.windows.length + 1}`, lut: true } : null;
  }
  if (meta.defaultWindow) {
    const stored = meta.windows.length && meta.windows[0].center === meta.defaultWindow.center
      && meta.windows[0].width === meta.defaultWindow.width;
    return { center: meta.defaultWindow.center, width: meta.defaultWindow.width, label: stored ? 'file' : 'auto' };
  }
  if (meta.voiLuts.length) return { ...fullRange(meta), label: meta.voiLuts[0].explanation || 'VOI LUT', lut: true };
  if (meta.bits) return { ...fullRange(meta), label: 'auto' };
  return null;
}

/** The overlay's line for the window: "C 40  W 400 (Soft tissue)", "VOI LUT (…)", "Colour". */
export function windowText(meta, window, ct, invert) {
  const shown = effectiveWindow(meta, window, ct);
  let text = shown
    ? `C ${format.level(shown.center)}  W ${format.level(shown.width)}${shown.label ? ` (${shown.label})` : ''}`
    : (meta && meta.color ? 'Colour' : 'C/W auto');
  if (shown && shown.lut) text = `VOI LUT (${shown.label})`;
  return text + (invert ? ' · inverted' : '');
}

/** The preset menu: {options: [{value, text, disabled?}], value}. */
export function presetMenu(meta, window, ct) {
  const options = [{ value: 'auto', text: 'Default window' }];
  const windows = meta ? meta.windows : [];
  windows.forEach((w, i) => {
    options.push({ value: `voi:${i}`, text: `${w.explanation || `File window ${i + 1}`} (${format.level(w.center)}/${format.level(w.width)})` });
  });
  (meta ? meta.voiLuts : []).forEach((lut, i) => {
    options.push({ value: `voi:${windows.length + i}`, text: lut.explanation || `VOI LUT ${i + 1}` });
  });
  if (ct) options.push(...CT_PRESETS.map((p, i) => ({ value: `preset:${p.key}`, text: `${i + 1} · ${p.name} (${p.center}/${p.width})` })));
  let value = 'auto';
  if (window && 'voi' in window) value = `voi:${window.voi}`;
  else if (window) {
    const preset = presetOf(window, ct);
    if (preset) value = `preset:${preset.key}`;
    else {
      value = 'custom';
      options.push({ value: 'custom', text: 'Custom', disabled: true });
    }
  }
  return { options, value };
}

/** The window a preset menu value stands for (undefined: not a window value). */
export function windowOfValue(value) {
  if (value === 'auto') return null;
  if (value.startsWith('voi:')) return { voi: Number(value.slice(4)) };
  if (value.startsWith('preset:')) {
    const preset = CT_PRESETS.find((p) => p.key === value.slice(7));
    return preset ? { center: preset.center, width: preset.width } : undefined;
  }
  return undefined;
}

/**
 * What is known of an image's display, as the functions above take it:
 * from its `frame` (frame.js, client path) or from its instance's `info`
 * (/instances/{id}/info); null when neither has arrived.
 */
export function displayMeta(frame, info) {
  if (frame) {
    return { color: false, windows: frame.windows, voiLuts: frame.voiLuts, defaultWindow: frame.head.default.window || null,
      bits: frame.head.bits, slope: frame.slope, intercept: frame.intercept };
  }
  if (!info) return null;
  const color = (info.samples_per_pixel || 1) > 1 || String(info.photometric_interpretation || '').startsWith('PALETTE');
  return { color, windows: info.windows, voiLuts: info.voi_luts || [], defaultWindow: info.default_window,
    bits: info.bits_stored, slope: info.rescale_slope ?? 1, intercept: info.rescale_intercept ?? 0 };
}
