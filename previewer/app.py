"""The previewer's route table and its installation into Orthanc."""
from __future__ import annotations

from . import sdk, views
from .config import Config
from .routes import Route, Router, send
from .views import Store, UnknownInstance

PREFIX = "/previewer"


def _dicom_from_orthanc(instance_id: str) -> bytes:
    try:
        return sdk.dicom_for_instance(instance_id)
    except sdk.OrthancError as error:
        if error.code in (sdk.ERROR_UNKNOWN_RESOURCE, sdk.ERROR_INEXISTENT_ITEM):
            raise UnknownInstance(instance_id) from None
        raise


def routes(store: Store) -> list[Route]:
    """The explicit route table of the previewer."""
    return [
        Route(PREFIX + "/instances/{id}/frames/{frame:int}/png", views.bind(store, views.frame_png)),
        Route(PREFIX + "/instances/{id}/png", views.bind(store, views.frame_png)),
        Route(PREFIX + "/instances/{id}/info", views.bind(store, views.instance_info)),
    ]


def install(config: Config) -> Router:
    """Register every route of the table with Orthanc."""
    store = Store(dicom=_dicom_from_orthanc, max_megapixels=config.max_megapixels)
    router = Router(routes(store), sdk.log_error)

    def on_rest(output: sdk.RestOutput, url: str, request: sdk.HttpRequest) -> None:
        send(output, router.handle(request.method, url, request.query, request.headers, request.body))

    for regex in router.regexes():
        sdk.register_rest_callback(regex, on_rest, lock=config.serialize_requests)
    return router
