// The series viewer: one canvas, the images of a series in viewing order
// (slices and the frames of multi-frame instances alike), window/level,
// zoom, pan, invert, cine, and an overlay with what is on screen.
//
// Two paths draw an image.  The client path (grayscale frames): each frame
// is fetched once at full precision (frame.js, the pixels route) and its
// Modality, VOI and Presentation stages are computed here (lut.js), by WebGL2
// or canvas 2D (renderer.js), so window/level, inversion and scrolling
// through loaded frames make no request; neighbouring frames are prefetched
// (frames.js).  The server path (colour, or what the client path cannot
// show): PNGs rendered by the server at screen size (loader.js).  The overlay
// says which path drew the image.
import { ServerError, api, pngUrl } from './api.js';
import { el, $ } from './dom.js';
import * as format from './format.js';
import { Frame, frameUrl } from './frame.js';
import { FrameCache, frameKey } from './frames.js';
import { ImageLoader } from './loader.js';
import { chooseVoi } from './lut.js';
import { bindPointer } from './pointer.js';
import { CT_PRESETS } from './presets.js';
import { createRenderer } from './renderer.js';
import { copyText, downloadPng } from './share.js';
import { seriesCards } from './thumbnails.js';
import { MeasureTools } from './tools.js';
import { ObjectsPanel, objectParams } from './objects.js';
import { Viewport } from './viewport.js';
import { clampIndex, viewFromParams, viewQuery } from './viewstate.js';

const PREFETCH = 3;           // server PNGs fetched ahead while scrolling
const PREFETCH_CINE = 8;
// Client frames wanted around the image on screen: ahead in the direction of
// the latest move, then behind; no more than PREFETCH_BYTES of them.
const FRAMES_AHEAD = 40;
const FRAMES_BEHIND = 8;
const PREFETCH_BYTES = 192 * 2 ** 20;
const PATH_LABELS = { server: 'Server PNG', 'client-canvas': 'Client · canvas 2D', 'client-webgl2': 'Client · WebGL2' };
const SERVER_REASONS = { colour: 'colour', values: 'values the client cannot take', size: 'too large for WebGL', error: 'client path failed' };
// While window/level is dragged, large images are asked for at most this
// size, which the server renders several times faster; the screen-sized
// image follows when the button is released.
const DRAG_BOX = 512;

export class SeriesViewer {
  constructor(section, tags) {
    this.section = section;
    this.tags = tags;
    this.canvas = $('#canvas', section);
    this.message = $('#viewport-message', section);
    this.slider = $('#slider', section);
    this.preset = $('#preset', section);
    this.fps = $('#fps', section);
    this.playButton = $('#play', section);
    this.strip = $('#series-strip', section);
    this.viewport = new Viewport(createRenderer(this.canvas), { onChange: () => this.viewChanged() });
    this.canvas = this.viewport.canvas;
    this.canvas.dataset.renderer = this.viewport.renderer.name;
    this.frames = new FrameCache({
      urlOf: (image) => frameUrl(image.instance, image.frame),
      onLoad: (key, result) => this.frameArrived(key, result),
      onError: (key, error) => this.frameFailed(key, error),
      onRequest: (count) => { this.canvas.dataset.fetching = String(count); },
    });
    this.serverPath = new Map();   // instance id -> why its images are server PNGs
    this.seriesServer = null;      // set when an instance of the series is colour: the rest follow it
    this.frameErrors = new Map();  // frame key -> the pixels route's 4xx (the PNG route fails alike)
    this.drawRequest = 0;
    this.renderedClient = false;
    this.holding = null;
    this.loader = new ImageLoader({
      onImage: (bitmap, meta) => this.showImage(bitmap, meta),
      onError: (error, meta) => this.showError(error, meta),
      onBusy: (busy) => this.setBusy(busy),
    });
    this.infos = new Map();     // instance id -> info (or a Promise of it)
    this.series = null;
    this.images = [];           // [{instance, frame, frames, number, location, position}]
    this.index = 0;             // the image wanted
    this.shownIndex = -1;       // the image on screen
    this.window = null;         // null: auto; {voi}; {center, width}
    this.invert = false;
    this.tool = 'window';
    this.playing = false;
    this.renders = 0;
    this.drag = null;
    this.urlTimer = 0;
    this.infoTimer = 0;
    this.tools = new MeasureTools(this);   // probe, length, ellipse ROI
    this.objects = new ObjectsPanel($('#objects-panel', section), () => this.objectsChanged());
    this.report = $('#report', section);
    this.documentLink = $('#document-link', section);
    this.overlaysButton = $('#overlays', section);
    this.bindControls();
    bindPointer(this.canvas, this);
  }

  // --- opening and closing ---------------------------------------------------------

