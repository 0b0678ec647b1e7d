// Series thumbnails: small PNGs fetched a few at a time.  A thumbnail the
// server cannot render shows the server's message instead of a broken image.
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

/** The PNG of a series' thumbnail; a waveform's is its own picture (view=thumbnail: the first seconds). */
function thumbnailUrl(series, size) {
  const url = pngUrl(series.thumbnail.instance, series.thumbnail.frame, { size });
  return series.kind === 'waveform' ? `${url}${url.includes('?') ? '&' : '?'}view=thumbnail` : url;
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
    const card = el('a', {
      class: `series-card${series.id === current ? ' current' : ''}${compact ? ' compact' : ''}`,
      href: `#/series/${encodeURIComponent(series.id)}`,
      dataset: { series: series.id },
      title: series.description || label,
    },
    box,
    el('span', { class: 'series-label', text: label }),
    el('span', { class: 'series-description', text: series.description || '(no description)' }),
    el('span', { class: 'series-count', text: count }),
    compact ? null : el('span', { class: 'series-date', text: format.date(series.date) }));
    if (Object.hasOwn(OBJECT_KINDS, series.kind)) {
      // Applied to the images they reference, from the viewer's lists; not an image to show.
      box.append(el('span', { class: 'thumb-kind', text: OBJECT_KINDS[series.kind] }));
      card.classList.add('object-series');
      card.removeAttribute('href');
      card.title = `${card.title} — apply it from the viewer of the series it references`;
    } else if (series.thumbnail) {
      load(box, thumbnailUrl(series, size), label);
    } else {
      box.append(el('span', { class: 'thumb-error', text: 'no images' }));
    }
    return card;
  });
}
