// Planes through a volume on the GPU: mpr.js's reformat and slab, computed
// by WebGL2 from a 3D texture of the slices' transported values (one layer
// per slice, uploaded as each frame arrives, in its own integer or float
// format: no precision is lost on the way).  A second, small texture lists
// the slices here so far in order along the normal, each with its offset,
// its position along the row and column directions (a tilted stack is read
// where the point projects onto each slice), its rescale and its spacing,
// so that a point is read in the two slices around it and blended by
// distance along the normal, as the CPU does: uneven spacing and a volume
// still loading are the same case.  The modality values are written to a
// float texture and read back, so that the window, the tools and the tests
// see the same Float32Array as the CPU path's.  null from create() (no
// WebGL2, no float render target, a volume larger than the 3D texture) and
// false from ready() (a slice of another sample type, a lost context) send
// the viewer to the CPU path.
import { dot } from './geometry.js';
import { MAX_SLAB_PLANES } from './mpr.js';
import { TEXTURE_FORMATS, compileProgram, quadArray } from './render-webgl.js';

const PROJECTION = { plane: 0, mip: 1, minip: 2, mean: 3 };

const VERTEX = `#version 300 es
in vec2 corner;
void main() { gl_Position = vec4(corner * 2.0 - 1.0, 0.0, 1.0); }`;

// One fragment per output pixel (column c, row r at gl_FragCoord (c + 0.5, r + 0.5); row 0 is read back first).
const fragment = (sampler) => `#version 300 es
precision highp float;
precision highp int;
precision highp ${sampler};
precision highp sampler2D;
uniform ${sampler} values;     // columns x rows x slices, transported values
uniform sampler2D slices;      // 2 x count: (offset, on row, on column, layer), (slope, intercept, 1/column spacing, 1/row spacing)
uniform int count;             // slices here, in order along the normal
uniform ivec2 size;            // columns, rows of a slice
uniform vec3 origin, across, down, normal, rowDir, columnDir, slabNormal;
uniform float background;
uniform int projection;        // 0 the plane, 1 MIP, 2 MinIP, 3 mean
uniform int steps;             // planes in the slab
uniform float first, gap;      // the first plane's offset along slabNormal, and the gap between planes (mm)
out vec4 result;
// float32 tolerance (mm, and pixels) at the volume's faces, which the CPU's float64 meets exactly.
const float EDGE = 1e-3;

float value(int layer, int x, int y) {
  return float(texelFetch(values, ivec3(x, y, layer), 0).r);
}

// Bilinear value at pixel coordinates (x, y) of a layer; false off the slice (mpr.js bilinear).
bool bilinear(int layer, float x, float y, out float v) {
  float right = float(size.x - 1);
  float bottom = float(size.y - 1);
  if (x < -EDGE || y < -EDGE || x > right + EDGE || y > bottom + EDGE) return false;
  x = clamp(x, 0.0, right);
  y = clamp(y, 0.0, bottom);
  int x0 = min(int(floor(x)), max(size.x - 2, 0));
  int y0 = min(int(floor(y)), max(size.y - 2, 0));
  int x1 = min(x0 + 1, size.x - 1);
  int y1 = min(y0 + 1, size.y - 1);
  float fx = x - float(x0);
  float fy = y - float(y0);
  float top = value(layer, x0, y0) * (1.0 - fx) + value(layer, x1, y0) * fx;
  float under = value(layer, x0, y1) * (1.0 - fx) + value(layer, x1, y1) * fx;
  v = top * (1.0 - fy) + under * fy;
  return true;
}

// The modality value at patient point p; false outside the volume.
bool sampleAt(vec3 p, out float v) {
  float along = dot(p, normal);
  float lowest = texelFetch(slices, ivec2(0, 0), 0).x;
  float highest = texelFetch(slices, ivec2(0, count - 1), 0).x;
  if (!(along >= lowest - EDGE && along <= highest + EDGE)) return false;
  along = clamp(along, lowest, highest);
  int low = 1;                 // the first slice above along (the last one when along is on it)
  int high = count - 1;
  while (low < high) {
    int middle = (low + high) / 2;
    if (texelFetch(slices, ivec2(0, middle), 0).x > along) high = middle; else low = middle + 1;
  }
  vec4 a = texelFetch(slices, ivec2(0, low - 1), 0);
  vec4 aa = texelFetch(slices, ivec2(1, low - 1), 0);
  vec4 b = texelFetch(slices, ivec2(0, low), 0);
  vec4 bb = texelFetch(slices, ivec2(1, low), 0);
  float w = (along - a.x) / (b.x - a.x);
  float onRow = dot(p, rowDir);
  float onColumn = dot(p, columnDir);
  float va = 0.0;
  float vb = 0.0;
  if (w < 1.0) {
    if (!bilinear(int(a.w), (onRow - a.y) * aa.z, (onColumn - a.z) * aa.w, va)) return false;
    va = va * aa.x + aa.y;
  }
  if (w > 0.0) {
    if (!bilinear(int(b.w), (onRow - b.y) * bb.z, (onColumn - b.z) * bb.w, vb)) return false;
    vb = vb * bb.x + bb.y;
  }
  v = (1.0 - w) * va + w * vb;
  return true;
}

void main() {
  vec3 p = origin + (gl_FragCoord.x - 0.5) * across + (gl_FragCoord.y - 0.5) * down;
  float v;
  if (projection == 0) {
    result = vec4(sampleAt(p, v) ? v : background, 0.0, 0.0, 1.0);
    return;
  }
  float total = 0.0;
  int found = 0;
  for (int s = 0; s < steps; s += 1) {
    if (!sampleAt(p + (first + float(s) * gap) * slabNormal, v)) continue;
    total = found == 0 ? v : projection == 1 ? max(total, v) : projection == 2 ? min(total, v) : total + v;
    found += 1;
  }
  result = vec4(found == 0 ? background : projection == 3 ? total / float(found) : total, 0.0, 0.0, 1.0);
}`;

