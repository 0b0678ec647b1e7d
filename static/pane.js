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
// frame of the image on screen, a contract for tests and scripts, and
// data-screen: which screen shows the current instance (screens.js).  A
// waveform is shown by waveform.js in place of the canvas, a report in a frame
// and a PDF's page on the canvas with their bars (documents.js), and what has
// nothing to draw by summary.js.  An RT Dose opens on its summary; one that
// decodes may be switched to the image screen and back (choose()), a choice
// of this viewport kept while the same instance is on screen.
import { api } from './api.js';
import { Cine } from './cine.js';
import { el } from './dom.js';
import { ObjectsPanel } from './objects.js';
import { overlayLines, writeOverlay } from './overlay.js';
import { ReferenceLayer } from './references.js';
import { ImagePaths } from './paths.js';
import { bindPointer } from './pointer.js';
import { PAINTED, Screens, picturedFrame, problemOf, screenOf, switchable } from './screens.js';
import { SeriesModel } from './series.js';
import { StructureLayer } from './structures.js';
import { MeasureTools } from './tools.js';
import { Viewport } from './viewport.js';
import { clampIndex, viewFromParams } from './viewstate.js';
import { displayMeta, effectiveWindow } from './windowing.js';

// Keyboard actions for the image on the canvas only; a PDF page takes ZOOM_ACTIONS too.
const IMAGE_ACTIONS = new Set(['play', 'auto', 'invert', 'actual', 'overlaysOrActual', 'reset', 'fit', 'zoomIn', 'zoomOut']);
const ZOOM_ACTIONS = new Set(['fit', 'zoomIn', 'zoomOut']);
const ZOOM_STEP = 1.25;

