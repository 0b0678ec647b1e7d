// The WebGL2 renderer.  The frame's values live in an integer texture; a
// change of window uploads only the lookup table of lut.js (one grey level
// per possible value, the same table the canvas 2D renderer uses), and one
// pass writes the displayed frame, at its own size, into a texture with
// mipmaps; a second pass draws that texture scaled onto the canvas.  Frames
// that need no table (float values) are computed by lut.js and uploaded.
// Server PNGs are drawn by the second pass alone.
import { greyImage, greyTable, usesTable } from './lut.js';

const TABLE_WIDTH = 2048;   // the lookup table is a 2048 x n texture (2048: WebGL2's least MAX_TEXTURE_SIZE)

const QUAD_VS = `#version 300 es
in vec2 corner;            // (0,0) .. (1,1)
uniform vec4 box;          // x, y, w, h in clip space of the target
out vec2 uv;
void main() {
  uv = corner;
  gl_Position = vec4(box.xy + corner * box.zw, 0.0, 1.0);
}`;

// Pass 1: value -> grey through the table.  One fragment per pixel of the frame.
const tableFs = (sampler, type) => `#version 300 es
precision highp float;
precision highp int;
precision highp ${sampler};
uniform ${sampler} values;
uniform highp sampler2D table;
uniform ${type} offset;
out vec4 colour;
void main() {
  ${type} value = texelFetch(values, ivec2(gl_FragCoord.xy), 0).r;
  int index = int(value - offset);
  float grey = texelFetch(table, ivec2(index % ${TABLE_WIDTH}, index / ${TABLE_WIDTH}), 0).r;
  colour = vec4(grey, grey, grey, 1.0);
}`;

// Pass 2: the displayed image (grey R8 or a server PNG's RGBA) onto the canvas.
const DRAW_FS = `#version 300 es
precision highp float;
uniform sampler2D image;
uniform bool grey;
in vec2 uv;
out vec4 colour;
void main() {
  vec4 texel = texture(image, vec2(uv.x, 1.0 - uv.y));
  colour = grey ? vec4(texel.rrr, 1.0) : vec4(texel.rgb, 1.0);
}`;

/**
 * WebGL2 texture formats of each sample type: internal format, format and
 * type for texImage, the prefix of its sampler (isampler2D, usampler3D,
 * sampler3D) and the GLSL type of a texel's value.  Used here for frames'
 * integer values, by mpr-webgl.js for a volume's.
 */
export const TEXTURE_FORMATS = {
  Int8Array: { internal: 'R8I', format: 'RED_INTEGER', type: 'BYTE', sampler: 'i', glsl: 'int' },
  Uint8Array: { internal: 'R8UI', format: 'RED_INTEGER', type: 'UNSIGNED_BYTE', sampler: 'u', glsl: 'uint' },
  Int16Array: { internal: 'R16I', format: 'RED_INTEGER', type: 'SHORT', sampler: 'i', glsl: 'int' },
  Uint16Array: { internal: 'R16UI', format: 'RED_INTEGER', type: 'UNSIGNED_SHORT', sampler: 'u', glsl: 'uint' },
  Int32Array: { internal: 'R32I', format: 'RED_INTEGER', type: 'INT', sampler: 'i', glsl: 'int' },
  Uint32Array: { internal: 'R32UI', format: 'RED_INTEGER', type: 'UNSIGNED_INT', sampler: 'u', glsl: 'uint' },
  Float32Array: { internal: 'R32F', format: 'RED', type: 'FLOAT', sampler: '', glsl: 'float' },
};

/** The integer texture format of `values` (a typed array), or undefined: the lookup table indexes integers only. */
function integerFormat(values) {
  const format = TEXTURE_FORMATS[values.constructor.name];
  return format && format.format === 'RED_INTEGER' ? format : undefined;
}

/** The name of the GL implementation, e.g. "ANGLE (…SwiftShader…)". */
export function rendererName(gl) {
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  return String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
}

/** True for WebGL implemented on the CPU (SwiftShader, llvmpipe): slower than the canvas 2D path. */
export function isSoftware(gl) {
  return /swiftshader|llvmpipe|softpipe|software/i.test(rendererName(gl));
}

/** A linked program of GLSL `vertex` and `fragment` sources, its one attribute `corner` at location 0; throws with the compiler's log. */
export function compileProgram(gl, vertex, fragment) {
  const program = gl.createProgram();
  for (const [type, source] of [[gl.VERTEX_SHADER, vertex], [gl.FRAGMENT_SHADER, fragment]]) {
    const shader = gl.createShader(type);
    gl.shaderSource(shader, source);
    gl.compileShader(shader);
    if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) throw new Error(`WebGL shader: ${gl.getShaderInfoLog(shader)}`);
    gl.attachShader(program, shader);
  }
  gl.bindAttribLocation(program, 0, 'corner');
  gl.linkProgram(program);
  if (!gl.getProgramParameter(program, gl.LINK_STATUS)) throw new Error(`WebGL program: ${gl.getProgramInfoLog(program)}`);
  return program;
}

