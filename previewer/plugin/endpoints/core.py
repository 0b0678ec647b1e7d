"""Orthanc's own image routes answered by the previewer's renderer (``"CoreRoutes": true``).

``/instances/{id}/preview``, ``/instances/{id}/frames/{n}/preview``,
``/instances/{id}/rendered`` and ``/instances/{id}/frames/{n}/rendered`` keep
core's parameters and content negotiation, mapped onto the PNG route's:

- ``window-center`` and ``window-width`` (``/rendered``) are ``window=C,W``; one
  without the other keeps the image's own value of the other;
- ``width`` and ``height`` are the box the picture is fitted in (0 or absent: no limit);
- ``quality`` is the JPEG quality, ``smooth`` is accepted (resizing always
  averages), and ``Accept: image/jpeg`` asks for JPEG;
- frames are 0-based, as core's are;
- ``width`` and ``height`` scale up as well as down, as core's do
  (``smooth`` picks bilinear over nearest-neighbour for that);
- an image the renderer cannot decode (a private compression, a transfer
  syntax without a decoder here) is answered with core's own rendering,
  fetched from Orthanc's built-in REST API; where core cannot either, it is
  core's 415, unless ``returnUnsupportedImage`` is given: then a picture
  saying so, as core does;
- an ``Accept`` that takes neither PNG nor JPEG is a 406, as in core.

Core ignores parameters it does not know, and so do these routes.  Errors
are the previewer's JSON errors.
"""
from __future__ import annotations

import io
from collections.abc import Mapping

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ... import __version__
from ...pixels.errors import PixelError, Unsupported
from ...pixels.params import RenderParams, parse_params, query_number
from ...pixels.render import Rendered
from ..http import HttpError, Request, Response, check_id, etag, not_modified
from ..store import RestGet, Store, instance_version, modality_frame, pixel_error
from .images import Extras, answer, render_any, wants_jpeg

#: Core's parameters of /rendered that the previewer maps (the others are ignored, as core ignores them).
RENDERED = ("window-center", "window-width", "width", "height", "quality", "smooth", "returnUnsupportedImage")
#: Those of /preview.
PREVIEW = ("quality", "returnUnsupportedImage")
UNSUPPORTED_SIZE = 128


def _box(query: Mapping[str, str]) -> dict[str, str]:
    box = {}
    for name in ("width", "height"):
        if name in query:
            text = query[name]
            if not text.isdigit() or len(text) > 6:
                raise HttpError(400, f"parameter '{name}' must be an integer >= 0, not {text[:100]!r}")
            if int(text) > 0:   # 0: not given, as in core
                box[name] = text
    return box


def _window(store: Store, instance_id: str, version: str, frame: int, query: Mapping[str, str],
            box: dict[str, str]) -> dict[str, str]:
    """``window=C,W`` from core's parameters; the image's own window fills a missing one."""
    center, width = query_number(query, "window-center"), query_number(query, "window-width")
    if center is None and width is None:
        return {}
    if center is None or width is None:
        own = render_any(store, instance_id, version, frame, parse_params(box), Extras()).window
        if own is None:
            raise HttpError(400, "this image has no window to complete 'window-center' or 'window-width' "
                                 "(colour, or a VOI LUT): give both")
        center = own[0] if center is None else center
        width = own[1] if width is None else width
    if width <= 0:
        raise HttpError(400, f"parameter 'window-width' must be positive, not {width!r}")
    return {"window": f"{center!r},{width!r}"}


def _acceptable(headers: Mapping[str, str]) -> bool:
    """Whether the Accept header takes PNG or JPEG (or says nothing)."""
    accept = headers.get("accept", "").strip()
    if not accept:
        return True
    kinds = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    return bool(kinds & {"image/png", "image/jpeg", "image/*", "*/*"})


def _fitted(rendered: Rendered, box: Mapping[str, str], rows: int, columns: int, smooth: bool) -> Rendered:
    """The picture scaled up to the box core would fill (the renderer only ever scales down)."""
    if not box:
        return rendered
    scales = [int(box[name]) / extent for name, extent in (("width", columns), ("height", rows)) if name in box]
    scale = min(scales)
    width, height = max(1, round(columns * scale)), max(1, round(rows * scale))
    array = rendered.array
    if array.shape[1] >= width and array.shape[0] >= height:
        return rendered
    picture = Image.fromarray(array).resize((width, height), Image.Resampling.BILINEAR if smooth else Image.Resampling.NEAREST)
    return Rendered(np.ascontiguousarray(np.asarray(picture, np.uint8)), rendered.format, rendered.window)


