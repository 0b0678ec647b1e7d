"""The viewer's measurements as a DICOM SR Measurement Report (TID 1500), and back.

- :func:`values`: what a measurement measures, from its points (continuous image coordinates:
  pixel (c, r) covers [c, c+1) x [r, r+1), which is also SCOORD's convention, PS3.3 C.18.6.1.2),
  the image's Pixel Spacing and, for the regions, its modality values;
- :func:`build_report`: a Comprehensive 3D SR made with highdicom, one TID 1410 group per
  measurement: its SCOORD on the image (and frame) it was drawn on, and NUM items with their SCT
  concepts and UCUM units (Length 410668003 in mm; Area, Mean, Standard Deviation, Minimum and
  Maximum for the regions; Angle 1483009 in deg).  Without Pixel Spacing, lengths and areas are in
  pixels, said so by the units ``{pixels}`` and ``{square pixels}``;
- :func:`read_report`: the measurements of such a report, with the kind of tool each came from.

The tool kinds and their SCOORDs: length (POLYLINE of 2), angle (POLYLINE of 3, the vertex in the
middle), cobb (POLYLINE of 4: its two lines one after the other, as TID 1410 takes one
region and no MULTIPOINT), ellipse (ELLIPSE: the ends of its two axes),
rectangle (POLYLINE of 5, closed: a polygon, PS3.3 C.18.6.1.2), arrow (POLYLINE of 2, head first, its label as the group's
tracking identifier).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..pixels import elements
from ..pixels.errors import BadParameter, Malformed

KINDS = ("length", "angle", "cobb", "ellipse", "rectangle", "arrow")
_POINTS = {"length": 2, "angle": 3, "cobb": 4, "ellipse": 2, "rectangle": 2, "arrow": 2}
#: The Series Description of the reports the viewer saves.
SERIES_DESCRIPTION = "Previewer measurements"
MAX_MEASUREMENTS = 1000
MAX_LABEL = 64


@dataclass(frozen=True)
class Measurement:
    """One tool's drawing on one frame of one image (``frame`` 0-based)."""

    kind: str
    sop_instance_uid: str
    frame: int
    points: tuple[tuple[float, float], ...]
    label: str = ""
    values: Mapping[str, float] = field(default_factory=dict)


def parse(item: Mapping[str, Any], sop_instance_uid: str) -> Measurement:
    """A measurement from the viewer's JSON; a BadParameter naming what is wrong."""
    kind = item.get("kind")
    if kind not in KINDS:
        raise BadParameter(f"measurement kind must be one of {', '.join(KINDS)}, got {str(kind)[:40]!r}")
    points = item.get("points")
    if not isinstance(points, list) or len(points) != _POINTS[kind]:
        raise BadParameter(f"a {kind} has {_POINTS[kind]} points, got {points if not isinstance(points, list) else len(points)!r}"[:200])
    parsed = []
    for point in points:
        if not (isinstance(point, list) and len(point) == 2 and all(isinstance(v, (int, float)) and math.isfinite(v) for v in point)):
            raise BadParameter(f"a point is [x, y] with finite numbers, got {str(point)[:60]}")
        parsed.append((float(point[0]), float(point[1])))
    frame = item.get("frame", 0)
    if not isinstance(frame, int) or frame < 0:
        raise BadParameter(f"frame must be a non-negative integer, got {str(frame)[:20]!r}")
    label = item.get("label", "")
    if not isinstance(label, str):
        raise BadParameter("label must be text")
    return Measurement(kind, sop_instance_uid, frame, tuple(parsed), label.strip()[:MAX_LABEL])


def spacing_of(ds: Any) -> list[float] | None:
    """[between rows, between columns] in mm: Pixel Spacing, in a Pixel Measures Sequence or at the top
    level, else Imager Pixel Spacing (PS3.3 10.7.1.3); None without either (measurements in pixels).
    A malformed one is passed over, as absent."""
    sources = []
    for name in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence"):
        measures = _quietly(_measures, ds, name)
        if measures is not None:
            sources.append(measures)
    sources.append(ds)
    for source in sources:
        for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
            spacing = _quietly(elements.numbers, source, keyword, 2)
            if spacing and all(v > 0 for v in spacing):
                return list(spacing)
    return None


