"""The plugin's one route table (previewer/plugin/table.py), dispatched without Orthanc."""
from __future__ import annotations

import json

import pytest

from previewer.plugin import table
from previewer.plugin.endpoints import api
from previewer.plugin.endpoints.links import Resolver
from previewer.plugin.http import PREFIX, HttpError, Request, Route, Router
from previewer.plugin.store import Store, UnknownInstance, UnknownResource
from test_api import SERIES_MR, STUDY_MR, UNKNOWN, FakeOrthanc

#: The public routes, in table order: users and scripts rely on every one of them.
PATHS = [
    "/previewer/stats",
    "/previewer/open",
    "/previewer/dicom-web/studies/{study}/series/{series}/instances/{instance}/rendered",
    "/previewer/dicom-web/studies/{study}/series/{series}/instances/{instance}/frames/{frames}/rendered",
    "/previewer/dicom-web/studies/{study}/series/{series}/instances/{instance}/thumbnail",
    "/previewer/dicom-web/studies/{study}/series/{series}/thumbnail",
    "/previewer/dicom-web/studies/{study}/series/{series}/rendered",
    "/previewer/dicom-web/studies/{study}/thumbnail",
    "/previewer/instances/{id}/frames/{frame:int}/png",
    "/previewer/instances/{id}/png",
    "/previewer/instances/{id}/info",
    "/previewer/instances/{id}/report",
    "/previewer/instances/{id}/document",
    "/previewer/instances/{id}/waveform",
    "/previewer/instances/{id}/frames/{frame:int}/pixels",
    "/previewer/series/{id}/mpr/{plane}/png",
    "/previewer/api/studies",
    "/previewer/api/studies/{id}",
    "/previewer/api/studies/{id}/measurements",
    "/previewer/api/studies/{id}/measurements",
    "/previewer/api/series/{id}",
    "/previewer/api/series/{id}/volume",
    "/previewer/api/series/{id}/objects",
    "/previewer/api/instances/{id}/tags",
    "/previewer/api/instances/{id}/summary",
    "/previewer/api/instances/{id}/structures/{rtstruct}",
    "/previewer",
    "/previewer/{path:path}",
]


def _no_file(instance_id: str) -> bytes:
    raise UnknownInstance(instance_id)


def _table(orthanc: FakeOrthanc) -> list[Route]:
    resolver = Resolver(lookup={}, rest_get=orthanc.rest_get, rest_post=lambda uri, body: b"[]")
    return table.routes(Store(dicom=_no_file, version=lambda _: None), orthanc.rest_get, resolver)


def _router(orthanc: FakeOrthanc) -> Router:
    return Router(_table(orthanc), print)


@pytest.fixture
def orthanc() -> FakeOrthanc:
    return FakeOrthanc()


class TestTable:
    def test_paths(self, orthanc: FakeOrthanc) -> None:
        """Every public route is in the one table, the static catch-all last."""
        assert [route.path for route in _table(orthanc)] == PATHS

    def test_every_route_is_under_the_prefix(self, orthanc: FakeOrthanc) -> None:
        """The table registers as one Orthanc callback, so no route may leave /previewer."""
        assert all(regex == PREFIX or regex.startswith(PREFIX + "/") for regex in _router(orthanc).regexes())

    def test_dispatch(self, orthanc: FakeOrthanc) -> None:
        """API paths reach the API, other paths the static files; errors are JSON."""
        router = _router(orthanc)
        assert json.loads(router.handle("GET", "/previewer/api/studies", {"q": "knee"}, {}).body)["matched"] == 1
        assert router.handle("GET", "/previewer/viewer.css", {}, {}).media_type.startswith("text/css")
        missing = router.handle("GET", f"/previewer/api/series/{UNKNOWN}", {}, {})
        assert missing.status == 404 and json.loads(missing.body)["series"] == UNKNOWN
        posted = router.handle("POST", "/previewer/api/studies", {}, {})
        assert posted.status == 405 and "GET" in posted.allow.split(",")

    def test_an_unknown_instance_is_a_json_404(self, orthanc: FakeOrthanc) -> None:
        """The PNG route reaches the store, whose unknown instance is a JSON 404 naming it."""
        response = _router(orthanc).handle("GET", f"/previewer/instances/{UNKNOWN}/png", {}, {})
        assert response.status == 404 and json.loads(response.body)["instance"] == UNKNOWN

    def test_stats_counts_the_cache(self, orthanc: FakeOrthanc) -> None:
        """/previewer/stats answers the store's cache counters (no warm-up here)."""
        answer = json.loads(_router(orthanc).handle("GET", "/previewer/stats", {}, {}).body)
        assert answer["warmup"] is None and answer["cache"]["entries"] == 0

    def test_unknown_resource_from_orthanc_elsewhere_is_404(self) -> None:
        """A resource that disappears between two calls is still a JSON 404."""
        def rest_get(uri: str) -> bytes:
            if uri.startswith("/studies/"):
                raise UnknownResource(uri)
            body = {"ID": SERIES_MR, "ParentStudy": STUDY_MR, "MainDicomTags": {}} if "instances" not in uri else []
            return json.dumps(body).encode()
        with pytest.raises(HttpError) as error:
            api.series(rest_get, Request("GET", "/", {"id": SERIES_MR}, {}, {}))
        assert error.value.status == 404


def test_core_routes_agree_with_the_c_part() -> None:
    """Orthanc's own image routes: the table's regexes are the ones native/entry.c registers when deferred."""
    import ast
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    sdk = ast.parse((root / "previewer" / "plugin" / "sdk.py").read_text())   # imports the compiled module
    deferred = next(ast.literal_eval(node.value) for node in ast.walk(sdk) if isinstance(node, ast.Assign)
                    and any(getattr(t, "id", "") == "DEFERRED_CORE_ROUTES" for t in node.targets))
    regexes = Router(table.core_routes(Store(dicom=lambda _: b"", version=lambda _: None), lambda _: b""), print).regexes()
    assert [route.path for route in table.core_routes(Store(dicom=lambda _: b"", version=lambda _: None), lambda _: b"")] == [
        "/instances/{id}/preview", "/instances/{id}/frames/{frame:int}/preview",
        "/instances/{id}/rendered", "/instances/{id}/frames/{frame:int}/rendered"]
    source = (root / "native" / "entry.c").read_text()
    block = source[source.index("PREVIEWER_CORE_ROUTES[] = {"):]
    in_c = re.findall(r'"([^"]+)"', block[:block.index("};")])
    assert regexes == in_c == list(deferred)
