"""The PNG (or JPEG) of any instance, and its information.

``GET /previewer/instances/{id}/frames/{frame}/png`` renders a frame through
the store.  Beyond plain images it takes:

- ``page=N`` for page N of an Encapsulated PDF (frame ``n`` is page n+1);
- a Structured Report, whose PNG is a thumbnail of its text;
- ``presentation={id}``, a Grayscale Softcopy Presentation State applied to
  the image it references;
- ``segmentation={id}`` (with ``opacity`` and ``segments``), a Segmentation's
  segments drawn over the image it references;
- a waveform's picture (:mod:`.waveforms`), its multiplex group picked by ``group=``;
- ``structures={id}`` (with ``fill`` and ``rois``), an RT Structure Set's
  contours on the image (:mod:`.structures`);
- ``view=thumbnail``, an object's thumbnail (a waveform's first seconds, a
  Segmentation's segments over the image they lie on (:mod:`.segmentations`);
  for other objects the picture itself).

Overlays and video frames need nothing here: the pixel pipeline burns the
former in and decodes the latter.  The format libraries (pypdfium2, PyAV,
Pillow, highdicom) are imported when first needed, so that a server that
never meets a PDF never loads pdfium.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ... import __version__
from ...objects import kind_of
from ...pixels import render
from ...pixels.errors import BadParameter, PixelError
from ...pixels.params import RenderParams, parse_params
from ...pixels.render import Rendered
from .. import png, timing
from ..http import ORTHANC_ID, PREFIX, HttpError, Request, Response, check_query, etag, not_modified
from ..store import (
    NotImage,
    RestGet,
    Store,
    frame_of_reference,
    instance_version,
    modality_frame,
    object_version,
    opened,
    parsed_object,
    pixel_error,
    rendered_frame,
    sop_instance_uid,
)
from . import documents, segmentations, structures, waveforms

#: Query parameters the PNG routes accept (others get 400).
PNG_PARAMETERS = (
    "window", "window-center", "window-width", "voi", "format", "invert",
    "size", "width", "height", "padding", "encoder", "quality",
    # Overlay planes (PS3.3 C.9.2): burned in unless overlays=0, in the overlay= colour.
    "overlays", "overlay",
    # Objects beyond images: PDF pages, presentation states, segmentations.
    "page", "presentation", "segmentation", "opacity", "segments",
    # Waveforms: the multiplex group; any object: its thumbnail.
    "group", "view",
    # RT Structure Sets over the images they outline.
    "structures", "fill", "rois",
)
ENCODERS = ("orthanc", "fast")


@dataclass(frozen=True)
class Extras:
    """The PNG route's parameters for objects beyond images."""

    page: int | None = None
    presentation: str | None = None
    segmentation: str | None = None
    opacity: float = 0.5
    segments: frozenset[int] | None = None
    structures: structures.Options | None = None
    query: Mapping[str, str] = dataclasses.field(default_factory=dict)


def _object_id(query: Mapping[str, str], name: str) -> str | None:
    value = query.get(name)
    if value is None:
        return None
    if not ORTHANC_ID.fullmatch(value):
        raise HttpError(400, f"parameter '{name}' must be the Orthanc ID of an instance, not {value[:100]!r}")
    return value


def parse_extras(query: Mapping[str, str]) -> Extras:
    """The object parameters of a PNG request, checked (400 naming the parameter)."""
    page: int | None = None
    if "page" in query:
        text = query["page"]
        if not text.isdigit() or int(text) < 1:
            raise HttpError(400, f"parameter 'page' must be an integer >= 1 (pages count from 1), not {text[:100]!r}")
        page = int(text)
    presentation = _object_id(query, "presentation")
    segmentation = _object_id(query, "segmentation")
    if presentation and segmentation:
        raise HttpError(400, "parameters 'presentation' and 'segmentation' cannot be combined")
    if segmentation is None and ("opacity" in query or "segments" in query):
        raise HttpError(400, "parameters 'opacity' and 'segments' need 'segmentation'")
    view = query.get("view", "page")
    if view not in waveforms.VIEWS:
        raise HttpError(400, f"parameter 'view' must be one of {', '.join(waveforms.VIEWS)}, not {view[:100]!r}")
    opacity, segments = 0.5, None
    if segmentation is not None:
        from ...objects import segmentation as seg
        try:
            opacity, segments = seg.parse_options(query)
        except PixelError as error:
            raise HttpError(error.status, error.message) from None
    outlines = structures.parse_options(query)
    if outlines is not None and presentation is not None:
        raise HttpError(400, "parameters 'presentation' and 'structures' cannot be combined")
    return Extras(page, presentation, segmentation, opacity, segments, outlines, dict(query))


