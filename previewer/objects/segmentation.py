"""Segmentation (PS3.3 A.51) drawn over the images it references.

:func:`parse` reads the Segmentation Image Module (PS3.3 C.8.20.2) and the
per-frame functional groups (C.7.6.16: Derivation Image > Source Image,
Segment Identification) into a :class:`Segmentation` free of the dataset;
:func:`masks_for` gives the coverage of each segment on one image frame,
:func:`check_geometry` refuses an image whose size (or Frame of Reference)
is not the Segmentation's, and :func:`draw` alpha-blends the segment
colours over a rendered frame.  :func:`thumbnail_image` picks the image frame
a Segmentation's own thumbnail shows (the one with the most segments) and
:func:`thumbnail` paints its segments, opaque, over that image or on black.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..pixels import elements
from ..pixels.color import lab_to_rgb
from ..pixels.errors import BadParameter, Malformed, PixelError, TooLarge, Unsupported
from ..pixels.meta import text
from ..pixels.render import Rendered
from ..pixels.resize import area_resize, fit_size
from . import SEGMENTATION

#: Unpacked frames (one byte a pixel) kept at most, without a megapixel limit.
_BUDGET_BYTES = 512 * 1024 * 1024
#: Colours for segments without a Recommended Display CIELab Value.
_PALETTE = ((255, 64, 64), (64, 200, 64), (64, 128, 255), (255, 200, 0),
            (200, 64, 255), (0, 210, 210), (255, 128, 0), (255, 105, 180))


class NotReferenced(PixelError):
    """The Segmentation covers neither that image nor that frame, or not at its size."""

    status = 422


@dataclass(frozen=True)
class Segment:
    """One item of the Segment Sequence (PS3.3 C.8.20.2)."""

    number: int
    label: str
    color: tuple[int, int, int]
    category: str
    type: str


@dataclass(frozen=True, eq=False)
class Segmentation:
    """A parsed SEG: ``frames`` (n, rows, cols) uint8 read-only, ``refs`` (SOP UID, frame, segment) per frame."""

    label: str
    description: str
    type: str
    maximum: int
    segments: tuple[Segment, ...]
    series: tuple[str, ...]
    frames: NDArray[np.uint8]
    refs: tuple[tuple[str, int, int], ...]
    frame_of_reference: str = ""
    #: (0010,0020) Patient ID and (0020,000D) Study Instance UID of the Segmentation.
    patient_id: str = ""
    study: str = ""
    #: Referenced SOP Instance UID -> its Series Instance UID (PS3.3 C.12.2 Referenced Series Sequence).
    series_of: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: Per frame: its (0020,0032) Image Position (Patient) in the Plane Position Sequence, or None.
    positions: tuple[tuple[float, float, float] | None, ...] = ()


@dataclass(frozen=True)
class ThumbnailImage:
    """The image frame a Segmentation's thumbnail shows: ``uid`` and 1-based ``frame`` ('' and 0 when the
    frames reference no image), ``indices`` the Segmentation frames on it, ``segments`` those with pixels."""

    uid: str
    frame: int
    indices: tuple[int, ...]
    segments: tuple[int, ...]


def _code(item: Any, keyword: str) -> str:
    """The Code Meaning of a code sequence's first item (PS3.3 8.8), or ''."""
    code = elements.first(item, keyword)
    return "" if code is None else elements.string(code, "CodeMeaning")


def _segment(item: Any, position: int) -> Segment:
    """A Segment Sequence item (PS3.3 C.8.20.2.1); colour from (0062,000D) or the palette."""
    where = f"{elements.label('SegmentSequence')} item {position + 1}: "
    number = elements.required_integer(item, "SegmentNumber", where=where)
    color = _PALETTE[(number - 1) % len(_PALETTE)]
    try:   # a malformed recommendation (one number, a wrong VR) leaves the palette colour
        lab = elements.integers(item, "RecommendedDisplayCIELabValue", 3, low=0, high=65535)
    except Malformed:
        lab = None
    if lab is not None:
        color = lab_to_rgb((lab[0], lab[1], lab[2]))
    return Segment(number, text(item.get("SegmentLabel")), color,
                   _code(item, "SegmentedPropertyCategoryCodeSequence"),
                   _code(item, "SegmentedPropertyTypeCodeSequence"))


