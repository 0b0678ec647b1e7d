// The viewer's series strip: the patient's other studies (buttons that open
// one beside the current study), the current study's series, then the
// series of each prior opened, under its date.  A thumbnail clicked goes
// into the active viewport; dragged, into the viewport it is dropped on.
import { el } from './dom.js';
import * as format from './format.js';
import { showOthers, studyLine } from './priors.js';
import { seriesCards } from './thumbnails.js';

export const SERIES_TYPE = 'application/x-previewer-series';

export class SeriesStrip {
  /** place(seriesId) puts a series in the active viewport; openPrior(studyId) opens a study beside. */
  constructor(box, { place, openPrior }) {
    this.box = box;
    this.place = place;
    this.openPrior = openPrior;
    this.studies = new Map();   // study id -> its /api/studies answer, for the studies in the strip
  }

  clear() {
    this.studies.clear();
    this.box.replaceChildren();
  }

  error(message) {
    this.box.replaceChildren(el('p', { class: 'error', text: message }));
  }

  /** The current study's series, and the patient's other studies above them. */
  show(study) {
    this.studies = new Map([[study.id, study]]);
    this.others = el('div', { class: 'strip-others' });
    showOthers(this.others, study.others, (other) => el('button', {
      type: 'button', class: 'open-prior', text: studyLine(other), title: `Open beside: ${studyLine(other)}`,
      onclick: () => this.openPrior(other.id),
    }));
    this.box.replaceChildren(this.others, ...this.cards(study, false));
  }

  /** A prior's series at the end of the strip, under its date; its button is marked open. */
  addPrior(prior) {
    if (this.studies.has(prior.id)) return;
    this.studies.set(prior.id, prior);
    const button = this.others && this.others.querySelector(`[data-study="${CSS.escape(prior.id)}"] button`);
    if (button) button.setAttribute('aria-pressed', 'true');
    this.box.append(el('h3', { class: 'strip-study', dataset: { study: prior.id }, text: format.date(prior.date) || 'Prior study' }),
      ...this.cards(prior, true));
  }

  cards(study, prior) {
    const cards = seriesCards(study, { compact: true });
    for (const card of cards) {
      card.dataset.study = study.id;
      if (prior) {
        card.classList.add('prior');
        card.append(el('span', { class: 'series-study-date', text: format.date(study.date) }));
      }
      card.draggable = Boolean(card.getAttribute('href'));
      card.addEventListener('dragstart', (event) => {
        event.dataTransfer.setData(SERIES_TYPE, card.dataset.series);
        event.dataTransfer.effectAllowed = 'copy';
      });
      card.addEventListener('click', (event) => {
        if (!card.getAttribute('href') || event.ctrlKey || event.metaKey || event.shiftKey) return;
        event.preventDefault();   // the series goes into the active viewport
        this.place(card.dataset.series);
      });
    }
    return cards;
  }

  /** Mark the series on screen, the active viewport's most. */
  mark(activeSeries, shown) {
    for (const card of this.box.querySelectorAll('.series-card')) {
      card.classList.toggle('current', card.dataset.series === activeSeries);
      card.classList.toggle('shown', shown.has(card.dataset.series));
    }
  }
}
