// The viewer page: a toolbar, the series strip and a layout of viewports
// (layout.js), each a Pane (pane.js) with its own series and view, sharing
// one frame store (frames.js) and the instances' information (series.js).
// The toolbar acts on the active viewport, which is outlined and takes the
// keyboard; the sync group (sync.js) moves the others with it.  The URL's
// hash holds the layout and every viewport's series and view (viewstate.js),
// so that a shared link restores the screen.
import { api } from './api.js';
import { $, toast } from './dom.js';
import { frameUrl } from './frame.js';
import { FrameStore } from './frames.js';
import { Layout } from './layout.js';
import { MprGroup } from './mprview.js';
import { Pane } from './pane.js';
import { InfoCache } from './series.js';
import { defaultPrior, matchingSeries, viewable } from './hanging.js';
import { StudyReports } from './reports.js';
import { copyText, downloadPng } from './share.js';
import { SERIES_TYPE, SeriesStrip } from './strip.js';
import { SyncGroup } from './sync.js';
import { Toolbar } from './toolbar.js';
import { layoutFromParams, prefixOf, screenHash } from './viewstate.js';

// Client frames prefetched around the images on screen, shared by the viewports showing a series.
const PREFETCH_BYTES = 192 * 2 ** 20;

export class SeriesViewer {
  constructor(section, tags) {
    this.section = section;
    this.tags = tags;
    this.strip = new SeriesStrip($('#series-strip', section), {
      place: (seriesId) => this.place(this.active, seriesId),
      openPrior: (studyId) => this.openPrior(studyId, true),
    });
    this.objectsSlot = $('#objects-panel', section);
    this.store = new FrameStore({ urlOf: (image) => frameUrl(image.instance, image.frame) });
    this.infos = new InfoCache();
    this.template = $('#viewport-template');
    this.mpr = null;   // the MprGroup while the layout is 'mpr'
    this.layout = new Layout($('#viewports', section), (index) => (this.mpr ? this.mpr.panes[index] : this.makePane(this.template, index)));
    this.sync = new SyncGroup(() => this.layout.panes);
    this.active = null;
    this.studyAnswer = null;   // {id, promise} of the first viewport's study
    this.urlTimer = 0;
    this.priors = new Map();
    this.reports = new StudyReports();
    this.toolbar = new Toolbar(section, this);
    this.setLayout(layoutFromParams(new URLSearchParams()));
  }

  makePane(template, index) {
    const pane = new Pane(template, {
      store: this.store,
      infos: this.infos,
      fps: () => this.toolbar.fps(),
      changed: (changed, what) => this.paneChanged(changed, what),
      activate: (chosen) => this.activate(chosen),
      crosshair: (source, point) => this.sync.crosshair(source, point),
      maximise: (chosen) => this.layout.toggleMaximise(chosen),
      tags: (chosen) => {   // a summary screen's Tags button: the tags of that viewport's instance
        this.activate(chosen);
        this.toggleTags(true);
      },
      prefetchBytes: () => PREFETCH_BYTES / Math.max(1, this.layout.panes.filter((p) => p.model).length),
    }, index);
    const target = (on) => pane.element.classList.toggle('drop-target', on);
    pane.element.addEventListener('dragover', (event) => {
      if (!event.dataTransfer.types.includes(SERIES_TYPE)) return;
      event.preventDefault();
      target(true);
    });
    pane.element.addEventListener('dragleave', () => target(false));
    pane.element.addEventListener('drop', (event) => {
      target(false);
      const seriesId = event.dataTransfer.getData(SERIES_TYPE);
      if (!seriesId) return;
      event.preventDefault();
      this.activate(pane);
      this.place(pane, seriesId);
    });
    return pane;
  }

  /** The first viewport's series (the page's route names it). */
  get seriesId() {
    return this.layout.panes[0].seriesId;
  }

  get series() {
    return this.layout.panes[0].series;
  }

  // --- opening and closing ---------------------------------------------------------

