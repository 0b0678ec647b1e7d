// The view of one viewport as plain data, and its form in the URL's hash.
//
// A view is {index, window, invert, zoom, pan}: the 0-based image (1-based
// in the URL, `image=`), the window (null: the default; {voi}: the file's
// window or VOI LUT of that number, `voi=`; {center, width}, `window=c,w`),
// inversion (`invert=1`), and the zoom and pan of a view the user moved
// (`zoom=`, `pan=x,y`; zoom null: fitted to the canvas).  Nothing here
// touches the page: the viewer reads a view from the URL and writes one back.

/** The view a URL's query (URLSearchParams) asks for, over a series of `count` images. */
export function viewFromParams(params, count) {
  const image = Number.parseInt(params.get('image') || '1', 10);
  let window = null;
  const voi = params.get('voi');
  const pair = (params.get('window') || '').split(',').map(Number);
  if (voi !== null && /^\d+$/.test(voi)) window = { voi: Number(voi) };
  else if (pair.length === 2 && pair.every(Number.isFinite) && pair[1] > 0) window = { center: pair[0], width: pair[1] };
  const zoom = params.get('zoom');
  return {
    index: clampIndex(image - 1, count),
    window,
    invert: params.get('invert') === '1',
    zoom: zoom === null ? null : Number(zoom),
    pan: zoom === null ? null : (params.get('pan') || '').split(',').map(Number),
  };
}

/** The query (without `?`) that gives `view` back through viewFromParams. */
export function viewQuery(view) {
  const query = [`image=${view.index + 1}`];
  if (view.window && 'voi' in view.window) query.push(`voi=${view.window.voi}`);
  else if (view.window) query.push(`window=${view.window.center},${view.window.width}`);
  if (view.invert) query.push('invert=1');
  if (view.zoom !== null && view.zoom !== undefined) {
    query.push(`zoom=${Number(view.zoom.toFixed(4))}`, `pan=${view.pan.map((v) => Number(v.toFixed(1))).join(',')}`);
  }
  return query.join('&');
}

/** `index` within 0..length-1 (0 when it is not a number). */
export function clampIndex(index, length) {
  return Math.max(0, Math.min(length - 1, Number.isFinite(index) ? index : 0));
}
