// The waveform screen of a viewport: an instance whose info says kind
// 'waveform' (ECG, hemodynamic, respiratory, audio, ...) is shown as stacked
// strips, one per channel, from the values route (/instances/{id}/waveform,
// each channel in its own unit).  ECG channels in volts share one mV scale
// over a light grid (0.04 s / 0.1 mV, 0.2 s / 0.5 mV); the others each fill
// their strip from their own minimum to maximum.
//
// The wheel (about the pointer), + / − and dragging zoom and pan in time; the
// pointer shows a time cursor with each channel's value at the nearest
// sample; the calliper measures Δt, the rate and ΔV between two points.
//
// Contract for tests and scripts: the element `.waveform` carries data-state
// (loading, ready, error), data-group and data-start / data-end (the visible
// time range in s); its traces canvas data-trace-left/-right/-top/-bottom
// (the trace area in CSS pixels of the canvas) and data-strip (a strip's
// height); `.waveform-readout` data-time and data-sample, and one row per
// channel with data-channel and data-value (the raw number); and
// `.waveform-calliper` data-dt-ms, data-bpm, data-dv, data-channel, data-t1
// and data-t2 (the two points' sample times in s).
import { failure } from './api.js';
import { el } from './dom.js';

const ZOOM_STEP = 1.25;
const MIN_SAMPLES_SHOWN = 10;   // the narrowest range, in samples
const LABEL_WIDTH = 112;        // CSS px: the channel labels left of the traces
const RIGHT_MARGIN = 18;
const TOP_MARGIN = 4;
const AXIS_HEIGHT = 24;         // CSS px: the time axis under the strips
const CLICK_SLOP = 3;           // CSS px: a press that moves less is a click
const TICK_SPACING = 80;        // CSS px: at least this much between time labels
const GRID_MIN = 5;             // CSS px: grid lines closer than this are left out
const FILL = 0.9;               // of a strip's height, for its channel's range

// Volts, in mV: the ECG scale.  UCUM codes (PS3.16 CID 3082).
const TO_MV = { nV: 1e-6, uV: 1e-3, mV: 1, V: 1e3 };
const UNIT_NAMES = { uV: 'µV', um: 'µm', us: 'µs', Cel: '°C', 'mm[Hg]': 'mmHg', '{beats}/min': 'bpm' };

const COLOURS = {
  trace: '#e6edf7', label: '#d8dee9', muted: '#8b96a8', separator: '#2a3341',
  gridMinor: 'rgba(255, 96, 96, 0.14)', gridMajor: 'rgba(255, 96, 96, 0.34)', tick: 'rgba(139, 150, 168, 0.25)',
  cursor: '#ffd54a', calliper: '#4ad0ff', calibration: '#9be7a5',
};

/** The name shown for a UCUM unit code. */
export function unitName(code) {
  return UNIT_NAMES[code] || code || '';
}

/** The index of the sample nearest time `t` (s), within the group. */
export function nearestSample(t, frequency, samples) {
  return Math.max(0, Math.min(samples - 1, Math.round(t * frequency)));
}

/** A round step (1, 2 or 5 × 10^k) of at least `least`. */
function niceStep(least) {
  const power = 10 ** Math.floor(Math.log10(least));
  return [1, 2, 5, 10].map((m) => m * power).find((step) => step >= least * (1 - 1e-9));
}

/** A channel's value as text: four significant digits, whole numbers from 1000. */
function valueText(value) {
  if (!Number.isFinite(value)) return '–';
  return Math.abs(value) >= 1000 ? value.toFixed(0) : String(Number(value.toPrecision(4)));
}

function rounded(seconds) {
  return Number(seconds.toFixed(6));
}

