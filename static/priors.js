// The patient's other studies (the `others` of /api/studies/{id}), newest
// first, with date, modalities and description: on the study page as links
// (with a "Compare" link that opens the viewer with the study beside the
// current one), in the viewer as buttons that open the study beside it.
import { el } from './dom.js';
import * as format from './format.js';

/** One line of text for a study: "2019-01-02 · MR · HEAD MR". */
export function studyLine(study) {
  return [format.date(study.date), study.modalities.join(', '), study.description].filter(Boolean).join(' · ');
}

/**
 * The list of `others` in `box`, titled; `item(other)` gives the element(s)
 * of one study.  Hidden when the patient has no other study.
 */
export function showOthers(box, others, item) {
  box.hidden = !others.length;
  box.replaceChildren(...(others.length ? [
    el('h3', { text: `Other studies of this patient (${others.length})` }),
    el('ul', { class: 'other-studies' }, others.map((other) => el('li', { dataset: { study: other.id } }, item(other)))),
  ] : []));
}
