// Measurement tools on the image: a pixel probe, a length and an ellipse
// region of interest.  Geometry is kept in continuous image coordinates
// (pixel (c, r) covers [c, c+1) x [r, r+1)), so a measurement stays on its
// pixels through zoom and pan.  Values come from the frame on screen
// (frame.js, client path): the modality values, not the displayed greys.
// Images drawn from server PNGs (colour, or what the client path cannot
// take) have no values here: the probe and the ROI say so, the length works.
//
// Distances use Pixel Spacing (0028,0030), top level or in a Pixel Measures
// Sequence, or else Imager Pixel Spacing (0018,1164), labelled "mm
// (detector)": that is the spacing at the detector, not in the patient.
// Without either, lengths and areas are in pixels.
import { api } from './api.js';
import { frameKey } from './frames.js';

export const TOOLS = ['probe', 'length', 'ellipse'];
const SVG = 'http://www.w3.org/2000/svg';

/**
 * The spacing of the tags rows of /api/instances/{id}/tags:
 * {row, column, source: 'pixel' | 'imager'} (mm between rows, between
 * columns), or null.  Pixel Spacing wins over Imager Pixel Spacing.
 */
export function spacingFromTags(rows) {
  const find = (tag) => {
    for (const row of rows) {
      if (row.tag !== tag) continue;
      const parts = String(row.value).split('\\').map((part) => Number(part.trim()));
      if (parts.length === 2 && parts.every((v) => Number.isFinite(v) && v > 0)) return parts;
    }
    return null;
  };
  const pixel = find('0028,0030');
  if (pixel) return { row: pixel[0], column: pixel[1], source: 'pixel' };
  const imager = find('0018,1164');
  if (imager) return { row: imager[0], column: imager[1], source: 'imager' };
  return null;
}

/** The unit of lengths ('mm', 'mm (detector)' or 'px') for a spacing. */
export function lengthUnit(spacing) {
  if (!spacing) return 'px';
  return spacing.source === 'imager' ? 'mm (detector)' : 'mm';
}

/** Length of the segment a-b (image coordinates) in mm, or in pixels without spacing. */
export function lengthOf(a, b, spacing) {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  return spacing ? Math.hypot(dx * spacing.column, dy * spacing.row) : Math.hypot(dx, dy);
}

/**
 * The units of a frame's modality values: Rescale Type (0028,1054) when
 * present; HU for a CT whose rescale is the Modality LUT stage (the CT
 * Image module defines its output as Hounsfield units); else '' (unknown).
 */
export function modalityUnits(frame, modality) {
  if (frame.units) return String(frame.units);
  if (modality === 'CT' && !frame.head.modality_lut) return 'HU';
  return '';
}

/**
 * The box of an ellipse drawn from corner a to corner b, as its centre and
 * semi-axes: {cx, cy, a, b}.
 */
export function ellipseOf(p, q) {
  return { cx: (p.x + q.x) / 2, cy: (p.y + q.y) / 2, a: Math.abs(q.x - p.x) / 2, b: Math.abs(q.y - p.y) / 2 };
}

/**
 * Statistics of the modality values of the pixels whose centres lie inside
 * the ellipse (border included): ((c + .5 - cx) / a)² + ((r + .5 - cy) / b)² <= 1.
 * SD is the population SD (divided by n).  Null when no pixel centre is inside.
 */
export function ellipseStats(frame, ellipse) {
  const { cx, cy, a, b } = ellipse;
  if (!(a > 0 && b > 0)) return null;
  const r0 = Math.max(0, Math.floor(cy - b) - 1);
  const r1 = Math.min(frame.rows - 1, Math.ceil(cy + b) + 1);
  const c0 = Math.max(0, Math.floor(cx - a) - 1);
  const c1 = Math.min(frame.columns - 1, Math.ceil(cx + a) + 1);
  // Two passes over the same pixels (no array of millions of values): count, sum, min, max; then the squares.
  const each = (visit) => {
    for (let r = r0; r <= r1; r += 1) {
      const v = (r + 0.5 - cy) / b;
      for (let c = c0; c <= c1; c += 1) {
        const u = (c + 0.5 - cx) / a;
        if (u * u + v * v <= 1) visit(frame.modalityAt(c, r));
      }
    }
  };
  let count = 0;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  each((value) => {
    count += 1;
    sum += value;
    if (value < min) min = value;
    if (value > max) max = value;
  });
  if (!count) return null;
  const mean = sum / count;
  let squares = 0;
  each((value) => { squares += (value - mean) * (value - mean); });
  return { count, mean, sd: Math.sqrt(squares / count), min, max };
}

/** A value for the screen: integers as they are, else 4 significant digits (1 decimal from 1000). */
export function formatValue(value) {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 1000 ? value.toFixed(1) : String(Number(value.toPrecision(4)));
}

