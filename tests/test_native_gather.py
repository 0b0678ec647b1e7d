"""native/gather.c's two loops, called directly, against numpy's output step."""
from __future__ import annotations

import ctypes
import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from previewer.pixels import output
from previewer.pixels.params import Window
from previewer.pixels.voi import WindowTransfer

_WINDOW_TABLE = [ctypes.c_long, ctypes.c_long, ctypes.c_int, ctypes.c_double, ctypes.c_double,
                 ctypes.c_int, ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]


@pytest.fixture(scope="module")
def fill(plugin_path: Path) -> Any:
    """previewer_window_table of the built library, as output.use_window_table takes it."""
    function = ctypes.CDLL(str(plugin_path)).previewer_window_table
    function.argtypes = _WINDOW_TABLE
    function.restype = ctypes.c_int

    def call(table: np.ndarray, lo: int, hi: int, exact: bool, center: float, width: float,
             levels: int, inverse: bool) -> None:
        code = function(lo, hi, int(exact), center, width, levels, int(inverse), table.ctypes.data,
                        table.dtype.itemsize)
        assert code == 0
    call.raw = function   # type: ignore[attr-defined]
    return call


def _both(fill: Any, dtype: Any, value_range: tuple[int, int], window: Window, levels: int,
          inverse: bool) -> tuple[np.ndarray, np.ndarray]:
    values = output._bit_patterns(np.dtype(dtype))
    transfer = WindowTransfer(window)
    expected = output._table(values, transfer, levels, inverse, value_range)
    output.use_window_table(fill)
    try:
        got = output._table(values, transfer, levels, inverse, value_range)
    finally:
        output.use_window_table(None)
    return expected, got


WINDOWS = [Window(40, 400, "LINEAR"), Window(40.25, 1, "LINEAR"), Window(0.5, 2, "LINEAR"),
           Window(-600, 1500.5, "LINEAR"), Window(1000, 7, "LINEAR_EXACT"), Window(3.5, 0.5, "LINEAR_EXACT"),
           Window(32767.5, 65536, "LINEAR_EXACT")]


class TestWindowTable:
    @pytest.mark.parametrize("window", WINDOWS, ids=lambda w: f"{w.function},{w.center},{w.width}")
    def test_every_entry_equals_numpys(self, fill: Any, window: Window) -> None:
        """For signed and unsigned frames, 8 and 16 output bits, inverse or not: numpy's table, entry for entry."""
        for (dtype, value_range), levels, inverse in itertools.product(
                [(np.int16, (-32768, 32767)), (np.int16, (-1024, 3071)), (np.uint16, (0, 65535)),
                 (np.uint16, (990, 1010))], (255, 65535), (False, True)):
            expected, got = _both(fill, dtype, value_range, window, levels, inverse)
            assert got.dtype == expected.dtype
            assert np.array_equal(got, expected), (dtype, value_range, levels, inverse)

    def test_levels_are_rounded_half_to_even_like_numpy(self, fill: Any) -> None:
        """A window whose levels fall exactly on .5 rounds as numpy's rint does (half to even)."""
        # LINEAR_EXACT 0,510: value v gives v/510 + 0.5, times 255: v/2 + 127.5, on .5 for even v.
        expected, got = _both(fill, np.int16, (-255, 255), Window(0, 510, "LINEAR_EXACT"), 255, False)
        assert np.array_equal(got, expected)
        assert got[0] == 128 and got[2] == 128   # 127.5 -> 128, 128.5 -> 128

    def test_refuses_what_it_does_not_know(self, fill: Any) -> None:
        """Widths the standard forbids, too many values or levels too high for the entry: -1, nothing written."""
        table = np.zeros(65536, np.uint8)
        raw = fill.raw
        for args in [(0, 10, 0, 40.0, 0.5, 255, 0), (0, 10, 1, 40.0, 0.0, 255, 0),
                     (-40000, 10, 0, 40.0, 400.0, 255, 0), (0, 65536, 0, 40.0, 400.0, 255, 0),
                     (10, 0, 0, 40.0, 400.0, 255, 0), (0, 10, 0, 40.0, 400.0, 65535, 0)]:
            assert raw(*args, table.ctypes.data, 1) == -1, args
        assert not table.any()

    def test_other_transfers_stay_with_numpy(self, fill: Any) -> None:
        """SIGMOID, a width LINEAR forbids, and a plain function never reach the native table."""
        assert output._native_window(WindowTransfer(Window(40, 400, "SIGMOID"))) is None
        output.use_window_table(fill)
        try:
            assert output._native_window(WindowTransfer(Window(40, 400, "SIGMOID"))) is None
            assert output._native_window(WindowTransfer(Window(40, 0.5, "LINEAR"))) is None
            assert output._native_window(lambda x: x) is None
            assert output._native_window(WindowTransfer(Window(40, 400, "LINEAR"))) == (False, 40.0, 400.0)
        finally:
            output.use_window_table(None)
