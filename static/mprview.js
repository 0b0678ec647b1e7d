// The MPR layout (layout=mpr): three viewports (mprpane.js), axial, coronal
// and sagittal, through one volume (volume.js) computed on the client
// (mpr.js, the server's MPR contract).  The group holds what they share: the
// crosshair's point in patient space, each plane's orientation (turned by
// the crosshair: oblique planes), the window and inversion, and the slab.
// Zoom and pan are each viewport's own.  Changes are drawn at the next
// animation frame, and only the planes that moved are computed again: on the
// GPU (mpr-webgl.js) where WebGL2 is the renderer (renderer.js), else, or
// when the GPU gives up, on the CPU.
import { mprUrl } from './api.js';
import { cross, dot, referenceLine } from './geometry.js';
import { chooseVoi } from './lut.js';
import { planeGrid, rotate, slab } from './mpr.js';
import { GpuReformat } from './mpr-webgl.js';
import { MprPane } from './mprpane.js';
import { prefersWebGL2 } from './renderer.js';
import { SeriesModel } from './series.js';
import { VolumeSource } from './volume.js';
import { displayMeta, effectiveWindow } from './windowing.js';

export const PLANES = ['axial', 'coronal', 'sagittal'];
/** Each plane's own orientation: its normal, and the direction up on screen (mpr.js planeGrid, oblique). */
const BASE = {
  axial: { normal: [0, 0, 1], up: [0, -1, 0] },
  coronal: { normal: [0, 1, 0], up: [0, 0, 1] },
  sagittal: { normal: [-1, 0, 0], up: [0, 0, 1] },
};
const AXIS = { axial: 2, coronal: 1, sagittal: 0 };
export const PROJECTIONS = ['mip', 'minip', 'mean'];

/** Whether the planes are computed on the GPU: ?mpr=webgl2 or ?mpr=cpu in the page's URL, else as the renderer (renderer.js). */
function gpuWanted(search = location.search) {
  const asked = new URLSearchParams(search).get('mpr');
  return asked === 'webgl2' || (asked !== 'cpu' && prefersWebGL2());
}

function same(a, b) {
  return a.every((v, i) => Math.abs(v - b[i]) < 1e-9);
}

function vectorOf(text) {
  const v = (text || '').split(',').map(Number);
  return v.length === 3 && v.every(Number.isFinite) && Math.hypot(...v) > 0 ? v : null;
}

function fixed(v) {
  return v.map((x) => Number(x.toFixed(6))).join(',');
}

/**
 * `grid` sampled every `factor` native pixels (>= 1): the same extent, fewer
 * points, each at the centre of the native pixels it covers; the renderer
 * draws it at the native grid's size.  Its column and row vectors are
 * scaled, not unit (mpr.js reformat steps by vector x spacing).
 */
export function sampledGrid(grid, factor) {
  if (!(factor > 1)) return { ...grid, factor: 1 };
  const width = Math.max(1, Math.ceil(grid.width / factor));
  const height = Math.max(1, Math.ceil(grid.height / factor));
  const fx = grid.width / width;
  const fy = grid.height / height;
  const origin = grid.origin.map((v, i) => v + ((fx - 1) / 2) * grid.spacing * grid.columns[i] + ((fy - 1) / 2) * grid.spacing * grid.rows[i]);
  return { ...grid, origin, width, height, columns: grid.columns.map((v) => v * fx), rows: grid.rows.map((v) => v * fy), factor };
}

export class MprGroup {
  /** `host` is the viewer's pane host: {store, changed(pane, what), activate(pane), maximise(pane)}. */
  constructor(host) {
    this.host = host;
    this.panes = [];
    this.source = null;
    this.gpu = null;         // the GPU reformat (mpr-webgl.js) when WebGL2 is the renderer, else null: the CPU's
    this.client = null;
    this.model = null;
    this.seriesId = null;
    this.opening = null;
    this.window = null;
    this.invert = false;
    this.thickness = 0;
    this.projection = 'mip';
    this.point = null;
    this.orient = structuredClone(BASE);
    this.dirty = new Set();
    this.frame = 0;
    this.loadTimer = 0;
  }

  /** The three viewports, made from the viewport template. */
  makePanes(template) {
    this.panes = PLANES.map((plane, i) => new MprPane(template, this, i, plane));
    return this.panes;
  }