export class WaveformView {
  constructor() {
    const button = (text, title, action) => el('button', {
      type: 'button', text, title, onclick: (event) => { action(); event.currentTarget.blur(); } });
    this.groupSelect = el('select', { class: 'waveform-group', 'aria-label': 'Multiplex group', hidden: true });
    this.groupSelect.addEventListener('change', () => {
      this.load(Number(this.groupSelect.value));
      this.groupSelect.blur();   // the keys go back to the viewer
    });
    this.calliperButton = el('button', {
      type: 'button', class: 'waveform-calliper-toggle', text: 'Calliper', 'aria-pressed': 'false',
      title: 'Calliper: two clicks, or a drag, measure Δt, the rate and ΔV on the channel of the first point',
      onclick: (event) => { this.setCalliper(!this.calliper.on); event.currentTarget.blur(); },
    });
    this.calliperBox = el('span', { class: 'waveform-calliper', role: 'status', hidden: true });
    this.status = el('span', { class: 'waveform-status status' });
    const bar = el('div', { class: 'waveform-bar' }, this.groupSelect,
      el('div', { class: 'group' },
        button('−', 'Zoom out in time (−)', () => this.zoomBy(ZOOM_STEP)),
        button('+', 'Zoom in in time (+, or the wheel)', () => this.zoomBy(1 / ZOOM_STEP)),
        button('Fit', 'The whole group (F)', () => this.fit())),
      this.calliperButton, this.calliperBox, this.status);
    this.canvas = el('canvas', { class: 'waveform-traces' });
    this.marks = el('canvas', { class: 'waveform-marks' });
    this.readout = el('div', { class: 'waveform-readout', hidden: true });
    this.area = el('div', { class: 'waveform-area' }, this.canvas, this.marks, this.readout);
    this.element = el('div', { class: 'waveform', hidden: true, dataset: { state: 'empty' } }, bar, this.area);
    this.instance = null;
    this.data = null;            // the values route's answer, with each channel's range
    this.range = { start: 0, end: 0 };
    this.pointer = null;         // {x, y} in CSS px of the canvas while over the traces
    this.drag = null;            // {pointer, x, start, end} while panning
    this.calliper = { on: false, a: null, b: null, press: null };
    this.token = 0;
    this.bind();
    this.resizer = new ResizeObserver(() => {
      this.pointer = null;   // the cursor was placed in the old size
      this.readout.hidden = true;
      this.draw();
    });
    this.resizer.observe(this.area);
  }

  /** Show instance `instanceId` (its /info answer `info`); the same instance again keeps its view. */
  show(instanceId, info) {
    this.element.hidden = false;
    if (instanceId === this.instance) return;
    this.instance = instanceId;
    this.kind = info.waveform_kind || 'waveform';
    const groups = info.groups || [];
    this.groupSelect.replaceChildren(...groups.map((g) => el('option', {
      value: String(g.group),
      text: `${g.label || `Group ${g.group + 1}`} · ${g.channels.length} ch · ${Number(g.duration.toFixed(3))} s`,
    })));
    this.groupSelect.hidden = groups.length < 2;
    this.load(groups.length ? groups[0].group : 0);
  }

  hide() {
    this.element.hidden = true;
    this.leave();
  }

  destroy() {
    this.resizer.disconnect();
    this.token += 1;
    this.element.remove();
  }

  /** Fetch multiplex group `group` of the instance shown and show all of it. */
  async load(group) {
    const token = ++this.token;
    const instance = this.instance;
    this.element.dataset.state = 'loading';
    this.status.textContent = 'Loading…';
    this.groupSelect.value = String(group);
    let data;
    try {
      const response = await fetch(`instances/${encodeURIComponent(instance)}/waveform?group=${group}`,
        { headers: { Accept: 'application/json' } });
      if (!response.ok) throw await failure(response);
      data = await response.json();
    } catch (error) {
      if (token !== this.token) return;
      this.data = null;
      this.element.dataset.state = 'error';
      this.status.textContent = error.message;
      this.draw();
      return;
    }
    if (token !== this.token) return;
    this.data = prepare(data, this.kind);
    this.element.dataset.group = String(group);
    this.status.textContent = [data.label, `${Number(data.frequency.toPrecision(6))} Hz`,
      `${data.channels.length} channel${data.channels.length === 1 ? '' : 's'}`].filter(Boolean).join(' · ');
    this.clearCalliper();
    this.buildReadout();
    this.element.dataset.state = 'ready';
    this.fit();
  }

  // --- the time range -----------------------------------------------------------------

