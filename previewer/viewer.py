"""The browser viewer: its static files under ``/previewer/`` and its JSON API.

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

JSON API
    ``/previewer/api/…`` answers small summaries built from Orthanc's own REST
    API (``OrthancPluginRestApiGet``): the sorting and summarising is done here
    so that the viewer only draws.  Every endpoint takes the ``rest_get``
    callable as a parameter (see :func:`bind`), so it runs in tests without
    Orthanc; ``rest_get`` raises :class:`UnknownResource` for an unknown ID.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .routes import ORTHANC_ID, HttpError, Request, Response, Route

PREFIX = "/previewer"

#: The viewer's files: the repository's ``static/`` folder, through the link
#: ``previewer/static`` (an installed package carries a copy of the folder there).
STATIC_ROOT = Path(__file__).resolve().parent / "static"

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

#: Box of the thumbnails the viewer asks for, in pixels.
DEFAULT_THUMBNAIL_SIZE = 128

#: At most this many studies in one answer of /api/studies (``limit`` lowers it).
MAX_STUDIES = 5000

#: An Orthanc resource ID: the SHA-1 of its DICOM UIDs in five dash-separated groups.

RestGet = Callable[[str], bytes]


class UnknownResource(LookupError):
    """Orthanc has no resource at that URI."""


# --- static files -----------------------------------------------------------

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


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _etag_matches(header: str, etag: str) -> bool:
    """True if an If-None-Match header names ``etag`` (weak comparison, RFC 9110 13.1.2)."""
    candidates = [part.strip() for part in header.split(",")]
    return "*" in candidates or any(c.removeprefix("W/") == etag for c in candidates)


def static_file(root: Path, request: Request) -> Response:
    """GET /previewer/{path}: a file of the viewer, with ETag, caching and CSP headers."""
    relative = str(request.params.get("path", "")) or "index.html"
    if relative == "previewer/index.html":
        # The second hop from /previewer/ (see the module docstring).
        return Response.redirect("../index.html")
    path = contained_file(root, relative)
    body = path.read_bytes()
    etag = _etag(body)
    headers = {"ETag": etag, **STATIC_HEADERS}
    if _etag_matches(request.headers.get("if-none-match", ""), etag):
        return Response(status=304, headers=headers)
    return Response(body=body, media_type=MEDIA_TYPES[path.suffix.lower()], headers=headers)


def redirect_to_index(request: Request) -> Response:
    """GET /previewer: to the page, by a location relative to the request."""
    return Response.redirect("previewer/index.html")


# --- reading Orthanc -----------------------------------------------------------

def _check_id(kind: str, resource_id: str) -> str:
    if not ORTHANC_ID.fullmatch(resource_id):
        raise HttpError(404, f"unknown {kind} '{resource_id}'", **{kind: resource_id})
    return resource_id


def _get(rest_get: RestGet, uri: str, kind: str = "", resource_id: str = "") -> Any:
    """Orthanc's JSON answer for ``uri``; an unknown resource gives a 404 naming it."""
    try:
        return json.loads(rest_get(uri))
    except UnknownResource:
        if kind:
            raise HttpError(404, f"unknown {kind} '{resource_id}'", **{kind: resource_id}) from None
        raise HttpError(404, f"Orthanc has no resource at {uri}") from None


def _tag(tags: Mapping[str, Any], name: str) -> str:
    value = tags.get(name)
    return value.strip() if isinstance(value, str) else ""


def _int(text: str) -> int | None:
    try:
        return int(text.strip())
    except (AttributeError, ValueError):
        try:
            value = float(text)
        except (TypeError, ValueError):
            return None
        return int(value) if math.isfinite(value) else None


def _floats(text: str, count: int) -> tuple[float, ...] | None:
    """A DICOM multi-valued decimal string (``a\\b\\c``) of exactly ``count`` finite values."""
    parts = text.split("\\") if text else []
    if len(parts) != count:
        return None
    try:
        values = tuple(float(part) for part in parts)
    except ValueError:
        return None
    return values if all(math.isfinite(v) for v in values) else None


def _patient(tags: Mapping[str, Any]) -> dict[str, str]:
    return {
        "name": _tag(tags, "PatientName"),
        "patient_id": _tag(tags, "PatientID"),
        "birth_date": _tag(tags, "PatientBirthDate"),
        "sex": _tag(tags, "PatientSex"),
    }


def _study_fields(study: Mapping[str, Any]) -> dict[str, Any]:
    tags = study.get("MainDicomTags", {})
    return {
        "id": study["ID"],
        "date": _tag(tags, "StudyDate"),
        "time": _tag(tags, "StudyTime"),
        "description": _tag(tags, "StudyDescription"),
        "accession": _tag(tags, "AccessionNumber"),
        "study_id": _tag(tags, "StudyID"),
        "institution": _tag(tags, "InstitutionName"),
    }


