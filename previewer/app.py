"""The previewer's route table and its installation into Orthanc."""
from __future__ import annotations

from . import sdk, viewer, views
from .cache import LruCache
from .config import Config
from .pixels.params import parse_params
from .routes import Endpoint, Request, Response, Route, Router, send
from .views import Store, UnknownInstance
from .warmup import Warmer

PREFIX = "/previewer"

_warmers: list[Warmer] = []


def _dicom_from_orthanc(instance_id: str) -> bytes:
    try:
        return sdk.dicom_for_instance(instance_id)
    except sdk.OrthancError as error:
        if error.code in (sdk.ERROR_UNKNOWN_RESOURCE, sdk.ERROR_INEXISTENT_ITEM):
            raise UnknownInstance(instance_id) from None
        raise


def _stats(store: Store) -> Endpoint:
    def stats(request: Request) -> Response:
        """GET /previewer/stats: cache and warm-up counters."""
        warm = _warmers[0].stats.__dict__ if _warmers else None
        return Response.json({"cache": {**store.cache.stats.as_dict(), "entries": len(store.cache),
                                        "bytes": store.cache.size_bytes, "limit_bytes": store.cache.limit_bytes},
                              "warmup": warm})
    return stats


def routes(store: Store) -> list[Route]:
    """The explicit route table of the previewer."""
    return [
        Route(PREFIX + "/stats", _stats(store)),
        Route(PREFIX + "/instances/{id}/frames/{frame:int}/png", views.bind(store, views.frame_png)),
        Route(PREFIX + "/instances/{id}/png", views.bind(store, views.frame_png)),
        Route(PREFIX + "/instances/{id}/info", views.bind(store, views.instance_info)),
        *viewer.routes(viewer.orthanc_rest_get),  # last: it ends with the static catch-all
    ]


def _on_change(store: Store) -> sdk.ChangeHandler:
    def forget_deleted(change: str, resource_type: str, resource_id: str) -> None:
        if change == "deleted" and resource_type == "instance":
            store.cache.forget(resource_id)
    return forget_deleted


def _start_warmer(store: Store, config: Config) -> Warmer:
    thumbnail = parse_params({"size": str(config.thumbnail_size)})

    def work(instance_id: str) -> None:
        views.warm(store, instance_id, thumbnail)

    def failed(instance_id: str, error: BaseException) -> None:
        sdk.log_info(f"Orthanc Previewer: no warm-up for instance {instance_id}: {error}")

    warmer = Warmer(work, failed)
    warmer.start()
    def enqueue(instance: sdk.DicomInstance, instance_id: str) -> None:
        warmer.submit(instance_id)

    sdk.register_on_stored_instance(enqueue)
    return warmer


def install(config: Config) -> Router:
    """Register every route of the table with Orthanc, and the callbacks."""
    store = Store(dicom=_dicom_from_orthanc, version=sdk.instance_file_uuid,
                  cache=LruCache(config.cache_size_mb * 2**20),
                  max_megapixels=config.max_megapixels, encoder=config.png_encoder)
    router = Router(routes(store), sdk.log_error)

    def on_rest(output: sdk.RestOutput, url: str, request: sdk.HttpRequest) -> None:
        send(output, router.handle(request.method, url, request.query, request.headers, request.body))

    for regex in router.regexes():
        sdk.register_rest_callback(regex, on_rest, lock=config.serialize_requests)
    sdk.register_on_change(_on_change(store))
    if config.warm_on_ingest:
        _warmers.append(_start_warmer(store, config))
    return router


def shutdown() -> None:
    """Stop the background worker (called from the plugin's Finalize)."""
    while _warmers:
        _warmers.pop().stop()
