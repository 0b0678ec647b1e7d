"""RT Structure Sets (PS3.3 A.19, C.8.8.5-C.8.8.8): ROI contours drawn over the images they lie on.

A structure set names its ROIs in the Structure Set ROI Sequence (3006,0020)
and outlines each in the ROI Contour Sequence (3006,0039): contours of
patient-space points (mm), each CLOSED_PLANAR, OPEN_PLANAR, OPEN_NONPLANAR or
POINT, in the ROI Display Color.  A contour lies on an image when its
Contour Image Sequence references that image, or, without one, when every
point is within half the slice spacing of the image plane.

:func:`parse` reads a structure set once; :func:`on_image` finds the
contours of an image and projects them to pixel coordinates;
:func:`draw` draws them antialiased over a rendered frame.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from ..pixels import elements
from ..pixels.errors import BadParameter, Malformed, PixelError, TooLarge
from ..pixels.meta import text
from ..pixels.render import Rendered

RT_STRUCTURE_SET = "1.2.840.10008.5.1.4.1.1.481.3"
#: The most contour points a structure set may hold, all ROIs together.
MAX_POINTS = 5_000_000
#: Colour of an ROI without ROI Display Color (3006,002A).
DEFAULT_COLOR = (255, 0, 0)
_SUPERSAMPLE = 4
#: Above this many output pixels the outlines are supersampled less (the masks stay under 16 MP).
_SUPERSAMPLED_PIXELS = 16_000_000
_CLOSED = "CLOSED_PLANAR"


class WrongFrameOfReference(PixelError):
    """The structure set outlines another Frame of Reference than the image's."""

    status = 422


@dataclass(frozen=True, eq=False)
class Contour:
    """One contour: ``points`` (N x 3, mm), its geometric type and the SOP Instance UIDs it references."""

    points: NDArray[np.float64]
    kind: str
    images: frozenset[str]


@dataclass(frozen=True, eq=False)
class Roi:
    """One ROI of the structure set (PS3.3 C.8.8.5, C.8.8.6, C.8.8.8)."""

    number: int
    name: str
    color: tuple[int, int, int]
    type: str
    contours: tuple[Contour, ...]


@dataclass(frozen=True, eq=False)
class StructureSet:
    """A parsed structure set; ``skipped`` counts contours left out for non-finite or missing points."""

    label: str
    frame_of_reference: str
    series: tuple[str, ...]
    rois: tuple[Roi, ...]
    skipped: int


@dataclass(frozen=True)
class Plane:
    """An image's plane: Image Position and Orientation, Pixel Spacing (rows, columns), size, tolerance (mm)."""

    sop_instance_uid: str
    frame_of_reference: str
    position: tuple[float, float, float]
    orientation: tuple[float, float, float, float, float, float]
    spacing: tuple[float, float]
    rows: int
    columns: int
    tolerance: float


def _int(item: Any, keyword: str) -> int | None:
    """An ROI number; None when absent or malformed (the item is then left out)."""
    try:
        return elements.integer(item, keyword)
    except Malformed:
        return None


def _color(item: Any) -> tuple[int, int, int]:
    """ROI Display Color (3006,002A), PS3.3 C.8.8.6: three integers, clamped to 0..255; the default when
    absent or malformed."""
    try:
        parts = elements.integers(item, "ROIDisplayColor", 3)
    except Malformed:
        return DEFAULT_COLOR
    if parts is None:
        return DEFAULT_COLOR
    red, green, blue = (min(255, max(0, part)) for part in parts)
    return red, green, blue


def _points(contour: Any, budget: int) -> NDArray[np.float64] | None:
    """The contour's points, or None when they are missing or not finite; TooLarge past ``budget``."""
    found = elements.each(contour, "ContourData")
    if len(found) // 3 > budget:
        raise TooLarge(f"the structure set holds more than {MAX_POINTS} contour points")
    try:
        values = elements.numbers(contour, "ContourData")
    except Malformed:
        return None
    if values is None:
        return None
    points = np.asarray(values, np.float64)
    if points.size < 3 or points.size % 3:
        return None
    return points.reshape(-1, 3)