export class GpuReformat {
  /**
   * The GPU reformat of `volume` (volume.js: every slice, frames null until
   * they arrive), or null when this browser cannot compute it.
   */
  static create(volume) {
    const canvas = document.createElement('canvas');
    canvas.width = 1;
    canvas.height = 1;
    const gl = canvas.getContext('webgl2', { alpha: false, antialias: false, depth: false, stencil: false });
    if (!gl || !gl.getExtension('EXT_color_buffer_float')) return null;
    const most = gl.getParameter(gl.MAX_3D_TEXTURE_SIZE);
    const { columns, rows, slices } = volume;
    if (columns > most || rows > most || slices.length > most || slices.length > gl.getParameter(gl.MAX_TEXTURE_SIZE)) {
      gl.getExtension('WEBGL_lose_context')?.loseContext();
      return null;
    }
    return new GpuReformat(gl, volume);
  }

  constructor(gl, volume) {
    this.gl = gl;
    this.volume = volume;
    this.layers = new Map(volume.slices.map((slice, i) => [slice, i]));
    // Patient coordinates reach the shader relative to the first slice: small numbers keep float32's precision.
    this.reference = volume.slices[0].plane.position;
    this.uploaded = new Set();
    this.format = null;        // TEXTURE_FORMATS entry, fixed by the first frame
    this.valuesTexture = null;
    this.program = null;
    this.uniforms = null;
    this.slicesTexture = this.texture2d();
    this.listed = null;        // the view whose slices the slices texture lists
    this.target = null;        // {texture, framebuffer, width, height}
    this.failed = null;        // why the GPU path gave up, once it has
    this.quad = quadArray(gl);
  }

  /** True when every slice of `view` (volume.js loaded()) is, or can now be, on the GPU. */
  ready(view) {
    if (this.failed) return false;
    if (this.gl.isContextLost()) return this.fail('the WebGL context was lost');
    try {
      return this.upload(view.slices.filter((slice) => !this.uploaded.has(slice)));
    } catch (error) {
      return this.fail(error.message);
    }
  }

  /** Put the frames of `slices` into their layers; false (fail()) when one cannot go. */
  upload(slices) {
    const { gl } = this;
    for (const slice of slices) {
      const { values } = slice.frame;
      // float64 goes as float32, the precision of the CPU path's output.
      const format = TEXTURE_FORMATS[values instanceof Float64Array ? 'Float32Array' : values.constructor.name];
      if (!format) return this.fail(`no texture format for ${values.constructor.name}`);
      if (!this.format) this.allocate(format);
      else if (format !== this.format) return this.fail('the slices have different sample types');
      gl.bindTexture(gl.TEXTURE_3D, this.valuesTexture);
      gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
      const data = values instanceof Float64Array ? Float32Array.from(values) : values;
      gl.texSubImage3D(gl.TEXTURE_3D, 0, 0, 0, this.layers.get(slice), this.volume.columns, this.volume.rows, 1,
        gl[format.format], gl[format.type], data);
      this.uploaded.add(slice);
    }
    return true;
  }

  fail(reason) {
    this.failed = reason;
    console.warn(`MPR on the GPU stopped, the CPU computes the planes: ${reason}`);
    return false;
  }

  /** mpr.js reformat() of `grid` through `view`, into `out`. */
  reformat(view, grid, out = new Float32Array(grid.width * grid.height)) {
    return this.run(view, grid, 0, 'plane', out);
  }

  /** mpr.js slab(): planes every output spacing across `thickness` mm, combined by `projection`. */
  slab(view, grid, thickness, projection = 'mip', out = new Float32Array(grid.width * grid.height)) {
    if (!(thickness > 0)) return this.reformat(view, grid, out);
    return this.run(view, grid, thickness, projection, out);
  }