  /** Open a series; `params` (URLSearchParams) may restore image, window, invert, zoom, pan. */
  async open(seriesId, params) {
    this.close();
    this.section.dataset.state = 'loading';
    this.seriesId = seriesId;
    let series;
    try {
      series = await api.series(seriesId);
    } catch (error) {
      this.showError(error);
      return null;
    }
    if (this.seriesId !== seriesId) return null;
    this.series = series;
    this.images = series.instances.flatMap((instance, instanceIndex) =>
      Array.from({ length: instance.frames }, (_, frame) => ({
        instance: instance.id, frame, frames: instance.frames, instanceIndex,
        number: instance.number, location: instance.location, uid: instance.uid,
      })));
    this.slider.max = String(Math.max(1, this.images.length));
    this.slider.disabled = this.images.length < 2;
    this.playButton.disabled = this.images.length < 2;
    const view = this.applyParams(params);
    this.fillPresets();
    this.updateOverlay();
    api.objects(seriesId).then((objects) => { if (this.seriesId === seriesId) this.objects.setObjects(objects); },
      () => {});   // no list: nothing to apply
    // The series strip (its thumbnails are server renders) waits for the first image.
    this.stripPending = series.study.id;
    this.stripTimer = setTimeout(() => this.loadPendingStrip(), 1000);
    if (!this.images.length) {
      this.showError(new Error('This series has no images.'));
      return series;
    }
    if (view.zoom !== null) this.viewport.setView({ zoom: view.zoom, pan: view.pan });
    // The client path needs nothing more; the instance's info (pixel spacing,
    // and the size a server PNG is asked at) follows once the image is up.
    const instance = this.current.instance;
    this.infoTimer = setTimeout(() => this.infoFor(instance), 250);
    this.render();
    return series;
  }

  close() {
    this.stop();
    this.release();
    this.loader.reset();
    this.frames.cancel();
    cancelAnimationFrame(this.drawRequest);
    this.drawRequest = 0;
    this.seriesServer = null;
    this.stripPending = null;
    clearTimeout(this.stripTimer);
    this.seriesId = null;
    this.series = null;
    this.images = [];
    this.shownIndex = -1;
    this.viewport.dims = null;
    this.viewport.clear();
    for (const name of ['series', 'instance', 'frame']) delete this.canvas.parentElement.dataset[name];
    this.message.hidden = true;
    this.objects.reset();
    this.showKind(null);
  }

  // --- objects: overlays, presentation states, segmentations, documents --------------

  /** A presentation state, segmentation or overlay toggle changed: server PNGs with them. */
  objectsChanged() {
    this.overlaysButton.setAttribute('aria-pressed', String(this.objects.state.overlays));
    this.loader.reset();
    this.render();
    this.updateOverlay();
  }

  /** True when the current image has overlays (known from its info). */
  hasOverlays(image = this.current) {
    const info = image && this.knownInfo(image.instance);
    return Boolean(info && info.overlays && info.overlays.length);
  }

  toggleOverlays() {
    this.objects.setOverlays(!this.objects.state.overlays);
  }

  /** Why `image` must be a server PNG for the objects applied, or null. */
  objectReason(image) {
    const state = this.objects.state;
    if (state.presentation) return 'presentation';
    if (state.segmentation) return 'segmentation';
    const info = this.knownInfo(image.instance);
    if (info && info.kind && info.kind !== 'image') return info.kind;
    if (state.overlays && info && info.overlays && info.overlays.length) return 'overlays';
    return null;
  }

  /** The page shows an image, a report's iframe, or a PDF with its download link (kind of the current instance). */
  showKind(info) {
    const kind = info ? info.kind : null;
    const report = kind === 'report' && info.report;
    if (report) {
      const src = new URL(report, location.href).href;
      if (this.report.dataset.src !== src) {
        this.report.dataset.src = src;
        this.report.src = src;
      }
    } else if (this.report.dataset.src) {
      this.report.removeAttribute('src');
      delete this.report.dataset.src;
    }
    this.report.hidden = !report;
    this.canvas.hidden = Boolean(report);
    this.section.dataset.kind = kind || '';
    if (kind === 'pdf' && info.document) {
      this.documentLink.href = new URL(info.document, location.href).href;
      this.documentLink.hidden = false;
    } else {
      this.documentLink.hidden = true;
      this.documentLink.removeAttribute('href');
    }
    this.overlaysButton.hidden = !(info && info.overlays && info.overlays.length);
  }