  /** Open `seriesId` as a volume; `params` (URLSearchParams of the hash) may restore the screen. */
  async open(seriesId, params = new URLSearchParams()) {
    this.close();
    this.seriesId = seriesId;
    this.opening = seriesId;
    this.source = new VolumeSource(this.host.store, { onChange: () => this.arrived() });
    this.client = this.source.client;
    for (const pane of this.panes) pane.paths.client = this.client;
    try {
      [this.model] = await Promise.all([SeriesModel.load(seriesId), this.source.open(seriesId)]);
    } catch (error) {
      if (this.opening === seriesId) for (const pane of this.panes) pane.showError(error);
      return null;
    }
    if (this.opening !== seriesId) return null;
    this.gpu = gpuWanted() ? GpuReformat.create(this.source.volume) : null;
    if (!this.gpu) this.source.keepColumnCopies();
    this.restore(params);
    this.host.changed(this.panes[0], 'series');
    this.arrived();
    return this.model.series;
  }

  restore(params) {
    const { low, high } = this.source.volume;
    const centre = low.map((v, i) => (v + high[i]) / 2);
    this.point = vectorOf(params.get('point')) || centre;
    this.orient = structuredClone(BASE);
    PLANES.forEach((plane, i) => {
      const prefix = i ? `v${i}.` : '';
      const normal = vectorOf(params.get(`${prefix}normal`));
      const up = vectorOf(params.get(`${prefix}up`));
      if (normal && up && Math.abs(dot(normal, up)) < 0.999 * Math.hypot(...normal) * Math.hypot(...up)) {
        this.orient[plane] = { normal: normal.map((x) => x / Math.hypot(...normal)), up };
      }
      const zoom = params.get(`${prefix}zoom`);
      if (zoom !== null) this.panes[i].viewport.setView({ zoom: Number(zoom), pan: (params.get(`${prefix}pan`) || '').split(',').map(Number) });
    });
    const pair = (params.get('window') || '').split(',').map(Number);
    this.window = pair.length === 2 && pair.every(Number.isFinite) && pair[1] > 0 ? { center: pair[0], width: pair[1] } : null;
    this.invert = params.get('invert') === '1';
    const thickness = Number(params.get('slab'));
    this.thickness = Number.isFinite(thickness) && thickness > 0 ? thickness : 0;
    this.projection = PROJECTIONS.includes(params.get('projection')) ? params.get('projection') : 'mip';
  }

  close() {
    if (this.source) this.source.close();
    this.dropGpu();
    this.source = null;
    this.model = null;
    this.opening = null;
    cancelAnimationFrame(this.frame);
    clearTimeout(this.loadTimer);
    this.frame = 0;
    this.loadTimer = 0;
    this.dirty.clear();
    for (const pane of this.panes) pane.grid = null;
  }

  /** The GPU path gave up (or the series closes): its memory back, and the CPU from now on. */
  dropGpu() {
    if (!this.gpu) return;
    this.gpu.destroy();
    this.gpu = null;
    if (this.source && this.source.volume) this.source.keepColumnCopies();
  }

  destroy() {
    this.close();
    for (const pane of this.panes) pane.destroy();
  }

  /** A frame arrived: the progress, and every plane again. */
  arrived() {
    const source = this.source;
    if (!source || !source.volume) return;
    if (source.error) {
      for (const pane of this.panes) pane.showError(source.error);
      return;
    }
    for (const pane of this.panes) pane.showProgress(source.loadedCount, source.total);
    // While the volume loads, the planes are computed again a few times a second, not for every slice.
    if (source.complete) {
      clearTimeout(this.loadTimer);
      this.loadTimer = 0;
      this.redraw(this.panes);
    } else if (!this.loadTimer) {
      if (!this.panes.some((pane) => pane.grid)) this.redraw(this.panes);
      this.loadTimer = setTimeout(() => {
        this.loadTimer = 0;
        this.redraw(this.panes);
      }, 250);
    }
  }

  // --- geometry --------------------------------------------------------------------

  /** True when `pane`'s plane has been turned off its own orientation. */
  oblique(pane) {
    const { normal, up } = this.orient[pane.plane];
    return !(same(normal, BASE[pane.plane].normal) && same(up, BASE[pane.plane].up));
  }

  /**
   * `pane`'s plane through the crosshair's point, as the MPR contract names
   * it: {name, position} for a standard plane (position on its own axis),
   * {name: 'oblique', position, normal, up} for a turned one.
   */
  placement(pane) {
    if (!this.oblique(pane)) return { name: pane.plane, position: this.point[AXIS[pane.plane]] };
    const { normal, up } = this.orient[pane.plane];
    return { name: 'oblique', position: dot(this.point, normal), normal, up };
  }

  /** The sampling grid of `pane`'s plane through the crosshair's point (mpr.js planeGrid). */
  gridOf(pane) {
    const { name, ...options } = this.placement(pane);
    return planeGrid(this.source.volume, name, options);
  }