def _measures(ds: Any, name: str) -> Any:
    """The Pixel Measures Sequence item of the first item of a functional groups sequence (PS3.3 C.7.6.16.2.1)."""
    group = elements.first(ds, name)
    return None if group is None else elements.first(group, "PixelMeasuresSequence")


def _quietly(read: Callable[..., Any], *args: Any) -> Any:
    """``read(*args)``, or None when the element it reads is :class:`Malformed`."""
    try:
        return read(*args)
    except Malformed:
        return None


# --- values ------------------------------------------------------------------------------------

def _vector(a: tuple[float, float], b: tuple[float, float], spacing: Sequence[float] | None) -> NDArray[np.float64]:
    scale = np.array([spacing[1], spacing[0]]) if spacing else np.ones(2)   # (column, row) spacing
    return np.asarray((np.array(b) - np.array(a)) * scale, dtype=np.float64)


def _angle(u: NDArray[np.float64], v: NDArray[np.float64]) -> float | None:
    norms = float(np.linalg.norm(u) * np.linalg.norm(v))
    if norms == 0:
        return None
    return math.degrees(math.acos(max(-1.0, min(1.0, float(u @ v) / norms))))


def _mask(kind: str, points: Sequence[tuple[float, float]], shape: tuple[int, int]) -> NDArray[np.bool_]:
    """Pixels whose centres lie inside the ellipse or rectangle with corners ``points`` (border included)."""
    (x0, y0), (x1, y1) = points
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]]
    u, v = cols + 0.5, rows + 0.5
    if kind == "rectangle":
        return np.asarray((u >= min(x0, x1)) & (u <= max(x0, x1)) & (v >= min(y0, y1)) & (v <= max(y0, y1)))
    a, b = abs(x1 - x0) / 2, abs(y1 - y0) / 2
    return np.asarray(((u - (x0 + x1) / 2) / a) ** 2 + ((v - (y0 + y1) / 2) / b) ** 2 <= 1)


def values(measurement: Measurement, spacing: Sequence[float] | None,
           modality: NDArray[Any] | None = None) -> dict[str, float]:
    """What ``measurement`` measures: length, angle, or area and the statistics of ``modality`` inside."""
    kind, points = measurement.kind, measurement.points
    if kind == "length":
        return {"length": float(np.linalg.norm(_vector(points[0], points[1], spacing)))}
    if kind == "angle":
        angle = _angle(_vector(points[1], points[0], spacing), _vector(points[1], points[2], spacing))
        return {} if angle is None else {"angle": angle}
    if kind == "cobb":
        angle = _angle(_vector(points[0], points[1], spacing), _vector(points[2], points[3], spacing))
        return {} if angle is None else {"angle": min(angle, 180 - angle)}
    if kind in ("ellipse", "rectangle"):
        (x0, y0), (x1, y1) = points
        width, height = abs(x1 - x0), abs(y1 - y0)
        area = math.pi * width / 2 * height / 2 if kind == "ellipse" else width * height
        found = {"area": area * (spacing[0] * spacing[1] if spacing else 1.0)}
        if modality is not None and width > 0 and height > 0:
            inside = np.asarray(modality, dtype=np.float64)[_mask(kind, points, modality.shape[:2])]
            if inside.size:
                found.update(mean=float(inside.mean()), sd=float(inside.std()), min=float(inside.min()),
                             max=float(inside.max()))
        return found
    return {}


# --- the report ----------------------------------------------------------------------------------

def _codes() -> dict[str, Any]:
    from pydicom.sr.codedict import codes
    return {"length": codes.SCT.Length, "area": codes.SCT.Area, "mean": codes.SCT.Mean,
            "sd": codes.SCT.StandardDeviation, "min": codes.SCT.Minimum, "max": codes.SCT.Maximum,
            "angle": codes.SCT.Angle}


