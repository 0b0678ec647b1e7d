// One viewport of the MPR layout (mprview.js): a plane through the volume,
// drawn by the viewer's renderer (renderer.js) from modality values the
// client computed (mpr.js), with its own zoom and pan (viewport.js) and the
// crosshair: the lines where the other two planes cut this one, in their
// colours, over an SVG layer.  Left-drag with the crosshair tool moves the
// crosshair's centre (the other planes follow); a drag that starts on a
// line away from the centre turns the other planes about this plane's
// normal (oblique planes).  The element carries data-viewport, data-plane
// (axial, coronal or sagittal: which of the three it started as),
// data-oblique, data-position (mm along its normal), data-loaded and
// data-total (slices), a contract for tests and scripts.  It offers the
// viewer the part of pane.js's interface the toolbar and keyboard use.
import { el } from './dom.js';
import { seriesLines, writeOverlay } from './overlay.js';
import { bindPointer } from './pointer.js';
import { createRenderer } from './renderer.js';
import { Viewport } from './viewport.js';
import { windowText } from './windowing.js';

const SVG = 'http://www.w3.org/2000/svg';
const COLOURS = { axial: '#e05252', coronal: '#52c152', sagittal: '#e0c341' };
const TOOLS = new Set(['window', 'pan', 'zoom', 'crosshair']);
const NEAR_LINE = 8;       // CSS pixels: a press this close to a line grabs it
const CENTRE = 24;         // within this radius of the centre, a press moves the centre

function svg(name, attributes) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  return element;
}

/** The modality values of one plane, shaped as a frame.js Frame for the renderer (no rescale: values are modality values). */
class PlaneFrame {
  constructor(values, width, height, meta) {
    this.values = values;
    this.columns = width;
    this.rows = height;
    this.integer = false;
    this.min = null;
    this.max = null;
    this.slope = 1;
    this.intercept = 0;
    this.windows = meta.windows;
    this.voiLuts = meta.voiLuts;
    this.inverse = meta.inverse;
    this.head = meta.head;
    this.bytes = values.byteLength;
  }

  modality(value) {
    return value;
  }
}

export class MprPane {
  constructor(template, group, index, plane) {
    this.group = group;
    this.plane = plane;   // the plane it started as; its orientation is the group's
    this.element = template.content.firstElementChild.cloneNode(true);
    Object.assign(this.element.dataset, { viewport: String(index), active: 'false', plane, state: 'loading', oblique: 'false' });
    this.element.classList.add('mpr');
    this.message = this.element.querySelector('.message');
    this.element.querySelector('.report').remove();
    const renderer = createRenderer(this.element.querySelector('canvas'));
    this.canvas = renderer.canvas;
    this.viewport = new Viewport(renderer, { onChange: () => this.viewChanged() });
    this.layer = svg('svg', { class: 'crosshair-layer', 'aria-hidden': 'true' });
    this.canvas.after(this.layer);
    this.progress = el('div', { class: 'mpr-progress', role: 'status' });
    this.element.append(this.progress);
    this.tool = 'crosshair';
    this.canvas.dataset.tool = this.tool;
    this.renders = 0;
    this.grid = null;        // the sampling grid of the plane on screen (mpr.js planeGrid)
    this.values = null;      // its modality values
    this.objectsBox = el('div', { class: 'objects-panel', hidden: true });
    this.objects = { state: { overlays: false }, setOverlays: () => {} };
    this.kindInfo = null;
    this.paths = { client: group.client, pngUrl: () => group.pngUrl(this) };
    this.element.addEventListener('pointerdown', () => group.host.activate(this), true);
    this.element.addEventListener('dblclick', () => group.host.maximise(this));
    this.bindCrosshair();
    bindPointer(this.canvas, {
      tool: () => (this.grid ? this.tool : null),
      measuring: (tool) => tool === 'crosshair',
      startWindow: () => group.shownWindow(),
      window: () => group.window,
      setWindow: (window) => group.setWindow(window),
      panBy: (dx, dy) => this.viewport.panBy(dx, dy),
      zoomBy: (factor, x, y) => this.viewport.zoomBy(factor, x, y),
      step: (delta) => group.step(this, delta),
      dragStarted: () => {},
      dragEnded: () => {},
      pinchStarted: () => {},
    });
  }

  // --- the interface the viewer and toolbar use (pane.js) ------------------------------

  get seriesId() { return this.group.seriesId; }
  get series() { return this.group.model ? this.group.model.series : null; }
  get model() { return this.group.model; }
  get opening() { return this.group.opening; }
  get window() { return this.group.window; }
  get invert() { return this.group.invert; }
  get playing() { return false; }
  /** The steps of the plane along its normal, as the slider shows them; each is the series' first instance for the tags. */
  get images() { return this.group.stepsOf(this); }
  get index() { return this.group.indexOf(this); }
  get current() { return this.images[this.index]; }

