// Series thumbnails: small PNGs fetched a few at a time.  A thumbnail the
// server cannot render shows the server's message instead of a broken image.
// A Segmentation series shows its own picture (view=thumbnail: its segments
// in their colours over the image they lie on), and its card if that fails.
import { fetchPng, pngUrl } from './api.js';
import { el } from './dom.js';
import * as format from './format.js';
import { OBJECT_KINDS } from './hanging.js';

const PARALLEL = 4;
const queue = [];
let running = 0;

function next() {
  while (running < PARALLEL && queue.length) {
    const task = queue.shift();
    if (!task.box.isConnected) continue;   // the view changed meanwhile
    running += 1;
    task.run().finally(() => { running -= 1; next(); });
  }
}

function load(box, url, alt) {
  box.dataset.state = 'loading';
  queue.push({
    box,
    run: async () => {
      try {
        const blob = await fetchPng(url);
        const objectUrl = URL.createObjectURL(blob);
        const img = el('img', { class: 'thumb', alt, draggable: 'false' });
        img.addEventListener('load', () => URL.revokeObjectURL(objectUrl), { once: true });
        img.src = objectUrl;
        box.replaceChildren(img);
        box.dataset.state = 'ready';
      } catch (error) {
        box.replaceChildren(el('span', { class: 'thumb-error', text: error.message }));
        box.title = error.message;
        box.dataset.state = 'error';
      }
    },
  });
  queueMicrotask(next);   // once the caller has put the card in the page
}

/** Object series whose instance has a picture of its own (view=thumbnail), shown in place of their card. */
const PICTURED_OBJECTS = new Set(['segmentation']);

/**
 * The PNG of a series' thumbnail; a waveform's and a segmentation's are their
 * own pictures (view=thumbnail: the first seconds; the segments, whatever the frame).
 */
function thumbnailUrl(series, size) {
  const own = series.kind === 'waveform' || PICTURED_OBJECTS.has(series.kind);
  const url = pngUrl(series.thumbnail.instance, PICTURED_OBJECTS.has(series.kind) ? 0 : series.thumbnail.frame, { size });
  return own ? `${url}${url.includes('?') ? '&' : '?'}view=thumbnail` : url;
}

/** The card of an object series: what it is, in words. */
function kindCard(box, kind) {
  box.replaceChildren(el('span', { class: 'thumb-kind', text: OBJECT_KINDS[kind] }));
}

/**
 * An object series' own picture, loaded by the <img> itself (its src is the
 * PNG route); if the server refuses it (a malformed object) the card stays.
 */
function picture(box, url, kind) {
  box.dataset.state = 'loading';
  kindCard(box, kind);
  queue.push({
    box,
    run: () => new Promise((resolve) => {
      const img = el('img', { class: 'thumb', alt: OBJECT_KINDS[kind], draggable: 'false' });
      img.addEventListener('load', () => {
        box.replaceChildren(img);
        box.dataset.state = 'ready';
        resolve();
      }, { once: true });
      img.addEventListener('error', () => {
        box.dataset.state = 'card';
        box.title = `${OBJECT_KINDS[kind]}: the server has no picture of it`;
        resolve();
      }, { once: true });
      img.src = url;
    }),
  });
  queueMicrotask(next);
}

/** One card per series of `study` (the /api/studies/{id} answer). */
export function seriesCards(study, { current = null, compact = false } = {}) {
  const size = study.thumbnail_size || 128;
  return study.series.map((series) => {
    const box = el('div', { class: 'thumb-box' });
    const label = [series.number !== null ? `#${series.number}` : '', series.modality].filter(Boolean).join(' ');
    const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
    let count = plural(series.instances, 'image');
    if (series.frames !== series.instances) {
      count = series.instances === 1 ? plural(series.frames, 'frame') : `${count}, ${plural(series.frames, 'frame')}`;
    }
    const pictured = PICTURED_OBJECTS.has(series.kind) && Boolean(series.thumbnail);
    const card = el('a', {
      class: `series-card${series.id === current ? ' current' : ''}${compact ? ' compact' : ''}`,
      href: `#/series/${encodeURIComponent(series.id)}`,
      dataset: { series: series.id },
      title: series.description || label,
    },
    box,
    el('span', { class: 'series-label', text: label }),
    el('span', { class: 'series-description', text: series.description || '(no description)' }),
    el('span', { class: 'series-count', text: pictured ? `${OBJECT_KINDS[series.kind]} · ${count}` : count }),
    compact ? null : el('span', { class: 'series-date', text: format.date(series.date) }));
    if (Object.hasOwn(OBJECT_KINDS, series.kind)) {
      // Applied to the images they reference, from the viewer's lists; not an image to show.
      if (pictured) picture(box, thumbnailUrl(series, size), series.kind);
      else kindCard(box, series.kind);
      card.classList.add('object-series');
      if (series.kind === 'segmentation') {
        card.removeAttribute('href');   // drawn over its images, from their viewer's objects panel
        card.title = `${card.title} — apply it from the viewer of the series it references`;
      } else {
        card.title = `${card.title} — applied from the viewer of the series it references; opened alone, its summary`;
      }
    } else if (series.thumbnail) {
      load(box, thumbnailUrl(series, size), label);
    } else {
      box.append(el('span', { class: 'thumb-error', text: 'no images' }));
    }
    return card;
  });
}
