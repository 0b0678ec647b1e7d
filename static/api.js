// The plugin's HTTP API.  Every URL is relative to the page
// (…/previewer/index.html), so the viewer works under any prefix.

/** An answer that is not 2xx; `message` is the server's JSON "error" text. */
export class ServerError extends Error {
  constructor(status, message, details = {}) {
    super(message);
    this.name = 'ServerError';
    this.status = status;
    this.details = details;
  }
}

export async function failure(response) {
  let message = `${response.status} ${response.statusText}`.trim();
  let details = {};
  try {
    details = await response.json();
    if (details && typeof details.error === 'string') message = details.error;
  } catch {
    // not JSON: keep the status line
  }
  return new ServerError(response.status, message, details);
}

async function getJson(url, { contentType, ...options } = {}) {
  const headers = { Accept: 'application/json', ...(contentType ? { 'Content-Type': contentType } : {}) };
  const response = await fetch(url, { ...options, headers });
  if (!response.ok) throw await failure(response);
  return response.json();
}

const id = encodeURIComponent;

export const api = {
  studies: (query, options) => getJson(`api/studies?q=${id(query || '')}`, options),
  study: (studyId) => getJson(`api/studies/${id(studyId)}`),
  series: (seriesId) => getJson(`api/series/${id(seriesId)}`),
  tags: (instanceId) => getJson(`api/instances/${id(instanceId)}/tags`),
  info: (instanceId) => getJson(`instances/${id(instanceId)}/info`),
  objects: (seriesId) => getJson(`api/series/${id(seriesId)}/objects`),
  structures: (instanceId, structuresId, frame) =>
    getJson(`api/instances/${id(instanceId)}/structures/${id(structuresId)}?frame=${Number(frame) || 0}`),
  volume: (seriesId) => getJson(`api/series/${id(seriesId)}/volume`),
  measurements: (studyId) => getJson(`api/studies/${id(studyId)}/measurements`),
  saveMeasurements: (studyId, measurements) => getJson(`api/studies/${id(studyId)}/measurements`, {
    method: 'POST', body: JSON.stringify({ measurements }), contentType: 'application/json' }),
};

/**
 * The PNG URL of one frame.  params: {window: {center, width} | {voi} | null,
 * invert, size, overlays (false: not burned in), presentation, segmentation,
 * opacity, segments}; the window is omitted for the server's default.
 */
export function pngUrl(instanceId, frame, params = {}) {
  const query = [];
  const { window, invert, size } = params;
  if (window && Number.isInteger(window.voi)) query.push(`voi=${window.voi}`);
  else if (window) query.push(`window=${round(window.center)},${round(window.width)}`);
  if (invert) query.push('invert=1');
  if (size) query.push(`size=${size}`);
  if (params.overlays === false) query.push('overlays=0');
  if (params.presentation) query.push(`presentation=${id(params.presentation)}`);
  if (params.segmentation) {
    query.push(`segmentation=${id(params.segmentation)}`);
    if (params.opacity !== undefined) query.push(`opacity=${params.opacity}`);
    if (params.segments) query.push(`segments=${params.segments.join(',')}`);
  }
  return `instances/${id(instanceId)}/frames/${frame}/png${query.length ? '?' + query.join('&') : ''}`;
}

/**
 * The server's PNG URL of an MPR plane: `plane` axial, coronal, sagittal
 * (at `position` mm) or oblique ({normal, up}); `slab` mm with `projection`;
 * the window as for pngUrl.
 */
export function mprUrl(seriesId, plane, params = {}) {
  const query = [];
  const { window, invert, position, normal, up, slab, projection } = params;
  if (Number.isFinite(position)) query.push(`position=${round(position)}`);
  if (normal && up) query.push(`normal=${normal.map((v) => Number(v.toFixed(6))).join(',')}`, `up=${up.map((v) => Number(v.toFixed(6))).join(',')}`);
  if (slab > 0) query.push(`slab=${round(slab)}`, `projection=${projection || 'mip'}`);
  if (window && Number.isInteger(window.voi)) query.push(`voi=${window.voi}`);
  else if (window) query.push(`window=${round(window.center)},${round(window.width)}`);
  if (invert) query.push('invert=1');
  return `series/${id(seriesId)}/mpr/${plane}/png${query.length ? '?' + query.join('&') : ''}`;
}

function round(value) {
  return Number(value.toFixed(Math.abs(value) >= 100 ? 0 : 3));
}

/** Fetch a PNG; resolve to its Blob, or reject with the server's ServerError. */
export async function fetchPng(url, options = {}) {
  const response = await fetch(url, options);
  if (!response.ok) throw await failure(response);
  return response.blob();
}

/** Fetch a PNG and decode it for a canvas. */
export async function fetchBitmap(url, options = {}) {
  return createImageBitmap(await fetchPng(url, options));
}
