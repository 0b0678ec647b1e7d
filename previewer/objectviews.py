"""Endpoints for the objects of a study beyond plain images (issue 14).

The PNG route of :mod:`previewer.views` is extended here:

- ``page=N`` renders page N of an Encapsulated PDF (frame ``n`` is page n+1);
- a Structured Report's PNG is a thumbnail of its text;
- ``presentation={id}`` applies a Grayscale Softcopy Presentation State to
  the image it references;
- ``segmentation={id}`` (with ``opacity`` and ``segments``) draws a
  Segmentation's segments over the image it references.

Overlays and video frames need nothing here: the pixel pipeline burns the
former in and decodes the latter.  The format libraries (pypdfium2, PyAV,
Pillow, highdicom) are imported when first needed, so that a server that
never meets a PDF never loads pdfium.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .objects import kind_of
from .pixels import reader
from .pixels.errors import BadParameter, FrameNotFound, PixelError, Unsupported
from .pixels.params import RenderParams
from .pixels.render import Rendered
from .routes import ORTHANC_ID, HttpError, Request, Response
from .views import (
    SMALL_RENDER_BYTES,
    NotImage,
    Store,
    UnknownInstance,
    instance_info as _instance_info,
    instance_version,
    modality_frame,
    opened,
    rendered_frame,
)
from .viewer import UnknownResource
from .views import frame_png as _frame_png

PREFIX = "/previewer"
#: Parameters that only images take; a PDF page or a report thumbnail refuses them.
_IMAGE_ONLY = ("window", "window-center", "window-width", "voi", "padding")


@dataclass(frozen=True)
class Extras:
    """The PNG route's parameters for objects beyond images."""

    page: int | None = None
    presentation: str | None = None
    segmentation: str | None = None
    opacity: float = 0.5
    segments: frozenset[int] | None = None
    query: Mapping[str, str] = dataclasses.field(default_factory=dict)


@contextlib.contextmanager
def full_dataset(store: Store, instance_id: str) -> Iterator[Any]:
    """Every element of the instance (the pixel pipeline's reader keeps only what it renders)."""
    with contextlib.ExitStack() as stack:
        try:
            data = (stack.enter_context(store.borrow(instance_id)) if store.borrow is not None
                    else store.dicom(instance_id))
        except UnknownInstance:
            raise HttpError(404, f"unknown instance '{instance_id}'", instance=instance_id) from None
        yield reader.read_full(data)


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
    opacity, segments = 0.5, None
    if segmentation is not None:
        from .objects import segmentation as seg
        try:
            opacity, segments = seg.parse_options(query)
        except PixelError as error:
            raise HttpError(error.status, error.message) from None
    return Extras(page, presentation, segmentation, opacity, segments, dict(query))


def _variant(store: Store, extras: Extras) -> str:
    """What else a render depends on, for its ETag: the referenced objects' versions included."""
    parts = [f"page={extras.page}"]
    for name, object_id in (("presentation", extras.presentation), ("segmentation", extras.segmentation)):
        if object_id is not None:
            parts.append(f"{name}={object_id}@{_object_version(store, name, object_id)}")
    if extras.segmentation is not None:
        parts.append(f"opacity={extras.opacity!r};segments={sorted(extras.segments or ())}")
    return ";".join(parts)


def _object_version(store: Store, name: str, object_id: str) -> str:
    try:
        return instance_version(store, object_id)
    except HttpError:
        raise HttpError(404, f"unknown {name} instance '{object_id}'", **{name: object_id}) from None


def _as_format(rgb: np.ndarray, params: RenderParams) -> Rendered:
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


def _document_params(extras: Extras) -> None:
    used = [name for name in _IMAGE_ONLY if name in extras.query]
    if used:
        raise BadParameter(f"parameter '{used[0]}' applies to images, not to documents or reports")


def _cached_render(store: Store, key: tuple[Any, ...], make: Callable[[], Rendered]) -> Rendered:
    cached: Rendered | None = store.cache.get(key)
    if cached is not None:
        return cached
    with store.decode_slots:
        result = make()
    if result.array.nbytes <= SMALL_RENDER_BYTES:
        store.cache.put(key, result, int(result.array.nbytes) + 512)
    return result


def _document(store: Store, instance_id: str, version: str, kind: str, frame: int,
              params: RenderParams, extras: Extras) -> Rendered:
    """A PDF page, or a report's thumbnail."""
    _document_params(extras)
    if kind == "pdf":
        if extras.page is not None and frame != 0:
            raise BadParameter("give either a frame or 'page', not both")
        page = extras.page if extras.page is not None else frame + 1

        def page_image() -> Rendered:
            from .objects import pdf
            with full_dataset(store, instance_id) as ds:
                # A page is drawn, not decoded: at most pdf's own cap, below the store's limit for images.
                cap = min(store.max_megapixels or pdf.DEFAULT_MAX_MEGAPIXELS, pdf.DEFAULT_MAX_MEGAPIXELS)
                rgb = pdf.render_page(ds, page, params.max_width, params.max_height, cap)
            return _as_format(rgb, params)
        return _cached_render(store, (instance_id, version, "page", page, params.cache_key()), page_image)
    if extras.page is not None:
        raise BadParameter("parameter 'page' applies to PDF documents only")
    if kind == "report":
        if frame != 0:
            raise FrameNotFound(f"a report has one picture (frame 0), not frame {frame}")

        def thumbnail() -> Rendered:
            from .objects import report
            with full_dataset(store, instance_id) as ds:
                rgb = report.report_thumbnail(ds, params.max_width, params.max_height)
            return _as_format(rgb, params)
        return _cached_render(store, (instance_id, version, "report", params.cache_key()), thumbnail)
    raise Unsupported(f"the instance is a {kind}: apply it to the images it references "
                      f"with '{kind}=' on their PNG route")


