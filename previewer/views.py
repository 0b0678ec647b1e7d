"""The previewer's endpoints: instance PNGs and their information.

Endpoints are plain functions of a :class:`~previewer.routes.Request` that
return a :class:`~previewer.routes.Response`; :mod:`previewer.app` lists them
in the route table.  They reach Orthanc through :class:`Store`, so that they
can be tested with a store that is not Orthanc.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .pixels import decode, render
from .pixels.errors import PixelError
from .pixels.params import RenderParams, parse_params
from .routes import HttpError, Request, Response

#: Query parameters the PNG routes accept (others get 400).
PNG_PARAMETERS = frozenset({
    "window", "window-center", "window-width", "voi", "format", "invert",
    "size", "width", "height", "padding",
})


class UnknownInstance(LookupError):
    """The store has no instance of that ID."""


@dataclass
class Store:
    """Where DICOM files come from: Orthanc, or a test double."""

    dicom: Callable[[str], bytes]
    max_megapixels: float | None = None


def _frame_params(request: Request) -> RenderParams:
    unknown = sorted(set(request.query) - PNG_PARAMETERS)
    if unknown:
        raise HttpError(400, f"unknown query parameter '{unknown[0]}'",
                        accepted=sorted(PNG_PARAMETERS))
    return parse_params(request.query)


def _dataset(store: Store, instance_id: str) -> Any:
    try:
        data = store.dicom(instance_id)
    except UnknownInstance:
        raise HttpError(404, f"unknown instance '{instance_id}'", instance=instance_id) from None
    try:
        return decode.read_dataset(data)
    except PixelError:
        raise
    except Exception as error:  # noqa: BLE001 - an unreadable file is the client's 415
        raise HttpError(415, f"the instance is not a readable DICOM file: {error}",
                        instance=instance_id) from None


def _pixel_error(error: PixelError, instance_id: str, frame: int | None = None) -> HttpError:
    details: dict[str, Any] = {"instance": instance_id}
    if frame is not None:
        details["frame"] = frame
    return HttpError(error.status, error.message, **details)


def frame_png(store: Store, request: Request) -> Response:
    """GET /previewer/instances/{id}/frames/{frame}/png (and /png for frame 0)."""
    instance_id = request.params["id"]
    frame = int(request.params.get("frame", 0))
    try:
        params = _frame_params(request)
        dataset = _dataset(store, instance_id)
        rendered = render.render(dataset, frame, params, max_megapixels=store.max_megapixels)
    except PixelError as error:
        raise _pixel_error(error, instance_id, frame) from None
    return Response.png(rendered.array, rendered.format)


def instance_info(store: Store, request: Request) -> Response:
    """GET /previewer/instances/{id}/info: what a viewer needs to show the instance."""
    instance_id = request.params["id"]
    try:
        info = render.info(_dataset(store, instance_id))
    except PixelError as error:
        raise _pixel_error(error, instance_id) from None
    return Response.json({"id": instance_id, **info})


def bind(store: Store, endpoint: Callable[[Store, Request], Response]) -> Callable[[Request], Response]:
    """An endpoint with its store filled in, for the route table."""
    def call(request: Request) -> Response:
        return endpoint(store, request)
    call.__name__ = endpoint.__name__
    call.__doc__ = endpoint.__doc__
    return call