def _frame_ref(ds: Any, group: Any, index: int) -> tuple[str, int, int]:
    """(source SOP Instance UID, source frame, segment) of one frame, PS3.3 C.7.6.16.2.6 and C.8.20.3.1."""
    where = f"{elements.label('PerFrameFunctionalGroupsSequence')} item {index + 1}: "
    identification = elements.first(group, "SegmentIdentificationSequence", where=where)
    if identification is None:
        raise Malformed(f"{where}{elements.label('SegmentIdentificationSequence')} is missing")
    segment = elements.required_integer(identification, "ReferencedSegmentNumber", where=where)
    uid, frame = "", 1
    for item in elements.sequence(group, "DerivationImageSequence", where=where):
        for source in elements.sequence(item, "SourceImageSequence", where=where):
            uid = elements.string(source, "ReferencedSOPInstanceUID")
            numbers = elements.integers(source, "ReferencedFrameNumber", low=-(1 << 31), high=(1 << 31) - 1,
                                        where=where)
            if numbers:
                frame = numbers[0]
            break
        if uid:
            break
    series = elements.sequence(ds, "ReferencedSeriesSequence")
    if not uid and len(series) == 1:
        instances = elements.sequence(series[0], "ReferencedInstanceSequence")
        if len(instances) == 1:
            uid = elements.string(instances[0], "ReferencedSOPInstanceUID")
    return uid, frame, segment


def _frames(ds: Any, count: int, max_megapixels: float | None) -> NDArray[np.uint8]:
    """All frames unpacked to uint8 (n, rows, cols), refusing more than the budget."""
    rows = elements.integer(ds, "Rows", 0, low=0, high=65535) or 0
    cols = elements.integer(ds, "Columns", 0, low=0, high=65535) or 0
    if rows < 1 or cols < 1:
        raise Malformed(f"Segmentation has {rows} rows and {cols} columns ({elements.label('Rows')}, "
                        f"{elements.label('Columns')})")
    budget = _BUDGET_BYTES if max_megapixels is None else min(_BUDGET_BYTES, max_megapixels * 1e6 * max(count, 1))
    if rows * cols * count > budget:
        raise TooLarge(f"Segmentation of {count} frames of {rows}x{cols} exceeds the {budget / 1e6:.0f} MB limit")
    try:
        arr = np.asarray(ds.pixel_array)
    except Exception as exc:  # noqa: BLE001 - pydicom's pixel decoders raise many types for undecodable data
        raise Unsupported(f"Segmentation {elements.label('PixelData')} cannot be decoded: {elements.reason(exc)}") from None
    if arr.size != count * rows * cols:
        raise Malformed(f"Segmentation {elements.label('PixelData')} holds {arr.size} values, "
                        f"not {count} frames of {rows}x{cols}")
    arr = arr.reshape(count, rows, cols).astype(np.uint8)
    arr.flags.writeable = False
    return arr


