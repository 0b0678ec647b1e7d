// Viewports that move together.  Scrolling: the active viewport's image
// drives the others.  A viewport whose series shares its Frame of Reference
// UID shows the image nearest the same position along its own slice normal
// (geometry.js), so tilted and oblique stacks follow correctly; on by
// default.  Series of different frames of reference follow once linked: the
// link locks the offset between their images at that moment (in patient
// space when both have planes, else in images).  Window/level and zoom/pan
// can be shared too.  The same group draws the reference lines (the active
// image's plane cut through the others) and moves every viewport of the
// frame of reference to the crosshair's point.
import { anchorOf, along, nearestAlong, pointAt, project, referenceLine } from './geometry.js';

/** The point the image on screen of `pane` stands at, in patient space, or null. */
function anchor(pane) {
  const image = pane.current;
  if (!image || !image.plane) return null;
  const info = pane.knownInfo(image.instance);
  return anchorOf(image.plane, pane.viewport.dims, info && info.pixel_spacing);
}

/** True when two viewports' series lie in one Frame of Reference. */
function together(a, b) {
  const uid = a.model && a.model.frameOfReference;
  return Boolean(uid) && uid === (b.model && b.model.frameOfReference);
}

export class SyncGroup {
  /** panes() gives the viewports on screen. */
  constructor(panes) {
    this.panes = panes;
    this.options = { position: true, window: false, zoom: false };
    this.links = null;   // Map pane -> {point, index} at the moment of linking, or null
    this.applying = false;
  }

  /** Turn an option ('position', 'window', 'zoom') on or off. */
  set(option, on) {
    this.options = { ...this.options, [option]: on };
  }

  /** Lock the offsets between every viewport as they are now; unlock() forgets them. */
  link() {
    this.links = new Map(this.panes().filter((pane) => pane.current)
      .map((pane) => [pane, { point: anchor(pane), index: pane.index, uid: pane.model.frameOfReference }]));
  }

  unlock() {
    this.links = null;
  }

  get linked() {
    return this.links !== null;
  }

  /** Run `change` on the others without their changes driving anyone in turn. */
  apply(change) {
    if (this.applying) return;
    this.applying = true;
    try {
      change();
    } finally {
      this.applying = false;
    }
  }

  /** The image of `target` that goes with the image on screen in `source`, or -1 for none. */
  followingIndex(source, target) {
    const uid = source.model && source.model.frameOfReference;
    const targetUid = target.model && target.model.frameOfReference;
    const point = anchor(source);
    const link = this.links && this.links.get(source) && this.links.get(target);
    if (this.options.position && uid && uid === targetUid && point && !link) {
      return nearestAlong(target.images, target.images[0].plane.normal, along(point, target.images[0].plane.normal));
    }
    if (!link) return -1;
    const from = this.links.get(source);
    if (point && from.point && link.point && targetUid) {
      const normal = target.images[0].plane.normal;
      const moved = point.map((x, i) => x - from.point[i] + link.point[i]);
      return nearestAlong(target.images, normal, along(moved, normal));
    }
    const index = link.index + source.index - from.index;
    return Math.max(0, Math.min(target.images.length - 1, index));
  }

  /** `source` (the active viewport) shows another image: the others follow. */
  imageChanged(source) {
    if (!this.options.position && !this.links) return;
    this.apply(() => {
      for (const target of this.panes()) {
        if (target === source || !target.current) continue;
        const index = this.followingIndex(source, target);
        if (index >= 0 && index !== target.index) target.go(index, Math.sign(index - target.index));
      }
    });
  }

  windowChanged(source) {
    if (!this.options.window) return;
    this.apply(() => {
      for (const target of this.panes()) {
        if (target === source || !target.current || target.isCT() !== source.isCT()) continue;
        if (target.invert !== source.invert) target.setInvert(source.invert);
        target.setWindow(source.window);
      }
    });
  }

  viewChanged(source) {
    if (!this.options.zoom) return;
    this.apply(() => {
      const { zoom, pan } = source.viewport.view;
      for (const target of this.panes()) {
        if (target === source || !target.current) continue;
        if (source.viewport.fitted) target.viewport.fit();
        else target.viewport.setView({ zoom, pan });
      }
    });
  }

  /** Draw on every other viewport of the active one's frame of reference where its image plane cuts theirs. */
  references(active) {
    const source = active && active.imagePlane();
    for (const pane of this.panes()) {
      const target = pane !== active && source && together(pane, active) ? pane.imagePlane() : null;
      pane.references.set(target ? referenceLine(target, source) : null);
    }
  }

  /**
   * The crosshair: `point` (image coordinates) clicked in `source`.  Every
   * viewport of its frame of reference moves to its image nearest that
   * point in patient space and marks the point there.
   */
  crosshair(source, point) {
    const at = source.imagePlane();
    if (!at) return;
    const patient = pointAt(at.plane, at.spacing, point.x, point.y);
    this.apply(() => {
      for (const pane of this.panes()) {
        if (pane === source || !pane.current || !together(pane, source)) continue;
        const normal = pane.images[0].plane.normal;
        const index = nearestAlong(pane.images, normal, along(patient, normal));
        if (index >= 0) pane.go(index, Math.sign(index - pane.index) || 1);
      }
    });
    for (const pane of this.panes()) {
      const image = pane.current;
      const spacing = pane === source ? at.spacing : pane.imagePlane()?.spacing || at.spacing;
      if (image && image.plane && (pane === source || together(pane, source))) {
        pane.references.mark(project(image.plane, spacing, patient));
      }
    }
  }
}