  open(seriesId) { return this.group.open(seriesId); }
  go(index) { this.group.goTo(this, index); }
  step(delta) { this.group.step(this, delta); }
  setWindow(window) { this.group.setWindow(window); }
  setInvert(invert) { this.group.setInvert(invert); }
  setTool(tool) {
    if (!TOOLS.has(tool)) return;
    this.tool = tool;
    this.canvas.dataset.tool = tool;
    this.group.host.changed(this, 'tool');
  }

  isCT() { return Boolean(this.series && this.series.modality === 'CT'); }
  displayMeta() { return this.group.displayMeta(); }
  hasOverlays() { return false; }
  knownInfo() { return null; }
  view() { return this.viewport.view; }
  setActive(active) { this.element.dataset.active = String(active); }
  hold() {}
  release() {}
  play() {}
  stop() {}
  close() {}

  destroy() {
    this.viewport.destroy();
    this.element.remove();
  }

  /** A keyboard action (shortcuts.js); true if handled. */
  handle(action) {
    const zoomStep = 1.25;
    const actions = {
      next: () => this.step(1), previous: () => this.step(-1), next10: () => this.step(10), previous10: () => this.step(-10),
      first: () => this.go(0), last: () => this.go(this.images.length - 1),
      auto: () => this.setWindow(null), invert: () => this.setInvert(!this.invert),
      fit: () => this.viewport.fit(), actual: () => this.viewport.actualSize(), overlaysOrActual: () => this.viewport.actualSize(),
      zoomIn: () => this.viewport.zoomBy(zoomStep), zoomOut: () => this.viewport.zoomBy(1 / zoomStep),
      reset: () => { this.viewport.fit(); this.group.reset(); },
    };
    if (action.startsWith('tool:')) {
      this.setTool(action.slice(5));
      return true;
    }
    if (!actions[action]) return false;
    actions[action]();
    return true;
  }

  // --- drawing ------------------------------------------------------------------------

  /**
   * How many native grid pixels one computed pixel covers: the plane is
   * computed no finer than the screen draws it (1 at 1:1 or zoomed in).
   */
  reduction() {
    const drawn = this.viewport.dims ? this.viewport.fitScale() * this.viewport.dpr : 1;
    const zoom = this.viewport.fitted ? drawn : this.viewport.zoom;
    return zoom >= 1 ? 1 : Math.round((1 / zoom) * 20) / 20;
  }

  /** Show the plane `grid` (native size) with its modality `values`, computed on `sampled` (mprview.js), through the VOI. */
  show(grid, sampled, values, meta, voi, invert) {
    this.grid = grid;
    this.sampled = sampled;
    this.values = values;
    this.meta = meta;
    this.viewport.showFrame(new PlaneFrame(values, sampled.width, sampled.height, meta), voi, invert,
      { cols: grid.width, rows: grid.height });
    this.renders += 1;
    this.canvas.dataset.renders = String(this.renders);
    this.canvas.dataset.state = 'ready';
    this.element.dataset.state = 'ready';
    this.message.hidden = true;
  }

  /** The same values through another window or inversion. */
  rewindow(voi, invert) {
    if (this.grid) this.show(this.grid, this.sampled, this.values, this.meta, voi, invert);
  }

  showError(error) {
    this.message.replaceChildren(el('strong', { text: 'No MPR for this series' }), el('span', { text: error.message }));
    this.message.hidden = false;
    this.element.dataset.state = 'error';
    this.canvas.dataset.state = 'error';
    this.viewport.clear();
    this.layer.replaceChildren();
  }

  /** The loading line: "Volume 120 / 300 slices", hidden once every slice is here. */
  showProgress(loaded, total) {
    Object.assign(this.element.dataset, { loaded: String(loaded), total: String(total) });
    this.progress.hidden = loaded >= total;
    this.progress.textContent = `Volume ${loaded} / ${total} slices`;
  }

  viewChanged() {
    if (this.sampled && this.sampled.factor !== this.reduction()) this.group.redraw([this]);   // zoomed: finer or coarser
    this.drawCrosshair();
    this.updateOverlay();
    this.group.host.changed(this, 'view');
  }

  /** Image coordinates (continuous, pixel centres at +0.5) of the canvas point (x, y) in CSS pixels. */
  toImage(x, y) {
    const place = this.viewport.placement();
    return { x: (x - place.x) / this.viewport.scale, y: (y - place.y) / this.viewport.scale };
  }

  toScreen({ x, y }) {
    const place = this.viewport.placement();
    return { x: place.x + x * this.viewport.scale, y: place.y + y * this.viewport.scale };
  }

