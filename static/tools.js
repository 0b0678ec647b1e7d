// Measurement tools on the image: a pixel probe, a length, an ellipse and a
// rectangle region of interest, the angle of three points, the Cobb angle of
// two lines, and an arrow with a text label.  Geometry is kept in continuous
// image coordinates (measure.js), so a measurement stays on its pixels
// through zoom and pan.  Values come from the frame on screen (frame.js,
// client path): the modality values, not the displayed greys.  Images drawn
// from server PNGs have no values here: the probe and the ROIs say so.
//
// Drawing: a drag draws a length, a ROI or an arrow (head where the drag
// starts, the label typed at its tail); an angle is a drag (first arm) then
// a click (the end of the second arm); a Cobb angle is two drags (two
// lines).  A point of a kept measurement is dragged to edit it.  Each drawn
// item reports what it measured in data-result.
import { api } from './api.js';
import { frameKey } from './frames.js';
import {
  angleOf, cobbOf, ellipseOf, ellipseStats, formatValue, lengthOf, lengthUnit, modalityUnits, rectOf, rectStats,
  spacingFromTags,
} from './measure.js';

export const TOOLS = ['probe', 'length', 'ellipse', 'rectangle', 'angle', 'cobb', 'arrow'];
const POINTS = { length: 2, ellipse: 2, rectangle: 2, arrow: 2, angle: 3, cobb: 4 };
const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attributes = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;   // DICOM-derived text never parsed as markup
  return node;
}

/** True when an item's points are all set and not all on one spot. */
function complete(item) {
  const { points } = item;
  if (points.length < POINTS[item.kind]) return false;
  const [p, q] = points;
  if (item.kind === 'ellipse' || item.kind === 'rectangle') return p.x !== q.x && p.y !== q.y;
  if (item.kind === 'cobb') return (p.x !== q.x || p.y !== q.y) && (points[2].x !== points[3].x || points[2].y !== points[3].y);
  return p.x !== q.x || p.y !== q.y;
}

/**
 * The measurement tools of a viewport: pointer input when one of TOOLS is
 * chosen, and the drawing layer.  `view` is all they see of the viewport:
 * {canvas, viewport (viewport.js), shown() (the image on screen or null),
 * tool(), frameOf(image), modality(), dragging(), changed()}.
 */
export class MeasureTools {
  constructor(view) {
    this.view = view;
    this.canvas = view.canvas;
    this.layer = svg('svg', { class: 'measure-layer', 'aria-hidden': 'true' });
    this.canvas.after(this.layer);
    this.items = new Map();      // frame key -> [{kind, points, label?}]
    this.spacings = new Map();   // instance id -> spacing (or null), or a Promise while asked
    this.drawing = null;         // {key, item, pointer|null}: the item being drawn
    this.moving = null;          // {item, index, pointer}: a kept item's point being dragged
    this.probe = null;           // {x, y} image coordinates under the pointer, probe tool
    this.bind();
  }