def _variant(store: Store, extras: Extras) -> str:
    """What else a render depends on, for its ETag: the referenced objects' versions included."""
    parts = [f"page={extras.page}"]
    for name, object_id in (("presentation", extras.presentation), ("segmentation", extras.segmentation)):
        if object_id is not None:
            parts.append(f"{name}={object_id}@{object_version(store, name, object_id)}")
    if extras.segmentation is not None:
        parts.append(f"opacity={extras.opacity!r};segments={sorted(extras.segments or ())}")
    if extras.structures is not None:
        parts.append(structures.variant(store, extras.structures))
    return ";".join(parts)


def render_any(store: Store, instance_id: str, version: str, frame: int, params: RenderParams,
               extras: Extras) -> Rendered:
    """The PNG of any object: an image (with a presentation state or segmentation), a PDF page, a report."""
    own_segments = segmentations.plan(store, instance_id, version, frame, extras.query)
    if own_segments is not None:   # view=thumbnail of a Segmentation
        return segmentations.render(store, instance_id, version, own_segments, params)
    if extras.presentation is not None:
        from ...objects import presentation
        state = parsed_object(store, "presentation", extras.presentation)
        uid = sop_instance_uid(store, instance_id, version)
        presentation.check_reference(state, uid, frame + 1)
        return presentation.render(state, modality_frame(store, instance_id, version, frame), uid, frame + 1, params)
    try:
        rendered = rendered_frame(store, instance_id, version, frame, params)
    except NotImage as error:
        if extras.segmentation is not None:
            raise BadParameter(f"a segmentation applies to images, and this instance is a {error.kind}") from None
        if extras.structures is not None:
            raise BadParameter(f"parameter 'structures' applies to images, and this instance is a {error.kind}") from None
        if error.kind == "waveform":
            documents.refuse_image_parameters(extras.query)
            if extras.page is not None:
                raise BadParameter("parameter 'page' applies to PDF documents only") from None
            return waveforms.render_waveform(store, instance_id, version, frame, params, extras.query)
        if "group" in extras.query:
            raise BadParameter("parameter 'group' applies to waveforms only") from None
        return documents.render_document(store, instance_id, version, error.kind, frame, params,
                                         extras.page, extras.query)
    if extras.page is not None:
        raise BadParameter("parameter 'page' applies to PDF documents only")
    if "group" in extras.query:
        raise BadParameter("parameter 'group' applies to waveforms only")
    if extras.segmentation is not None:
        from ...objects import segmentation
        seg = parsed_object(store, "segmentation", extras.segmentation)
        rows, columns = modality_frame(store, instance_id, version, frame).array.shape[:2]   # cached, full size
        segmentation.check_geometry(seg, int(rows), int(columns),
                                    frame_of_reference=frame_of_reference(store, instance_id, version))
        masks = segmentation.masks_for(seg, sop_instance_uid(store, instance_id, version), frame + 1)
        rendered = segmentation.draw(rendered, masks, seg, extras.opacity, extras.segments)
    return rendered


def wants_jpeg(headers: Mapping[str, str]) -> bool:
    """True when the client's Accept asks for JPEG rather than PNG."""
    accepted = [part.split(";")[0].strip().lower() for part in headers.get("accept", "").split(",")]
    return "image/jpeg" in accepted and "image/png" not in accepted


def png_options(request: Request, store: Store,
                accepted: tuple[str, ...] = PNG_PARAMETERS) -> tuple[RenderParams, str, int | None]:
    """The rendering parameters, the encoder and the JPEG quality (None: PNG) a request asks for."""
    check_query(request.query, sorted(accepted))
    encoder = request.query.get("encoder", store.encoder)
    if encoder not in ENCODERS:
        raise HttpError(400, f"parameter 'encoder' must be one of {', '.join(ENCODERS)}, not {encoder[:100]!r}")
    text = request.query.get("quality", "90")
    if not text.isdigit() or not 1 <= int(text) <= 100:
        raise HttpError(400, f"parameter 'quality' must be an integer in 1..100, not {text[:100]!r}")
    return parse_params(request.query), encoder, (int(text) if wants_jpeg(request.headers) else None)


