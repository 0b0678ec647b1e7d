// One viewport of the viewer: a canvas built from the page's template (no
// global ids), the series it shows and its own view of it: image, window,
// inversion, zoom, pan, tool, overlay, measurements and the structure sets'
// contours drawn over it (structures.js).  The drawing goes
// through paths.js (client frames or server PNGs); the viewer (viewer.js)
// hears of every change through host.changed(pane, what) and keeps the
// toolbar, the URL and the other viewports in step.
//
// The element carries data-viewport (its index), data-active, and
// data-series / data-instance / data-frame: the Orthanc ids and 0-based
// frame of the image on screen, a contract for tests and scripts.  A waveform
// (info.kind 'waveform') is shown by waveform.js in place of the canvas.
import { api } from './api.js';
import { Cine } from './cine.js';
import { el } from './dom.js';
import { ObjectsPanel } from './objects.js';
import { overlayLines, writeOverlay } from './overlay.js';
import { ReferenceLayer } from './references.js';
import { ImagePaths } from './paths.js';
import { bindPointer } from './pointer.js';
import { SeriesModel } from './series.js';
import { StructureLayer } from './structures.js';
import { MeasureTools } from './tools.js';
import { Viewport } from './viewport.js';
import { clampIndex, viewFromParams } from './viewstate.js';
import { WaveformView } from './waveform.js';
import { displayMeta, effectiveWindow } from './windowing.js';

export class Pane {
  /**
   * `template` is the <template> of a viewport; `host` gives the shared
   * parts: {store (frames.js), infos (series.js InfoCache), fps(), changed(pane, what), activate(pane),
   * maximise(pane), prefetchBytes()}.  `what` is 'series', 'image', 'window', 'view', 'tool', 'kind' or 'objects'.
   */
  constructor(template, host, index) {
    this.host = host;
    this.element = template.content.firstElementChild.cloneNode(true);
    this.element.dataset.viewport = String(index);
    this.element.dataset.active = 'false';
    this.message = this.element.querySelector('.message');
    this.report = this.element.querySelector('.report');
    this.waveform = null;        // WaveformView, made for the first waveform shown
    this.model = null;           // SeriesModel of the series shown
    this.index = 0;              // the image wanted
    this.shownIndex = -1;        // the image on screen
    this.window = null;          // null: auto; {voi}; {center, width}
    this.invert = false;
    this.tool = 'window';
    this.drag = null;            // {mode} while a button is held on the canvas
    this.direction = 1;
    this.cine = new Cine(this);
    this.paths = new ImagePaths(this, this.element.querySelector('canvas'));
    this.canvas = this.paths.canvas;
    this.canvas.dataset.tool = this.tool;
    this.viewport = this.paths.viewport;
    this.objectsBox = el('div', { class: 'objects-panel', hidden: true,
      'aria-label': 'Presentation states, segmentations and structure sets' });
    this.objects = new ObjectsPanel(this.objectsBox, (state, what) => this.objectsChanged(what));
    this.tools = new MeasureTools({
      canvas: this.canvas, viewport: this.viewport, shown: () => this.shownImage, tool: () => this.tool,
      frameOf: (image) => this.paths.frameOf(image), modality: () => this.model && this.model.modality,
      dragging: () => Boolean(this.drag), changed: () => host.changed(this, 'measurements'),
    });
    this.references = new ReferenceLayer(this.canvas, this.viewport);
    this.structures = new StructureLayer({
      canvas: this.canvas, viewport: this.viewport, shown: () => this.shownImage, wanted: () => this.current || null,
      choice: () => this.objects.structureChoice(),
    });
    this.canvas.addEventListener('pointerdown', (event) => {
      if (event.button !== 0 || this.tool !== 'crosshair' || !this.shownImage || !this.viewport.dims) return;
      const point = this.tools.toImage(event.offsetX, event.offsetY);
      host.crosshair(this, point);
    });
    this.stopInfos = host.infos.listen((instanceId) => this.infoArrived(instanceId));
    this.element.addEventListener('pointerdown', () => host.activate(this), true);
    this.element.addEventListener('dblclick', () => host.maximise(this));
    bindPointer(this.canvas, this.pointerHandlers());
  }

  /** What pointer.js may do to this viewport. */
  pointerHandlers() {
    return {
      tool: () => (this.current ? this.tool : null),
      measuring: (tool) => this.tools.handles(tool) || tool === 'crosshair',
      startWindow: () => effectiveWindow(this.displayMeta(), this.window, this.isCT()),
      window: () => this.window,
      setWindow: (window) => this.setWindow(window),
      panBy: (dx, dy) => this.viewport.panBy(dx, dy),
      zoomBy: (factor, x, y) => this.viewport.zoomBy(factor, x, y),
      step: (delta) => this.step(delta),
      dragStarted: (mode) => { this.drag = { mode }; this.paths.dragStarted(); },
      dragEnded: (mode) => { this.drag = null; this.paths.dragEnded(mode === 'window'); },
      pinchStarted: () => this.tools.cancel(),
    };
  }

