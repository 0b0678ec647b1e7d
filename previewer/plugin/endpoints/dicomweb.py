"""DICOMweb rendered resources (PS3.18 §8.3.5), addressed by UIDs.

Under ``/previewer/dicom-web/``: instance and frame ``/rendered``,
``/thumbnail`` at study, series and instance level, and series ``/rendered``.
A series or study is represented by one image, the series' middle image in
viewing order (the study's by its lowest Series Number); series-level
``/rendered`` answers that one image, not every instance.  Parameters: ``window``
(center,width,function), ``viewport`` (vw,vh[,sx,sy,sw,sh]), ``quality``,
and the Accept header (image/png or image/jpeg, else 406).  With no window,
the file's own VOI applies (PS3.18 §8.3.5.1.4), never a min-max stretch.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...pixels.errors import PixelError
from ...pixels.params import RenderParams, parse_params
from ...pixels.resize import resize_to_box
from ...series import middle_image, order_instances
from ..http import HttpError, Request, Response, check_query
from ..store import Store, UnknownResource, instance_version
from .documents import document_response, report_response
from .images import Extras, render_any
from .links import Resolver

PARAMETERS = ("window", "viewport", "quality", "annotation", "charset")
_FUNCTIONS = {"linear": "linear", "linear-exact": "linear_exact", "sigmoid": "sigmoid"}
MEDIA_TYPES = ("image/png", "image/jpeg")
#: Rendered media types of documents and reports (PS3.18 §8.7.4): answered for those objects only.
DOCUMENT_TYPES = ("application/pdf", "text/html")


@dataclass(frozen=True)
class Viewport:
    """``viewport=vw,vh[,sx,sy,sw,sh]``: output box and optional source region."""

    width: int
    height: int
    region: tuple[int, int, int, int] | None = None


def media_type(headers: Mapping[str, str]) -> str:
    """image/png or image/jpeg from the Accept header; 406 for anything else."""
    accept = headers.get("accept", "").strip()
    if not accept:
        return "image/png"
    for part in accept.split(","):
        name = part.split(";")[0].strip().lower()
        if name in MEDIA_TYPES or name in DOCUMENT_TYPES:
            return name
        if name in ("*/*", "image/*"):
            return "image/png"
    raise HttpError(406, f"cannot answer {accept[:200]!r}: the rendered media types are image/png and image/jpeg "
                         "(and application/pdf for a PDF, text/html for a report)",
                    accepted=list(MEDIA_TYPES + DOCUMENT_TYPES))


def _integers(name: str, text: str, count: tuple[int, ...]) -> list[int]:
    try:
        values = [int(part) for part in text.split(",")]
    except ValueError:
        raise HttpError(400, f"parameter '{name}' must be integers separated by commas, not {text[:100]!r}") from None
    if len(values) not in count:
        raise HttpError(400, f"parameter '{name}' takes {' or '.join(map(str, count))} values, not {len(values)}")
    return values


def parse_viewport(text: str) -> Viewport:
    values = _integers("viewport", text, (2, 6))
    if values[0] <= 0 or values[1] <= 0:
        raise HttpError(400, "parameter 'viewport': vw and vh must be > 0")
    if len(values) == 2:
        return Viewport(values[0], values[1])
    sx, sy, sw, sh = values[2:]
    if sx < 0 or sy < 0 or sw == 0 or sh == 0:
        raise HttpError(400, "parameter 'viewport': sx, sy must be >= 0 and sw, sh non-zero")
    return Viewport(values[0], values[1], (sx, sy, sw, sh))


def our_query(query: Mapping[str, str]) -> dict[str, str]:
    """The previewer's own rendering query for a DICOMweb query (window only)."""
    check_query(query, PARAMETERS)
    if "window" not in query:
        return {}
    parts = query["window"].split(",")
    if len(parts) != 3 or parts[2].strip().lower() not in _FUNCTIONS:
        raise HttpError(400, "parameter 'window' must be center,width,function with function "
                             "linear, linear-exact or sigmoid", value=query["window"][:100])
    return {"window": f"{parts[0]},{parts[1]},{_FUNCTIONS[parts[2].strip().lower()]}"}


def crop(array: np.ndarray, region: tuple[int, int, int, int]) -> np.ndarray:
    """The source region (sx, sy, sw, sh) of PS3.18 §8.3.5.1.3; a negative sw/sh flips."""
    sx, sy, sw, sh = region
    rows, cols = array.shape[:2]
    if sx >= cols or sy >= rows:
        raise HttpError(400, f"parameter 'viewport': the region starts outside the {cols}x{rows} image")
    out = array[sy:min(rows, sy + abs(sh)), sx:min(cols, sx + abs(sw))]
    if sw < 0:
        out = out[:, ::-1]
    if sh < 0:
        out = out[::-1]
    return np.ascontiguousarray(out)


def _instance(resolver: Resolver, study: str, series: str, instance: str) -> str:
    """The Orthanc ID of the instance, checking that the three UIDs belong together."""
    found = resolver.lookup["SOPInstanceUID"](instance)
    if found is None:
        raise HttpError(404, f"unknown SOP Instance UID {instance[:100]}")
    try:
        parent = resolver.get(f"/instances/{found}")["ParentSeries"]
        series_info = resolver.get(f"/series/{parent}")
        study_info = resolver.get(f"/studies/{series_info['ParentStudy']}")
    except UnknownResource:
        raise HttpError(404, f"unknown SOP Instance UID {instance[:100]}") from None
    if series_info["MainDicomTags"].get("SeriesInstanceUID") != series or \
            study_info["MainDicomTags"].get("StudyInstanceUID") != study:
        raise HttpError(404, f"instance {instance[:100]} is not in series {series[:100]} of study {study[:100]}")
    return found


