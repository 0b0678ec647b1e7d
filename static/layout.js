// The viewports on screen: a grid of rows x columns (viewstate.js LAYOUTS),
// each a Pane (pane.js) made by `makePane(index)`.  A smaller layout removes
// the last viewports; a larger one adds empty ones.  One viewport may be
// maximised over the others (a double click), and a second double click
// restores the grid.
import { LAYOUTS } from './viewstate.js';

export class Layout {
  /** `container` holds the viewports' elements; makePane(index) builds one. */
  constructor(container, makePane) {
    this.container = container;
    this.makePane = makePane;
    this.panes = [];
    this.name = null;
    this.maximised = null;
  }

  /** Show `layout` ({rows, columns, name}); returns the viewports added. */
  set(layout) {
    this.restore();
    const count = layout.rows * layout.columns;
    for (const pane of this.panes.splice(count)) pane.destroy();
    const added = [];
    while (this.panes.length < count) {
      const pane = this.makePane(this.panes.length);
      this.panes.push(pane);
      this.container.append(pane.element);
      added.push(pane);
    }
    this.name = layout.name;
    this.container.dataset.layout = layout.name;
    this.container.style.gridTemplateRows = `repeat(${layout.rows}, minmax(0, 1fr))`;
    this.container.style.gridTemplateColumns = `repeat(${layout.columns}, minmax(0, 1fr))`;
    return added;
  }

  /** The layout after (step 1) or before (-1) the one on screen, in LAYOUTS order. */
  neighbour(step) {
    const at = LAYOUTS.indexOf(this.name);
    return LAYOUTS[(at + step + LAYOUTS.length) % LAYOUTS.length];
  }

  /** Maximise `pane`, or restore the grid when it is maximised already. */
  toggleMaximise(pane) {
    if (this.maximised === pane || this.panes.length === 1) {
      this.restore();
      return;
    }
    this.restore();
    this.maximised = pane;
    this.container.dataset.maximised = pane.element.dataset.viewport;
    for (const other of this.panes) other.element.hidden = other !== pane;
  }

  restore() {
    if (!this.maximised) return;
    this.maximised = null;
    delete this.container.dataset.maximised;
    for (const pane of this.panes) pane.element.hidden = false;
  }
}
