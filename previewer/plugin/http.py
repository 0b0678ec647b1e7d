"""HTTP for the endpoints: routes, requests, responses, their dispatch, and the checks all share.

Routes are an explicit list of :class:`Route` (in the style of Starlette), each
compiled to the regular expression Orthanc registers; the list itself is
:mod:`previewer.plugin.table`.  One dispatcher turns a REST callback into a
:class:`Request`, runs the endpoint, and sends its :class:`Response` through
the SDK.  Endpoints never see the SDK's output object, and errors always
leave as JSON.  The helpers every endpoint uses live here once: resource IDs
(:func:`check_id`), unknown query parameters (:func:`check_query`), ETags
(:func:`etag`, :func:`not_modified`) and :func:`bind`.
"""
from __future__ import annotations

import functools
import hashlib
import json
import re
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..pixels.errors import PixelError

#: Where every route of the plugin lives.
PREFIX = "/previewer"

#: Orthanc's resource identifiers: the SHA-1 of the DICOM identifiers, in five groups.
ORTHANC_ID = re.compile(r"[0-9a-f]{8}(?:-[0-9a-f]{8}){4}")

_PARAM = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)(?::(str|int|path))?}")
_CONVERTERS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "str": ("[^/]+", str),
    "int": ("[0-9]+", int),
    "path": (".*", str),
}


