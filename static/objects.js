// The objects a series can be shown with: its overlays (burned
// in by the server, shown by default, toggled with O), the study's
// presentation states, segmentations and RT structure sets that reference
// the series (/api/series/{id}/objects), and, for a report, its HTML in a
// sandboxed iframe.  The viewer asks for server PNGs whenever an overlay,
// presentation state or segmentation is applied (the pixels come burned into
// the PNG), see ImagePaths.clientPath; structure sets are drawn over the
// image by the browser (structures.js), so their toggles change no pixels.
import { el } from './dom.js';
import * as format from './format.js';

export class ObjectsPanel {
  /**
   * `box` is the panel's element; onChange(state, what) is called after every
   * change, `what` 'structures' when only the structure sets' ROIs or fill
   * changed (nothing to render again), else 'image'.
   */
  constructor(box, onChange) {
    this.box = box;
    this.onChange = onChange;
    this.reset();
  }

  /** Nothing applied, overlays shown. */
  reset() {
    this.state = { overlays: true, presentation: null, segmentation: null, segments: null, opacity: 0.5,
      structures: {}, fill: false };   // structures: RTSTRUCT id -> the ROI numbers shown
    this.objects = { presentations: [], segmentations: [], structures: [] };
    this.box.replaceChildren();
    this.box.hidden = true;
  }

  /** The answer of /api/series/{id}/objects; every ROI of its structure sets is shown at first. */
  setObjects(objects) {
    this.objects = { presentations: objects.presentations || [], segmentations: objects.segmentations || [],
      structures: objects.structures || [] };
    const structures = {};
    for (const set of this.objects.structures) structures[set.id] = set.rois.map((roi) => roi.number);
    this.state = { ...this.state, structures };
    this.draw();
    if (this.objects.structures.length) this.onChange(this.state, 'structures');
  }

  setOverlays(shown) {
    this.state = { ...this.state, overlays: shown };
    this.onChange(this.state, 'image');
  }

  /** Apply presentation state `id` (null: none); a segmentation and a presentation do not combine. */
  choosePresentation(id) {
    const presentation = this.state.presentation === id ? null : id;
    this.state = { ...this.state, presentation, segmentation: presentation ? null : this.state.segmentation };
    this.draw();
    this.onChange(this.state, 'image');
  }

  chooseSegmentation(id) {
    const seg = this.objects.segmentations.find((s) => s.id === id);
    const segmentation = this.state.segmentation === id || !seg ? null : id;
    const segments = segmentation ? seg.segments.map((s) => s.number) : null;
    this.state = { ...this.state, segmentation, segments, presentation: segmentation ? null : this.state.presentation };
    this.draw();
    this.onChange(this.state, 'image');
  }

  toggleSegment(number, on) {
    const segments = (this.state.segments || []).filter((n) => n !== number);
    if (on) segments.push(number);
    this.state = { ...this.state, segments: segments.sort((a, b) => a - b) };
    this.onChange(this.state, 'image');
  }

  setOpacity(opacity) {
    this.state = { ...this.state, opacity };
    this.onChange(this.state, 'image');
  }

  /** Show or hide ROI `number` of structure set `structuresId`. */
  toggleRoi(structuresId, number, on) {
    const rois = (this.state.structures[structuresId] || []).filter((n) => n !== number);
    if (on) rois.push(number);
    this.state = { ...this.state, structures: { ...this.state.structures, [structuresId]: rois.sort((a, b) => a - b) } };
    this.onChange(this.state, 'structures');
  }

  /** Fill the closed contours (translucent), or outline them only. */
  setFill(fill) {
    this.state = { ...this.state, fill };
    this.onChange(this.state, 'structures');
  }

  /** What the structures layer draws (structures.js): {sets: [{id, rois: [numbers shown]}], fill}. */
  structureChoice() {
    const sets = this.objects.structures.map((set) => ({ id: set.id, rois: this.state.structures[set.id] || [] }));
    return { sets, fill: this.state.fill };
  }

