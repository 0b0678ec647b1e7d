"""Deep links by DICOM identifiers: ``GET /previewer/open?StudyInstanceUID=…``.

Other systems know UIDs and accession numbers, not Orthanc's IDs.  The link
is resolved with the SDK's lookup functions and answered with a redirect to
the viewer showing exactly that patient, study, series or image.  Unknown
values get a friendly 404 page naming what was looked up: HTML, or plain text
on an Orthanc that shows error bodies as plain text (1.12.2 and later).
"""
from __future__ import annotations

import html
import json
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ...series import order_instances
from ..http import HttpError, Request, Response, check_query
from ..store import RestGet, UnknownResource

#: The identifiers a link may carry, in the order they are tried.
KEYS = ("SOPInstanceUID", "SeriesInstanceUID", "StudyInstanceUID", "AccessionNumber", "PatientID")
OPTIONS = ("frame", "window")


@dataclass(frozen=True)
class Resolver:
    """Orthanc's lookups (each returns an Orthanc ID or None) and its REST API."""

    lookup: Mapping[str, Callable[[str], str | None]]   # keyed by KEYS
    rest_get: RestGet                                    # raises UnknownResource
    rest_post: Callable[[str, bytes], bytes]

    def get(self, uri: str) -> Any:
        return json.loads(self.rest_get(uri))

    def find_studies(self, key: str, value: str) -> list[str]:
        """Orthanc IDs of every study whose ``key`` equals ``value``."""
        query = {"Level": "Study", "Query": {key: value}, "Expand": False}
        return list(json.loads(self.rest_post("/tools/find", json.dumps(query).encode())))


#: Since Orthanc 1.12.2 (its fix of an XSS through error answers) the core adds
#: "Content-Type: text/plain" to every error answer with a body that a plugin
#: sends, after the plugin's own Content-Type header, and browsers go by the
#: last one: an HTML 404 page would show as its source.
TEXT_ERRORS_SINCE = (1, 12, 2)


def errors_shown_as_text(version: str) -> bool:
    """True if an Orthanc of this version (``/system``'s "Version") sends error bodies as text/plain."""
    numbers = version.split(".")
    if not all(number.isdigit() for number in numbers):
        return True   # "mainline" and other development builds are newer than any release
    return tuple(int(number) for number in numbers) >= TEXT_ERRORS_SINCE


def not_found_page(key: str, value: str, plain: bool = False) -> Response:
    """A small page that says what was looked up and was not found: HTML, or plain text if ``plain``."""
    if plain:
        # A byte order mark: the browser's last Content-Type (Orthanc's) has no charset.
        text = f"\ufeffNothing found\n\nNo {key.replace('UID', ' UID')} '{value}' is stored in this Orthanc.\n"
        return Response(status=404, body=text.encode("utf-8"), media_type="text/plain; charset=utf-8")
    shown_key, shown_value = html.escape(key), html.escape(value)
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Not found · Orthanc Previewer</title>
<link rel="stylesheet" href="viewer.css"></head>
<body class="not-found"><main>
<h1>Nothing found</h1>
<p>No {shown_key.replace("UID", " UID")} <code>{shown_value}</code> is stored in this Orthanc.</p>
<p><a href="./">Browse the studies</a></p>
</main></body></html>
"""
    return Response(status=404, body=body.encode("utf-8"), media_type="text/html; charset=utf-8")


def _not_found(resolver: Resolver, key: str, value: str) -> Response:
    try:
        version = str(resolver.get("/system").get("Version", ""))
    except UnknownResource:
        version = "0"
    return not_found_page(key, value, plain=errors_shown_as_text(version))


def _viewer(fragment: str, query: Mapping[str, str] | None = None) -> Response:
    """A redirect to the viewer, relative to /previewer/open (so any prefix works)."""
    suffix = "?" + urllib.parse.urlencode(query, safe=",") if query else ""
    return Response.redirect("./#/" + fragment + suffix)


def _options(request: Request) -> dict[str, str]:
    check_query(request.query, (*KEYS, *OPTIONS))
    options: dict[str, str] = {}
    if "window" in request.query:
        parts = request.query["window"].split(",")
        try:
            center, width = (float(part) for part in parts[:2])
        except ValueError:
            raise HttpError(400, "parameter 'window' must be 'center,width'") from None
        if len(parts) != 2 or width <= 0:
            raise HttpError(400, "parameter 'window' must be 'center,width' with width > 0")
        options["window"] = f"{center:g},{width:g}"
    if "frame" in request.query:
        frame = request.query["frame"]
        if not frame.isdigit():
            raise HttpError(400, f"parameter 'frame' must be a frame index >= 0, not {frame[:100]!r}")
        options["frame"] = frame
    return options


def _image_index(resolver: Resolver, series_id: str, instance_id: str, frame: int) -> int:
    """The 1-based position of (instance, frame) among the series' images in viewing order."""
    ordered, _ = order_instances(resolver.get(f"/series/{series_id}/instances?expand"))
    position = 0
    for row in ordered:
        if row["id"] == instance_id:
            if frame >= row["frames"]:
                raise HttpError(404, f"the instance has {row['frames']} frame(s); there is no frame {frame}")
            return position + frame + 1
        position += row["frames"]
    raise HttpError(404, f"instance {instance_id} is not in its series any more")


def _study_or_list(resolver: Resolver, key: str, value: str, study_id: str) -> Response:
    studies = resolver.find_studies(key, value)
    if len(studies) > 1:
        return _viewer("", {"q": value})
    return _viewer(f"study/{urllib.parse.quote(studies[0] if studies else study_id)}")


def open_link(resolver: Resolver, request: Request) -> Response:
    """GET /previewer/open?StudyInstanceUID=…|AccessionNumber=…|PatientID=…|SeriesInstanceUID=…|SOPInstanceUID=…"""
    options = _options(request)
    given = [key for key in KEYS if request.query.get(key)]
    if not given:
        raise HttpError(400, "give one of " + ", ".join(KEYS), accepted=list(KEYS))
    key = given[0]
    value = request.query[key]
    found = resolver.lookup[key](value)
    if found is None:
        return _not_found(resolver, key, value)
    view = {name: options[name] for name in ("window",) if name in options}
    try:
        if key == "SOPInstanceUID":
            series_id = resolver.get(f"/instances/{found}")["ParentSeries"]
            image = _image_index(resolver, series_id, found, int(options.get("frame", "0")))
            return _viewer(f"series/{urllib.parse.quote(series_id)}", {"image": str(image), **view})
        if key == "SeriesInstanceUID":
            return _viewer(f"series/{urllib.parse.quote(found)}", view or None)
        if key == "PatientID":
            studies = resolver.get(f"/patients/{found}")["Studies"]
            if len(studies) == 1:
                return _viewer(f"study/{urllib.parse.quote(studies[0])}")
            return _viewer("", {"q": value})
        if key == "AccessionNumber":
            return _study_or_list(resolver, key, value, found)
        return _viewer(f"study/{urllib.parse.quote(found)}")
    except UnknownResource:
        return _not_found(resolver, key, value)
