// The controls of documents shown in a viewport (screens.js 'report' and
// 'pdf'), in a bar at the bottom of the viewport in place of the image tools.
//
// A report (SR, KOS): its HTML (/instances/{id}/report) in a frame, with
// Print (the frame's own print: the report alone), Copy text (the text as the
// frame lays it out) and downloads of the HTML and of the DICOM file.  The
// frame's sandbox allows no script (the report's CSP forbids them too); it
// keeps the page's origin so that the viewer can print it and read its text.
//
// A PDF: its pages are the series' images (series.js expandPages), drawn on
// the canvas by the server; the bar has the page, previous / next, zoom and
// the download of the original PDF (/instances/{id}/document).
//
// Contract for tests and scripts: `.report-screen` has data-instance and
// data-loaded (the frame's report URL once loaded); `.pdf-bar` has data-page
// and data-pages (1-based), `.pdf-zoom` data-zoom (percent) and data-fitted.
import { el } from './dom.js';

function button(text, title, className, action) {
  return el('button', { type: 'button', class: className, text, title,
    onclick: (event) => { event.currentTarget.blur(); action(); } });
}

export class ReportView {
  /**
   * `host`: {copy(text), failed(message)}: what to do with the report's text, and how to say a step
   * failed; `frame`: the viewport's iframe (sandbox="allow-same-origin allow-modals"), moved into this screen.
   */
  constructor(host, frame) {
    this.host = host;
    this.frame = frame;
    frame.hidden = false;
    this.frame.addEventListener('load', () => {
      if (this.frame.dataset.src) this.element.dataset.loaded = this.frame.dataset.src;
      for (const resolve of this.waiting.splice(0)) resolve();
    });
    this.waiting = [];
    this.position = el('span', { class: 'document-position status' });
    this.download = el('a', { class: 'button report-download', text: 'Download HTML', title: 'The report as an HTML file' });
    this.dicom = el('a', { class: 'button report-dicom', text: 'Download DICOM', title: 'The DICOM file of the report' });
    const bar = el('div', { class: 'document-bar report-bar' }, this.position,
      button('Print', 'Print the report', 'report-print', () => this.print()),
      button('Copy text', 'Copy the report\'s text to the clipboard', 'report-copy', () => this.copy()),
      this.download, this.dicom);
    this.element = el('div', { class: 'report-screen', hidden: true }, frame, bar);
  }

  /** Show the report of `instanceId` (`info`: its /info answer); `position` {index, count} in the series. */
  show(instanceId, info, position) {
    this.element.hidden = false;
    this.element.dataset.instance = instanceId;
    const src = new URL(info.report, location.href).href;
    if (this.frame.dataset.src !== src) {
      delete this.element.dataset.loaded;
      this.frame.dataset.src = src;
      this.frame.src = src;
    }
    this.download.href = src;
    this.download.setAttribute('download', `report-${instanceId}.html`);
    // Orthanc's own route for the stored file, beside the plugin's /previewer/.
    this.dicom.href = new URL(`../instances/${encodeURIComponent(instanceId)}/file`, location.href).href;
    this.dicom.setAttribute('download', `${instanceId}.dcm`);
    this.position.textContent = position && position.count > 1 ? `Report ${position.index + 1} / ${position.count}` : '';
  }

  hide() {
    this.element.hidden = true;
  }

  /** Resolves once the frame holds the report asked last. */
  loaded() {
    if (this.frame.dataset.src && this.element.dataset.loaded === this.frame.dataset.src) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async print() {
    await this.loaded();
    try {
      this.frame.contentWindow.print();
    } catch (error) {
      this.host.failed(`Cannot print: ${error.message}`);
    }
  }

  /** The report's text as laid out in the frame (headings and items on their own lines). */
  async text() {
    await this.loaded();
    const doc = this.frame.contentDocument;
    if (!doc || !doc.body) return '';
    // The report's relationship labels (span.rel, "contains") are set apart by a margin, not a space:
    // one is put after each while the text is read, so that the label and the item do not run together.
    const spaces = [...doc.querySelectorAll('.rel')].map((label) => {
      const space = doc.createTextNode(' ');
      label.after(space);
      return space;
    });
    const text = doc.body.innerText.trim();
    for (const space of spaces) space.remove();
    return text;
  }

  async copy() {
    try {
      this.host.copy(await this.text());
    } catch (error) {
      this.host.failed(`Cannot copy: ${error.message}`);
    }
  }
}

export class PdfBar {
  /** `actions`: {previous(), next(), zoomBy(factor), fit()}. */
  constructor(actions) {
    const zoomStep = 1.25;
    this.previous = button('‹', 'Previous page (↑ ←)', 'pdf-previous', () => actions.previous());
    this.next = button('›', 'Next page (↓ →)', 'pdf-next', () => actions.next());
    this.page = el('span', { class: 'pdf-page' });
    this.zoom = el('span', { class: 'pdf-zoom status' });
    this.download = el('a', { class: 'button pdf-download', text: 'Download PDF', title: 'The original PDF', download: true });
    this.element = el('div', { class: 'document-bar pdf-bar', hidden: true },
      el('div', { class: 'group' }, this.previous, this.page, this.next),
      el('div', { class: 'group' },
        button('−', 'Zoom out (−)', 'pdf-zoom-out', () => actions.zoomBy(1 / zoomStep)),
        button('+', 'Zoom in (+, Ctrl + wheel)', 'pdf-zoom-in', () => actions.zoomBy(zoomStep)),
        button('Fit', 'The whole page (F)', 'pdf-fit', () => actions.fit()), this.zoom),
      this.download);
  }

  /** Show page `page` of `pages` (1-based) at `zoom` (screen pixels per page pixel); `document`: the PDF's URL. */
  update({ page, pages, zoom, fitted, document }) {
    this.element.hidden = false;
    Object.assign(this.element.dataset, { page: String(page), pages: String(pages) });
    this.page.textContent = `Page ${page} / ${pages}`;
    this.previous.disabled = page <= 1;
    this.next.disabled = page >= pages;
    const percent = Math.round(zoom * 100);
    Object.assign(this.zoom.dataset, { zoom: String(percent), fitted: String(fitted) });
    this.zoom.textContent = `${percent}%${fitted ? ' (fit)' : ''}`;
    if (document) {
      this.download.href = new URL(document, location.href).href;
      this.download.hidden = false;
    } else {
      this.download.hidden = true;
      this.download.removeAttribute('href');
    }
  }

  hide() {
    this.element.hidden = true;
  }
}
