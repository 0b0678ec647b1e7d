// Moving through a viewport's images by time: an arrow key held down, and
// the cine.  Both step one image per display frame at most, and only once
// the image on screen is the one asked for, so that nothing is skipped.
export class Cine {
  /** `pane` (pane.js) is the viewport it moves. */
  constructor(pane) {
    this.pane = pane;
    this.playing = false;
    this.holding = null;
  }

  /**
   * An arrow key held down: step through the images at the display's rate,
   * as soon as the next one is loaded, until release() (keyup) or the end of
   * the series.  The key repeat rate of the system does not matter.
   */
  hold(direction) {
    const { pane } = this;
    if (this.holding && this.holding.direction === direction) return;
    this.release();
    const holding = { direction, frame: 0 };
    this.holding = holding;
    const tick = () => {
      if (this.holding !== holding) return;
      const next = pane.index + direction;
      if (next < 0 || next >= pane.images.length) {
        this.release();
        return;
      }
      if (pane.shownIndex === pane.index && pane.paths.ready(pane.images[next])) {
        pane.go(next, direction);
        pane.paths.flushDraw();
      }
      holding.frame = requestAnimationFrame(tick);
    };
    holding.frame = requestAnimationFrame(tick);
  }

  release() {
    if (!this.holding) return;
    cancelAnimationFrame(this.holding.frame);
    this.holding = null;
  }

  play() {
    const { pane } = this;
    if (pane.images.length < 2 || this.playing) return;
    this.playing = true;
    let last = 0;
    const tick = (now) => {
      if (!this.playing) return;
      if (pane.shownIndex === pane.index && now - last >= 1000 / pane.host.fps()) {
        last = now;
        pane.go((pane.index + 1) % pane.images.length, 1);
      }
      this.frameRequest = requestAnimationFrame(tick);
    };
    this.frameRequest = requestAnimationFrame(tick);
    pane.host.changed(pane, 'play');
  }

  stop() {
    if (!this.playing) return;
    this.playing = false;
    cancelAnimationFrame(this.frameRequest);
    this.pane.host.changed(this.pane, 'play');
  }
}