/** A vertex array of the unit square's corners (0,0)..(1,1) at attribute 0, drawn as a TRIANGLE_STRIP of 4. */
export function quadArray(gl) {
  const vao = gl.createVertexArray();
  gl.bindVertexArray(vao);
  gl.bindBuffer(gl.ARRAY_BUFFER, gl.createBuffer());
  gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([0, 0, 1, 0, 0, 1, 1, 1]), gl.STATIC_DRAW);
  gl.enableVertexAttribArray(0);
  gl.vertexAttribPointer(0, 2, gl.FLOAT, false, 0, 0);
  return vao;
}

export class WebGL2Renderer {
  /** A renderer on `canvas`, or null when the browser gives no WebGL2 context. */
  static create(canvas) {
    const gl = canvas.getContext('webgl2', { alpha: false, antialias: false, depth: false, preserveDrawingBuffer: true });
    return gl ? new WebGL2Renderer(canvas, gl) : null;
  }

  constructor(canvas, gl) {
    this.name = 'webgl2';
    this.label = 'WebGL2';
    this.canvas = canvas;
    this.gl = gl;
    this.maxSize = gl.getParameter(gl.MAX_TEXTURE_SIZE);
    this.software = isSoftware(gl);
    this.drawProgram = this.program(QUAD_VS, DRAW_FS);
    this.tablePrograms = {};
    this.quad = this.makeQuad();
    this.valuesTexture = null;   // the frame's values, integer texture
    this.valuesFrame = null;     // the frame they belong to
    this.tableTexture = this.texture(gl.NEAREST, gl.NEAREST);
    this.display = null;         // {texture, framebuffer, width, height}: the displayed frame (R8, mipmapped)
    this.bitmap = null;          // {texture, width, height}: a server PNG
    this.source = null;          // 'frame' | 'bitmap' | null
    this.greyBuffer = null;
  }

  canShow(frame) {
    return frame.columns <= this.maxSize && frame.rows <= this.maxSize
      && (!usesTable(frame) || (integerFormat(frame.values)
        && Math.ceil((frame.max - frame.min + 1) / TABLE_WIDTH) <= this.maxSize));
  }

