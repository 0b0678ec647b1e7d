// The frames of a series at full precision (frame.js), fetched once and kept
// in memory, with prefetching.  The viewer hands schedule() the images it
// wants in order of need: the image on screen first, then its neighbours in
// the direction of the latest move, then a few behind.  Requests run a few
// at a time in that order; a request whose image is no longer wanted (the
// user jumped away) is aborted.  Memory is bounded: the least recently used
// frames that are not wanted go first when the total exceeds the budget.
import { fetchFrame } from './frame.js';

export const CACHE_BYTES = 384 * 2 ** 20;
const PARALLEL = 3;

/** The key of an image {instance, frame} of the series. */
export function frameKey(image) {
  return `${image.instance}/${image.frame}`;
}

export class FrameCache {
  /**
   * urlOf(image) is the pixels URL of an image; onLoad(key, result) is
   * called when a frame arrives (result: a Frame, or {usePng, reason} when
   * the server shows the image through its PNG route instead), onError(key,
   * error) when a request fails (not when it is aborted), and onRequest(n)
   * with the number of requests in flight.
   */
  constructor({ urlOf, onLoad, onError = () => {}, onRequest = () => {}, budget = CACHE_BYTES, parallel = PARALLEL }) {
    this.urlOf = urlOf;
    this.onLoad = onLoad;
    this.onError = onError;
    this.onRequest = onRequest;
    this.budget = budget;
    this.parallel = parallel;
    this.frames = new Map();      // key -> Frame (or {usePng}), least recently used first
    this.bytes = 0;
    this.running = new Map();     // key -> AbortController
    this.queue = [];              // [{key, image}] waiting, in order of need
    this.wanted = new Set();      // keys of the latest schedule()
    this.paused = false;
    this.requests = 0;            // requests started, for the page's data attributes and tests
  }

  /** The frame of `image` if it is here (it becomes the most recently used). */
  get(image) {
    const key = frameKey(image);
    const frame = this.frames.get(key);
    if (frame !== undefined) {
      this.frames.delete(key);
      this.frames.set(key, frame);
    }
    return frame;
  }

  has(image) {
    return this.frames.has(frameKey(image));
  }

  /** Frames kept for an instance (to attach what arrives later, e.g. its pixel spacing). */
  *framesOf(instanceId) {
    for (const [key, frame] of this.frames) if (key.startsWith(`${instanceId}/`)) yield frame;
  }

  get inFlight() {
    return this.running.size;
  }

  /** Want `images` (most needed first); abort what is no longer wanted and start the rest. */
  schedule(images) {
    this.wanted = new Set(images.map(frameKey));
    for (const [key, controller] of this.running) {
      if (!this.wanted.has(key)) {
        controller.abort();
        this.running.delete(key);
      }
    }
    this.queue = images.map((image) => ({ key: frameKey(image), image }))
      .filter(({ key }) => !this.frames.has(key) && !this.running.has(key));
    this.pump();
  }

  /** While paused (a window/level drag), no request starts. */
  pause(paused) {
    this.paused = paused;
    if (!paused) this.pump();
  }

  /** Abort every request and want nothing (the series is closed); the frames stay until evicted. */
  cancel() {
    for (const controller of this.running.values()) controller.abort();
    this.running.clear();
    this.queue = [];
    this.wanted = new Set();
    this.onRequest(0);
  }

  pump() {
    while (!this.paused && this.running.size < this.parallel && this.queue.length) {
      const { key, image } = this.queue.shift();
      if (this.frames.has(key) || this.running.has(key)) continue;
      this.start(key, image);
    }
    this.onRequest(this.running.size);
  }

  start(key, image) {
    const controller = new AbortController();
    this.running.set(key, controller);
    this.requests += 1;
    fetchFrame(this.urlOf(image), { signal: controller.signal })
      .then((frame) => {
        if (this.running.get(key) !== controller) return;   // aborted, or the cache was reset
        this.running.delete(key);
        this.store(key, frame);
        this.onLoad(key, frame);
      }, (error) => {
        if (this.running.get(key) !== controller) return;
        this.running.delete(key);
        if (error.name !== 'AbortError') this.onError(key, error);
      })
      .finally(() => this.pump());
  }

  store(key, frame) {
    this.frames.set(key, frame);
    this.bytes += frame.bytes || 0;
    for (const [oldKey, old] of this.frames) {
      if (this.bytes <= this.budget) break;
      if (this.wanted.has(oldKey)) continue;   // wanted frames stay; schedule() keeps that set within the budget
      this.frames.delete(oldKey);
      this.bytes -= old.bytes || 0;
    }
  }
}
