// The summary screen of a viewport: what an instance is when there is
// nothing to draw (screens.js 'summary'): an RT Structure Set, RT Plan or RT
// Dose opened alone, any object without Pixel Data, or an image whose
// rendering failed.  It is built from GET /previewer/api/instances/{id}/summary
// (docs/API.md): the title and kind, the problem in an error box, the main
// attributes, the kind's own block (an RTSTRUCT's ROIs, an RT Plan's beams
// and fraction groups, an RT Dose's grid and dose range), the references with
// links to what is in this Orthanc, and a Tags button.  An RT Dose that
// decodes is pictured too (its middle frame, a server PNG loaded by an <img>),
// with a "Show as image" button that puts the viewport on its image screen.
//
// Contract for tests and scripts: `.summary` carries data-state (loading,
// ready, error: the summary could not be read), data-instance and data-kind;
// `.summary-error` holds the problem; each ROI row is tr[data-roi]; each
// reference li[data-relation][data-level][data-uid], its link a[data-target];
// a dose's picture is img.summary-picture[data-frame], its button .summary-show-image.
import { api, failure, pngUrl } from './api.js';
import { el } from './dom.js';
import * as format from './format.js';
import { imagesOf } from './series.js';

/** What each summary kind is called on screen. */
export const KIND_NAMES = {
  image: 'Image', pdf: 'PDF document', report: 'Structured report', video: 'Video',
  presentation: 'Presentation state', segmentation: 'Segmentation', waveform: 'Waveform',
  rtstruct: 'RT Structure Set', rtplan: 'RT Plan', rtdose: 'RT Dose', other: 'Object without pixel data',
};

// Person Name (PN) attributes the summary lists: shown as "FAMILY, Given" (PS3.5 6.2).
const PERSON_NAMES = new Set(['PatientName', 'ReferringPhysicianName', 'PerformingPhysicianName', 'OperatorsName',
  'PhysiciansOfRecord', 'NameOfPhysiciansReadingStudy', 'ReviewerName', 'VerifyingObserverName']);
const SHOWN_REFERENCES = 20;   // more are folded under a <details>
const LOOKED_UP_SERIES = 40;   // series of the study searched for the instances a summary names
const KEPT = 64;               // summaries kept per view
const PICTURE_SIZE = 256;      // the box of a dose's picture, in pixels (the PNG route's size=)

/** An attribute's value as shown: dates and times in the viewer's formats, person names readable. */
export function attributeText(attribute) {
  const keyword = attribute.keyword || '';
  const value = String(attribute.value ?? '');
  if (PERSON_NAMES.has(keyword)) return format.personName(value) || value;
  if (keyword.endsWith('DateTime')) {
    const match = /^(\d{8})(\d{4,})/.exec(value.trim());
    return match ? `${format.date(match[1])} ${format.time(match[2])}` : value;
  }
  if (keyword.endsWith('Date')) return format.date(value);
  if (keyword.endsWith('Time')) return format.time(value);
  return value;
}

/** A number as text: up to `digits` significant digits, '–' when missing. */
function number(value, digits = 4) {
  return Number.isFinite(value) ? String(Number(value.toPrecision(digits))) : '–';
}

/** Numbers joined by `separator`, '–' when the list is missing. */
function numbers(values, separator = ', ', digits = 4) {
  return Array.isArray(values) && values.length ? values.map((v) => number(v, digits)).join(separator) : '–';
}

/** "12–37, 40": runs of consecutive 0-based indices, 1-based. */
export function runs(indices) {
  const sorted = [...new Set(indices)].sort((a, b) => a - b);
  const out = [];
  for (const index of sorted) {
    const last = out[out.length - 1];
    if (last && index === last.end + 1) last.end = index;
    else out.push({ start: index, end: index });
  }
  return out;
}

function section(name, title, ...children) {
  return el('section', { class: `summary-block summary-${name}` }, el('h3', { text: title }), ...children);
}

function table(head, rows) {
  return el('table', { class: 'summary-table' },
    el('thead', {}, el('tr', {}, ...head.map((text) => el('th', { text })))),
    el('tbody', {}, ...rows));
}

function cell(content, className) {
  return el('td', { class: className }, content);
}