def _core_rendering(rest_get: RestGet, path: str, query: Mapping[str, str]) -> Rendered | None:
    """Core's own answer for the route, from the built-in REST API (which plugins do not see), or None."""
    from urllib.parse import urlencode
    wanted = {k: v for k, v in query.items() if k in RENDERED and k not in ("quality", "returnUnsupportedImage")}
    try:
        body = rest_get(path + ("?" + urlencode(wanted) if wanted else ""))
        opened = Image.open(io.BytesIO(body))
        opened.load()
    except Exception:  # noqa: BLE001 - core refused it too (an OrthancError), or answered no image
        return None
    picture = opened if opened.mode in ("L", "RGB") else opened.convert("RGB")
    return Rendered(np.ascontiguousarray(np.asarray(picture, np.uint8)), "gray8" if picture.mode == "L" else "rgb24",
                    None)


def unsupported_picture() -> Rendered:
    """The picture ``returnUnsupportedImage`` answers: grey, crossed out, saying so."""
    size = UNSUPPORTED_SIZE
    image = Image.new("L", (size, size), 48)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, size - 1, size - 1), outline=140, width=2)
    draw.line((8, 8, size - 9, size - 9), fill=90, width=3)
    draw.line((8, size - 9, size - 9, 8), fill=90, width=3)
    draw.text((size / 2, size / 2), "unsupported", fill=230, font=ImageFont.load_default(size=14), anchor="mm")
    return Rendered(np.ascontiguousarray(np.asarray(image, np.uint8)), "gray8", None)


def image(store: Store, rest_get: RestGet, request: Request, rendered_route: bool) -> Response:
    """GET /instances/{id}[/frames/{n}]/preview and …/rendered, through the previewer's renderer."""
    if not _acceptable(request.headers):
        raise HttpError(406, "this route answers image/png or image/jpeg", accepted=["image/png", "image/jpeg"])
    instance_id = check_id("instance", request.params["id"])
    frame = int(request.params.get("frame", 0))
    query = request.query
    text = query.get("quality", "90")
    if not text.isdigit() or not 1 <= int(text) <= 100:
        raise HttpError(400, f"parameter 'quality' must be an integer in 1..100, not {text[:100]!r}")
    quality = int(text) if wants_jpeg(request.headers) else None
    try:
        version = instance_version(store, instance_id)
        box = _box(query) if rendered_route else {}
        ours = dict(box)
        if rendered_route:
            ours.update(_window(store, instance_id, version, frame, query, box))
        params: RenderParams = parse_params(ours)
        tag = etag(__version__, "core", instance_id, version, frame, params.cache_key(), quality,
                   "returnUnsupportedImage" in query)
        headers = {"ETag": tag, "Cache-Control": "private, no-cache"}
        unchanged = not_modified(request, tag, headers)
        if unchanged is not None:
            return unchanged
        try:
            rendered = render_any(store, instance_id, version, frame, params, Extras())
            if rendered_route:
                rows, columns = _full_size(store, instance_id, version, frame)
                rendered = _fitted(rendered, box, rows, columns, query.get("smooth", "0") not in ("0", "false"))
        except Unsupported:
            fallback = _core_rendering(rest_get, request.path, query)
            if fallback is not None:
                rendered = fallback
            elif "returnUnsupportedImage" in query:
                rendered = unsupported_picture()
            else:
                raise
    except PixelError as error:
        raise pixel_error(error, instance_id, frame) from None
    return answer(rendered, store.encoder, quality, headers)


def _full_size(store: Store, instance_id: str, version: str, frame: int) -> tuple[int, int]:
    """(rows, columns) of the picture before any box: the frame's, or the unboxed render's for other objects."""
    try:
        array = modality_frame(store, instance_id, version, frame).array
        return int(array.shape[0]), int(array.shape[1])
    except Unsupported:
        full = render_any(store, instance_id, version, frame, parse_params({}), Extras()).array
        return int(full.shape[0]), int(full.shape[1])
