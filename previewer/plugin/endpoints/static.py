"""The viewer's files under ``/previewer/``, and the Orthanc Explorer extension.

Static files
    ``static/`` is served under ``/previewer/`` with its media type, a strong
    ETag (``If-None-Match`` gives 304), ``Cache-Control: no-cache`` (the files
    are not versioned, so the browser revalidates each time and mostly gets a
    bodiless 304) and a Content-Security-Policy that allows scripts from the
    same origin only.  A requested path is resolved and checked for
    containment in the static folder with :func:`os.path.commonpath` before
    any file is opened.

Where the page lives
    Orthanc hands plugins a *flattened* URI: ``/previewer`` and ``/previewer/``
    both arrive as ``/previewer``, so the plugin cannot tell which one the
    browser asked for, yet the page's relative URLs need a base that ends in
    ``/previewer/``.  The page is therefore ``/previewer/index.html``, and
    ``/previewer`` answers a redirect to the *relative* location
    ``previewer/index.html``: from ``…/previewer`` that is
    ``…/previewer/index.html`` directly; from ``…/previewer/`` it is
    ``…/previewer/previewer/index.html``, which answers a second relative
    redirect to ``../index.html``.  Both forms thus reach the page under any
    path prefix (a reverse proxy at ``/pacs/`` included), which an absolute
    ``/previewer/`` location would not.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..http import PREFIX, HttpError, Request, Response, etag, not_modified

_PACKAGE = Path(__file__).resolve().parent.parent.parent

#: The viewer's files: the repository's ``static/`` folder, through the link
#: ``previewer/static`` (an installed package carries a copy of the folder there).
STATIC_ROOT = _PACKAGE / "static"

#: The Orthanc Explorer extension: a link to the viewer on each resource's page.
EXPLORER_JS = _PACKAGE / "plugin" / "explorer.js"

#: Served file extensions and their media types; other files are not served.
MEDIA_TYPES: dict[str, str] = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
}

#: No inline script or style, no plug-ins, nothing from another origin.
#: ``blob:`` images are the PNGs the viewer fetches and shows by object URL.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' blob: data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'self'",
])

STATIC_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def contained_file(root: Path, relative: str) -> Path:
    """The regular file ``relative`` inside ``root``, or a 404 :class:`HttpError`.

    The path is resolved (symbolic links and ``..`` included) and must stay
    within the resolved ``root``; hidden names and unknown extensions are not
    served.  Nothing is opened before these checks.
    """
    not_found = HttpError(404, f"no viewer file '{relative[:200]}'")
    if "\x00" in relative or "\\" in relative:
        raise not_found
    base = os.path.realpath(root)
    target = os.path.realpath(os.path.join(base, relative))
    if os.path.commonpath([base, target]) != base:
        raise not_found
    inside = Path(os.path.relpath(target, base)).parts
    if any(part.startswith(".") for part in inside):
        raise not_found
    if os.path.splitext(target)[1].lower() not in MEDIA_TYPES or not os.path.isfile(target):
        raise not_found
    return Path(target)


def static_file(root: Path, request: Request) -> Response:
    """GET /previewer/{path}: a file of the viewer, with ETag, caching and CSP headers."""
    relative = str(request.params.get("path", "")) or "index.html"
    if relative == "previewer/index.html":
        # The second hop from /previewer/ (see the module docstring).
        return Response.redirect("../index.html")
    if os.path.splitext(relative)[1].lower() not in MEDIA_TYPES:
        raise _unknown_route(request.method, relative)
    path = contained_file(root, relative)
    body = path.read_bytes()
    tag = etag(body)
    headers = {"ETag": tag, **STATIC_HEADERS}
    return not_modified(request, tag, headers) or Response(
        body=body, media_type=MEDIA_TYPES[path.suffix.lower()], headers=headers)


def _unknown_route(method: str, relative: str) -> HttpError:
    """A path under /previewer/ that no route matches and that cannot be a viewer file (no viewer file type)."""
    route = f"{PREFIX}/{relative[:200]}"
    return HttpError(404, f"unknown route {method.upper()} {route}: no previewer route has this path "
                          "(docs/API.md lists them), and it is not a viewer file", route=route)


def redirect_to_index(request: Request) -> Response:
    """GET /previewer: to the page, by a location relative to the request."""
    return Response.redirect("previewer/index.html")
