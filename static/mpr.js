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
  const background = Math.min(...sorted.map((s) => lowestOf(s.frame)));
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

/** The lowest modality value of a frame (its values' extremes through the rescale, whose slope may be negative). */
export function lowestOf(frame) {
  if (frame.min !== null && frame.max !== null) return Math.min(frame.modality(frame.min), frame.modality(frame.max));
  let low = Infinity;
  for (const v of frame.values) low = Math.min(low, frame.modality(v));
  return low;
}

/**
 * The modality values of `grid` (a Float32Array, row by row): trilinear, and
 * `background` (the volume's lowest value unless given) outside the volume
 * and where a slice's frame has not arrived (s.frame null).  Along each row
 * of the output every coordinate is linear in the column, so the slice pair
 * and both slices' pixel coordinates are stepped, not searched.
 */
export function reformat(volume, grid, out = new Float32Array(grid.width * grid.height), background = volume.background) {
  const { offsets, normal, slices, row, column, rows, columns } = volume;
  const last = offsets.length - 1;
  const n = slices.length;
  // Per slice: its position along the row and column directions, its spacing and rescale.
  const atRow = new Float64Array(n);
  const atColumn = new Float64Array(n);
  const perX = new Float64Array(n);
  const perY = new Float64Array(n);
  for (let k = 0; k < n; k += 1) {
    const { position } = slices[k].plane;
    atRow[k] = dot(position, row);
    atColumn[k] = dot(position, column);
    perX[k] = 1 / slices[k].spacing[1];
    perY[k] = 1 / slices[k].spacing[0];
  }
  const step = grid.columns.map((v) => v * grid.spacing);
  const down = grid.rows.map((v) => v * grid.spacing);
  const stepAlong = dot(step, normal);
  const stepRow = dot(step, row);
  const stepColumn = dot(step, column);
  // A plane whose columns run down the slices' columns (a sagittal plane of axial slices) reads each slice's
  // column-major copy where it has one (volume.js): memory in order, not one cache line per sample.
  const across = Math.abs(stepColumn) > Math.abs(stepRow);
  let swapA = false;
  let swapB = false;
  let i = 0;
  let upper = 1;
  let held = -1;   // the pair whose frames are held below: `upper` of that pair
  let lower = 0;
  let va = null;
  let vb = null;
  let slopeA = 1;
  let interceptA = 0;
  let slopeB = 1;
  let interceptB = 0;
  // Planes that contain the slices' normal (coronal and sagittal planes of a straight stack): along a row of the
  // output the slice pair, the blend and each slice's other coordinate are fixed, and a row is two lines (flatRow).
  const flat = Math.abs(stepAlong) < 1e-9 && (across ? Math.abs(stepRow) : Math.abs(stepColumn)) < 1e-9;
  for (let r = 0; r < grid.height; r += 1) {
    const base = [0, 1, 2].map((k) => grid.origin[k] + r * down[k]);
    let along = dot(base, normal);
    let onRow = dot(base, row);
    let onColumn = dot(base, column);
    if (flat) {
      if (!(along >= offsets[0] && along <= offsets[last])) {
        out.fill(background, i, i + grid.width);
      } else {
        while (upper < last && offsets[upper] <= along) upper += 1;
        while (upper > 1 && offsets[upper - 1] > along) upper -= 1;
        const w = (along - offsets[upper - 1]) / (offsets[upper] - offsets[upper - 1]);
        const line = (k) => {
          const frame = slices[k].frame;
          const x = (onRow - atRow[k]) * perX[k];
          const y = (onColumn - atColumn[k]) * perY[k];
          if (!across) return lineOf(frame && frame.values, columns, rows, 1, columns, x, stepRow * perX[k], y, frame);
          return slices[k].transposed
            ? lineOf(slices[k].transposed, rows, columns, 1, rows, y, stepColumn * perY[k], x, frame)
            : lineOf(frame && frame.values, rows, columns, columns, 1, y, stepColumn * perY[k], x, frame);
        };
        flatRow(out, i, grid.width, background, w, w < 1 ? line(upper - 1) : null, w > 0 ? line(upper) : null);
      }
      i += grid.width;
      continue;
    }
    for (let c = 0; c < grid.width; c += 1, i += 1, along += stepAlong, onRow += stepRow, onColumn += stepColumn) {
      if (!(along >= offsets[0] && along <= offsets[last])) {
        out[i] = background;
        continue;
      }
      // The first slice above `along` (the last one when `along` is on it).
      while (upper < last && offsets[upper] <= along) upper += 1;
      while (upper > 1 && offsets[upper - 1] > along) upper -= 1;
      if (upper !== held) {
        held = upper;
        lower = upper - 1;
        const fa = slices[lower].frame;
        const fb = slices[upper].frame;
        swapA = Boolean(across && fa && slices[lower].transposed);
        swapB = Boolean(across && fb && slices[upper].transposed);
        va = swapA ? slices[lower].transposed : fa ? fa.values : null;
        vb = swapB ? slices[upper].transposed : fb ? fb.values : null;
        slopeA = fa ? fa.slope : 1;
        interceptA = fa ? fa.intercept : 0;
        slopeB = fb ? fb.slope : 1;
        interceptB = fb ? fb.intercept : 0;
      }
      const w = (along - offsets[lower]) / (offsets[upper] - offsets[lower]);
      let a = 0;
      let b = 0;
      if (w < 1) {
        const x = (onRow - atRow[lower]) * perX[lower];
        const y = (onColumn - atColumn[lower]) * perY[lower];
        a = (swapA ? bilinear(va, y, x, rows, columns) : bilinear(va, x, y, columns, rows)) * slopeA + interceptA;
      }
      if (w > 0) {
        const x = (onRow - atRow[upper]) * perX[upper];
        const y = (onColumn - atColumn[upper]) * perY[upper];
        b = (swapB ? bilinear(vb, y, x, rows, columns) : bilinear(vb, x, y, columns, rows)) * slopeB + interceptB;
      }
      const value = (1 - w) * a + w * b;   // the rescale is linear: it commutes with the blend
      out[i] = Number.isNaN(value) ? background : value;
    }
  }
  return out;
}