def _jpeg_pixels(rendered: Rendered) -> tuple[Any, str]:
    """JPEG holds 8-bit grey or RGB: other formats are answered as their 8-bit twin."""
    array, name = rendered.array, rendered.format
    if name == "rgba32":
        return array[:, :, :3].copy(), "rgb24"
    if name in ("gray16", "signed16"):
        raise HttpError(400, f"format={name} cannot be sent as JPEG; ask for image/png")
    return array, name


def frame_png(store: Store, request: Request) -> Response:
    """GET /previewer/instances/{id}/frames/{frame}/png (and /png for frame 0), for every kind of object."""
    timing.mark("dispatch")
    instance_id = request.params["id"]
    frame = int(request.params.get("frame", 0))
    extras = parse_extras(request.query)
    try:
        params, encoder, quality = png_options(request, store)
        timing.mark("parameters")
        version = instance_version(store, instance_id)
        timing.mark("version")
        own_segments = segmentations.plan(store, instance_id, version, frame, request.query)
        tag = etag(__version__, instance_id, version, frame, params.cache_key(), encoder, quality,
                   _variant(store, extras), *([] if own_segments is None else [segmentations.variant(own_segments)]))
        headers = {"ETag": tag, "Cache-Control": "private, no-cache"}
        if own_segments is not None:
            headers[segmentations.HEADER] = own_segments.note
        unchanged = not_modified(request, tag, headers)
        if unchanged is not None:
            return unchanged
        timing.mark("etag")
        rendered = render_any(store, instance_id, version, frame, params, extras)
        if extras.structures is not None:
            rendered, headers[structures.HEADER] = structures.overlay(
                store, instance_id, version, frame, rendered, extras.structures)
    except PixelError as error:
        raise pixel_error(error, instance_id, frame) from None
    return answer(rendered, encoder, quality, headers)


def answer(rendered: Rendered, encoder: str, quality: int | None, headers: Mapping[str, str]) -> Response:
    """``rendered`` as JPEG (``quality``), or PNG by ``encoder``, with ``headers``."""
    if quality is not None:
        response = Response.jpeg(*_jpeg_pixels(rendered), quality)
    elif encoder == "fast":
        response = Response(body=png.encode(rendered.array, rendered.format), media_type="image/png")
        timing.mark("encode")
    else:
        response = Response.png(rendered.array, rendered.format)
    response.headers.update(headers)
    return response


def _describe(store: Store, instance_id: str, dataset: Any, info: dict[str, Any],
              rest_get: RestGet | None) -> None:
    """What objects other than images add to their information."""
    base = f"{PREFIX}/instances/{instance_id}"
    kind = info["kind"]
    if kind in ("pdf", "report"):
        info.update(decodable=True, reason=None, frames=1)
    if kind == "pdf":
        info["document"] = base + "/document"
        try:
            info["frames"] = documents.page_count(store, instance_id)
        except PixelError as error:
            info.update(decodable=False, reason=error.message)
    elif kind == "report":
        info["report"] = base + "/report"
    elif kind == "waveform":
        waveforms.describe(store, instance_id, info)
    elif kind == "rtstruct" and rest_get is not None:
        structures.describe(store, rest_get, instance_id, info)
    elif kind == "presentation":
        info["reason"] = "a presentation state: apply it to the images it references"


def instance_info(store: Store, request: Request, rest_get: RestGet | None = None) -> Response:
    """GET /previewer/instances/{id}/info: what a viewer needs to show the instance, ``kind`` included."""
    instance_id = request.params["id"]
    version = instance_version(store, instance_id)
    try:
        with opened(store, instance_id) as dataset:
            # Frame 0 comes from the cache when a render has decoded it already.
            info = render.info(dataset, max_megapixels=store.max_megapixels,
                               first_frame=lambda: modality_frame(store, instance_id, version, 0, dataset))
            info["kind"] = kind_of(dataset)
            _describe(store, instance_id, dataset, info, rest_get)
    except PixelError as error:
        raise pixel_error(error, instance_id) from None
    return Response.json({"id": instance_id, **info})