/** A list of [name, value] as a <dl>; null when empty. */
function facts(pairs) {
  return pairs.length ? el('dl', { class: 'summary-facts' }, ...pairs.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: v || '–' })]))
    : null;
}

export class SummaryView {
  /** `host`: {tags() opens the tags panel of the instance shown, showImage(frame) shows it on the image screen at `frame`}. */
  constructor(host) {
    this.host = host;
    this.element = el('div', { class: 'summary', hidden: true, dataset: { state: 'empty' } });
    this.answers = new Map();   // instance id -> Promise of its summary (the last KEPT)
    this.instance = null;
    this.token = 0;
  }

  /**
   * Show instance `instanceId`: `problem` is the error to name (the rendering's, or null),
   * `study` the id of its study (to find the images and series it names), `picture` the
   * 0-based frame of an RT Dose to picture with its "Show as image" button (null: none).
   */
  show(instanceId, { problem = null, study = null, picture = null } = {}) {
    this.element.hidden = false;
    const key = `${instanceId}|${problem || ''}|${picture ?? ''}`;
    if (key === this.key && this.element.dataset.state !== 'error') return;   // an unread summary is asked again
    this.key = key;
    this.instance = instanceId;
    this.study = study;
    this.problem = problem;
    this.picture = picture;
    this.load(instanceId);
  }

  hide() {
    this.element.hidden = true;
  }

  destroy() {
    this.token += 1;
    this.element.remove();
  }

  /** The summary of an instance, asked once (while kept). */
  summaryOf(instanceId) {
    if (!this.answers.has(instanceId)) {
      const promise = fetch(`api/instances/${encodeURIComponent(instanceId)}/summary`, { headers: { Accept: 'application/json' } })
        .then(async (response) => {
          if (!response.ok) throw await failure(response);
          return response.json();
        });
      promise.catch(() => this.answers.delete(instanceId));   // asked again next time
      this.answers.set(instanceId, promise);
      if (this.answers.size > KEPT) this.answers.delete(this.answers.keys().next().value);
    }
    return this.answers.get(instanceId);
  }

  async load(instanceId) {
    const token = ++this.token;
    Object.assign(this.element.dataset, { state: 'loading', instance: instanceId, kind: '' });
    this.element.replaceChildren(el('p', { class: 'status', text: 'Loading the summary…' }));
    let summary;
    try {
      summary = await this.summaryOf(instanceId);
    } catch (error) {
      if (token !== this.token) return;
      this.element.dataset.state = 'error';
      this.element.replaceChildren(...[this.head(null), this.errorBox(),
        el('p', { class: 'summary-unread error', text: `No summary of this instance: ${error.message}` })].filter(Boolean));
      return;
    }
    if (token !== this.token) return;
    this.render(summary);
    this.element.dataset.state = 'ready';
    this.element.dataset.kind = summary.kind || '';
    if (this.needsLocations(summary) && this.study) this.link(summary, token);
  }

  /** The title, the kind and the Tags button (in the error box instead when there is one). */
  head(summary) {
    const title = summary ? summary.title || summary.sop_class || 'DICOM object' : 'DICOM object';
    const kind = summary && (KIND_NAMES[summary.kind] || summary.kind);
    this.tagsButton = el('button', { type: 'button', class: 'summary-tags', text: 'Tags', title: 'The DICOM tags of this instance (T)',
      onclick: (event) => { event.currentTarget.blur(); this.host.tags(); } });
    return el('header', { class: 'summary-head' },
      el('h2', { class: 'summary-title', text: title, title: summary ? summary.sop_class : undefined }),
      kind ? el('span', { class: 'summary-kind', text: kind }) : null,
      this.currentProblem(summary) ? null : this.tagsButton);
  }

  currentProblem(summary) {
    return (summary && summary.error) || this.problem || null;
  }

  /** The problem, named, with the Tags button; nothing when there is none. */
  errorBox(summary = null) {
    const problem = this.currentProblem(summary);
    if (!problem) return null;
    return el('div', { class: 'summary-error', role: 'alert' },
      el('strong', { text: 'This image cannot be shown' }),
      el('span', { class: 'summary-problem', text: problem }),
      el('span', { class: 'summary-offer' }, 'What the file holds: ', this.tagsButton));
  }