  /** The positions along `pane`'s normal the box spans: [first, count] at the output spacing. */
  range(pane) {
    const { low, high } = this.source.volume;
    const { normal } = this.orient[pane.plane];
    const along = [];
    for (const x of [low[0], high[0]]) for (const y of [low[1], high[1]]) for (const z of [low[2], high[2]]) along.push(dot([x, y, z], normal));
    const spacing = Math.min(...this.source.volume.spacing);
    return [Math.min(...along), Math.floor((Math.max(...along) - Math.min(...along)) / spacing + 1e-9) + 1, spacing];
  }

  stepsOf(pane) {
    if (!this.source || !this.source.volume || !this.point) return [];
    const [, count] = this.range(pane);
    if (!this.steps || this.steps.length !== count) this.steps = Array.from({ length: count }, () => this.model && this.model.images[0]);
    return this.steps;
  }

  indexOf(pane) {
    if (!this.point || !this.source || !this.source.volume) return 0;
    const [first, count, spacing] = this.range(pane);
    return Math.max(0, Math.min(count - 1, Math.round((dot(this.point, this.orient[pane.plane].normal) - first) / spacing)));
  }

  /** Move the point along `pane`'s normal to step `index`. */
  goTo(pane, index) {
    if (!this.point) return;
    const [first, count, spacing] = this.range(pane);
    const target = first + Math.max(0, Math.min(count - 1, index)) * spacing;
    const { normal } = this.orient[pane.plane];
    const shift = target - dot(this.point, normal);
    this.point = this.point.map((v, i) => v + shift * normal[i]);
    this.redraw([pane]);
    this.host.changed(pane, 'image');
  }

  step(pane, delta) {
    this.goTo(pane, this.indexOf(pane) + delta);
  }

  /** The crosshair's centre dragged to image point {x, y} of `pane`: the other planes move. */
  moveTo(pane, { x, y }) {
    const grid = pane.grid;
    if (!grid) return;
    this.point = [0, 1, 2].map((i) => grid.origin[i] + ((x - 0.5) * grid.columns[i] + (y - 0.5) * grid.rows[i]) * grid.spacing);
    this.redraw(this.panes.filter((other) => other !== pane));
  }

  /** Turn the other two planes by `angle` radians about `pane`'s normal (a screen turn from its columns to its rows). */
  rotate(pane, angle) {
    if (!angle || !Number.isFinite(angle)) return;
    const axis = this.orient[pane.plane].normal;
    for (const other of this.panes) {
      if (other === pane) continue;
      const o = this.orient[other.plane];
      this.orient[other.plane] = { normal: rotate(o.normal, axis, angle), up: rotate(o.up, axis, angle) };
    }
    this.redraw(this.panes.filter((other) => other !== pane));
  }

  reset() {
    this.orient = structuredClone(BASE);
    this.setWindow(null);
    this.redraw(this.panes);
  }

  // --- window and slab -----------------------------------------------------------------

  /** The first slice's frame (the default window is the first image's, as on the server). */
  firstFrame() {
    const slices = this.source && this.source.volume ? this.source.volume.slices : [];
    return (slices[0] && slices[0].frame) || (slices.find((s) => s.frame) || {}).frame || null;
  }

  displayMeta() {
    return displayMeta(this.firstFrame(), null);
  }

  shownWindow() {
    return effectiveWindow(this.displayMeta(), this.window, this.panes[0].isCT());
  }

  setWindow(window) {
    this.window = window;
    this.rewindow();
  }

  setInvert(invert) {
    this.invert = invert;
    this.rewindow();
  }

  rewindow() {
    const voi = this.voi();
    if (voi) for (const pane of this.panes) pane.rewindow(voi, this.invert);
    for (const pane of this.panes) pane.updateOverlay();
    this.host.changed(this.panes[0], 'window');
  }

  voi() {
    const frame = this.firstFrame();
    return frame ? chooseVoi(frame, this.window) : null;
  }

  /** A slab of `thickness` mm (0: the plane) with `projection` mip, minip or mean, on every plane. */
  setSlab(thickness, projection = this.projection) {
    this.thickness = Number.isFinite(thickness) && thickness > 0 ? thickness : 0;
    this.projection = PROJECTIONS.includes(projection) ? projection : 'mip';
    this.redraw(this.panes);
    this.host.changed(this.panes[0], 'image');
  }

  slabText() {
    return this.thickness > 0 ? `Slab ${this.thickness} mm ${this.projection.toUpperCase()}` : '';
  }

  // --- drawing ---------------------------------------------------------------------