  /** A PDF's pages are its frames: the series API counts one, its info the pages. */
  expandPages(instanceId, pages) {
    const at = this.images.findIndex((image) => image.instance === instanceId);
    if (at < 0 || this.images[at].frames >= pages) return;
    const first = this.images[at];
    const current = this.current;
    const pageImages = Array.from({ length: pages }, (_, frame) => ({ ...first, frame, frames: pages }));
    this.images = [...this.images.slice(0, at), ...pageImages,
      ...this.images.slice(at).filter((image) => image.instance !== instanceId)];
    this.index = Math.max(0, this.images.indexOf(current));
    if (this.index === at && current.instance === instanceId) this.index = at + current.frame;
    this.slider.max = String(Math.max(1, this.images.length));
    this.slider.disabled = this.images.length < 2;
    this.playButton.disabled = this.images.length < 2;
  }

  applyParams(params) {
    const view = viewFromParams(params, this.images.length);
    this.index = view.index;
    this.invert = view.invert;
    this.window = view.window;
    this.viewport.fitted = true;
    this.viewport.pan = { x: 0, y: 0 };
    $('#invert', this.section).setAttribute('aria-pressed', String(this.invert));
    return view;
  }

  loadPendingStrip() {
    clearTimeout(this.stripTimer);
    const studyId = this.stripPending;
    this.stripPending = null;
    if (studyId && this.series && this.series.study.id === studyId) this.loadStrip(studyId);
  }

  async loadStrip(studyId) {
    this.strip.replaceChildren();
    try {
      const study = await api.study(studyId);
      if (!this.series || this.series.study.id !== studyId) return;
      this.strip.replaceChildren(...seriesCards(study, { current: this.series.id, compact: true }));
    } catch (error) {
      this.strip.replaceChildren(el('p', { class: 'error', text: error.message }));
    }
  }

  // --- information about instances ---------------------------------------------

  /** The info of an instance (/instances/{id}/info), fetched once. */
  infoFor(instanceId) {
    if (!this.infos.has(instanceId)) {
      const promise = api.info(instanceId).then((info) => {
        this.infos.set(instanceId, info);
        this.infoArrived(instanceId);
        return info;
      }, (error) => {
        const info = { error: error.message };
        this.infos.set(instanceId, info);
        return info;
      });
      this.infos.set(instanceId, promise);
    }
    return Promise.resolve(this.infos.get(instanceId));
  }

  /** The info of an instance if it has arrived, else null. */
  knownInfo(instanceId) {
    const info = this.infos.get(instanceId);
    return info && !(info instanceof Promise) && !info.error ? info : null;
  }

  infoArrived(instanceId) {
    const arrived = this.knownInfo(instanceId);
    if (arrived && arrived.kind === 'pdf' && arrived.frames > 1) this.expandPages(instanceId, arrived.frames);
    if (arrived && arrived.kind && arrived.kind !== 'image') {
      // Not an image: the pixels route refused it, the PNG route shows it.
      for (const key of [...this.frameErrors.keys()]) if (key.startsWith(`${instanceId}/`)) this.frameErrors.delete(key);
    }
    if (arrived) for (const frame of this.frames.framesOf(instanceId)) frame.pixelSpacing = arrived.pixel_spacing;
    const shown = this.images[this.shownIndex];
    if (shown && shown.instance === instanceId) {
      const info = this.knownInfo(instanceId);
      if (info && info.columns && info.rows) this.viewport.setDims({ cols: info.columns, rows: info.rows });
    }
    if (this.current && this.current.instance === instanceId) {
      this.showKind(arrived);
      this.fillPresets();
      this.updateOverlay();
      // The info may move the image to the server path (overlays, a PDF, a video): ask again.
      if (this.renderedClient && !this.clientPath(this.current)) this.render();
      else if (arrived && arrived.kind && arrived.kind !== 'image' && this.canvas.dataset.state === 'error') this.render();
    }
  }

  get current() {
    return this.images[this.index];
  }

  /** The image's frame at full precision if it has arrived, else null. */
  frameOf(image) {
    const frame = image && this.frames.frames.get(frameKey(image));
    return frame instanceof Frame ? frame : null;
  }

  /**
   * What is known of an image's display: from its frame (client path) or
   * from its instance's info; null when neither has arrived.
   */
  displayMeta(image = this.current) {
    const frame = this.frameOf(image);
    if (frame) {
      return { color: false, windows: frame.windows, voiLuts: frame.voiLuts, defaultWindow: frame.head.default.window || null,
        bits: frame.head.bits, slope: frame.slope, intercept: frame.intercept };
    }
    const info = image && this.knownInfo(image.instance);
    if (!info) return null;
    const color = (info.samples_per_pixel || 1) > 1 || String(info.photometric_interpretation || '').startsWith('PALETTE');
    return { color, windows: info.windows, voiLuts: info.voi_luts || [], defaultWindow: info.default_window,
      bits: info.bits_stored, slope: info.rescale_slope ?? 1, intercept: info.rescale_intercept ?? 0 };
  }

  isColor(meta = this.displayMeta()) {
    return Boolean(meta && meta.color);
  }

