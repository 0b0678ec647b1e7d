// The viewer's toolbar: it shows and changes the active viewport's state
// (tool, window preset, inversion, cine, overlays, the image slider), the
// layout and the sync options.  `viewer` (viewer.js) gives the active
// viewport, the sync group and the page-wide actions (layout, priors,
// measurements, sharing, tags).  The image controls apply to an image on the
// canvas only: a report, a PDF and a summary screen (screens.js) have their
// own controls, and a waveform its zoom in time.
import { el, $ } from './dom.js';
import { presetMenu, windowOfValue } from './windowing.js';

function clampFps(fps) {
  return Math.max(1, Math.min(60, Number.isFinite(fps) ? Math.round(fps) : 10));
}

export class Toolbar {
  constructor(section, viewer) {
    this.section = section;
    this.viewer = viewer;
    this.slider = $('#slider', section);
    this.preset = $('#preset', section);
    this.fpsInput = $('#fps', section);
    this.playButton = $('#play', section);
    this.bind();
  }

  /** The cine rate chosen, 1 to 60 frames per second. */
  fps() {
    return clampFps(Number(this.fpsInput.value));
  }

  /** Show the state of `pane`, the active viewport. */
  refresh(pane) {
    const count = pane.images.length;
    this.slider.max = String(Math.max(1, count));
    this.slider.disabled = count < 2;
    this.slider.value = String(pane.index + 1);
    $('#slider-label', this.section).textContent = pane.current ? `${pane.index + 1} / ${count}` : '';
    this.playButton.disabled = count < 2;
    this.playButton.textContent = pane.playing ? '❚❚ Pause' : '▶ Play';
    this.playButton.setAttribute('aria-pressed', String(pane.playing));
    $('#invert', this.section).setAttribute('aria-pressed', String(pane.invert));
    for (const button of this.section.querySelectorAll('button[data-tool]')) {
      button.setAttribute('aria-pressed', String(button.dataset.tool === pane.tool));
    }
    const screen = pane.element.dataset.screen || '';
    const image = !['waveform', 'report', 'pdf', 'summary'].includes(screen);   // '' is an image on its way
    const overlays = $('#overlays', this.section);
    overlays.hidden = !image || !pane.hasOverlays();
    overlays.setAttribute('aria-pressed', String(pane.objects.state.overlays));
    this.section.dataset.kind = pane.element.dataset.kind || '';
    this.section.dataset.screen = screen;
    const mpr = this.viewer.mpr;
    if (mpr) {
      $('#slab', this.section).value = String(mpr.thickness);
      $('#projection', this.section).value = mpr.projection;
      this.playButton.disabled = true;
    }
    this.fillPresets(pane);
    // Tools, window, 1:1 and inversion are an image's; a waveform keeps Fit (its whole group) and its page PNG;
    // a report, a PDF and a summary have none of these (the PDF's zoom is in its own bar).
    const documentScreen = ['report', 'pdf', 'summary'].includes(screen);
    for (const control of this.section.querySelectorAll('button[data-tool], #actual, #invert')) control.disabled = !image;
    for (const control of this.section.querySelectorAll('#fit, #copy-url, #download')) control.disabled = documentScreen;
    if (documentScreen) {
      this.playButton.disabled = true;
      this.fpsInput.disabled = true;
    } else {
      this.fpsInput.disabled = false;
    }
    if (!image) this.preset.disabled = true;
  }

  fillPresets(pane) {
    const meta = pane.displayMeta();
    const { options, value } = presetMenu(meta, pane.window, pane.isCT());
    const key = options.map((option) => `${option.value}=${option.text}`).join('|');
    if (key !== this.presetKey) {   // the same list (a drag changes only the value): the options stay
      this.preset.replaceChildren(...options.map((option) => el('option', option)));
      this.presetKey = key;
    }
    this.preset.value = value;
    this.preset.disabled = Boolean(meta && meta.color);
  }

  choosePreset(value) {
    const window = windowOfValue(value);
    if (window !== undefined) this.viewer.active.setWindow(window);
  }

  /** Turn a sync option ('position', 'window', 'zoom') on or off, as its button shows. */
  toggleSync(option) {
    const button = $(`#sync-${option}`, this.section);
    const on = button.getAttribute('aria-pressed') !== 'true';
    button.setAttribute('aria-pressed', String(on));
    this.viewer.sync.set(option, on);
    if (on && option === 'position') this.viewer.sync.imageChanged(this.viewer.active);
  }

  toggleLink(button) {
    const { sync } = this.viewer;
    if (sync.linked) sync.unlock();
    else sync.link();
    button.setAttribute('aria-pressed', String(sync.linked));
  }

  bind() {
    const { viewer } = this;
    const on = (selector, event, handler) => $(selector, this.section).addEventListener(event, handler);
    for (const button of this.section.querySelectorAll('button[data-tool]')) {
      button.addEventListener('click', () => viewer.active.setTool(button.dataset.tool));
    }
    on('#fit', 'click', () => {
      const pane = viewer.active;
      if (pane.element.dataset.kind === 'waveform') pane.handle('fit');
      else pane.viewport.fit();
    });
    on('#actual', 'click', () => viewer.active.viewport.actualSize());
    on('#invert', 'click', () => viewer.active.setInvert(!viewer.active.invert));
    on('#play', 'click', () => (viewer.active.playing ? viewer.active.stop() : viewer.active.play()));
    on('#copy-url', 'click', () => viewer.copyUrl());
    on('#download', 'click', () => viewer.download());
    on('#tags-button', 'click', () => viewer.toggleTags());
    on('#overlays', 'click', () => viewer.active.objects.setOverlays(!viewer.active.objects.state.overlays));
    on('#tags-close', 'click', () => viewer.toggleTags(false));
    for (const option of ['position', 'window', 'zoom']) on(`#sync-${option}`, 'click', () => this.toggleSync(option));
    on('#open-prior', 'click', () => viewer.openDefaultPrior());
    on('#save-measurements', 'click', () => viewer.saveMeasurements());
    on('#link', 'click', (event) => this.toggleLink(event.currentTarget));
    on('#layout', 'change', (event) => {
      viewer.chooseLayout(event.currentTarget.value);
      event.currentTarget.blur();   // the arrow keys go back to the images
    });
    this.preset.addEventListener('change', () => {
      this.choosePreset(this.preset.value);
      this.preset.blur();
    });
    const slab = () => viewer.mpr && viewer.mpr.setSlab(Number($('#slab', this.section).value), $('#projection', this.section).value);
    on('#slab', 'change', slab);
    on('#projection', 'change', (event) => {
      slab();
      event.currentTarget.blur();
    });
    this.slider.addEventListener('input', () => viewer.active.go(Number(this.slider.value) - 1));
    this.fpsInput.addEventListener('change', () => {
      this.fpsInput.value = String(this.fps());
      this.fpsInput.blur();
    });
  }
}