export class Pane {
  /**
   * `template` is the <template> of a viewport; `host` gives the shared
   * parts: {store (frames.js), infos (series.js InfoCache), fps(), changed(pane, what), activate(pane),
   * maximise(pane), prefetchBytes(), tags(pane)}.  `what` is 'series', 'image', 'window', 'view', 'tool',
   * 'kind' or 'objects'.
   */
  constructor(template, host, index) {
    this.host = host;
    this.element = template.content.firstElementChild.cloneNode(true);
    this.element.dataset.viewport = String(index);
    this.element.dataset.active = 'false';
    this.element.dataset.screen = '';
    this.message = this.element.querySelector('.message');
    // On the image screen of an RT Dose, the corner's Summary button goes back to its summary.
    this.summaryButton = this.element.querySelector('.screen-summary');
    this.summaryButton.addEventListener('click', (event) => {
      event.currentTarget.blur();   // hidden on the summary: the keys go back to the viewport
      this.choose('summary');
    });
    this.summaryButton.addEventListener('dblclick', (event) => event.stopPropagation());   // no maximise
    this.failure = null;         // {image, error}: the rendering of `image` failed
    this.choice = null;          // {instance, screen}: the screen chosen for an RT Dose, while it is on screen
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
    // The waveform, report, PDF and summary screens (screens.js), made when first needed.
    this.screens = new Screens(this.canvas, this.element.querySelector('.report'), {
      tags: () => host.tags(this), turnPage: (delta) => this.turnPage(delta),
      zoomBy: (factor) => this.viewport.zoomBy(factor), fit: () => this.viewport.fit(),
      showImage: (frame) => this.choose('image', frame),
    });
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
      if (event.button !== 0 || this.tool !== 'crosshair' || !this.imageTools || !this.shownImage || !this.viewport.dims) return;
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
      // A PDF page has no window to set: the left button pans it.
      tool: () => (this.current ? (this.screen === 'pdf' ? 'pan' : this.tool) : null),
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
    this.draw();
    this.updateOverlay();
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
    this.failure = null;
    this.choice = null;
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
    this.screens.destroy();
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
    if (info && info.kind && info.kind !== 'image') {
      this.model.forgetErrors(instanceId);   // the PNG route shows it
      // The pixels route's refusal of a non-image is no failure: the PNG route or another screen shows it.
      if (this.failure && this.failure.image.instance === instanceId) this.failure = null;
    }
    const current = this.current && this.current.instance === instanceId;
    if (!current || PAINTED.has(this.screenFor(info))) this.paths.infoArrived(instanceId, info);
    if (current) {
      this.draw(false);
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

  /** The screen of the current instance (screens.js): 'image', 'pdf', 'report', 'waveform', 'summary' or ''. */
  get screen() {
    return this.element.dataset.screen || '';
  }

  /** The screen (screens.js) of the current instance for its /info answer `info`, with this viewport's choice. */
  screenFor(info) {
    const image = this.current;
    const chosen = image && this.choice && this.choice.instance === image.instance ? this.choice.screen : null;
    return screenOf(info, Boolean(this.currentFailure()), { chosen, modality: this.model && this.model.modality });
  }

  /** True when the current instance is an RT Dose that may be shown on its summary or its image screen. */
  get switchable() {
    const image = this.current;
    return Boolean(image) && switchable(this.knownInfo(image.instance), Boolean(this.currentFailure()));
  }

  /**
   * Show the current RT Dose on `screen` ('image' or 'summary'), kept while this instance is on
   * screen; `frame`: the frame of it to go to (the one its summary pictures).
   */
  choose(screen, frame = null) {
    const image = this.current;
    if (!image || !this.switchable) return;
    this.choice = { instance: image.instance, screen };
    const at = frame === null ? -1 : this.images.findIndex((i) => i.instance === image.instance && i.frame === frame);
    if (at >= 0 && at !== this.index) this.go(at, Math.sign(at - this.index));
    else {
      this.draw();
      this.updateOverlay();
    }
    this.host.changed(this, 'kind');
  }

  /** True when the current instance is shown as a waveform (waveform.js), not on the canvas. */
  get showsWaveform() {
    return this.screen === 'waveform';
  }

  /** The waveform screen (waveform.js), once one was shown. */
  get waveform() {
    return this.screens.waveform;
  }

  /** True when the image tools apply: an image (or one on its way) on the canvas. */
  get imageTools() {
    return this.screen === 'image' || this.screen === '';
  }

  /** True when an image of the series is on the canvas (the current one, or the one before it while it comes). */
  get drawn() {
    return Boolean(this.shownImage) && this.canvas.dataset.state === 'ready' && Boolean(this.canvas.dataset.path);
  }

  /** The failure of the current image's rendering ({image, error}), or null. */
  currentFailure() {
    return this.failure && this.current && this.failure.image === this.current ? this.failure : null;
  }

  /**
   * Show the current instance on its screen: draw it on the canvas (paths.js)
   * when it has something to draw (`render` false: the caller draws or has
   * drawn it), else its report or summary, with nothing asked of the paths.
   */
  draw(render = true) {
    const image = this.current;
    if (!image) return;
    this.showKind(this.knownInfo(image.instance));
    if (PAINTED.has(this.screen)) {
      if (render) this.paths.render();
      return;
    }
    // Nothing for the canvas: stop what it was loading, and say which instance is on screen.
    this.paths.close();
    // An RT Dose on its summary before its info is known: the info says whether it is pictured.
    if (!this.knownInfo(image.instance)) this.infoFor(image.instance);
    this.shownIndex = this.index;
    Object.assign(this.element.dataset, { series: this.seriesId, instance: image.instance, frame: String(image.frame) });
    this.canvas.dataset.state = 'none';
    this.element.dataset.state = this.currentFailure() ? 'error' : 'ready';
    this.message.hidden = true;
    this.host.changed(this, 'shown');   // on screen, as a drawn image is (the strip may load now)
  }

  /**
   * The screen of the current instance (screens.js) from its /info answer
   * `info` (null: not known yet; {error}: it could not be read): the canvas,
   * a waveform, a report, a PDF's bar or the summary.
   */
  showKind(info) {
    const image = this.current;
    const failure = this.currentFailure();
    if (this.choice && (!image || this.choice.instance !== image.instance)) this.choice = null;   // another instance
    const screen = image ? this.screenFor(info) : '';
    const before = this.screen;
    this.element.dataset.screen = screen;
    this.element.dataset.kind = (info && info.kind) || '';
    this.kindInfo = info && !info.error ? info : null;
    this.screens.show(screen, {
      instance: image && image.instance, info, problem: problemOf(info, failure && failure.error),
      study: this.series && this.series.study.id, position: this.instancePosition(), pdf: this.pdfState(),
      picture: picturedFrame(info, Boolean(failure)),
    });
    this.canvas.hidden = !['', 'image', 'pdf'].includes(screen);
    if (screen !== before && (screen === 'pdf' || before === 'pdf')) this.viewport.resize();   // the bar takes the canvas' bottom
  }

  /** {index, count} of the current instance among the series' instances. */
  instancePosition() {
    const image = this.current;
    const count = this.series ? this.series.instances.length : 0;
    return { index: image ? image.instanceIndex : 0, count };
  }

  /** What the PDF bar shows (documents.js PdfBar.update): the page on screen, the zoom and the document. */
  pdfState() {
    const image = this.current;
    const info = this.kindInfo;
    return image ? { page: image.frame + 1, pages: image.frames, zoom: this.viewport.zoom, fitted: this.viewport.fitted,
      document: info && info.document } : null;
  }

  /** The previous (-1) or next (1) page of the PDF on screen. */
  turnPage(delta) {
    const next = this.images[this.index + delta];
    if (next && this.current && next.instance === this.current.instance) this.go(this.index + delta, delta);
  }

  /** The objects panel changed: `what` 'structures' is drawn over the image as it is, anything else renders it again. */
  objectsChanged(what) {
    if (what === 'structures') {
      this.structures.update();
      this.host.changed(this, 'objects');
      return;
    }
    if (PAINTED.has(this.screen)) this.paths.reload();
    this.updateOverlay();
    this.host.changed(this, 'objects');
  }

  // --- what the paths report ----------------------------------------------------------

  /** Book-keeping of an image drawn by either path. */
  imageShown(index) {
    this.shownIndex = index;
    const image = this.images[index];
    if (image) Object.assign(this.element.dataset, { series: this.seriesId, instance: image.instance, frame: String(image.frame) });
    if (this.failure && this.failure.image === image) this.failure = null;
    this.message.hidden = true;
    this.element.dataset.state = 'ready';
    if (image && image === this.current) this.showKind(this.knownInfo(image.instance));
    this.updateOverlay();
    this.host.changed(this, 'shown');
  }

  /**
   * Image `index` cannot be shown: its summary screen names the error (once
   * its info says what it is: a PDF or a report refused by the pixels route
   * is then shown by its own screen).  Without `index`, the series failed.
   */
  showError(error, index) {
    if (index !== undefined) this.shownIndex = index;
    this.paths.cleared();
    this.canvas.dataset.state = 'error';
    this.element.dataset.state = 'error';
    const image = index !== undefined ? this.images[index] : null;
    if (image) {
      this.failure = { image, error };
      this.message.hidden = true;
      Object.assign(this.element.dataset, { series: this.seriesId, instance: image.instance, frame: String(image.frame) });
      if (image === this.current) {
        this.showKind(this.knownInfo(image.instance));
        if (!this.knownInfo(image.instance)) {
          // Its info decides between the summary and another screen (an unknown info: the summary).
          this.infoFor(image.instance).then((info) => {
            if (this.current !== image || !this.currentFailure()) return;
            this.showKind(info);
            this.updateOverlay();
            this.host.changed(this, 'kind');
          });
        }
      }
    } else {
      this.message.replaceChildren(el('strong', { text: 'This series cannot be shown' }), el('span', { text: error.message }));
      this.message.hidden = false;
    }
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
    this.draw();
    this.paths.infoSoon(this.current.instance, this.playing || this.cine.holding);
    this.updateOverlay();
    this.host.changed(this, 'image');
  }

  step(delta) {
    this.go(this.index + delta, Math.sign(delta));
  }

  setWindow(window) {
    this.window = window;
    if (PAINTED.has(this.screen)) this.paths.render();
    this.updateOverlay();
    this.host.changed(this, 'window');
  }

  setInvert(invert) {
    this.invert = invert;
    if (PAINTED.has(this.screen)) this.paths.render();
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
    if (PAINTED.has(this.screen)) this.paths.viewChanged();   // a report or summary asks for no PNG
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
    if (this.screen === 'pdf') this.screens.updatePdf(this.pdfState());
    this.summaryButton.hidden = !(this.screen === 'image' && this.switchable);
    writeOverlay(this.element, overlayLines(this));
  }

  /** A keyboard action (see shortcuts.js) for this viewport; true if handled. */
  handle(action) {
    const zoomStep = ZOOM_STEP;
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
    if (this.showsWaveform && this.waveform.handle(action)) return true;   // zoom and fit in time
    // Tools, window, cine and inversion act on an image; a PDF page zooms; a report or summary only moves on.
    const drawnHere = this.imageTools || (this.screen === 'pdf' && ZOOM_ACTIONS.has(action));
    if ((action.startsWith('tool:') || action.startsWith('measure:') || IMAGE_ACTIONS.has(action)) && !drawnHere) return false;
    if (action.startsWith('tool:')) {
      this.setTool(action.slice(5));
      return true;
    }
    if (action.startsWith('measure:')) return this.tools.handle(action);
    if (!actions[action]) return false;
    actions[action]();
    return true;
  }
}