  /**
   * Open the screen a hash asks for: `seriesId` in the first viewport, the
   * layout and the other viewports' series and views from `params`; empty
   * viewports get the study's next series, in the order of the strip.
   */
  async open(seriesId, params = new URLSearchParams()) {
    this.close();
    this.section.dataset.state = 'loading';
    if (params.get('layout') === 'mpr') return this.openMpr(seriesId, params);
    this.setLayout(layoutFromParams(params));
    const panes = this.layout.panes;
    const active = Number(params.get('active'));
    this.activate(panes[Number.isInteger(active) && active > 0 && active < panes.length ? active : 0]);
    const opened = panes.map((pane, i) => {
      const id = i ? params.get(`v${i}`) : seriesId;
      return id ? pane.open(id, params, prefixOf(i)) : null;
    });
    const series = await opened[0];
    if (!series || this.seriesId !== seriesId) return series;
    this.section.dataset.state = 'ready';
    // The strip's thumbnails are server renders: they wait for the first image, or a second.
    this.stripPending = series.study.id;
    this.stripTimer = setTimeout(() => this.loadPendingStrip(), 1000);
    const priors = (params.get('prior') || '').split(',').filter(Boolean);
    // A link from the study page (no viewports named) hangs the prior; a shared screen has its viewports already.
    const hang = !panes.slice(1).some((pane, i) => params.get(`v${i + 1}`));
    if (priors.length) priors.forEach((id) => this.openPrior(id, hang));
    else this.fillEmpty();
    return series;
  }

  /** The MPR layout on `seriesId` (mprview.js); `params` may restore its point, planes, window and views. */
  async openMpr(seriesId, params = new URLSearchParams()) {
    this.setLayout({ rows: 1, columns: 3, name: 'mpr' });
    const active = Number(params.get('active'));
    this.activate(this.layout.panes[Number.isInteger(active) && active > 0 && active < 3 ? active : 0]);
    const series = await this.mpr.open(seriesId, params);
    if (!series || this.seriesId !== seriesId) return series;
    this.section.dataset.state = 'ready';
    this.loadStrip(series.study.id);
    return series;
  }

  close() {
    for (const pane of this.layout.panes) pane.close();
    clearTimeout(this.urlTimer);
    clearTimeout(this.stripTimer);
    this.stripPending = null;
    this.studyAnswer = null;
    this.priors = new Map();   // study id -> Promise of its /api/studies answer, for the priors opened
    this.strip.clear();
  }

  /** The /api/studies/{id} answer of the first viewport's study, asked once. */
  study() {
    const studyId = this.series && this.series.study.id;
    if (!studyId) return Promise.resolve(null);
    if (!this.studyAnswer || this.studyAnswer.id !== studyId) {
      this.studyAnswer = { id: studyId, promise: api.study(studyId) };
    }
    return this.studyAnswer.promise;
  }

  loadPendingStrip() {
    clearTimeout(this.stripTimer);
    const studyId = this.stripPending;
    this.stripPending = null;
    if (studyId && this.series && this.series.study.id === studyId) this.loadStrip(studyId);
  }

  /** Put series `seriesId` in `pane`. */
  async place(pane, seriesId) {
    await pane.open(seriesId);
    if (!this.mpr) this.sync.imageChanged(this.active);
    this.markStrip();
    this.saveUrl();
  }

  /** Empty viewports get the study's series that follow the last one shown, in strip order. */
  async fillEmpty() {
    if (this.mpr) return;
    if (!this.layout.panes.some((pane) => !pane.seriesId && !pane.opening)) return;
    let study;
    try {
      study = await this.study();
    } catch {
      return;   // the strip says why
    }
    if (!study || !this.series || this.series.study.id !== study.id) return;
    const candidates = study.series.filter(viewable);
    const shown = this.layout.panes.map((pane) => pane.seriesId || pane.opening).filter(Boolean);
    // The series after the last one shown, in strip order, then from the strip's start.
    const at = Math.max(...shown.map((id) => candidates.findIndex((s) => s.id === id)));
    const order = [...candidates.slice(at + 1), ...candidates.slice(0, at + 1)];
    for (const pane of this.layout.panes) {
      if (pane.seriesId || pane.opening) continue;
      const next = order.find((s) => !shown.includes(s.id));
      if (!next) break;
      shown.push(next.id);
      pane.open(next.id).then(() => { this.markStrip(); this.saveUrl(); });
    }
  }