def parse(ds: Any) -> StructureSet:
    """The structure set's ROIs and contours (TooLarge over :data:`MAX_POINTS` points)."""
    if text(ds.get("SOPClassUID")) != RT_STRUCTURE_SET:
        raise BadParameter(f"parameter 'structures': the instance is not an RT Structure Set "
                           f"((0008,0016) SOP Class UID {text(ds.get('SOPClassUID'))[:64]!r})")
    references = _sequence(ds, "ReferencedFrameOfReferenceSequence")
    frame_of_reference = elements.string(references[0], "FrameOfReferenceUID") if references else ""
    series = tuple(dict.fromkeys(
        elements.string(s, "SeriesInstanceUID") for ref in references
        for study in _sequence(ref, "RTReferencedStudySequence")
        for s in _sequence(study, "RTReferencedSeriesSequence") if elements.string(s, "SeriesInstanceUID")))
    names: dict[int, tuple[str, str]] = {}
    for item in _sequence(ds, "StructureSetROISequence"):
        number = _int(item, "ROINumber")
        if number is not None:
            names[number] = (elements.string(item, "ROIName"), elements.string(item, "ROIGenerationAlgorithm"))
    types = {_int(o, "ReferencedROINumber"): elements.string(o, "RTROIInterpretedType")
             for o in _sequence(ds, "RTROIObservationsSequence")}
    budget, skipped, rois = MAX_POINTS, 0, []
    for item in _sequence(ds, "ROIContourSequence"):
        number = _int(item, "ReferencedROINumber")
        if number is None:
            continue
        contours = []
        for contour in _sequence(item, "ContourSequence"):
            points = _points(contour, budget)
            if points is None:
                skipped += 1
                continue
            budget -= len(points)
            images = frozenset(elements.string(ref, "ReferencedSOPInstanceUID")
                               for ref in _sequence(contour, "ContourImageSequence"))
            kind = elements.code_string(contour, "ContourGeometricType") or _CLOSED
            contours.append(Contour(points, kind, images - {""}))
        name = names.get(number, ("", ""))[0] or f"ROI {number}"
        rois.append(Roi(number, name, _color(item), types.get(number, ""), tuple(contours)))
    return StructureSet(elements.string(ds, "StructureSetLabel"), frame_of_reference, series, tuple(rois), skipped)


def _sequence(item: Any, keyword: str) -> list[Any]:
    """The items of a sequence; [] when absent or not a sequence (what it would hold is left out)."""
    try:
        return list(elements.sequence(item, keyword))
    except Malformed:
        return []


def select(structures: StructureSet, wanted: str | None) -> tuple[Roi, ...]:
    """The ROIs ``rois=`` picks: comma-separated numbers or names (case-insensitive); all without it."""
    if wanted is None:
        return structures.rois
    chosen: list[Roi] = []
    for part in (p.strip() for p in wanted.split(",")):
        found = [roi for roi in structures.rois if str(roi.number) == part or roi.name.lower() == part.lower()]
        if not found:
            known = ", ".join(f"{roi.number} {roi.name}" for roi in structures.rois)
            raise BadParameter(f"parameter 'rois': no ROI numbered or named {part[:100]!r} (this structure set has: {known})")
        chosen += [roi for roi in found if roi not in chosen]
    return tuple(chosen)


def axes(plane: Plane) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    row = np.asarray(plane.orientation[:3], np.float64)
    column = np.asarray(plane.orientation[3:], np.float64)
    normal = np.cross(row, column)
    if not all(np.isfinite(v).all() and np.linalg.norm(v) > 1e-6 for v in (row, column, normal)):
        raise Malformed("Image Orientation (Patient) (0020,0037) of the image is not two independent directions")
    return row / np.linalg.norm(row), column / np.linalg.norm(column), normal / np.linalg.norm(normal)


def lies_on(contour: Contour, plane: Plane, normal: NDArray[np.float64]) -> bool:
    """True when the contour is on the image: by reference where it has one, else by its points' distance."""
    if contour.images:
        return plane.sop_instance_uid in contour.images
    distance = (contour.points - np.asarray(plane.position)) @ normal
    return bool(np.abs(distance).max() <= plane.tolerance)


