"""A series' images in viewing order, and what a series holds, from Orthanc's main DICOM tags.

Shared by the plugin's endpoints (the viewer's API, deep links, DICOMweb):
pure functions of the JSON Orthanc answers for ``/series/{id}/instances?expand``
and ``/series/{id}``, so they are tested without Orthanc.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

#: Series modalities of objects that are not images (PS3.3 C.7.3.1.1.1); video is shown like images.
MODALITY_KINDS = {"PR": "presentation", "SEG": "segmentation", "SR": "report", "KO": "report", "DOC": "pdf",
                  "ECG": "waveform", "HD": "waveform", "AU": "waveform", "RESP": "waveform",
                  "RTSTRUCT": "rtstruct"}


def tag(tags: Mapping[str, Any], name: str) -> str:
    """A main DICOM tag's value as stripped text ('' when absent or not text)."""
    value = tags.get(name)
    return value.strip() if isinstance(value, str) else ""


def integer(text: str) -> int | None:
    """An IS value as an integer (a decimal one truncated), or None."""
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


def kind(series: Mapping[str, Any]) -> str:
    """What the series holds, from its Modality alone (one of ``MODALITY_KINDS``' values, or "image")."""
    modality = str(series.get("MainDicomTags", {}).get("Modality", "")).strip().upper()
    return MODALITY_KINDS.get(modality, "image")


def middle_image(ordered: Sequence[Mapping[str, Any]]) -> tuple[str, int] | None:
    """(instance ID, frame) halfway through a series' images in viewing order; None for no image."""
    remaining = sum(row["frames"] for row in ordered) // 2
    for row in ordered:
        if remaining < row["frames"]:
            return str(row["id"]), remaining
        remaining -= row["frames"]
    return None


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
    Number, then Orthanc's arrival order.  Each summary carries ``position``
    and ``orientation`` (PS3.3 C.7.6.2) and ``location``, the position along
    its own normal in mm, when it has them.
    """
    rows: list[dict[str, Any]] = []
    normals: list[tuple[float, float, float] | None] = []
    for index, instance in enumerate(instances):
        tags = instance.get("MainDicomTags", {})
        position = _floats(tag(tags, "ImagePositionPatient"), 3)
        orientation = _floats(tag(tags, "ImageOrientationPatient"), 6)
        normal = _normal(orientation) if orientation else None
        frames = integer(tag(tags, "NumberOfFrames"))
        rows.append({
            "id": instance["ID"],
            "uid": tag(tags, "SOPInstanceUID") or None,
            "number": integer(tag(tags, "InstanceNumber")),
            "frames": frames if frames and frames > 0 else 1,
            "position": list(position) if position else None,
            "orientation": list(orientation) if orientation else None,
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