  draw() {
    const { presentations, segmentations, structures } = this.objects;
    const parts = [];
    if (presentations.length) {
      const item = (id, text, title) => el('button', {
        type: 'button', class: 'object-choice', text, title,
        dataset: { presentation: id || 'none' },
        'aria-pressed': String(this.state.presentation === id),
      });
      const buttons = [item(null, 'None', 'No presentation state'),
        ...presentations.map((p) => item(p.id, p.label || p.description || 'Presentation state',
          [p.description, p.creator, format.date(p.date)].filter(Boolean).join(' · ')))];
      for (const button of buttons) {
        const id = button.dataset.presentation === 'none' ? null : button.dataset.presentation;
        button.addEventListener('click', () => this.choosePresentation(id));
      }
      parts.push(el('div', { class: 'object-group', dataset: { group: 'presentations' } },
        el('span', { class: 'object-title', text: 'Presentation' }), ...buttons));
    }
    for (const seg of segmentations) {
      const applied = this.state.segmentation === seg.id;
      const button = el('button', {
        type: 'button', class: 'object-choice', text: seg.label || seg.description || 'Segmentation',
        dataset: { segmentation: seg.id }, 'aria-pressed': String(applied),
      });
      button.addEventListener('click', () => this.chooseSegmentation(seg.id));
      const children = [el('span', { class: 'object-title', text: 'Segmentation' }), button];
      if (applied) {
        for (const segment of seg.segments) {
          const box = el('input', { type: 'checkbox', dataset: { segment: String(segment.number) } });
          box.checked = (this.state.segments || []).includes(segment.number);
          box.addEventListener('change', () => { this.toggleSegment(segment.number, box.checked); box.blur(); });
          // The colour through the CSSOM: the viewer's CSP refuses style attributes.
          const swatch = el('span', { class: 'swatch' });
          swatch.style.backgroundColor = segment.color;
          children.push(el('label', { class: 'segment' }, box, swatch,
            el('span', { text: segment.label || `Segment ${segment.number}` })));
        }
        const slider = el('input', { type: 'range', min: '0', max: '1', step: '0.05', class: 'opacity', 'aria-label': 'Opacity' });
        slider.value = String(this.state.opacity);
        slider.addEventListener('change', () => { this.setOpacity(Number(slider.value)); slider.blur(); });
        children.push(el('label', { class: 'segment', title: 'Opacity' }, el('span', { text: 'Opacity' }), slider));
      }
      parts.push(el('div', { class: 'object-group', dataset: { group: 'segmentation' } }, ...children));
    }
    for (const set of structures) parts.push(this.structuresGroup(set));
    if (structures.length) {
      const box = el('input', { type: 'checkbox', dataset: { structuresFill: '' } });
      box.checked = this.state.fill;
      box.addEventListener('change', () => { this.setFill(box.checked); box.blur(); });
      parts.push(el('div', { class: 'object-group', dataset: { group: 'structures-fill' } },
        el('label', { class: 'segment', title: 'Fill the closed contours' }, box, el('span', { text: 'Fill' }))));
    }
    this.box.replaceChildren(...parts);
    this.box.hidden = !parts.length;
  }

  /** One structure set: its label, then per ROI a checkbox, a swatch of its colour and its name. */
  structuresGroup(set) {
    const shown = this.state.structures[set.id] || [];
    const children = [el('span', { class: 'object-title', text: 'Structures' }),
      el('span', { class: 'object-label', text: set.label || 'Structure set', title: set.frame_of_reference || undefined })];
    for (const roi of set.rois) {
      const box = el('input', { type: 'checkbox', dataset: { roi: String(roi.number), structures: set.id } });
      box.checked = shown.includes(roi.number);
      box.addEventListener('change', () => { this.toggleRoi(set.id, roi.number, box.checked); box.blur(); });
      const swatch = el('span', { class: 'swatch' });
      swatch.style.backgroundColor = roi.color;   // the CSSOM: the CSP refuses style attributes
      const title = [roi.type, `${roi.contours} contour${roi.contours === 1 ? '' : 's'}`].filter(Boolean).join(' · ');
      children.push(el('label', { class: 'segment', title }, box, swatch,
        el('span', { text: roi.name || `ROI ${roi.number}` })));
    }
    return el('div', { class: 'object-group', dataset: { group: 'structures', set: set.id } }, ...children);
  }
}

/** True when `object` (a listed presentation state or segmentation) references `image`'s instance; an
 * object that names no instance, or an image whose UID is unknown, counts as referenced. */
function references(object, image) {
  if (!object || !image || !image.uid || !object.instances || !object.instances.length) return true;
  return object.instances.includes(image.uid);
}

/** The PNG parameters of `state` for `image` (see api.pngUrl): a presentation state or segmentation
 * (from `objects`, the series' listing) is sent only for an image it references, so that the other
 * images of the series show plain instead of the server's 422. */
export function objectParams(state, objects, image) {
  if (!state) return {};
  const params = {};
  const find = (list, id) => ((objects && objects[list]) || []).find((o) => o.id === id);
  if (!state.overlays) params.overlays = false;
  if (state.presentation && references(find('presentations', state.presentation), image)) {
    params.presentation = state.presentation;
  }
  if (state.segmentation && state.segments && state.segments.length   // no segment ticked: the plain image
      && references(find('segmentations', state.segmentation), image)) {
    params.segmentation = state.segmentation;
    params.opacity = state.opacity;
    params.segments = state.segments;
  }
  return params;
}
