// Browsing: the study list (grouped by patient, with a search box) and the
// page of one study with its series.
import { api } from './api.js';
import { el, $ } from './dom.js';
import * as format from './format.js';
import { viewable } from './hanging.js';
import { showOthers, studyLine } from './priors.js';
import { seriesCards } from './thumbnails.js';

export class StudyList {
  constructor(section) {
    this.section = section;
    this.search = $('#search', section);
    this.table = $('#studies', section);
    this.status = $('#studies-status', section);
    this.timer = 0;
    this.controller = null;
    this.search.addEventListener('input', () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.update(true), 200);
    });
  }

  /** Show the list for `query` (from the URL). */
  show(query) {
    if (this.search.value !== query) this.search.value = query;
    document.title = 'Studies — Orthanc Previewer';
    this.update(false);
    this.search.focus();
  }

  async update(fromTyping) {
    const query = this.search.value.trim();
    if (fromTyping) history.replaceState(null, '', query ? `#/?q=${encodeURIComponent(query)}` : '#/');
    this.controller?.abort();
    this.controller = new AbortController();
    this.section.dataset.state = 'loading';
    try {
      const answer = await api.studies(query, { signal: this.controller.signal });
      this.render(answer);
      this.section.dataset.state = 'ready';
    } catch (error) {
      if (error.name === 'AbortError') return;
      this.table.replaceChildren();
      this.status.textContent = `Cannot list the studies: ${error.message}`;
      this.section.dataset.state = 'error';
    }
  }

  render(answer) {
    const rows = [];
    let patient = null;
    for (const study of answer.studies) {
      if (study.patient.id !== patient) {
        patient = study.patient.id;
        const p = study.patient;
        const name = format.personName(p.name) || '(no name)';
        rows.push(el('tr', { class: 'patient-row' },
          el('th', { colspan: 6 },
            p.patient_id
              ? el('a', { class: 'patient-name', href: `#/?q=${encodeURIComponent(p.patient_id)}`, text: name,
                title: 'Only this patient' })
              : el('span', { class: 'patient-name', text: name }),
            el('span', { class: 'patient-detail', text: [
              p.patient_id && `ID ${p.patient_id}`, p.sex, p.birth_date && `born ${format.date(p.birth_date)}`,
            ].filter(Boolean).join(' · ') }))));
      }
      const href = `#/study/${encodeURIComponent(study.id)}`;
      const row = el('tr', { class: 'study-row', dataset: { study: study.id } },
        el('td', { class: 'date' }, el('a', { href, text: format.date(study.date) || '(no date)' })),
        el('td', { class: 'modalities', text: study.modalities.join(', ') }),
        el('td', { class: 'description', text: study.description || '(no description)' }),
        el('td', { class: 'accession', text: study.accession }),
        el('td', { class: 'count', text: String(study.series) }),
        el('td', { class: 'count', text: String(study.instances) }));
      row.addEventListener('click', (event) => {
        if (event.target.closest('a') === null) location.hash = href;
      });
      rows.push(row);
    }
    this.table.replaceChildren(...rows);
    const what = answer.query ? ` matching “${answer.query}”` : '';
    this.status.textContent = answer.matched === 0
      ? (answer.total === 0 ? 'No studies in Orthanc yet.' : `No study${what}.`)
      : `${answer.matched} of ${answer.total} studies${what}${answer.truncated ? ' (only the first are shown)' : ''}`;
  }
}

export class StudyPage {
  constructor(section) {
    this.section = section;
    this.header = $('#study-header', section);
    this.grid = $('#series-grid', section);
    this.others = $('#study-others', section);
  }

  async show(studyId) {
    this.section.dataset.state = 'loading';
    this.header.replaceChildren(el('h2', { text: 'Loading…' }));
    this.grid.replaceChildren();
    try {
      const study = await api.study(studyId);
      const name = format.personName(study.patient.name) || '(no name)';
      document.title = `${name} — ${study.description || 'Study'}`;
      this.header.replaceChildren(
        el('h2', {}, el('span', { class: 'patient-name', text: name }), ' ',
          el('span', { class: 'patient-detail', text: study.patient.patient_id ? `ID ${study.patient.patient_id}` : '' })),
        el('p', { text: [format.date(study.date), study.description, study.accession && `Acc. ${study.accession}`,
          study.institution].filter(Boolean).join(' · ') }));
      this.grid.replaceChildren(...seriesCards(study));
      // "Compare" opens the viewer on this study's first series with the other study beside it.
      const first = study.series.find(viewable);
      showOthers(this.others, study.others, (other) => [
        el('a', { href: `#/study/${encodeURIComponent(other.id)}`, text: studyLine(other) }),
        first ? el('a', { class: 'compare', href: `#/series/${encodeURIComponent(first.id)}?prior=${encodeURIComponent(other.id)}`,
          text: 'Compare', title: 'Open this study with that one beside it' }) : null,
      ]);
      this.section.dataset.state = 'ready';
      return study;
    } catch (error) {
      this.others.hidden = true;
      this.header.replaceChildren(el('h2', { text: 'Cannot open the study' }), el('p', { class: 'error', text: error.message }));
      this.section.dataset.state = 'error';
      return null;
    }
  }
}
