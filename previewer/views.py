"""The previewer's endpoints: instance PNGs (or JPEGs) and their information.

Endpoints are plain functions of a :class:`~previewer.routes.Request` that
return a :class:`~previewer.routes.Response`; :mod:`previewer.app` lists them
in the route table.  They reach Orthanc through :class:`Store`, so that they
can be tested with a store that is not Orthanc.

A frame is decoded once and kept, after the Modality LUT, in the store's
cache; a new window costs only the VOI step and the encoding.  Small renders
(thumbnails) are kept too, and so is the failure of a frame that cannot be
decoded (415, 413), so it is not decoded again.  Every request first asks the store for the
version of the instance (the UUID of its stored file): an unknown instance is
404 at once, so a deleted instance is never served from a cache, and the
version is part of every cache key and ETag, so a replaced file is never
mistaken for the old one.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import __version__, png, timing
from .cache import LruCache
from .objects import kind_of
from .pixels import decode, reader, render
from .pixels.errors import PixelError, TooLarge, Unsupported
from .pixels.params import RenderParams, parse_params
from .pixels.resize import area_resize, fit_size
from .routes import ORTHANC_ID, Endpoint, HttpError, Request, Response

#: Query parameters the PNG routes accept (others get 400).
PNG_PARAMETERS = frozenset({
    "window", "window-center", "window-width", "voi", "format", "invert",
    "size", "width", "height", "padding", "encoder", "quality",
    # Overlay planes (PS3.3 C.9.2): burned in unless overlays=0, in the overlay= colour.
    "overlays", "overlay",
    # Objects beyond images (previewer.objectviews): PDF pages, presentation states, segmentations.
    "page", "presentation", "segmentation", "opacity", "segments",
})
ENCODERS = ("orthanc", "fast")
#: Renders up to this size are cached whole: thumbnails (128x128 RGBA is 64 KiB)
#: and small previews.  Not full-size frames (a 512x512 gray8 is 256 KiB): a new
#: window is a new render, and a repeat is a 304 through the ETag, so caching
#: those only pushed decoded frames out of the cache.
SMALL_RENDER_BYTES = 64 * 1024


class UnknownInstance(LookupError):
    """The store has no instance of that ID."""


class NotImage(Unsupported):
    """The instance is a document, report, presentation state or segmentation: ``kind`` tells which."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"the instance is a {kind}, not an image")
        self.kind = kind


#: Renders a frame: (store, instance, version, frame index, parameters).
Renderer = Callable[["Store", str, str, int, RenderParams], render.Rendered]


@dataclass
class Store:
    """Where DICOM files come from (Orthanc, or a test double), and the caches."""

    dicom: Callable[[str], bytes]
    version: Callable[[str], str | None]
    cache: LruCache = field(default_factory=lambda: LruCache(256 * 2**20))
    max_megapixels: float | None = None
    encoder: str = "orthanc"
    #: Cold decodes allowed at once: bounds the memory and CPU they take.
    decode_slots: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(2))
    #: The file without a copy (Orthanc's own buffer), valid inside the block; ``dicom`` if None.
    borrow: Callable[[str], contextlib.AbstractContextManager[bytes | memoryview]] | None = None


def _check_id(instance_id: str) -> None:
    if not ORTHANC_ID.fullmatch(instance_id):
        raise HttpError(404, f"unknown instance '{instance_id[:100]}'", instance=instance_id[:100])


def _unknown(instance_id: str) -> HttpError:
    return HttpError(404, f"unknown instance '{instance_id}'", instance=instance_id)


@contextlib.contextmanager
def opened(store: Store, instance_id: str) -> Iterator[Any]:
    """The instance's dataset, valid inside the block only: its pixel data may be a
    view of the store's buffer, which is dropped on exit."""
    _check_id(instance_id)
    with contextlib.ExitStack() as stack:
        try:
            data = (stack.enter_context(store.borrow(instance_id)) if store.borrow is not None
                    else store.dicom(instance_id))
        except UnknownInstance:
            raise _unknown(instance_id) from None
        timing.mark("read")
        try:
            ds = decode.read_dataset(data)
        except PixelError:
            raise
        except Exception as error:  # noqa: BLE001 - an unreadable file is the client's 415
            raise HttpError(415, f"the instance is not a readable DICOM file: {error}",
                            instance=instance_id) from None
        try:
            yield ds
        finally:
            reader.release(ds)


def _pixel_error(error: PixelError, instance_id: str, frame: int | None = None) -> HttpError:
    details: dict[str, Any] = {"instance": instance_id}
    if frame is not None:
        details["frame"] = frame
    return HttpError(error.status, error.message, **details)


