"""RT Structure Sets over the images they outline: ``structures=`` on the PNG route, the contours as JSON.

``structures={id}`` (with ``fill`` and ``rois``) on an image's PNG route draws
the contours of that structure set which lie on the image
(:mod:`previewer.objects.rtstruct`); ``X-Previewer-Structures`` says how many
were drawn, or that none lies on the image.
``GET /previewer/api/instances/{id}/structures/{rtstruct}`` gives the same
contours in the image's pixel coordinates, for the viewer to draw.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...objects import rtstruct
from ...pixels.errors import BadParameter, FrameNotFound, PixelError
from ...pixels.render import Rendered
from ...series import tag
from ..http import ORTHANC_ID, HttpError, Request, Response, check_id, check_query
from ..store import (
    RestGet,
    Store,
    full_dataset,
    instance_version,
    object_version,
    parsed_object,
    pixel_error,
    slices,
    sop_instance_uid,
)

#: The PNG route's parameters for structure sets.
PARAMETERS = ("structures", "fill", "rois")
#: Half of this is the distance within which a contour without image references lies on a plane (mm).
DEFAULT_SPACING = 1.0
HEADER = "X-Previewer-Structures"


@dataclass(frozen=True)
class Options:
    """``structures=`` (an RTSTRUCT's Orthanc ID), ``fill`` (0..1) and ``rois`` (numbers or names)."""

    structures: str
    fill: float = 0.0
    rois: str | None = None


def parse_options(query: Mapping[str, str]) -> Options | None:
    """The structure parameters of a PNG request, checked (400 naming the parameter), or None."""
    if "structures" not in query:
        if "fill" in query or "rois" in query:
            raise HttpError(400, "parameters 'fill' and 'rois' need 'structures'")
        return None
    value = query["structures"]
    if not ORTHANC_ID.fullmatch(value):
        raise HttpError(400, f"parameter 'structures' must be the Orthanc ID of an RT Structure Set, not {value[:100]!r}")
    fill = 0.0
    if "fill" in query:
        try:
            fill = float(query["fill"])
        except ValueError:
            fill = math.nan
        if not 0.0 <= fill <= 1.0:
            raise HttpError(400, f"parameter 'fill' must be a number from 0 to 1, not {query['fill'][:100]!r}")
    rois = query.get("rois")
    if rois is not None and not rois.strip(","):
        raise HttpError(400, "parameter 'rois' must list ROI numbers or names, separated by commas")
    return Options(value, fill, rois)


def variant(store: Store, options: Options) -> str:
    """What a render with these options depends on, for its ETag."""
    version = object_version(store, "structures", options.structures)
    return f"structures={options.structures}@{version};fill={options.fill!r};rois={options.rois}"


def _spacing(ds: Any) -> float:
    """Spacing Between Slices (0018,0088), else Slice Thickness (0018,0050), else :data:`DEFAULT_SPACING`."""
    for keyword in ("SpacingBetweenSlices", "SliceThickness"):
        try:
            value = abs(float(ds.get(keyword)))
        except (TypeError, ValueError):
            continue
        if math.isfinite(value) and value > 0:
            return value
    return DEFAULT_SPACING


def plane(store: Store, instance_id: str, version: str, frame: int) -> rtstruct.Plane:
    """The plane of the image's frame, with half its slice spacing as the tolerance (cached)."""
    found = slices(store, instance_id, version)
    if not 0 <= frame < len(found):
        raise FrameNotFound(f"the image has {len(found)} frame(s), not frame {frame}")
    one = found[frame]

    def spacing() -> float:
        with full_dataset(store, instance_id) as ds:
            return _spacing(ds)
    thickness: float = store.cache.get_or_compute((instance_id, version, "slice-spacing"), spacing, lambda _: 64)
    return rtstruct.Plane(sop_instance_uid(store, instance_id, version), one.frame_of_reference, one.position,
                          one.orientation, one.spacing, one.rows, one.columns, thickness / 2)


def _found(store: Store, instance_id: str, version: str, frame: int, options: Options) -> tuple[
        rtstruct.Plane, list[tuple[rtstruct.Roi, list[tuple[str, Any]]]]]:
    structures: rtstruct.StructureSet = parsed_object(store, "structures", options.structures)
    on = plane(store, instance_id, version, frame)
    return on, rtstruct.on_image(rtstruct.select(structures, options.rois), on, structures.frame_of_reference)


def overlay(store: Store, instance_id: str, version: str, frame: int, rendered: Rendered,
            options: Options) -> tuple[Rendered, str]:
    """The rendered frame with the contours drawn, and the header saying what was drawn."""
    rtstruct.check_format(rendered.format)
    on, found = _found(store, instance_id, version, frame, options)
    if not found:
        return rendered, "none: no contour of the structure set lies on this image"
    count = sum(len(contours) for _, contours in found)
    drawn = rtstruct.draw(rendered, found, on.rows, on.columns, options.fill)
    return drawn, f"{count} contour(s) of {len(found)} ROI(s)"


def contours(store: Store, request: Request) -> Response:
    """GET /previewer/api/instances/{id}/structures/{rtstruct}: the contours on the image, in its pixels."""
    check_query(request.query, ("frame", "rois"))
    instance_id = request.params["id"]
    text = request.query.get("frame", "0")
    if not text.isdigit():
        raise HttpError(400, f"parameter 'frame' must be a 0-based frame index, not {text[:100]!r}")
    options = Options(check_id("instance", request.params["rtstruct"]), rois=request.query.get("rois"))
    try:
        version = instance_version(store, instance_id)
        on, found = _found(store, instance_id, version, int(text), options)
    except PixelError as error:
        raise pixel_error(error, instance_id) from None
    return Response.json({
        "image": instance_id, "structures": options.structures, "frame": int(text),
        "rows": on.rows, "columns": on.columns,
        "rois": [{"number": roi.number, "name": roi.name, "color": "#%02x%02x%02x" % roi.color,
                  "contours": [{"kind": kind, "points": [[round(x, 3), round(y, 3)] for x, y in points.tolist()]}
                               for kind, points in found_contours]}
                 for roi, found_contours in found],
    })


def _json(rest_get: RestGet, uri: str) -> Any:
    import json
    return json.loads(rest_get(uri))


def images_by_roi(rest_get: RestGet, structures: rtstruct.StructureSet, study_id: str) -> dict[int, list[str]]:
    """Per ROI number, the Orthanc IDs of the study's images it lies on (by reference, else by position)."""
    series_list = [s for s in _json(rest_get, f"/studies/{study_id}/series?expand")
                   if tag(s.get("MainDicomTags", {}), "Modality") not in ("RTSTRUCT", "RTPLAN", "RTDOSE", "SR", "PR", "SEG")]
    referenced = [s for s in series_list if tag(s.get("MainDicomTags", {}), "SeriesInstanceUID") in structures.series]
    found: dict[int, list[str]] = {roi.number: [] for roi in structures.rois}
    for series in referenced or series_list:
        try:
            spacing = _spacing(_shared(rest_get, series["ID"]))
        except (KeyError, ValueError, TypeError):
            spacing = DEFAULT_SPACING
        for instance in _json(rest_get, f"/series/{series['ID']}/instances"):
            tags = instance.get("MainDicomTags", {})
            try:
                position = tuple(float(v) for v in tag(tags, "ImagePositionPatient").split("\\"))
                orientation = tuple(float(v) for v in tag(tags, "ImageOrientationPatient").split("\\"))
            except ValueError:
                position = orientation = ()
            uid = tag(tags, "SOPInstanceUID")
            for roi in structures.rois:
                if any(_lies(contour, uid, position, orientation, spacing / 2) for contour in roi.contours):
                    found[roi.number].append(instance["ID"])
    return found


def _shared(rest_get: RestGet, series_id: str) -> dict[str, Any]:
    shared = _json(rest_get, f"/series/{series_id}/shared-tags?simplify")
    return shared if isinstance(shared, dict) else {}


def _lies(contour: rtstruct.Contour, uid: str, position: tuple[float, ...], orientation: tuple[float, ...],
          tolerance: float) -> bool:
    if contour.images:
        return uid in contour.images
    if len(position) != 3 or len(orientation) != 6:
        return False
    on = rtstruct.Plane(uid, "", position, orientation, (1.0, 1.0), 1, 1, tolerance)
    try:
        _, _, normal = rtstruct.axes(on)
    except PixelError:
        return False
    return rtstruct.lies_on(contour, on, normal)


def describe(store: Store, rest_get: RestGet, instance_id: str, info: dict[str, Any]) -> None:
    """What ``/info`` says of an RTSTRUCT: its ROIs (number, name, colour, type) and the images each lies on."""
    info.update(reason="an RT Structure Set: draw it over the images it outlines with 'structures='")
    try:
        structures: rtstruct.StructureSet = parsed_object(store, "structures", instance_id)
    except (PixelError, HttpError) as error:
        info["reason"] = getattr(error, "message", str(error))
        return
    summary = rtstruct.summary(structures)
    try:
        study = _json(rest_get, f"/instances/{instance_id}/study")["ID"]
        images = images_by_roi(rest_get, structures, study)
    except (LookupError, ValueError, TypeError, OSError):
        images = {}
    for roi in summary["rois"]:
        roi["instances"] = images.get(roi["number"], [])
    info["structures"] = summary


def check_not_structures(query: Mapping[str, str]) -> None:
    """400 for structure parameters where they cannot apply (a document, a waveform)."""
    if any(name in query for name in PARAMETERS):
        raise BadParameter("parameter 'structures' applies to images")
