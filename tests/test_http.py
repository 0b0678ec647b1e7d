"""The route table machinery: compilation, matching, dispatch and sending."""
from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

from previewer.plugin.http import HttpError, Request, Response, Route, Router, send

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