  render(summary) {
    const blocks = [this.head(summary), this.errorBox(summary), this.attributes(summary.attributes || [])];
    if (summary.rtstruct) blocks.push(this.structures(summary.rtstruct));
    if (summary.rtplan) blocks.push(this.plan(summary.rtplan));
    if (summary.rtdose) blocks.push(this.dose(summary.rtdose, this.pictureOf(summary)));
    blocks.push(this.references(summary.references || []));
    const problems = summary.problems || [];
    if (problems.length) {
      blocks.push(section('problems', 'Problems reading the file',
        el('ul', {}, ...problems.map((text) => el('li', { class: 'error', text })))));
    }
    this.element.replaceChildren(...blocks.filter(Boolean));
  }

  attributes(attributes) {
    if (!attributes.length) return null;
    const rows = attributes.map((a) => [
      el('dt', { text: a.name || a.keyword || a.tag, title: a.tag }),
      el('dd', { text: attributeText(a), dataset: { keyword: a.keyword || '' } }),
    ]);
    return section('attributes', 'Attributes', el('dl', { class: 'summary-attributes-list' }, ...rows.flat()));
  }

  /** An RT Structure Set's ROIs: colour, number, name, type, contours and the images each lies on. */
  structures(rtstruct) {
    const rois = rtstruct.rois || [];
    const rows = rois.map((roi) => {
      const swatch = el('span', { class: 'swatch' });
      // The colour through the CSSOM: the viewer's CSP refuses style attributes.
      if (Array.isArray(roi.color) && roi.color.length === 3) swatch.style.backgroundColor = `rgb(${roi.color.join(', ')})`;
      else swatch.classList.add('swatch-none');
      const images = roi.images || [];
      const where = el('td', { class: 'summary-images', dataset: { images: images.join(' ') } },
        images.length ? `${images.length} image${images.length === 1 ? '' : 's'}` : 'none in this Orthanc');
      return el('tr', { dataset: { roi: String(roi.number) } },
        cell(swatch, 'summary-colour'), cell(String(roi.number ?? ''), 'number'), cell(roi.name || `ROI ${roi.number}`),
        cell(roi.type || '–'), cell(String(roi.contours ?? 0), 'number'), where);
    });
    return section('rtstruct', `Structures (${rois.length})`,
      rois.length ? table(['', 'No.', 'Name', 'Type', 'Contours', 'Images'], rows) : el('p', { class: 'status', text: 'No ROI.' }));
  }

  /** An RT Plan's label, its fraction groups and its beams (an RT Ion Plan's ion beams alike). */
  plan(rtplan) {
    const parts = [facts([['Label', rtplan.label], ['Name', rtplan.name], ['Geometry', rtplan.geometry]].filter(([, v]) => v))];
    const groups = rtplan.fraction_groups || [];
    if (groups.length) {
      const beamsOf = (group) => (group.beams || [])
        .map((b) => `#${b.number}: ${number(b.dose)} Gy, ${number(b.meterset)} MU`).join(' · ') || '–';
      parts.push(el('h4', { text: 'Fraction groups' }), table(['Group', 'Fractions planned', 'Beams (dose, meterset)'],
        groups.map((g) => el('tr', { dataset: { fractionGroup: String(g.number) } },
          cell(String(g.number ?? ''), 'number'), cell(String(g.fractions_planned ?? '–'), 'number'), cell(beamsOf(g))))));
    }
    const beams = rtplan.beams || [];
    parts.push(el('h4', { text: `Beams (${beams.length})` }));
    if (beams.length) {
      const head = ['No.', 'Name', 'Type', 'Radiation', 'Machine', 'Control points', 'Energy (MeV)', 'Gantry °', 'Couch °',
        'Collimator °'];
      parts.push(table(head, beams.map((b) => el('tr', { dataset: { beam: String(b.number) }, title: b.description || undefined },
        cell(String(b.number ?? ''), 'number'), cell(b.name || '–'), cell(b.type || '–'), cell(b.radiation || '–'),
        cell(b.machine || '–'), cell(String(b.control_points ?? '–'), 'number'),
        ...[b.energy, b.gantry, b.couch, b.collimator].map((value) => cell(number(value), 'number'))))));
    }
    return section('rtplan', 'Plan', ...parts.filter(Boolean));
  }