def parse(ds: Any, max_megapixels: float | None = None) -> Segmentation:
    """Parse a Segmentation instance (PS3.3 A.51, C.8.20.2); 415 for anything else."""
    if text(ds.get("SOPClassUID")) != SEGMENTATION:
        raise Unsupported(f"(0008,0016) SOP Class UID {text(ds.get('SOPClassUID'))!r} is not Segmentation")
    seg_type = elements.code_string(ds, "SegmentationType")
    if seg_type not in ("BINARY", "FRACTIONAL"):
        raise Unsupported(f"Unsupported (0062,0001) Segmentation Type {seg_type!r}")
    segments = tuple(_segment(item, i) for i, item in enumerate(elements.sequence(ds, "SegmentSequence")))
    if not segments:
        raise Unsupported("Segmentation has no (0062,0002) Segment Sequence")
    count = elements.integer(ds, "NumberOfFrames", 1, low=1) or 1
    groups = list(elements.sequence(ds, "PerFrameFunctionalGroupsSequence"))
    # PS3.3 C.7.6.16: one item per frame.  Items beyond the frames describe none and are left out
    # (pydicom's liver_1frame.dcm keeps the three items of the three-frame liver.dcm it was cut from).
    if len(groups) < count:
        raise Malformed(f"Segmentation has {len(groups)} per-frame functional groups "
                        f"({elements.label('PerFrameFunctionalGroupsSequence')}) for {count} frames "
                        f"({elements.label('NumberOfFrames')})")
    groups = groups[:count]
    refs = tuple(_frame_ref(ds, group, i) for i, group in enumerate(groups))
    maximum = 1
    if seg_type == "FRACTIONAL":
        # PS3.3 C.8.20.2.3: Maximum Fractional Value, at most 255 (0, which would divide by zero, as absent).
        maximum = elements.integer(ds, "MaximumFractionalValue", 255, low=0, high=255) or 255
    series = tuple(elements.string(item, "SeriesInstanceUID") for item in elements.sequence(ds, "ReferencedSeriesSequence"))
    return Segmentation(text(ds.get("ContentLabel")) or text(ds.get("SeriesDescription")),
                        text(ds.get("ContentDescription")), seg_type, maximum, segments,
                        series, _frames(ds, count, max_megapixels), refs,
                        text(ds.get("FrameOfReferenceUID")).strip(),
                        text(ds.get("PatientID")).strip(), text(ds.get("StudyInstanceUID")).strip(),
                        _series_of(ds), tuple(_position(group) for group in groups))


def _series_of(ds: Any) -> dict[str, str]:
    """SOP Instance UID -> Series Instance UID of the instances the Referenced Series Sequence lists (PS3.3 C.12.2)."""
    found: dict[str, str] = {}
    for item in elements.sequence(ds, "ReferencedSeriesSequence"):
        series = elements.string(item, "SeriesInstanceUID")
        for instance in elements.sequence(item, "ReferencedInstanceSequence"):
            uid = elements.string(instance, "ReferencedSOPInstanceUID")
            if uid and series:
                found.setdefault(uid, series)
    return found


def _position(group: Any) -> tuple[float, float, float] | None:
    """A frame's (0020,0032) Image Position (Patient) in its Plane Position Sequence (PS3.3 C.7.6.16.2.3);
    None when absent or malformed (the frame is then grouped alone for the thumbnail)."""
    try:
        plane = elements.first(group, "PlanePositionSequence")
        position = None if plane is None else elements.numbers(plane, "ImagePositionPatient", 3)
    except Malformed:
        return None
    return None if position is None else (position[0], position[1], position[2])


def summary(seg: Segmentation) -> dict[str, Any]:
    """JSON-ready description: labels, type, segments with colours, referenced series and instances."""
    instances = list(dict.fromkeys(uid for uid, _, _ in seg.refs if uid))
    return {
        "label": seg.label, "description": seg.description, "type": seg.type,
        "segments": [{"number": s.number, "label": s.label, "color": "#%02x%02x%02x" % s.color,
                      "category": s.category, "type": s.type} for s in seg.segments],
        "series": list(seg.series), "instances": instances,
    }


def _coverage(seg: Segmentation, indices: Any) -> dict[int, NDArray[np.float32]]:
    """Segment number -> coverage 0..1 of the frames ``indices`` (PS3.3 C.8.20.2.3: value / Maximum Fractional Value)."""
    found: dict[int, NDArray[np.float32]] = {}
    for index in indices:
        segment = seg.refs[index][2]
        coverage = seg.frames[index].astype(np.float32) / np.float32(seg.maximum)
        np.clip(coverage, 0.0, 1.0, out=coverage)
        found[segment] = np.maximum(found[segment], coverage) if segment in found else coverage
    return found