  /**
   * The window on screen as {center, width, label}, or null if none applies
   * or is known.  A VOI LUT on screen is {center, width, label, lut: true},
   * the window a drag starts from being the full range of the stored bits.
   */
  effectiveWindow() {
    const meta = this.displayMeta();
    if (this.isColor(meta)) return null;
    if (this.window && 'center' in this.window) {
      const preset = this.isCT() && CT_PRESETS.find((p) => p.center === this.window.center && p.width === this.window.width);
      return { ...this.window, label: preset ? preset.name : '' };
    }
    if (!meta) return null;
    const full = () => {
      const width = 2 ** (meta.bits || 16) * Math.abs(meta.slope || 1);
      return { center: (meta.intercept || 0) + width / 2, width };
    };
    if (this.window && 'voi' in this.window) {
      const stored = meta.windows[this.window.voi];
      if (stored) return { center: stored.center, width: stored.width, label: stored.explanation || `file window ${this.window.voi + 1}` };
      const lut = meta.voiLuts[this.window.voi - meta.windows.length];
      return lut ? { ...full(), label: lut.explanation || `VOI LUT ${this.window.voi - meta.windows.length + 1}`, lut: true } : null;
    }
    if (meta.defaultWindow) {
      const stored = meta.windows.length && meta.windows[0].center === meta.defaultWindow.center
        && meta.windows[0].width === meta.defaultWindow.width;
      return { center: meta.defaultWindow.center, width: meta.defaultWindow.width, label: stored ? 'file' : 'auto' };
    }
    if (meta.voiLuts.length) return { ...full(), label: meta.voiLuts[0].explanation || 'VOI LUT', lut: true };
    if (meta.bits) return { ...full(), label: 'auto' };
    return null;
  }

  isCT() {
    return this.series && this.series.modality === 'CT';
  }

  // --- rendering ---------------------------------------------------------------------

  /** The PNG parameters of `image` at `size`: a presentation state or segmentation only on an image it references. */
  renderParams(image, size) {
    return { window: this.window, invert: this.invert, size, ...objectParams(this.objects.state, this.objects.objects, image) };
  }

  /** True when `image` is drawn from its frame on the client; false for server PNGs. */
  clientPath(image) {
    return !this.seriesServer && !this.serverPath.has(image.instance) && !this.objectReason(image);
  }

  setBusy(busy) {
    this.canvas.dataset.busy = busy ? '1' : '0';
    this.canvas.parentElement.dataset.busy = this.canvas.dataset.busy;
  }

  /** Show the current image with the current parameters. */
  render() {
    const image = this.current;
    if (!image) return;
    this.renderedClient = this.clientPath(image);   // the path the current image was last asked from
    if (this.renderedClient) {
      this.renderClient(image);
      return;
    }
    const info = this.knownInfo(image.instance);
    const dims = info && info.columns && info.rows ? { cols: info.columns, rows: info.rows } : this.viewport.dims;
    const size = this.viewport.requestSize(dims, this.drag && this.drag.mode === 'window' ? DRAG_BOX : Infinity);
    this.canvas.dataset.state = this.shownIndex < 0 ? 'loading' : this.canvas.dataset.state;
    const url = pngUrl(image.instance, image.frame, this.renderParams(image, size));
    this.loader.request(url, { index: this.index, size, url });
  }

