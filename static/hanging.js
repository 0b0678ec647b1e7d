// Which series of a prior study goes beside a series of the current one: a
// series of the same modality, with the closest Series Description (words in
// common), else the same Body Part Examined, else the first of that
// modality.  And which of the patient's other studies is the prior to open:
// the most recent one older than the current study with a series of that
// modality.  Plain data in and out (the /api/studies answers).
import { isoDate } from './format.js';

/** Series kinds applied to the images they reference, never shown or hung themselves, with what to call them. */
export const OBJECT_KINDS = { presentation: 'Presentation state', segmentation: 'Segmentation', rtstruct: 'Structure set' };

/** True for a series that has an image to show (not an object of OBJECT_KINDS). */
export function viewable(series) {
  return !Object.hasOwn(OBJECT_KINDS, series.kind) && Boolean(series.thumbnail);
}

function words(text) {
  return new Set(String(text || '').toLowerCase().split(/[^a-z0-9]+/).filter(Boolean));
}

/** Words in common over words in either (0 when either has none). */
export function similarity(a, b) {
  const x = words(a);
  const y = words(b);
  if (!x.size || !y.size) return 0;
  let common = 0;
  for (const word of x) if (y.has(word)) common += 1;
  return common / (x.size + y.size - common);
}

/** The series of `study` to show beside `reference` (a series summary), or null when it has none to show. */
export function matchingSeries(study, reference) {
  const shown = study.series.filter(viewable);
  const same = shown.filter((series) => series.modality === reference.modality);
  if (!same.length) return shown[0] || null;
  let best = null;
  let score = 0;
  for (const series of same) {
    const s = similarity(series.description, reference.description);
    if (s > score) {
      best = series;
      score = s;
    }
  }
  if (best) return best;
  const part = reference.body_part && same.find((series) => series.body_part && series.body_part === reference.body_part);
  return part || same[0];
}

/**
 * The prior to open for `current` (the /api/studies answer): among its
 * `others` that are older, the newest with one of `modalities`; else the
 * newest older one; null when there is none.
 */
export function defaultPrior(current, modalities) {
  const key = (study) => `${isoDate(study.date) || study.date || ''}${study.time || ''}`;   // legacy YYYY.MM.DD too
  const older = current.others.filter((other) => key(other) < key(current));
  return older.find((other) => other.modalities.some((m) => modalities.includes(m))) || older[0] || null;
}
