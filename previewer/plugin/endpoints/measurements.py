"""The viewer's measurements of a study, saved as DICOM SR and read back.

``POST /previewer/api/studies/{id}/measurements`` stores a new Measurement Report (TID 1500,
:mod:`previewer.objects.measurements`) in the study, in a series of its own, through Orthanc's
``POST /instances``.  The numbers are measured here from the points, the images' Pixel Spacing
and their modality values, not taken from the page.  Each save writes a new instance; earlier
ones stay.

``GET /previewer/api/studies/{id}/measurements`` reads the study's newest report that holds image
measurements, with the Orthanc ids of the images they were drawn on.
"""
from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Callable, Mapping
from typing import Any

from ...objects import measurements as sr
from ...pixels.decode import frame_count
from ...pixels.errors import BadParameter, PixelError
from ..http import HttpError, Request, Response, check_id, check_query
from ..store import RestGet, Store, UnknownResource, full_dataset, instance_version, modality_frame, pixel_error

RestPost = Callable[[str, bytes], bytes]


class StoreRefused(RuntimeError):
    """Orthanc did not store what was posted (its message says why)."""
#: The largest request body taken, in bytes.
MAX_BODY = 2 * 2**20


def _json(rest_get: RestGet, uri: str, kind: str, resource_id: str) -> Any:
    try:
        return json.loads(rest_get(uri))
    except UnknownResource:
        raise HttpError(404, f"unknown {kind} '{resource_id}'", **{kind: resource_id}) from None


def _study_instances(rest_get: RestGet, study_id: str) -> dict[str, dict[str, Any]]:
    """Orthanc id -> expanded instance, for every instance of the study (404 for an unknown study)."""
    return {i["ID"]: i for i in _json(rest_get, f"/studies/{study_id}/instances?expand", "study", study_id)}


def _body(request: Request) -> list[Mapping[str, Any]]:
    if len(request.body) > MAX_BODY:
        raise HttpError(413, f"the body is over {MAX_BODY} bytes")
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError) as error:
        raise HttpError(400, f"the body is not JSON: {error}"[:200]) from None
    items = body.get("measurements") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise HttpError(400, 'the body must be {"measurements": [...]} with at least one measurement')
    if len(items) > sr.MAX_MEASUREMENTS:
        raise HttpError(400, f"at most {sr.MAX_MEASUREMENTS} measurements in one report, got {len(items)}")
    if not all(isinstance(item, dict) for item in items):
        raise HttpError(400, "each measurement must be an object")
    return items


def _units(frame: Any, modality: str) -> tuple[str, str]:
    """The UCUM unit of a frame's modality values: Hounsfield units for CT, else none known."""
    kind = (frame.rescale.type or "").upper()
    if kind == "HU" or (modality == "CT" and not kind and not frame.modality_lut_used):
        return "[hnsf'U]", "Hounsfield unit"
    return "1", "no units"


def save(rest_get: RestGet, rest_post: RestPost | None, store: Store, request: Request) -> Response:
    """POST /previewer/api/studies/{id}/measurements: a new SR Measurement Report of the measurements."""
    check_query(request.query)
    study_id = check_id("study", request.params["id"])
    if rest_post is None:
        raise HttpError(503, "this server cannot store instances")
    instances = _study_instances(rest_get, study_id)
    items = _body(request)
    parsed: list[tuple[str, sr.Measurement]] = []
    for number, item in enumerate(items, 1):
        instance_id = item.get("instance")
        if not isinstance(instance_id, str) or instance_id not in instances:
            raise HttpError(400, f"measurement {number}: instance {str(instance_id)[:80]!r} is not in study "
                                 f"'{study_id}'", study=study_id)
        uid = str(instances[instance_id].get("MainDicomTags", {}).get("SOPInstanceUID", ""))
        try:
            parsed.append((instance_id, sr.parse(item, uid)))
        except BadParameter as error:
            raise HttpError(400, f"measurement {number}: {error.message}") from None
    evidence: dict[str, Any] = {}
    measured = []
    for instance_id, measurement in parsed:
        try:
            if instance_id not in evidence:
                with full_dataset(store, instance_id) as ds:
                    if "PixelData" in ds:
                        del ds.PixelData   # the SR needs the headers only
                    evidence[instance_id] = ds
            ds = evidence[instance_id]
            if measurement.frame >= frame_count(ds):
                raise HttpError(400, f"instance '{instance_id}' has no frame {measurement.frame}")
            spacing = sr.spacing_of(ds)
            frame = None
            if measurement.kind in ("ellipse", "rectangle"):
                frame = modality_frame(store, instance_id, instance_version(store, instance_id), measurement.frame)
            values = sr.values(measurement, spacing, None if frame is None or frame.is_color else frame.array)
        except PixelError as error:
            raise pixel_error(error, instance_id, measurement.frame) from None
        units = _units(frame, str(ds.get("Modality", ""))) if frame is not None else ("1", "no units")
        measured.append((dataclasses.replace(measurement, values=values), {"spacing": spacing, "units": units}))
    report = sr.build_report(list(evidence.values()), measured)
    buffer = io.BytesIO()
    report.save_as(buffer, enforce_file_format=True)
    try:
        stored = json.loads(rest_post("/instances", buffer.getvalue()))
    except (StoreRefused, UnknownResource) as error:
        raise HttpError(502, f"Orthanc did not store the report: {error}"[:300]) from None
    return Response.json({"id": stored.get("ID"), "series": stored.get("ParentSeries"), "study": study_id,
                          "sop_instance_uid": str(report.SOPInstanceUID), "measurements": len(measured)})


def read(rest_get: RestGet, store: Store, request: Request) -> Response:
    """GET /previewer/api/studies/{id}/measurements: the newest report's image measurements."""
    check_query(request.query)
    study_id = check_id("study", request.params["id"])
    instances = _study_instances(rest_get, study_id)
    by_uid = {str(i.get("MainDicomTags", {}).get("SOPInstanceUID", "")): i["ID"] for i in instances.values()}
    series = [s for s in _json(rest_get, f"/studies/{study_id}/series?expand", "study", study_id)
              if s.get("MainDicomTags", {}).get("Modality") == "SR"]
    series.sort(key=lambda s: (s["MainDicomTags"].get("SeriesDate", ""), s["MainDicomTags"].get("SeriesTime", ""),
                               s.get("LastUpdate", "")), reverse=True)
    for one in series:
        for instance_id in reversed(one.get("Instances", [])):
            try:
                with full_dataset(store, instance_id) as ds:
                    found = sr.read_report(ds)
            except (PixelError, HttpError):
                continue   # not a report we can read (malformed, unreadable, gone): an older one may be
            found = [{**m, "instance": by_uid[m["sop_instance_uid"]]} for m in found if m["sop_instance_uid"] in by_uid]
            if found:
                return Response.json({"report": {"id": instance_id, "series": one["ID"]}, "measurements": found})
    return Response.json({"report": None, "measurements": []})