  async loadStrip(studyId) {
    let study;
    try {
      study = await this.study();
    } catch (error) {
      this.strip.error(error.message);
      return;
    }
    if (!study || !this.series || this.series.study.id !== studyId) return;
    this.strip.show(study);
    $('#open-prior', this.section).hidden = !study.others.some((other) => `${other.date}${other.time}` < `${study.date}${study.time}`);
    for (const prior of this.priors.values()) prior.then((answer) => answer && this.strip.addPrior(answer));
    this.markStrip();
  }

  /**
   * Open one of the patient's other studies beside the current one: its
   * series join the strip; with `hang`, the default hanging (hanging.js):
   * the current study's series on the left, on the right the prior's series
   * that match them.
   */
  async openPrior(studyId, hang) {
    if (!this.priors.has(studyId)) {
      this.priors.set(studyId, api.study(studyId).catch(() => null));
    }
    const prior = await this.priors.get(studyId);
    if (!prior || !this.series) return;
    if (this.strip.studies.size) this.strip.addPrior(prior);
    if (hang) this.hang(prior);
    this.saveUrl();
  }

  hang(prior) {
    if (this.mpr) return;
    if (this.layout.panes.length === 1 || this.layout.name === '2x1') this.setLayout({ rows: 1, columns: 2, name: '1x2' });
    const columns = Number(this.layout.name.split('x')[1]);
    const right = Math.floor(columns / 2);
    this.layout.panes.forEach((pane, i) => {
      const column = i % columns;
      if (column < columns - right) return;
      const reference = this.layout.panes[i - right];
      const series = reference.series && matchingSeries(prior, reference.series);
      if (series && pane.seriesId !== series.id) this.place(pane, series.id);
    });
  }

  /** Open the most recent prior with a series of a modality on screen (hanging.js) beside the current study. */
  async openDefaultPrior() {
    const study = await this.study();
    const modalities = this.layout.panes.map((pane) => pane.series && pane.series.modality).filter(Boolean);
    const prior = study && defaultPrior(study, modalities);
    if (prior) this.openPrior(prior.id, true);
  }

  /** The strip marks the series on screen, the active viewport's most. */
  markStrip() {
    this.strip.mark(this.active.seriesId, new Set(this.layout.panes.map((pane) => pane.seriesId)));
  }

  // --- layout and the active viewport ---------------------------------------------------

  setLayout(layout) {
    if ((layout.name === 'mpr') !== Boolean(this.mpr)) {
      this.layout.set({ rows: 0, columns: 0, name: '' });   // the other kind of viewports: all of them go
      if (this.mpr) this.mpr.close();
      this.mpr = null;
      if (layout.name === 'mpr') {
        this.mpr = new MprGroup({ store: this.store, changed: (pane, what) => this.paneChanged(pane, what),
          activate: (pane) => this.activate(pane), maximise: (pane) => this.layout.toggleMaximise(pane) });
        this.mpr.makePanes(this.template);
      }
    }
    this.section.dataset.layout = layout.name;
    this.layout.set(layout);
    if (!this.layout.panes.includes(this.active)) this.activate(this.layout.panes[0]);
    $('#layout', this.section).value = layout.name;
  }

  /** Change the layout on screen (the menu, or the keyboard); new viewports get the next series. */
  chooseLayout(name) {
    const seriesId = this.active.seriesId || this.seriesId;
    if (name === 'mpr' || this.mpr) {
      if (!seriesId) return;
      const params = new URLSearchParams(name === 'mpr' ? 'layout=mpr' : `layout=${name}`);
      if (name === 'mpr') this.openMpr(seriesId, params).then(() => this.saveUrl());
      else this.open(seriesId, params).then(() => this.saveUrl());
      return;
    }
    const [rows, columns] = name.split('x').map(Number);
    this.setLayout({ rows, columns, name });
    this.fillEmpty();
    this.saveUrl();
  }

  activate(pane) {
    if (this.active === pane) return;
    if (this.active) this.active.setActive(false);
    this.active = pane;
    pane.setActive(true);
    this.store.prioritise(pane.paths.client);
    this.objectsSlot.replaceChildren(pane.objectsBox);
    this.toolbar.refresh(pane);
    this.markStrip();
    if (pane.current) this.tags.show(pane.current.instance);
    if (!this.mpr) this.sync.references(pane);
    this.saveUrl();
  }

