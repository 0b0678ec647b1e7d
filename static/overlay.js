// The text in the corners of a viewport: patient, study (with its date, so
// that a prior is told from the current study), series, image position,
// window, zoom and which path drew the image.  Only what is true is printed:
// the window, zoom and path lines while an image is on the canvas, nothing of
// the image for a waveform, and no corner at all over a report or a summary
// screen (screens.js), which name the patient, study and series themselves;
// a PDF's page and zoom are in its own bar.  overlayLines() maps each overlay
// element's class to its text; the viewport writes them.
import * as format from './format.js';
import { windowText } from './windowing.js';

const PATH_LABELS = { server: 'Server PNG', 'client-canvas': 'Client · canvas 2D', 'client-webgl2': 'Client · WebGL2' };
const SERVER_REASONS = { colour: 'colour', values: 'values the client cannot take', size: 'too large for WebGL', error: 'client path failed' };
const NAMES = ['ov-patient', 'ov-patient-detail', 'ov-study', 'ov-series', 'overlay-position', 'overlay-location',
  'overlay-window', 'overlay-zoom', 'overlay-path'];

/** The position line: "Image 3 / 40 · #12", "Frame 2 / 10". */
function positionText(pane, image) {
  const parts = [];
  if (pane.series.instances.length === 1 && image.frames > 1) parts.push(`Frame ${image.frame + 1} / ${image.frames}`);
  else {
    parts.push(`Image ${pane.index + 1} / ${pane.images.length}`);
    if (image.frames > 1) parts.push(`frame ${image.frame + 1} / ${image.frames}`);
    else if (image.number !== null) parts.push(`#${image.number}`);
  }
  return parts.join(' · ');
}

/** Which path drew the image on screen. */
function pathText(pane) {
  const path = pane.canvas.dataset.path;
  if (!path || pane.shownIndex < 0) return '';
  const reason = path === 'server' && pane.paths.serverReason();
  return `${PATH_LABELS[path] || path}${reason ? ` (${SERVER_REASONS[reason] || reason})` : ''}`;
}

/** The top corners' lines of a series (an /api/series answer): patient, study (with its date) and series. */
export function seriesLines(series) {
  const patient = series.patient;
  return {
    'ov-patient': format.personName(patient.name) || '(no name)',
    'ov-patient-detail': [patient.patient_id && `ID ${patient.patient_id}`, patient.sex,
      patient.birth_date && format.date(patient.birth_date)].filter(Boolean).join(' · '),
    'ov-study': [series.study.description, format.date(series.study.date)].filter(Boolean).join(' · '),
    'ov-series': [series.number !== null ? `Series ${series.number}` : 'Series', series.modality,
      series.description].filter(Boolean).join(' · '),
  };
}

/** Write `lines` ({class name: text}) into the overlay elements of `element`; unchanged text is left alone (no relayout while dragging). */
export function writeOverlay(element, lines) {
  for (const [name, text] of Object.entries(lines)) {
    const node = element.querySelector(`.${name}`);
    if (node && node.textContent !== text) node.textContent = text;
  }
}

/** {class name: text} for every overlay line of `pane` (pane.js). */
export function overlayLines(pane) {
  const series = pane.series;
  const screen = pane.element.dataset.screen || '';
  const blank = Object.fromEntries(NAMES.map((name) => [name, '']));
  if (!series || screen === 'report' || screen === 'summary') return blank;
  const image = pane.current;
  const lines = { ...blank, ...seriesLines(series) };
  if (screen === 'pdf') return lines;
  if (screen === 'waveform') {   // no window, zoom or drawing path of its own to report
    return { ...lines, 'overlay-position': image ? positionText(pane, image) : '' };
  }
  if (!image) return { ...lines, 'overlay-position': 'No image' };
  if (pane.canvas.dataset.state === 'error') return lines;   // nothing drawn: nothing of an image to tell
  lines['overlay-position'] = positionText(pane, image);
  if (!pane.drawn) return lines;   // on its way: its window and zoom are not known yet
  return {
    ...lines,
    'overlay-location': image.location !== null ? `Loc ${image.location.toFixed(2)} mm` : '',
    'overlay-window': windowText(pane.displayMeta(), pane.window, pane.isCT(), pane.invert),
    'overlay-zoom': `Zoom ${Math.round(pane.viewport.zoom * 100)}%${pane.viewport.fitted ? ' (fit)' : ''}`,
    'overlay-path': pathText(pane),
  };
}