  get seriesId() {
    return this.model ? this.model.id : null;
  }

  get series() {
    return this.model ? this.model.series : null;
  }

  get images() {
    return this.model ? this.model.images : [];
  }

  get current() {
    return this.images[this.index];
  }

  /** The image on screen (what the pointer is over), or null. */
  get shownImage() {
    return this.shownIndex >= 0 ? this.images[this.shownIndex] || null : null;
  }

  /**
   * The plane of the image on screen with what places its pixels:
   * {plane, spacing, dims}, or null when its position, orientation or
   * pixel spacing is not known (yet).
   */
  imagePlane() {
    const image = this.shownImage;
    if (!image || !image.plane || !this.viewport.dims) return null;
    const info = this.knownInfo(image.instance);
    if (info && info.pixel_spacing) this.spacing = info.pixel_spacing;   // kept: the series' slices share it
    return this.spacing ? { plane: image.plane, spacing: this.spacing, dims: this.viewport.dims } : null;
  }

  isCT() {
    return Boolean(this.model && this.model.modality === 'CT');
  }

  setActive(active) {
    this.element.dataset.active = String(active);
  }

  // --- opening and closing ---------------------------------------------------------

  /**
   * Open a series; `params` (URLSearchParams) may restore its view, under
   * `prefix` (e.g. 'v1.') for viewports after the first.  Resolves to the
   * series, or null when it failed or another series was asked meanwhile.
   */
  async open(seriesId, params = new URLSearchParams(), prefix = '') {
    this.close();
    this.element.dataset.state = 'loading';
    this.element.dataset.series = seriesId;
    this.opening = seriesId;
    let model;
    try {
      model = await SeriesModel.load(seriesId);
    } catch (error) {
      if (this.opening === seriesId) this.showError(error);
      return null;
    }
    if (this.opening !== seriesId) return null;
    this.model = model;
    const view = viewFromParams(params, this.images.length, prefix);
    this.index = view.index;
    this.invert = view.invert;
    this.window = view.window;
    this.viewport.fitted = true;
    this.viewport.pan = { x: 0, y: 0 };
    this.paths.opened();
    api.objects(seriesId).then((objects) => { if (this.seriesId === seriesId) this.objects.setObjects(objects); },
      () => {});   // no list: nothing to apply
    this.host.changed(this, 'series');
    if (!this.images.length) {
      this.showError(new Error('This series has no images.'));
      return model.series;
    }
    if (view.zoom !== null) this.viewport.setView({ zoom: view.zoom, pan: view.pan });
    this.updateOverlay();
    this.paths.render();
    return model.series;
  }

  close() {
    this.stop();
    this.release();
    this.paths.close();
    this.opening = null;
    this.model = null;
    this.shownIndex = -1;
    this.spacing = null;
    this.references.set(null);
    this.references.mark(null);
    for (const name of ['series', 'instance', 'frame']) delete this.element.dataset[name];
    this.message.hidden = true;
    this.objects.reset();
    this.showKind(null);
    this.updateOverlay();
  }

  /** The viewport is gone (a smaller layout). */
  destroy() {
    this.close();
    this.paths.destroy();
    this.stopInfos();
    if (this.waveform) this.waveform.destroy();
    this.element.remove();
  }

  // --- what is known of the images ---------------------------------------------------

  knownInfo(instanceId) {
    return this.host.infos.known(instanceId);
  }

  infoFor(instanceId) {
    return this.host.infos.infoFor(instanceId);
  }

  infoArrived(instanceId) {
    if (!this.model || !this.images.some((image) => image.instance === instanceId)) return;
    const info = this.knownInfo(instanceId);
    if (info && info.kind === 'pdf' && info.frames > 1) {
      const index = this.model.expandPages(instanceId, info.frames, this.current);
      if (index !== null) {
        this.index = index;
        this.host.changed(this, 'series');
      }
    }
    if (info && info.kind && info.kind !== 'image') this.model.forgetErrors(instanceId);   // the PNG route shows it
    this.paths.infoArrived(instanceId, info);
    if (this.current && this.current.instance === instanceId) {
      this.showKind(info);
      this.updateOverlay();
      this.host.changed(this, 'kind');
    }
  }

  /** What is known of an image's display (windowing.js displayMeta): from its frame, else its info. */
  displayMeta(image = this.current) {
    return displayMeta(this.paths.frameOf(image), image && this.knownInfo(image.instance));
  }

  /** True when the current image has overlays (known from its info). */
  hasOverlays(image = this.current) {
    const info = image && this.knownInfo(image.instance);
    return Boolean(info && info.overlays && info.overlays.length);
  }

  /** True when the current instance is shown as a waveform (waveform.js), not on the canvas. */
  get showsWaveform() {
    return Boolean(this.waveform) && !this.waveform.element.hidden;
  }

