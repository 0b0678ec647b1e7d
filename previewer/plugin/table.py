"""The route table of the plugin: every route under ``/previewer``, in one explicit list.

The last route, the viewer's static files, catches every path the others do
not match.  :mod:`.main` registers the whole table with Orthanc as one REST
callback.  Nothing here needs Orthanc: the tests build the same table over a
store and a REST API of their own.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from .endpoints import (api, core, dicomweb, documents, images, links, measurements, pixels, static, structures, summary,
                        volumes, waveforms)
from .http import PREFIX, Request, Response, Route, bind
from .store import RestGet, Store


# --- the table --------------------------------------------------------------------

def _no_warmup() -> None:
    return None


def routes(store: Store, rest_get: RestGet, resolver: links.Resolver, *, thumbnail_size: int = 128,
           warmup: Callable[[], Mapping[str, int] | None] = _no_warmup,
           static_root: Path = static.STATIC_ROOT,
           rest_post: measurements.RestPost | None = None) -> list[Route]:
    """Every route of the plugin; the static catch-all is last.

    ``warmup`` gives the warm-up's counters for ``/previewer/stats``; ``rest_post`` (Orthanc's
    REST API, POST) stores the measurement reports.
    """
    instance = PREFIX + "/instances/{id}"
    web = PREFIX + "/dicom-web/studies/{study}"
    web_instance = web + "/series/{series}/instances/{instance}"

    def files(request: Request) -> Response:
        return static.static_file(static_root, request)

    return [
        Route(PREFIX + "/stats", bind(api.stats, store, warmup)),
        Route(PREFIX + "/open", bind(links.open_link, resolver)),
        # DICOMweb rendered resources (PS3.18 8.3.5), addressed by UIDs.
        Route(web_instance + "/rendered", bind(dicomweb.rendered, store, resolver)),
        Route(web_instance + "/frames/{frames}/rendered", bind(dicomweb.rendered, store, resolver)),
        Route(web_instance + "/thumbnail", bind(dicomweb.rendered, store, resolver, thumbnail=thumbnail_size)),
        Route(web + "/series/{series}/thumbnail", bind(dicomweb.thumbnail, store, resolver, size=thumbnail_size)),
        Route(web + "/series/{series}/rendered", bind(dicomweb.thumbnail, store, resolver, size=None)),
        Route(web + "/thumbnail", bind(dicomweb.thumbnail, store, resolver, size=thumbnail_size)),
        # Instances by Orthanc ID.
        Route(instance + "/frames/{frame:int}/png", bind(images.frame_png, store)),
        Route(instance + "/png", bind(images.frame_png, store)),
        Route(instance + "/info", bind(images.instance_info, store, rest_get=rest_get)),
        Route(instance + "/report", bind(documents.report, store)),
        Route(instance + "/document", bind(documents.document, store)),
        Route(instance + "/waveform", bind(waveforms.waveform, store)),
        Route(instance + "/frames/{frame:int}/pixels", bind(pixels.frame_pixels, store)),
        # Planes through a series' volume.
        Route(PREFIX + "/series/{id}/mpr/{plane}/png", bind(volumes.mpr_png, rest_get, store)),
        # The viewer's API.
        Route(PREFIX + "/api/studies", bind(api.studies, rest_get)),
        Route(PREFIX + "/api/studies/{id}", bind(api.study, rest_get, thumbnail_size=thumbnail_size)),
        Route(PREFIX + "/api/studies/{id}/measurements", bind(measurements.read, rest_get, store)),
        Route(PREFIX + "/api/studies/{id}/measurements", bind(measurements.save, rest_get, rest_post, store),
              ("POST",)),
        Route(PREFIX + "/api/series/{id}", bind(api.series, rest_get)),
        Route(PREFIX + "/api/series/{id}/volume", bind(volumes.volume, rest_get, store)),
        Route(PREFIX + "/api/series/{id}/objects", bind(api.series_objects, rest_get, store)),
        Route(PREFIX + "/api/instances/{id}/tags", bind(api.instance_tags, rest_get)),
        Route(PREFIX + "/api/instances/{id}/summary", bind(summary.instance_summary, store, rest_get, resolver)),
        Route(PREFIX + "/api/instances/{id}/structures/{rtstruct}", bind(structures.contours, store)),
        # The viewer itself: last, its path catches everything else.
        Route(PREFIX, static.redirect_to_index),
        Route(PREFIX + "/{path:path}", files),
    ]


def core_routes(store: Store, rest_get: RestGet) -> list[Route]:
    """Orthanc's own image routes, answered by the previewer when "CoreRoutes" is on (:mod:`.endpoints.core`)."""
    instance = "/instances/{id}"
    return [
        Route(instance + "/preview", bind(core.image, store, rest_get, rendered_route=False)),
        Route(instance + "/frames/{frame:int}/preview", bind(core.image, store, rest_get, rendered_route=False)),
        Route(instance + "/rendered", bind(core.image, store, rest_get, rendered_route=True)),
        Route(instance + "/frames/{frame:int}/rendered", bind(core.image, store, rest_get, rendered_route=True)),
    ]
