"""The previewer's route table and its installation into Orthanc."""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

from . import dicomweb, framedata, links, objectviews, sdk, timing, viewer, views
from .cache import LruCache
from .config import Config
from .events import EventPump, Handler
from .pixels.params import parse_params
from .routes import Endpoint, HttpError, Request, Response, Route, Router, send
from .views import Store, UnknownInstance
from .warmup import Warmer

PREFIX = "/previewer"

_warmers: list[Warmer] = []
_pumps: list[EventPump] = []


def _read_error(instance_id: str, error: sdk.OrthancError) -> Exception:
    if isinstance(error, sdk.OrthancNotFound):
        return UnknownInstance(instance_id)
    # Orthanc answers -1 for the ID of another resource level, and any
    # code when the instance vanished mid-read: tell those apart from a
    # storage area that cannot read an existing file.
    if sdk.instance_file_uuid(instance_id) is None:
        return UnknownInstance(instance_id)
    return HttpError(503, f"Orthanc cannot read the DICOM file of instance {instance_id}: "
                          f"{error.description}", instance=instance_id)


def _dicom_from_orthanc(instance_id: str) -> bytes:
    try:
        return sdk.dicom_for_instance(instance_id)
    except sdk.OrthancError as error:
        raise _read_error(instance_id, error) from None


@contextlib.contextmanager
def _borrowed_from_orthanc(instance_id: str) -> Iterator[memoryview]:
    """The DICOM file in Orthanc's own buffer (no copy), valid inside the block."""
    with contextlib.ExitStack() as stack:
        try:
            view = stack.enter_context(sdk.borrowed_dicom(instance_id))
        except sdk.OrthancError as error:
            raise _read_error(instance_id, error) from None
        yield view


def _stats(store: Store) -> Endpoint:
    def stats(request: Request) -> Response:
        """GET /previewer/stats: cache and warm-up counters."""
        warm = _warmers[0].stats.__dict__ if _warmers else None
        return Response.json({"cache": {**store.cache.stats.as_dict(), "entries": len(store.cache),
                                        "bytes": store.cache.size_bytes, "limit_bytes": store.cache.limit_bytes},
                              "warmup": warm})
    return stats


def _series_objects(store: Store) -> Endpoint:
    def series_objects(request: Request) -> Response:
        """GET /previewer/api/series/{id}/objects."""
        return objectviews.series_objects(store, viewer.orthanc_rest_get, request)
    return series_objects


EXPLORER_JS = Path(__file__).resolve().parent / "assets" / "explorer.js"


def _resolver() -> links.Resolver:
    return links.Resolver(
        lookup={
            "PatientID": sdk.lookup_patient,
            "StudyInstanceUID": sdk.lookup_study,
            "AccessionNumber": sdk.lookup_study_with_accession_number,
            "SeriesInstanceUID": sdk.lookup_series,
            "SOPInstanceUID": sdk.lookup_instance,
        },
        rest_get=viewer.orthanc_rest_get,
        rest_post=sdk.rest_api_post,
    )


def _dicomweb_routes(store: Store, resolver: links.Resolver, thumbnail_size: int) -> list[Route]:
    base = PREFIX + "/dicom-web/studies/{study}"
    instance = base + "/series/{series}/instances/{instance}"

    def rendered(request: Request) -> Response:
        return dicomweb.rendered(store, resolver, request)

    def instance_thumbnail(request: Request) -> Response:
        return dicomweb.rendered(store, resolver, request, thumbnail=thumbnail_size)

    def thumbnail(request: Request) -> Response:
        return dicomweb.thumbnail(store, resolver, request, thumbnail_size)

    def series_rendered(request: Request) -> Response:
        return dicomweb.thumbnail(store, resolver, request, None)

    return [
        Route(instance + "/rendered", rendered),
        Route(instance + "/frames/{frames}/rendered", rendered),
        Route(instance + "/thumbnail", instance_thumbnail),
        Route(base + "/series/{series}/thumbnail", thumbnail),
        Route(base + "/series/{series}/rendered", series_rendered),
        Route(base + "/thumbnail", thumbnail),
    ]


