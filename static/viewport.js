// The image on its canvas: size, zoom and pan.  Geometry is kept in native
// image pixels, so that an image that arrives at a lower resolution (sized
// to the screen) is drawn at exactly the same place as the full one.  The
// drawing itself is the renderer's (renderer.js): a frame computed on the
// client, or a server PNG.

const MIN_ZOOM = 0.02;
// High enough that tiny images (a 16 x 16 slice fits at ~4000%) can still zoom in.
const MAX_ZOOM = 512;
const SIZE_STEP = 128;   // requested sizes are rounded up to a multiple of this

export class Viewport {
  /** onChange() is called after every change of zoom, pan or canvas size. */
  constructor(renderer, { onChange = () => {} } = {}) {
    this.renderer = renderer;
    this.canvas = renderer.canvas;
    this.onChange = onChange;
    this.shown = false;        // an image is on the canvas
    this.dims = null;          // native {cols, rows} of the image on screen
    this.fitted = true;        // the zoom follows the canvas size
    this.scale = 1;            // CSS pixels per native image pixel
    this.pan = { x: 0, y: 0 }; // image centre minus canvas centre, in native pixels
    this.observer = new ResizeObserver(() => this.resize());
    this.observer.observe(this.canvas.parentElement);
  }

  /** Stop following the size of the canvas' box (the viewport is gone). */
  destroy() {
    this.observer.disconnect();
  }

  get dpr() {
    return window.devicePixelRatio || 1;
  }

  get width() {
    return this.canvas.clientWidth || 1;
  }

  get height() {
    return this.canvas.clientHeight || 1;
  }

  /** Zoom in screen (device) pixels per image pixel: 1 is "1:1". */
  get zoom() {
    return this.scale * this.dpr;
  }

  /** The view, to put in the page's URL. */
  get view() {
    return { fitted: this.fitted, zoom: this.zoom, pan: [this.pan.x, this.pan.y] };
  }

  /** Restore a view read from the URL. */
  setView({ zoom, pan }) {
    if (Number.isFinite(zoom) && zoom > 0) {
      this.fitted = false;
      this.scale = clamp(zoom, MIN_ZOOM, MAX_ZOOM) / this.dpr;
    }
    if (pan && pan.every(Number.isFinite)) this.pan = { x: pan[0], y: pan[1] };
    this.changed();
  }

  /** Show `bitmap` (a server PNG) as the image of native size `dims` ({cols, rows}). */
  show(bitmap, dims) {
    this.renderer.showBitmap(bitmap);
    this.shown = true;
    this.setDims(dims || { cols: bitmap.width, rows: bitmap.height });
    this.draw();
  }

  /** Show `frame` (frame.js) through `voi` and inversion, computed on the client; `dims`: its native size, when smaller. */
  showFrame(frame, voi, invert, dims = { cols: frame.columns, rows: frame.rows }) {
    this.renderer.showFrame(frame, voi, invert);
    this.shown = true;
    this.setDims(dims);
    this.draw();
  }

  setDims(dims) {
    const same = this.dims && this.dims.cols === dims.cols && this.dims.rows === dims.rows;
    this.dims = dims;
    if (!same && this.fitted) this.fit();
  }

  clear() {
    this.renderer.clear();
    this.shown = false;
    this.draw();
  }

  /** The scale at which the whole image fits the viewport. */
  fitScale() {
    return this.dims ? Math.min(this.width / this.dims.cols, this.height / this.dims.rows) : 1;
  }

  fit() {
    this.fitted = true;
    this.pan = { x: 0, y: 0 };
    if (this.dims) this.scale = this.fitScale();
    this.changed();
  }

  /** One image pixel per screen pixel, centred. */
  actualSize() {
    this.fitted = false;
    this.scale = 1 / this.dpr;
    this.pan = { x: 0, y: 0 };
    this.changed();
  }

  /** Multiply the zoom by `factor`, keeping the image point under (x, y) still. */
  zoomBy(factor, x = this.width / 2, y = this.height / 2) {
    const before = this.toImage(x, y);
    this.fitted = false;
    this.scale = clamp(this.scale * factor, MIN_ZOOM / this.dpr, MAX_ZOOM / this.dpr);
    const after = this.toImage(x, y);
    this.pan.x += after.x - before.x;
    this.pan.y += after.y - before.y;
    this.changed();
  }

  /** Move the image by (dx, dy) CSS pixels. */
  panBy(dx, dy) {
    this.fitted = false;
    this.pan.x += dx / this.scale;
    this.pan.y += dy / this.scale;
    this.changed();
  }

  /** Canvas CSS coordinates -> image coordinates relative to the image centre. */
  toImage(x, y) {
    return { x: (x - this.width / 2) / this.scale - this.pan.x, y: (y - this.height / 2) / this.scale - this.pan.y };
  }

  /**
   * The box (size=) to ask the server for, in pixels: the image as large as
   * it is drawn on this screen, at most `cap`, and null (native size) when
   * that is not smaller than the image.
   */
  requestSize(dims = this.dims, cap = Infinity) {
    const longest = dims ? Math.max(dims.cols, dims.rows) : null;
    const drawn = dims ? longest * this.zoom : Math.max(this.width, this.height) * this.dpr;
    const box = Math.min(cap, Math.max(SIZE_STEP, Math.ceil(drawn / SIZE_STEP) * SIZE_STEP));
    return longest !== null && box >= longest ? null : box;
  }

  resize() {
    const { dpr } = this;
    const width = Math.round(this.width * dpr);
    const height = Math.round(this.height * dpr);
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
    }
    if (this.fitted) this.fit();
    else this.changed();
  }

  changed() {
    this.draw();
    this.onChange();
  }

  /** Where the image goes on the canvas, in CSS pixels. */
  placement() {
    const w = this.dims ? this.dims.cols * this.scale : 0;
    const h = this.dims ? this.dims.rows * this.scale : 0;
    return { x: this.width / 2 + this.pan.x * this.scale - w / 2, y: this.height / 2 + this.pan.y * this.scale - h / 2,
      w, h, dpr: this.dpr };
  }

  draw() {
    this.renderer.draw(this.shown && this.dims ? this.placement() : { x: 0, y: 0, w: 0, h: 0, dpr: this.dpr });
  }
}

function clamp(value, low, high) {
  return Math.min(high, Math.max(low, value));
}
