"""Output stage: display fractions to gray8/gray16/rgb24/rgba32, signed16.

Grayscale frames of integers spanning at most 2^16 values go through a
precomputed table: the VOI transform, inversion and quantisation are
evaluated once per possible value, then one lookup pass maps the
frame (PS3.3 C.11: Modality LUT -> VOI LUT -> Presentation LUT).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .errors import BadParameter
from .voi import WindowTransfer

#: A VOI transform: modality values -> display fractions in [0, 1].
Transfer = Callable[[NDArray[Any]], NDArray[np.float64]]

_UNSIGNED = {1: np.uint8, 2: np.uint16}
_TABLE_MAX = 1 << 16


def _quantise(y: NDArray[np.float64], levels: int, inverse: bool) -> NDArray[Any]:
    """Round fractions to 0..levels; PS3.3 C.11.6.1 INVERSE flips them."""
    q = np.rint(np.clip(y, 0.0, 1.0) * levels)
    if inverse:
        q = levels - q
    return q.astype(np.uint8 if levels <= 255 else np.uint16)


@functools.cache
def _bit_patterns(dtype: np.dtype[Any]) -> NDArray[Any]:
    """Every value of a 1- or 2-byte integer dtype, in the order of its bit patterns (read-only)."""
    values = np.arange(1 << (8 * dtype.itemsize), dtype=_UNSIGNED[dtype.itemsize]).view(dtype)
    values.flags.writeable = False
    return values


#: Index entries converted at once by :func:`_lookup` (128 KB of intp).
_TAKE_BLOCK = 16384


def _table_index(arr: NDArray[Any]) -> tuple[NDArray[Any], NDArray[Any]] | None:
    """(index array, value of each table entry) for the table path, or None."""
    if arr.dtype.kind not in "ui" or arr.size == 0:
        return None
    if arr.dtype.itemsize <= 2:
        utype = _UNSIGNED[arr.dtype.itemsize]
        # Each possible bit pattern is a table entry: no copy of the frame.
        return arr.view(utype), _bit_patterns(arr.dtype)
    lo, hi = int(arr.min()), int(arr.max())
    if hi - lo >= _TABLE_MAX:
        return None
    index = (arr - lo).astype(np.uint16) if lo else arr.astype(np.uint16)
    return index, np.arange(lo, hi + 1, dtype=np.int64)


def _table(
    values: NDArray[Any],
    transfer: Transfer,
    levels: int,
    inverse: bool,
    value_range: tuple[int, int] | None,
) -> NDArray[Any]:
    """The quantised transfer of every table entry.

    With the frame's (min, max) known, only the entries the frame can use
    are evaluated; the others stay 0 (no pixel indexes them).
    """
    if value_range is None or len(values) != 1 << 16 or values.dtype.itemsize != 2:
        return _quantise(transfer(values), levels, inverse)
    lo, hi = value_range
    table = np.zeros(len(values), np.uint8 if levels <= 255 else np.uint16)
    native = _native_window(transfer)
    if native is not None:
        _window_tables[0](table, lo, hi, *native, levels, inverse)
        return table
    used = np.arange(lo, hi + 1, dtype=np.int64)
    slots = used.astype(values.dtype).view(np.uint16)
    table[slots] = _quantise(transfer(used), levels, inverse)
    return table


#: ``fill(table, lo, hi, exact, center, width, levels, inverse)``: the window's levels of
#: lo..hi into a 65536-entry table (see :func:`use_window_table`).
WindowTable = Callable[[NDArray[Any], int, int, bool, float, float, int, bool], None]
_window_tables: list[WindowTable] = []


def use_window_table(fill: WindowTable | None) -> None:
    """Fill the tables of LINEAR and LINEAR_EXACT windows with ``fill`` from now on (None: numpy again).

    Inside Orthanc the plugin gives native/gather.c's loop, which computes
    each entry with numpy's arithmetic: the table is the same, made in one
    pass rather than a dozen.
    """
    _window_tables[:] = [fill] if fill is not None else []


def _native_window(transfer: Transfer) -> tuple[bool, float, float] | None:
    """(exact, center, width) when ``fill`` can make the table of ``transfer``, else None.

    Windows whose width the standard does not allow take numpy's path, which
    names the problem.
    """
    if not _window_tables or not isinstance(transfer, WindowTransfer):
        return None
    return transfer.linear()


def grey_levels(
    arr: NDArray[Any],
    transfer: Transfer,
    levels: int,
    inverse: bool,
    channels: int = 1,
    value_range: tuple[int, int] | None = None,
) -> NDArray[Any]:
    """Map modality values to 0..levels, one pass via a table when possible.

    ``channels`` 3 or 4 replicates the grey (alpha = levels for 4),
    giving (rows, cols, channels); 1 gives (rows, cols).  ``value_range``,
    the frame's (min, max) when known, keeps the table to the values used.
    """
    table_path = _table_index(arr)
    if table_path is not None:
        index, values = table_path
        table = _table(values, transfer, levels, inverse, value_range)
        if channels > 1:
            table = _expand_channels(table, levels, channels)
        return _lookup(table, index)
    grey = _quantise(transfer(arr), levels, inverse)
    if channels > 1:
        grey = _expand_channels(grey, levels, channels)
    return np.ascontiguousarray(grey)


#: ``gather(table, index, out)``: ``out[...] = table[index]`` for a uint16 index (see :func:`use_gather`).
Gather = Callable[[NDArray[Any], NDArray[Any], NDArray[Any]], None]
_gathers: list[Gather] = []


def use_gather(gather: Gather | None) -> None:
    """Look tables up with ``gather`` from now on (None: numpy again).

    Inside Orthanc the plugin gives native/gather.c's loop, which numpy's
    take is about four times slower than; the result is the same.
    """
    _gathers[:] = [gather] if gather is not None else []


def _lookup(table: NDArray[Any], index: NDArray[Any]) -> NDArray[Any]:
    """``table[index]`` along the table's first axis, C-contiguous.

    numpy.take is about twice as fast as indexing (0.28 against 0.66 ms for a
    512x512 uint16 index into a uint8 table), but it first converts its index
    to intp, 8 bytes a pixel: given a whole 512x512 frame, a fresh 2 MB that
    glibc maps (the plugin sets its mmap threshold) and that page-faults on
    every 4 KB.  Taken in blocks of rows, that buffer stays at 128 KB and is
    reused from the heap.
    """
    out = np.empty(index.shape + table.shape[1:], table.dtype)
    if index.ndim == 0 or index.size == 0:
        out[...] = table[index]
        return out
    if _gathers and index.dtype == np.uint16 and index.flags.c_contiguous and table.flags.c_contiguous:
        _gathers[0](table, index, out)
        return out
    rows = max(1, _TAKE_BLOCK // max(1, index[0].size))
    for start in range(0, index.shape[0], rows):
        np.take(table, index[start:start + rows], axis=0, out=out[start:start + rows])
    return out


def _expand_channels(grey: NDArray[Any], levels: int, channels: int) -> NDArray[Any]:
    out = np.repeat(grey[..., np.newaxis], channels, axis=-1)
    if channels == 4:
        out[..., 3] = levels
    return out


def signed16(arr: NDArray[Any]) -> NDArray[np.int16]:
    """Modality values as int16, losslessly, or :class:`BadParameter`."""
    if arr.ndim != 2:
        raise BadParameter("format=signed16 is only available for grayscale images")
    if arr.dtype == np.int16:
        return np.ascontiguousarray(arr)
    if arr.size:
        if arr.dtype.kind == "f" and not np.array_equal(arr, np.rint(arr)):
            raise BadParameter(
                "format=signed16 needs integral modality values; this frame has "
                "fractional values (use gray16)"
            )
        lo, hi = arr.min(), arr.max()
        if lo < -32768 or hi > 32767:
            raise BadParameter(
                f"format=signed16 needs modality values in -32768..32767, "
                f"this frame has {lo}..{hi} (use gray16)"
            )
    return np.ascontiguousarray(arr.astype(np.int16))


def luma(rgb: NDArray[Any]) -> NDArray[np.float64]:
    """ITU-R BT.601 luma of RGB samples (same scale as the input)."""
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    out: NDArray[np.float64] = 0.299 * r + 0.587 * g + 0.114 * b
    return out


def color_output(rgb8: NDArray[np.uint8], fmt: str, invert: bool) -> NDArray[Any]:
    """8-bit RGB to the requested format; ``invert`` complements the colours."""
    if invert:
        rgb8 = 255 - rgb8
    if fmt == "rgb24":
        return np.ascontiguousarray(rgb8)
    if fmt == "rgba32":
        alpha = np.full(rgb8.shape[:2] + (1,), 255, np.uint8)
        return np.ascontiguousarray(np.concatenate([rgb8, alpha], axis=-1))
    y = luma(rgb8)
    if fmt == "gray8":
        return np.ascontiguousarray(np.rint(y).astype(np.uint8))
    if fmt == "gray16":
        return np.ascontiguousarray(np.rint(y * 257).astype(np.uint16))
    raise BadParameter(f"format={fmt} is not available for colour images")


def apply_padding_alpha(
    out: NDArray[Any], mask: NDArray[np.bool_] | None
) -> NDArray[Any]:
    """Alpha 0 on padding pixels of an RGBA image, PS3.3 C.7.5.1.1.2.

    Returns ``out`` unchanged when there is no mask or no alpha channel.
    """
    if mask is None or out.ndim != 3 or out.shape[-1] != 4:
        return out
    result = out.copy()
    result[..., 3][mask] = 0
    return result
