"""Series as volumes: ``GET /previewer/api/series/{id}/volume`` (issue 23, part 1).

A series is a volume when its images are parallel slices of one Frame of Reference
(:mod:`previewer.pixels.volume`): single-frame slices, or the frames of an enhanced
multi-frame instance with per-frame positions.  The answer is the voxel grid, the spacings,
the orientation and the patient-space box of the voxel centres; anything else is a 422 that
names the reason.
"""
from __future__ import annotations

import json
from typing import Any

from ...pixels.errors import PixelError
from ...pixels.volume import NotVolume, volume_of
from ..http import HttpError, Request, Response, check_id, check_query
from ..store import RestGet, Store, UnknownResource, instance_version, pixel_error, slices


def series_volume(rest_get: RestGet, store: Store, series_id: str) -> Any:
    """The volume of a series (404 for an unknown series, 422 naming why it is not a volume)."""
    try:
        instances = json.loads(rest_get(f"/series/{series_id}/instances"))
    except UnknownResource:
        raise HttpError(404, f"unknown series '{series_id}'", series=series_id) from None
    found = []
    for instance in instances:
        try:
            found.extend(slices(store, instance["ID"], instance_version(store, instance["ID"])))
        except PixelError as error:
            raise pixel_error(error, instance["ID"]) from None
    try:
        return volume_of(found)
    except NotVolume as error:
        raise HttpError(422, f"series '{series_id}' is not a volume: {error.message}", series=series_id,
                        reason=error.message) from None


def volume(rest_get: RestGet, store: Store, request: Request) -> Response:
    """GET /previewer/api/series/{id}/volume: the series' voxel grid, spacings, orientation and box."""
    check_query(request.query)
    series_id = check_id("series", request.params["id"])
    described = series_volume(rest_get, store, series_id).describe()
    return Response.json({"series": series_id, **described})
