// The page: routes between the study list, a study and a series by the URL's
// hash (#/?q=…, #/study/{id}, #/series/{id}?image=…), and the keyboard.
import { StudyList, StudyPage } from './browse.js';
import { el, $ } from './dom.js';
import * as format from './format.js';
import { actionFor, renderHelp } from './shortcuts.js';
import { TagsPanel } from './tags.js';
import { SeriesViewer } from './viewer.js';

const views = {
  browse: $('#browse-view'),
  study: $('#study-view'),
  viewer: $('#viewer-view'),
};
const studyList = new StudyList(views.browse);
const studyPage = new StudyPage(views.study);
const viewer = new SeriesViewer(views.viewer, new TagsPanel($('#tags-panel')));
const help = $('#help');
let active = null;

function parseHash() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path, query = ''] = hash.split('?');
  return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(query) };
}

function activate(name) {
  if (active === 'viewer' && name !== 'viewer') viewer.close();
  active = name;
  for (const [key, section] of Object.entries(views)) section.hidden = key !== name;
  document.body.dataset.view = name;
}

function crumbs(...items) {
  const nav = $('#crumbs');
  nav.replaceChildren(...items.flatMap((item, i) => [
    ...(i ? [el('span', { class: 'sep', text: '›' })] : []),
    item.href ? el('a', { href: item.href, text: item.text }) : el('span', { text: item.text }),
  ]));
}

function patientLabel(patient) {
  return format.personName(patient.name) || patient.patient_id || '(no name)';
}

async function route() {
  const { parts, params } = parseHash();
  if (parts[0] === 'study' && parts[1]) {
    activate('study');
    crumbs({ text: 'Studies', href: '#/' }, { text: '…' });
    const study = await studyPage.show(parts[1]);
    if (study) crumbs({ text: 'Studies', href: '#/' }, { text: `${patientLabel(study.patient)} · ${study.description || format.date(study.date) || 'study'}` });
  } else if (parts[0] === 'series' && parts[1]) {
    if (active === 'viewer' && viewer.seriesId === parts[1]) return;   // our own URL update
    activate('viewer');
    crumbs({ text: 'Studies', href: '#/' }, { text: '…' });
    const series = await viewer.open(parts[1], params);
    if (series) {
      document.title = `${patientLabel(series.patient)} — ${series.description || series.modality || 'Series'}`;
      crumbs({ text: 'Studies', href: '#/' },
        { text: `${patientLabel(series.patient)} · ${series.study.description || format.date(series.study.date) || 'study'}`, href: `#/study/${encodeURIComponent(series.study.id)}` },
        { text: [series.number !== null ? `Series ${series.number}` : 'Series', series.description].filter(Boolean).join(' · ') });
    }
  } else {
    if (active === 'browse' && (params.get('q') || '') === studyList.search.value.trim()) return;   // typed
    activate('browse');
    crumbs({ text: 'Studies' });
    studyList.show(params.get('q') || '');
  }
}

function toggleHelp(force) {
  help.hidden = force === undefined ? !help.hidden : !force;
  if (!help.hidden) $('#help-close').focus();
}

const STEPS = { next: 1, previous: -1 };

document.addEventListener('keydown', (event) => {
  const typing = event.target.closest('input, select, textarea') && event.target.type !== 'range';
  if (typing && event.key !== 'Escape') return;
  const action = actionFor(event);
  if (!action) return;
  if (event.repeat && STEPS[action] && active === 'viewer' && help.hidden) {
    viewer.hold(STEPS[action]);   // a held arrow key scrolls at the display's rate until keyup
    event.preventDefault();
    return;
  }
  if (action === 'help') toggleHelp();
  else if (action === 'close') {
    if (!help.hidden) toggleHelp(false);
    else if (active === 'viewer' && viewer.tags.open) viewer.toggleTags(false);
    else if (typing) event.target.blur();
    else if (active === 'viewer' && viewer.series) location.hash = `#/study/${encodeURIComponent(viewer.series.study.id)}`;
    else if (active === 'study') location.hash = '#/';
  } else if (active !== 'viewer' || !help.hidden || !viewer.handle(action)) return;
  event.preventDefault();
});

document.addEventListener('keyup', (event) => {
  if (STEPS[actionFor(event)]) viewer.release();
});
window.addEventListener('blur', () => viewer.release());

$('#help-button').addEventListener('click', () => toggleHelp());
$('#help-close').addEventListener('click', () => toggleHelp(false));
help.addEventListener('click', (event) => { if (event.target === help) toggleHelp(false); });
renderHelp($('#help-list'));
window.addEventListener('hashchange', route);
route();