  renderClient(image) {
    this.loader.reset();   // a server PNG still on its way must not replace this image
    const key = frameKey(image);
    if (this.frameOf(image)) this.scheduleDraw();
    else if (this.frameErrors.has(key)) this.showError(this.frameErrors.get(key), { index: this.index });
    else {
      this.setBusy(true);
      if (this.shownIndex < 0) this.canvas.dataset.state = 'loading';
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
    const image = this.current;
    if (!image || !this.clientPath(image)) return;
    const frame = this.frameOf(image);
    if (!frame) return;
    if (!this.viewport.renderer.canShow(frame)) {
      this.serverPath.set(image.instance, 'size');
      this.render();
      return;
    }
    let voi;
    try {
      voi = chooseVoi(frame, this.window);
    } catch (error) {
      this.showError(error, { index: this.index });
      return;
    }
    this.viewport.showFrame(frame, voi, this.invert);
    this.setBusy(false);
    this.imageShown(this.index, `client-${this.viewport.renderer.name}`,
      pngUrl(image.instance, image.frame, this.renderParams(image, null)));
  }

  /** The frames wanted now, most needed first: the current image, ahead in the latest direction, behind. */
  wantedFrames() {
    const count = this.images.length;
    const direction = this.direction || 1;
    const wanted = [];
    const current = this.frameOf(this.current);
    const each = current ? current.bytes : 0;
    const add = (index) => {
      const image = this.images[this.playing ? (index + count) % count : index];
      if (image && this.clientPath(image) && !this.frameErrors.has(frameKey(image)) && !wanted.includes(image)) {
        wanted.push(image);
      }
    };
    const room = () => (wanted.length + 1) * each <= PREFETCH_BYTES;
    add(this.index);
    for (let step = 1; step <= FRAMES_AHEAD && step < count && room(); step += 1) add(this.index + direction * step);
    for (let step = 1; step <= FRAMES_BEHIND && step < count && room(); step += 1) add(this.index - direction * step);
    return wanted;
  }

  scheduleFrames() {
    if (!this.images.length) return;
    this.frames.pause(Boolean(this.drag));
    this.frames.schedule(this.wantedFrames());
  }

  frameArrived(key, result) {
    const instance = key.slice(0, key.lastIndexOf('/'));
    const current = this.current && frameKey(this.current) === key;
    if (!(result instanceof Frame)) {
      // The server shows this instance through its PNG route (colour, or values the client cannot take).
      this.serverPath.set(instance, result.reason);
      if (result.reason === 'colour') this.seriesServer = 'colour';
      if (current) this.render();
      return;
    }
    const info = this.knownInfo(instance);
    if (info) result.pixelSpacing = info.pixel_spacing;
    if (current) {
      this.scheduleDraw();
      this.flushDraw();   // drawn now: the wait was for this frame
      this.fillPresets();
      if (!this.drag) this.scheduleFrames();   // the frame's size now bounds how many more are wanted
    }
  }

  frameFailed(key, error) {
    this.infoFor(key.slice(0, key.lastIndexOf('/')));   // a PDF, report or video: its info says so
    if (error instanceof ServerError && error.status >= 400 && error.status < 500) {
      this.frameErrors.set(key, error);   // the PNG route answers the same error
    } else {
      this.serverPath.set(key.slice(0, key.lastIndexOf('/')), 'error');   // let the PNG route try
    }
    if (this.current && frameKey(this.current) === key) this.render();
  }

  /** A drag starts: no request while it lasts (the client path draws from memory). */
  dragStarted() {
    this.frames.pause(true);
  }

  prefetchAhead(direction = this.direction || 1) {
    if (this.drag || !this.images.length) return;
    this.frames.pause(false);
    if (this.current && this.clientPath(this.current)) {
      this.scheduleFrames();
      if (this.infoPending) this.infoFor(this.infoPending);
      this.infoPending = null;
      return;
    }
    const count = this.playing ? PREFETCH_CINE : PREFETCH;
    const urls = [];
    const size = this.viewport.requestSize();
    for (let step = 1; step <= count && step < this.images.length; step += 1) {
      let index = this.index + direction * step;
      if (this.playing) index = (index + this.images.length) % this.images.length;
      if (index < 0 || index >= this.images.length) break;
      const image = this.images[index];
      urls.push(pngUrl(image.instance, image.frame, this.renderParams(image, size)));
    }
    this.loader.prefetch(urls);
  }

  showImage(bitmap, meta) {
    const image = this.images[meta.index];
    if (!image || (this.current && this.clientPath(this.current))) return;
    const info = this.knownInfo(image.instance);
    let dims = info && info.columns && info.rows ? { cols: info.columns, rows: info.rows } : null;
    if (!dims && this.viewport.dims && this.shownIndex >= 0 && sameAspect(this.viewport.dims, bitmap)) dims = this.viewport.dims;
    this.viewport.show(bitmap, dims || { cols: bitmap.width, rows: bitmap.height });
    this.imageShown(meta.index, 'server', meta.url);
    if (!this.drag) this.prefetchAhead(this.direction || 1);
  }

  /** Book-keeping of an image drawn by either path (`path`: 'server', 'client-canvas', 'client-webgl2'). */
  imageShown(index, path, url) {
    this.shownIndex = index;
    // What the viewport shows, by Orthanc ids and 0-based frame (a contract for tests and scripts).
    const image = this.images[index];
    const area = this.canvas.parentElement.dataset;
    if (image) Object.assign(area, { series: this.seriesId, instance: image.instance, frame: String(image.frame) });
    this.message.hidden = true;
    this.renders += 1;
    this.canvas.dataset.renders = String(this.renders);
    this.canvas.dataset.url = url;
    this.canvas.dataset.path = path;
    this.canvas.dataset.state = 'ready';
    this.section.dataset.state = 'ready';
    this.updateOverlay();
    if (this.stripPending) this.loadPendingStrip();
  }

  showError(error, meta) {
    this.setBusy(false);
    if (this.stripPending) queueMicrotask(() => this.loadPendingStrip());
    if (meta) this.shownIndex = meta.index;
    this.viewport.clear();
    this.message.replaceChildren(el('strong', { text: 'This image cannot be shown' }), el('span', { text: error.message }));
    this.message.hidden = false;
    this.canvas.dataset.state = 'error';
    this.section.dataset.state = 'error';
    this.updateOverlay();
  }

  // --- changes ------------------------------------------------------------------------

  /** Show image `index` (clamped); `direction` guides prefetching. */
  go(index, direction = Math.sign(index - this.index) || 1) {
    const next = clampIndex(index, this.images.length);
    if (next === this.index && this.shownIndex >= 0) return;
    this.direction = direction;
    this.index = next;
    this.slider.value = String(next + 1);
    this.render();
    this.updateOverlay();
    this.saveUrl();
    this.tags.show(this.current.instance);
    this.showKind(this.knownInfo(this.current.instance));
    clearTimeout(this.infoTimer);
    const instance = this.current.instance;
    this.infoTimer = setTimeout(() => {
      if (this.drag) this.infoPending = instance;   // asked once the drag ends: no request during a drag
      else this.infoFor(instance);
    }, this.playing || this.holding ? 1000 : 250);
  }

  step(delta) {
    this.go(this.index + delta, Math.sign(delta));
  }

  setWindow(window) {
    this.window = window;
    this.fillPresets();
    this.render();
    this.updateOverlay();
    this.saveUrl();
  }

  setInvert(invert) {
    this.invert = invert;
    $('#invert', this.section).setAttribute('aria-pressed', String(invert));
    this.render();
    this.updateOverlay();
    this.saveUrl();
  }

  setTool(tool) {
    this.tool = tool;
    for (const button of this.section.querySelectorAll('[data-tool]')) {
      button.setAttribute('aria-pressed', String(button.dataset.tool === tool));
    }
    this.canvas.dataset.tool = tool;
  }

  viewChanged() {
    this.updateOverlay();
    this.saveUrl();
    clearTimeout(this.sizeTimer);
    // A bigger zoom may need a sharper server PNG: ask once the zoom settles.
    // A client frame is at full resolution already.
    if (this.current && !this.clientPath(this.current)) this.sizeTimer = setTimeout(() => this.render(), 120);
  }

  // --- holding an arrow key ---------------------------------------------------------

  /**
   * An arrow key held down (its key repeats arrive): step through the
   * images at the display's rate, one per animation frame, as soon as the
   * next one is loaded, until release() (keyup) or the end of the series.
   * The key repeat rate of the system does not matter.
   */
  hold(direction) {
    if (this.holding && this.holding.direction === direction) return;
    this.release();
    const holding = { direction, frame: 0 };
    this.holding = holding;
    const tick = () => {
      if (this.holding !== holding) return;
      const next = this.index + direction;
      if (next < 0 || next >= this.images.length) {
        this.release();
        return;
      }
      if (this.shownIndex === this.index && this.ready(this.images[next])) {
        this.go(next, direction);
        this.flushDraw();
      }
      holding.frame = requestAnimationFrame(tick);
    };
    holding.frame = requestAnimationFrame(tick);
  }

  release() {
    if (!this.holding) return;
    cancelAnimationFrame(this.holding.frame);
    this.holding = null;
  }

  /** True when `image` can be drawn without waiting (server PNGs: always try). */
  ready(image) {
    if (!this.clientPath(image)) return true;
    const key = frameKey(image);
    return this.frames.has(image) || this.frameErrors.has(key);
  }

  // --- cine -------------------------------------------------------------------------

  play() {
    if (this.images.length < 2 || this.playing) return;
    this.playing = true;
    this.playButton.textContent = '❚❚ Pause';
    this.playButton.setAttribute('aria-pressed', 'true');
    let last = 0;
    const tick = (now) => {
      if (!this.playing) return;
      const interval = 1000 / clampFps(Number(this.fps.value));
      if (this.shownIndex === this.index && now - last >= interval) {
        last = now;
        this.go((this.index + 1) % this.images.length, 1);
      }
      this.frameRequest = requestAnimationFrame(tick);
    };
    this.frameRequest = requestAnimationFrame(tick);
  }

  stop() {
    if (!this.playing) return;
    this.playing = false;
    cancelAnimationFrame(this.frameRequest);
    this.playButton.textContent = '▶ Play';
    this.playButton.setAttribute('aria-pressed', 'false');
  }

  // --- overlay, presets and URL ---------------------------------------------------

  updateOverlay() {
    this.tools.update();   // measurements follow the image, zoom and pan
    const series = this.series;
    const set = (id, text) => {
      const node = $(id, this.section);
      if (node.textContent !== text) node.textContent = text;   // unchanged text: no relayout while dragging
    };
    if (!series) {
      for (const id of ['#ov-patient', '#ov-patient-detail', '#ov-study', '#ov-series', '#overlay-position',
        '#overlay-location', '#overlay-window', '#overlay-zoom', '#overlay-path']) set(id, '');
      return;
    }
    const patient = series.patient;
    set('#ov-patient', format.personName(patient.name) || '(no name)');
    set('#ov-patient-detail', [patient.patient_id && `ID ${patient.patient_id}`, patient.sex,
      patient.birth_date && format.date(patient.birth_date)].filter(Boolean).join(' · '));
    set('#ov-study', [series.study.description, format.date(series.study.date)].filter(Boolean).join(' · '));
    set('#ov-series', [series.number !== null ? `Series ${series.number}` : 'Series', series.modality,
      series.description].filter(Boolean).join(' · '));
    const image = this.current;
    if (image) {
      const parts = [];
      const kind = this.section.dataset.kind;
      if (kind === 'pdf') parts.push(`Page ${image.frame + 1} / ${image.frames}`);
      else if (series.instances.length === 1 && image.frames > 1) parts.push(`Frame ${image.frame + 1} / ${image.frames}`);
      else {
        parts.push(`Image ${this.index + 1} / ${this.images.length}`);
        if (image.frames > 1) parts.push(`frame ${image.frame + 1} / ${image.frames}`);
        else if (image.number !== null) parts.push(`#${image.number}`);
      }
      set('#overlay-position', parts.join(' · '));
      set('#overlay-location', image.location !== null ? `Loc ${image.location.toFixed(2)} mm` : '');
    } else {
      set('#overlay-position', 'No image');
      set('#overlay-location', '');
    }
    const window = this.effectiveWindow();
    let windowText = window
      ? `C ${format.level(window.center)}  W ${format.level(window.width)}${window.label ? ` (${window.label})` : ''}`
      : (this.isColor() ? 'Colour' : 'C/W auto');
    if (window && window.lut) windowText = `VOI LUT (${window.label})`;
    set('#overlay-window', windowText + (this.invert ? ' · inverted' : ''));
    set('#overlay-zoom', `Zoom ${Math.round(this.viewport.zoom * 100)}%${this.viewport.fitted ? ' (fit)' : ''}`);
    set('#overlay-path', this.pathText());
    $('#slider-label', this.section).textContent = image ? `${this.index + 1} / ${this.images.length}` : '';
    this.slider.value = String(this.index + 1);
  }

  /** Which path drew the image on screen, for the overlay. */
  pathText() {
    const path = this.canvas.dataset.path;
    if (!path || this.shownIndex < 0) return '';
    const shown = this.images[this.shownIndex];
    const reason = path === 'server' && shown
      && (this.seriesServer || this.serverPath.get(shown.instance) || this.objectReason(shown));
    return `${PATH_LABELS[path] || path}${reason ? ` (${SERVER_REASONS[reason] || reason})` : ''}`;
  }

  fillPresets() {
    const meta = this.displayMeta();
    const options = [el('option', { value: 'auto', text: 'Default window' })];
    const windows = meta ? meta.windows : [];
    windows.forEach((w, i) => {
      options.push(el('option', { value: `voi:${i}`, text: `${w.explanation || `File window ${i + 1}`} (${format.level(w.center)}/${format.level(w.width)})` }));
    });
    (meta ? meta.voiLuts : []).forEach((lut, i) => {
      options.push(el('option', { value: `voi:${windows.length + i}`, text: lut.explanation || `VOI LUT ${i + 1}` }));
    });
    if (this.isCT()) {
      options.push(...CT_PRESETS.map((p, i) => el('option', { value: `preset:${p.key}`, text: `${i + 1} · ${p.name} (${p.center}/${p.width})` })));
    }
    let value = 'auto';
    if (this.window && 'voi' in this.window) value = `voi:${this.window.voi}`;
    else if (this.window) {
      const preset = this.isCT() && CT_PRESETS.find((p) => p.center === this.window.center && p.width === this.window.width);
      if (preset) value = `preset:${preset.key}`;
      else {
        value = 'custom';
        options.push(el('option', { value: 'custom', text: 'Custom', disabled: true }));
      }
    }
    const key = options.map((option) => `${option.value}=${option.textContent}`).join('|');
    if (key !== this.presetKey) {   // the same list (a drag changes only the value): the options stay
      this.preset.replaceChildren(...options);
      this.presetKey = key;
    }
    this.preset.value = value;
    this.preset.disabled = this.isColor(meta);
  }

  choosePreset(value) {
    if (value === 'auto') this.setWindow(null);
    else if (value.startsWith('voi:')) this.setWindow({ voi: Number(value.slice(4)) });
    else if (value.startsWith('preset:')) {
      const preset = CT_PRESETS.find((p) => p.key === value.slice(7));
      if (preset) this.setWindow({ center: preset.center, width: preset.width });
    }
  }

  /** The view on screen, as plain data (viewstate.js). */
  view() {
    const { zoom, pan } = this.viewport.view;
    const moved = !this.viewport.fitted;
    return { index: this.index, window: this.window, invert: this.invert, zoom: moved ? zoom : null, pan: moved ? pan : null };
  }

  /** The hash that reproduces this view. */
  hash() {
    return `#/series/${encodeURIComponent(this.seriesId)}?${viewQuery(this.view())}`;
  }

  saveUrl() {
    if (!this.series) return;
    clearTimeout(this.urlTimer);
    this.urlTimer = setTimeout(() => {
      if (this.series && location.hash.startsWith('#/series/')) history.replaceState(null, '', this.hash());
    }, 150);
  }

  /** The full-resolution PNG of the view on screen, as an absolute URL. */
  pngUrl() {
    const image = this.current;
    return image ? new URL(pngUrl(image.instance, image.frame, this.renderParams(image, null)), location.href).href : null;
  }

  copyUrl() {
    const url = this.pngUrl();
    if (!url) return;
    $('#copy-url', this.section).dataset.url = url;
    copyText(url, 'PNG URL copied');
  }

  download() {
    const url = this.pngUrl();
    if (url) downloadPng(url, `${this.series.modality || 'image'}-series${this.series.number ?? ''}-image${this.index + 1}.png`);
  }

  reset() {
    this.stop();
    this.invert = false;
    $('#invert', this.section).setAttribute('aria-pressed', 'false');
    this.viewport.fit();
    this.setWindow(null);
  }

  /** A keyboard action (see shortcuts.js); true if handled. */
  handle(action) {
    const zoomStep = 1.25;
    const actions = {
      next: () => this.step(1),
      previous: () => this.step(-1),
      next10: () => this.step(10),
      previous10: () => this.step(-10),
      first: () => this.go(0, 1),
      last: () => this.go(this.images.length - 1, -1),
      play: () => (this.playing ? this.stop() : this.play()),
      auto: () => this.setWindow(null),
      invert: () => this.setInvert(!this.invert),
      fit: () => this.viewport.fit(),
      actual: () => this.viewport.actualSize(),
      overlaysOrActual: () => (this.hasOverlays() ? this.toggleOverlays() : this.viewport.actualSize()),
      zoomIn: () => this.viewport.zoomBy(zoomStep),
      zoomOut: () => this.viewport.zoomBy(1 / zoomStep),
      reset: () => this.reset(),
      tags: () => this.toggleTags(),
    };
    if (action.startsWith('preset:')) {
      if (this.isCT()) this.choosePreset(action);
      return true;
    }
    if (action.startsWith('tool:')) {
      this.setTool(action.slice(5));
      return true;
    }
    if (action.startsWith('measure:')) return this.tools.handle(action);
    if (!actions[action]) return false;
    actions[action]();
    return true;
  }

  toggleTags(force) {
    this.tags.toggle(force);
    // Keys typed after closing must reach the viewer, not the hidden filter box.
    if (!this.tags.open && this.tags.panel.contains(document.activeElement)) document.activeElement.blur();
    $('#tags-button', this.section).setAttribute('aria-pressed', String(this.tags.open));
    if (this.current) this.tags.show(this.current.instance);
  }

  // --- controls -----------------------------------------------------------------------

  bindControls() {
    const on = (selector, event, handler) => $(selector, this.section).addEventListener(event, handler);
    for (const button of this.section.querySelectorAll('[data-tool]')) {
      button.addEventListener('click', () => this.setTool(button.dataset.tool));
    }
    this.setTool('window');
    on('#fit', 'click', () => this.viewport.fit());
    on('#actual', 'click', () => this.viewport.actualSize());
    on('#invert', 'click', () => this.setInvert(!this.invert));
    on('#play', 'click', () => (this.playing ? this.stop() : this.play()));
    on('#copy-url', 'click', () => this.copyUrl());
    on('#download', 'click', () => this.download());
    on('#tags-button', 'click', () => this.toggleTags());
    on('#overlays', 'click', () => this.toggleOverlays());
    on('#tags-close', 'click', () => this.toggleTags(false));
    this.preset.addEventListener('change', () => {
      this.choosePreset(this.preset.value);
      this.preset.blur();   // the arrow keys go back to the images
    });
    this.slider.addEventListener('input', () => this.go(Number(this.slider.value) - 1));
    this.fps.addEventListener('change', () => {
      this.fps.value = String(clampFps(Number(this.fps.value)));
      this.fps.blur();
    });
  }
}

function clampFps(fps) {
  return Math.max(1, Math.min(60, Number.isFinite(fps) ? Math.round(fps) : 10));
}

function sameAspect(dims, bitmap) {
  return Math.abs(dims.cols / dims.rows - bitmap.width / bitmap.height) < 0.02;
}
