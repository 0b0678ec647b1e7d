// Which renderer draws the viewer's canvas: WebGL2 where the browser gives a
// hardware-accelerated context, the canvas 2D renderer otherwise.  WebGL
// implemented on the CPU (SwiftShader, as in headless Chromium, or llvmpipe)
// is slower than the 2D path, whose per-pixel loop is plain JavaScript and
// whose scaling is Skia's: there the 2D renderer is used (benchmarks/RESULTS.md
// measures both).  ?renderer=webgl2 or ?renderer=canvas in the page's URL
// forces one.
import { Canvas2DRenderer } from './render2d.js';
import { WebGL2Renderer, isSoftware } from './render-webgl.js';

/** The renderer asked for in the page's URL: 'webgl2', 'canvas' or null. */
export function requestedRenderer(search = location.search) {
  const value = new URLSearchParams(search).get('renderer');
  return value === 'webgl2' || value === 'canvas' ? value : null;
}

/** True when this browser gives a WebGL2 context that runs on a GPU (probed on a canvas of its own). */
export function hardwareWebGL2() {
  const probe = document.createElement('canvas').getContext('webgl2');
  if (!probe) return false;
  const software = isSoftware(probe);
  probe.getExtension('WEBGL_lose_context')?.loseContext();
  return !software;
}

/** True when the rule above chooses WebGL2 (the MPR layout computes its planes on the GPU then too, mpr-webgl.js). */
export function prefersWebGL2(requested = requestedRenderer()) {
  return requested === 'webgl2' || (requested === null && hardwareWebGL2());
}

/**
 * A renderer for `canvas`, by the rule above.  Its `canvas` is the one to
 * use: when WebGL2 fails after taking the canvas, a fresh copy of the
 * element replaces it for the 2D renderer.
 */
export function createRenderer(canvas, requested = requestedRenderer()) {
  if (prefersWebGL2(requested)) {
    try {
      const renderer = WebGL2Renderer.create(canvas);
      if (renderer) return renderer;
    } catch (error) {
      console.warn(`WebGL2 renderer unavailable, using canvas 2D: ${error.message}`);
      const fresh = canvas.cloneNode(false);
      canvas.replaceWith(fresh);
      return new Canvas2DRenderer(fresh);
    }
  }
  return new Canvas2DRenderer(canvas);
}