def masks_for(seg: Segmentation, sop_instance_uid: str, frame_number: int) -> dict[int, NDArray[np.float32]]:
    """Segment number -> coverage 0..1 of that image frame (PS3.3 C.8.20.2.3: value / Maximum Fractional Value)."""
    found = _coverage(seg, [index for index, (uid, frame, _) in enumerate(seg.refs)
                            if uid == sop_instance_uid and frame == frame_number])
    if not found:
        raise NotReferenced(f"the Segmentation references neither image {sop_instance_uid} nor its frame {frame_number}")
    return found


def _image_key(seg: Segmentation, index: int) -> tuple[Any, ...]:
    """Which image frame a Segmentation frame lies on: its source image (PS3.3 C.7.6.16.2.6), else its
    plane position (C.7.6.16.2.3), else the frame alone."""
    uid, frame, _ = seg.refs[index]
    if uid:
        return ("image", uid, frame)
    position = seg.positions[index] if index < len(seg.positions) else None
    if position is not None:
        return ("position", tuple(round(v, 3) for v in position))
    return ("frame", index)


def thumbnail_image(seg: Segmentation) -> ThumbnailImage:
    """The image frame on which the most segments have pixels; ties go to the most segmented pixels, then
    to the first in the Segmentation's frame order.  A picture of one real slice, not a projection: the
    segments are shown where they are on the image they were drawn on."""
    groups: dict[tuple[Any, ...], list[int]] = {}
    for index in range(len(seg.refs)):
        groups.setdefault(_image_key(seg, index), []).append(index)
    known = {segment.number for segment in seg.segments}   # a frame of an undefined segment is not drawn
    best: tuple[int, int] = (-1, -1)
    chosen: ThumbnailImage | None = None
    for key, indices in groups.items():
        counts = {seg.refs[i][2]: 0 for i in indices if seg.refs[i][2] in known}
        for i in indices:
            if seg.refs[i][2] in known:
                counts[seg.refs[i][2]] += int(np.count_nonzero(seg.frames[i]))
        shown = tuple(sorted(number for number, count in counts.items() if count))
        score = (len(shown), sum(counts.values()))
        if score > best:
            best = score
            uid, frame = (key[1], key[2]) if key[0] == "image" else ("", 0)
            chosen = ThumbnailImage(uid, frame, tuple(indices), shown)
    if chosen is None:
        raise Unsupported("Segmentation has no frames")
    return chosen


def thumbnail(seg: Segmentation, picked: ThumbnailImage, under: Rendered | None,
              max_width: int | None, max_height: int | None) -> Rendered:
    """The segments of ``picked`` painted opaque in their colours (coverage as alpha, area-averaged to the
    output size) over ``under``, the rendered image frame, or on black at the Segmentation's size fitted
    in the box when ``under`` is None."""
    if under is None:
        rows, cols = fit_size(int(seg.frames.shape[1]), int(seg.frames.shape[2]), max_width, max_height)
        under = Rendered(np.zeros((rows, cols), np.uint8), "gray8", None)
    return draw(under, _coverage(seg, picked.indices), seg, 1.0, None)


def check_geometry(seg: Segmentation, rows: int, columns: int, frame_of_reference: str = "") -> None:
    """422 unless the image is ``rows`` x ``columns`` like the Segmentation's frames (PS3.3 C.8.20.2).

    The Segmentation's pixels are drawn one to one over the image's, so its
    (0028,0010) Rows and (0028,0011) Columns must be the image's; when both give
    a (0020,0052) Frame of Reference UID (PS3.3 C.7.4.1), it must be the same.
    """
    seg_rows, seg_cols = seg.frames.shape[1:]
    if (seg_rows, seg_cols) != (rows, columns):
        raise NotReferenced(f"the Segmentation's frames are {seg_rows}x{seg_cols} (rows x columns) "
                            f"and the image is {rows}x{columns}")
    if seg.frame_of_reference and frame_of_reference and seg.frame_of_reference != frame_of_reference:
        raise NotReferenced(f"the Segmentation's (0020,0052) Frame of Reference UID {seg.frame_of_reference} "
                            f"is not the image's {frame_of_reference}")


