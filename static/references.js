// What a viewport shows of the others: the reference line (where the
// active viewport's image plane cuts this image, geometry.js) and the
// crosshair's point.  Both are kept in continuous image coordinates and
// drawn in an SVG layer over the canvas, so they follow zoom and pan.  Each
// element carries its image coordinates in data-points / data-point, for
// tests and scripts.
const SVG = 'http://www.w3.org/2000/svg';

function node(name, attributes) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  return element;
}

export class ReferenceLayer {
  /** `viewport` (viewport.js) places the image on `canvas`. */
  constructor(canvas, viewport) {
    this.canvas = canvas;
    this.viewport = viewport;
    this.layer = node('svg', { class: 'reference-layer', 'aria-hidden': 'true' });
    canvas.after(this.layer);
    this.line = null;     // [{x, y}, {x, y}] in image coordinates, or null
    this.point = null;    // {x, y}, or null
  }

  set(line) {
    if (JSON.stringify(line) === JSON.stringify(this.line)) return;   // scrolling parallel stacks: nothing to redraw
    this.line = line;
    this.update();
  }

  mark(point) {
    if (point === this.point) return;
    this.point = point;
    this.update();
  }

  toScreen({ x, y }) {
    const place = this.viewport.placement();
    return { x: place.x + x * this.viewport.scale, y: place.y + y * this.viewport.scale };
  }

  update() {
    const { layer } = this;
    layer.setAttribute('width', String(this.canvas.clientWidth));
    layer.setAttribute('height', String(this.canvas.clientHeight));
    const nodes = [];
    if (this.viewport.shown && this.viewport.dims) {
      if (this.line) {
        const [a, b] = this.line.map((p) => this.toScreen(p));
        const line = node('line', { class: 'reference-line', x1: a.x, y1: a.y, x2: b.x, y2: b.y });
        line.dataset.points = JSON.stringify(this.line.map((p) => [p.x, p.y]));
        nodes.push(line);
      }
      if (this.point) {
        const at = this.toScreen(this.point);
        const mark = node('g', { class: 'crosshair-mark' });
        mark.dataset.point = JSON.stringify([this.point.x, this.point.y]);
        mark.append(node('line', { x1: at.x - 9, y1: at.y, x2: at.x + 9, y2: at.y }),
          node('line', { x1: at.x, y1: at.y - 9, x2: at.x, y2: at.y + 9 }),
          node('circle', { cx: at.x, cy: at.y, r: 4 }));
        nodes.push(mark);
      }
    }
    layer.replaceChildren(...nodes);
  }
}