  /**
   * The picture of an RT Dose with its "Show as image" button, or null: only when the viewport
   * asked for one (the dose decodes) and neither the server nor the rendering names a problem.
   */
  pictureOf(summary) {
    if (!Number.isInteger(this.picture) || this.currentProblem(summary)) return null;
    const frame = this.picture;
    const frames = summary.rtdose.grid && Number.isInteger(summary.rtdose.grid.frames) ? summary.rtdose.grid.frames : null;
    const where = frames && frames > 1 ? `frame ${frame + 1} of ${frames}` : 'its frame';
    // The <img> loads the server's PNG itself: the server's default window, the box PICTURE_SIZE.
    const img = el('img', { class: 'summary-picture', src: pngUrl(this.instance, frame, { size: PICTURE_SIZE }),
      alt: `The dose grid, ${where}`, width: PICTURE_SIZE, height: PICTURE_SIZE, dataset: { frame: String(frame) } });
    const button = el('button', { type: 'button', class: 'summary-show-image', text: 'Show as image',
      title: `Show this dose on the image screen, at ${where} (window, zoom and frame scrolling)`,
      onclick: () => this.host.showImage(frame) });
    return el('figure', { class: 'summary-figure' }, img,
      el('figcaption', {}, el('span', { class: 'status', text: frames && frames > 1 ? `Frame ${frame + 1} / ${frames}` : '' }), button));
  }

  /** An RT Dose's units, scaling, grid and dose range (or why it is unknown), after its picture when it has one. */
  dose(rtdose, picture = null) {
    const grid = rtdose.grid || {};
    const offsets = Array.isArray(grid.offsets) ? grid.offsets : null;
    const more = offsets && offsets.length > 6 ? ` … (${offsets.length})` : '';
    const range = Array.isArray(rtdose.range) && rtdose.range.length === 2
      ? `${number(rtdose.range[0])} – ${number(rtdose.range[1])} ${rtdose.units || ''}`.trim()
      : `unknown: ${rtdose.range_error || 'not given'}`;
    return section('rtdose', 'Dose', picture, facts([
      ['Units', rtdose.units], ['Type', rtdose.type], ['Summation', rtdose.summation],
      ['Dose Grid Scaling', Number.isFinite(rtdose.scaling) ? String(rtdose.scaling) : '–'],
      ['Grid', `${grid.columns ?? '?'} × ${grid.rows ?? '?'} × ${grid.frames ?? '?'} (columns × rows × frames)`],
      ['Pixel spacing', grid.spacing ? `${numbers(grid.spacing, ' × ')} mm (row × column)` : '–'],
      ['Frame offsets', offsets ? `${numbers(offsets.slice(0, 6))}${more} mm` : '–'],
      ['Origin', grid.origin ? `${numbers(grid.origin)} mm` : '–'],
      ['Orientation', numbers(grid.orientation, ', ', 6)],
      ['Dose range', range],
    ]));
  }

  /** What the instance references: links to what is in this Orthanc, the UID alone otherwise. */
  references(references) {
    if (!references.length) return section('references', 'References', el('p', { class: 'status', text: 'It references nothing.' }));
    const items = references.map((ref) => {
      const here = Boolean(ref.orthanc);
      const href = here ? this.hrefOf(ref) : null;
      const target = href
        ? el('a', { href, text: ref.uid, dataset: { target: ref.orthanc } })
        : el('span', { class: 'summary-uid', text: ref.uid });
      return el('li', { dataset: { relation: ref.relation || '', level: ref.level || '', uid: ref.uid || '' } },
        el('span', { class: 'summary-relation', text: ref.relation || `Referenced ${ref.level || 'object'}` }), ' ', target,
        here || ref.level === 'frame-of-reference' ? null : el('span', { class: 'summary-absent', text: ' — not in this Orthanc' }));
    });
    const shown = el('ul', { class: 'summary-references-list' }, ...items.slice(0, SHOWN_REFERENCES));
    const rest = items.length > SHOWN_REFERENCES
      ? el('details', {}, el('summary', { text: `${items.length - SHOWN_REFERENCES} more` }),
        el('ul', { class: 'summary-references-list' }, ...items.slice(SHOWN_REFERENCES)))
      : null;
    return section('references', `References (${references.length})`, shown, rest);
  }

