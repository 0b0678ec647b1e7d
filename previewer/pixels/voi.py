"""VOI LUT stage: modality values to display fractions 0..1, PS3.3 C.11.2.

Every function here returns float64 in [0, 1] (ymin = 0, ymax = 1 in
the standard's formulas); :mod:`.output` scales to 8 or 16 bits.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .errors import Unsupported
from .meta import Lut
from .params import Window

#: Percentiles of the automatic window (see :func:`auto_window`).
AUTO_PERCENTILES = (0.5, 99.5)
#: At most this many samples are used to compute the automatic window.
AUTO_MAX_SAMPLES = 1 << 20


def window_linear(x: NDArray[Any], center: float, width: float) -> NDArray[np.float64]:
    """LINEAR window, PS3.3 C.11.2.1.2.1 (width >= 1).

    y = ((x - (c - 0.5)) / (w - 1) + 0.5), clamped to 0 at or below
    c - 0.5 - (w-1)/2 and to 1 above c - 0.5 + (w-1)/2.
    """
    if width < 1:
        raise Unsupported(
            f"Window width {width!r} < 1 is invalid for (0028,1056) LINEAR"
        )
    xf = np.asarray(x, np.float64)
    low = center - 0.5 - (width - 1) / 2
    high = center - 0.5 + (width - 1) / 2
    if width == 1:
        # PS3.3 C.11.2.1.2.1 with w = 1: a step at c - 0.5.
        return np.where(xf <= low, 0.0, 1.0)
    y = (xf - (center - 0.5)) / (width - 1) + 0.5
    y = np.where(xf <= low, 0.0, np.where(xf > high, 1.0, y))
    return np.clip(y, 0.0, 1.0)


def window_linear_exact(
    x: NDArray[Any], center: float, width: float
) -> NDArray[np.float64]:
    """LINEAR_EXACT window, PS3.3 C.11.2.1.3.2 (width > 0).

    y = (x - c) / w + 0.5, 0 at or below c - w/2, 1 above c + w/2.
    """
    if width <= 0:
        raise Unsupported(
            f"Window width {width!r} <= 0 is invalid for (0028,1056) LINEAR_EXACT"
        )
    xf = np.asarray(x, np.float64)
    y = (xf - center) / width + 0.5
    y = np.where(
        xf <= center - width / 2, 0.0, np.where(xf > center + width / 2, 1.0, y)
    )
    return np.clip(y, 0.0, 1.0)


def window_sigmoid(x: NDArray[Any], center: float, width: float) -> NDArray[np.float64]:
    """SIGMOID window, PS3.3 C.11.2.1.3.1: y = 1 / (1 + exp(-4 (x - c) / w))."""
    if width <= 0:
        raise Unsupported(
            f"Window width {width!r} <= 0 is invalid for (0028,1056) SIGMOID"
        )
    xf = np.asarray(x, np.float64)
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-4.0 * (xf - center) / width))


def apply_window(x: NDArray[Any], window: Window) -> NDArray[np.float64]:
    """Apply ``window`` with its VOI LUT Function, PS3.3 C.11.2.1.3."""
    if window.function == "LINEAR":  # PS3.3 C.11.2.1.2.1
        return window_linear(x, window.center, window.width)
    if window.function == "LINEAR_EXACT":  # PS3.3 C.11.2.1.3.2
        return window_linear_exact(x, window.center, window.width)
    if window.function == "SIGMOID":  # PS3.3 C.11.2.1.3.1
        return window_sigmoid(x, window.center, window.width)
    raise Unsupported(
        f"Unsupported (0028,1056) VOI LUT Function value {window.function!r}"
    )


@dataclasses.dataclass(frozen=True)
class WindowTransfer:
    """:func:`apply_window` with one window, as the output step's transfer.

    The output step knows it by its window: inside Orthanc it fills its table
    for a LINEAR or LINEAR_EXACT window in C, with the same arithmetic.
    """

    window: Window

    def __call__(self, x: NDArray[Any]) -> NDArray[np.float64]:
        return apply_window(x, self.window)

    def linear(self) -> tuple[bool, float, float] | None:
        """(exact, center, width) of a LINEAR (exact False) or LINEAR_EXACT window of a width
        the standard allows, else None (SIGMOID, or a width :func:`apply_window` refuses)."""
        window = self.window
        if window.function == "LINEAR" and window.width >= 1:   # PS3.3 C.11.2.1.2.1
            return False, float(window.center), float(window.width)
        if window.function == "LINEAR_EXACT" and window.width > 0:   # PS3.3 C.11.2.1.3.2
            return True, float(window.center), float(window.width)
        return None


def apply_voi_lut(x: NDArray[Any], lut: Lut) -> NDArray[np.float64]:
    """VOI LUT Sequence lookup, PS3.3 C.11.2.1.1, normalised by 2^bits - 1.

    Values below the first mapped value use the first entry, above the
    last mapped value the last entry.
    """
    index = np.clip(
        np.rint(np.asarray(x, np.float64)) - lut.first_mapped, 0, lut.data.size - 1
    )
    top = float((1 << lut.bits) - 1)
    y: NDArray[np.float64] = lut.data.astype(np.float64)[index.astype(np.intp)] / top
    return np.clip(y, 0.0, 1.0)


def auto_window(arr: NDArray[Any], exclude: NDArray[np.bool_] | None = None) -> Window:
    """Window derived from a frame without a stored VOI.

    Rule: LINEAR_EXACT from the 0.5th to the 99.5th percentile of the
    finite modality values (padding excluded, at most 2^20 evenly strided
    samples); if that range is empty, the min..max range; if the image
    is constant, a width-1 window centred on the value (mid grey).
    """
    values = arr if exclude is None else arr[~exclude]
    values = values.ravel()
    if values.dtype.kind == "f":
        values = values[np.isfinite(values)]
    if values.size == 0:
        return Window(0.0, 1.0, "LINEAR_EXACT")
    if values.size > AUTO_MAX_SAMPLES:
        values = values[:: values.size // AUTO_MAX_SAMPLES + 1]
    lo, hi = (float(v) for v in np.percentile(values, AUTO_PERCENTILES))
    if not hi > lo:
        lo, hi = float(values.min()), float(values.max())
    if not hi > lo:
        return Window(lo, 1.0, "LINEAR_EXACT")
    return Window((lo + hi) / 2, hi - lo, "LINEAR_EXACT")
