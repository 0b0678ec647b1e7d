// The numbers of the measurement tools, as plain functions of image
// coordinates and frames: lengths, areas, angles and region statistics.
// Geometry is in continuous image coordinates (pixel (c, r) covers
// [c, c+1) x [r, r+1)).  Distances use Pixel Spacing (0028,0030), top level or
// in a Pixel Measures Sequence, or else Imager Pixel Spacing (0018,1164),
// labelled "mm (detector)": that is the spacing at the detector, not in the
// patient.  Without either, lengths and areas are in pixels.

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

/** The rectangle drawn from corner p to corner q: {x0, y0, x1, y1}, x0 <= x1, y0 <= y1. */
export function rectOf(p, q) {
  return { x0: Math.min(p.x, q.x), y0: Math.min(p.y, q.y), x1: Math.max(p.x, q.x), y1: Math.max(p.y, q.y) };
}

/**
 * Statistics of the modality values of the pixels whose centres lie inside
 * the rectangle (border included), as ellipseStats; null when none is inside.
 */
export function rectStats(frame, rect) {
  const c0 = Math.max(0, Math.ceil(rect.x0 - 0.5));
  const c1 = Math.min(frame.columns - 1, Math.floor(rect.x1 - 0.5));
  const r0 = Math.max(0, Math.ceil(rect.y0 - 0.5));
  const r1 = Math.min(frame.rows - 1, Math.floor(rect.y1 - 0.5));
  const values = [];
  for (let r = r0; r <= r1; r += 1) for (let c = c0; c <= c1; c += 1) values.push(frame.modalityAt(c, r));
  return statsOf(values);
}

function statsOf(values) {
  if (!values.length) return null;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const value of values) {
    sum += value;
    if (value < min) min = value;
    if (value > max) max = value;
  }
  const mean = sum / values.length;
  let squares = 0;
  for (const value of values) squares += (value - mean) * (value - mean);
  return { count: values.length, mean, sd: Math.sqrt(squares / values.length), min, max };
}

/** A vector in mm (or pixels without spacing) from a to b. */
function vector(a, b, spacing) {
  return spacing ? [(b.x - a.x) * spacing.column, (b.y - a.y) * spacing.row] : [b.x - a.x, b.y - a.y];
}

function angleBetween(u, v) {
  const norms = Math.hypot(...u) * Math.hypot(...v);
  if (!norms) return null;
  const cosine = Math.max(-1, Math.min(1, (u[0] * v[0] + u[1] * v[1]) / norms));
  return (Math.acos(cosine) * 180) / Math.PI;
}

/** The angle at vertex b of a-b-c in degrees (0..180), in the patient's proportions; null for a null arm. */
export function angleOf(a, b, c, spacing) {
  return angleBetween(vector(b, a, spacing), vector(b, c, spacing));
}

/** The Cobb angle between line p1-q1 and line p2-q2 in degrees (0..90); null for a null line. */
export function cobbOf(p1, q1, p2, q2, spacing) {
  const angle = angleBetween(vector(p1, q1, spacing), vector(p2, q2, spacing));
  return angle === null ? null : Math.min(angle, 180 - angle);
}
