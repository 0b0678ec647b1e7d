// Keyboard shortcuts, as data: the viewer dispatches on `action`, and the
// help overlay lists the same table, so the two cannot disagree.
import { el } from './dom.js';
import { CT_PRESETS } from './presets.js';

export const SHORTCUTS = [
  { keys: ['ArrowDown', 'ArrowRight'], label: '↓ →', action: 'next', help: 'Next image (also the mouse wheel)' },
  { keys: ['ArrowUp', 'ArrowLeft'], label: '↑ ←', action: 'previous', help: 'Previous image' },
  { keys: ['PageDown'], label: 'Page Down', action: 'next10', help: '10 images forward' },
  { keys: ['PageUp'], label: 'Page Up', action: 'previous10', help: '10 images back' },
  { keys: ['Home'], label: 'Home', action: 'first', help: 'First image' },
  { keys: ['End'], label: 'End', action: 'last', help: 'Last image' },
  { keys: [' '], label: 'Space', action: 'play', help: 'Play / pause the cine' },
  { keys: ['0'], label: '0', action: 'auto', help: 'Default window: the file’s first window, else automatic' },
  ...CT_PRESETS.map((preset, i) => ({
    keys: [String(i + 1)], label: String(i + 1), action: `preset:${preset.key}`,
    help: `CT window: ${preset.name} (C ${preset.center}, W ${preset.width})`,
  })),
  { keys: ['i', 'I'], label: 'I', action: 'invert', help: 'Invert' },
  { keys: ['f', 'F'], label: 'F', action: 'fit', help: 'Fit the image to its viewport' },
  { keys: ['o', 'O'], label: 'O', action: 'overlaysOrActual', help: 'Show / hide the overlays of an image that has them; otherwise original size, 1:1' },
  { keys: ['+', '='], label: '+', action: 'zoomIn', help: 'Zoom in (also Ctrl + wheel, or right-drag)' },
  { keys: ['-', '_'], label: '−', action: 'zoomOut', help: 'Zoom out' },
  { keys: ['w', 'W'], label: 'W', action: 'tool:window', help: 'Left-drag sets window/level (↔ width, ↕ center)' },
  { keys: ['p', 'P'], label: 'P', action: 'tool:pan', help: 'Left-drag pans (also the middle button)' },
  { keys: ['z', 'Z'], label: 'Z', action: 'tool:zoom', help: 'Left-drag zooms' },
  { keys: ['v', 'V'], label: 'V', action: 'tool:probe', help: 'Pixel probe: the modality value (e.g. HU) and column/row under the pointer' },
  { keys: ['l', 'L'], label: 'L', action: 'tool:length', help: 'Left-drag measures a length (mm from Pixel Spacing, detector mm from Imager Pixel Spacing, else px)' },
  { keys: ['e', 'E'], label: 'E', action: 'tool:ellipse', help: 'Left-drag draws an ellipse ROI: mean, SD, min, max, area' },
  { keys: ['b', 'B'], label: 'B', action: 'tool:rectangle', help: 'Left-drag draws a rectangle ROI: mean, SD, min, max, area' },
  { keys: ['a', 'A'], label: 'A', action: 'tool:angle', help: 'Angle: drag the first arm, then click the end of the second' },
  { keys: ['k', 'K'], label: 'K', action: 'tool:cobb', help: 'Cobb angle: drag one line, then the other' },
  { keys: ['n', 'N'], label: 'N', action: 'tool:arrow', help: 'Arrow: drag from the point to show, then type its label (Enter)' },
  { keys: ['c', 'C'], label: 'C', action: 'tool:crosshair', help: 'Crosshair: click a point; the viewports of its frame of reference go to it and mark it' },
  { keys: ['Delete', 'Backspace'], label: 'Del', action: 'measure:clear', help: 'Remove the measurements of this image' },
  { keys: ['r', 'R'], label: 'R', action: 'reset', help: 'Reset window, zoom and inversion' },
  { keys: ['t', 'T'], label: 'T', action: 'tags', help: 'Show / hide the DICOM tags' },
  { keys: ['g', 'G'], label: 'G', action: 'layout:next', help: 'Next layout: 1×1, 1×2, 2×1, 2×2, 3×3' },
  { keys: ['m', 'M'], label: 'M', action: 'maximise', help: 'Maximise the active viewport, or restore the layout (also a double click)' },
  { keys: ['s', 'S'], label: 'S', action: 'sync', help: 'Scroll the viewports together by position (on / off)' },
  { keys: ['?', 'h', 'H'], label: '? or H', action: 'help', help: 'This help' },
  { keys: ['Escape'], label: 'Esc', action: 'close', help: 'Close help or tags; then back to the study' },
];

const byKey = new Map(SHORTCUTS.flatMap((s) => s.keys.map((key) => [key, s.action])));

/** The action of a keydown event, or undefined. */
export function actionFor(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return undefined;
  return byKey.get(event.key);
}

/** Fill the help overlay's list. */
export function renderHelp(list) {
  list.replaceChildren(...SHORTCUTS.map((s) => el('li', {},
    el('kbd', { text: s.label }),
    el('span', { text: s.help }))));
}