  handles(tool) {
    return TOOLS.includes(tool);
  }

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
    const { scale } = this.view.viewport;
    return { x: place.x + point.x * scale, y: place.y + point.y * scale };
  }

  bind() {
    const canvas = this.canvas;
    canvas.addEventListener('pointerdown', (event) => {
      const tool = this.view.tool();
      if (!event.isPrimary) return;   // a second finger: a pinch (pointer.js), not a measurement
      if (event.button !== 0 || !this.handles(tool) || !this.shown || !this.view.viewport.dims) return;
      const at = this.toImage(event.offsetX, event.offsetY);
      if (tool === 'probe') {
        this.probe = at;
        this.update();
        return;
      }
      event.preventDefault();
      canvas.setPointerCapture(event.pointerId);
      const key = frameKey(this.shown);
      const handle = this.drawing ? null : this.handleAt(key, event.offsetX, event.offsetY);
      if (handle) {   // a point of a measurement kept: drag it (editing)
        this.moving = { ...handle, pointer: event.pointerId };
        return;
      }
      const drawing = this.drawing && this.drawing.key === key && this.drawing.item.kind === tool ? this.drawing : null;
      if (drawing && tool === 'angle') {   // the click that ends the second arm
        drawing.item.points[2] = at;
        this.finish();
      } else if (drawing && tool === 'cobb') {   // the second line starts
        drawing.item.points.push(at, at);
        drawing.pointer = event.pointerId;
      } else {
        this.drawing = { key, pointer: event.pointerId, item: { kind: tool, points: [at, at] } };
      }
      this.update();
    });
    canvas.addEventListener('pointermove', (event) => {
      if (!this.shown || !this.view.viewport.dims) return;
      const at = this.toImage(event.offsetX, event.offsetY);
      const { drawing, moving } = this;
      if (moving && moving.pointer === event.pointerId) {
        moving.item.points[moving.index] = at;
        moving.item.cache = null;
        this.update();
      } else if (drawing && (drawing.pointer === event.pointerId || (drawing.pointer === null && drawing.item.kind === 'angle'))) {
        drawing.item.points[drawing.item.points.length - 1] = at;
        this.update();
      } else if (this.view.tool() === 'probe' && !this.view.dragging()) {
        this.probe = at;
        this.update();
      } else if (this.probe) {   // another tool was chosen: the probe's label goes
        this.probe = null;
        this.update();
      }
    });
    const end = (event) => {
      if (this.moving && this.moving.pointer === event.pointerId) {
        this.moving = null;
        this.view.changed();
        return;
      }
      const { drawing } = this;
      if (!drawing || drawing.pointer !== event.pointerId) return;
      drawing.pointer = null;
      if (event.type !== 'pointerup') this.drawing = null;
      else if (drawing.item.kind === 'angle' && drawing.item.points.length === 2) {
        if (complete({ kind: 'length', points: drawing.item.points })) drawing.item.points.push({ ...drawing.item.points[1] });   // now the second arm
        else this.drawing = null;
      } else if (drawing.item.kind === 'cobb' && drawing.item.points.length === 2) {
        if (!complete({ kind: 'length', points: drawing.item.points })) this.drawing = null;   // waits for line 2
      } else this.finish();
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

  /** The kept measurement point within 6 CSS pixels of (x, y) on image `key`: {item, index}, or null. */
  handleAt(key, x, y) {
    for (const item of this.items.get(key) || []) {
      const index = item.points.findIndex((point) => {
        const at = this.toScreen(point);
        return Math.hypot(at.x - x, at.y - y) <= 6;
      });
      if (index >= 0) return { item, index };
    }
    return null;
  }

  /** Keep the item being drawn if it measures something; an arrow then asks for its label. */
  finish() {
    const { drawing } = this;
    this.drawing = null;
    if (!drawing || !complete(drawing.item)) return;
    this.add(drawing.key, drawing.item);
    if (drawing.item.kind === 'arrow') this.askLabel(drawing.item);
  }

  add(key, item) {
    if (!this.items.has(key)) this.items.set(key, []);
    this.items.get(key).push(item);
    this.view.changed();
  }

  /** A text box at the arrow's tail: Enter (or leaving it) keeps the text, Escape leaves the arrow bare. */
  askLabel(item) {
    const at = this.toScreen(item.points[1]);
    const input = document.createElement('input');
    Object.assign(input, { type: 'text', className: 'arrow-label', placeholder: 'Label', maxLength: 64 });
    input.setAttribute('aria-label', 'Arrow label');
    input.style.left = `${at.x + 6}px`;
    input.style.top = `${at.y - 10}px`;
    let done = false;
    const close = (keep) => {
      if (done) return;
      done = true;
      if (keep) item.label = input.value.trim();
      input.remove();
      this.update();
      this.view.changed();
    };
    input.addEventListener('keydown', (event) => {
      event.stopPropagation();   // typed text is not a shortcut
      if (event.key === 'Enter') close(true);
      else if (event.key === 'Escape') close(false);
    });
    input.addEventListener('blur', () => close(true));
    this.layer.after(input);
    input.focus();
  }

  /** Drop the item being drawn (a pinch began). */
  cancel() {
    if (!this.drawing) return;
    this.drawing = null;
    this.update();
  }

  /** A keyboard action 'measure:…' (shortcuts.js); true if handled. */
  handle(action) {
    if (action !== 'measure:clear') return false;
    const image = this.shown;
    if (image) this.items.delete(frameKey(image));
    this.drawing = null;
    this.update();
    this.view.changed();
    return true;
  }

  /** Every measurement kept: [{instance, frame, item}]. */
  all() {
    return [...this.items].flatMap(([key, items]) => {
      const at = key.lastIndexOf('/');
      return items.map((item) => ({ instance: key.slice(0, at), frame: Number(key.slice(at + 1)), item }));
    });
  }

  /** Measurements read back from a report, [{instance, frame, item}], replacing those of their images. */
  load(list) {
    const byKey = new Map();
    for (const { instance, frame, item } of list) {
      const key = frameKey({ instance, frame });
      if (!byKey.has(key)) byKey.set(key, []);
      byKey.get(key).push(item);
    }
    for (const [key, items] of byKey) this.items.set(key, items);
    this.update();
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
    const { layer, canvas } = this;
    const image = this.shown;
    const { viewport } = this.view;
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
    const spacing = items.length ? this.spacingOf(image.instance) : null;
    const spacingKnown = !items.length || !(this.spacings.get(image.instance) instanceof Promise);
    const frame = this.view.frameOf(image);
    const units = frame ? modalityUnits(frame, this.view.modality()) : '';
    const nodes = items.map((item) => this.drawItem(item, { spacing, spacingKnown, frame, units }));
    if (this.view.tool() === 'probe' && this.probe) nodes.push(this.drawProbe(frame, units));
    else delete layer.dataset.probe;
    layer.replaceChildren(...nodes.filter(Boolean));
  }

  /** What an item measures on `frame`: {result (for data-result and the SR), lines (its label)}. */
  measureItem(item, { spacing, spacingKnown, frame, units }) {
    const { points } = item;
    const [p, q] = points;
    const result = { p: [p.x, p.y], q: [q.x, q.y], points: points.map((point) => [point.x, point.y]), spacing, spacingKnown };
    const unit = lengthUnit(spacing);
    if (item.kind === 'length') {
      result.length = lengthOf(p, q, spacing);
      result.unit = unit;
      return { result, lines: [`${result.length.toFixed(2)} ${unit}`] };
    }
    if (item.kind === 'angle' || item.kind === 'cobb') {
      const done = points.length === POINTS[item.kind];
      result.angle = !done ? null : item.kind === 'angle' ? angleOf(p, q, points[2], spacing)
        : cobbOf(p, q, points[2], points[3], spacing);
      const text = result.angle === null ? '…' : `${result.angle.toFixed(1)}°`;
      return { result, lines: [item.kind === 'cobb' ? `Cobb ${text}` : text] };
    }
    if (item.kind === 'arrow') {
      result.label = item.label || '';
      return { result, lines: item.label ? [item.label] : [] };
    }
    const ellipse = item.kind === 'ellipse';
    const shape = ellipse ? ellipseOf(p, q) : rectOf(p, q);
    const areaPx = ellipse ? Math.PI * shape.a * shape.b : (shape.x1 - shape.x0) * (shape.y1 - shape.y0);
    result.area = spacing ? areaPx * spacing.row * spacing.column : areaPx;
    result.areaUnit = spacing ? `${unit.replace('mm', 'mm²')}` : 'px²';
    // Computed once per ROI and frame: a window/level drag redraws the layer at every display frame.
    if (!item.cache || item.cache.frame !== frame || item.cache.p !== p || item.cache.q !== q) {
      const stats = !frame ? null : ellipse ? ellipseStats(frame, shape) : rectStats(frame, shape);
      item.cache = { frame, p, q, stats };
    }
    const { stats } = item.cache;
    Object.assign(result, { stats, units });
    const u = units ? ` ${units}` : '';
    let lines;
    if (!frame) lines = ['no values (server PNG)'];
    else if (!stats) lines = ['no pixel centre inside'];
    else {
      lines = [`mean ${formatValue(stats.mean)}${u}  SD ${formatValue(stats.sd)}`,
        `min ${formatValue(stats.min)}  max ${formatValue(stats.max)}${u}`];
    }
    lines.push(`area ${formatValue(result.area)} ${result.areaUnit}${stats ? `  (${stats.count} px)` : ''}`);
    return { result, lines };
  }

  drawItem(item, context) {
    const { result, lines } = this.measureItem(item, context);
    const screen = item.points.map((point) => this.toScreen(point));
    const [a, b] = screen;
    const group = svg('g', { class: `measure ${item.kind}` });
    group.dataset.kind = item.kind;
    const { scale } = this.view.viewport;
    if (item.kind === 'ellipse') {
      const e = ellipseOf(item.points[0], item.points[1]);
      const centre = this.toScreen({ x: e.cx, y: e.cy });
      group.append(svg('ellipse', { cx: centre.x, cy: centre.y, rx: e.a * scale, ry: e.b * scale }));
    } else if (item.kind === 'rectangle') {
      group.append(svg('rect', { x: Math.min(a.x, b.x), y: Math.min(a.y, b.y), width: Math.abs(b.x - a.x), height: Math.abs(b.y - a.y) }));
    } else if (item.kind === 'angle') {
      group.append(svg('polyline', { points: screen.map((s) => `${s.x},${s.y}`).join(' ') }));
    } else {
      for (let i = 0; i + 1 < screen.length; i += 2) {
        group.append(svg('line', { x1: screen[i].x, y1: screen[i].y, x2: screen[i + 1].x, y2: screen[i + 1].y }));
      }
      if (item.kind === 'arrow') group.append(this.arrowHead(a, b));
    }
    group.dataset.result = JSON.stringify(result);
    const xs = screen.map((s) => s.x);
    const ys = screen.map((s) => s.y);
    const anchor = item.kind === 'arrow' ? { x: b.x + 6, y: b.y - 6 } : { x: Math.max(...xs) + 6, y: Math.min(...ys) };
    if (lines.length) group.append(this.label(lines, anchor));
    return group;
  }

  /** The head of an arrow pointing at `tip` from `tail`. */
  arrowHead(tip, tail) {
    const angle = Math.atan2(tail.y - tip.y, tail.x - tip.x);
    const wing = (turn) => `${tip.x + 10 * Math.cos(angle + turn)},${tip.y + 10 * Math.sin(angle + turn)}`;
    return svg('polygon', { class: 'head', points: `${tip.x},${tip.y} ${wing(0.45)} ${wing(-0.45)}` });
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