/**
 * One line of a slice for flatRow(): `values` read at (p0 + c x dp, q) for c = 0, 1…, where p counts
 * `width` samples `pStride` apart and q `height` samples `qStride` apart: the two lines around q and the
 * blend between them, or null when q is off the slice or the frame has not arrived (the row is background).
 */
function lineOf(values, width, height, pStride, qStride, p0, dp, q, frame) {
  if (!values || q < -1e-6 || q > height - 1 + 1e-6) return null;
  q = q < 0 ? 0 : q > height - 1 ? height - 1 : q;
  let q0 = Math.floor(q);
  if (q0 > height - 2) q0 = height > 1 ? height - 2 : 0;
  const q1 = q0 + 1 < height ? q0 + 1 : height - 1;
  return { values, width, pStride, first: q0 * qStride, second: q1 * qStride, fq: q - q0, p0, dp,
    slope: frame.slope, intercept: frame.intercept };
}

/**
 * The output row at `i` (width samples) of a plane containing the slices' normal: (1 - w) x line `a`
 * + w x line `b` (lineOf), each bilinear between its two rows, as reformat() computes them point by point;
 * background off the slices.
 */
function flatRow(out, i, width, background, w, a, b) {
  if ((w < 1 && a === null) || (w > 0 && b === null)) {
    out.fill(background, i, i + width);
    return;
  }
  for (let c = 0; c < width; c += 1) {
    const va = w < 1 ? lineAt(a, c) : 0;
    const vb = w > 0 ? lineAt(b, c) : 0;
    const value = (1 - w) * va + w * vb;
    out[i + c] = Number.isNaN(value) ? background : value;
  }
}

/** The modality value of line `l` (lineOf) at output column c; NaN off the slice. */
function lineAt(l, c) {
  let p = l.p0 + c * l.dp;
  const { width, values, pStride } = l;
  if (p < -1e-6 || p > width - 1 + 1e-6) return NaN;
  p = p < 0 ? 0 : p > width - 1 ? width - 1 : p;
  let p0 = Math.floor(p);
  if (p0 > width - 2) p0 = width > 1 ? width - 2 : 0;
  const p1 = p0 + 1 < width ? p0 + 1 : width - 1;
  const fp = p - p0;
  const a = p0 * pStride;
  const b = p1 * pStride;
  const top = values[l.first + a] * (1 - fp) + values[l.first + b] * fp;
  const bottom = values[l.second + a] * (1 - fp) + values[l.second + b] * fp;
  return (top * (1 - l.fq) + bottom * l.fq) * l.slope + l.intercept;
}