  /** The kind of the current instance: an image, a report in its iframe, a PDF, or a waveform screen. */
  showKind(info) {
    const kind = info ? info.kind : null;
    const report = kind === 'report' && info.report;
    const waveform = kind === 'waveform' && Boolean(this.current);
    if (waveform) {
      if (!this.waveform) {
        this.waveform = new WaveformView();
        this.report.after(this.waveform.element);   // under the overlay's corners
      }
      this.waveform.show(this.current.instance, info);
      this.message.hidden = true;   // the waveform screen says what failed
    } else if (this.waveform) {
      this.waveform.hide();
    }
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
    this.canvas.hidden = Boolean(report) || waveform;
    this.element.dataset.kind = kind || '';
    this.kindInfo = info;
  }

  /** The objects panel changed: `what` 'structures' is drawn over the image as it is, anything else renders it again. */
  objectsChanged(what) {
    if (what === 'structures') {
      this.structures.update();
      this.host.changed(this, 'objects');
      return;
    }
    this.paths.reload();
    this.updateOverlay();
    this.host.changed(this, 'objects');
  }

  // --- what the paths report ----------------------------------------------------------

  /** Book-keeping of an image drawn by either path. */
  imageShown(index) {
    this.shownIndex = index;
    const image = this.images[index];
    if (image) Object.assign(this.element.dataset, { series: this.seriesId, instance: image.instance, frame: String(image.frame) });
    this.message.hidden = true;
    this.element.dataset.state = 'ready';
    this.updateOverlay();
    this.host.changed(this, 'shown');
  }

  showError(error, index) {
    if (index !== undefined) this.shownIndex = index;
    this.paths.cleared();
    this.message.replaceChildren(el('strong', { text: 'This image cannot be shown' }), el('span', { text: error.message }));
    this.message.hidden = this.showsWaveform;   // its page PNG failed: the waveform screen does not need it
    this.canvas.dataset.state = 'error';
    this.element.dataset.state = 'error';
    this.updateOverlay();
    this.host.changed(this, 'shown');
  }

  // --- changes ------------------------------------------------------------------------

  /** Show image `index` (clamped); `direction` guides prefetching. */
  go(index, direction = Math.sign(index - this.index) || 1) {
    const next = clampIndex(index, this.images.length);
    if (!this.current || (next === this.index && this.shownIndex >= 0)) return;
    this.direction = direction;
    this.index = next;
    this.references.mark(null);   // the crosshair's point lies on the image it was marked on
    this.paths.render();
    this.showKind(this.knownInfo(this.current.instance));
    this.paths.infoSoon(this.current.instance, this.playing || this.cine.holding);
    this.updateOverlay();
    this.host.changed(this, 'image');
  }

  step(delta) {
    this.go(this.index + delta, Math.sign(delta));
  }

  setWindow(window) {
    this.window = window;
    this.paths.render();
    this.updateOverlay();
    this.host.changed(this, 'window');
  }

  setInvert(invert) {
    this.invert = invert;
    this.paths.render();
    this.updateOverlay();
    this.host.changed(this, 'window');
  }

  setTool(tool) {
    this.tool = tool;
    this.canvas.dataset.tool = tool;
    this.tools.update();
    this.host.changed(this, 'tool');
  }

  /** Zoom or pan moved (viewport.js). */
  viewChanged() {
    this.updateOverlay();
    this.paths.viewChanged();
    this.host.changed(this, 'view');
  }

  reset() {
    this.stop();
    this.invert = false;
    this.viewport.fit();
    this.setWindow(null);
  }

  /** The view on screen, as plain data (viewstate.js). */
  view() {
    const { zoom, pan } = this.viewport.view;
    const moved = !this.viewport.fitted;
    return { index: this.index, window: this.window, invert: this.invert, zoom: moved ? zoom : null, pan: moved ? pan : null };
  }

  // --- holding an arrow key, and cine (cine.js) --------------------------------------------

  get playing() {
    return this.cine.playing;
  }

  hold(direction) {
    this.cine.hold(direction);
  }

  release() {
    this.cine.release();
  }

  play() {
    this.cine.play();
  }

  stop() {
    this.cine.stop();
  }

  // --- overlay ------------------------------------------------------------------------

  updateOverlay() {
    this.tools.update();   // measurements follow the image, zoom and pan
    this.references.update();
    this.structures.update();
    writeOverlay(this.element, overlayLines(this));
  }

  /** A keyboard action (see shortcuts.js) for this viewport; true if handled. */
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
      overlaysOrActual: () => (this.hasOverlays() ? this.objects.setOverlays(!this.objects.state.overlays)
        : this.viewport.actualSize()),
      zoomIn: () => this.viewport.zoomBy(zoomStep),
      zoomOut: () => this.viewport.zoomBy(1 / zoomStep),
      reset: () => this.reset(),
    };
    if (action.startsWith('tool:')) {
      this.setTool(action.slice(5));
      return true;
    }
    if (action.startsWith('measure:')) return this.tools.handle(action);
    if (this.showsWaveform && this.waveform.handle(action)) return true;   // zoom and fit in time
    if (!actions[action]) return false;
    actions[action]();
    return true;
  }
}