def _rgb8(rendered: Rendered) -> tuple[NDArray[np.float32], NDArray[np.uint8] | None]:
    """(HxWx3 float 0..255, alpha or None) of a rendered frame, gray16 scaled to 8 bits."""
    arr = rendered.array
    if rendered.format == "gray8":
        grey = arr.astype(np.float32)
        return np.repeat(grey[:, :, None], 3, axis=2), None
    if rendered.format == "gray16":
        grey = arr.astype(np.float32) * np.float32(255.0 / 65535.0)
        return np.repeat(grey[:, :, None], 3, axis=2), None
    if rendered.format == "rgb24":
        return arr.astype(np.float32), None
    if rendered.format == "rgba32":
        return arr[:, :, :3].astype(np.float32), arr[:, :, 3]
    raise BadParameter(f"a segmentation cannot be drawn over format={rendered.format}")


def draw(rendered: Rendered, masks: dict[int, NDArray[Any]], seg: Segmentation, opacity: float,
         segments: frozenset[int] | None) -> Rendered:
    """Alpha-blend each segment's colour with alpha = opacity * coverage (area-averaged to the output size)."""
    known = {s.number for s in seg.segments}
    if segments is not None and segments - known:
        raise BadParameter(f"parameter 'segments': unknown segment number(s) {sorted(segments - known)} "
                           f"(this Segmentation has {sorted(known)})")
    shape = seg.frames.shape[1:]
    rows, cols = rendered.array.shape[:2]
    # The render is the image fitted in a box (same aspect ratio, never larger, each side
    # rounded, at least 1): larger than the frames, or of another aspect ratio by more
    # than that rounding, is an image of another size than the Segmentation's.
    if rows > shape[0] or cols > shape[1] or abs(rows * shape[1] - cols * shape[0]) > shape[0] + shape[1]:
        raise NotReferenced(f"the Segmentation's frames are {shape[0]}x{shape[1]}, "
                            f"and the image is rendered at {rows}x{cols}: not the same size or aspect ratio")
    rgb, alpha = _rgb8(rendered)
    for segment in seg.segments:
        if segment.number not in masks or (segments is not None and segment.number not in segments):
            continue
        mask = masks[segment.number]
        if mask.shape != shape:
            raise NotReferenced(f"the Segmentation's frames are {shape[0]}x{shape[1]}, the mask {mask.shape}")
        weight = area_resize(mask.astype(np.float32), rows, cols) * np.float32(opacity)
        color = np.asarray(segment.color, np.float32)
        rgb += weight[:, :, None] * (color - rgb)
    out = np.rint(np.clip(rgb, 0.0, 255.0)).astype(np.uint8)
    if alpha is not None:
        return Rendered(np.ascontiguousarray(np.dstack([out, alpha])), "rgba32", rendered.window)
    return Rendered(np.ascontiguousarray(out), "rgb24", rendered.window)


def parse_options(query: Mapping[str, str]) -> tuple[float, frozenset[int] | None]:
    """``opacity`` (0..1, default 0.5) and ``segments`` (comma-separated positive integers)."""
    opacity = 0.5
    if "opacity" in query:
        text = query["opacity"]
        try:
            opacity = float(text)
        except ValueError:
            raise BadParameter(f"parameter 'opacity' must be a number from 0 to 1, not {text[:100]!r}") from None
        if not 0.0 <= opacity <= 1.0:
            raise BadParameter(f"parameter 'opacity' must be from 0 to 1, not {text[:100]!r}")
    segments = None
    if "segments" in query:
        text = query["segments"]
        parts = text.split(",")
        if not all(p.strip().isdigit() and int(p) > 0 for p in parts):
            raise BadParameter(f"parameter 'segments' must be comma-separated positive integers, not {text[:100]!r}")
        segments = frozenset(int(p) for p in parts)
    return opacity, segments
