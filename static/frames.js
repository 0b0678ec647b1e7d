// The frames at full precision (frame.js) of every viewport, fetched once and
// kept in memory under one byte budget, with prefetching.  Each viewport is a
// client of the one store: it hands schedule() the images it wants in order
// of need (the image on screen first, then its neighbours in the direction of
// the latest move, then a few behind).  Requests run a few at a time, taking
// the clients' lists in turn, the active viewport's first; a request no
// client wants any more (the user jumped away) is aborted.  Memory is
// bounded: the least recently used frames that no client wants go first when
// the total exceeds the budget.
import { fetchFrame } from './frame.js';

export const CACHE_BYTES = 384 * 2 ** 20;
const PARALLEL = 3;

/** The key of an image {instance, frame}. */
export function frameKey(image) {
  return `${image.instance}/${image.frame}`;
}

/** One viewport's view of the store: what it wants, and the arrivals it hears of. */
class FrameClient {
  constructor(store, { onLoad = () => {}, onError = () => {}, onRequest = () => {} }) {
    this.store = store;
    this.onLoad = onLoad;       // (key, Frame | {usePng, reason})
    this.onError = onError;     // (key, error), never for an aborted request
    this.onRequest = onRequest; // (number of the store's requests in flight)
    this.wanted = [];           // [image], most needed first
    this.paused = false;
  }

  /** Want `images` (most needed first) instead of what was wanted before. */
  schedule(images) {
    this.wanted = images;
    this.store.update();
  }

  /** While a client is paused (a window/level drag), no request starts. */
  pause(paused) {
    if (this.paused === paused) return;
    this.paused = paused;
    this.store.update();
  }

  /** Want nothing (the viewport's series is closed); the frames stay until evicted. */
  cancel() {
    this.wanted = [];
    this.paused = false;
    this.store.update();
  }

  /** Leave the store (the viewport is gone). */
  close() {
    this.store.clients.delete(this);
    this.store.update();
  }
}

export class FrameStore {
  /** urlOf(image) is the pixels URL of an image; `budget` bounds the bytes kept. */
  constructor({ urlOf, budget = CACHE_BYTES, parallel = PARALLEL }) {
    this.urlOf = urlOf;
    this.budget = budget;
    this.parallel = parallel;
    this.clients = new Set();     // in order of priority: the first is served first
    this.frames = new Map();      // key -> Frame (or {usePng}), least recently used first
    this.bytes = 0;
    this.running = new Map();     // key -> AbortController
    this.wanted = new Set();      // keys some client wants
    this.requests = 0;            // requests started, for tests
  }

  /** A new client (see FrameClient). */
  client(callbacks = {}) {
    const client = new FrameClient(this, callbacks);
    this.clients.add(client);
    return client;
  }

  /** Serve `client` before the others (the active viewport). */
  prioritise(client) {
    if (!this.clients.has(client)) return;
    this.clients = new Set([client, ...[...this.clients].filter((other) => other !== client)]);
    this.update();
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

  /** The images to fetch, in turn from each client's list, and no more while a client is paused. */
  queue() {
    const lists = [...this.clients].map((client) => client.wanted);
    const queue = [];
    const seen = new Set();
    for (let rank = 0; lists.some((list) => rank < list.length); rank += 1) {
      for (const list of lists) {
        const image = list[rank];
        if (!image) continue;
        const key = frameKey(image);
        if (seen.has(key)) continue;
        seen.add(key);
        if (!this.frames.has(key) && !this.running.has(key)) queue.push({ key, image });
      }
    }
    return { queue, wanted: seen };
  }

  /** Abort what no client wants, and start what they want, a few at a time. */
  update() {
    const { queue, wanted } = this.queue();
    this.wanted = wanted;
    for (const [key, controller] of this.running) {
      if (!wanted.has(key)) {
        controller.abort();
        this.running.delete(key);
      }
    }
    const paused = [...this.clients].some((client) => client.paused);
    while (!paused && this.running.size < this.parallel && queue.length) {
      const { key, image } = queue.shift();
      this.start(key, image);
    }
    for (const client of this.clients) client.onRequest(this.running.size);
  }

  start(key, image) {
    const controller = new AbortController();
    this.running.set(key, controller);
    this.requests += 1;
    fetchFrame(this.urlOf(image), { signal: controller.signal })
      .then((frame) => {
        if (this.running.get(key) !== controller) return;   // aborted
        this.running.delete(key);
        this.store(key, frame);
        for (const client of [...this.clients]) client.onLoad(key, frame);
      }, (error) => {
        if (this.running.get(key) !== controller) return;
        this.running.delete(key);
        if (error.name !== 'AbortError') for (const client of [...this.clients]) client.onError(key, error);
      })
      .finally(() => this.update());
  }

  store(key, frame) {
    this.frames.set(key, frame);
    this.bytes += frame.bytes || 0;
    for (const [oldKey, old] of this.frames) {
      if (this.bytes <= this.budget) break;
      if (this.wanted.has(oldKey)) continue;   // wanted frames stay; the clients keep their lists within the budget
      this.frames.delete(oldKey);
      this.bytes -= old.bytes || 0;
    }
  }
}