  /** A viewport changed (pane.js host.changed). */
  paneChanged(pane, what) {
    if (this.mpr) {
      if (pane === this.active) this.toolbar.refresh(pane);
      if (what === 'series' && pane.current) this.tags.show(pane.current.instance);
      if (['series', 'image', 'window', 'view'].includes(what)) this.saveUrl();
      return;
    }
    const active = pane === this.active;
    if (active && (what === 'image' || what === 'shown')) this.sync.imageChanged(pane);
    if (active && what === 'window') this.sync.windowChanged(pane);
    if (active && what === 'view') this.sync.viewChanged(pane);
    if (active && what === 'image' && pane.current) this.tags.show(pane.current.instance);
    if (what === 'shown' && this.stripPending) this.loadPendingStrip();
    if (what === 'shown' || what === 'kind') this.sync.references(this.active);
    if (active) this.toolbar.refresh(pane);
    if (['series', 'image', 'window', 'view'].includes(what)) this.saveUrl();
    if (what === 'series') this.reports.restore(pane);
  }

  // --- URL, sharing ---------------------------------------------------------------------

  /** The hash that reproduces the screen. */
  hash() {
    const panes = this.layout.panes;
    if (this.mpr) return this.mpr.hash(panes.indexOf(this.active));
    const views = panes.map((pane) => ({ series: pane.seriesId, view: pane.view() }));
    const hash = screenHash(views, this.layout.name, panes.indexOf(this.active));
    return this.priors.size ? `${hash}&prior=${[...this.priors.keys()].map(encodeURIComponent).join(',')}` : hash;
  }

  saveUrl() {
    if (!this.seriesId) return;
    clearTimeout(this.urlTimer);
    this.urlTimer = setTimeout(() => {
      if (this.seriesId && location.hash.startsWith('#/series/')) history.replaceState(null, '', this.hash());
    }, 150);
  }

  /** True when the active viewport shows something a PNG URL stands for (an image, a waveform's page). */
  get sharesPng() {
    return !['report', 'pdf', 'summary'].includes(this.active.screen || '');
  }

  copyUrl() {
    if (!this.sharesPng) return;
    const url = this.active.paths.pngUrl();
    if (!url) return;
    $('#copy-url', this.section).dataset.url = url;
    copyText(url, 'PNG URL copied');
  }

  download() {
    const pane = this.active;
    if (!this.sharesPng) return;
    const url = pane.paths.pngUrl();
    if (url) downloadPng(url, `${pane.series.modality || 'image'}-series${pane.series.number ?? ''}-image${pane.index + 1}.png`);
  }

  /** "Save measurements": a new SR of the measurements on the active viewport's study. */
  async saveMeasurements() {
    const button = $('#save-measurements', this.section);
    const study = this.active.series && this.active.series.study.id;
    if (!study) return;
    button.disabled = true;
    try {
      const answer = await this.reports.save(this.layout.panes, study);
      button.dataset.saved = answer.id;
      toast(`${answer.measurements} measurement${answer.measurements === 1 ? '' : 's'} saved as a DICOM SR`);
    } catch (error) {
      toast(`Not saved: ${error.message}`);
    } finally {
      button.disabled = false;
    }
  }

  // --- keyboard ---------------------------------------------------------------------------

  hold(direction) {
    this.active.hold(direction);
  }

  release() {
    for (const pane of this.layout.panes) pane.release();
  }

  /** A keyboard action (see shortcuts.js); true if handled. */
  handle(action) {
    const pane = this.active;
    if (action === 'tags') this.toggleTags();
    else if (action === 'layout:next') this.chooseLayout(this.layout.neighbour(1));
    else if (action === 'maximise') this.layout.toggleMaximise(pane);
    else if (action === 'sync') this.toolbar.toggleSync('position');
    else if (action.startsWith('preset:')) {
      if (pane.isCT() && pane.imageTools !== false) this.toolbar.choosePreset(action);
    } else return pane.handle(action);
    return true;
  }

  toggleTags(force) {
    this.tags.toggle(force);
    // Keys typed after closing must reach the viewer, not the hidden filter box.
    if (!this.tags.open && this.tags.panel.contains(document.activeElement)) document.activeElement.blur();
    $('#tags-button', this.section).setAttribute('aria-pressed', String(this.tags.open));
    if (this.active.current) this.tags.show(this.active.current.instance);
  }
}
