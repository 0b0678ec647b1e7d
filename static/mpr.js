// Planes through a volume in the browser, from the frames the viewer loads at
// full precision (frame.js): the same contract as the server's MPR route
// (previewer/pixels/mpr.py, docs/API.md), so that a reformat drawn here and
// one fetched as a PNG agree.  A volume is parallel slices of one frame of
// reference sorted along their normal; a point is read in the two slices
// around it, each where the point projects onto it (a tilted stack is read
// right), and the two are blended by distance along the normal.  Plain
// numbers and typed arrays, no page access.
import { cross, dot } from './geometry.js';

const AXES = { axial: [[0, 1], [1, 1], 2], coronal: [[0, 1], [2, -1], 1], sagittal: [[1, 1], [2, -1], 0] };

/**
 * The volume of `slices`, each {plane (geometry.js planeOf), spacing: [row,
 * column] mm, frame (frame.js Frame)}, or null when they are not parallel,
 * of one size and at distinct positions.
 */
export function volumeOf(slices) {
  if (slices.length < 2 || slices.some((s) => !s.plane || !s.spacing || !s.frame)) return null;
  const { normal, row, column } = slices[0].plane;
  const sorted = [...slices].sort((a, b) => dot(a.plane.position, normal) - dot(b.plane.position, normal));
  const offsets = sorted.map((s) => dot(s.plane.position, normal));
  const { rows, columns } = sorted[0].frame;
  for (let i = 0; i < sorted.length; i += 1) {
    const s = sorted[i];
    if (Math.abs(dot(s.plane.normal, normal)) < 0.9999 || s.frame.rows !== rows || s.frame.columns !== columns) return null;
    if (i && offsets[i] - offsets[i - 1] < 1e-3) return null;
  }
  const low = [Infinity, Infinity, Infinity];
  const high = [-Infinity, -Infinity, -Infinity];
  for (const s of sorted) {
    for (const [c, r] of [[0, 0], [columns - 1, 0], [0, rows - 1], [columns - 1, rows - 1]]) {
      for (let k = 0; k < 3; k += 1) {
        const v = s.plane.position[k] + row[k] * c * s.spacing[1] + column[k] * r * s.spacing[0];
        low[k] = Math.min(low[k], v);
        high[k] = Math.max(high[k], v);
      }
    }
  }
  let background = Infinity;
  for (const s of sorted) {
    const f = s.frame;
    const least = f.min !== null ? f.modality(f.min) : f.values.reduce((m, v) => Math.min(m, f.modality(v)), Infinity);
    background = Math.min(background, least);
  }
  return { slices: sorted, offsets, row, column, normal, rows, columns, spacing: sorted[0].spacing, low, high, background };
}

function count(low, high, spacing) {
  return Math.max(1, Math.floor((high - low) / spacing + 1e-9) + 1);
}

function unit(v) {
  const length = Math.hypot(v[0], v[1], v[2]);
  return length > 0 && Number.isFinite(length) ? v.map((x) => x / length) : null;
}

/**
 * The sampling grid of plane `name` (axial, coronal, sagittal, oblique with
 * {normal, up}) at `position` mm (default: the centre of the box):
 * {origin, columns, rows, normal, spacing, width, height, position}.
 */
