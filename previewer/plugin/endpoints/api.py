"""The viewer's JSON API under ``/previewer/api/``, and ``/previewer/stats``.

``/previewer/api/…`` answers small summaries built from Orthanc's own REST
API (``OrthancPluginRestApiGet``): the sorting and summarising is done here
so that the viewer only draws.  Every endpoint takes the ``rest_get``
callable (and the store, where it needs one) as its first parameters, filled
in by :func:`previewer.plugin.http.bind`, so it runs in tests without
Orthanc; ``rest_get`` raises :class:`UnknownResource` for an unknown ID.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from ...objects.dates import iso_date
from ...pixels.errors import PixelError
from ...series import integer, middle_image, order_instances, tag
from ...series import kind as series_kind
from ..http import HttpError, Request, Response, check_id, check_query
from ..store import RestGet, Store, UnknownResource, parsed_object

_UID = re.compile(r"[0-9]+(\.[0-9]+)*")

#: Box of the thumbnails the viewer asks for, in pixels.
DEFAULT_THUMBNAIL_SIZE = 128

#: At most this many studies in one answer of /api/studies (``limit`` lowers it).
MAX_STUDIES = 5000


def _get(rest_get: RestGet, uri: str, kind: str = "", resource_id: str = "") -> Any:
    """Orthanc's JSON answer for ``uri``; an unknown resource gives a 404 naming it."""
    try:
        return json.loads(rest_get(uri))
    except UnknownResource:
        if kind:
            raise HttpError(404, f"unknown {kind} '{resource_id}'", **{kind: resource_id}) from None
        raise HttpError(404, f"Orthanc has no resource at {uri}") from None


def _patient(tags: Mapping[str, Any]) -> dict[str, str]:
    return {
        "name": tag(tags, "PatientName"),
        "patient_id": tag(tags, "PatientID"),
        "birth_date": tag(tags, "PatientBirthDate"),
        "sex": tag(tags, "PatientSex"),
    }


def _study_fields(study: Mapping[str, Any]) -> dict[str, Any]:
    tags = study.get("MainDicomTags", {})
    return {
        "id": study["ID"],
        "date": tag(tags, "StudyDate"),
        "time": tag(tags, "StudyTime"),
        "description": tag(tags, "StudyDescription"),
        "accession": tag(tags, "AccessionNumber"),
        "study_id": tag(tags, "StudyID"),
        "institution": tag(tags, "InstitutionName"),
    }


def _series_fields(series: Mapping[str, Any]) -> dict[str, Any]:
    tags = series.get("MainDicomTags", {})
    return {
        "id": series["ID"],
        "number": integer(tag(tags, "SeriesNumber")),
        "modality": tag(tags, "Modality"),
        "description": tag(tags, "SeriesDescription") or tag(tags, "ProtocolName"),
        "date": tag(tags, "SeriesDate"),
        "time": tag(tags, "SeriesTime"),
        "body_part": tag(tags, "BodyPartExamined"),
    }


# --- the API -------------------------------------------------------------------

def _date_key(value: str) -> str:
    """A DA value that sorts by the calendar: YYYY-MM-DD when it is a date in either form (legacy YYYY.MM.DD too)."""
    return iso_date(value) or value