def _unit(name: str, spacing: Sequence[float] | None, value_units: tuple[str, str]) -> Any:
    import highdicom as hd
    if name == "angle":
        return hd.sr.CodedConcept("deg", "UCUM", "degree")
    if name == "length":
        return hd.sr.CodedConcept("mm", "UCUM", "millimeter") if spacing else \
            hd.sr.CodedConcept("{pixels}", "UCUM", "pixels")
    if name == "area":
        return hd.sr.CodedConcept("mm2", "UCUM", "square millimeter") if spacing else \
            hd.sr.CodedConcept("{square pixels}", "UCUM", "square pixels")
    code, meaning = value_units
    return hd.sr.CodedConcept(code, "UCUM", meaning)


def _scoord(measurement: Measurement) -> tuple[Any, NDArray[np.float64]]:
    import highdicom as hd
    graphic = hd.sr.GraphicTypeValues
    points = np.array(measurement.points, dtype=np.float64)
    if measurement.kind in ("length", "angle", "arrow"):
        return graphic.POLYLINE, points
    if measurement.kind == "cobb":
        return graphic.POLYLINE, points   # TID 1410 holds one region, and not a MULTIPOINT: the two lines in a row
    (x0, y0), (x1, y1) = measurement.points
    if measurement.kind == "rectangle":
        return graphic.POLYLINE, np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]])   # closed: a polygon
    cx, cy, a, b = (x0 + x1) / 2, (y0 + y1) / 2, abs(x1 - x0) / 2, abs(y1 - y0) / 2
    horizontal = [[cx - a, cy], [cx + a, cy]]
    vertical = [[cx, cy - b], [cx, cy + b]]
    return graphic.ELLIPSE, np.array(horizontal + vertical if a >= b else vertical + horizontal)


def _identifier(measurement: Measurement, number: int) -> str:
    if measurement.kind == "arrow":
        return measurement.label or f"Arrow {number}"
    return f"{measurement.kind.capitalize()} {number}"


def build_report(evidence: Sequence[Any], measurements: Sequence[tuple[Measurement, Mapping[str, Any]]],
                 *, series_number: int = 9901) -> Any:
    """A Comprehensive 3D SR Measurement Report of ``measurements``, each with the context of its image:
    ``{"spacing": [row, column] | None, "units": (code, meaning) of its modality values}``.

    ``evidence`` holds the datasets (headers suffice) of the images measured.
    """
    import highdicom as hd
    from pydicom.sr.codedict import codes
    if not measurements:
        raise BadParameter("no measurement to save")
    by_uid = {str(ds.SOPInstanceUID): ds for ds in evidence}
    concepts = _codes()
    groups = []
    for number, (measurement, context) in enumerate(measurements, 1):
        source = by_uid[measurement.sop_instance_uid]
        frames = elements.integer(source, "NumberOfFrames", 1) or 1
        graphic_type, data = _scoord(measurement)
        region = hd.sr.ImageRegion(
            graphic_type=graphic_type, graphic_data=data,
            source_image=hd.sr.SourceImageForRegion(
                referenced_sop_class_uid=source.SOPClassUID, referenced_sop_instance_uid=source.SOPInstanceUID,
                referenced_frame_numbers=[measurement.frame + 1] if frames > 1 else None))
        spacing = context.get("spacing")
        numbers = [hd.sr.Measurement(name=concepts[name], value=value,
                                     unit=_unit(name, spacing, context.get("units", ("1", "no units"))))
                   for name, value in measurement.values.items() if name in concepts and math.isfinite(value)]
        groups.append(hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(uid=hd.UID(), identifier=_identifier(measurement, number)),
            referenced_region=region, measurements=numbers or None))
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(),
        procedure_reported=hd.sr.CodedConcept("363679005", "SCT", "Imaging procedure"),
        imaging_measurements=groups, title=codes.DCM.ImagingMeasurementReport)
    return hd.sr.Comprehensive3DSR(
        evidence=list(evidence), content=report, series_instance_uid=hd.UID(), series_number=series_number,
        sop_instance_uid=hd.UID(), instance_number=1, manufacturer="Orthanc Previewer",
        series_description=SERIES_DESCRIPTION, is_complete=True)


