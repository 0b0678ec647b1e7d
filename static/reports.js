// The measurements of a study as DICOM SR: "Save measurements" sends every
// viewport's measurements on the study's images to the server, which stores
// a new Measurement Report (TID 1500) in the study; opening the study reads
// the newest report back and puts its measurements in place, to be edited
// and saved again (a new report: the old one stays).
import { api } from './api.js';

/** The measurements of `panes` on images of study `studyId`, as the server takes them (duplicates once). */
export function collect(panes, studyId) {
  const seen = new Set();
  const out = [];
  for (const pane of panes) {
    if (!pane.series || pane.series.study.id !== studyId) continue;
    for (const { instance, frame, item } of pane.tools.all()) {
      const measurement = { instance, frame, kind: item.kind, points: item.points.map((p) => [p.x, p.y]),
        label: item.label || '' };
      const key = JSON.stringify(measurement);
      if (!seen.has(key)) {
        seen.add(key);
        out.push(measurement);
      }
    }
  }
  return out;
}

export class StudyReports {
  constructor() {
    this.loaded = new Map();   // study id -> Promise of the newest report's measurements
  }

  /** The newest report's measurements of a study, asked once. */
  measurements(studyId) {
    if (!this.loaded.has(studyId)) {
      this.loaded.set(studyId, api.measurements(studyId).then((answer) => answer.measurements, () => []));
    }
    return this.loaded.get(studyId);
  }

  /** Put the saved measurements of its images in `pane` (once its series is open). */
  async restore(pane) {
    const series = pane.series;
    if (!series) return;
    const found = await this.measurements(series.study.id);
    if (pane.series !== series) return;
    const instances = new Set(pane.images.map((image) => image.instance));
    pane.tools.load(found.filter((m) => instances.has(m.instance)).map((m) => ({
      instance: m.instance, frame: m.frame,
      item: { kind: m.kind, points: m.points.map(([x, y]) => ({ x, y })), label: m.label || '' },
    })));
  }

  /** Save the measurements of the study `studyId`; resolves to the server's answer. */
  async save(panes, studyId) {
    const measurements = collect(panes, studyId);
    if (!measurements.length) throw new Error('No measurement to save on this study’s images.');
    const answer = await api.saveMeasurements(studyId, measurements);
    this.loaded.set(studyId, Promise.resolve(measurements.map((m) => ({ ...m }))));
    return answer;
  }
}
