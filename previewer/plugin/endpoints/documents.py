"""Documents and reports: PDF pages and report thumbnails as pictures, the PDF itself, a report as HTML.

``GET /previewer/instances/{id}/document`` answers the original PDF of an
Encapsulated PDF, ``GET /previewer/instances/{id}/report`` a Structured Report
as HTML whose image references link to the viewer.  Their pictures (a page, a
report's thumbnail) are answered by the PNG route of :mod:`.images`, through
:func:`render_document`.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ...objects import kind_of
from ...pixels.errors import BadParameter, FrameNotFound, PixelError, Unsupported
from ...pixels.params import RenderParams
from ...pixels.render import Rendered
from ..http import PREFIX, HttpError, Request, Response, check_query
from ..store import Store, cached_render, full_dataset, instance_version, opened, pixel_error

#: Parameters that only images take; a PDF page or a report thumbnail refuses them.
_IMAGE_ONLY = ("window", "window-center", "window-width", "voi", "padding")


def as_format(rgb: np.ndarray, params: RenderParams) -> Rendered:
    """An RGB picture of a document in the requested format (PS3.3 C.7.6.3.1.2 for the grey weights)."""
    out = 255 - rgb if params.invert else rgb
    fmt = params.format or "rgb24"
    if fmt == "rgb24":
        return Rendered(np.ascontiguousarray(out), "rgb24", None)
    if fmt == "rgba32":
        alpha = np.full(out.shape[:2] + (1,), 255, np.uint8)
        return Rendered(np.ascontiguousarray(np.concatenate([out, alpha], axis=2)), "rgba32", None)
    if fmt == "gray8":
        grey = out.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        return Rendered(np.ascontiguousarray(np.clip(np.rint(grey), 0, 255).astype(np.uint8)), "gray8", None)
    raise BadParameter(f"format={fmt} does not apply to a document page: use gray8, rgb24 or rgba32")


def refuse_image_parameters(query: Mapping[str, str]) -> None:
    """400 for a parameter that only images take, asked of a document, report or waveform."""
    used = [name for name in _IMAGE_ONLY if name in query]
    if used:
        raise BadParameter(f"parameter '{used[0]}' applies to images, not to documents, reports or waveforms")


def render_document(store: Store, instance_id: str, version: str, kind: str, frame: int,
                    params: RenderParams, page: int | None, query: Mapping[str, str]) -> Rendered:
    """A PDF page, or a report's thumbnail, as the PNG route answers it."""
    refuse_image_parameters(query)
    if kind == "pdf":
        if page is not None and frame != 0:
            raise BadParameter("give either a frame or 'page', not both")
        number = page if page is not None else frame + 1

        def page_image() -> Rendered:
            from ...objects import pdf
            with full_dataset(store, instance_id) as ds:
                # A page is drawn, not decoded: at most pdf's own cap, below the store's limit for images.
                cap = min(store.max_megapixels or pdf.DEFAULT_MAX_MEGAPIXELS, pdf.DEFAULT_MAX_MEGAPIXELS)
                rgb = pdf.render_page(ds, number, params.max_width, params.max_height, cap)
            return as_format(rgb, params)
        return cached_render(store, (instance_id, version, "page", number, params.cache_key()), page_image)
    if page is not None:
        raise BadParameter("parameter 'page' applies to PDF documents only")
    if kind == "report":
        if frame != 0:
            raise FrameNotFound(f"a report has one picture (frame 0), not frame {frame}")

        def thumbnail() -> Rendered:
            from ...objects import report
            with full_dataset(store, instance_id) as ds:
                rgb = report.report_thumbnail(ds, params.max_width, params.max_height)
            return as_format(rgb, params)
        return cached_render(store, (instance_id, version, "report", params.cache_key()), thumbnail)
    parameter = "structures" if kind == "rtstruct" else kind
    raise Unsupported(f"the instance is a {kind}: apply it to the images it references "
                      f"with '{parameter}=' on their PNG route")


def page_count(store: Store, instance_id: str) -> int:
    """How many pages the Encapsulated PDF has."""
    from ...objects import pdf
    with full_dataset(store, instance_id) as ds:
        return int(pdf.page_count(ds))


def _only_kind(store: Store, instance_id: str, kind: str) -> None:
    """415 unless the instance is of ``kind`` (read from its header: nothing is decoded)."""
    instance_version(store, instance_id)
    try:
        with opened(store, instance_id) as ds:
            found = kind_of(ds)
    except PixelError as error:
        raise pixel_error(error, instance_id) from None
    if found != kind:
        article = "an" if found == "image" else "a"
        raise HttpError(415, f"the instance is {article} {found}, not a {kind}", instance=instance_id)


def document_response(store: Store, instance_id: str) -> Response:
    """The original PDF of an Encapsulated PDF, as a download (415 for other objects)."""
    _only_kind(store, instance_id, "pdf")
    from ...objects import pdf
    try:
        with full_dataset(store, instance_id) as ds:
            body = pdf.document_bytes(ds)
    except PixelError as error:
        raise pixel_error(error, instance_id) from None
    return Response(body=body, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{instance_id}.pdf"',
                             "X-Content-Type-Options": "nosniff"})


def document(store: Store, request: Request) -> Response:
    """GET /previewer/instances/{id}/document: the original PDF of an Encapsulated PDF, to download."""
    check_query(request.query)
    return document_response(store, request.params["id"])


def _image_link(uid: str) -> str:
    return f"{PREFIX}/open?SOPInstanceUID={uid}"


def report_response(store: Store, instance_id: str) -> Response:
    """A Structured Report as HTML, its images linked to the viewer (415 for other objects)."""
    _only_kind(store, instance_id, "report")
    from ...objects import report as sr
    try:
        with full_dataset(store, instance_id) as ds:
            text = sr.report_html(ds, _image_link)
    except PixelError as error:
        raise pixel_error(error, instance_id) from None
    return Response(body=text.encode("utf-8"), media_type="text/html; charset=utf-8", headers={
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'",
        "X-Content-Type-Options": "nosniff"})


def report(store: Store, request: Request) -> Response:
    """GET /previewer/instances/{id}/report: a Structured Report as HTML."""
    check_query(request.query)
    return report_response(store, request.params["id"])
