"""Modality LUT stage: stored values to modality values, PS3.3 C.11.1."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from .meta import Lut, Rescale

_INT_TYPES: tuple[type[np.integer[Any]], ...] = (
    np.uint8,
    np.int8,
    np.uint16,
    np.int16,
    np.uint32,
    np.int32,
    np.int64,
)


def smallest_int_dtype(low: int, high: int) -> np.dtype[Any]:
    """Smallest integer dtype holding ``low..high`` (int64 at most)."""
    for candidate in _INT_TYPES:
        info = np.iinfo(candidate)
        if info.min <= low and high <= info.max:
            return np.dtype(candidate)
    return np.dtype(np.int64)


def apply_rescale(
    arr: NDArray[Any],
    rescale: Rescale,
    *,
    value_range: tuple[int, int] | None = None,
    overwrite: bool = False,
) -> NDArray[Any]:
    """Modality value = slope * stored + intercept, PS3.3 C.11.1.1.2.

    Integer input with integral slope/intercept stays integer (in the
    smallest dtype that holds the result); otherwise float64 (float32
    input stays float32).  Identity rescale returns ``arr`` unchanged.
    ``value_range`` is the (min, max) of ``arr`` if the caller knows it.
    With ``overwrite`` (as scipy's ``overwrite_x``) the result may be
    written into ``arr`` when its dtype is the result's; otherwise ``arr``
    is never changed.
    """
    slope, intercept = rescale.slope, rescale.intercept
    if slope == 1.0 and intercept == 0.0:
        return arr
    # Integral values beyond 2**31 (a corrupt rescale) go the float way:
    # their products would not fit any integer dtype.
    integral = (
        slope.is_integer()
        and intercept.is_integer()
        and max(abs(slope), abs(intercept)) < 2**31
    )
    if arr.dtype.kind in "ui" and integral and arr.size:
        lo, hi = value_range if value_range is not None else (int(arr.min()), int(arr.max()))
        # The dtype must hold stored, scaled and final values alike.
        scaled = (lo * int(slope), hi * int(slope))
        offset = int(intercept)
        ends = (
            *scaled,
            scaled[0] + offset,
            scaled[1] + offset,
            lo,
            hi,
            offset,
            int(slope),
        )
        dtype = smallest_int_dtype(min(ends), max(ends))
        out = arr if overwrite and arr.dtype == dtype and arr.flags.writeable else arr.astype(dtype)
        if slope != 1.0:
            np.multiply(out, int(slope), out=out, casting="unsafe")
        np.add(out, int(intercept), out=out, casting="unsafe")
        return out
    ftype = np.float32 if arr.dtype == np.float32 else np.float64
    out_f: NDArray[Any] = (arr if overwrite and arr.dtype == ftype and arr.flags.writeable
                           else arr.astype(ftype))
    np.multiply(out_f, ftype(slope), out=out_f)
    np.add(out_f, ftype(intercept), out=out_f)
    return out_f


def apply_lut(arr: NDArray[Any], lut: Lut) -> NDArray[Any]:
    """Look stored values up in a LUT, PS3.3 C.11.1.1.1 / C.11.2.1.1.

    Values below the first mapped value take the first entry, values
    beyond the last mapped value take the last entry.  The result keeps
    the LUT's raw output values (smallest fitting integer dtype).
    """
    data = lut.data
    dtype = smallest_int_dtype(int(data.min()), int(data.max()))
    table = data.astype(dtype)
    index = np.clip(arr.astype(np.int64) - lut.first_mapped, 0, table.size - 1)
    return np.ascontiguousarray(table[index])


def apply_modality(
    arr: NDArray[Any],
    rescale: Rescale,
    lut: Lut | None,
    *,
    value_range: tuple[int, int] | None = None,
    overwrite: bool = False,
) -> NDArray[Any]:
    """Modality LUT stage: the Modality LUT Sequence if present, else rescale.

    PS3.3 C.11.1: either a Modality LUT Sequence or Rescale Slope/Intercept.
    Colour (3-D) arrays are returned unchanged.  ``value_range`` and
    ``overwrite`` are passed to :func:`apply_rescale`.
    """
    if arr.ndim != 2:
        return arr
    if lut is not None:
        # PS3.3 C.11.1.1.1 Modality LUT Sequence.
        return apply_lut(arr, lut)
    # PS3.3 C.11.1.1.2 Rescale Slope and Intercept.
    return apply_rescale(arr, rescale, value_range=value_range, overwrite=overwrite)
