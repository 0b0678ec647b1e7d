"""The summary of any instance: ``GET /previewer/api/instances/{id}/summary``.

What the viewer shows for an object it cannot draw as a picture (an RT Plan,
an RT Structure Set or RT Dose opened alone, any object without pixels), and
the facts of any other: its kind and title, main attributes, what it
references (with the Orthanc IDs of what this Orthanc holds), and a block
for its kind (:mod:`previewer.objects.rtplan`, :mod:`previewer.objects.rtdose`,
an RT Structure Set's ROIs as ``/info`` describes them).

What the file alone says is computed once per version of the instance and
kept in the store's cache; the Orthanc IDs of references and of the images
an ROI lies on are looked up on each request, since they change as
instances arrive.  A malformed element never fails the answer: its part is
None or left out, and ``problems`` names it.
"""
from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

from ...objects import rtdose, rtplan
from ...objects import summary as objects
from ...pixels.errors import PixelError
from ..http import Request, Response, check_id, check_query
from ..store import RestGet, Store, full_dataset, instance_version, modality_frame, pixel_error
from . import structures
from .links import Resolver

#: Kinds whose frame 0 is decoded for ``error``, as the PNG route decodes it.
DECODED_KINDS = ("image", "video", "segmentation", "rtdose")
#: Orthanc's lookup of each level of reference (a Frame of Reference is no Orthanc resource).
LOOKUPS = {"study": "StudyInstanceUID", "series": "SeriesInstanceUID", "instance": "SOPInstanceUID"}
#: A DICOM UID (PS3.5 9.1): digits and dots, at most 64 characters; others are not looked up.
_UID = re.compile(r"[0-9.]{1,64}")


def _guarded(problems: list[str], what: str, compute: Callable[[], Any], default: Any) -> Any:
    """``compute()``, or ``default`` with a problem naming why when the file cannot give it (a
    :class:`PixelError`: a malformed element, an undecodable dose grid).  Any other error is a bug of
    ours, and the router answers it as a 500."""
    try:
        return compute()
    except PixelError as error:
        problems.append(f"the {what} could not be read: {error.message}"[:500])
        return default


def _from_file(ds: Any, store: Store) -> dict[str, Any]:
    """Everything the file alone says: kind, title, attributes, references (without Orthanc IDs), the kind's block."""
    problems: list[str] = []
    kind = objects.kind(ds)
    uid = objects.sop_class(ds)
    if not uid:
        problems.append("(0008,0016) SOP Class UID is missing")
    found, truncated = _guarded(problems, "references", lambda: objects.references(ds), ([], False))
    if truncated:
        problems.append(f"more than {objects.MAX_REFERENCES} references: the first {objects.MAX_REFERENCES} are listed")
    answer: dict[str, Any] = {
        "kind": kind, "title": objects.title(uid), "sop_class": uid, "pixels": objects.has_pixels(ds),
        "attributes": _guarded(problems, "main attributes", lambda: objects.attributes(ds, kind), []),
        "references": [{"relation": r.relation, "level": r.level, "uid": r.uid} for r in found],
    }
    if kind == "rtplan":
        answer["rtplan"] = _block(problems, "RT Plan", lambda: rtplan.summary(ds))
    elif kind == "rtdose":
        with store.decode_slots:   # every frame of the grid is decoded for the range
            answer["rtdose"] = _block(problems, "RT Dose",
                                      lambda: rtdose.summary(ds, max_megapixels=store.max_megapixels))
    elif kind == "rtstruct":
        answer["rtstruct"] = _block(problems, "RT Structure Set", lambda: objects.structure_set(ds))
    answer["problems"] = problems
    return answer


def _block(problems: list[str], what: str, compute: Callable[[], tuple[Any, list[str]]]) -> Any:
    """A kind module's (block, problems), its problems added to ``problems``; None if it breaks."""
    result: tuple[Any, list[str]] = _guarded(problems, what, compute, (None, []))
    problems.extend(result[1])
    return result[0]


def _lookup(resolver: Resolver, level: str, uid: str) -> str | None:
    """The Orthanc ID of the study, series or instance of that UID in this Orthanc, or None."""
    find = resolver.lookup.get(LOOKUPS.get(level, ""))
    if find is None or not _UID.fullmatch(uid):
        return None
    try:
        return find(uid) or None
    except (LookupError, ValueError, OSError):
        return None


def _rois(store: Store, rest_get: RestGet, instance_id: str, from_file: dict[int, dict[str, Any]] | None,
          problems: list[str]) -> dict[str, Any] | None:
    """The ROIs as ``/info`` describes them (:func:`.structures.describe`), with the file's colours; those
    without contours after them."""
    info: dict[str, Any] = {}
    structures.describe(store, rest_get, instance_id, info)
    if "structures" not in info:
        problems.append(str(info.get("reason", "the RT Structure Set could not be read")))
        return None
    described = info["structures"]
    if described.get("skipped_contours"):
        problems.append(f"{described['skipped_contours']} contour(s) left out: their points are missing, "
                        "not finite or not a multiple of three")
    named = from_file or {}
    rois = [{"number": roi["number"], "name": roi["name"], "type": roi["type"],
             "color": named.get(roi["number"], {}).get("color"), "contours": roi["contours"],
             "images": roi["instances"]} for roi in described["rois"]]
    listed = {roi["number"] for roi in rois}
    rois += [{"number": number, "name": roi["name"] or f"ROI {number}", "type": roi["type"], "color": roi["color"],
              "contours": 0, "images": []} for number, roi in named.items() if number not in listed]
    return {"rois": rois}


def _decode_error(store: Store, instance_id: str, version: str) -> str | None:
    """What the PNG route would answer for frame 0, when it cannot be decoded; None when it can."""
    try:
        modality_frame(store, instance_id, version, 0)
    except PixelError as error:
        return error.message
    return None


def _size(value: dict[str, Any]) -> int:
    return len(json.dumps(value)) + 1024


def instance_summary(store: Store, rest_get: RestGet, resolver: Resolver, request: Request) -> Response:
    """GET /previewer/api/instances/{id}/summary: kind, title, attributes, references and the kind's block."""
    check_query(request.query)
    instance_id = check_id("instance", request.params["id"])
    version = instance_version(store, instance_id)

    def read() -> dict[str, Any]:
        with full_dataset(store, instance_id) as ds:
            return _from_file(ds, store)
    try:
        cached: dict[str, Any] = store.cache.get_or_compute((instance_id, version, "summary"), read, _size)
    except PixelError as error:
        raise pixel_error(error, instance_id) from None
    found = copy.deepcopy(cached)
    problems: list[str] = found.pop("problems")
    kind = found["kind"]
    for reference in found["references"]:
        reference["orthanc"] = _lookup(resolver, reference["level"], reference["uid"])
    if kind == "rtstruct":
        found["rtstruct"] = _guarded(problems, "RT Structure Set's ROIs", lambda: _rois(
            store, rest_get, instance_id, cached.get("rtstruct"), problems), None)
    found["error"] = _decode_error(store, instance_id, version) if kind in DECODED_KINDS else None
    return Response.json({"id": instance_id, **found, "problems": problems})
