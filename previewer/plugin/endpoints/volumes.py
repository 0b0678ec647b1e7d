"""Series as volumes: ``GET /previewer/api/series/{id}/volume`` and the planes through them,
``GET /previewer/series/{id}/mpr/{plane}/png`` (:mod:`previewer.pixels.mpr` has the geometry).

A series is a volume when its images are parallel slices of one Frame of Reference
(:mod:`previewer.pixels.volume`): single-frame slices, or the frames of an enhanced
multi-frame instance with per-frame positions.  The answer is the voxel grid, the spacings,
the orientation and the patient-space box of the voxel centres; anything else is a 422 that
names the reason.
"""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from ... import __version__
from ...pixels import mpr, render
from ...pixels.errors import BadParameter, PixelError
from ...pixels.params import query_number
from ...pixels.volume import NotVolume, volume_of
from ..http import HttpError, Request, Response, check_id, check_query, etag, not_modified
from ..store import RestGet, Store, UnknownResource, instance_version, modality_frame, pixel_error, slices
from .images import PNG_PARAMETERS, answer, png_options


def series_volume(rest_get: RestGet, store: Store, series_id: str) -> Any:
    """The volume of a series (404 for an unknown series, 422 naming why it is not a volume)."""
    try:
        instances = json.loads(rest_get(f"/series/{series_id}/instances"))
    except UnknownResource:
        raise HttpError(404, f"unknown series '{series_id}'", series=series_id) from None
    ids = [instance["ID"] for instance in instances]
    try:
        versions = tuple(instance_version(store, instance_id) for instance_id in ids)
    except PixelError as error:
        raise HttpError(422, f"series '{series_id}': {error.message}", series=series_id) from None

    def build() -> Any:
        found = []
        for instance_id, version in zip(ids, versions):
            try:
                found.extend(slices(store, instance_id, version))
            except PixelError as error:
                raise pixel_error(error, instance_id) from None
        try:
            return volume_of(found)
        except NotVolume as error:
            raise HttpError(422, f"series '{series_id}' is not a volume: {error.message}", series=series_id,
                            reason=error.message) from None
    # Kept within CacheSizeMB, keyed by the instances and their versions: a new or deleted slice is another key.
    return store.cache.get_or_compute(("volume", series_id, tuple(ids), versions), build,
                                      lambda built: 1024 + 512 * len(built.slices))


def volume(rest_get: RestGet, store: Store, request: Request) -> Response:
    """GET /previewer/api/series/{id}/volume: the series' voxel grid, spacings, orientation, box and slices."""
    check_query(request.query)
    series_id = check_id("series", request.params["id"])
    built = series_volume(rest_get, store, series_id)
    # The slices in order along the normal, with what the pixels route needs to fetch each (the viewer's MPR).
    images = [{"instance": one.key[0], "frame": one.key[1], "position": list(one.position)} for one in built.slices]
    return Response.json({"series": series_id, **built.describe(), "images": images})


#: The MPR route's own parameters, beside the PNG route's rendering ones.
MPR_PARAMETERS = ("position", "index", "slab", "projection", "normal", "up")
#: The PNG route's parameters that make sense for a reformat (no pages, objects or overlays).
_RENDERING = tuple(name for name in PNG_PARAMETERS
                   if name not in ("page", "presentation", "segmentation", "opacity", "segments", "overlays", "overlay"))


def _vector(query: Mapping[str, str], name: str) -> tuple[float, ...] | None:
    if name not in query:
        return None
    try:
        values = tuple(float(part) for part in query[name].split(","))
    except ValueError:
        values = ()
    if len(values) != 3:
        raise BadParameter(f"Parameter '{name}' must be x,y,z, got {query[name][:60]!r}")
    return values


def _plane(volume: Any, name: str, query: Mapping[str, str]) -> mpr.Plane:
    index_text = query.get("index")
    if index_text is not None and not index_text.isdigit():
        raise BadParameter(f"Parameter 'index' must be an integer >= 0, got {index_text[:40]!r}")
    return mpr.plane_of(volume, name, position=query_number(query, "position"),
                        index=int(index_text) if index_text is not None else None,
                        normal=_vector(query, "normal"), up=_vector(query, "up"))


def mpr_png(rest_get: RestGet, store: Store, request: Request) -> Response:
    """GET /previewer/series/{id}/mpr/{plane}/png: a plane through the series' volume, rendered as the PNG route does."""
    series_id = check_id("series", request.params["id"])
    name = request.params["plane"]
    query = request.query
    rendering = Request(request.method, request.path, request.params,
                        {k: v for k, v in query.items() if k not in MPR_PARAMETERS}, request.headers, request.body)
    try:
        params, encoder, quality = png_options(rendering, store, _RENDERING)
        volume = series_volume(rest_get, store, series_id)
        first = volume.slices[0]
        if store.max_megapixels is not None and first.rows * first.columns > store.max_megapixels * 1e6:
            raise HttpError(413, f"the volume's slices are {first.columns}x{first.rows}, over MaxMegapixels "
                                 f"({store.max_megapixels:g}) x {len(volume.slices)} slices")
        plane = _plane(volume, name, query)
        slab = query_number(query, "slab") or 0.0
        projection = query.get("projection", "mip")
        versions = [instance_version(store, one.key[0]) for one in volume.slices]
        tag = etag(__version__, "mpr", series_id, *versions, name, plane.origin.tolist(), plane.columns.tolist(),
                   plane.rows.tolist(), slab, projection, params.cache_key(), encoder, quality)
        headers = {"ETag": tag, "Cache-Control": "private, no-cache"}
        unchanged = not_modified(request, tag, headers)
        if unchanged is not None:
            return unchanged
        frames = [modality_frame(store, one.key[0], version, one.key[1]) for one, version in zip(volume.slices, versions)]
        if any(frame.is_color for frame in frames):   # PALETTE COLOR: one sample of indices, not of values
            raise HttpError(422, f"series '{series_id}' is not a volume: its images are colour", series=series_id,
                            reason="colour images are not a volume of values")
        background = float(min(np.min(frame.array) for frame in frames))   # the lowest modality value
        values = mpr.reformat(volume, [frame.array for frame in frames], plane, background, slab, projection)
        frame = dataclasses.replace(frames[0], array=values, padding_mask=None, overlays=(), value_range=None)
        rendered = render.display(frame, params)
    except PixelError as error:
        raise HttpError(400, error.message) if isinstance(error, BadParameter) else \
            HttpError(422, f"series '{series_id}': {error.message}", series=series_id) from None
    return answer(rendered, encoder, quality, headers)