def routes(store: Store, thumbnail_size: int = 128) -> list[Route]:
    """The explicit route table of the previewer."""
    resolver = _resolver()

    def open_link(request: Request) -> Response:
        return links.open_link(resolver, request)

    return [
        Route(PREFIX + "/stats", _stats(store)),
        Route(PREFIX + "/open", open_link),
        *_dicomweb_routes(store, resolver, thumbnail_size),
        Route(PREFIX + "/instances/{id}/frames/{frame:int}/png", views.bind(store, objectviews.frame_png)),
        Route(PREFIX + "/instances/{id}/png", views.bind(store, objectviews.frame_png)),
        Route(PREFIX + "/instances/{id}/info", views.bind(store, objectviews.instance_info)),
        Route(PREFIX + "/instances/{id}/report", views.bind(store, objectviews.report)),
        Route(PREFIX + "/instances/{id}/document", views.bind(store, objectviews.document)),
        Route(PREFIX + "/api/series/{id}/objects", _series_objects(store)),
        Route(PREFIX + "/instances/{id}/frames/{frame:int}/pixels", framedata.endpoint(store)),
        *viewer.routes(viewer.orthanc_rest_get, thumbnail_size=thumbnail_size),  # last: static catch-all
    ]


def _start_warmer(store: Store, config: Config) -> Warmer:
    thumbnail = parse_params({"size": str(config.thumbnail_size)})

    def work(instance_id: str) -> None:
        views.warm(store, instance_id, thumbnail)

    def failed(instance_id: str, error: BaseException) -> None:
        sdk.log_info(f"Orthanc Previewer: no warm-up for instance {instance_id}: {error}")

    warmer = Warmer(work, failed)
    warmer.start()
    return warmer


def install(config: Config) -> Router:
    """Register every route of the table with Orthanc, and the callbacks."""
    store = Store(dicom=_dicom_from_orthanc, version=sdk.instance_file_uuid,
                  cache=LruCache(config.cache_size_mb * 2**20),
                  max_megapixels=config.max_megapixels, encoder=config.png_encoder,
                  decode_slots=threading.Semaphore(config.decode_concurrency),
                  borrow=_borrowed_from_orthanc)
    router = Router(routes(store, config.thumbnail_size), sdk.log_error)

    def on_rest(output: sdk.RestOutput, url: str, request: sdk.HttpRequest) -> None:
        response = router.handle(request.method, url, request.query, request.headers, request.body)
        timing.mark("response")
        send(output, response)
        timing.mark("answer")

    # One registration for the whole table: Orthanc tests every registered
    # regex on every HTTP request (its own routes' too), and the router
    # matches the path again anyway.
    if not all(regex == PREFIX or regex.startswith(PREFIX + "/") for regex in router.regexes()):
        raise RuntimeError(f"a previewer route is outside {PREFIX}")
    sdk.register_rest_callback(PREFIX + "(/.*)?", on_rest, lock=config.serialize_requests)
    if not sdk.deferred():   # when deferred, native/entry.c extended it with the same file
        sdk.extend_orthanc_explorer(EXPLORER_JS.read_text(encoding="utf-8"))
    handlers: dict[str, Handler] = {"deleted": store.cache.forget}
    if config.warm_on_ingest:
        _warmers.append(_start_warmer(store, config))
        handlers["stored"] = _warmers[-1].submit
    _pumps.append(EventPump(handlers, sdk.log_error))
    _pumps[-1].start()
    return router


def shutdown() -> None:
    """Stop the background threads (called from the plugin's Finalize)."""
    while _pumps:
        _pumps.pop().stop()
    while _warmers:
        _warmers.pop().stop()