def _sop_instance_uid(store: Store, instance_id: str, version: str) -> str:
    def read() -> str:
        with opened(store, instance_id) as ds:   # Orthanc's files always carry the File Meta Information
            uid = ds.file_meta.get("MediaStorageSOPInstanceUID")
        if not isinstance(uid, str) or not uid:
            with full_dataset(store, instance_id) as ds:
                uid = ds.get("SOPInstanceUID", "")
        return str(uid)
    uid: str = store.cache.get_or_compute((instance_id, version, "sop"), read, lambda _: 256)
    return uid


def _frame_of_reference(store: Store, instance_id: str, version: str) -> str:
    """The image's (0020,0052) Frame of Reference UID, or "" (read once, then cached)."""
    def read() -> str:
        with full_dataset(store, instance_id) as ds:
            return str(ds.get("FrameOfReferenceUID", "") or "")
    uid: str = store.cache.get_or_compute((instance_id, version, "frame-of-reference"), read, lambda _: 256)
    return uid


def _nbytes(value: Any, depth: int = 2) -> int:
    """About the memory a parsed object holds: its numpy arrays, a few levels down."""
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if depth == 0:
        return 0
    if isinstance(value, Mapping):
        return sum(_nbytes(item, depth - 1) for item in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_nbytes(item, depth - 1) for item in value)
    if dataclasses.is_dataclass(value):
        return sum(_nbytes(getattr(value, f.name), depth - 1) for f in dataclasses.fields(value))
    return 0


def parsed_object(store: Store, name: str, object_id: str) -> Any:
    """The parsed presentation state or segmentation of that ID, cached by its version."""
    version = _object_version(store, name, object_id)

    def parse() -> Any:
        with full_dataset(store, object_id) as ds:
            if kind_of(ds) != name:
                what = "Grayscale Softcopy Presentation State" if name == "presentation" else "Segmentation"
                raise BadParameter(f"instance {object_id} given as '{name}' is not a {what}")
            if name == "presentation":
                from .objects import presentation
                return presentation.parse(ds)
            from .objects import segmentation
            return segmentation.parse(ds, store.max_megapixels)
    return store.cache.get_or_compute((object_id, version, name), parse, lambda value: _nbytes(value) + 4096)


def render_any(store: Store, instance_id: str, version: str, frame: int, params: RenderParams,
               extras: Extras) -> Rendered:
    """The PNG of any object: an image (with a presentation state or segmentation), a PDF page, a report."""
    if extras.presentation is not None:
        from .objects import presentation
        state = parsed_object(store, "presentation", extras.presentation)
        uid = _sop_instance_uid(store, instance_id, version)
        presentation.check_reference(state, uid, frame + 1)
        return presentation.render(state, modality_frame(store, instance_id, version, frame), uid, frame + 1, params)
    try:
        rendered = rendered_frame(store, instance_id, version, frame, params)
    except NotImage as error:
        if extras.segmentation is not None:
            raise BadParameter(f"a segmentation applies to images, and this instance is a {error.kind}") from None
        return _document(store, instance_id, version, error.kind, frame, params, extras)
    if extras.page is not None:
        raise BadParameter("parameter 'page' applies to PDF documents only")
    if extras.segmentation is not None:
        from .objects import segmentation
        seg = parsed_object(store, "segmentation", extras.segmentation)
        rows, columns = modality_frame(store, instance_id, version, frame).array.shape[:2]   # cached, full size
        segmentation.check_geometry(seg, int(rows), int(columns),
                                    frame_of_reference=_frame_of_reference(store, instance_id, version))
        masks = segmentation.masks_for(seg, _sop_instance_uid(store, instance_id, version), frame + 1)
        rendered = segmentation.draw(rendered, masks, seg, extras.opacity, extras.segments)
    return rendered


def frame_png(store: Store, request: Request) -> Response:
    """GET /previewer/instances/{id}/frames/{frame}/png and /png, for every kind of object."""
    extras = parse_extras(request.query)

    def renderer(store: Store, instance_id: str, version: str, frame: int, params: RenderParams) -> Rendered:
        return render_any(store, instance_id, version, frame, params, extras)
    return _frame_png(store, request, renderer, lambda: _variant(store, extras))


