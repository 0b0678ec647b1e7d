// The canvas 2D renderer: the displayed frame is computed in JavaScript
// (lut.js) and drawn scaled onto the viewer's canvas.  Only what the screen
// shows is computed: the part of the frame inside the canvas, and, when the
// frame is drawn smaller than its size, from a reduced copy of its values
// (2x2 means, level by level, kept with the frame) no smaller than the
// drawing, so that a window change costs about one table lookup per screen
// pixel whatever the frame's size.  A server PNG (colour, or any image the
// client pipeline does not handle) is drawn as it is.
import { greyTable, usesTable, voiTransfer, quantiser } from './lut.js';

export class Canvas2DRenderer {
  constructor(canvas) {
    this.name = 'canvas';
    this.label = 'canvas 2D';
    this.canvas = canvas;
    this.context = canvas.getContext('2d');
    this.bitmap = null;     // a server PNG, when that is what is shown
    this.frame = null;      // the frame shown, with its table (or transfer) for the current VOI
    this.colours = null;    // Uint32Array: RGBA word per value - frame.min (table frames)
    this.pixel = null;      // value -> RGBA word (frames computed pixel by pixel)
    this.computed = null;   // {level, x, y, w, h, version}: what the buffer holds
    this.version = 0;       // changes with every showFrame
    this.buffer = document.createElement('canvas');
    this.bufferContext = this.buffer.getContext('2d');
    this.image = null;
  }

  /** Any frame: the 2D path has no size limit of its own. */
  canShow() {
    return true;
  }

  /** Show `frame` through `voi` (lut.js chooseVoi) and inversion; computed by the next draw(). */
  showFrame(frame, voi, invert) {
    this.frame = frame;
    this.bitmap = null;
    this.version += 1;
    if (usesTable(frame)) {
      const table = greyTable(frame, voi, invert);
      if (!this.colours || this.colours.length < table.length) this.colours = new Uint32Array(table.length);
      for (let i = 0; i < table.length; i += 1) this.colours[i] = opaqueGrey(table[i]);
      this.pixel = null;
    } else {
      const transfer = voiTransfer(voi);
      const quantise = quantiser(frame.inverse !== invert);
      this.pixel = (value) => opaqueGrey(quantise(transfer(frame.modality(value))));
    }
  }

  /** Show a decoded server PNG. */
  showBitmap(bitmap) {
    this.bitmap = bitmap;
    this.frame = null;
  }

  clear() {
    this.bitmap = null;
    this.frame = null;
  }

  /** The displayed frame at its own size, one grey level per pixel (for tests and tools). */
  readGrey() {
    if (!this.frame) return null;
    const { columns, rows } = this.frame;
    const words = new Uint32Array(columns * rows);
    this.fill(words, this.frame.values, columns, 0, 0, columns, rows);
    const grey = new Uint8Array(words.length);
    for (let i = 0; i < words.length; i += 1) grey[i] = words[i] & 0xff;
    return grey;
  }

  /** Draw the image shown at {x, y, w, h} (CSS pixels) on a black canvas. */
  draw({ x, y, w, h, dpr }) {
    const ctx = this.context;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    if (!w || !h || (!this.bitmap && !this.frame)) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = 'high';
    if (this.bitmap) {
      ctx.drawImage(this.bitmap, x, y, w, h);
      return;
    }
    const { frame } = this;
    // The level: the smallest copy of the values still at least as large as the drawing.
    const scale = (w * dpr) / frame.columns;   // device pixels per frame pixel
    let level = 0;
    while (scale * 2 ** (level + 1) <= 1 && Math.min(frame.columns, frame.rows) >> (level + 1) >= 1) level += 1;
    const values = reduced(frame, level);
    const factor = 2 ** level;
    const cols = Math.ceil(frame.columns / factor);
    const rows = Math.ceil(frame.rows / factor);
    // The part of that level inside the canvas, in whole pixels of the level.
    const perPixel = (w / frame.columns) * factor;   // CSS pixels per level pixel
    const cssWidth = this.canvas.width / dpr;
    const cssHeight = this.canvas.height / dpr;
    const x0 = Math.max(0, Math.floor(-x / perPixel));
    const y0 = Math.max(0, Math.floor(-y / perPixel));
    const x1 = Math.min(cols, Math.ceil((cssWidth - x) / perPixel));
    const y1 = Math.min(rows, Math.ceil((cssHeight - y) / perPixel));
    if (x1 <= x0 || y1 <= y0) return;
    const region = { level, x: x0, y: y0, w: x1 - x0, h: y1 - y0, version: this.version };
    const held = this.computed;
    if (!held || held.version !== region.version || held.level !== level || held.x !== region.x
        || held.y !== region.y || held.w !== region.w || held.h !== region.h) {
      if (this.buffer.width !== region.w || this.buffer.height !== region.h) {
        this.buffer.width = region.w;
        this.buffer.height = region.h;
        this.image = null;
      }
      if (!this.image) this.image = this.bufferContext.createImageData(region.w, region.h);
      this.fill(new Uint32Array(this.image.data.buffer), values, cols, region.x, region.y, region.w, region.h);
      this.bufferContext.putImageData(this.image, 0, 0);
      this.computed = region;
    }
    ctx.drawImage(this.buffer, 0, 0, region.w, region.h,
      x + region.x * perPixel, y + region.y * perPixel, region.w * perPixel, region.h * perPixel);
  }

  /** RGBA words of the w x h block at (x0, y0) of `values` (`stride` values per row) into `out`. */
  fill(out, values, stride, x0, y0, w, h) {
    let k = 0;
    if (!this.pixel) {
      const colours = this.colours;
      const offset = this.frame.min;
      for (let y = 0; y < h; y += 1) {
        for (let i = (y0 + y) * stride + x0, end = i + w; i < end; i += 1) out[k++] = colours[values[i] - offset];
      }
      return;
    }
    const pixel = this.pixel;
    for (let y = 0; y < h; y += 1) {
      for (let i = (y0 + y) * stride + x0, end = i + w; i < end; i += 1) out[k++] = pixel(values[i]);
    }
  }
}

/**
 * The frame's values reduced `level` times by 2x2 means (rounded for integer
 * values, so a table indexed by value still applies; a last odd row or
 * column is its own mean), computed once per level and kept on the frame.
 */
export function reduced(frame, level) {
  if (level === 0) return frame.values;
  frame.levels = frame.levels || [];
  if (!frame.levels[level]) {
    const source = reduced(frame, level - 1);
    const factor = 2 ** (level - 1);
    const cols = Math.ceil(frame.columns / factor);
    const rows = Math.ceil(frame.rows / factor);
    const outCols = Math.ceil(cols / 2);
    const outRows = Math.ceil(rows / 2);
    const out = new source.constructor(outCols * outRows);
    const integer = frame.integer;
    for (let y = 0; y < outRows; y += 1) {
      const top = 2 * y * cols;
      const bottom = Math.min(2 * y + 1, rows - 1) * cols;
      for (let x = 0; x < outCols; x += 1) {
        const left = 2 * x;
        const right = Math.min(left + 1, cols - 1);
        const sum = source[top + left] + source[top + right] + source[bottom + left] + source[bottom + right];
        out[y * outCols + x] = integer ? Math.floor(sum / 4 + 0.5) : sum / 4;
      }
    }
    frame.levels[level] = out;
  }
  return frame.levels[level];
}

/** ImageData's RGBA bytes of an opaque grey, as one little-endian 32-bit word. */
function opaqueGrey(g) {
  return (0xff000000 | (g << 16) | (g << 8) | g) >>> 0;
}