  /** Compute `panes` again at the next animation frame (the crosshair of all of them is redrawn). */
  redraw(panes) {
    for (const pane of panes) this.dirty.add(pane);
    if (!this.frame) this.frame = requestAnimationFrame(() => this.draw());
  }

  draw() {
    this.frame = 0;
    const volume = this.source && this.source.loaded();
    const voi = this.voi();
    if (!volume || !voi || !this.point) return;
    const first = this.firstFrame();
    const meta = { windows: first.windows, voiLuts: first.voiLuts, inverse: first.inverse, head: first.head };
    for (const pane of this.dirty) {
      const grid = this.gridOf(pane);
      if (!grid) continue;
      const sampled = sampledGrid(grid, pane.reduction());
      const size = sampled.width * sampled.height;
      const values = pane.values && pane.values.length === size ? pane.values : new Float32Array(size);
      const start = performance.now();
      if (this.gpu && !this.gpu.ready(volume)) this.dropGpu();
      const engine = this.gpu;
      if (engine) engine.slab(volume, sampled, this.thickness, this.projection, values);
      else slab(volume, sampled, this.thickness, this.projection, values);   // the plane itself without a slab
      const computed = performance.now();
      pane.show(grid, sampled, values, meta, voi, this.invert);
      const { normal } = this.orient[pane.plane];
      Object.assign(pane.element.dataset, {
        position: dot(this.point, normal).toFixed(2),
        oblique: String(this.oblique(pane)),
        normal: fixed(normal),
        reformat: engine ? 'webgl2' : 'cpu',   // which computed the plane: the WebGL2 3D texture or the CPU
        reformatMs: (computed - start).toFixed(1),   // the reformat's time, and the drawing's (benchmarks)
        drawMs: (performance.now() - computed).toFixed(1),
      });
    }
    this.dirty.clear();
    this.drawCrosshairs();
  }

  /** Each viewport's crosshair: where the two other planes cut it, and the point. */
  drawCrosshairs() {
    const asPlane = (grid) => ({ plane: { position: grid.origin, row: grid.columns, column: grid.rows, normal: cross(grid.columns, grid.rows) },
      spacing: [grid.spacing, grid.spacing], dims: { cols: grid.width, rows: grid.height } });
    for (const pane of this.panes) {
      if (!pane.grid) continue;
      const target = asPlane(pane.grid);
      const lines = this.panes.filter((other) => other !== pane && other.grid).map((other) => ({
        plane: other.plane, ends: referenceLine(target, asPlane(other.grid)),
      })).filter((line) => line.ends);
      const d = this.point.map((v, i) => v - pane.grid.origin[i]);
      const centre = { x: dot(d, pane.grid.columns) / pane.grid.spacing + 0.5, y: dot(d, pane.grid.rows) / pane.grid.spacing + 0.5 };
      pane.drawCrosshair(lines, centre);
      pane.updateOverlay();
    }
  }

  // --- sharing ---------------------------------------------------------------------

  /** The server's PNG of `pane`'s plane as on screen (Copy PNG URL). */
  pngUrl(pane) {
    if (!this.point || !this.seriesId) return null;
    const { name, ...where } = this.placement(pane);
    const url = mprUrl(this.seriesId, name, {
      window: this.window, invert: this.invert, slab: this.thickness, projection: this.projection, ...where,
    });
    return new URL(url, location.href).href;
  }

  /** The hash of the MPR screen: the series, the point, the window, the slab, each viewport's orientation and view. */
  hash(active) {
    const query = ['layout=mpr'];
    if (this.point) query.push(`point=${this.point.map((v) => Number(v.toFixed(2))).join(',')}`);
    if (this.window && 'center' in this.window) query.push(`window=${this.window.center},${this.window.width}`);
    if (this.invert) query.push('invert=1');
    if (this.thickness > 0) query.push(`slab=${this.thickness}`, `projection=${this.projection}`);
    this.panes.forEach((pane, i) => {
      const prefix = i ? `v${i}.` : '';
      const o = this.orient[pane.plane];
      if (this.oblique(pane)) {
        query.push(`${prefix}normal=${fixed(o.normal)}`, `${prefix}up=${fixed(o.up)}`);
      }
      const { zoom, pan, fitted } = pane.viewport.view;
      if (!fitted) query.push(`${prefix}zoom=${Number(zoom.toFixed(4))}`, `${prefix}pan=${pan.map((v) => Number(v.toFixed(1))).join(',')}`);
    });
    if (active > 0) query.push(`active=${active}`);
    return `#/series/${encodeURIComponent(this.seriesId)}?${query.join('&')}`;
  }
}
