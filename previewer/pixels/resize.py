"""Area-averaged (box filter) downscaling that keeps the aspect ratio."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray


def fit_size(
    rows: int, cols: int, max_w: int | None, max_h: int | None
) -> tuple[int, int]:
    """(rows, cols) fitting the box with the same aspect ratio, never larger."""
    scale = 1.0
    if max_w is not None:
        scale = min(scale, max_w / cols)
    if max_h is not None:
        scale = min(scale, max_h / rows)
    if scale >= 1.0:
        return rows, cols
    new_rows = max(1, min(rows, round(rows * scale)))
    new_cols = max(1, min(cols, round(cols * scale)))
    if max_h is not None:
        new_rows = min(new_rows, max_h)
    if max_w is not None:
        new_cols = min(new_cols, max_w)
    return new_rows, new_cols


#: Rows of the weight matrix computed at a time: bounds its float64 temporaries
#: (whole, they took 32 MB for the 1955x1841 CR fitted in 512).
_WEIGHT_ROWS = 64


def _weights(n_in: int, n_out: int) -> NDArray[np.float32]:
    """(n_out, n_in) matrix: each output averages the input area it covers."""
    edges = np.arange(n_out + 1, dtype=np.float64) * (n_in / n_out)
    starts = np.arange(n_in, dtype=np.float64)
    ends = starts + 1.0
    weights = np.empty((n_out, n_in), np.float32)
    for first in range(0, n_out, _WEIGHT_ROWS):
        last = min(n_out, first + _WEIGHT_ROWS)
        lo = np.maximum(edges[first:last, None], starts[None, :])
        hi = np.minimum(edges[first + 1:last + 1, None], ends[None, :])
        cover = np.clip(hi - lo, 0.0, None)
        cover /= cover.sum(axis=1, keepdims=True)
        weights[first:last] = cover
    return weights


def area_resize(arr: NDArray[Any], rows: int, cols: int) -> NDArray[Any]:
    """Downscale (rows, cols[, channels]) by area averaging; same dtype.

    Integer outputs are rounded and clipped to the dtype's range.
    Returns ``arr`` unchanged when the size already matches.
    """
    in_rows, in_cols = arr.shape[:2]
    if (in_rows, in_cols) == (rows, cols):
        return arr
    wr = _weights(in_rows, rows)
    wc = _weights(in_cols, cols)
    data = arr.astype(np.float32)
    if arr.ndim == 2:
        out = wr @ data @ wc.T
    else:
        channels = arr.shape[2]
        # Rows first: (rows, in_cols * channels), then columns per channel.
        tmp = (wr @ data.reshape(in_rows, in_cols * channels)).reshape(
            rows, in_cols, channels
        )
        out = np.einsum("oc,rck->rok", wc, tmp)
    if arr.dtype.kind in "ui":
        info = np.iinfo(arr.dtype)
        out = np.clip(np.rint(out), info.min, info.max)
    return np.ascontiguousarray(out.astype(arr.dtype))


def resize_to_box(
    arr: NDArray[Any], max_w: int | None, max_h: int | None
) -> NDArray[Any]:
    """Fit ``arr`` in max_w x max_h keeping its aspect ratio, never upscale."""
    rows, cols = fit_size(arr.shape[0], arr.shape[1], max_w, max_h)
    return area_resize(arr, rows, cols)
