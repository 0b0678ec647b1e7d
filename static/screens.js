// Which screen a viewport shows for its current instance, from the
// instance's /info answer and whether its rendering failed.  Plain data in,
// a name out:
//   'image'     the canvas (client frames or server PNGs), with the image tools;
//   'pdf'       the canvas showing a page, with the document bar (pages, zoom, download);
//   'report'    the report's HTML in a frame, with print, copy text and download;
//   'waveform'  waveform.js's screen;
//   'summary'   summary.js's screen: nothing to draw (an RT Structure Set, a
//               presentation state, an object without Pixel Data, or an image
//               whose rendering failed), or an RT Dose (Modality RTDOSE),
//               whose summary comes first: one that decodes is pictured there,
//               and the viewport may show it on the image screen instead;
//   ''          not known yet: the rendering failed and the info is still on its way.
// The Screens class below holds a viewport's views of those screens.
import { PdfBar, ReportView } from './documents.js';
import { toast } from './dom.js';
import { copyText } from './share.js';
import { SummaryView } from './summary.js';
import { WaveformView } from './waveform.js';

/** Screens drawn through paths.js (the canvas, or a server page kept for Copy PNG URL). */
export const PAINTED = new Set(['', 'image', 'pdf', 'waveform']);

/** Kinds of /info that never have pixels of their own to draw, whatever the file holds. */
const UNDRAWN_KINDS = new Set(['rtstruct', 'presentation']);

/**
 * True when `info` says there is nothing to draw: an RT Structure Set or a
 * presentation state, or an image without (7FE0,0010/0008/0009) Pixel Data.
 */
export function undrawn(info) {
  if (!info || info.error) return false;
  if (UNDRAWN_KINDS.has(info.kind)) return true;
  return (info.kind || 'image') === 'image' && !info.pixel_data;
}

/** True for a Modality of RT Dose (PS3.3 C.8.8.1, RT Series Module: Modality RTDOSE). */
export function isDoseModality(modality) {
  return String(modality || '').trim().toUpperCase() === 'RTDOSE';
}

/**
 * True when `info` is an RT Dose whose frame 0 decodes and whose rendering did
 * not fail (`failed`): its summary shows a picture of it, and the viewport may
 * switch between its summary and its image screen.
 */
export function switchable(info, failed = false) {
  return Boolean(info && !info.error && !failed && (info.kind || 'image') === 'image' && isDoseModality(info.modality)
    && info.pixel_data && info.decodable !== false);
}

/**
 * The screen for an instance whose /info answer is `info` (null while it is
 * unknown, {error} when it could not be read); `failed` is true when its
 * rendering failed.  `chosen`: the viewport's choice for this instance
 * ('image' or 'summary', null for none), which only an RT Dose that
 * decodes takes; `modality`: its series' Modality, which puts an RT Dose on
 * its summary while its info is on its way.
 */
export function screenOf(info, failed, { chosen = null, modality = null } = {}) {
  if (!info) {
    if (failed) return '';
    return isDoseModality(modality) && chosen !== 'image' ? 'summary' : 'image';
  }
  if (info.kind === 'waveform') return 'waveform';   // its screen says what failed
  if (info.kind === 'report' && info.report) return 'report';
  if (undrawn(info)) return 'summary';
  if (failed) return 'summary';
  if (info.kind === 'pdf') return 'pdf';
  // An image whose frame 0 does not decode: its summary names why, without asking for pixels again.
  if ((info.kind || 'image') === 'image' && info.decodable === false) return 'summary';
  // An RT Dose: its grid, units and dose range first, its image when the viewport asks for it.
  if (switchable(info)) return chosen === 'image' ? 'image' : 'summary';
  return 'image';
}

/**
 * The frame of an RT Dose that its summary pictures, or null when it shows
 * none: the middle one (of `info.frames`), for a dose that decodes.
 */
export function picturedFrame(info, failed = false) {
  if (!switchable(info, failed)) return null;
  const frames = Number.isInteger(info.frames) && info.frames > 0 ? info.frames : 1;
  return Math.floor(frames / 2);
}

/**
 * The problem to name on the summary screen, or null: the rendering's error
 * of something that has pixels to draw, else why /info says frame 0 does not
 * decode.  An object with nothing to draw has no problem of that kind.
 */
export function problemOf(info, failure) {
  if (undrawn(info)) return null;
  if (failure) return failure.message || String(failure);
  if (info && !info.error && (info.kind || 'image') === 'image' && info.decodable === false) return info.reason || null;
  return null;
}

/**
 * The screens a viewport shows in place of (or beside) its canvas, each made
 * the first time it is needed and placed after `anchor` (the canvas: under
 * the overlay's corners): the waveform screen, the report (which takes the
 * viewport's iframe `frame`), the PDF's bar and the summary.  `host`:
 * {tags(), turnPage(delta), zoomBy(factor), fit(), showImage(frame)}, what their buttons do.
 */
export class Screens {
  constructor(anchor, frame, host) {
    this.anchor = anchor;
    this.frame = frame;
    this.host = host;
    this.views = {};      // screen name -> its view, once made
  }

  get waveform() {
    return this.views.waveform || null;
  }

  /** The view of `screen`, made and placed on first use. */
  view(screen) {
    if (!this.views[screen]) {
      const { host } = this;
      const make = {
        waveform: () => new WaveformView(),
        report: () => new ReportView({ copy: (text) => copyText(text, 'Report text copied'), failed: (text) => toast(text) },
          this.frame),
        summary: () => new SummaryView({ tags: () => host.tags(), showImage: (frame) => host.showImage(frame) }),
        pdf: () => new PdfBar({ previous: () => host.turnPage(-1), next: () => host.turnPage(1),
          zoomBy: (factor) => host.zoomBy(factor), fit: () => host.fit() }),
      };
      this.views[screen] = make[screen]();
      this.anchor.after(this.views[screen].element);
    }
    return this.views[screen];
  }

  /**
   * Show `screen` and hide the others.  `shown`: {instance, info, problem, study, position, pdf, picture}, what
   * that screen needs (pdf: PdfBar.update's argument; picture: the frame the summary pictures, or null).
   */
  show(screen, shown) {
    for (const [name, view] of Object.entries(this.views)) if (name !== screen) view.hide();
    if (screen === 'waveform') this.view(screen).show(shown.instance, shown.info);
    else if (screen === 'report') this.view(screen).show(shown.instance, shown.info, shown.position);
    else if (screen === 'summary') {
      this.view(screen).show(shown.instance, { problem: shown.problem, study: shown.study, picture: shown.picture ?? null });
    }
    else if (screen === 'pdf') this.view(screen).update(shown.pdf);
  }

  /** The PDF's bar follows the page and the zoom. */
  updatePdf(pdf) {
    if (this.views.pdf && !this.views.pdf.element.hidden) this.views.pdf.update(pdf);
  }

  destroy() {
    for (const view of Object.values(this.views)) if (view.destroy) view.destroy();
  }
}
