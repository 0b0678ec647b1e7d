// How a viewport's image reaches its canvas.  Two paths draw an image.  The
// client path (grayscale frames): each frame is fetched once at full
// precision from the shared frame store (frames.js, the pixels route) and its
// Modality, VOI and Presentation stages are computed here (lut.js), by WebGL2
// or canvas 2D (renderer.js), so window/level, inversion and scrolling
// through loaded frames make no request; neighbouring frames are prefetched.
// The server path (colour, or what the client path cannot show): PNGs
// rendered by the server at screen size (loader.js).  The overlay says which
// path drew the image.
import { ServerError, pngUrl } from './api.js';
import { Frame } from './frame.js';
import { frameKey } from './frames.js';
import { ImageLoader } from './loader.js';
import { chooseVoi } from './lut.js';
import { objectParams } from './objects.js';
import { createRenderer } from './renderer.js';
import { Viewport } from './viewport.js';

const PREFETCH = 3;           // server PNGs fetched ahead while scrolling
const PREFETCH_CINE = 8;
// Client frames wanted around the image on screen: ahead in the direction of
// the latest move, then behind, within the viewport's share of the prefetch bytes.
const FRAMES_AHEAD = 40;
const FRAMES_BEHIND = 8;
// While window/level is dragged, large images are asked for at most this
// size, which the server renders several times faster; the screen-sized
// image follows when the button is released.
const DRAG_BOX = 512;

export class ImagePaths {
  /** `pane` is the viewport (pane.js) whose image this draws on `canvas`. */
  constructor(pane, canvas) {
    this.pane = pane;
    this.viewport = new Viewport(createRenderer(canvas), { onChange: () => pane.viewChanged() });
    this.canvas = this.viewport.canvas;
    this.canvas.dataset.renderer = this.viewport.renderer.name;
    this.frames = pane.host.store;
    this.client = this.frames.client({
      onLoad: (key, result) => this.frameArrived(key, result),
      onError: (key, error) => this.frameFailed(key, error),
      onRequest: (count) => { this.canvas.dataset.fetching = String(count); },
    });
    this.loader = new ImageLoader({
      onImage: (bitmap, meta) => this.showImage(bitmap, meta),
      onError: (error, meta) => pane.showError(error, meta.index),
      onBusy: (busy) => this.setBusy(busy),
    });
    this.drawRequest = 0;
    this.renderedClient = false;
    this.renders = 0;
    this.infoTimer = 0;
    this.sizeTimer = 0;
  }

  get model() {
    return this.pane.model;
  }

  opened() {
    this.viewport.dims = null;
    // The client path needs nothing more; the instance's info (pixel spacing,
    // and the size a server PNG is asked at) follows once the image is up.
    if (this.pane.current) this.infoSoon(this.pane.current.instance, false);
  }

  close() {
    this.loader.reset();
    this.client.cancel();
    cancelAnimationFrame(this.drawRequest);
    this.drawRequest = 0;
    clearTimeout(this.infoTimer);
    clearTimeout(this.sizeTimer);
    this.viewport.dims = null;
    this.viewport.clear();
    delete this.canvas.dataset.path;
  }

  destroy() {
    this.client.close();
    this.viewport.destroy();
  }

  /** The image's frame at full precision if it has arrived, else null. */
  frameOf(image) {
    const frame = image && this.frames.frames.get(frameKey(image));
    return frame instanceof Frame ? frame : null;
  }

  /** The PNG parameters of `image` at `size`: a presentation state or segmentation only on an image it references. */
  renderParams(image, size) {
    const { objects } = this.pane;
    return { window: this.pane.window, invert: this.pane.invert, size, ...objectParams(objects.state, objects.objects, image) };
  }

  /** Why `image` must be a server PNG for the objects applied, or null. */
  objectReason(image) {
    const state = this.pane.objects.state;
    if (state.presentation) return 'presentation';
    if (state.segmentation) return 'segmentation';
    const info = this.pane.knownInfo(image.instance);
    if (info && info.kind && info.kind !== 'image') return info.kind;
    if (state.overlays && info && info.overlays && info.overlays.length) return 'overlays';
    return null;
  }

  /** True when `image` is drawn from its frame on the client; false for server PNGs. */
  clientPath(image) {
    return !this.model.serverReason(image.instance) && !this.objectReason(image);
  }

  /** Why the image on screen is a server PNG (for the overlay), or null. */
  serverReason() {
    const shown = this.pane.shownImage;
    return shown && (this.model.serverReason(shown.instance) || this.objectReason(shown));
  }

  setBusy(busy) {
    this.canvas.dataset.busy = busy ? '1' : '0';
    this.pane.element.dataset.busy = this.canvas.dataset.busy;
  }