export function planeGrid(volume, name, { position = null, normal = null, up = null } = {}) {
  const spacing = Math.min(...volume.spacing);
  const { low, high } = volume;
  if (name === 'oblique') {
    const n = unit(normal);
    let u = unit(up);
    if (!n || !u) return null;
    u = unit(u.map((x, i) => x - dot(u, n) * n[i]));
    if (!u) return null;
    const columns = cross(n, u);
    const rows = u.map((x) => -x);
    const corners = [];
    for (const x of [low[0], high[0]]) for (const y of [low[1], high[1]]) for (const z of [low[2], high[2]]) corners.push([x, y, z]);
    const anchored = (axis) => {
      const along = corners.map((p) => dot(p, axis));
      const anchor = dot(low, axis);
      const start = anchor + Math.ceil((Math.min(...along) - anchor) / spacing - 1e-9) * spacing;
      return [start, count(start, Math.max(...along), spacing), along];
    };
    const [startC, width] = anchored(columns);
    const [startR, height] = anchored(rows);
    const along = corners.map((p) => dot(p, n));
    const where = position ?? (Math.min(...along) + Math.max(...along)) / 2;
    const origin = [0, 1, 2].map((i) => startC * columns[i] + startR * rows[i] + where * n[i]);
    return { origin, columns, rows, normal: n, spacing, width, height, position: where };
  }
  const [[ci, cs], [ri, rs], ni] = AXES[name];
  const counts = [0, 1, 2].map((i) => count(low[i], high[i], spacing));
  const columns = [0, 0, 0];
  const rows = [0, 0, 0];
  const n = [0, 0, 0];
  columns[ci] = cs;
  rows[ri] = rs;
  n[ni] = 1;
  const where = position ?? (low[ni] + high[ni]) / 2;
  const origin = [...low];
  if (rs < 0) origin[ri] = low[ri] + (counts[ri] - 1) * spacing;
  origin[ni] = where;
  return { origin, columns, rows, normal: n, spacing, width: counts[ci], height: counts[ri], position: where };
}

/** Bilinear modality value of slice `s` at the projection of point (px, py, pz), or NaN off the slice. */
function bilinear(volume, s, px, py, pz) {
  const { row, column, rows, columns } = volume;
  const dx = px - s.plane.position[0];
  const dy = py - s.plane.position[1];
  const dz = pz - s.plane.position[2];
  let x = (dx * row[0] + dy * row[1] + dz * row[2]) / s.spacing[1];
  let y = (dx * column[0] + dy * column[1] + dz * column[2]) / s.spacing[0];
  if (x < -1e-6 || y < -1e-6 || x > columns - 1 + 1e-6 || y > rows - 1 + 1e-6) return NaN;
  x = Math.min(Math.max(x, 0), columns - 1);
  y = Math.min(Math.max(y, 0), rows - 1);
  const x0 = Math.min(Math.floor(x), Math.max(columns - 2, 0));
  const y0 = Math.min(Math.floor(y), Math.max(rows - 2, 0));
  const x1 = Math.min(x0 + 1, columns - 1);
  const y1 = Math.min(y0 + 1, rows - 1);
  const fx = x - x0;
  const fy = y - y0;
  const v = s.frame.values;
  const top = v[y0 * columns + x0] * (1 - fx) + v[y0 * columns + x1] * fx;
  const bottom = v[y1 * columns + x0] * (1 - fx) + v[y1 * columns + x1] * fx;
  return s.frame.modality(top * (1 - fy) + bottom * fy);   // the rescale is linear: it commutes with the blend
}

/** The modality values of `grid` (a Float32Array, row by row), trilinear; the volume's lowest value outside. */
export function reformat(volume, grid, out = new Float32Array(grid.width * grid.height)) {
  const { offsets, normal, slices, background } = volume;
  const last = offsets.length - 1;
  let i = 0;
  for (let r = 0; r < grid.height; r += 1) {
    for (let c = 0; c < grid.width; c += 1, i += 1) {
      const px = grid.origin[0] + (c * grid.columns[0] + r * grid.rows[0]) * grid.spacing;
      const py = grid.origin[1] + (c * grid.columns[1] + r * grid.rows[1]) * grid.spacing;
      const pz = grid.origin[2] + (c * grid.columns[2] + r * grid.rows[2]) * grid.spacing;
      const along = px * normal[0] + py * normal[1] + pz * normal[2];
      if (!(along >= offsets[0] && along <= offsets[last])) {
        out[i] = background;
        continue;
      }
      let lo = 1;
      let hi = last;
      while (lo < hi) {   // the first slice above `along` (the last one when `along` is on it)
        const mid = (lo + hi) >> 1;
        if (offsets[mid] > along) hi = mid;
        else lo = mid + 1;
      }
      const upper = lo;
      const lower = upper - 1;
      const w = (along - offsets[lower]) / (offsets[upper] - offsets[lower]);
      const a = w < 1 ? bilinear(volume, slices[lower], px, py, pz) : 0;
      const b = w > 0 ? bilinear(volume, slices[upper], px, py, pz) : 0;
      const value = (1 - w) * a + w * b;
      out[i] = Number.isNaN(value) ? background : value;
    }
  }
  return out;
}
