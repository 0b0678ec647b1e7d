// Image planes in patient space (PS3.3 C.7.6.2.1.1, Image Position and
// Image Orientation (Patient)): where a slice lies, which slice of a series
// lies nearest a point, along that series' own normal, so that tilted and
// oblique stacks are handled like axial ones.  Plain numbers, no page access.

export function dot(a, b) {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

export function cross(a, b) {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

function unit(v) {
  const length = Math.hypot(v[0], v[1], v[2]);
  return length > 0 ? v.map((x) => x / length) : null;
}

/**
 * The plane of an instance summary of /api/series/{id} ({position,
 * orientation}): {position, row, column, normal}, where `row` is the
 * direction along a row (first three cosines), `column` down a column, and
 * `normal` their cross product; null without both attributes.
 */
export function planeOf(instance) {
  const { position, orientation } = instance || {};
  if (!Array.isArray(position) || position.length !== 3 || !Array.isArray(orientation) || orientation.length !== 6) return null;
  if (![...position, ...orientation].every(Number.isFinite)) return null;
  const row = unit(orientation.slice(0, 3));
  const column = unit(orientation.slice(3, 6));
  const normal = row && column ? unit(cross(row, column)) : null;
  return normal ? { position, row, column, normal } : null;
}

/**
 * The patient-space point of image coordinates (x, y), continuous, pixel
 * (c, r) covering [c, c+1) x [r, r+1): the centre of pixel (0, 0) is
 * `position`.  `spacing` is [between rows, between columns] in mm.
 */
export function pointAt(plane, spacing, x, y) {
  const along = (x - 0.5) * spacing[1];
  const down = (y - 0.5) * spacing[0];
  return [0, 1, 2].map((i) => plane.position[i] + plane.row[i] * along + plane.column[i] * down);
}

/**
 * The point a viewport scrolls the others to: the centre of its image
 * when its size and spacing are known (`dims` {cols, rows}), else the
 * image's position (its first pixel).
 */
export function anchorOf(plane, dims, spacing) {
  return dims && spacing ? pointAt(plane, spacing, dims.cols / 2, dims.rows / 2) : plane.position;
}

/** Where `point` lies along `normal`, in mm. */
export function along(point, normal) {
  return dot(point, normal);
}

/**
 * The index of the image of `images` (each with a `plane`) whose plane lies
 * nearest the coordinate `target` (mm along `normal`); ties go to the
 * lower index.  -1 when no image has a plane.
 */
export function nearestAlong(images, normal, target) {
  let best = -1;
  let distance = Infinity;
  images.forEach((image, index) => {
    if (!image.plane) return;
    const d = Math.abs(dot(image.plane.position, normal) - target);
    if (d < distance - 1e-6) {
      best = index;
      distance = d;
    }
  });
  return best;
}

/** True when two planes are parallel (their normals within about 0.6 degrees). */
export function parallel(a, b) {
  return Math.abs(dot(a.normal, b.normal)) > 0.99995;
}

/** The image coordinates (continuous, as pointAt) of the projection of `point` onto the image plane. */
export function project(plane, spacing, point) {
  const d = [0, 1, 2].map((i) => point[i] - plane.position[i]);
  return { x: dot(d, plane.row) / spacing[1] + 0.5, y: dot(d, plane.column) / spacing[0] + 0.5 };
}

/**
 * Where the plane of `source` ({plane}) cuts the image `target` ({plane,
 * spacing, dims: {cols, rows}}): the two ends, in the target's continuous
 * image coordinates, of the intersection line clipped to the image
 * rectangle [0, cols] x [0, rows]; null when the planes are parallel or the
 * line misses the image.
 */
export function referenceLine(target, source) {
  if (parallel(target.plane, source.plane)) return null;
  const { plane, spacing, dims } = target;
  const n = source.plane.normal;
  // Points of the target image: position + row (x - 0.5) dx + column (y - 0.5) dy; on the source plane when
  // a x + b y + c = 0.
  const a = spacing[1] * dot(plane.row, n);
  const b = spacing[0] * dot(plane.column, n);
  const c = dot(plane.position.map((v, i) => v - source.plane.position[i]), n) - 0.5 * a - 0.5 * b;
  const points = [];
  const add = (x, y) => {
    const inside = x >= -1e-9 && x <= dims.cols + 1e-9 && y >= -1e-9 && y <= dims.rows + 1e-9;
    if (inside && !points.some((p) => Math.hypot(p.x - x, p.y - y) < 1e-6)) points.push({ x, y });
  };
  if (Math.abs(b) > 1e-12) {
    add(0, -c / b);
    add(dims.cols, -(c + a * dims.cols) / b);
  }
  if (Math.abs(a) > 1e-12) {
    add(-c / a, 0);
    add(-(c + b * dims.rows) / a, dims.rows);
  }
  if (points.length < 2) return null;
  // The two points furthest apart (a line through a corner gives the corner twice, within 1e-6).
  let best = [points[0], points[1]];
  for (const p of points) for (const q of points) {
    if (Math.hypot(p.x - q.x, p.y - q.y) > Math.hypot(best[0].x - best[1].x, best[0].y - best[1].y)) best = [p, q];
  }
  return best;
}
