"""A series as a volume: parallel slices of one Frame of Reference, sampled anywhere in patient space.

PS3.3 C.7.6.2.1.1 places each slice: Image Position (Patient) is the centre of its first
pixel, Image Orientation (Patient) the directions of its rows and columns, Pixel Spacing the
distances between them.  A stack is a volume when every slice has these, one Frame of
Reference, one orientation, one size and one sample per pixel, at two or more distinct
positions along the slice normal.  Nothing assumes the slices are axial, evenly spaced or
stacked along the normal: a gantry tilt moves each slice's origin within its plane, and
:func:`sample` interpolates between the two real slices around a point, each read at its own
position.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import elements
from .elements import first, integer, numbers, string
from .errors import Malformed, PixelError

#: Orientation vectors this far from unit length are refused rather than normalised.
_UNIT_TOLERANCE = 1e-2
#: Slices whose normals differ by more than about 0.8 degrees are not one stack.
_PARALLEL = 0.9999


class NotVolume(PixelError):
    """The series is not a volume; ``message`` names why (the API answers 422)."""


@dataclass(frozen=True)
class Slice:
    """One image of a stack: its geometry and size, and ``key`` to find its pixels (instance id, frame)."""

    key: Any
    position: tuple[float, float, float]
    orientation: tuple[float, float, float, float, float, float]
    spacing: tuple[float, float]         # (between rows, between columns), mm
    rows: int
    columns: int
    frame_of_reference: str
    samples: int = 1


@dataclass(frozen=True)
class Volume:
    """Parallel slices sorted along their normal, with the offsets (mm) of each along it."""

    slices: tuple[Slice, ...]
    row: NDArray[np.float64]
    column: NDArray[np.float64]
    normal: NDArray[np.float64]
    offsets: NDArray[np.float64]

    @property
    def spacing(self) -> tuple[float, float]:
        return self.slices[0].spacing

    def corners(self) -> NDArray[np.float64]:
        """The centres of the corner pixels of every slice, (slices x 4, 3)."""
        s = self.slices[0]
        extent = [(0, 0), (s.columns - 1, 0), (0, s.rows - 1), (s.columns - 1, s.rows - 1)]
        points = []
        for one in self.slices:
            origin = np.array(one.position)
            for c, r in extent:
                points.append(origin + self.row * c * one.spacing[1] + self.column * r * one.spacing[0])
        return np.array(points)

    def bounds(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The axis-aligned box (LPS) of the voxel centres: its minimum and maximum corners."""
        corners = self.corners()
        return corners.min(axis=0), corners.max(axis=0)

    def describe(self) -> dict[str, Any]:
        """The JSON of ``/api/series/{id}/volume``."""
        low, high = self.bounds()
        gaps = np.diff(self.offsets)
        return {
            "columns": self.slices[0].columns, "rows": self.slices[0].rows, "slices": len(self.slices),
            "spacing": {"row": self.spacing[0], "column": self.spacing[1],
                        "slice_min": float(gaps.min()), "slice_max": float(gaps.max())},
            "uniform": bool(np.allclose(gaps, gaps[0], rtol=1e-3, atol=1e-3)),
            "orientation": {"row": self.row.tolist(), "column": self.column.tolist(), "normal": self.normal.tolist()},
            "bounds": {"min": low.tolist(), "max": high.tolist()},
            "frame_of_reference": self.slices[0].frame_of_reference,
        }


def _unit(vector: Sequence[float], what: str) -> NDArray[np.float64]:
    v = np.array(vector, dtype=np.float64)
    length = float(np.linalg.norm(v))
    if not math.isfinite(length) or abs(length - 1) > _UNIT_TOLERANCE:
        raise NotVolume(f"the {what} direction of Image Orientation (Patient) is not a unit vector (length {length:.3g})")
    return v / length


def volume_of(slices: Sequence[Slice]) -> Volume:
    """The volume of ``slices`` (any order), or NotVolume naming the first reason it is not one."""
    if len(slices) < 2:
        raise NotVolume("one image is not a volume")
    first = slices[0]
    if not first.frame_of_reference:
        raise NotVolume("the images have no Frame of Reference UID")
    for one in slices:
        if one.frame_of_reference != first.frame_of_reference:
            raise NotVolume("the images lie in more than one Frame of Reference")
        if one.samples != 1:
            raise NotVolume("colour images are not a volume of values")
        if (one.rows, one.columns) != (first.rows, first.columns):
            raise NotVolume(f"the images differ in size ({first.columns}x{first.rows} and {one.columns}x{one.rows})")
        if not all(math.isfinite(v) and v > 0 for v in one.spacing):
            raise NotVolume(f"Pixel Spacing {list(one.spacing)} is not two positive numbers")
        if not all(math.isfinite(v) for v in (*one.position, *one.orientation)):
            raise NotVolume("an Image Position or Orientation (Patient) is not finite")
    row, column = _unit(first.orientation[:3], "row"), _unit(first.orientation[3:], "column")
    if abs(float(row @ column)) > _UNIT_TOLERANCE:
        raise NotVolume("the row and column directions of Image Orientation (Patient) are not perpendicular")
    normal = np.cross(row, column)
    normal /= np.linalg.norm(normal)
    for one in slices:
        other = np.cross(_unit(one.orientation[:3], "row"), _unit(one.orientation[3:], "column"))
        if abs(float(other @ normal)) < _PARALLEL or float(_unit(one.orientation[:3], "row") @ row) < _PARALLEL:
            raise NotVolume("the images have more than one orientation")
    if any(one.spacing != first.spacing for one in slices):
        raise NotVolume("the images differ in Pixel Spacing")
    ordered = sorted(slices, key=lambda one: float(np.array(one.position) @ normal))
    offsets = np.array([float(np.array(one.position) @ normal) for one in ordered])
    if np.any(np.diff(offsets) < 1e-3):
        raise NotVolume("two images lie at the same position along the slice normal")
    return Volume(tuple(ordered), row, column, normal, offsets)


