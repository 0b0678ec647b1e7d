"""RT Dose (PS3.3 A.18, C.8.8.3): a dose grid's units, geometry and dose range, for a summary page.

The RT Dose module (PS3.3 C.8.8.3) says what the grid holds (Dose Units GY
or RELATIVE, Dose Type, Dose Summation Type) and how its stored values become
doses: multiplied by Dose Grid Scaling (3004,000E).  A multi-frame grid is a
stack of planes parallel to the first, at the Grid Frame Offset Vector's
distances (C.8.8.3.2), with Image Position and Orientation (Patient) and
Pixel Spacing as for any image plane (C.7.6.2).

:func:`summary` reads those attributes and decodes every frame through the
pixel pipeline (:func:`previewer.pixels.decode.decode_frame`) for the dose
range.  A malformed value is None with its problem named; a range that cannot
be read is None with ``range_error`` saying why.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..pixels.decode import PIXEL_KEYWORDS, decode_frame
from ..pixels.elements import each
from ..pixels.errors import Malformed, PixelError
from .values import Values, label

RT_DOSE = "1.2.840.10008.5.1.4.1.1.481.2"
#: At most this many Grid Frame Offset Vector values are listed.
MAX_OFFSETS = 1000
#: The dose range is read only from grids of at most this many samples (all frames together).
MAX_SAMPLES = 1_000_000_000

Frame = Callable[[int], NDArray[Any]]


def scaling(values: Values, ds: Any) -> float | None:
    """Dose Grid Scaling (3004,000E), PS3.3 C.8.8.3: the factor from stored values to doses in Dose Units."""
    return values.number(ds, "DoseGridScaling")


def frame_count(values: Values, ds: Any) -> int | None:
    """Number of Frames (0028,0008), PS3.3 C.7.6.6: 1 when absent (a single plane), None when malformed."""
    if values.text(ds, "NumberOfFrames") == "":
        return 1
    count = values.integer(ds, "NumberOfFrames")
    if count is not None and count < 1:
        values.problems.append(f"{label('NumberOfFrames')} is {count}, not a positive integer")
        return None
    return count


def grid(values: Values, ds: Any) -> dict[str, Any]:
    """The dose grid: size (C.7.6.3), frames (C.7.6.6), plane (C.7.6.2) and frame offsets (C.8.8.3.2)."""
    frames = frame_count(values, ds)
    offsets = values.numbers(ds, "GridFrameOffsetVector", limit=MAX_OFFSETS)
    count = len(each(ds, "GridFrameOffsetVector")) if offsets is not None else 0
    if offsets is not None and frames is not None and frames > 1 and count != frames:
        values.problems.append(f"{label('GridFrameOffsetVector')} has {count} values for {frames} frames")
    return {"rows": values.integer(ds, "Rows"), "columns": values.integer(ds, "Columns"), "frames": frames,
            "spacing": values.numbers(ds, "PixelSpacing", 2),
            "offsets": offsets,
            "origin": values.numbers(ds, "ImagePositionPatient", 3),
            "orientation": values.numbers(ds, "ImageOrientationPatient", 6)}


def stored_range(frame: Frame, frames: int) -> tuple[float, float]:
    """The smallest and largest stored value over every frame, decoding one frame at a time."""
    low, high = np.inf, -np.inf
    for index in range(frames):
        values = frame(index)
        if values.size:
            low, high = min(low, float(values.min())), max(high, float(values.max()))
    if low > high:
        raise Malformed(f"the dose grid holds no values: {label('PixelData')} is empty")
    return low, high


def dose_range(low: float, high: float, factor: float) -> list[float]:
    """[min, max] dose in Dose Units: the stored values times Dose Grid Scaling (PS3.3 C.8.8.3)."""
    return sorted([low * factor, high * factor])


def _range(ds: Any, factor: float | None, dose_grid: dict[str, Any], problems: list[str],
           frame: Frame) -> tuple[list[float] | None, str | None]:
    """The dose range, or None and the reason it cannot be read."""
    if not any(keyword in ds for keyword in PIXEL_KEYWORDS):
        return None, "the RT Dose has no (7FE0,0010) Pixel Data (no dose grid)"
    if factor is None:
        found = [p for p in problems if label("DoseGridScaling") in p]
        return None, found[0] if found else f"{label('DoseGridScaling')} is missing"
    frames, rows, columns = dose_grid["frames"], dose_grid["rows"], dose_grid["columns"]
    if frames is None:
        found = [p for p in problems if label("NumberOfFrames") in p]
        return None, found[0] if found else f"{label('NumberOfFrames')} is malformed"
    if rows is not None and columns is not None and rows * columns * frames > MAX_SAMPLES:
        return None, f"the dose grid has {rows} x {columns} x {frames} values, more than {MAX_SAMPLES} are not read"
    try:
        return dose_range(*stored_range(frame, frames), factor), None
    except PixelError as error:
        return None, error.message


def summary(ds: Any, max_megapixels: float | None = None, frame: Frame | None = None) -> tuple[dict[str, Any], list[str]]:
    """Units, type, summation, scaling, grid and dose range of an RT Dose, and the problems met reading them.

    ``frame`` decodes a frame's stored values (default: the pixel pipeline's decoder on ``ds``).
    """
    values = Values()
    factor = scaling(values, ds)
    dose_grid = grid(values, ds)
    decode = frame or (lambda index: decode_frame(ds, index, max_megapixels=max_megapixels))
    found, error = _range(ds, factor, dose_grid, values.problems, decode)
    return {"units": values.text(ds, "DoseUnits"), "type": values.text(ds, "DoseType"),
            "summation": values.text(ds, "DoseSummationType"), "scaling": factor, "grid": dose_grid,
            "range": found, "range_error": error}, values.problems