def on_image(rois: Iterable[Roi], plane: Plane, frame_of_reference: str) -> list[tuple[Roi, list[tuple[str, NDArray[np.float64]]]]]:
    """Per ROI, its contours on the image as (kind, N x 2 pixel coordinates: column, row of pixel centres)."""
    if frame_of_reference and plane.frame_of_reference and frame_of_reference != plane.frame_of_reference:
        raise WrongFrameOfReference(f"the structure set outlines Frame of Reference {frame_of_reference}, "
                                    f"and the image is in {plane.frame_of_reference}")
    row, column, normal = axes(plane)
    if not all(math.isfinite(s) and s > 0 for s in plane.spacing):
        raise Malformed(f"Pixel Spacing (0028,0030) of the image must be two positive numbers, not {plane.spacing}")
    found = []
    for roi in rois:
        contours = []
        for contour in roi.contours:
            if lies_on(contour, plane, normal):
                offset = contour.points - np.asarray(plane.position)
                pixels = np.stack([offset @ row / plane.spacing[1], offset @ column / plane.spacing[0]], axis=1)
                contours.append((contour.kind, pixels))
        if contours:
            found.append((roi, contours))
    return found


#: The formats contours are drawn over (the result is rgb24).
DRAWABLE = ("gray8", "rgb24", "rgba32")


def check_format(name: str) -> None:
    """400 for an output format that cannot hold coloured contours."""
    if name not in DRAWABLE:
        raise BadParameter(f"structures are drawn in colour (rgb24); format={name} cannot hold them")


def _rgb(rendered: Rendered) -> NDArray[np.float32]:
    check_format(rendered.format)
    arr = rendered.array
    if rendered.format == "gray8":
        return np.repeat(arr.astype(np.float32)[:, :, None], 3, axis=2)
    if rendered.format == "rgb24":
        return arr.astype(np.float32)
    return arr[:, :, :3].astype(np.float32)


def draw(rendered: Rendered, found: list[tuple[Roi, list[tuple[str, NDArray[np.float64]]]]], rows: int,
         columns: int, fill: float) -> Rendered:
    """The contours over the frame, as rgb24: outlines antialiased (supersampled up to 4x), closed ones filled by ``fill``."""
    out = _rgb(rendered)
    height, width = out.shape[:2]
    scale_x, scale_y = width / columns, height / rows
    factor = max(1, min(_SUPERSAMPLE, int(math.sqrt(_SUPERSAMPLED_PIXELS / (width * height)))))
    line = max(1, round(1.5 * factor))
    for roi, contours in found:
        edge = Image.new("L", (width * factor, height * factor), 0)
        inside = Image.new("L", edge.size, 0) if fill > 0 else None
        pen = ImageDraw.Draw(edge)
        for kind, pixels in contours:
            # Pixel centres: a point at pixel (i, j) is drawn at ((i + 0.5) * scale) in the output.
            xy = [((x + 0.5) * scale_x * factor, (y + 0.5) * scale_y * factor) for x, y in pixels.tolist()]
            if kind == "POINT" or len(xy) == 1:
                for x, y in xy:
                    pen.ellipse((x - 2 * line, y - 2 * line, x + 2 * line, y + 2 * line), fill=255)
                continue
            closed = kind == _CLOSED
            pen.line(xy + ([xy[0]] if closed else []), fill=255, width=line, joint="curve")
            if inside is not None and closed and len(xy) >= 3:
                ImageDraw.Draw(inside).polygon(xy, fill=255)
        alpha = _coverage(edge, height, width, factor)
        if inside is not None:
            alpha = np.maximum(alpha, _coverage(inside, height, width, factor) * np.float32(fill))
        out += alpha[:, :, None] * (np.asarray(roi.color, np.float32) - out)
    return Rendered(np.ascontiguousarray(np.rint(np.clip(out, 0, 255)).astype(np.uint8)), "rgb24", rendered.window)


def _coverage(mask: Image.Image, height: int, width: int, factor: int) -> NDArray[np.float32]:
    """The supersampled mask averaged down to the output: each pixel's covered fraction, 0..1."""
    array = np.asarray(mask, np.float32) / np.float32(255)
    covered: NDArray[np.float32] = array.reshape(height, factor, width, factor).mean(axis=(1, 3), dtype=np.float32)
    return covered


def summary(structures: StructureSet) -> dict[str, Any]:
    """JSON-ready description: label, Frame of Reference, referenced series, ROIs with colours and images."""
    return {
        "label": structures.label, "frame_of_reference": structures.frame_of_reference,
        "series": list(structures.series), "skipped_contours": structures.skipped,
        "rois": [{"number": roi.number, "name": roi.name, "color": "#%02x%02x%02x" % roi.color, "type": roi.type,
                  "contours": len(roi.contours),
                  "images": sorted({uid for contour in roi.contours for uid in contour.images})}
                 for roi in structures.rois],
    }