# --- reading a report back ----------------------------------------------------------------------------

_VALUE_NAMES = {"410668003": "length", "42798000": "area", "373098007": "mean", "386136009": "sd",
                "255605001": "min", "56851009": "max", "1483009": "angle"}


def _kind(graphic_type: str, points: NDArray[np.float64], names: set[str]) -> tuple[str, list[list[float]]] | None:
    """The tool kind of a region and the points the viewer draws it from."""
    if graphic_type == "POLYLINE" and len(points) == 2:
        return ("length" if "length" in names else "arrow"), points.tolist()
    if graphic_type == "POLYLINE" and len(points) == 3:
        return "angle", points.tolist()
    if graphic_type == "POLYLINE" and len(points) == 4 and "angle" in names:
        return "cobb", points.tolist()
    closed = graphic_type == "POLYLINE" and len(points) == 5 and bool(np.all(points[0] == points[-1]))
    if closed or (graphic_type == "ELLIPSE" and len(points) == 4):
        low, high = points.min(axis=0), points.max(axis=0)
        return ("rectangle" if closed else "ellipse"), [low.tolist(), high.tolist()]
    return None


def read_report(ds: Any) -> list[dict[str, Any]]:
    """The image measurements of a TID 1500 report: [{kind, sop_instance_uid, frame, points, label, values}].
    A malformed element is :class:`Malformed`, naming it."""
    found = []
    for group in _groups(ds):
        region = _first_item(group, "SCOORD")
        if region is None:
            continue
        names = {}
        for item in _content(group):
            code = elements.first(item, "ConceptNameCodeSequence")
            if elements.code_string(item, "ValueType") == "NUM" and code is not None:
                name = _VALUE_NAMES.get(elements.string(code, "CodeValue"))
                measured = elements.first(item, "MeasuredValueSequence")
                value = None if measured is None else elements.number(measured, "NumericValue")
                if name and value is not None:
                    names[name] = value
        coordinates = elements.numbers(region, "GraphicData") or ()
        if len(coordinates) % 2:
            raise Malformed(f"{elements.label('GraphicData')} has {len(coordinates)} values, not pairs")
        points = np.array(coordinates, dtype=np.float64).reshape(-1, 2)
        kind = _kind(elements.code_string(region, "GraphicType"), points, set(names))
        image = _first_item(region, "IMAGE")
        reference = None if image is None else elements.first(image, "ReferencedSOPSequence")
        if kind is None or reference is None:
            continue
        frames = elements.integers(reference, "ReferencedFrameNumber", low=1, high=(1 << 31) - 1)
        identifier = _tracking_identifier(group)
        found.append({"kind": kind[0], "sop_instance_uid": elements.string(reference, "ReferencedSOPInstanceUID"),
                      "frame": (frames[0] if frames else 1) - 1, "points": kind[1],
                      "label": identifier if kind[0] == "arrow" and not identifier.startswith("Arrow ") else "",
                      "values": names})
    return found


def _content(item: Any) -> Any:
    """The items of the Content Sequence (0040,A730) of a content item (PS3.3 C.17.3)."""
    return elements.sequence(item, "ContentSequence")


def _first_item(item: Any, value_type: str) -> Any:
    for child in _content(item):
        if elements.code_string(child, "ValueType") == value_type:
            return child
    return None


def _tracking_identifier(group: Any) -> str:
    for child in _content(group):
        code = elements.first(child, "ConceptNameCodeSequence")
        if (elements.code_string(child, "ValueType") == "TEXT" and code is not None
                and elements.string(code, "CodeValue") == "112039"):
            return elements.string(child, "TextValue")
    return ""


def _groups(ds: Any) -> list[Any]:
    """The TID 1410 groups: CONTAINER items with an image region, anywhere in the tree (bounded)."""
    groups, stack, seen = [], list(_content(ds)), 0
    while stack and seen < 100_000:
        item = stack.pop(0)
        seen += 1
        if elements.code_string(item, "ValueType") == "CONTAINER" and _first_item(item, "SCOORD") is not None:
            groups.append(item)
        else:
            stack.extend(_content(item))
    return groups
