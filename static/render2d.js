// The canvas 2D renderer: the displayed frame is computed in JavaScript
// (lut.js) into an image of the frame's own size, then drawn scaled onto the
// viewer's canvas.  A server PNG (colour, or any image the client pipeline
// does not handle) is drawn the same way.
import { greyImage, greyTable, usesTable } from './lut.js';

export class Canvas2DRenderer {
  constructor(canvas) {
    this.name = 'canvas';
    this.label = 'canvas 2D';
    this.canvas = canvas;
    this.context = canvas.getContext('2d');
    this.source = null;     // what draw() puts on the canvas: the buffer or a server bitmap
    this.buffer = null;     // a canvas of the frame's size holding the displayed frame
    this.image = null;      // its ImageData, reused while the size stays
    this.grey = null;       // Uint8Array for frames computed pixel by pixel
    this.rgba = new Uint32Array(0);
  }

  /** Any frame: the 2D path has no size limit of its own. */
  canShow() {
    return true;
  }

  /** Compute `frame` through `voi` (lut.js chooseVoi) and inversion, and show it. */
  showFrame(frame, voi, invert) {
    const { columns, rows } = frame;
    if (!this.buffer || this.buffer.width !== columns || this.buffer.height !== rows) {
      this.buffer = document.createElement('canvas');
      this.buffer.width = columns;
      this.buffer.height = rows;
      this.bufferContext = this.buffer.getContext('2d');
      this.image = this.bufferContext.createImageData(columns, rows);
    }
    const out = new Uint32Array(this.image.data.buffer);
    const { values } = frame;
    if (usesTable(frame)) {
      const table = greyTable(frame, voi, invert);
      if (this.rgba.length < table.length) this.rgba = new Uint32Array(table.length);
      const rgba = this.rgba;
      for (let i = 0; i < table.length; i += 1) rgba[i] = opaqueGrey(table[i]);
      const offset = frame.min;
      for (let i = 0, n = values.length; i < n; i += 1) out[i] = rgba[values[i] - offset];
    } else {
      if (!this.grey || this.grey.length !== values.length) this.grey = new Uint8Array(values.length);
      const grey = greyImage(frame, voi, invert, this.grey);
      for (let i = 0, n = grey.length; i < n; i += 1) out[i] = opaqueGrey(grey[i]);
    }
    this.bufferContext.putImageData(this.image, 0, 0);
    this.source = this.buffer;
  }

  /** Show a decoded server PNG. */
  showBitmap(bitmap) {
    this.source = bitmap;
  }

  clear() {
    this.source = null;
  }

  /** The displayed frame at its own size, one grey level per pixel (for tests and tools). */
  readGrey() {
    if (this.source !== this.buffer || !this.image) return null;
    const data = this.image.data;
    const grey = new Uint8Array(data.length / 4);
    for (let i = 0; i < grey.length; i += 1) grey[i] = data[4 * i];
    return grey;
  }

  /** Draw the image shown at {x, y, w, h} (CSS pixels) on a black canvas. */
  draw({ x, y, w, h, dpr }) {
    const ctx = this.context;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    if (!this.source) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(this.source, x, y, w, h);
  }
}

/** ImageData's RGBA bytes of an opaque grey, as one little-endian 32-bit word. */
function opaqueGrey(g) {
  return (0xff000000 | (g << 16) | (g << 8) | g) >>> 0;
}
