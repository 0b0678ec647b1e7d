// The DICOM tags panel: rows from /api/instances/{id}/tags, shown as text.
import { api } from './api.js';
import { el, $ } from './dom.js';

export class TagsPanel {
  constructor(panel) {
    this.panel = panel;
    this.table = $('#tags-table', panel);
    this.filter = $('#tags-filter', panel);
    this.status = $('#tags-status', panel);
    this.instance = null;
    this.rows = [];
    this.timer = 0;
    this.filter.addEventListener('input', () => this.render());
  }

  get open() {
    return !this.panel.hidden;
  }

  toggle(force) {
    this.panel.hidden = force === undefined ? !this.panel.hidden : !force;
    if (this.open && this.wanted) this.load(this.wanted);
  }

  /** The instance on screen changed; load its tags (soon) if the panel is open. */
  show(instanceId) {
    this.wanted = instanceId;
    if (!this.open || instanceId === this.instance) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.load(instanceId), 150);
  }

  async load(instanceId) {
    if (instanceId === this.instance) return;
    this.instance = instanceId;
    this.status.textContent = 'Loading…';
    try {
      const answer = await api.tags(instanceId);
      if (this.instance !== instanceId) return;
      this.rows = answer.tags;
      this.render();
    } catch (error) {
      if (this.instance !== instanceId) return;
      this.rows = [];
      this.render();
      this.status.textContent = error.message;
      this.instance = null;
    }
  }

  render() {
    const words = this.filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    const shown = this.rows.filter((row) => {
      const text = `${row.tag} ${row.name} ${row.value}`.toLowerCase();
      return words.every((word) => text.includes(word));
    });
    this.table.replaceChildren(...shown.map((row) => el('tr', { class: `depth-${Math.min(row.depth, 6)}` },
      el('td', { class: 'tag', text: row.tag }),
      el('td', { class: 'name', text: row.name }),
      el('td', { class: 'value', text: row.value, title: row.value.length > 40 ? row.value : null }))));
    this.status.textContent = `${shown.length} of ${this.rows.length} elements`;
  }
}
