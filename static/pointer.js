// Mouse, pen and touch on the image: left-drag uses the current tool
// (window/level, pan or zoom), middle-drag pans, right-drag zooms, the wheel
// steps through the images and Ctrl/⌘ + wheel zooms.

const WHEEL_STEP = 60;   // wheel pixels per image

/** Left-drag window/level: right widens the window (exponentially), down raises the center. */
export function draggedWindow(start, dx, dy) {
  const { center: c0, width: w0 } = start;
  let width = Math.max(1, w0 * 2 ** (dx / 150));
  let center = c0 + (dy * w0) / 300;
  const precise = w0 < 20;   // e.g. SUV or float data: keep three significant digits
  width = precise ? Number(width.toPrecision(3)) : Math.round(width);
  center = precise ? Number(center.toPrecision(3)) : Math.round(center);
  return { center, width };
}

/**
 * Wire the canvas to `viewer` (a SeriesViewer).  While a button is down,
 * viewer.drag holds {mode, …}; mode is 'window', 'pan' or 'zoom'.
 */
export function bindPointer(canvas, viewer) {
  let wheelRest = 0;
  canvas.addEventListener('contextmenu', (event) => event.preventDefault());
  canvas.addEventListener('dblclick', () => viewer.viewport.fit());

  canvas.addEventListener('pointerdown', (event) => {
    if (viewer.drag || !viewer.current) return;
    let mode = { 0: viewer.tool, 1: 'pan', 2: 'zoom' }[event.button];
    if (!mode || (event.button === 0 && viewer.tools.handles(mode))) return;   // a measurement tool (tools.js)
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    const start = viewer.effectiveWindow();
    if (mode === 'window' && start === null) mode = 'pan';   // colour: nothing to window
    viewer.drag = { pointer: event.pointerId, mode, start, x: event.offsetX, y: event.offsetY,
      lastX: event.offsetX, lastY: event.offsetY };
    canvas.dataset.dragging = mode;
    viewer.dragStarted();
  });

  canvas.addEventListener('pointermove', (event) => {
    const drag = viewer.drag;
    if (!drag || drag.pointer !== event.pointerId) return;
    const dx = event.offsetX - drag.lastX;
    const dy = event.offsetY - drag.lastY;
    drag.lastX = event.offsetX;
    drag.lastY = event.offsetY;
    if (drag.mode === 'pan') viewer.viewport.panBy(dx, dy);
    else if (drag.mode === 'zoom') viewer.viewport.zoomBy(Math.exp(-dy / 150), drag.x, drag.y);
    else {
      const window = draggedWindow(drag.start, event.offsetX - drag.x, event.offsetY - drag.y);
      const now = viewer.window;
      if (!now || now.center !== window.center || now.width !== window.width) viewer.setWindow(window);
    }
  });

  const end = (event) => {
    if (!viewer.drag || viewer.drag.pointer !== event.pointerId) return;
    const windowing = viewer.drag.mode === 'window';
    viewer.drag = null;
    delete canvas.dataset.dragging;
    if (windowing) viewer.render();   // the full-quality image of the final window
    viewer.prefetchAhead();
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);

  canvas.addEventListener('wheel', (event) => {
    event.preventDefault();
    const pixels = event.deltaY * ({ 1: 40, 2: 800 }[event.deltaMode] || 1);
    if (event.ctrlKey || event.metaKey) {
      viewer.viewport.zoomBy(Math.exp(-pixels / 300), event.offsetX, event.offsetY);
      return;
    }
    // Trackpads send many small deltas, mouse wheels a few large ones.
    wheelRest += pixels;
    let steps = Math.trunc(wheelRest / WHEEL_STEP);
    if (!steps && Math.abs(pixels) >= WHEEL_STEP / 2) steps = Math.sign(pixels);
    if (steps) {
      wheelRest = 0;
      viewer.step(Math.max(-5, Math.min(5, steps)));
    }
  }, { passive: false });
}