function svg(tag, attributes = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;   // DICOM-derived text never parsed as markup
  return node;
}

/**
 * The measurement tools of a viewport: pointer input when one of TOOLS is
 * chosen, and the drawing layer.  `view` is all they see of the viewport:
 * {canvas, viewport (viewport.js), shown() (the image on screen or null),
 * tool(), frameOf(image), modality(), dragging()}.
 */
export class MeasureTools {
  constructor(view) {
    this.view = view;
    this.canvas = view.canvas;
    this.layer = svg('svg', { class: 'measure-layer', 'aria-hidden': 'true' });
    this.canvas.after(this.layer);
    this.items = new Map();      // frame key -> [{kind, p, q}]
    this.spacings = new Map();   // instance id -> spacing (or null), or a Promise while asked
    this.drawing = null;         // the measurement being dragged
    this.probe = null;           // {x, y} image coordinates under the pointer, probe tool
    this.bind();
  }

  handles(tool) {
    return TOOLS.includes(tool);
  }

  /** The image on screen (what the pointer is over), or null. */
  get shown() {
    return this.view.shown();
  }

  /** Canvas CSS coordinates -> continuous image coordinates (pixel (c, r) covers [c, c+1) x [r, r+1)). */
  toImage(x, y) {
    const { dims } = this.view.viewport;
    const point = this.view.viewport.toImage(x, y);
    return { x: point.x + dims.cols / 2, y: point.y + dims.rows / 2 };
  }

  toScreen(point) {
    const place = this.view.viewport.placement();
    const scale = this.view.viewport.scale;
    return { x: place.x + point.x * scale, y: place.y + point.y * scale };
  }

  bind() {
    const canvas = this.canvas;
    canvas.addEventListener('pointerdown', (event) => {
      const tool = this.view.tool();
      if (event.button !== 0 || !this.handles(tool) || !this.shown || !this.view.viewport.dims) return;
      if (tool === 'probe') {
        this.probe = this.toImage(event.offsetX, event.offsetY);
        this.update();
        return;
      }
      event.preventDefault();
      canvas.setPointerCapture(event.pointerId);
      const p = this.toImage(event.offsetX, event.offsetY);
      this.drawing = { pointer: event.pointerId, key: frameKey(this.shown), item: { kind: tool, p, q: p } };
      this.update();
    });
    canvas.addEventListener('pointermove', (event) => {
      if (!this.shown || !this.view.viewport.dims) return;
      if (this.drawing && this.drawing.pointer === event.pointerId) {
        this.drawing.item.q = this.toImage(event.offsetX, event.offsetY);
        this.update();
      } else if (this.view.tool() === 'probe' && !this.view.dragging()) {
        this.probe = this.toImage(event.offsetX, event.offsetY);
        this.update();
      } else if (this.probe) {   // another tool was chosen: the probe's label goes
        this.probe = null;
        this.update();
      }
    });
    const end = (event) => {
      const drawing = this.drawing;
      if (!drawing || drawing.pointer !== event.pointerId) return;
      this.drawing = null;
      const { p, q } = drawing.item;
      const big = drawing.item.kind === 'length' ? p.x !== q.x || p.y !== q.y : p.x !== q.x && p.y !== q.y;
      if (big && event.type === 'pointerup') {
        if (!this.items.has(drawing.key)) this.items.set(drawing.key, []);
        this.items.get(drawing.key).push(drawing.item);
      }
      this.update();
    };
    canvas.addEventListener('pointerup', end);
    canvas.addEventListener('pointercancel', end);
    canvas.addEventListener('pointerleave', () => {
      if (!this.probe) return;
      this.probe = null;
      this.update();
    });
  }

  /** A keyboard action 'measure:…' (shortcuts.js); true if handled. */
  handle(action) {
    if (action !== 'measure:clear') return false;
    const image = this.shown;
    if (image) this.items.delete(frameKey(image));
    this.update();
    return true;
  }

  /** The spacing of an instance if known (asked once from its tags), else null. */
  spacingOf(instanceId) {
    const known = this.spacings.get(instanceId);
    if (known === undefined) {
      const asked = api.tags(instanceId).then((answer) => {
        this.spacings.set(instanceId, spacingFromTags(answer.tags || []));
        this.update();
      }, () => {
        this.spacings.set(instanceId, null);
        this.update();
      });
      this.spacings.set(instanceId, asked);
      return null;
    }
    return known instanceof Promise ? null : known;
  }