def _frame_size(frame: render.ModalityFrame) -> int:
    mask = frame.padding_mask.nbytes if frame.padding_mask is not None else 0
    overlays = sum(int(overlay.bitmap.nbytes) for overlay in frame.overlays)
    return int(frame.array.nbytes) + mask + overlays + 1024


def instance_version(store: Store, instance_id: str) -> str:
    """The instance's version; 404 (and its cache entries dropped) when it is gone."""
    _check_id(instance_id)
    version = store.version(instance_id)
    if version is None:
        store.cache.forget(instance_id)
        raise _unknown(instance_id)
    return version


@dataclass(frozen=True)
class _Undecodable:
    """A frame that failed to decode, kept in the cache like a frame.

    Undecodable (415) and too large (413) are properties of the stored file
    (a replaced file has another version, hence another key), so the next
    request gets its answer without decoding again: a failing decode can be
    slow, and pylibjpeg-libjpeg 2.5 leaks about 6.5 KB on each one.
    """

    kind: type[PixelError]
    message: str
    #: For a NotImage: the kind of object it is.
    object_kind: str = ""


_REMEMBERED_ERRORS = (Unsupported, TooLarge)


def _entry_size(value: render.ModalityFrame | _Undecodable) -> int:
    return _frame_size(value) if isinstance(value, render.ModalityFrame) else 1024


def modality_frame(store: Store, instance_id: str, version: str, index: int,
                   dataset: Any = None) -> render.ModalityFrame:
    """Frame ``index`` after the Modality LUT, from the cache or decoded now (from ``dataset`` if given)."""
    def decoded(ds: Any) -> render.ModalityFrame | _Undecodable:
        timing.mark("parse")
        kind = kind_of(ds)
        # A segmentation is an image too (its own frames render); these three have no pixels.
        if kind in ("pdf", "report", "presentation"):
            return _Undecodable(NotImage, "", kind)
        try:
            return render.modality_frame(ds, index, max_megapixels=store.max_megapixels)
        except _REMEMBERED_ERRORS as error:
            return _Undecodable(type(error), error.message)
        finally:
            timing.mark("decode")

    def decode() -> render.ModalityFrame | _Undecodable:
        with store.decode_slots:
            timing.mark("cache")
            if dataset is not None:
                return decoded(dataset)
            try:
                with opened(store, instance_id) as ds:
                    return decoded(ds)
            finally:
                timing.mark("read")  # giving the file back to Orthanc

    value: render.ModalityFrame | _Undecodable = store.cache.get_or_compute(
        (instance_id, version, "frame", index), decode, _entry_size)
    if isinstance(value, _Undecodable):
        if value.object_kind:
            raise NotImage(value.object_kind)
        raise value.kind(value.message)
    return value


def _downscaled(store: Store, instance_id: str, version: str, frame: render.ModalityFrame,
                params: RenderParams) -> tuple[render.ModalityFrame, RenderParams]:
    """The frame already fitted to the requested box, cached, and the parameters left to apply.

    Downscaling averages the modality values (or RGB samples) before the
    window, so that a new window on a large image costs only the small
    image's lookup; palette indices and padding masks cannot be averaged, and
    those frames are resized after display instead.
    """
    if (params.max_width is None and params.max_height is None) or frame.palette is not None \
            or frame.padding_mask is not None:
        return frame, params
    rows, cols = fit_size(frame.array.shape[0], frame.array.shape[1], params.max_width, params.max_height)
    if (rows, cols) == frame.array.shape[:2]:
        return frame, params
    def downscale() -> render.ModalityFrame:
        # Cold work like a decode: the same slots bound its float32 copy of the frame.
        with store.decode_slots:
            array = area_resize(frame.array, rows, cols)
        array.flags.writeable = False
        return dataclasses.replace(frame, array=array)

    key = (instance_id, version, "frame", frame.index, rows, cols)
    small: render.ModalityFrame = store.cache.get_or_compute(key, downscale, _frame_size)
    return small, dataclasses.replace(params, max_width=None, max_height=None)


def rendered_frame(store: Store, instance_id: str, version: str, index: int,
                   params: RenderParams) -> render.Rendered:
    """The rendered frame; small renders are cached whole."""
    key = (instance_id, version, "render", index, params.cache_key())
    cached: render.Rendered | None = store.cache.get(key)
    if cached is not None:
        return cached
    frame, remaining = _downscaled(store, instance_id, version,
                                   modality_frame(store, instance_id, version, index), params)
    timing.mark("cache")
    result = render.display(frame, remaining)
    timing.mark("lut")
    if result.array.nbytes <= SMALL_RENDER_BYTES:
        store.cache.put(key, result, int(result.array.nbytes) + 512)
    return result


def warm(store: Store, instance_id: str, thumbnail: RenderParams) -> None:
    """Decode frame 0 into the cache and pre-render its thumbnail (nothing for objects that are not images)."""
    with contextlib.suppress(NotImage):
        rendered_frame(store, instance_id, instance_version(store, instance_id), 0, thumbnail)