def _series(resolver: Resolver, study: str, series: str) -> str:
    found = resolver.lookup["SeriesInstanceUID"](series)
    if found is None:
        raise HttpError(404, f"unknown Series Instance UID {series[:100]}")
    parent = resolver.get(f"/series/{found}")["ParentStudy"]
    if resolver.get(f"/studies/{parent}")["MainDicomTags"].get("StudyInstanceUID") != study:
        raise HttpError(404, f"series {series[:100]} is not in study {study[:100]}")
    return found


def _first_series(resolver: Resolver, study_id: str) -> str:
    """The study's representative series: the lowest Series Number."""
    def number(series: Mapping[str, Any]) -> tuple[bool, float]:
        text = str(series.get("MainDicomTags", {}).get("SeriesNumber", "")).strip()
        try:
            return False, float(text)
        except ValueError:
            return True, 0.0
    series_list = resolver.get(f"/studies/{study_id}/series?expand")
    if not series_list:
        raise HttpError(404, "the study has no series")
    return str(min(series_list, key=number)["ID"])


def _middle_image(resolver: Resolver, series_id: str) -> tuple[str, int]:
    """The representative image of a series: the middle one in viewing order."""
    ordered, _ = order_instances(resolver.get(f"/series/{series_id}/instances?expand"))
    middle = middle_image(ordered)
    if middle is None:
        raise HttpError(404, "the series has no image")
    return middle


def _middle_frame(resolver: Resolver, instance_id: str) -> int:
    """The 0-based middle frame of an instance, from the Number of Frames Orthanc indexes (0 if unknown)."""
    try:
        text = str(resolver.get(f"/instances/{instance_id}")["MainDicomTags"].get("NumberOfFrames", "") or "")
    except (UnknownResource, KeyError, TypeError):
        return 0
    return int(text) // 2 if text.strip().isdigit() and int(text) > 1 else 0


def _answer(store: Store, instance_id: str, frame: int, request: Request, thumbnail: int | None) -> Response:
    kind = media_type(request.headers)
    query = our_query(request.query)
    if kind in DOCUMENT_TYPES:
        try:
            return document_response(store, instance_id) if kind == "application/pdf" \
                else report_response(store, instance_id)
        except HttpError as error:
            if error.status != 415:
                raise
            raise HttpError(406, f"cannot answer {kind}: {error.message}", accepted=list(MEDIA_TYPES)) from None
    viewport = parse_viewport(request.query["viewport"]) if "viewport" in request.query else None
    quality = _integers("quality", request.query.get("quality", "90"), (1,))[0]
    if not 1 <= quality <= 100:
        raise HttpError(400, "parameter 'quality' must be in 1..100")
    if viewport is not None and viewport.region is None:
        query.update(width=str(viewport.width), height=str(viewport.height))
    elif viewport is None and thumbnail is not None:
        query.update(size=str(thumbnail))
    try:
        params: RenderParams = parse_params(query)
        extras = Extras(query={"view": "thumbnail"}) if thumbnail is not None else Extras()
        rendered = render_any(store, instance_id, instance_version(store, instance_id), frame, params, extras)
    except PixelError as error:
        raise HttpError(error.status, error.message) from None
    pixels: Any = rendered.array
    if viewport is not None and viewport.region is not None:
        pixels = resize_to_box(crop(pixels, viewport.region), viewport.width, viewport.height)
    if kind == "image/jpeg":
        return Response.jpeg(pixels, rendered.format, quality)
    return Response.png(pixels, rendered.format)


def rendered(store: Store, resolver: Resolver, request: Request, thumbnail: int | None = None) -> Response:
    """…/instances/{instance}/rendered, …/frames/{frames}/rendered and the instance thumbnail."""
    p = request.params
    instance_id = _instance(resolver, p["study"], p["series"], p["instance"])
    frame = 1
    if thumbnail is not None:
        # The instance's representative image, as for a series: its middle frame (a video's too).
        frame = _middle_frame(resolver, instance_id) + 1
    if "frames" in p:
        frame = _integers("frames", p["frames"], (1,))[0]
        if frame < 1:
            raise HttpError(404, "frame numbers start at 1")
    return _answer(store, instance_id, frame - 1, request, thumbnail)


def thumbnail(store: Store, resolver: Resolver, request: Request, size: int | None) -> Response:
    """Series- and study-level /thumbnail (``size``), and series /rendered (None): a representative image."""
    try:
        return _thumbnail(store, resolver, request, size)
    except UnknownResource:
        raise HttpError(404, "the study or series is no longer stored") from None


def _thumbnail(store: Store, resolver: Resolver, request: Request, size: int | None) -> Response:
    p = request.params
    if "series" in p:
        series_id = _series(resolver, p["study"], p["series"])
    else:
        study_id = resolver.lookup["StudyInstanceUID"](p["study"])
        if study_id is None:
            raise HttpError(404, f"unknown Study Instance UID {p['study'][:100]}")
        series_id = _first_series(resolver, study_id)
    instance_id, frame = _middle_image(resolver, series_id)
    return _answer(store, instance_id, frame, request, size)