  /** The viewer's address of a referenced study or series; an instance through /previewer/open (any study). */
  hrefOf(ref) {
    if (ref.level === 'study') return `#/study/${encodeURIComponent(ref.orthanc)}`;
    if (ref.level === 'series') return `#/series/${encodeURIComponent(ref.orthanc)}`;
    if (ref.level === 'instance') return `open?SOPInstanceUID=${encodeURIComponent(ref.uid)}`;
    return null;
  }

  needsLocations(summary) {
    return Boolean(summary.rtstruct && (summary.rtstruct.rois || []).some((roi) => (roi.images || []).length))
      || (summary.references || []).some((ref) => ref.level === 'instance' && ref.orthanc);
  }

  /** Turn the ROIs' images and the referenced instances into links to their series, at their index. */
  async link(summary, token) {
    let where;
    try {
      where = await locate(this.study);
    } catch {
      return;   // the counts and /open links stay
    }
    if (token !== this.token) return;
    for (const td of this.element.querySelectorAll('td.summary-images')) {
      const ids = (td.dataset.images || '').split(' ').filter(Boolean);
      if (ids.length) td.replaceChildren(...imageLinks(ids, where));
    }
    for (const link of this.element.querySelectorAll('li[data-level="instance"] a[data-target]')) {
      const place = where.instances.get(link.dataset.target);
      if (place) link.href = `#/series/${encodeURIComponent(place.series)}?image=${place.index + 1}`;
    }
  }
}

/**
 * Where the instances of study `studyId` are in the viewer: {instances: Map(instance id ->
 * {series, index}), series: Map(series id -> its /api/series answer)}, from the study's series
 * (at most LOOKED_UP_SERIES of them), index being the 0-based image in viewing order.
 */
async function locate(studyId) {
  const study = await api.study(studyId);
  const listed = (study.series || []).slice(0, LOOKED_UP_SERIES);
  const answers = await Promise.all(listed.map((s) => api.series(s.id).catch(() => null)));
  const instances = new Map();
  const series = new Map();
  for (const answer of answers.filter(Boolean)) {
    series.set(answer.id, answer);
    imagesOf(answer).forEach((image, index) => {
      if (image.frame === 0 && !instances.has(image.instance)) instances.set(image.instance, { series: answer.id, index });
    });
  }
  return { instances, series };
}

/** Links to the images `ids` (Orthanc instance ids): per series, one link per run of consecutive images. */
function imageLinks(ids, where) {
  const bySeries = new Map();
  let elsewhere = 0;
  for (const id of ids) {
    const place = where.instances.get(id);
    if (!place) {
      elsewhere += 1;
      continue;
    }
    if (!bySeries.has(place.series)) bySeries.set(place.series, []);
    bySeries.get(place.series).push(place.index);
  }
  const parts = [];
  for (const [seriesId, indices] of bySeries) {
    const answer = where.series.get(seriesId);
    const name = [answer && answer.number !== null && answer.number !== undefined ? `Series ${answer.number}` : 'Series',
      answer && answer.modality].filter(Boolean).join(' ');
    const links = runs(indices).map((run) => el('a', {
      href: `#/series/${encodeURIComponent(seriesId)}?image=${run.start + 1}`,
      text: run.start === run.end ? String(run.start + 1) : `${run.start + 1}–${run.end + 1}`,
      dataset: { series: seriesId, image: String(run.start + 1) },
    }));
    parts.push(el('span', { class: 'summary-series' }, `${name}: `, ...links.flatMap((a, i) => (i ? [', ', a] : [a])),
      ` (${indices.length})`));
  }
  if (elsewhere) parts.push(el('span', { class: 'status', text: `${elsewhere} elsewhere` }));
  return parts.flatMap((part, i) => (i ? [el('br'), part] : [part]));
}