def _series_fields(series: Mapping[str, Any]) -> dict[str, Any]:
    tags = series.get("MainDicomTags", {})
    return {
        "id": series["ID"],
        "number": _int(_tag(tags, "SeriesNumber")),
        "modality": _tag(tags, "Modality"),
        "description": _tag(tags, "SeriesDescription") or _tag(tags, "ProtocolName"),
        "date": _tag(tags, "SeriesDate"),
        "time": _tag(tags, "SeriesTime"),
        "body_part": _tag(tags, "BodyPartExamined"),
    }


# --- slice order ---------------------------------------------------------------

def _normal(orientation: tuple[float, ...]) -> tuple[float, float, float] | None:
    """The unit slice normal, row x column direction cosines (PS3.3 C.7.6.2.1.1)."""
    r, c = orientation[:3], orientation[3:]
    n = (r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0])
    length = math.sqrt(sum(x * x for x in n))
    if length < 1e-6:
        return None
    return (n[0] / length, n[1] / length, n[2] / length)


def _dot(a: Iterable[float], b: Iterable[float]) -> float:
    return sum(x * y for x, y in zip(a, b))


def order_instances(instances: Sequence[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], str]:
    """The instances of a series in viewing order, and how that order was found.

    With an Image Position (Patient) and one common Image Orientation
    (Patient) on every instance, the order is the position along the slice
    normal (PS3.3 C.7.6.2.1.1), in the direction in which the Instance
    Numbers grow when they are known (so a head-first CT still starts at the
    head); ties keep Instance Number order.  Otherwise the order is Instance
    Number, then Orthanc's arrival order.  Each summary carries ``location``,
    the position along its own normal in mm, when it has one.
    """
    rows: list[dict[str, Any]] = []
    normals: list[tuple[float, float, float] | None] = []
    for index, instance in enumerate(instances):
        tags = instance.get("MainDicomTags", {})
        position = _floats(_tag(tags, "ImagePositionPatient"), 3)
        orientation = _floats(_tag(tags, "ImageOrientationPatient"), 6)
        normal = _normal(orientation) if orientation else None
        frames = _int(_tag(tags, "NumberOfFrames"))
        rows.append({
            "id": instance["ID"],
            "uid": _tag(tags, "SOPInstanceUID") or None,
            "number": _int(_tag(tags, "InstanceNumber")),
            "frames": frames if frames and frames > 0 else 1,
            "position": list(position) if position else None,
            "location": round(_dot(position, normal), 4) if position and normal else None,
            "_arrival": (instance.get("IndexInSeries") or 0, index),
        })
        normals.append(normal)

    def by_number(row: dict[str, Any]) -> tuple[Any, ...]:
        number = row["number"]
        return (number is None, number if number is not None else 0, row["_arrival"])

    first = normals[0] if normals else None
    geometric = (
        len(rows) > 1 and first is not None
        and all(row["position"] is not None for row in rows)
        and all(n is not None and _dot(n, first) > 0.9999 for n in normals)
    )
    if geometric:
        assert first is not None
        along = {row["id"]: _dot(row["position"], first) for row in rows}
        ordered = sorted(rows, key=lambda row: (along[row["id"]], by_number(row)))
        numbers = [row["number"] for row in ordered if row["number"] is not None]
        if len(numbers) > 1 and numbers[0] > numbers[-1]:
            ordered = sorted(rows, key=lambda row: (-along[row["id"]], by_number(row)))
        method = "position"
    else:
        ordered = sorted(rows, key=by_number)
        method = "instance-number"
    for row in ordered:
        del row["_arrival"]
    return ordered, method


# --- the API -------------------------------------------------------------------

def _only(request: Request, accepted: Iterable[str]) -> None:
    unknown = sorted(set(request.query) - set(accepted))
    if unknown:
        raise HttpError(400, f"unknown query parameter '{unknown[0]}'", accepted=sorted(accepted))


def _searchable(study: Mapping[str, Any]) -> str:
    date = study["date"]
    iso = f"{date[:4]}-{date[4:6]}-{date[6:]}" if len(date) == 8 else ""
    patient = study["patient"]
    return "\n".join([
        patient["name"], patient["name"].replace("^", " "), patient["patient_id"],
        date, iso, " ".join(study["modalities"]), study["description"],
        study["accession"], study["study_id"], *study["series_descriptions"],
    ]).lower()