  get duration() {
    return this.data ? this.data.duration : 0;
  }

  /** Show `start` to `end` s, kept within the group and at least a few samples wide. */
  setRange(start, end) {
    if (!this.data) return;
    const total = this.duration;
    const least = Math.min(total, MIN_SAMPLES_SHOWN / this.data.frequency);
    const span = Math.max(least, Math.min(total, end - start));
    const from = rounded(Math.max(0, Math.min(total - span, start)));
    this.range = { start: from, end: rounded(Math.min(total, from + span)) };
    this.element.dataset.start = this.range.start.toFixed(6);
    this.element.dataset.end = this.range.end.toFixed(6);
    this.draw();
  }

  fit() {
    this.setRange(0, this.duration);
  }

  /** Scale the range by `factor` (< 1 zooms in) about time `at` (default: the middle). */
  zoomBy(factor, at = (this.range.start + this.range.end) / 2) {
    const { start, end } = this.range;
    this.setRange(at - (at - start) * factor, at + (end - at) * factor);
  }

  /** A keyboard action of the viewport (shortcuts.js) that applies to the waveform; true if handled. */
  handle(action) {
    const actions = {
      zoomIn: () => this.zoomBy(1 / ZOOM_STEP),
      zoomOut: () => this.zoomBy(ZOOM_STEP),
      fit: () => this.fit(),
      reset: () => { this.fit(); this.setCalliper(false); },
    };
    if (!actions[action]) return false;
    actions[action]();
    return true;
  }

  // --- geometry -----------------------------------------------------------------------

  /** The trace area and strips, in CSS px of the canvas. */
  layout() {
    const width = this.canvas.clientWidth;
    const height = this.canvas.clientHeight;
    const count = this.data ? this.data.channels.length : 0;
    const left = LABEL_WIDTH;
    const right = Math.max(left + 1, width - RIGHT_MARGIN);
    const top = TOP_MARGIN;
    const bottom = Math.max(top + 1, height - AXIS_HEIGHT);
    return { width, height, left, right, top, bottom, strip: count ? (bottom - top) / count : 0 };
  }

  timeAt(x, box = this.layout()) {
    const { start, end } = this.range;
    return start + ((x - box.left) / (box.right - box.left)) * (end - start);
  }

  xOf(t, box) {
    const { start, end } = this.range;
    return box.left + ((t - start) / (end - start)) * (box.right - box.left);
  }

  channelAt(y, box = this.layout()) {
    const count = this.data.channels.length;
    return Math.max(0, Math.min(count - 1, Math.floor((y - box.top) / box.strip)));
  }

  /** The vertical mapping of each channel for strips of `strip` px: {mid offset, px per unit}. */
  scales(strip) {
    const { channels, ecg } = this.data;
    if (ecg) {   // one gain in px per mV for every lead, the widest lead filling its strip
      const gain = Math.min(...channels.map((c) => (strip * FILL) / Math.max(0.5, (c.max - c.min) * c.toMv)));
      return channels.map((c) => ({ centre: (c.max + c.min) / 2, perUnit: gain * c.toMv, gain }));
    }
    return channels.map((c) => ({ centre: (c.max + c.min) / 2, perUnit: (strip * FILL) / Math.max(c.max - c.min, 1e-12) }));
  }

  pointAt(event) {
    const rect = this.canvas.getBoundingClientRect();
    return { x: event.clientX - rect.left, y: event.clientY - rect.top };
  }

  inTraces({ x, y }, box = this.layout()) {
    return x >= box.left && x <= box.right && y >= box.top && y <= box.bottom;
  }

  // --- drawing ------------------------------------------------------------------------

