"""Tests of previewer.pixels.voi: formulas, properties and oracles."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pixels_corpus import load, load_pydicom
from pydicom.pixels import apply_voi_lut as pydicom_apply_voi_lut
from pydicom.pixels import apply_windowing

from previewer.pixels.decode import decode_frame
from previewer.pixels.errors import Unsupported
from previewer.pixels.meta import voi_for_frame
from previewer.pixels.params import Window
from previewer.pixels.voi import (
    apply_voi_lut,
    apply_window,
    auto_window,
    window_linear,
    window_linear_exact,
    window_sigmoid,
)

VOI_LUT_FILE = "vlut_04.dcm"
WINDOWED_FILES = ("MR_small.dcm", "693_UNCR.dcm", "RG3_UNCR.dcm")

values = st.floats(-1e5, 1e5, allow_nan=False)
centers = st.floats(-1e4, 1e4, allow_nan=False)
widths_linear = st.floats(1.0, 1e4, allow_nan=False)
widths_positive = st.floats(1e-3, 1e4, allow_nan=False)
WINDOW_FUNCTIONS = (window_linear, window_linear_exact, window_sigmoid)


def _at(fn: object, x: float, c: float, w: float) -> float:
    return float(fn(np.array([x]), c, w)[0])  # type: ignore[operator]


class TestWindowLinear:
    @given(x=values, c=centers, w=widths_linear)
    def test_formula(self, x: float, c: float, w: float) -> None:
        """Matches PS3.3 C.11.2.1.2.1 written out independently."""
        if x <= c - 0.5 - (w - 1) / 2:
            expected = 0.0
        elif x > c - 0.5 + (w - 1) / 2:
            expected = 1.0
        else:
            expected = (x - (c - 0.5)) / (w - 1) + 0.5
        assert math.isclose(_at(window_linear, x, c, w), expected, abs_tol=1e-9)

    @given(x1=values, x2=values, c=centers, w=widths_linear)
    def test_monotone(self, x1: float, x2: float, c: float, w: float) -> None:
        """Non-decreasing in x."""
        lo, hi = sorted((x1, x2))
        assert _at(window_linear, lo, c, w) <= _at(window_linear, hi, c, w)

    def test_width_below_one_rejected(self) -> None:
        """Width < 1 is invalid for LINEAR."""
        with pytest.raises(Unsupported):
            window_linear(np.array([0.0]), 0.0, 0.5)

    def test_matches_pydicom_apply_windowing(self) -> None:
        """Equals pydicom's apply_windowing (LINEAR) on MR_small after scaling."""
        ds = load_pydicom("MR_small.dcm")
        arr = decode_frame(load("MR_small.dcm"), 0)
        expected = apply_windowing(arr.astype(np.float64), ds)
        # pydicom outputs to the stored range 0..2^16-1 for 16-bit signed: -32768..32767
        lo, hi = -32768.0, 32767.0
        got = window_linear(arr, 600.0, 1600.0) * (hi - lo) + lo
        assert np.allclose(got, expected, atol=1e-6)


class TestWindowLinearExact:
    @given(x=values, c=centers, w=widths_positive)
    def test_formula(self, x: float, c: float, w: float) -> None:
        """Matches PS3.3 C.11.2.1.3.2 written out independently."""
        if x <= c - w / 2:
            expected = 0.0
        elif x > c + w / 2:
            expected = 1.0
        else:
            expected = (x - c) / w + 0.5
        assert math.isclose(_at(window_linear_exact, x, c, w), expected, abs_tol=1e-9)

    @given(x1=values, x2=values, c=centers, w=widths_positive)
    def test_monotone(self, x1: float, x2: float, c: float, w: float) -> None:
        """Non-decreasing in x."""
        lo, hi = sorted((x1, x2))
        assert _at(window_linear_exact, lo, c, w) <= _at(window_linear_exact, hi, c, w)