  /** Ask for the info of `instance` soon (later while scrolling fast; after the drag during one). */
  infoSoon(instance, slow) {
    clearTimeout(this.infoTimer);
    this.infoTimer = setTimeout(() => {
      if (this.pane.drag) this.infoPending = instance;   // asked once the drag ends: no request during a drag
      else this.pane.infoFor(instance);
    }, slow ? 1000 : 250);
  }

  infoArrived(instanceId, info) {
    if (info) for (const frame of this.frames.framesOf(instanceId)) frame.pixelSpacing = info.pixel_spacing;
    const shown = this.pane.shownImage;
    if (shown && shown.instance === instanceId && info && info.columns && info.rows) {
      this.viewport.setDims({ cols: info.columns, rows: info.rows });
    }
    const current = this.pane.current;
    if (current && current.instance === instanceId) {
      // The info may move the image to the server path (overlays, a PDF, a video): ask again.
      if (this.renderedClient && !this.clientPath(current)) this.render();
      else if (info && info.kind && info.kind !== 'image' && this.canvas.dataset.state === 'error') this.render();
    }
  }

  /** The objects applied changed: server PNGs with them. */
  reload() {
    this.loader.reset();
    this.render();
  }

  /** Show the current image with the current parameters. */
  render() {
    const image = this.pane.current;
    if (!image) return;
    this.renderedClient = this.clientPath(image);   // the path the current image was last asked from
    if (this.renderedClient) {
      this.renderClient(image);
      return;
    }
    const info = this.pane.knownInfo(image.instance);
    const dims = info && info.columns && info.rows ? { cols: info.columns, rows: info.rows } : this.viewport.dims;
    const drag = this.pane.drag;
    const size = this.viewport.requestSize(dims, drag && drag.mode === 'window' ? DRAG_BOX : Infinity);
    if (this.pane.shownIndex < 0) this.canvas.dataset.state = 'loading';
    const url = pngUrl(image.instance, image.frame, this.renderParams(image, size));
    this.loader.request(url, { index: this.pane.index, size, url });
  }

  renderClient(image) {
    this.loader.reset();   // a server PNG still on its way must not replace this image
    const key = frameKey(image);
    if (this.frameOf(image)) this.scheduleDraw();
    else if (this.model.frameErrors.has(key)) this.pane.showError(this.model.frameErrors.get(key), this.pane.index);
    else {
      this.setBusy(true);
      if (this.pane.shownIndex < 0) this.canvas.dataset.state = 'loading';
    }
    this.scheduleFrames();
  }

  /** Draw the current frame at the next animation frame (window changes within a frame are drawn once). */
  scheduleDraw() {
    if (!this.drawRequest) this.drawRequest = requestAnimationFrame(() => this.drawClient());
  }

  /** Draw a scheduled frame now. */
  flushDraw() {
    if (!this.drawRequest) return;
    cancelAnimationFrame(this.drawRequest);
    this.drawClient();
  }

  drawClient() {
    this.drawRequest = 0;
    const { pane } = this;
    const image = pane.current;
    if (!image || !this.clientPath(image)) return;
    const frame = this.frameOf(image);
    if (!frame) return;
    if (!this.viewport.renderer.canShow(frame)) {
      this.model.useServer(image.instance, 'size');
      this.render();
      return;
    }
    let voi;
    try {
      voi = chooseVoi(frame, pane.window);
    } catch (error) {
      pane.showError(error, pane.index);
      return;
    }
    this.viewport.showFrame(frame, voi, pane.invert);
    this.setBusy(false);
    this.shown(pane.index, `client-${this.viewport.renderer.name}`, pngUrl(image.instance, image.frame, this.renderParams(image, null)));
  }

  /** The frames wanted now, most needed first: the current image, ahead in the latest direction, behind. */
  wantedFrames() {
    const { pane } = this;
    const images = pane.images;
    const count = images.length;
    const wanted = [];
    const current = this.frameOf(pane.current);
    const each = current ? current.bytes : 0;
    const budget = pane.host.prefetchBytes();
    const add = (index) => {
      const image = images[pane.playing ? (index + count) % count : index];
      if (image && this.clientPath(image) && !this.model.frameErrors.has(frameKey(image)) && !wanted.includes(image)) {
        wanted.push(image);
      }
    };
    const room = () => (wanted.length + 1) * each <= budget;
    add(pane.index);
    for (let step = 1; step <= FRAMES_AHEAD && step < count && room(); step += 1) add(pane.index + pane.direction * step);
    for (let step = 1; step <= FRAMES_BEHIND && step < count && room(); step += 1) add(pane.index - pane.direction * step);
    return wanted;
  }

  scheduleFrames() {
    if (!this.pane.images.length) return;
    this.client.pause(Boolean(this.pane.drag));
    this.client.schedule(this.wantedFrames());
  }