  /** Size a canvas to its box at the device's pixel ratio; its 2D context in CSS px. */
  static context(canvas, box) {
    const dpr = window.devicePixelRatio || 1;
    const width = Math.round(box.width * dpr);
    const height = Math.round(box.height * dpr);
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, box.width, box.height);
    return ctx;
  }

  draw() {
    if (this.element.hidden) return;
    const box = this.layout();
    if (!box.width || !box.height) return;
    const ctx = WaveformView.context(this.canvas, box);
    Object.assign(this.canvas.dataset, {
      traceLeft: String(box.left), traceRight: String(box.right), traceTop: String(box.top),
      traceBottom: String(box.bottom), strip: String(box.strip),
    });
    if (this.data && this.range.end > this.range.start) {
      const scales = this.scales(box.strip);
      this.drawGrid(ctx, box, scales);
      this.drawAxis(ctx, box);
      this.data.channels.forEach((channel, index) => this.drawChannel(ctx, box, channel, index, scales[index]));
    }
    this.drawMarks();
  }

  drawGrid(ctx, box, scales) {
    const { left, right, top, bottom, strip } = box;
    const { start, end } = this.range;
    const perSecond = (right - left) / (end - start);
    const vertical = (step, colour) => {
      if (step * perSecond < GRID_MIN) return;
      ctx.strokeStyle = colour;
      ctx.beginPath();
      for (let k = Math.ceil(start / step); k * step <= end; k += 1) {
        const x = Math.round(this.xOf(k * step, box)) + 0.5;
        ctx.moveTo(x, top);
        ctx.lineTo(x, bottom);
      }
      ctx.stroke();
    };
    ctx.lineWidth = 1;
    if (this.data.ecg) {
      const gain = scales[0].gain;
      const horizontal = (stepMv, colour) => {
        if (stepMv * gain < GRID_MIN) return;
        ctx.strokeStyle = colour;
        ctx.beginPath();
        this.data.channels.forEach((channel, index) => {
          const mid = top + (index + 0.5) * strip;
          const centreMv = scales[index].centre * channel.toMv;
          const half = strip / 2 / gain;
          for (let k = Math.ceil((centreMv - half) / stepMv); k * stepMv <= centreMv + half; k += 1) {
            const y = Math.round(mid - (k * stepMv - centreMv) * gain) + 0.5;
            ctx.moveTo(left, y);
            ctx.lineTo(right, y);
          }
        });
        ctx.stroke();
      };
      vertical(0.04, COLOURS.gridMinor);
      horizontal(0.1, COLOURS.gridMinor);
      vertical(0.2, COLOURS.gridMajor);
      horizontal(0.5, COLOURS.gridMajor);
    } else {
      vertical(niceStep((TICK_SPACING * (end - start)) / (right - left)), COLOURS.tick);
    }
    ctx.strokeStyle = COLOURS.separator;
    ctx.beginPath();
    for (let index = 1; index < this.data.channels.length; index += 1) {
      const y = Math.round(top + index * strip) + 0.5;
      ctx.moveTo(0, y);
      ctx.lineTo(right, y);
    }
    ctx.stroke();
  }

  drawAxis(ctx, box) {
    const { left, right, bottom } = box;
    const { start, end } = this.range;
    const step = niceStep((TICK_SPACING * (end - start)) / (right - left));
    const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
    ctx.strokeStyle = COLOURS.muted;
    ctx.fillStyle = COLOURS.muted;
    ctx.font = '11px system-ui, sans-serif';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    ctx.beginPath();
    ctx.moveTo(left, bottom + 0.5);
    ctx.lineTo(right, bottom + 0.5);
    for (let k = Math.ceil(start / step - 1e-9); k * step <= end + 1e-9; k += 1) {
      const x = Math.round(this.xOf(k * step, box)) + 0.5;
      ctx.moveTo(x, bottom);
      ctx.lineTo(x, bottom + 4);
      ctx.fillText(`${(k * step).toFixed(decimals)} s`, x, bottom + 6);
    }
    ctx.stroke();
  }

  drawChannel(ctx, box, channel, index, scale) {
    const { left, right, top, strip } = box;
    const { frequency, samples } = this.data;
    const mid = top + (index + 0.5) * strip;
    const y = (value) => mid - (value - scale.centre) * scale.perUnit;
    // Labels: the lead (else the channel's label) and its unit; a 1 mV bar on ECG paper.
    ctx.textAlign = 'left';
    ctx.textBaseline = 'middle';
    ctx.fillStyle = COLOURS.label;
    ctx.font = '600 12px system-ui, sans-serif';
    const twoLines = strip >= 30;
    ctx.fillText(channel.lead || channel.label, 8, twoLines ? mid - 7 : mid, LABEL_WIDTH - 30);
    if (twoLines) {
      ctx.fillStyle = COLOURS.muted;
      ctx.font = '11px system-ui, sans-serif';
      ctx.fillText(unitName(channel.unit), 8, mid + 8, LABEL_WIDTH - 30);
    }
    if (this.data.ecg && scale.gain <= strip) {
      const x = LABEL_WIDTH - 12;
      ctx.strokeStyle = COLOURS.calibration;
      ctx.beginPath();
      ctx.moveTo(x + 0.5, mid + scale.gain / 2);
      ctx.lineTo(x + 0.5, mid - scale.gain / 2);
      ctx.stroke();
    }
    // The trace: every sample when they are sparse, else each pixel column's minimum and maximum.
    const { start, end } = this.range;
    const first = Math.max(0, Math.floor(start * frequency) - 1);
    const last = Math.min(samples - 1, Math.ceil(end * frequency) + 1);
    const values = channel.values;
    const perSecond = (right - left) / (end - start);
    const x = (i) => left + (i / frequency - start) * perSecond;
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top + index * strip, right - left, strip);
    ctx.clip();
    ctx.strokeStyle = COLOURS.trace;
    ctx.lineWidth = 1.2;
    ctx.lineJoin = 'round';
    ctx.beginPath();
    if ((last - first) / (right - left) <= 2) {
      for (let i = first; i <= last; i += 1) {
        if (i === first) ctx.moveTo(x(i), y(values[i]));
        else ctx.lineTo(x(i), y(values[i]));
      }
    } else {
      let column = Math.floor(x(first));
      let low = values[first];
      let high = low;
      let started = false;
      const emit = () => {
        if (started) ctx.lineTo(column + 0.5, y(high));
        else ctx.moveTo(column + 0.5, y(high));
        ctx.lineTo(column + 0.5, y(low));
        started = true;
      };
      for (let i = first + 1; i <= last; i += 1) {
        const at = Math.floor(x(i));
        const value = values[i];
        if (at !== column) {
          emit();
          column = at;
          low = value;
          high = value;
        } else if (value < low) low = value;
        else if (value > high) high = value;
      }
      emit();
    }
    ctx.stroke();
    ctx.restore();
  }

  /** The cursor and the calliper, on their own canvas (no trace redrawn while the pointer moves). */
  drawMarks() {
    const box = this.layout();
    if (!box.width || !box.height) return;
    const ctx = WaveformView.context(this.marks, box);
    if (!this.data) return;
    const { top, bottom, strip } = box;
    const vertical = (t, colour, dash) => {
      const x = Math.round(this.xOf(t, box)) + 0.5;
      if (x < box.left || x > box.right + 1) return;
      ctx.strokeStyle = colour;
      ctx.setLineDash(dash);
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, bottom);
      ctx.stroke();
    };
    ctx.lineWidth = 1;
    if (this.pointer) vertical(this.timeAt(this.pointer.x, box), COLOURS.cursor, []);
    const { a, b } = this.calliper;
    if (!a) return;
    const { frequency } = this.data;
    const scale = this.scales(strip)[a.channel];
    const mid = top + (a.channel + 0.5) * strip;
    const values = this.data.channels[a.channel].values;
    const at = (point) => ({ x: this.xOf(point.sample / frequency, box), y: mid - (values[point.sample] - scale.centre) * scale.perUnit });
    for (const point of [a, b].filter(Boolean)) vertical(point.sample / frequency, COLOURS.calliper, [4, 3]);
    ctx.setLineDash([]);
    ctx.fillStyle = COLOURS.calliper;
    ctx.strokeStyle = COLOURS.calliper;
    const ends = [a, b].filter(Boolean).map(at);
    for (const end of ends) {
      ctx.beginPath();
      ctx.arc(end.x, end.y, 3, 0, 2 * Math.PI);
      ctx.fill();
    }
    if (ends.length === 2) {
      ctx.beginPath();
      ctx.moveTo(ends[0].x, ends[0].y);
      ctx.lineTo(ends[1].x, ends[0].y);
      ctx.lineTo(ends[1].x, ends[1].y);
      ctx.stroke();
    }
  }

  // --- the time cursor ----------------------------------------------------------------

  buildReadout() {
    this.readoutTime = el('div', { class: 'waveform-readout-time' });
    this.readoutRows = this.data.channels.map((channel, index) => el('div', {
      class: 'waveform-readout-row', dataset: { channel: String(index) } },
    el('span', { class: 'waveform-readout-label', text: channel.lead || channel.label, title: channel.label }),
    el('span', { class: 'waveform-readout-value' }),
    el('span', { class: 'waveform-readout-unit', text: unitName(channel.unit) })));
    this.readout.replaceChildren(this.readoutTime, ...this.readoutRows);
    this.readout.hidden = true;
  }

  /** The pointer is at `point` (CSS px of the canvas): the cursor and the readout follow. */
  hover(point) {
    const box = this.layout();
    if (!this.data || !this.inTraces(point, box)) {
      this.leave();
      return;
    }
    this.pointer = point;
    const t = this.timeAt(point.x, box);
    const { frequency, samples, channels } = this.data;
    const sample = nearestSample(t, frequency, samples);
    const current = this.channelAt(point.y, box);
    this.readoutTime.textContent = `t = ${(sample / frequency).toFixed(frequency > 1000 ? 4 : 3)} s`;
    Object.assign(this.readout.dataset, { time: String(t), sample: String(sample) });
    channels.forEach((channel, index) => {
      const row = this.readoutRows[index];
      const value = channel.values[sample];
      row.dataset.value = String(value);
      row.classList.toggle('current', index === current);
      row.children[1].textContent = valueText(value);
    });
    this.readout.hidden = false;
    // Beside the cursor, on the side with more room.
    const leftSide = point.x > (box.left + box.right) / 2;
    this.readout.style.left = leftSide ? '' : `${Math.round(point.x + 14)}px`;
    this.readout.style.right = leftSide ? `${Math.round(box.width - point.x + 14)}px` : '';
    this.drawMarks();
  }

  leave() {
    this.pointer = null;
    this.readout.hidden = true;
    this.drawMarks();
  }

  // --- the calliper -------------------------------------------------------------------

  setCalliper(on) {
    this.calliper.on = on;
    this.calliperButton.setAttribute('aria-pressed', String(on));
    this.area.dataset.calliper = String(on);
    this.clearCalliper();
    this.calliperBox.hidden = !on;
    if (on) this.calliperBox.textContent = 'Click two points, or drag';
  }

  clearCalliper() {
    Object.assign(this.calliper, { a: null, b: null, press: null });
    for (const name of ['dtMs', 'bpm', 'dv', 'channel', 't1', 't2']) delete this.calliperBox.dataset[name];
    if (this.calliper.on) this.calliperBox.textContent = 'Click two points, or drag';
    this.drawMarks();
  }

  /** The sample and channel under `point`. */
  calliperPoint(point, box) {
    const { frequency, samples } = this.data;
    return { sample: nearestSample(this.timeAt(point.x, box), frequency, samples), channel: this.channelAt(point.y, box) };
  }

  calliperDown(point) {
    const box = this.layout();
    const at = this.calliperPoint(point, box);
    if (this.calliper.a && !this.calliper.b) {   // the second click
      this.calliper.b = at;
      this.measure();
      return;
    }
    Object.assign(this.calliper, { a: at, b: null, press: point });
    this.measure();
  }

  calliperMove(point) {
    const { press } = this.calliper;
    if (!press || Math.abs(point.x - press.x) < CLICK_SLOP) return;
    this.calliper.b = this.calliperPoint(point, this.layout());
    this.measure();
  }

  /** Show Δt, the rate and ΔV between the calliper's points (or what is still wanted). */
  measure() {
    const { a, b } = this.calliper;
    const box = this.calliperBox;
    if (!b) {
      for (const name of ['dtMs', 'bpm', 'dv', 't2']) delete box.dataset[name];
      Object.assign(box.dataset, { channel: String(a.channel), t1: String(a.sample / this.data.frequency) });
      box.textContent = 'Click the second point';
      this.drawMarks();
      return;
    }
    const { frequency } = this.data;
    const channel = this.data.channels[a.channel];
    const dtMs = (Math.abs(b.sample - a.sample) / frequency) * 1000;
    const bpm = dtMs > 0 ? 60000 / dtMs : null;
    const dv = channel.values[b.sample] - channel.values[a.sample];
    Object.assign(box.dataset, {
      dtMs: String(dtMs), bpm: bpm === null ? '' : String(bpm), dv: String(dv), channel: String(a.channel),
      t1: String(a.sample / frequency), t2: String(b.sample / frequency),
    });
    box.textContent = [`Δt ${Number(dtMs.toFixed(1))} ms`, bpm === null ? null : `${bpm.toFixed(1)} bpm`,
      `ΔV ${valueText(dv)} ${unitName(channel.unit)} (${channel.lead || channel.label})`].filter(Boolean).join(' · ');
    this.drawMarks();
  }

  // --- input --------------------------------------------------------------------------

  bind() {
    const area = this.marks;   // the top canvas takes the pointer
    area.addEventListener('contextmenu', (event) => event.preventDefault());
    area.addEventListener('wheel', (event) => {
      event.preventDefault();
      if (!this.data) return;
      const box = this.layout();
      const pixels = event.deltaY * ({ 1: 40, 2: 800 }[event.deltaMode] || 1);
      const x = Math.max(box.left, Math.min(box.right, this.pointAt(event).x));
      this.zoomBy(Math.exp(pixels / 300), this.timeAt(x, box));
      this.hover(this.pointAt(event));
    }, { passive: false });
    area.addEventListener('pointerdown', (event) => {
      if (!this.data || this.drag) return;
      const point = this.pointAt(event);
      const measuring = this.calliper.on && event.button === 0;
      if (!measuring && event.button !== 0 && event.button !== 1) return;
      if (!this.inTraces(point)) return;
      event.preventDefault();
      area.setPointerCapture(event.pointerId);
      if (measuring) {
        this.calliperDown(point);
        return;
      }
      this.drag = { pointer: event.pointerId, x: point.x, ...this.range };
      area.dataset.dragging = 'pan';
    });
    area.addEventListener('pointermove', (event) => {
      const point = this.pointAt(event);
      if (this.drag && this.drag.pointer === event.pointerId) {
        const box = this.layout();
        const shift = ((point.x - this.drag.x) / (box.right - box.left)) * (this.drag.end - this.drag.start);
        this.setRange(this.drag.start - shift, this.drag.end - shift);
      } else if (this.calliper.press && event.buttons & 1) {
        this.calliperMove(point);
      }
      this.hover(point);
    });
    const end = (event) => {
      if (this.drag && this.drag.pointer === event.pointerId) {
        this.drag = null;
        delete area.dataset.dragging;
      }
      this.calliper.press = null;
    };
    area.addEventListener('pointerup', end);
    area.addEventListener('pointercancel', end);
    area.addEventListener('pointerleave', () => { if (!this.drag) this.leave(); });
    // Two calliper clicks are not the viewport's double click (maximise).
    area.addEventListener('dblclick', (event) => { if (this.calliper.on) event.stopPropagation(); });
  }
}

/** The values route's answer with each channel's range (and, on ECG paper, its factor to mV). */
function prepare(data, kind) {
  const frequency = Number(data.frequency);
  const samples = Number(data.samples);
  const channels = data.channels.map((channel) => {
    let min = Infinity;
    let max = -Infinity;
    for (const value of channel.values) {
      if (value < min) min = value;
      if (value > max) max = value;
    }
    if (!(min <= max)) { min = 0; max = 0; }
    return { ...channel, min, max, toMv: TO_MV[channel.unit] || null };
  });
  const ecg = kind === 'ecg' && channels.length > 0 && channels.every((c) => c.toMv);
  const duration = Number.isFinite(data.duration) && data.duration > 0 ? data.duration : samples / frequency;
  return { ...data, frequency, samples, duration, channels, ecg };
}