def _bilinear(one: Slice, image: NDArray[Any], points: NDArray[np.float64], row: NDArray[np.float64],
              column: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Bilinear values of ``image`` at the projections of ``points`` onto its slice, and which lie on it."""
    d = points - np.array(one.position)
    x = d @ row / one.spacing[1]       # column index: pixel centres at integers (PS3.3 C.7.6.2.1.1)
    y = d @ column / one.spacing[0]
    rows, columns = image.shape[:2]
    ok = (x >= -1e-6) & (x <= columns - 1 + 1e-6) & (y >= -1e-6) & (y <= rows - 1 + 1e-6)
    x, y = np.clip(x, 0, columns - 1), np.clip(y, 0, rows - 1)
    x0 = np.minimum(np.floor(x).astype(np.intp), max(columns - 2, 0))
    y0 = np.minimum(np.floor(y).astype(np.intp), max(rows - 2, 0))
    x1, y1 = np.minimum(x0 + 1, columns - 1), np.minimum(y0 + 1, rows - 1)
    fx, fy = x - x0, y - y0
    top = image[y0, x0] * (1 - fx) + image[y0, x1] * fx
    bottom = image[y1, x0] * (1 - fx) + image[y1, x1] * fx
    return top * (1 - fy) + bottom * fy, ok


def sample(volume: Volume, frames: Sequence[NDArray[Any]], points: NDArray[np.float64],
           background: float) -> NDArray[np.float64]:
    """Trilinear values at patient-space ``points`` (..., 3): bilinear in the two slices around each
    point (each read where the point projects onto it, so a tilted stack is read right), linear
    between them by distance along the normal; ``background`` outside the volume.  ``frames`` are
    the slices' modality values, in volume order."""
    shape = points.shape[:-1]
    flat = points.reshape(-1, 3)
    along = flat @ volume.normal
    offsets = volume.offsets
    inside = np.flatnonzero((along >= offsets[0]) & (along <= offsets[-1]))
    out = np.full(flat.shape[0], background, dtype=np.float64)
    if not inside.size:
        return out.reshape(shape)
    upper = np.clip(np.searchsorted(offsets, along[inside], side="right"), 1, len(offsets) - 1)
    lower = upper - 1
    weight = (along[inside] - offsets[lower]) / (offsets[upper] - offsets[lower])
    total = np.zeros(inside.size)
    valid = np.ones(inside.size, dtype=bool)
    for which, share in ((lower, 1 - weight), (upper, weight)):
        order = np.argsort(which, kind="stable")   # the points of one slice together: one pass per slice
        starts = np.flatnonzero(np.r_[True, np.diff(which[order]) != 0])
        for begin, end in zip(starts, np.r_[starts[1:], order.size]):
            chosen = order[begin:end]
            index = int(which[chosen[0]])
            value, ok = _bilinear(volume.slices[index], np.asarray(frames[index]), flat[inside[chosen]],
                                  volume.row, volume.column)
            total[chosen] += share[chosen] * value
            valid[chosen[~ok & (share[chosen] > 0)]] = False   # a weight of 0 needs no pixel there
    out[inside[valid]] = total[valid]
    return out.reshape(shape)


def _floats(item: Any, keyword: str, count: int) -> tuple[float, ...] | None:
    """``count`` finite numbers, or None when absent or malformed: volume_of() then refuses the slice, naming it."""
    try:
        return numbers(item, keyword, count)
    except Malformed:
        return None


def _item(ds: Any, group: str, sequence: str, index: int | None = None) -> Any:
    """The first item of ``sequence`` in the per-frame (``index``) or shared functional groups, or None."""
    groups = elements.sequence(ds, group)
    if not groups:
        return None
    one = groups[index if index is not None and index < len(groups) else 0]
    return first(one, sequence)


def slices_of(ds: Any, key: Any) -> list[Slice]:
    """The slices of one instance: one for a single-frame image, one per frame for an enhanced one
    (PS3.3 C.7.6.16: Plane Position, Plane Orientation and Pixel Measures, per frame or shared).
    Attributes that are missing give slices that volume_of() refuses, with the reason."""
    frames = integer(ds, "NumberOfFrames", 1, low=1) or 1
    common = dict(rows=integer(ds, "Rows", 0, low=0, high=65535), columns=integer(ds, "Columns", 0, low=0, high=65535),
                  frame_of_reference=string(ds, "FrameOfReferenceUID"),
                  samples=integer(ds, "SamplesPerPixel", 1, low=0, high=65535))
    out = []
    for index in range(frames):
        def find(sequence: str, keyword: str, count: int) -> tuple[float, ...] | None:
            for group, at in (("PerFrameFunctionalGroupsSequence", index), ("SharedFunctionalGroupsSequence", None)):
                item = _item(ds, group, sequence, at)
                if item is not None and keyword in item:
                    return _floats(item, keyword, count)
            return _floats(ds, keyword, count)
        position = find("PlanePositionSequence", "ImagePositionPatient", 3)
        orientation = find("PlaneOrientationSequence", "ImageOrientationPatient", 6)
        spacing = find("PixelMeasuresSequence", "PixelSpacing", 2)
        nan = float("nan")
        out.append(Slice(key=(key, index), position=position or (nan, nan, nan),   # type: ignore[arg-type]
                         orientation=orientation or (nan,) * 6,   # type: ignore[arg-type]
                         spacing=spacing or (nan, nan), **common))   # type: ignore[arg-type]
    return out
