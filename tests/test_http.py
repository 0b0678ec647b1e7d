"""The route table machinery: compilation, matching, dispatch and sending."""
from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.tag import Tag

import hostile
from previewer.objects import report
from previewer.pixels import render
from previewer.pixels.errors import Malformed, PixelError
from previewer.plugin.cache import LruCache
from previewer.plugin.endpoints import documents, images
from previewer.plugin.http import HttpError, Request, Response, Route, Router, bind, send
from previewer.plugin.store import Store

TEMPLATE = "/previewer/instances/{id}/frames/{frame:int}/png"


def _echo(request: Request) -> Response:
    return Response.json({"params": dict(request.params), "query": dict(request.query)})


def _fail(request: Request) -> Response:
    raise ValueError("boom")


class TestRoute:
    def test_regex_has_one_group_per_parameter(self) -> None:
        """The Orthanc regex has a group per parameter and matches the same paths."""
        regex = Route(TEMPLATE, _echo).regex
        assert regex == "/previewer/instances/([^/]+)/frames/([0-9]+)/png"
        assert re.fullmatch(regex, "/previewer/instances/abc/frames/12/png")

    def test_match_converts_parameters(self) -> None:
        """{frame:int} is converted to an int."""
        assert Route(TEMPLATE, _echo).match("/previewer/instances/a-b/frames/3/png") == {"id": "a-b", "frame": 3}

    def test_no_match_on_other_paths(self) -> None:
        """A path with a non-integer frame or extra segment does not match."""
        route = Route(TEMPLATE, _echo)
        assert route.match("/previewer/instances/a/frames/x/png") is None
        assert route.match("/previewer/instances/a/b/frames/1/png") is None

    def test_literal_characters_are_escaped(self) -> None:
        """A dot in a path is literal, not a wildcard."""
        route = Route("/previewer/viewer.js", _echo)
        assert route.match("/previewer/viewerXjs") is None
        assert route.match("/previewer/viewer.js") == {}


class TestRouter:
    def _router(self, errors: list[str] | None = None) -> Router:
        log = (errors.append if errors is not None else lambda message: None)
        return Router([Route(TEMPLATE, _echo), Route("/previewer/fail", _fail),
                       Route("/previewer/post", _echo, methods=["POST"])], log)

    def test_dispatches_with_params_and_query(self) -> None:
        """The endpoint sees converted path parameters and the query."""
        response = self._router().handle("GET", "/previewer/instances/x/frames/2/png", {"size": "64"}, {})
        assert json.loads(response.body) == {"params": {"id": "x", "frame": 2}, "query": {"size": "64"}}

    def test_wrong_method_is_405_with_allowed(self) -> None:
        """A method the route does not allow gets 405 and the Allow list."""
        response = self._router().handle("DELETE", "/previewer/instances/x/frames/2/png", {}, {})
        assert response.status == 405
        assert response.allow == "GET"
        assert json.loads(response.body)["allowed"] == ["GET"]

    def test_unknown_path_is_404(self) -> None:
        """A path no route matches gets a JSON 404."""
        response = self._router().handle("GET", "/previewer/nothing", {}, {})
        assert response.status == 404
        assert "no previewer route" in json.loads(response.body)["error"]

    def test_exception_is_logged_and_answered_500(self) -> None:
        """An unexpected exception is logged with its traceback and answered as JSON 500."""
        errors: list[str] = []
        response = self._router(errors).handle("GET", "/previewer/fail", {}, {})
        assert response.status == 500
        assert "Traceback" not in response.body.decode()
        assert len(errors) == 1 and "ValueError: boom" in errors[0]

    def test_http_error_keeps_details(self) -> None:
        """An HttpError becomes its status with its details in the JSON body."""
        def endpoint(request: Request) -> Response:
            raise HttpError(415, "cannot decode", transfer_syntax="1.2.3")
        response = Router([Route("/x", endpoint)], print).handle("GET", "/x", {}, {})
        assert response.status == 415
        assert json.loads(response.body) == {"error": "cannot decode", "status": 415, "transfer_syntax": "1.2.3"}


    def test_pixel_error_answers_its_status(self) -> None:
        """A PixelError an endpoint lets through answers its own 4xx and message, unlogged."""
        def endpoint(request: Request) -> Response:
            raise Malformed("(0028,0008) Number of Frames '1A' is not an integer")
        errors: list[str] = []
        response = Router([Route("/x", endpoint)], errors.append).handle("GET", "/x", {}, {})
        assert (response.status, json.loads(response.body)["error"], errors) == (
            415, "(0028,0008) Number of Frames '1A' is not an integer", [])

    def test_pixel_error_of_status_500_is_logged(self) -> None:
        """A PixelError without a 4xx status of its own is a bug too: a logged 500."""
        def endpoint(request: Request) -> Response:
            raise PixelError("no status")
        errors: list[str] = []
        response = Router([Route("/x", endpoint)], errors.append).handle("GET", "/x", {}, {})
        assert response.status == 500 and len(errors) == 1 and "PixelError: no status" in errors[0]


CT_ID = "11111111-22222222-33333333-44444444-55555555"
SR_ID = "aaaaaaaa-bbbbbbbb-cccccccc-dddddddd-eeeeeeee"
PNG = "/previewer/instances/{id}/png"
REPORT = "/previewer/instances/{id}/report"