  /** The crosshair: `lines` [{plane, ends: [{x, y}, {x, y}]}] and `centre` {x, y}, in image coordinates. */
  drawCrosshair(lines = this.lines, centre = this.centre) {
    this.lines = lines;
    this.centre = centre;
    this.layer.setAttribute('width', String(this.canvas.clientWidth));
    this.layer.setAttribute('height', String(this.canvas.clientHeight));
    if (!lines || !this.grid) {
      this.layer.replaceChildren();
      return;
    }
    const nodes = lines.map(({ plane, ends }) => {
      const [a, b] = ends.map((p) => this.toScreen(p));
      const line = svg('line', { class: 'crosshair-line', x1: a.x, y1: a.y, x2: b.x, y2: b.y, stroke: COLOURS[plane] });
      line.dataset.plane = plane;
      line.dataset.points = JSON.stringify(ends.map((p) => [p.x, p.y]));
      return line;
    });
    if (centre) {
      const at = this.toScreen(centre);
      const mark = svg('circle', { class: 'crosshair-centre', cx: at.x, cy: at.y, r: 5 });
      mark.dataset.point = JSON.stringify([centre.x, centre.y]);
      nodes.push(mark);
    }
    this.layer.replaceChildren(...nodes);
    this.element.style.setProperty('--plane-colour', COLOURS[this.plane]);
  }

  /** What a press at canvas point (x, y) grabs: 'rotate' on a line away from the centre, else 'move'. */
  grab(x, y) {
    if (!this.centre || !this.lines) return 'move';
    const c = this.toScreen(this.centre);
    if (Math.hypot(x - c.x, y - c.y) <= CENTRE) return 'move';
    for (const { ends } of this.lines) {
      const [a, b] = ends.map((p) => this.toScreen(p));
      const length = Math.hypot(b.x - a.x, b.y - a.y);
      if (length && Math.abs((b.x - a.x) * (a.y - y) - (a.x - x) * (b.y - a.y)) / length <= NEAR_LINE) return 'rotate';
    }
    return 'move';
  }

  bindCrosshair() {
    let drag = null;
    this.canvas.addEventListener('pointerdown', (event) => {
      if (event.button !== 0 || this.tool !== 'crosshair' || !this.grid || event.pointerType === 'touch' && drag) return;
      event.preventDefault();
      this.canvas.setPointerCapture(event.pointerId);
      const mode = this.grab(event.offsetX, event.offsetY);
      drag = { pointer: event.pointerId, mode, angle: this.angleAt(event.offsetX, event.offsetY) };
      this.canvas.dataset.dragging = mode;
      if (mode === 'move') this.group.moveTo(this, this.toImage(event.offsetX, event.offsetY));
    });
    this.canvas.addEventListener('pointermove', (event) => {
      if (!drag || drag.pointer !== event.pointerId) return;
      if (drag.mode === 'move') this.group.moveTo(this, this.toImage(event.offsetX, event.offsetY));
      else {
        const angle = this.angleAt(event.offsetX, event.offsetY);
        this.group.rotate(this, angle - drag.angle);
        drag.angle = angle;
      }
    });
    const end = (event) => {
      if (!drag || drag.pointer !== event.pointerId) return;
      drag = null;
      delete this.canvas.dataset.dragging;
      this.group.host.changed(this, 'image');
    };
    this.canvas.addEventListener('pointerup', end);
    this.canvas.addEventListener('pointercancel', end);
  }

  /** The screen angle of (x, y) about the crosshair's centre (radians, y down: turning from columns to rows). */
  angleAt(x, y) {
    const c = this.centre ? this.toScreen(this.centre) : { x: 0, y: 0 };
    return Math.atan2(y - c.y, x - c.x);
  }

  // --- overlay ------------------------------------------------------------------------

  updateOverlay() {
    const series = this.series;
    if (!series) return;
    const shown = Boolean(this.grid);
    const oblique = this.element.dataset.oblique === 'true';
    const name = this.plane[0].toUpperCase() + this.plane.slice(1);
    writeOverlay(this.element, {
      ...seriesLines(series),
      'overlay-position': shown ? `${oblique ? `Oblique (${this.plane})` : name} ${this.index + 1} / ${this.images.length}` : '',
      'overlay-location': shown ? [`${this.element.dataset.position} mm`, this.group.slabText()].filter(Boolean).join(' · ') : '',
      'overlay-window': shown ? windowText(this.displayMeta(), this.window, this.isCT(), this.invert) : '',
      'overlay-zoom': shown ? `Zoom ${Math.round(this.viewport.zoom * 100)}%${this.viewport.fitted ? ' (fit)' : ''}` : '',
      'overlay-path': shown ? `Client MPR (${this.element.dataset.reformat === 'webgl2' ? 'WebGL2 3D texture' : 'CPU'}) · ${this.viewport.renderer.label}` : '',
    });
  }
}