def _describe(store: Store, instance_id: str) -> Callable[[Any, dict[str, Any]], None]:
    base = f"{PREFIX}/instances/{instance_id}"

    def describe(ds: Any, info: dict[str, Any]) -> None:
        kind = info["kind"]
        if kind in ("pdf", "report"):
            info.update(decodable=True, reason=None, frames=1)
        if kind == "pdf":
            from .objects import pdf
            info["document"] = base + "/document"
            try:
                with full_dataset(store, instance_id) as full:
                    info["frames"] = pdf.page_count(full)
            except PixelError as error:
                info.update(decodable=False, reason=error.message)
        elif kind == "report":
            info["report"] = base + "/report"
        elif kind == "presentation":
            info["reason"] = "a presentation state: apply it to the images it references"
    return describe


def instance_info(store: Store, request: Request) -> Response:
    """GET /previewer/instances/{id}/info, with ``kind`` and what each kind needs."""
    return _instance_info(store, request, _describe(store, request.params["id"]))


def _only_kind(store: Store, instance_id: str, kind: str) -> None:
    """415 unless the instance is of ``kind`` (read from its header: nothing is decoded)."""
    instance_version(store, instance_id)
    try:
        with opened(store, instance_id) as ds:
            found = kind_of(ds)
    except PixelError as error:
        raise HttpError(error.status, error.message, instance=instance_id) from None
    if found != kind:
        article = "an" if found == "image" else "a"
        raise HttpError(415, f"the instance is {article} {found}, not a {kind}", instance=instance_id)


def document_response(store: Store, instance_id: str) -> Response:
    """The original PDF of an Encapsulated PDF, as a download (415 for other objects)."""
    _only_kind(store, instance_id, "pdf")
    from .objects import pdf
    try:
        with full_dataset(store, instance_id) as ds:
            body = pdf.document_bytes(ds)
    except PixelError as error:
        raise HttpError(error.status, error.message, instance=instance_id) from None
    return Response(body=body, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{instance_id}.pdf"',
                             "X-Content-Type-Options": "nosniff"})


def document(store: Store, request: Request) -> Response:
    """GET /previewer/instances/{id}/document: the original PDF of an Encapsulated PDF, to download."""
    if request.query:
        raise HttpError(400, f"unknown query parameter '{sorted(request.query)[0][:100]}'", accepted=[])
    return document_response(store, request.params["id"])


def _image_link(uid: str) -> str:
    return f"{PREFIX}/open?SOPInstanceUID={uid}"


def report_response(store: Store, instance_id: str) -> Response:
    """A Structured Report as HTML, its images linked to the viewer (415 for other objects)."""
    _only_kind(store, instance_id, "report")
    from .objects import report as sr
    try:
        with full_dataset(store, instance_id) as ds:
            text = sr.report_html(ds, _image_link)
    except PixelError as error:
        raise HttpError(error.status, error.message, instance=instance_id) from None
    return Response(body=text.encode("utf-8"), media_type="text/html; charset=utf-8", headers={
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'",
        "X-Content-Type-Options": "nosniff"})


def report(store: Store, request: Request) -> Response:
    """GET /previewer/instances/{id}/report: a Structured Report as HTML."""
    if request.query:
        raise HttpError(400, f"unknown query parameter '{sorted(request.query)[0][:100]}'", accepted=[])
    return report_response(store, request.params["id"])


#: Series modalities that hold presentation states and segmentations (PS3.3 C.7.3.1.1.1).
_OBJECT_MODALITIES = {"PR": "presentation", "SEG": "segmentation"}


def _summaries(store: Store, rest_get: Callable[[str], bytes], series_uid: str,
               study_series: list[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {"presentations": [], "segmentations": []}
    for other in study_series:
        name = _OBJECT_MODALITIES.get(str(other.get("MainDicomTags", {}).get("Modality", "")).upper())
        if name is None:
            continue
        for instance_id in other.get("Instances", []):
            try:
                parsed = parsed_object(store, name, instance_id)
            except (PixelError, HttpError):
                continue   # another kind of presentation state, or one that does not parse
            if name == "presentation":
                from .objects import presentation
                summary = presentation.summary(parsed)
            else:
                from .objects import segmentation
                summary = segmentation.summary(parsed)
            if series_uid in summary.get("series", ()):
                found[name + "s"].append({"id": instance_id, **summary})
    return found


def series_objects(store: Store, rest_get: Callable[[str], bytes], request: Request) -> Response:
    """GET /previewer/api/series/{id}/objects: the study's presentation states and segmentations of this series."""
    series_id = request.params["id"]
    if not ORTHANC_ID.fullmatch(series_id):
        raise HttpError(404, f"unknown series '{series_id[:100]}'", series=series_id[:100])
    try:
        series = json.loads(rest_get(f"/series/{series_id}"))
        study_series = json.loads(rest_get(f"/studies/{series['ParentStudy']}/series?expand"))
    except UnknownResource:
        raise HttpError(404, f"unknown series '{series_id}'", series=series_id) from None
    uid = str(series.get("MainDicomTags", {}).get("SeriesInstanceUID", ""))
    return Response.json(_summaries(store, rest_get, uid, study_series))