def _file(name: str, keyword: str = "", element: DataElement | RawDataElement | None = None) -> bytes:
    """pydicom's test file ``name``, with ``element`` at ``keyword`` when given (unchecked)."""
    ds = pydicom.dcmread(get_testdata_file(name))
    if element is not None:
        ds[keyword] = element
    return hostile.unchecked_bytes(ds)


class TestBugOrBadFile:
    """A 4xx means bad input, a 500 a bug of ours: through the router, on real files."""

    @staticmethod
    def _answer(ct: bytes, sr: bytes, path: str) -> tuple[int, str, list[str]]:
        """(status, error, logged) of ``path`` through a Router over the real PNG and report endpoints."""
        files = {CT_ID: ct, SR_ID: sr}
        store = Store(dicom=files.__getitem__, version=lambda instance: str(hash(files[instance])),
                      cache=LruCache(2**24))
        errors: list[str] = []
        router = Router([Route(PNG, bind(images.frame_png, store)), Route(REPORT, bind(documents.report, store))],
                        errors.append)
        response = router.handle("GET", path.format(id=CT_ID if path == PNG else SR_ID), {}, {})
        body = json.loads(response.body) if response.media_type == "application/json" else {}
        return response.status, str(body.get("error", "")), errors

    def test_clean_files_answer(self) -> None:
        """pydicom's CT_small.dcm renders and test-SR.dcm's report is HTML: the routes work."""
        ct, sr = _file("CT_small.dcm"), _file("test-SR.dcm")
        assert self._answer(ct, sr, PNG) == (200, "", [])
        assert self._answer(ct, sr, REPORT) == (200, "", [])

    def test_malformed_image_is_415_naming_the_tag(self) -> None:
        """CT_small.dcm with (0028,1053) Rescale Slope 'abc' (an invalid DS, synthesized): 415 naming it."""
        slope = RawDataElement(Tag(0x00281053), "DS", 4, b"abc ", 0, False, True)
        status, error, logged = self._answer(_file("CT_small.dcm", "RescaleSlope", slope), _file("test-SR.dcm"), PNG)
        assert (status, logged) == (415, []) and error.startswith("(0028,1053) Rescale Slope 'abc'"), error

    def test_malformed_report_is_415_naming_the_tag(self) -> None:
        """test-SR.dcm with (0040,A073) Verifying Observer Sequence as text (synthesized): 415 naming it."""
        text = DataElement(0x0040A073, "LO", "not a sequence")
        status, error, logged = self._answer(_file("CT_small.dcm"), _file("test-SR.dcm", "VerifyingObserverSequence",
                                                                          text), REPORT)
        assert (status, logged) == (415, []) and "(0040,A073) Verifying Observer Sequence" in error, error

    @pytest.mark.parametrize(("module", "helper", "path"), [(render, "rescale_for_frame", PNG),
                                                           (report, "_header_lines", REPORT)])
    def test_injected_bug_is_a_logged_500(self, monkeypatch: pytest.MonkeyPatch, module: Any, helper: str,
                                          path: str) -> None:
        """A TypeError injected into a helper of the pixel pipeline or of the report module, on a clean file:
        a JSON 500 without the traceback, which goes to the log instead (never a 4xx 'malformed')."""
        def bug(*args: Any, **kwargs: Any) -> Any:
            raise TypeError("injected bug")
        monkeypatch.setattr(module, helper, bug)
        status, error, logged = self._answer(_file("CT_small.dcm"), _file("test-SR.dcm"), path)
        assert status == 500 and "internal error" in error and "Traceback" not in error
        assert len(logged) == 1 and "Traceback" in logged[0] and "TypeError: injected bug" in logged[0]
        assert f"previewer/{module.__name__.split('.', 1)[1].replace('.', '/')}.py" in logged[0]   # the caller's frame


class _Output:
    """Records the SDK calls that send() makes."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def __getattr__(self, name: str) -> Any:
        return lambda *args: self.calls.append((name, args))


class TestSend:
    def test_png_goes_through_compress_and_answer(self) -> None:
        """A PNG response is sent with its width, height and pitch."""
        output = _Output()
        pixels = np.zeros((3, 5), np.uint16)
        send(output, Response.png(pixels, "gray16"))
        assert output.calls == [("png", ("gray16", 5, 3, 10, pixels))]

    def test_error_sets_content_type_and_status(self) -> None:
        """A 4xx is sent with SendHttpStatus and a JSON content type."""
        output = _Output()
        send(output, Response.error(404, "nope"))
        assert output.calls[0] == ("set_header", ("Content-Type", "application/json"))
        assert output.calls[1][0] == "send_http_status" and output.calls[1][1][0] == 404

    def test_redirect_and_405_use_dedicated_calls(self) -> None:
        """301 goes through Redirect and 405 through SendMethodNotAllowed."""
        output = _Output()
        send(output, Response.redirect("/previewer/"))
        response = Response.error(405, "no")
        response.allow = "GET"
        send(output, response)
        assert output.calls == [("redirect", ("/previewer/",)), ("send_method_not_allowed", ("GET",))]

    def test_304_is_a_bare_status(self) -> None:
        """A 304 goes through SendHttpStatusCode, after the headers."""
        output = _Output()
        send(output, Response(status=304, headers={"ETag": '"x"'}))
        assert output.calls == [("set_header", ("ETag", '"x"')), ("send_http_status_code", (304,))]
