// Mouse, pen and touch on the image: left-drag (or one finger) uses the
// current tool (window/level, pan or zoom), middle-drag pans, right-drag
// zooms, the wheel steps through the images and Ctrl/⌘ + wheel zooms; two
// fingers pinch to zoom and move together to pan.

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
 * Wire `canvas` to a viewport through `handlers`, the only things pointer
 * input may do to it:
 *   tool()                the left button's tool, or null when nothing is shown
 *   measuring(tool)       true when tools.js takes that tool's input
 *   startWindow()         the window on screen ({center, width}) or null (colour)
 *   window()              the window chosen now (null: the default)
 *   setWindow(w), panBy(dx, dy), zoomBy(factor, x, y), step(delta)
 *   dragStarted(mode), dragEnded(mode)   mode: 'window', 'pan' or 'zoom'
 *   pinchStarted()        two fingers are down: a measurement being drawn is dropped
 */
export function bindPointer(canvas, handlers) {
  let wheelRest = 0;
  let drag = null;
  const touches = new Map();   // pointer id -> {x, y} of each finger down
  let pinch = null;            // {distance, x, y} of the two fingers at the last move
  canvas.addEventListener('contextmenu', (event) => event.preventDefault());

  const spread = () => {
    const [a, b] = [...touches.values()];
    return { distance: Math.hypot(b.x - a.x, b.y - a.y), x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
  };
  const endDrag = () => {
    if (!drag) return;
    const { mode } = drag;
    drag = null;
    delete canvas.dataset.dragging;
    handlers.dragEnded(mode);
  };

  canvas.addEventListener('pointerdown', (event) => {
    if (event.pointerType === 'touch') {
      touches.set(event.pointerId, { x: event.offsetX, y: event.offsetY });
      if (touches.size === 2) {
        endDrag();   // the first finger's drag gives way to the pinch
        handlers.pinchStarted();
        for (const id of touches.keys()) if (canvas.hasPointerCapture && !canvas.hasPointerCapture(id)) canvas.setPointerCapture(id);
        pinch = spread();
        canvas.dataset.dragging = 'pinch';
        event.preventDefault();
        return;
      }
      if (touches.size > 2) return;
    }
    const tool = handlers.tool();
    if (drag || tool === null) return;
    let mode = { 0: tool, 1: 'pan', 2: 'zoom' }[event.button];
    if (!mode || (event.button === 0 && handlers.measuring(mode))) return;   // a measurement tool (tools.js)
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    const start = handlers.startWindow();
    if (mode === 'window' && start === null) mode = 'pan';   // colour: nothing to window
    drag = { pointer: event.pointerId, mode, start, x: event.offsetX, y: event.offsetY,
      lastX: event.offsetX, lastY: event.offsetY };
    canvas.dataset.dragging = mode;
    handlers.dragStarted(mode);
  });

  canvas.addEventListener('pointermove', (event) => {
    if (pinch && touches.has(event.pointerId)) {
      touches.set(event.pointerId, { x: event.offsetX, y: event.offsetY });
      const now = spread();
      if (pinch.distance > 0 && now.distance > 0) handlers.zoomBy(now.distance / pinch.distance, now.x, now.y);
      handlers.panBy(now.x - pinch.x, now.y - pinch.y);
      pinch = now;
      return;
    }
    if (!drag || drag.pointer !== event.pointerId) return;
    const dx = event.offsetX - drag.lastX;
    const dy = event.offsetY - drag.lastY;
    drag.lastX = event.offsetX;
    drag.lastY = event.offsetY;
    if (drag.mode === 'pan') handlers.panBy(dx, dy);
    else if (drag.mode === 'zoom') handlers.zoomBy(Math.exp(-dy / 150), drag.x, drag.y);
    else {
      const window = draggedWindow(drag.start, event.offsetX - drag.x, event.offsetY - drag.y);
      const now = handlers.window();
      if (!now || now.center !== window.center || now.width !== window.width) handlers.setWindow(window);
    }
  });

  const end = (event) => {
    if (touches.delete(event.pointerId) && pinch) {
      if (touches.size < 2) {
        pinch = null;
        delete canvas.dataset.dragging;
      }
      return;
    }
    if (!drag || drag.pointer !== event.pointerId) return;
    endDrag();
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);

  canvas.addEventListener('wheel', (event) => {
    event.preventDefault();
    const pixels = event.deltaY * ({ 1: 40, 2: 800 }[event.deltaMode] || 1);
    if (event.ctrlKey || event.metaKey) {
      handlers.zoomBy(Math.exp(-pixels / 300), event.offsetX, event.offsetY);
      return;
    }
    // Trackpads send many small deltas, mouse wheels a few large ones.
    wheelRest += pixels;
    let steps = Math.trunc(wheelRest / WHEEL_STEP);
    if (!steps && Math.abs(pixels) >= WHEEL_STEP / 2) steps = Math.sign(pixels);
    if (steps) {
      wheelRest = 0;
      handlers.step(Math.max(-5, Math.min(5, steps)));
    }
  }, { passive: false });
}
