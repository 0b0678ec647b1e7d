// A series as a volume in the viewer (the MPR layout): the server's
// /api/series/{id}/volume answer gives the geometry and the slices in order;
// their frames come at full precision through the viewer's frame store
// (frames.js), coarse to fine (the two ends, then every 64th slice, every
// 32nd…), so that the planes fill in over the whole volume while it loads:
// until every slice is here, a plane is interpolated between the slices that
// are (loaded()), then between all of them.  Plain data for mpr.js.
import { api } from './api.js';
import { dot } from './geometry.js';
import { frameKey } from './frames.js';
import { lowestOf, transposed } from './mpr.js';

/** Indices 0..count-1, coarse to fine: both ends, then halving strides. */
export function coarseToFine(count) {
  const order = count > 1 ? [0, count - 1] : [0];
  const seen = new Set(order);
  let stride = 1;
  while (stride * 2 < count) stride *= 2;
  for (; stride >= 1; stride /= 2) {
    for (let i = 0; i < count; i += stride) {
      if (!seen.has(i)) {
        seen.add(i);
        order.push(i);
      }
    }
  }
  return order;
}

export class VolumeSource {
  /** `store` is the viewer's FrameStore; onChange() hears of every frame that arrives, and of a failure. */
  constructor(store, { onChange = () => {}, budget = store.budget } = {}) {
    this.store = store;
    this.onChange = onChange;
    this.budget = budget;
    this.volume = null;      // every slice, frame null until it arrives
    this.loadedCount = 0;
    this.error = null;
    this.copies = false;     // keepColumnCopies()
    this.view = null;        // loaded(): cached until the next arrival
    this.client = store.client({
      onLoad: (key, frame) => this.arrived(key, frame),
      onError: (key, error) => this.failed(key, error),
    });
  }

  get total() {
    return this.volume ? this.volume.slices.length : 0;
  }

  get complete() {
    return Boolean(this.volume) && this.loadedCount === this.total;
  }

  /** Ask the server for the volume of `seriesId` and start fetching its frames; rejects with its 422. */
  async open(seriesId) {
    const answer = await api.volume(seriesId);
    const { orientation, spacing, bounds } = answer;
    const { row, column, normal } = orientation;
    const bytes = answer.columns * answer.rows * answer.slices * 2;
    if (bytes > this.budget) {
      throw new Error(`the volume is ${Math.round(bytes / 2 ** 20)} MiB, over the viewer's ${Math.round(this.budget / 2 ** 20)} MiB: `
        + 'its planes come from the server (Copy PNG URL)');
    }
    const slices = answer.images.map((image) => ({
      image: { instance: image.instance, frame: image.frame },
      plane: { position: image.position, row, column, normal },
      spacing: [spacing.row, spacing.column],
      frame: null,
    }));
    this.byKey = new Map(slices.map((slice) => [frameKey(slice.image), slice]));
    this.volume = {
      slices, offsets: slices.map((s) => dot(s.plane.position, normal)), row, column, normal,
      rows: answer.rows, columns: answer.columns, spacing: [spacing.row, spacing.column],
      low: bounds.min, high: bounds.max, background: Infinity, answer,
    };
    for (const slice of slices) {
      const frame = this.store.get(slice.image);
      if (frame && !frame.usePng) this.take(slice, frame);
    }
    this.client.schedule(coarseToFine(slices.length).map((i) => slices[i].image));
    return this.volume;
  }

  take(slice, frame) {
    if (slice.frame) return;
    slice.frame = frame;
    if (this.copies) slice.transposed = transposed(frame.values, frame.columns, frame.rows);
    this.loadedCount += 1;
    this.volume.background = Math.min(this.volume.background, lowestOf(frame));
    this.view = null;
  }

  /**
   * Keep a column-major copy of each slice from now on, and of those here
   * already, when both fit the budget: the CPU reads a sagittal plane from
   * them (mpr.js), in memory order.  The GPU path does not need them.
   */
  keepColumnCopies() {
    const { columns, rows, slices } = this.volume;
    if (this.copies || 2 * 2 * columns * rows * slices.length > this.budget) return;
    this.copies = true;
    for (const slice of slices) {
      if (slice.frame && !slice.transposed) slice.transposed = transposed(slice.frame.values, slice.frame.columns, slice.frame.rows);
    }
  }

  arrived(key, frame) {
    const slice = this.byKey && this.byKey.get(key);
    if (!slice) return;
    if (frame.usePng) {
      this.failed(key, new Error(`a slice cannot be reformatted in the browser (${frame.reason})`));
      return;
    }
    this.take(slice, frame);
    this.onChange();
  }

  failed(key, error) {
    if (!this.byKey || !this.byKey.has(key) || this.error) return;
    this.error = error;
    this.onChange();
  }

  /** The volume of the slices here so far (the whole volume once complete), or null before any. */
  loaded() {
    if (!this.volume || !this.loadedCount) return null;
    if (this.complete) return this.volume;
    if (!this.view) {
      const here = this.volume.slices.map((s, i) => i).filter((i) => this.volume.slices[i].frame);
      this.view = { ...this.volume, slices: here.map((i) => this.volume.slices[i]), offsets: here.map((i) => this.volume.offsets[i]) };
    }
    return this.view.slices.length > 1 ? this.view : null;
  }

  close() {
    this.client.close();
    this.volume = null;
    this.byKey = null;
  }
}