def matches(study: Mapping[str, Any], query: str) -> bool:
    """True if every word of ``query`` is found in one of the study's searchable fields."""
    text = _searchable(study)
    return all(word in text for word in query.lower().split())


def studies(rest_get: RestGet, request: Request) -> Response:
    """GET /previewer/api/studies?q=&limit=: studies, grouped by patient, filtered by ``q``.

    ``q`` holds words that must all appear in the patient's name or ID, the
    study date (YYYYMMDD or YYYY-MM-DD), a modality, the study or a series
    description, the accession number or the study ID (case-insensitive).
    """
    _only(request, ("q", "limit"))
    limit = MAX_STUDIES
    if "limit" in request.query:
        limit = _int(request.query["limit"]) or 0
        if not 1 <= limit <= MAX_STUDIES:
            raise HttpError(400, f"Parameter 'limit' must be an integer from 1 to {MAX_STUDIES}, "
                            f"got {request.query['limit']!r}")
    query = request.query.get("q", "").strip()
    all_series = _get(rest_get, "/series?expand")
    by_study: dict[str, list[dict[str, Any]]] = {}
    for series in all_series:
        by_study.setdefault(series.get("ParentStudy", ""), []).append(series)
    found: list[dict[str, Any]] = []
    total = 0
    for study in _get(rest_get, "/studies?expand"):
        total += 1
        children = by_study.get(study["ID"], [])
        summary = _study_fields(study)
        summary["patient"] = {"id": study.get("ParentPatient", ""),
                              **_patient(study.get("PatientMainDicomTags", {}))}
        modalities = {_tag(s.get("MainDicomTags", {}), "Modality") for s in children}
        summary["modalities"] = sorted(m for m in modalities if m)
        summary["series"] = len(children)
        summary["instances"] = sum(len(s.get("Instances", [])) for s in children)
        summary["series_descriptions"] = sorted(
            {d for d in (_tag(s.get("MainDicomTags", {}), "SeriesDescription") for s in children) if d})
        if matches(summary, query):
            found.append(summary)
    # Patients by name (nameless ones last) then ID; each patient's studies newest first.
    found.sort(key=lambda s: (s["date"], s["time"]), reverse=True)
    found.sort(key=lambda s: (not s["patient"]["name"], s["patient"]["name"].lower(),
                              s["patient"]["patient_id"], s["patient"]["id"]))
    for summary in found:
        del summary["series_descriptions"]
    return Response.json({
        "query": query,
        "total": total,
        "matched": len(found),
        "truncated": len(found) > limit,
        "studies": found[:limit],
    })


def _series_sort_key(series: Mapping[str, Any]) -> tuple[Any, ...]:
    number = series["number"]
    return (number is None, number or 0, series["date"], series["time"], series["description"])


def study(rest_get: RestGet, request: Request, thumbnail_size: int = DEFAULT_THUMBNAIL_SIZE) -> Response:
    """GET /previewer/api/studies/{id}: the study and its series, each with a thumbnail.

    A series' thumbnail is its middle image (instance and frame) in viewing order.
    """
    _only(request, ())
    study_id = _check_id("study", request.params["id"])
    found = _get(rest_get, f"/studies/{study_id}", "study", study_id)
    series_list = _get(rest_get, f"/studies/{study_id}/series?expand", "study", study_id)
    instances = _get(rest_get, f"/studies/{study_id}/instances?expand", "study", study_id)
    by_series: dict[str, list[dict[str, Any]]] = {}
    for instance in instances:
        by_series.setdefault(instance.get("ParentSeries", ""), []).append(instance)
    summaries = []
    for series in series_list:
        summary = _series_fields(series)
        ordered, _ = order_instances(by_series.get(series["ID"], []))
        summary["instances"] = len(ordered)
        summary["frames"] = sum(row["frames"] for row in ordered)
        summary["thumbnail"] = _middle_image(ordered)
        summary["kind"] = _series_kind(series)
        summaries.append(summary)
    summaries.sort(key=_series_sort_key)
    return Response.json({
        **_study_fields(found),
        "patient": {"id": found.get("ParentPatient", ""), **_patient(found.get("PatientMainDicomTags", {}))},
        "thumbnail_size": thumbnail_size,
        "series": summaries,
    })


#: Series modalities of objects that are not images (PS3.3 C.7.3.1.1.1); video is shown like images.
_MODALITY_KINDS = {"PR": "presentation", "SEG": "segmentation", "SR": "report", "KO": "report", "DOC": "pdf"}


def _series_kind(series: Mapping[str, Any]) -> str:
    """What the series holds, from its Modality alone (a study stays three REST calls); /info tells exactly."""
    modality = str(series.get("MainDicomTags", {}).get("Modality", "")).strip().upper()
    return _MODALITY_KINDS.get(modality, "image")