  /** Redraw the layer: the current image's measurements, the one being drawn and the probe. */
  update() {
    const layer = this.layer;
    const image = this.shown;
    const viewport = this.view.viewport;
    const { canvas } = this;
    layer.setAttribute('width', String(canvas.clientWidth));
    layer.setAttribute('height', String(canvas.clientHeight));
    if (!image || !viewport.dims || !viewport.shown) {
      layer.replaceChildren();
      delete layer.dataset.probe;
      return;
    }
    const key = frameKey(image);
    const items = [...(this.items.get(key) || [])];
    if (this.drawing && this.drawing.key === key) items.push(this.drawing.item);
    const needsSpacing = items.length > 0;
    const spacing = needsSpacing ? this.spacingOf(image.instance) : null;
    const spacingKnown = !needsSpacing || !(this.spacings.get(image.instance) instanceof Promise);
    const frame = this.view.frameOf(image);
    const units = frame ? modalityUnits(frame, this.view.modality()) : '';
    const nodes = items.map((item) => this.drawItem(item, { spacing, spacingKnown, frame, units }));
    if (this.view.tool() === 'probe' && this.probe) nodes.push(this.drawProbe(frame, units));
    else delete layer.dataset.probe;
    layer.replaceChildren(...nodes.filter(Boolean));
  }

  drawItem(item, { spacing, spacingKnown, frame, units }) {
    const a = this.toScreen(item.p);
    const b = this.toScreen(item.q);
    const group = svg('g', { class: `measure ${item.kind}` });
    group.dataset.kind = item.kind;
    let lines;
    const result = { p: [item.p.x, item.p.y], q: [item.q.x, item.q.y], spacing, spacingKnown };
    if (item.kind === 'length') {
      result.length = lengthOf(item.p, item.q, spacing);
      result.unit = lengthUnit(spacing);
      group.append(svg('line', { x1: a.x, y1: a.y, x2: b.x, y2: b.y }));
      lines = [`${result.length.toFixed(2)} ${result.unit}`];
    } else {
      const ellipse = ellipseOf(item.p, item.q);
      const centre = this.toScreen({ x: ellipse.cx, y: ellipse.cy });
      const scale = this.view.viewport.scale;
      group.append(svg('ellipse', { cx: centre.x, cy: centre.y, rx: ellipse.a * scale, ry: ellipse.b * scale }));
      const areaPx = Math.PI * ellipse.a * ellipse.b;
      result.area = spacing ? areaPx * spacing.row * spacing.column : areaPx;
      result.areaUnit = spacing ? `${lengthUnit(spacing).replace('mm', 'mm²')}` : 'px²';
      // Computed once per ellipse and frame: a window/level drag redraws the layer at every display frame.
      if (!item.cache || item.cache.frame !== frame || item.cache.p !== item.p || item.cache.q !== item.q) {
        item.cache = { frame, p: item.p, q: item.q, stats: frame ? ellipseStats(frame, ellipse) : null };
      }
      const { stats } = item.cache;
      Object.assign(result, { stats, units });
      const u = units ? ` ${units}` : '';
      if (!frame) lines = ['no values (server PNG)'];
      else if (!stats) lines = ['no pixel centre inside'];
      else {
        lines = [`mean ${formatValue(stats.mean)}${u}  SD ${formatValue(stats.sd)}`,
          `min ${formatValue(stats.min)}  max ${formatValue(stats.max)}${u}`];
      }
      lines.push(`area ${formatValue(result.area)} ${result.areaUnit}${stats ? `  (${stats.count} px)` : ''}`);
    }
    group.dataset.result = JSON.stringify(result);
    const anchor = { x: Math.max(a.x, b.x) + 6, y: Math.min(a.y, b.y) };
    group.append(this.label(lines, anchor));
    return group;
  }

  drawProbe(frame, units) {
    const { x, y } = this.probe;
    const column = Math.floor(x);
    const row = Math.floor(y);
    const { dims } = this.view.viewport;
    if (column < 0 || row < 0 || column >= dims.cols || row >= dims.rows) {
      delete this.layer.dataset.probe;
      return null;
    }
    const value = frame ? frame.modalityAt(column, row) : undefined;
    this.layer.dataset.probe = JSON.stringify({ column, row, value: value ?? null, units });
    const text = value === undefined ? `(${column}, ${row})  no values (server PNG)`
      : `(${column}, ${row})  ${formatValue(value)}${units ? ` ${units}` : ''}`;
    const at = this.toScreen({ x, y });
    const group = svg('g', { class: 'measure probe' });
    group.append(this.label([text], { x: at.x + 14, y: at.y + 4 }));
    return group;
  }

  label(lines, anchor) {
    const text = svg('text', { x: anchor.x, y: anchor.y });
    lines.forEach((line, i) => text.append(svg('tspan', { x: anchor.x, dy: i ? '1.2em' : '0.9em' }, line)));
    return text;
  }
}