  run(view, grid, thickness, projection, out) {
    const { gl } = this;
    this.list(view);
    this.ensureTarget(grid.width, grid.height);
    const u = this.uniforms;
    gl.useProgram(this.program);
    gl.bindFramebuffer(gl.FRAMEBUFFER, this.target.framebuffer);
    gl.viewport(0, 0, grid.width, grid.height);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_3D, this.valuesTexture);
    gl.activeTexture(gl.TEXTURE1);
    gl.bindTexture(gl.TEXTURE_2D, this.slicesTexture);
    gl.uniform1i(u.values, 0);
    gl.uniform1i(u.slices, 1);
    gl.uniform1i(u.count, view.slices.length);
    gl.uniform2i(u.size, this.volume.columns, this.volume.rows);
    gl.uniform3fv(u.origin, grid.origin.map((v, k) => v - this.reference[k]));
    gl.uniform3fv(u.across, grid.columns.map((v) => v * grid.spacing));
    gl.uniform3fv(u.down, grid.rows.map((v) => v * grid.spacing));
    gl.uniform3fv(u.normal, view.normal);
    gl.uniform3fv(u.rowDir, view.row);
    gl.uniform3fv(u.columnDir, view.column);
    gl.uniform3fv(u.slabNormal, grid.normal);
    gl.uniform1f(u.background, view.background);
    gl.uniform1i(u.projection, PROJECTION[projection] ?? PROJECTION.mip);
    const steps = thickness > 0 ? Math.min(MAX_SLAB_PLANES, Math.floor(thickness / grid.spacing + 1e-9) + 1) : 1;
    gl.uniform1i(u.steps, steps);
    gl.uniform1f(u.first, steps > 1 ? -thickness / 2 : 0);
    gl.uniform1f(u.gap, steps > 1 ? thickness / (steps - 1) : 0);
    gl.bindVertexArray(this.quad);
    gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
    this.readInto(out, grid.width, grid.height);
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    gl.activeTexture(gl.TEXTURE0);
    return out;
  }

  /** The slices texture for `view`: written again when the slices here have changed. */
  list(view) {
    if (this.listed === view && this.listedCount === view.slices.length) return;
    const { gl } = this;
    const data = new Float32Array(view.slices.length * 8);
    view.slices.forEach((slice, k) => {
      const position = slice.plane.position.map((v, i) => v - this.reference[i]);
      data.set([dot(position, view.normal), dot(position, view.row), dot(position, view.column), this.layers.get(slice),
        slice.frame.slope, slice.frame.intercept, 1 / slice.spacing[1], 1 / slice.spacing[0]], k * 8);
    });
    gl.bindTexture(gl.TEXTURE_2D, this.slicesTexture);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA32F, 2, view.slices.length, 0, gl.RGBA, gl.FLOAT, data);
    this.listed = view;
    this.listedCount = view.slices.length;
  }

  /** The float render target read back into `out` (row 0 first, as the grid's rows). */
  readInto(out, width, height) {
    const { gl } = this;
    if (gl.getParameter(gl.IMPLEMENTATION_COLOR_READ_FORMAT) === gl.RED
      && gl.getParameter(gl.IMPLEMENTATION_COLOR_READ_TYPE) === gl.FLOAT) {
      gl.readPixels(0, 0, width, height, gl.RED, gl.FLOAT, out);
      return;
    }
    if (!this.rgba || this.rgba.length !== width * height * 4) this.rgba = new Float32Array(width * height * 4);
    gl.readPixels(0, 0, width, height, gl.RGBA, gl.FLOAT, this.rgba);
    for (let i = 0; i < width * height; i += 1) out[i] = this.rgba[4 * i];
  }

  allocate(format) {
    const { gl } = this;
    this.format = format;
    this.valuesTexture = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_3D, this.valuesTexture);
    for (const name of ['TEXTURE_MIN_FILTER', 'TEXTURE_MAG_FILTER']) gl.texParameteri(gl.TEXTURE_3D, gl[name], gl.NEAREST);
    gl.texStorage3D(gl.TEXTURE_3D, 1, gl[format.internal], this.volume.columns, this.volume.rows, this.volume.slices.length);
    this.program = compileProgram(gl, VERTEX, fragment(`${format.sampler}sampler3D`));
    this.uniforms = {};
    for (const name of ['values', 'slices', 'count', 'size', 'origin', 'across', 'down', 'normal', 'rowDir', 'columnDir',
      'slabNormal', 'background', 'projection', 'steps', 'first', 'gap']) {
      this.uniforms[name] = gl.getUniformLocation(this.program, name);
    }
  }

  ensureTarget(width, height) {
    const { gl } = this;
    if (this.target && this.target.width === width && this.target.height === height) return;
    if (this.target) {
      gl.deleteTexture(this.target.texture);
      gl.deleteFramebuffer(this.target.framebuffer);
    }
    const texture = this.texture2d();
    gl.texStorage2D(gl.TEXTURE_2D, 1, gl.R32F, width, height);
    const framebuffer = gl.createFramebuffer();
    gl.bindFramebuffer(gl.FRAMEBUFFER, framebuffer);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, texture, 0);
    this.target = { texture, framebuffer, width, height };
  }

  texture2d() {
    const { gl } = this;
    const texture = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, texture);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
    return texture;
  }

  /** Give the GPU memory back. */
  destroy() {
    this.gl.getExtension('WEBGL_lose_context')?.loseContext();
    this.failed = 'closed';
  }
}