/** The column-major copy of `values` (columns x rows, row by row): the same type, copy[x * rows + y] = values[y * columns + x]. */
export function transposed(values, columns, rows) {
  const out = new values.constructor(values.length);
  for (let y = 0, i = 0; y < rows; y += 1) {
    for (let x = 0, j = y; x < columns; x += 1, i += 1, j += rows) out[j] = values[i];
  }
  return out;
}

/** Bilinear value of `v` (columns x rows, row by row) at pixel coordinates (x, y); NaN off it or without values. */
function bilinear(v, x, y, columns, rows) {
  if (v === null || x < -1e-6 || y < -1e-6 || x > columns - 1 + 1e-6 || y > rows - 1 + 1e-6) return NaN;
  x = x < 0 ? 0 : x > columns - 1 ? columns - 1 : x;
  y = y < 0 ? 0 : y > rows - 1 ? rows - 1 : y;
  let x0 = Math.floor(x);
  let y0 = Math.floor(y);
  if (x0 > columns - 2) x0 = columns > 1 ? columns - 2 : 0;
  if (y0 > rows - 2) y0 = rows > 1 ? rows - 2 : 0;
  const x1 = x0 + 1 < columns ? x0 + 1 : columns - 1;
  const y1 = y0 + 1 < rows ? y0 + 1 : rows - 1;
  const fx = x - x0;
  const fy = y - y0;
  const top = v[y0 * columns + x0] * (1 - fx) + v[y0 * columns + x1] * fx;
  const bottom = v[y1 * columns + x0] * (1 - fx) + v[y1 * columns + x1] * fx;
  return top * (1 - fy) + bottom * fy;
}

/** A slab holds at most this many planes (previewer/pixels/mpr.py MAX_SLAB_PLANES). */
export const MAX_SLAB_PLANES = 512;

/**
 * A thick slab around `grid`: planes every output spacing from -thickness/2
 * to +thickness/2 along its normal, combined point by point ('mip', 'minip'
 * or 'mean') over the samples inside the volume, as the server's slab=
 * does; the background where no plane has one.  Thinner than one spacing:
 * the plane itself.
 */
export function slab(volume, grid, thickness, projection = 'mip', out = new Float32Array(grid.width * grid.height)) {
  if (!(thickness > 0)) return reformat(volume, grid, out);
  const steps = Math.min(MAX_SLAB_PLANES, Math.floor(thickness / grid.spacing + 1e-9) + 1);
  const plane = new Float32Array(out.length);
  const counts = projection === 'mean' ? new Uint16Array(out.length) : null;
  out.fill(projection === 'mip' ? -Infinity : projection === 'minip' ? Infinity : 0);
  for (let s = 0; s < steps; s += 1) {
    const offset = steps > 1 ? -thickness / 2 + (s * thickness) / (steps - 1) : 0;
    const origin = grid.origin.map((v, k) => v + offset * grid.normal[k]);
    reformat(volume, { ...grid, origin }, plane, NaN);
    for (let i = 0; i < out.length; i += 1) {
      const v = plane[i];
      if (Number.isNaN(v)) continue;
      if (counts) {
        out[i] += v;
        counts[i] += 1;
      } else if (projection === 'mip' ? v > out[i] : v < out[i]) out[i] = v;
    }
  }
  for (let i = 0; i < out.length; i += 1) {
    if (counts) out[i] = counts[i] ? out[i] / counts[i] : volume.background;
    else if (!Number.isFinite(out[i])) out[i] = volume.background;
  }
  return out;
}

/** `v` turned by `angle` radians about the unit vector `axis` (right-handed; Rodrigues' formula). */
export function rotate(v, axis, angle) {
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const across = cross(axis, v);
  const along = dot(axis, v) * (1 - cos);
  return [0, 1, 2].map((k) => v[k] * cos + across[k] * sin + axis[k] * along);
}