class TestWindowSigmoid:
    @given(d=st.floats(0, 1e4, allow_nan=False), c=centers, w=widths_positive)
    def test_symmetric_about_center(self, d: float, c: float, w: float) -> None:
        """y(c + d) + y(c - d) = 1 and y(c) = 0.5."""
        total = _at(window_sigmoid, c + d, c, w) + _at(window_sigmoid, c - d, c, w)
        assert math.isclose(total, 1.0, abs_tol=1e-9)
        assert math.isclose(_at(window_sigmoid, c, c, w), 0.5)

    @given(x1=values, x2=values, c=centers, w=widths_positive)
    def test_monotone(self, x1: float, x2: float, c: float, w: float) -> None:
        """Non-decreasing in x."""
        lo, hi = sorted((x1, x2))
        assert _at(window_sigmoid, lo, c, w) <= _at(window_sigmoid, hi, c, w)

    @given(x=values, c=centers, w=widths_positive)
    def test_formula(self, x: float, c: float, w: float) -> None:
        """Matches PS3.3 C.11.2.1.3.1: 1 / (1 + exp(-4 (x - c) / w))."""
        z = -4 * (x - c) / w
        expected = 0.0 if z > 700 else 1 / (1 + math.exp(z))
        assert math.isclose(_at(window_sigmoid, x, c, w), expected, abs_tol=1e-9)


class TestApplyWindow:
    @settings(max_examples=50)
    @given(xs=st.lists(values, min_size=1, max_size=20), c=centers, w=widths_linear)
    def test_bounded(self, xs: list[float], c: float, w: float) -> None:
        """Every function stays within [0, 1]."""
        for name in ("LINEAR", "LINEAR_EXACT", "SIGMOID"):
            y = apply_window(np.array(xs), Window(c, w, name))
            assert ((y >= 0) & (y <= 1)).all()

    def test_unknown_function_named(self) -> None:
        """An unknown VOI LUT Function names the tag and value."""
        with pytest.raises(
            Unsupported, match=r"\(0028,1056\) VOI LUT Function value 'FOO'"
        ):
            apply_window(np.zeros(2), Window(0.0, 10.0, "FOO"))


class TestApplyVoiLut:
    def test_matches_pydicom_apply_voi_lut(self) -> None:
        """vlut_04's VOI LUT Sequence equals pydicom's output over 2^bits - 1."""
        ds = load(VOI_LUT_FILE)
        arr = decode_frame(ds, 0)
        _, luts = voi_for_frame(ds, 0)
        assert len(luts) == 1
        expected = pydicom_apply_voi_lut(arr, load_pydicom(VOI_LUT_FILE))
        got = apply_voi_lut(arr, luts[0]) * ((1 << luts[0].bits) - 1)
        assert np.allclose(got, expected, atol=1e-6)


class TestAutoWindow:
    def test_percentile_rule(self) -> None:
        """The window spans the 0.5th..99.5th percentiles (synthetic ramp)."""
        ramp = np.arange(1001, dtype=np.int32).reshape(7, 143)
        window = auto_window(ramp)
        assert window.function == "LINEAR_EXACT"
        assert math.isclose(window.center - window.width / 2, 5.0)
        assert math.isclose(window.center + window.width / 2, 995.0)

    def test_falls_back_to_min_max(self) -> None:
        """A mostly-constant frame uses min..max, never a blank image."""
        mask = np.zeros((100, 100), np.uint8)
        mask[0, 0] = 1
        window = auto_window(mask)
        assert (window.center, window.width) == (0.5, 1.0)

    def test_constant_image(self) -> None:
        """A constant frame gives a width-1 window on its value."""
        assert auto_window(np.full((3, 3), 7.0)) == Window(7.0, 1.0, "LINEAR_EXACT")

    def test_padding_excluded(self) -> None:
        """Masked pixels do not influence the window."""
        arr = np.arange(100, dtype=np.int16).reshape(10, 10)
        arr[0] = -2000
        exclude = arr == -2000
        window = auto_window(arr, exclude)
        assert window.center - window.width / 2 > 0

    def test_ignores_non_finite(self) -> None:
        """NaN and infinities are ignored for float frames."""
        arr = np.array([[np.nan, np.inf, 0.0, 1.0]])
        window = auto_window(arr)
        assert math.isfinite(window.center) and math.isfinite(window.width)

    @pytest.mark.parametrize("name", WINDOWED_FILES)
    def test_stored_windows_read(self, name: str) -> None:
        """Stored windows are read with their function (LINEAR by default)."""
        windows, _ = voi_for_frame(load(name), 0)
        ds = load_pydicom(name)
        assert windows[0].center == float(ds.WindowCenter)
        assert windows[0].function == "LINEAR"