class HttpError(Exception):
    """An error answered as ``{"error": message, ...details}`` with ``status``."""

    def __init__(self, status: int, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    params: Mapping[str, Any]
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes = b""


@dataclass
class Response:
    """A complete answer: ``body`` bytes with a media type, or a PNG of ``pixels``."""

    status: int = 200
    body: bytes = b""
    media_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    pixels: Any = None           # numpy array, answered through CompressAndAnswerPngImage
    pixel_format: str = ""
    jpeg_quality: int = 0        # > 0: answered through CompressAndAnswerJpegImage
    location: str = ""           # for redirects
    allow: str = ""              # for 405

    @classmethod
    def json(cls, value: Any, status: int = 200) -> Response:
        return cls(status=status, body=json.dumps(value).encode("utf-8"))

    @classmethod
    def error(cls, status: int, message: str, **details: Any) -> Response:
        return cls.json({"error": message, "status": status, **details}, status)

    @classmethod
    def png(cls, pixels: Any, pixel_format: str) -> Response:
        return cls(pixels=pixels, pixel_format=pixel_format, media_type="image/png")

    @classmethod
    def jpeg(cls, pixels: Any, pixel_format: str, quality: int) -> Response:
        return cls(pixels=pixels, pixel_format=pixel_format, jpeg_quality=quality, media_type="image/jpeg")

    @classmethod
    def redirect(cls, location: str) -> Response:
        return cls(status=301, location=location)


Endpoint = Callable[[Request], Response]


def bind(endpoint: Callable[..., Response], *first: Any, **options: Any) -> Endpoint:
    """``endpoint(*first, request, **options)`` as an endpoint of the route table."""
    def call(request: Request) -> Response:
        return endpoint(*first, request, **options)
    call.__name__ = endpoint.__name__
    call.__doc__ = endpoint.__doc__
    return call


def check_id(kind: str, resource_id: str) -> str:
    """``resource_id`` if it has the form of an Orthanc ID, else a 404 naming the ``kind`` of resource."""
    if not ORTHANC_ID.fullmatch(resource_id):
        raise HttpError(404, f"unknown {kind} '{resource_id[:100]}'", **{kind: resource_id[:100]})
    return resource_id


def check_query(query: Mapping[str, str], accepted: Iterable[str] = ()) -> None:
    """400 naming the first query parameter that is not ``accepted``, and listing those that are."""
    allowed = list(accepted)
    unknown = sorted(set(query) - set(allowed))
    if unknown:
        raise HttpError(400, f"unknown query parameter '{unknown[0][:100]}'", accepted=allowed)


def etag(*parts: object) -> str:
    """A strong ETag of ``parts`` (bytes are hashed as they are, anything else as its text)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else str(part).encode("utf-8"))
        digest.update(b"\0")
    return '"' + digest.hexdigest()[:32] + '"'


def not_modified(request: Request, tag: str, headers: Mapping[str, str]) -> Response | None:
    """A 304 with ``headers`` if the request's If-None-Match names ``tag`` (weak comparison, RFC 9110 13.1.2)."""
    header = request.headers.get("if-none-match", "")
    if not header:
        return None
    candidates = [part.strip().removeprefix("W/") for part in header.split(",")]
    if tag in candidates or "*" in candidates:
        return Response(status=304, headers=dict(headers))
    return None


@dataclass(frozen=True)
class Route:
    """``path`` with ``{name}``, ``{name:int}`` or ``{name:path}`` parameters."""

    path: str
    endpoint: Endpoint
    methods: Sequence[str] = ("GET",)

    @property
    def allowed(self) -> tuple[str, ...]:
        # No HEAD: Orthanc 1.10 hands HEAD requests to its WebDAV server, never
        # to plugins, so announcing it in Allow would be untrue.
        return tuple(m.upper() for m in self.methods)

    def _parts(self) -> tuple[str, list[tuple[str, Callable[[str], Any]]]]:
        pattern, converters, last = "", [], 0
        for found in _PARAM.finditer(self.path):
            regex, convert = _CONVERTERS[found.group(2) or "str"]
            pattern += re.escape(self.path[last:found.start()]) + "(" + regex + ")"
            converters.append((found.group(1), convert))
            last = found.end()
        return pattern + re.escape(self.path[last:]), converters

    @property
    def regex(self) -> str:
        """The regular expression registered with Orthanc (one group per parameter)."""
        return self._parts()[0].replace("\\/", "/").replace("\\-", "-")

    @functools.cached_property
    def _compiled(self) -> tuple[re.Pattern[str], list[tuple[str, Callable[[str], Any]]]]:
        # Built once: matching runs for every route on every request.
        pattern, converters = self._parts()
        return re.compile(pattern), converters

    def match(self, path: str) -> dict[str, Any] | None:
        pattern, converters = self._compiled
        found = pattern.fullmatch(path)
        if found is None:
            return None
        return {name: convert(value) for (name, convert), value in zip(converters, found.groups())}


class Output(Protocol):
    """The part of :class:`previewer.plugin.sdk.RestOutput` the dispatcher uses."""

    def answer(self, body: bytes, mime_type: str) -> None: ...
    def png(self, format_name: str, width: int, height: int, pitch: int, pixels: Any) -> None: ...
    def jpeg(self, format_name: str, width: int, height: int, pitch: int, pixels: Any,
             quality: int) -> None: ...
    def redirect(self, location: str) -> None: ...
    def send_http_status_code(self, status: int) -> None: ...
    def send_http_status(self, status: int, body: bytes) -> None: ...
    def send_method_not_allowed(self, allowed: str) -> None: ...
    def set_header(self, key: str, value: str) -> None: ...


class Router:
    """Dispatch REST callbacks to the first route whose path matches."""

    def __init__(self, routes: Sequence[Route], log_error: Callable[[str], None]) -> None:
        self.routes = list(routes)
        self._log_error = log_error

    def regexes(self) -> list[str]:
        """One Orthanc regex per distinct route path, in table order."""
        seen: dict[str, None] = {}
        for route in self.routes:
            seen.setdefault(route.regex, None)
        return list(seen)

    def handle(self, method: str, path: str, query: Mapping[str, str],
               headers: Mapping[str, str], body: bytes = b"") -> Response:
        """The response for one request; never raises.

        Only the errors that name what is wrong with the request or the file
        answer their own status: :class:`HttpError`, and a
        :class:`~previewer.pixels.errors.PixelError` an endpoint left as it
        is.  Any other exception is a bug of the previewer: a JSON 500, and
        its traceback in Orthanc's log.
        """
        try:
            return self._handle(method, path, query, headers, body)
        except HttpError as error:
            return Response.error(error.status, error.message, **error.details)
        except PixelError as error:
            if error.status < 500:
                return Response.error(error.status, error.message)
            return self._internal_error(method, path)
        except Exception:  # noqa: BLE001 - logged, answered as a JSON 500
            return self._internal_error(method, path)

    def _internal_error(self, method: str, path: str) -> Response:
        """The JSON 500 of the exception being handled, its traceback logged."""
        self._log_error(f"Orthanc Previewer: error answering {method} {path}:\n{traceback.format_exc()}")
        return Response.error(500, "internal error in the previewer; the traceback is in Orthanc's log")

    def _handle(self, method: str, path: str, query: Mapping[str, str],
                headers: Mapping[str, str], body: bytes) -> Response:
        allowed: list[str] = []
        for route in self.routes:
            params = route.match(path)
            if params is None:
                continue
            if method not in route.allowed:
                allowed.extend(m for m in route.allowed if m not in allowed)
                continue
            return route.endpoint(Request(method, path, params, query, headers, body))
        if allowed:
            response = Response.error(405, f"method {method} is not allowed on {path}",
                                      allowed=allowed)
            response.allow = ",".join(allowed)
            return response
        raise HttpError(404, f"no previewer route for {path}")


def send(output: Output, response: Response) -> None:
    """Send ``response`` through the SDK call that Orthanc requires for its status."""
    for key, value in response.headers.items():
        output.set_header(key, value)
    if response.status in (301, 302, 303, 307, 308):
        output.redirect(response.location)
    elif response.status == 405:
        output.send_method_not_allowed(response.allow)
    elif response.pixels is not None:
        pixels = response.pixels
        height, width = pixels.shape[:2]
        if response.jpeg_quality:
            output.jpeg(response.pixel_format, width, height, pixels.strides[0], pixels, response.jpeg_quality)
        else:
            output.png(response.pixel_format, width, height, pixels.strides[0], pixels)
    elif response.status == 200:
        output.answer(response.body, response.media_type)
    elif response.status >= 400:
        output.set_header("Content-Type", response.media_type)
        output.send_http_status(response.status, response.body)
    else:
        output.send_http_status_code(response.status)
