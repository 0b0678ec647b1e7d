// A series as the viewer steps through it: its images in viewing order
// (slices and the frames of multi-frame instances alike) with their planes
// in patient space, and what is learnt about its instances while they are
// shown (which must be server PNGs, which failed).  The information of each
// instance (/instances/{id}/info) is kept once for every viewport.
import { api } from './api.js';
import { planeOf } from './geometry.js';

/** The /instances/{id}/info answers, fetched once and shared by the viewports. */
export class InfoCache {
  constructor() {
    this.infos = new Map();        // instance id -> info (or a Promise of it, or {error})
    this.listeners = new Set();    // (instanceId) => void, told when an info arrives
  }

  /** The info of an instance, fetched once. */
  infoFor(instanceId) {
    if (!this.infos.has(instanceId)) {
      const promise = api.info(instanceId).then((info) => {
        this.infos.set(instanceId, info);
        for (const listener of [...this.listeners]) listener(instanceId);
        return info;
      }, (error) => {
        const info = { error: error.message };
        this.infos.set(instanceId, info);
        return info;
      });
      this.infos.set(instanceId, promise);
    }
    return Promise.resolve(this.infos.get(instanceId));
  }

  /** The info of an instance if it has arrived, else null. */
  known(instanceId) {
    const info = this.infos.get(instanceId);
    return info && !(info instanceof Promise) && !info.error ? info : null;
  }

  /** Call `listener(instanceId)` when an info arrives; returns the function that stops it. */
  listen(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** The images of an /api/series/{id} answer: [{instance, frame, frames, instanceIndex, number, location, uid, plane}]. */
export function imagesOf(series) {
  return series.instances.flatMap((instance, instanceIndex) => {
    const plane = planeOf(instance);
    return Array.from({ length: instance.frames }, (_, frame) => ({
      instance: instance.id, frame, frames: instance.frames, instanceIndex,
      number: instance.number, location: instance.location, uid: instance.uid,
      // A multi-frame instance's frames have planes of their own (per-frame groups): not known here.
      plane: instance.frames === 1 ? plane : null,
    }));
  });
}

export class SeriesModel {
  /** `series` is the /api/series/{id} answer. */
  constructor(series) {
    this.id = series.id;
    this.series = series;
    this.images = imagesOf(series);
    this.serverPath = new Map();   // instance id -> why its images are server PNGs
    this.seriesServer = null;      // set when an instance of the series is colour: the rest follow it
    this.frameErrors = new Map();  // frame key -> the pixels route's 4xx (the PNG route fails alike)
  }

  static async load(seriesId) {
    return new SeriesModel(await api.series(seriesId));
  }

  get modality() {
    return this.series.modality;
  }

  get study() {
    return this.series.study;
  }

  /** The Frame of Reference UID when every image has a plane in it, else null: no scrolling by position. */
  get frameOfReference() {
    const uid = this.series.frame_of_reference;
    return uid && this.images.length && this.images.every((image) => image.plane) ? uid : null;
  }

  /**
   * A PDF's pages are its frames: the series API counts one, its info the
   * pages.  Returns the index of the image that was `current` in the new list.
   */
  expandPages(instanceId, pages, current) {
    const at = this.images.findIndex((image) => image.instance === instanceId);
    if (at < 0 || this.images[at].frames >= pages) return null;
    const first = this.images[at];
    const pageImages = Array.from({ length: pages }, (_, frame) => ({ ...first, frame, frames: pages }));
    this.images = [...this.images.slice(0, at), ...pageImages,
      ...this.images.slice(at).filter((image) => image.instance !== instanceId)];
    let index = Math.max(0, this.images.indexOf(current));
    if (index === at && current && current.instance === instanceId) index = at + current.frame;
    return index;
  }

  /** A colour instance, or one the server must draw: `reason` as the pixels route gave it. */
  useServer(instanceId, reason) {
    this.serverPath.set(instanceId, reason);
    if (reason === 'colour') this.seriesServer = 'colour';
  }

  /** Why the images of `instanceId` are server PNGs whatever is applied, or null. */
  serverReason(instanceId) {
    return this.seriesServer || this.serverPath.get(instanceId) || null;
  }

  /** The instance is not an image after all (a PDF, a report): forget the pixels route's refusals. */
  forgetErrors(instanceId) {
    for (const key of [...this.frameErrors.keys()]) if (key.startsWith(`${instanceId}/`)) this.frameErrors.delete(key);
  }
}
