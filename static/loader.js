// Renders come from the server one at a time: at most one PNG request is in
// flight, the latest request replaces any waiting one, and an answer older
// than the image on screen is dropped.  During a window/level drag this keeps
// the display following the mouse at the speed the server can render,
// without a queue of stale requests.  Decoded images are kept in a small
// LRU cache, so stepping back through slices or replaying a cine is instant.
import { fetchBitmap } from './api.js';

const CACHE_PIXELS = 48e6;   // about 190 MB of decoded RGBA at most

export class ImageLoader {
  /**
   * onImage(bitmap, meta) shows an image; onError(error, meta) shows why a
   * request failed; onBusy(busy) tells whether a request is in flight.
   */
  constructor({ onImage, onError, onBusy = () => {} }) {
    this.onImage = onImage;
    this.onError = onError;
    this.onBusy = onBusy;
    this.cache = new Map();     // url -> bitmap, oldest first
    this.cachedPixels = 0;
    this.sequence = 0;          // number of the latest request
    this.shown = 0;             // number of the request on screen
    this.pending = null;        // {sequence, url, meta}: waits for the slot
    this.inFlight = null;       // {url, sequence?}: holds the slot
    this.prefetchList = [];
  }

  /** Show the image at `url` as soon as possible (the latest call wins). */
  request(url, meta) {
    const job = { sequence: ++this.sequence, url, meta };
    this.pending = job;
    this.pump();
  }

  /** Fetch these URLs when nothing else is waiting, in order. */
  prefetch(urls) {
    this.prefetchList = urls.filter((url) => !this.cache.has(url));
    this.pump();
  }

  /** Forget everything waiting (the view changes to another series). */
  reset() {
    this.pending = null;
    this.prefetchList = [];
    this.shown = this.sequence;
  }

  get busy() {
    return this.inFlight !== null;
  }

  pump() {
    while (this.pending && this.cache.has(this.pending.url)) {
      const job = this.pending;
      this.pending = null;
      this.deliver(job, this.touch(job.url));
    }
    if (this.inFlight) return;
    let job = this.pending;
    this.pending = null;
    if (!job) {
      while (this.prefetchList.length && this.cache.has(this.prefetchList[0])) this.prefetchList.shift();
      const url = this.prefetchList.shift();
      if (!url) return;
      job = { url, prefetch: true };
    }
    this.inFlight = job;
    this.onBusy(true);
    fetchBitmap(job.url)
      .then((bitmap) => {
        this.store(job.url, bitmap);
        if (!job.prefetch) this.deliver(job, bitmap);
      })
      .catch((error) => {
        // An error is shown only if no newer request is waiting to replace it.
        if (!job.prefetch && !this.pending && job.sequence > this.shown) {
          this.shown = job.sequence;
          this.onError(error, job.meta);
        }
      })
      .finally(() => {
        this.inFlight = null;
        this.onBusy(false);
        this.pump();
      });
  }

  deliver(job, bitmap) {
    if (job.sequence <= this.shown) return;   // stale: a newer image is on screen
    this.shown = job.sequence;
    this.onImage(bitmap, job.meta);
  }

  touch(url) {
    const bitmap = this.cache.get(url);
    this.cache.delete(url);
    this.cache.set(url, bitmap);
    return bitmap;
  }

  store(url, bitmap) {
    if (this.cache.has(url)) return;
    this.cache.set(url, bitmap);
    this.cachedPixels += bitmap.width * bitmap.height;
    for (const [oldUrl, old] of this.cache) {
      if (this.cachedPixels <= CACHE_PIXELS || oldUrl === url) break;
      // Not closed: the evicted bitmap may still be the one on screen.
      this.cache.delete(oldUrl);
      this.cachedPixels -= old.width * old.height;
    }
  }
}