def _searchable(study: Mapping[str, Any]) -> str:
    date = study["date"]
    iso = iso_date(date) or ""
    patient = study["patient"]
    return "\n".join([
        patient["name"], patient["name"].replace("^", " "), patient["patient_id"],
        date, iso, iso.replace("-", ""), " ".join(study["modalities"]), study["description"],
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
    check_query(request.query, ("q", "limit"))
    limit = MAX_STUDIES
    if "limit" in request.query:
        limit = integer(request.query["limit"]) or 0
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
        modalities = {tag(s.get("MainDicomTags", {}), "Modality") for s in children}
        summary["modalities"] = sorted(m for m in modalities if m)
        summary["series"] = len(children)
        summary["instances"] = sum(len(s.get("Instances", [])) for s in children)
        summary["series_descriptions"] = sorted(
            {d for d in (tag(s.get("MainDicomTags", {}), "SeriesDescription") for s in children) if d})
        if matches(summary, query):
            found.append(summary)
    # Patients by name (nameless ones last) then ID; each patient's studies newest first.
    found.sort(key=lambda s: (_date_key(s["date"]), s["time"]), reverse=True)
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
    return (number is None, number or 0, _date_key(series["date"]), series["time"], series["description"])


def _other_studies(rest_get: RestGet, study: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The patient's other studies (same Orthanc patient: same Patient ID), newest first, with their modalities."""
    patient = study.get("ParentPatient")
    if not patient:
        return []
    try:
        studies = json.loads(rest_get(f"/patients/{patient}/studies?expand"))
        series = json.loads(rest_get(f"/patients/{patient}/series?expand"))
    except UnknownResource:   # the patient was deleted meanwhile
        return []
    by_study: dict[str, list[Mapping[str, Any]]] = {}
    for one in series:
        by_study.setdefault(one.get("ParentStudy", ""), []).append(one)
    others = []
    for other in studies:
        if other["ID"] == study["ID"]:
            continue
        children = by_study.get(other["ID"], [])
        modalities = {tag(s.get("MainDicomTags", {}), "Modality") for s in children}
        others.append({**_study_fields(other), "modalities": sorted(m for m in modalities if m),
                       "series": len(children)})
    others.sort(key=lambda s: (_date_key(s["date"]), s["time"], s["id"]), reverse=True)
    return others


def study(rest_get: RestGet, request: Request, thumbnail_size: int = DEFAULT_THUMBNAIL_SIZE) -> Response:
    """GET /previewer/api/studies/{id}: the study and its series, each with a thumbnail.

    A series' thumbnail is its middle image (instance and frame) in viewing
    order.  ``others`` lists the patient's other studies, newest first.
    """
    check_query(request.query)
    study_id = check_id("study", request.params["id"])
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
        middle = middle_image(ordered)
        summary["thumbnail"] = {"instance": middle[0], "frame": middle[1]} if middle else None
        summary["kind"] = series_kind(series)
        summaries.append(summary)
    summaries.sort(key=_series_sort_key)
    return Response.json({
        **_study_fields(found),
        "patient": {"id": found.get("ParentPatient", ""), **_patient(found.get("PatientMainDicomTags", {}))},
        "thumbnail_size": thumbnail_size,
        "series": summaries,
        "others": _other_studies(rest_get, found),
    })


def series(rest_get: RestGet, request: Request) -> Response:
    """GET /previewer/api/series/{id}: the series' images in viewing order.

    ``instances`` lists every instance with its frame count, so that the
    viewer steps through slices and through the frames of multi-frame
    instances alike; ``order`` tells how the order was found (see
    :func:`order_instances`).
    """
    check_query(request.query)
    series_id = check_id("series", request.params["id"])
    found = _get(rest_get, f"/series/{series_id}", "series", series_id)
    instances = _get(rest_get, f"/series/{series_id}/instances?expand", "series", series_id)
    parent = _get(rest_get, f"/studies/{found['ParentStudy']}")
    ordered, method = order_instances(instances)
    return Response.json({
        **_series_fields(found),
        "frame_of_reference": _frame_of_reference(rest_get, ordered),
        "study": _study_fields(parent),
        "patient": {"id": parent.get("ParentPatient", ""), **_patient(parent.get("PatientMainDicomTags", {}))},
        "order": method,
        "frames": sum(row["frames"] for row in ordered),
        "instances": ordered,
    })


def _frame_of_reference(rest_get: RestGet, ordered: list[dict[str, Any]]) -> str | None:
    """The Frame of Reference UID (0020,0052) of the series' first image, or None.

    Not one of Orthanc's main tags: read as the raw value of that element.
    Images with a position share it (PS3.3 C.7.4.1), so the viewer can tell
    which series scroll together by position.
    """
    if not ordered or ordered[0]["position"] is None:
        return None
    try:
        raw = rest_get(f"/instances/{ordered[0]['id']}/content/0020-0052")
    except UnknownResource:
        return None
    value = raw.decode("ascii", "replace").strip("\x00 ")
    return value if _UID.fullmatch(value) else None


def _flatten_tags(tags: Mapping[str, Any], depth: int, rows: list[dict[str, Any]]) -> None:
    for key in sorted(tags):
        entry = tags[key]
        kind = entry.get("Type", "")
        value = entry.get("Value")
        row: dict[str, Any] = {"tag": key.upper(), "name": entry.get("Name", ""), "depth": depth}
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
    check_query(request.query)
    instance_id = check_id("instance", request.params["id"])
    tags = _get(rest_get, f"/instances/{instance_id}/tags", "instance", instance_id)
    rows: list[dict[str, Any]] = []
    _flatten_tags(tags, 0, rows)
    return Response.json({"id": instance_id, "tags": rows})


def _summaries(store: Store, series_uid: str,
               study_series: list[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {"presentations": [], "segmentations": [], "structures": []}
    keys = {"presentation": "presentations", "segmentation": "segmentations", "structures": "structures"}
    for other in study_series:
        name = {"presentation": "presentation", "segmentation": "segmentation",
                "rtstruct": "structures"}.get(series_kind(other))
        if name is None:
            continue
        for instance_id in other.get("Instances", []):
            try:
                parsed = parsed_object(store, name, instance_id)
            except (PixelError, HttpError):
                continue   # another kind of presentation state, or one that does not parse
            if name == "presentation":
                from ...objects import presentation
                summary = presentation.summary(parsed)
            elif name == "segmentation":
                from ...objects import segmentation
                summary = segmentation.summary(parsed)
            else:
                from ...objects import rtstruct
                summary = rtstruct.summary(parsed)
            if series_uid in summary.get("series", ()):
                found[keys[name]].append({"id": instance_id, **summary})
    return found


def series_objects(rest_get: RestGet, store: Store, request: Request) -> Response:
    """GET /previewer/api/series/{id}/objects: the study's presentation states, segmentations and structure sets of this series."""
    check_query(request.query)
    series_id = check_id("series", request.params["id"])
    found = _get(rest_get, f"/series/{series_id}", "series", series_id)
    study_series = _get(rest_get, f"/studies/{found['ParentStudy']}/series?expand", "series", series_id)
    uid = tag(found.get("MainDicomTags", {}), "SeriesInstanceUID")
    return Response.json(_summaries(store, uid, study_series))


def stats(store: Store, warmup: Callable[[], Mapping[str, int] | None], request: Request) -> Response:
    """GET /previewer/stats: cache and warm-up counters."""
    check_query(request.query)
    cache = store.cache
    return Response.json({"cache": {**cache.stats.as_dict(), "entries": len(cache),
                                    "bytes": cache.size_bytes, "limit_bytes": cache.limit_bytes},
                          "warmup": warmup()})
