// The view of one viewport as plain data, and its form in the URL's hash.
//
// A view is {index, window, invert, zoom, pan}: the 0-based image (1-based
// in the URL, `image=`), the window (null: the default; {voi}: the file's
// window or VOI LUT of that number, `voi=`; {center, width}, `window=c,w`),
// inversion (`invert=1`), and the zoom and pan of a view the user moved
// (`zoom=`, `pan=x,y`; zoom null: fitted to the canvas).  Nothing here
// touches the page: the viewer reads a view from the URL and writes one back.
//
// The first viewport's view has the plain names; the others prefix them with
// their index, `v1.image=`, `v1.window=`…, and name their series in `v1=`.
// The screen is `layout=RxC` (layoutFromParams).

export const LAYOUTS = ['1x1', '1x2', '2x1', '2x2', '3x3'];

/** The layout a query asks for, {rows, columns, name}; 1x1 when it names none we offer. */
export function layoutFromParams(params) {
  const name = LAYOUTS.includes(params.get('layout')) ? params.get('layout') : '1x1';
  const [rows, columns] = name.split('x').map(Number);
  return { rows, columns, name };
}

/** The prefix of viewport `index`'s names in the query: '' for the first, 'v1.' … */
export function prefixOf(index) {
  return index ? `v${index}.` : '';
}

/** The view a URL's query (URLSearchParams) asks for, over a series of `count` images, under `prefix`. */
export function viewFromParams(params, count, prefix = '') {
  const get = (name) => params.get(prefix + name);
  const image = Number.parseInt(get('image') || '1', 10);
  let window = null;
  const voi = get('voi');
  const pair = (get('window') || '').split(',').map(Number);
  if (voi !== null && /^\d+$/.test(voi)) window = { voi: Number(voi) };
  else if (pair.length === 2 && pair.every(Number.isFinite) && pair[1] > 0) window = { center: pair[0], width: pair[1] };
  const zoom = get('zoom');
  return {
    index: clampIndex(image - 1, count),
    window,
    invert: get('invert') === '1',
    zoom: zoom === null ? null : Number(zoom),
    pan: zoom === null ? null : (get('pan') || '').split(',').map(Number),
  };
}

/** The query (without `?`) that gives `view` back through viewFromParams with the same `prefix`. */
export function viewQuery(view, prefix = '') {
  const query = [`${prefix}image=${view.index + 1}`];
  if (view.window && 'voi' in view.window) query.push(`${prefix}voi=${view.window.voi}`);
  else if (view.window) query.push(`${prefix}window=${view.window.center},${view.window.width}`);
  if (view.invert) query.push(`${prefix}invert=1`);
  if (view.zoom !== null && view.zoom !== undefined) {
    query.push(`${prefix}zoom=${Number(view.zoom.toFixed(4))}`, `${prefix}pan=${view.pan.map((v) => Number(v.toFixed(1))).join(',')}`);
  }
  return query.join('&');
}

/**
 * The hash of a screen: `views` is [{series, view}] per viewport (series
 * null: empty), `layout` its name, `active` the active viewport's index.
 */
export function screenHash(views, layout, active = 0) {
  const first = views[0];
  const query = [viewQuery(first.view)];
  if (layout !== '1x1') query.push(`layout=${layout}`);
  views.slice(1).forEach(({ series, view }, i) => {
    if (!series) return;
    const prefix = prefixOf(i + 1);
    query.push(`v${i + 1}=${encodeURIComponent(series)}`, viewQuery(view, prefix));
  });
  if (active) query.push(`active=${active}`);
  return `#/series/${encodeURIComponent(first.series)}?${query.join('&')}`;
}

/** `index` within 0..length-1 (0 when it is not a number). */
export function clampIndex(index, length) {
  return Math.max(0, Math.min(length - 1, Number.isFinite(index) ? index : 0));
}