def _middle_image(ordered: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The instance and frame halfway through a series' images."""
    remaining = sum(row["frames"] for row in ordered) // 2
    for row in ordered:
        if remaining < row["frames"]:
            return {"instance": row["id"], "frame": remaining}
        remaining -= row["frames"]
    return None


def series(rest_get: RestGet, request: Request) -> Response:
    """GET /previewer/api/series/{id}: the series' images in viewing order.

    ``instances`` lists every instance with its frame count, so that the
    viewer steps through slices and through the frames of multi-frame
    instances alike; ``order`` tells how the order was found (see
    :func:`order_instances`).
    """
    _only(request, ())
    series_id = _check_id("series", request.params["id"])
    found = _get(rest_get, f"/series/{series_id}", "series", series_id)
    instances = _get(rest_get, f"/series/{series_id}/instances?expand", "series", series_id)
    parent = _get(rest_get, f"/studies/{found['ParentStudy']}")
    ordered, method = order_instances(instances)
    return Response.json({
        **_series_fields(found),
        "study": _study_fields(parent),
        "patient": {"id": parent.get("ParentPatient", ""), **_patient(parent.get("PatientMainDicomTags", {}))},
        "order": method,
        "frames": sum(row["frames"] for row in ordered),
        "instances": ordered,
    })


def _flatten_tags(tags: Mapping[str, Any], depth: int, rows: list[dict[str, Any]]) -> None:
    for tag in sorted(tags):
        entry = tags[tag]
        kind = entry.get("Type", "")
        value = entry.get("Value")
        row: dict[str, Any] = {"tag": tag.upper(), "name": entry.get("Name", ""), "depth": depth}
        if kind == "Sequence" and isinstance(value, list):
            row["value"] = f"sequence of {len(value)} item{'s' if len(value) != 1 else ''}"
            rows.append(row)
            for number, item in enumerate(value, 1):
                rows.append({"tag": "", "name": f"item {number}", "value": "", "depth": depth + 1})
                if isinstance(item, dict):
                    _flatten_tags(item, depth + 2, rows)
            continue
        if kind == "TooLong":
            row["value"] = "(too long to show)"
        elif isinstance(value, str):
            row["value"] = value
        else:
            row["value"] = ""
        rows.append(row)


def instance_tags(rest_get: RestGet, request: Request) -> Response:
    """GET /previewer/api/instances/{id}/tags: the instance's tags as rows to show.

    Each row is ``{tag, name, value, depth}``; sequences are followed by
    their items, one ``depth`` deeper.
    """
    _only(request, ())
    instance_id = _check_id("instance", request.params["id"])
    tags = _get(rest_get, f"/instances/{instance_id}/tags", "instance", instance_id)
    rows: list[dict[str, Any]] = []
    _flatten_tags(tags, 0, rows)
    return Response.json({"id": instance_id, "tags": rows})


# --- wiring ---------------------------------------------------------------------

def orthanc_rest_get(uri: str) -> bytes:
    """``sdk.rest_api_get``, with Orthanc's unknown-resource errors as :class:`UnknownResource`."""
    # Imported here: sdk loads only inside Orthanc, and this module is tested without it.
    from . import sdk

    try:
        return sdk.rest_api_get(uri)
    except sdk.OrthancNotFound:
        raise UnknownResource(uri) from None


def bind(rest_get: RestGet, endpoint: Callable[..., Response], **options: Any) -> Callable[[Request], Response]:
    """An API endpoint with its ``rest_get`` (and options) filled in, for the route table."""
    def call(request: Request) -> Response:
        return endpoint(rest_get, request, **options)
    call.__name__ = endpoint.__name__
    call.__doc__ = endpoint.__doc__
    return call


def routes(rest_get: RestGet, *, static_root: Path = STATIC_ROOT,
           thumbnail_size: int = DEFAULT_THUMBNAIL_SIZE) -> list[Route]:
    """The viewer's routes.  The last one catches every other ``/previewer/…``
    path, so these routes go after the rest of the table."""
    def static(request: Request) -> Response:
        return static_file(static_root, request)

    return [
        Route(PREFIX + "/api/studies", bind(rest_get, studies)),
        Route(PREFIX + "/api/studies/{id}", bind(rest_get, study, thumbnail_size=thumbnail_size)),
        Route(PREFIX + "/api/series/{id}", bind(rest_get, series)),
        Route(PREFIX + "/api/instances/{id}/tags", bind(rest_get, instance_tags)),
        Route(PREFIX, redirect_to_index),
        Route(PREFIX + "/{path:path}", static),
    ]
