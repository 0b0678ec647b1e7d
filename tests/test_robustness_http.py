"""Hostile HTTP requests, query-parameter fuzzing, and authentication.

Raw requests go through http.client, so that neither requests nor urllib
normalises ``..`` or %-escapes before Orthanc sees them.
"""
from __future__ import annotations

import http.client
import os
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import CT_SMALL, MULTIFRAME_RGB
from orthanc_process import OrthancProcess

#: Examples per fuzzed route group; `make fuzz` raises it through the environment.
FUZZ_EXAMPLES = int(os.environ.get("PREVIEWER_FUZZ_EXAMPLES", "60"))
TIMEOUT = 30


def raw_get(process: OrthancProcess, target: str, method: str = "GET",
            headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
    """Send ``target`` byte for byte (no normalisation); (status, body, headers)."""
    connection = http.client.HTTPConnection("127.0.0.1", process.http_port, timeout=TIMEOUT)
    try:
        connection.putrequest(method, target, skip_host=False, skip_accept_encoding=True)
        for key, value in (headers or {}).items():
            connection.putheader(key, value)
        connection.endheaders()
        answer = connection.getresponse()
        return answer.status, answer.read(), {k.lower(): v for k, v in answer.getheaders()}
    finally:
        connection.close()


@pytest.fixture(scope="module")
def ids(orthanc: OrthancProcess) -> dict[str, str]:
    """IDs of every level for CT_small, and a multi-frame RGB instance."""
    instance = str(orthanc.upload(CT_SMALL)["ID"])
    info = orthanc.get(f"/instances/{instance}").json()
    series = info["ParentSeries"]
    study = orthanc.get(f"/series/{series}").json()["ParentStudy"]
    patient = orthanc.get(f"/studies/{study}").json()["ParentPatient"]
    return {"instance": instance, "series": series, "study": study, "patient": patient,
            "rgb": str(orthanc.upload(MULTIFRAME_RGB)["ID"])}


def _routes(ids: dict[str, str]) -> list[str]:
    instance = ids["instance"]
    return [f"/previewer/instances/{instance}/png", f"/previewer/instances/{instance}/frames/0/png",
            f"/previewer/instances/{instance}/info", "/previewer/stats", "/previewer/api/studies",
            f"/previewer/api/studies/{ids['study']}", f"/previewer/api/series/{ids['series']}",
            f"/previewer/api/instances/{instance}/tags", "/previewer/index.html"]


# --- path traversal -----------------------------------------------------------

STATIC_BODIES = {path.read_bytes() for path in (Path(__file__).resolve().parent.parent / "static").rglob("*")
                 if path.is_file()}
SECRETS = (b"root:", b"[core]", b'"HttpPort"', b"PRIVATE KEY", b"def install")
TRAVERSALS = [
    "/previewer/../../../../etc/passwd",
    "/previewer/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/previewer/%2E%2E%2F%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
    "/previewer/..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/previewer/%252e%252e/%252e%252e/etc/passwd",
    "/previewer/....//....//etc/passwd",
    "/previewer/..\\..\\..\\etc\\passwd",
    "/previewer/%5c..%5c..%5cetc%5cpasswd",
    "/previewer/static/../../previewer/plugin/main.py",
    "/previewer/%2e%2e/previewer/plugin/main.py",
    "/previewer/..%2fpyproject.toml",
    "/previewer/%2e%2e%2f.git/config",
    "/previewer/.git/config",
    "/previewer/%00index.html",
    "/previewer/index.html%00.png",
    "/previewer//etc/passwd",
    "/previewer/%2fetc%2fpasswd",
    "/previewer/..;/..;/etc/passwd",
    "/previewer/%e2%80%a5/%e2%80%a5/etc/passwd",
    "/previewer/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
]


@pytest.mark.parametrize("target", TRAVERSALS)
def test_path_traversal_never_leaves_static(orthanc: OrthancProcess, target: str) -> None:
    """Raw and encoded traversals never get a 5xx, nor any file but the viewer's own.

    Orthanc decodes %00 and cuts the path there, so ``index.html%00.png``
    is index.html (200) and ``%00index.html`` the folder (301): both stay
    inside static/.
    """
    status, body, _ = raw_get(orthanc, target)
    assert status < 500, (target, status, body[:200])
    assert not any(secret in body for secret in SECRETS), (target, body[:200])
    if status == 200:
        assert body in STATIC_BODIES, (target, body[:200])


# --- methods, IDs, query strings -------------------------------------------------

@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_other_methods_get_405_with_allow(orthanc: OrthancProcess, ids: dict[str, str], method: str) -> None:
    for route in _routes(ids):
        answer = orthanc.http.request(method, orthanc.url + route, data=b"x", timeout=TIMEOUT)
        assert answer.status_code == 405, (method, route, answer.status_code, answer.text[:200])
        assert answer.headers.get("Allow") == "GET", (route, answer.headers)


def test_head_is_answered_by_orthanc_webdav_with_404(orthanc: OrthancProcess, ids: dict[str, str]) -> None:
    """Orthanc 1.10 never passes HEAD to plugins: documented, not fought (README, HTTP routes)."""
    for route in _routes(ids) + ["/system"]:
        assert orthanc.http.head(orthanc.url + route, timeout=TIMEOUT).status_code == 404


@pytest.mark.parametrize("length", [41, 200, 5000, 60000])
def test_very_long_instance_ids(orthanc: OrthancProcess, length: int) -> None:
    """Long IDs get a 4xx, and the echoed ID in the error is bounded."""
    long_id = ("a" * length)
    for suffix in ("/png", "/info", "/frames/0/png"):
        status, body, _ = raw_get(orthanc, f"/previewer/instances/{long_id}{suffix}")
        assert 400 <= status < 500, (length, suffix, status)
        assert len(body) < 2000


def test_id_of_another_level_is_404(orthanc: OrthancProcess, ids: dict[str, str]) -> None:
    """A study / series / patient ID on an instance route, or an instance ID on a study route: 404."""
    for level in ("patient", "study", "series"):
        for suffix in ("/png", "/info", "/frames/0/png"):
            answer = orthanc.get(f"/previewer/instances/{ids[level]}{suffix}")
            assert answer.status_code == 404, (level, suffix, answer.text)
            assert answer.json()["error"]
        answer = orthanc.get(f"/previewer/api/instances/{ids[level]}/tags")
        assert answer.status_code == 404, (level, answer.text)
    assert orthanc.get(f"/previewer/api/studies/{ids['instance']}").status_code == 404
    assert orthanc.get(f"/previewer/api/series/{ids['study']}").status_code == 404


@pytest.mark.parametrize("suffix", ["/nosuchroute", "/frames/0/nosuchroute", "/png/extra", "/file.dcm"])
def test_unknown_route_under_an_instance_is_a_json_404_naming_it(orthanc: OrthancProcess, ids: dict[str, str],
                                                                  suffix: str) -> None:
    """/previewer/instances/{id}/nosuchroute names the unknown route, not a missing viewer file."""
    path = f"/previewer/instances/{ids['instance']}{suffix}"
    answer = orthanc.get(path)
    assert answer.status_code == 404, (path, answer.text[:200])
    body = answer.json()
    assert body["route"] == path
    assert body["error"].startswith(f"unknown route GET {path}:")
    assert "viewer file '" not in body["error"]


@pytest.mark.parametrize("query", [
    "a" * 70000, "window=" + "9" * 50000, "&&&&&&&&", "=", "==", "%", "%zz=%zz", "window=%ff%fe",
    "format=gray8&format=rgb24", "size=-1", "size=99999999999999999999999", "window=nan,nan",
    "window=1e309,1e309", "window=40,-1", "voi=999999999999", "quality=0", "encoder=../../x",
    "frame=1", "unknown=1", "window=1,1,cubic", ";".join(["x=1"] * 2000),
    "&".join(f"p{i}={i}" for i in range(3000)), "window-center=40", "width=0&height=0",
])
def test_malformed_query_strings(orthanc: OrthancProcess, ids: dict[str, str], query: str) -> None:
    """Oversized, malformed, repeated or unknown parameters: 4xx or an image, never 5xx."""
    for route in _routes(ids):
        status, body, _ = raw_get(orthanc, route + "?" + query)
        assert status < 500, (route, query[:80], status, body[:300])


# --- query fuzzing -------------------------------------------------------------------

_KEYS = ["window", "window-center", "window-width", "voi", "format", "invert", "size", "width",
         "height", "padding", "encoder", "quality", "q", "limit", "frame", "x"]
_VALUES = st.one_of(
    st.sampled_from(["", "0", "1", "-1", "40,400", "40,400,sigmoid", "1,0,linear_exact", "gray8",
                     "gray16", "signed16", "rgb24", "rgba32", "transparent", "fast", "orthanc",
                     "nan", "inf", "-inf", "1e308", "1e-308", "65536", "9" * 40, "0x10", "１２"]),
    st.text(max_size=40),
    st.integers(-2**70, 2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
_QUERIES = st.dictionaries(st.one_of(st.sampled_from(_KEYS), st.text(max_size=12)), _VALUES, max_size=6)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(query=_QUERIES, route=st.integers(0, 8), accept_jpeg=st.booleans())
def test_fuzz_query_parameters(orthanc: OrthancProcess, ids: dict[str, str], query: dict[str, str],
                               route: int, accept_jpeg: bool) -> None:
    """Random query strings on every route: never a 5xx, never a hang."""
    path = _routes(ids)[route]
    headers = {"Accept": "image/jpeg"} if accept_jpeg else {}
    target = path + "?" + urllib.parse.urlencode(query)
    status, body, _ = raw_get(orthanc, target, headers=headers)
    assert status < 500, (target, status, body[:300])


@settings(max_examples=max(10, FUZZ_EXAMPLES // 3), deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(frame=st.integers(0, 2**64), query=_QUERIES)
def test_fuzz_frame_numbers(orthanc: OrthancProcess, ids: dict[str, str], frame: int,
                            query: dict[str, str]) -> None:
    status, body, _ = raw_get(orthanc, f"/previewer/instances/{ids['rgb']}/frames/{frame}/png?"
                              + urllib.parse.urlencode(query))
    assert status < 500, (frame, query, status, body[:300])
    if frame > 1:
        assert status in (400, 404)


# --- authentication ------------------------------------------------------------------

@pytest.fixture(scope="module")
def auth_orthanc(tmp_path_factory: pytest.TempPathFactory, plugin_path: Path) -> Iterator[OrthancProcess]:
    process = OrthancProcess(tmp_path_factory.mktemp("auth"), extra={
        "AuthenticationEnabled": True, "RegisteredUsers": {"alice": "secret"}})
    process.http.auth = ("alice", "secret")
    process.start()
    yield process
    process.stop()


def test_authentication_guards_every_previewer_route(auth_orthanc: OrthancProcess) -> None:
    """Anonymous and wrong-password clients get 401 on every /previewer/ route; alice is served."""
    instance = str(auth_orthanc.upload(CT_SMALL)["ID"])
    info = auth_orthanc.get(f"/instances/{instance}").json()
    study = auth_orthanc.get(f"/series/{info['ParentSeries']}").json()["ParentStudy"]
    ids = {"instance": instance, "series": info["ParentSeries"], "study": study}
    routes = _routes(ids) + ["/previewer/", "/previewer", "/previewer/instances/x/png",
                             "/previewer/no-such-file.js"]
    for route in routes:
        anonymous = requests.get(auth_orthanc.url + route, timeout=TIMEOUT, allow_redirects=False)
        assert anonymous.status_code == 401, (route, anonymous.status_code)
        assert instance.encode() not in anonymous.content
        wrong = requests.get(auth_orthanc.url + route, auth=("alice", "wrong"), timeout=TIMEOUT,
                             allow_redirects=False)
        assert wrong.status_code == 401, route
    for route in _routes(ids):
        answer = auth_orthanc.http.get(auth_orthanc.url + route, timeout=TIMEOUT)
        assert answer.status_code == 200, (route, answer.status_code, answer.text[:200])