  /** A frame arrived in the shared store (perhaps another viewport's). */
  frameArrived(key, result) {
    if (!this.model) return;
    const instance = key.slice(0, key.lastIndexOf('/'));
    const current = this.pane.current && frameKey(this.pane.current) === key;
    if (!(result instanceof Frame)) {
      // The server shows this instance through its PNG route (colour, or values the client cannot take).
      if (!this.pane.images.some((image) => image.instance === instance)) return;
      this.model.useServer(instance, result.reason);
      if (current) this.render();
      return;
    }
    const info = this.pane.knownInfo(instance);
    if (info) result.pixelSpacing = info.pixel_spacing;
    if (current) {
      this.scheduleDraw();
      this.flushDraw();   // drawn now: the wait was for this frame
      this.pane.host.changed(this.pane, 'frame');
      if (!this.pane.drag) this.scheduleFrames();   // the frame's size now bounds how many more are wanted
    }
  }

  frameFailed(key, error) {
    if (!this.model) return;
    const instance = key.slice(0, key.lastIndexOf('/'));
    if (!this.pane.images.some((image) => image.instance === instance)) return;
    this.pane.infoFor(instance);   // a PDF, report or video: its info says so
    if (error instanceof ServerError && error.status >= 400 && error.status < 500) {
      this.model.frameErrors.set(key, error);   // the PNG route answers the same error
    } else {
      this.model.useServer(instance, 'error');   // let the PNG route try
    }
    if (this.pane.current && frameKey(this.pane.current) === key) this.render();
  }

  /** A drag starts: no request while it lasts (the client path draws from memory). */
  dragStarted() {
    this.client.pause(true);
  }

  dragEnded(windowing) {
    if (windowing) this.render();   // the full-quality image of the final window
    this.prefetchAhead();
  }

  prefetchAhead() {
    const { pane } = this;
    if (pane.drag || !pane.images.length) return;
    this.client.pause(false);
    if (pane.current && this.clientPath(pane.current)) {
      this.scheduleFrames();
      if (this.infoPending) pane.infoFor(this.infoPending);
      this.infoPending = null;
      return;
    }
    const count = pane.playing ? PREFETCH_CINE : PREFETCH;
    const urls = [];
    const size = this.viewport.requestSize();
    for (let step = 1; step <= count && step < pane.images.length; step += 1) {
      let index = pane.index + pane.direction * step;
      if (pane.playing) index = (index + pane.images.length) % pane.images.length;
      if (index < 0 || index >= pane.images.length) break;
      const image = pane.images[index];
      urls.push(pngUrl(image.instance, image.frame, this.renderParams(image, size)));
    }
    this.loader.prefetch(urls);
  }

  showImage(bitmap, meta) {
    const { pane } = this;
    const image = pane.images[meta.index];
    if (!image || (pane.current && this.clientPath(pane.current))) return;
    const info = pane.knownInfo(image.instance);
    let dims = info && info.columns && info.rows ? { cols: info.columns, rows: info.rows } : null;
    if (!dims && this.viewport.dims && pane.shownIndex >= 0 && sameAspect(this.viewport.dims, bitmap)) dims = this.viewport.dims;
    this.viewport.show(bitmap, dims || { cols: bitmap.width, rows: bitmap.height });
    this.shown(meta.index, 'server', meta.url);
    if (!pane.drag) this.prefetchAhead();
  }

  /** Book-keeping of an image drawn by either path (`path`: 'server', 'client-canvas', 'client-webgl2'). */
  shown(index, path, url) {
    this.renders += 1;
    Object.assign(this.canvas.dataset, { renders: String(this.renders), url, path, state: 'ready' });
    this.pane.imageShown(index);
  }

  /** The image failed: nothing on the canvas. */
  cleared() {
    this.setBusy(false);
    this.viewport.clear();
  }

  /** Ready when `image` can be drawn without waiting (server PNGs: always try). */
  ready(image) {
    if (!this.clientPath(image)) return true;
    return this.frames.has(image) || this.model.frameErrors.has(frameKey(image));
  }

  viewChanged() {
    clearTimeout(this.sizeTimer);
    // A bigger zoom may need a sharper server PNG: ask once the zoom settles.
    // A client frame is at full resolution already.
    const current = this.pane.current;
    if (current && this.model && !this.clientPath(current)) this.sizeTimer = setTimeout(() => this.render(), 120);
  }

  /** The full-resolution PNG of the view on screen, as an absolute URL. */
  pngUrl() {
    const image = this.pane.current;
    return image ? new URL(pngUrl(image.instance, image.frame, this.renderParams(image, null)), location.href).href : null;
  }
}

function sameAspect(dims, bitmap) {
  return Math.abs(dims.cols / dims.rows - bitmap.width / bitmap.height) < 0.02;
}
