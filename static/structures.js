// RT Structure Sets over the image: the contours of the ROIs ticked in the
// objects panel (objects.js), drawn by the browser in an SVG layer over the
// canvas, so that they follow zoom and pan and a ROI or the fill toggled
// redraws at once without asking for the image again.  The contours come from
// /api/instances/{id}/structures/{rtstruct}?frame=N in the image's pixel
// coordinates ([column, row], 0-based pixel centres), asked once per image,
// frame and structure set and kept in a small cache.
//
// The layer has the class structures-layer; each ROI drawn is a
// <g class="structure" data-roi data-structures> holding its closed contours
// as polygons, open ones as polylines and points as dots.  Once the answers
// of every structure set shown have come for the image on screen, the layer's
// data-ready is that image's "{instance id}/{frame}" (absent until then), and
// data-error holds the servers' messages if any failed.
import { api } from './api.js';

const SVG = 'http://www.w3.org/2000/svg';
const CACHE_ENTRIES = 512;   // answers kept, one per (image, frame, structure set)
const DOT_RADIUS = 2.5;      // CSS pixels, for POINT contours
const FILL_OPACITY = 0.25;   // closed contours with Fill ticked
const FALLBACK_COLOR = '#ffff00';

function node(name, attributes) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  return element;
}

/** A #rrggbb colour from the server, or the fallback: the value goes into SVG attributes. */
function colorOf(value) {
  return /^#[0-9a-f]{6}$/i.test(value || '') ? value : FALLBACK_COLOR;
}

export class StructureLayer {
  /**
   * `view` is all the layer sees of its viewport: {canvas, viewport
   * (viewport.js), shown() (the image on screen or null), wanted() (the image
   * asked for, fetched ahead), choice() (objects.js structureChoice():
   * {sets: [{id, rois: [numbers]}], fill})}.
   */
  constructor(view) {
    this.view = view;
    this.canvas = view.canvas;
    this.layer = node('svg', { class: 'structures-layer', 'aria-hidden': 'true' });
    this.canvas.after(this.layer);   // right above the canvas, under measurements and reference lines
    this.cache = new Map();          // key -> {answer} | {error} | {pending: true}
  }

  static key(image, structuresId) {
    return `${image.instance}/${image.frame}/${structuresId}`;
  }

  /** The contours of set `structuresId` on `image` if they have arrived, else null (asking for them once). */
  contoursOf(image, structuresId) {
    const key = StructureLayer.key(image, structuresId);
    const entry = this.cache.get(key);
    if (entry) {
      this.cache.delete(key);   // most recently used last
      this.cache.set(key, entry);
      return entry.answer || null;
    }
    this.cache.set(key, { pending: true });
    while (this.cache.size > CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value);
    api.structures(image.instance, structuresId, image.frame).then(
      (answer) => this.arrived(key, { answer }),
      (error) => this.arrived(key, { error: error.message }));
    return null;
  }

  arrived(key, entry) {
    if (!this.cache.has(key)) return;   // pushed out of the cache meanwhile
    this.cache.set(key, entry);
    const shown = this.view.shown();
    if (shown && key.startsWith(`${shown.instance}/${shown.frame}/`)) this.update();
  }

  update() {
    const { layer, view } = this;
    const { viewport } = view;
    layer.setAttribute('width', String(this.canvas.clientWidth));
    layer.setAttribute('height', String(this.canvas.clientHeight));
    const { sets, fill } = view.choice();
    const ticked = sets.filter((set) => set.rois.length);
    const wanted = view.wanted();
    if (wanted) for (const set of ticked) this.contoursOf(wanted, set.id);   // ready when it shows
    const shown = view.shown();
    const nodes = [];
    const errors = [];
    let ready = false;
    if (shown && viewport.shown && viewport.dims) {
      ready = true;
      for (const set of ticked) {
        const answer = this.contoursOf(shown, set.id);
        const entry = this.cache.get(StructureLayer.key(shown, set.id));
        if (entry.pending) ready = false;
        if (entry.error) errors.push(entry.error);
        if (!answer) continue;
        for (const roi of answer.rois) {
          if (set.rois.includes(roi.number)) nodes.push(this.drawRoi(set.id, roi, answer, fill));
        }
      }
    }
    if (ready) layer.dataset.ready = `${shown.instance}/${shown.frame}`;
    else delete layer.dataset.ready;
    if (errors.length) layer.dataset.error = errors.join('; ');
    else delete layer.dataset.error;
    layer.replaceChildren(...nodes);
  }

  /** The screen (CSS) point of pixel centre [i, j] of an answer whose grid is `columns` x `rows`. */
  toScreen([i, j], columns, rows) {
    const { viewport } = this.view;
    const place = viewport.placement();
    const { cols, rows: height } = viewport.dims;
    return [place.x + (i + 0.5) * (cols / columns) * viewport.scale,
      place.y + (j + 0.5) * (height / rows) * viewport.scale];
  }

  drawRoi(structuresId, roi, answer, fill) {
    const color = colorOf(roi.color);
    const group = node('g', { class: 'structure', stroke: color });
    Object.assign(group.dataset, { roi: String(roi.number), structures: structuresId });
    for (const contour of roi.contours) {
      const points = contour.points.map((p) => this.toScreen(p, answer.columns, answer.rows));
      if (!points.length) continue;
      if (contour.kind === 'POINT' || points.length === 1) {
        for (const [x, y] of points) group.append(node('circle', { class: 'point', cx: x, cy: y, r: DOT_RADIUS, fill: color }));
        continue;
      }
      const text = points.map(([x, y]) => `${x.toFixed(2)},${y.toFixed(2)}`).join(' ');
      if (contour.kind === 'CLOSED_PLANAR') {
        group.append(node('polygon', { points: text, fill: fill ? color : 'none', 'fill-opacity': FILL_OPACITY }));
      } else {
        group.append(node('polyline', { points: text, fill: 'none' }));
      }
    }
    return group;
  }
}