  showFrame(frame, voi, invert) {
    const { gl } = this;
    this.ensureDisplay(frame.columns, frame.rows);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
    if (usesTable(frame)) {
      const { internal, format, type, sampler: prefix, glsl: glslType } = integerFormat(frame.values);
      const sampler = `${prefix}sampler2D`;
      if (this.valuesFrame !== frame) {
        if (this.valuesTexture) gl.deleteTexture(this.valuesTexture);
        this.valuesTexture = this.texture(gl.NEAREST, gl.NEAREST);
        gl.texImage2D(gl.TEXTURE_2D, 0, gl[internal], frame.columns, frame.rows, 0, gl[format], gl[type], frame.values);
        this.valuesFrame = frame;
      }
      const table = greyTable(frame, voi, invert);
      const rows = Math.ceil(table.length / TABLE_WIDTH);
      const padded = new Uint8Array(rows * TABLE_WIDTH);
      padded.set(table);
      gl.bindTexture(gl.TEXTURE_2D, this.tableTexture);
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.R8, TABLE_WIDTH, rows, 0, gl.RED, gl.UNSIGNED_BYTE, padded);

      const program = this.tableProgram(sampler, glslType);
      gl.useProgram(program);
      gl.bindFramebuffer(gl.FRAMEBUFFER, this.display.framebuffer);
      gl.viewport(0, 0, frame.columns, frame.rows);
      gl.activeTexture(gl.TEXTURE0);
      gl.bindTexture(gl.TEXTURE_2D, this.valuesTexture);
      gl.activeTexture(gl.TEXTURE1);
      gl.bindTexture(gl.TEXTURE_2D, this.tableTexture);
      gl.uniform1i(gl.getUniformLocation(program, 'values'), 0);
      gl.uniform1i(gl.getUniformLocation(program, 'table'), 1);
      if (glslType === 'uint') gl.uniform1ui(gl.getUniformLocation(program, 'offset'), frame.min);
      else gl.uniform1i(gl.getUniformLocation(program, 'offset'), frame.min);
      this.drawQuad(program, [-1, -1, 2, 2]);
      gl.bindFramebuffer(gl.FRAMEBUFFER, null);
      gl.activeTexture(gl.TEXTURE0);
    } else {
      if (!this.greyBuffer || this.greyBuffer.length !== frame.values.length) this.greyBuffer = new Uint8Array(frame.values.length);
      const grey = greyImage(frame, voi, invert, this.greyBuffer);
      gl.bindTexture(gl.TEXTURE_2D, this.display.texture);
      gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, frame.columns, frame.rows, gl.RED, gl.UNSIGNED_BYTE, grey);
    }
    gl.bindTexture(gl.TEXTURE_2D, this.display.texture);
    gl.generateMipmap(gl.TEXTURE_2D);
    this.source = 'frame';
  }

  showBitmap(bitmap) {
    const { gl } = this;
    if (this.bitmap) gl.deleteTexture(this.bitmap.texture);
    const texture = this.texture(gl.LINEAR_MIPMAP_LINEAR, gl.LINEAR);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 4);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE, bitmap);
    gl.generateMipmap(gl.TEXTURE_2D);
    this.bitmap = { texture, width: bitmap.width, height: bitmap.height };
    this.source = 'bitmap';
  }

  clear() {
    this.source = null;
  }

  /** The displayed frame at its own size, one grey level per pixel (for tests and tools). */
  readGrey() {
    if (this.source !== 'frame') return null;
    const { gl } = this;
    const { width, height } = this.display;
    const rgba = new Uint8Array(width * height * 4);
    gl.bindFramebuffer(gl.FRAMEBUFFER, this.display.framebuffer);
    gl.pixelStorei(gl.PACK_ALIGNMENT, 1);
    gl.readPixels(0, 0, width, height, gl.RGBA, gl.UNSIGNED_BYTE, rgba);
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    const grey = new Uint8Array(width * height);
    for (let i = 0; i < grey.length; i += 1) grey[i] = rgba[4 * i];
    return grey;
  }

  /** Draw the image shown at {x, y, w, h} (CSS pixels) on a black canvas. */
  draw({ x, y, w, h, dpr }) {
    const { gl, canvas } = this;
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    gl.viewport(0, 0, canvas.width, canvas.height);
    gl.clearColor(0, 0, 0, 1);
    gl.clear(gl.COLOR_BUFFER_BIT);
    const texture = this.source === 'frame' ? this.display.texture : this.source === 'bitmap' ? this.bitmap.texture : null;
    if (!texture) return;
    const program = this.drawProgram;
    gl.useProgram(program);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, texture);
    gl.uniform1i(gl.getUniformLocation(program, 'image'), 0);
    gl.uniform1i(gl.getUniformLocation(program, 'grey'), this.source === 'frame' ? 1 : 0);
    // CSS pixels (y down) -> clip space (y up).
    const sx = (2 * dpr) / canvas.width;
    const sy = (2 * dpr) / canvas.height;
    this.drawQuad(program, [x * sx - 1, 1 - (y + h) * sy, w * sx, h * sy]);
  }

  // --- GL plumbing ------------------------------------------------------------------

  ensureDisplay(width, height) {
    const { gl } = this;
    if (this.display && this.display.width === width && this.display.height === height) return;
    if (this.display) {
      gl.deleteTexture(this.display.texture);
      gl.deleteFramebuffer(this.display.framebuffer);
    }
    const texture = this.texture(gl.LINEAR_MIPMAP_LINEAR, gl.LINEAR);
    const levels = Math.floor(Math.log2(Math.max(width, height))) + 1;
    gl.texStorage2D(gl.TEXTURE_2D, levels, gl.R8, width, height);
    const framebuffer = gl.createFramebuffer();
    gl.bindFramebuffer(gl.FRAMEBUFFER, framebuffer);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, texture, 0);
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    this.display = { texture, framebuffer, width, height };
  }

  texture(minFilter, magFilter) {
    const { gl } = this;
    const texture = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, texture);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, minFilter);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, magFilter);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    return texture;
  }

  tableProgram(sampler, type) {
    const key = `${sampler}/${type}`;
    if (!this.tablePrograms[key]) this.tablePrograms[key] = this.program(QUAD_VS, tableFs(sampler, type));
    return this.tablePrograms[key];
  }

  program(vertex, fragment) {
    return compileProgram(this.gl, vertex, fragment);
  }

  makeQuad() {
    return quadArray(this.gl);
  }

  drawQuad(program, box) {
    const { gl } = this;
    gl.bindVertexArray(this.quad);
    gl.uniform4fv(gl.getUniformLocation(program, 'box'), box);
    gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
  }
}