def _wants_jpeg(headers: Mapping[str, str]) -> bool:
    """True when the client's Accept asks for JPEG rather than PNG."""
    accepted = [part.split(";")[0].strip().lower() for part in headers.get("accept", "").split(",")]
    return "image/jpeg" in accepted and "image/png" not in accepted


def _options(request: Request, store: Store) -> tuple[RenderParams, str, int | None]:
    unknown = sorted(set(request.query) - PNG_PARAMETERS)
    if unknown:
        raise HttpError(400, f"unknown query parameter '{unknown[0][:100]}'", accepted=sorted(PNG_PARAMETERS))
    encoder = request.query.get("encoder", store.encoder)
    if encoder not in ENCODERS:
        raise HttpError(400, f"parameter 'encoder' must be one of {', '.join(ENCODERS)}, not {encoder[:100]!r}")
    text = request.query.get("quality", "90")
    if not text.isdigit() or not 1 <= int(text) <= 100:
        raise HttpError(400, f"parameter 'quality' must be an integer in 1..100, not {text[:100]!r}")
    return parse_params(request.query), encoder, (int(text) if _wants_jpeg(request.headers) else None)


def _etag(instance_id: str, version: str, frame: int, params: RenderParams, encoder: str,
          quality: int | None, variant: str) -> str:
    text = f"{__version__}|{instance_id}|{version}|{frame}|{params.cache_key()}|{encoder}|{quality}|{variant}"
    return '"' + hashlib.sha1(text.encode()).hexdigest()[:24] + '"'


def _matches(header: str, etag: str) -> bool:
    tags = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    return etag in tags or "*" in tags


def frame_png(store: Store, request: Request, renderer: Renderer | None = None,
              variant: Callable[[], str] | None = None) -> Response:
    """GET /previewer/instances/{id}/frames/{frame}/png (and /png for frame 0).

    ``renderer`` replaces :func:`rendered_frame`, and ``variant`` names what
    else it depends on (for the ETag): see :mod:`previewer.objectviews`.
    """
    timing.mark("dispatch")
    instance_id = request.params["id"]
    frame = int(request.params.get("frame", 0))
    try:
        params, encoder, quality = _options(request, store)
        timing.mark("parameters")
        version = instance_version(store, instance_id)
        timing.mark("version")
        etag = _etag(instance_id, version, frame, params, encoder, quality,
                     variant() if variant is not None else "")
        headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
        if _matches(request.headers.get("if-none-match", ""), etag):
            return Response(status=304, headers=headers)
        timing.mark("etag")
        rendered = (renderer or rendered_frame)(store, instance_id, version, frame, params)
    except PixelError as error:
        raise _pixel_error(error, instance_id, frame) from None
    if quality is not None:
        response = Response.jpeg(*_jpeg_pixels(rendered), quality)
    elif encoder == "fast":
        response = Response(body=png.encode(rendered.array, rendered.format), media_type="image/png")
        timing.mark("encode")
    else:
        response = Response.png(rendered.array, rendered.format)
    response.headers.update(headers)
    return response


def _jpeg_pixels(rendered: render.Rendered) -> tuple[Any, str]:
    """JPEG holds 8-bit grey or RGB: other formats are answered as their 8-bit twin."""
    array, name = rendered.array, rendered.format
    if name == "rgba32":
        return array[:, :, :3].copy(), "rgb24"
    if name in ("gray16", "signed16"):
        raise HttpError(400, f"format={name} cannot be sent as JPEG; ask for image/png")
    return array, name


def instance_info(store: Store, request: Request,
                  describe: Callable[[Any, dict[str, Any]], None] | None = None) -> Response:
    """GET /previewer/instances/{id}/info: what a viewer needs to show the instance.

    ``describe(dataset, info)`` adds what objects other than images need.
    """
    instance_id = request.params["id"]
    version = instance_version(store, instance_id)
    try:
        with opened(store, instance_id) as dataset:
            # Frame 0 comes from the cache when a render has decoded it already.
            info = render.info(dataset, max_megapixels=store.max_megapixels,
                               first_frame=lambda: modality_frame(store, instance_id, version, 0, dataset))
            info["kind"] = kind_of(dataset)
            if describe is not None:
                describe(dataset, info)
    except PixelError as error:
        raise _pixel_error(error, instance_id) from None
    return Response.json({"id": instance_id, **info})


def bind(store: Store, endpoint: Callable[[Store, Request], Response]) -> Endpoint:
    """An endpoint with its store filled in, for the route table."""
    def call(request: Request) -> Response:
        return endpoint(store, request)
    call.__name__ = endpoint.__name__
    call.__doc__ = endpoint.__doc__
    return call
