"""Tests of previewer.pixels.output."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from previewer.pixels import output as output_module
from previewer.pixels.errors import BadParameter
from previewer.pixels.output import (
    apply_padding_alpha,
    color_output,
    grey_levels,
    luma,
    signed16,
)
from previewer.pixels.params import Window
from previewer.pixels.voi import apply_window

WINDOW = Window(100.0, 400.0, "LINEAR")


def _transfer(x: NDArray[Any]) -> NDArray[np.float64]:
    return apply_window(x, WINDOW)


def _direct(arr: NDArray[Any], levels: int, inverse: bool) -> NDArray[np.int64]:
    """Reference computed element by element without any table."""
    y = np.rint(np.clip(apply_window(arr.astype(np.float64), WINDOW), 0, 1) * levels)
    return (levels - y if inverse else y).astype(np.int64)


class TestGreyLevels:
    @pytest.mark.parametrize(
        "dtype",
        [np.uint8, np.int8, np.uint16, np.int16, np.int32, np.uint32, np.float32],
    )
    @pytest.mark.parametrize("inverse", [False, True])
    def test_table_path_equals_direct(self, dtype: type, inverse: bool) -> None:
        """Table lookups equal the direct computation for every dtype (synthetic ramp)."""
        info = np.iinfo(dtype) if np.dtype(dtype).kind in "ui" else None
        lo = max(info.min, -300) if info else -300
        hi = min(info.max, 700) if info else 700
        arr = np.linspace(lo, hi, 64 * 64).astype(dtype).reshape(64, 64)
        got = grey_levels(arr, _transfer, 255, inverse)
        assert got.dtype == np.uint8 and got.flags.c_contiguous
        assert np.array_equal(got.astype(np.int64), _direct(arr, 255, inverse))

    def test_sixteen_bit_levels(self) -> None:
        """gray16 spans 0..65535 with the same window."""
        arr = np.array([[-200, 100, 400]], np.int16)
        got = grey_levels(arr, _transfer, 65535, False)
        assert got.dtype == np.uint16
        assert np.array_equal(got.astype(np.int64), _direct(arr, 65535, False))

    @pytest.mark.parametrize("channels", [3, 4])
    def test_replicated_channels(self, channels: int) -> None:
        """rgb24/rgba32 replicate grey, alpha opaque."""
        arr = np.array([[0, 100, 300]], np.int16)
        got = grey_levels(arr, _transfer, 255, False, channels)
        grey = grey_levels(arr, _transfer, 255, False)
        assert got.shape == (1, 3, channels)
        for i in range(3):
            assert np.array_equal(got[..., i], grey)
        if channels == 4:
            assert (got[..., 3] == 255).all()

    def test_wide_int32_uses_direct_path(self) -> None:
        """int32 spanning more than 2^16 values still maps correctly."""
        arr = np.array([[-100000, 100, 100000]], np.int32)
        assert np.array_equal(
            grey_levels(arr, _transfer, 255, False).astype(np.int64),
            _direct(arr, 255, False),
        )

    def test_input_not_modified(self) -> None:
        """The frame is left untouched."""
        arr = np.array([[1, 2]], np.int16)
        grey_levels(arr, _transfer, 255, True)
        assert arr.tolist() == [[1, 2]]


class TestSigned16:
    def test_int16_passthrough(self) -> None:
        """int16 values are returned as they are."""
        arr = np.array([[-5, 7]], np.int16)
        assert np.array_equal(signed16(arr), arr)

    def test_int32_in_range(self) -> None:
        """int32 values within int16 convert losslessly."""
        assert signed16(np.array([[-32768, 32767]], np.int32)).tolist() == [
            [-32768, 32767]
        ]

    def test_out_of_range(self) -> None:
        """Values beyond int16 raise BadParameter with the range."""
        with pytest.raises(BadParameter, match="-32768..32767"):
            signed16(np.array([[0, 40000]], np.int32))

    def test_fractional(self) -> None:
        """Fractional values raise BadParameter."""
        with pytest.raises(BadParameter, match="integral"):
            signed16(np.array([[0.5]]))

    def test_colour_rejected(self) -> None:
        """Colour frames have no signed16 form."""
        with pytest.raises(BadParameter, match="grayscale"):
            signed16(np.zeros((2, 2, 3), np.uint8))


class TestLuma:
    def test_weights(self) -> None:
        """BT.601 weights: pure red/green/blue and white."""
        rgb = np.array(
            [[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]]], np.uint8
        )
        assert np.allclose(luma(rgb)[0], [76.245, 149.685, 29.07, 255.0])


class TestColorOutput:
    RGB = np.array([[[10, 20, 30], [200, 100, 0]]], np.uint8)

    def test_rgb24(self) -> None:
        """rgb24 is the input colour."""
        assert np.array_equal(color_output(self.RGB, "rgb24", False), self.RGB)

    def test_rgba32(self) -> None:
        """rgba32 adds opaque alpha."""
        out = color_output(self.RGB, "rgba32", False)
        assert out.shape == (1, 2, 4) and (out[..., 3] == 255).all()
        assert np.array_equal(out[..., :3], self.RGB)

    def test_invert(self) -> None:
        """invert complements each sample."""
        assert np.array_equal(color_output(self.RGB, "rgb24", True), 255 - self.RGB)

    def test_gray16_is_gray8_times_257(self) -> None:
        """gray16 of colour is the luma on 0..65535."""
        g8 = color_output(self.RGB, "gray8", False).astype(np.int64)
        g16 = color_output(self.RGB, "gray16", False).astype(np.int64)
        assert np.abs(g16 - g8 * 257).max() <= 257


class TestApplyPaddingAlpha:
    def test_mask_sets_alpha_zero(self) -> None:
        """Masked pixels get alpha 0, others keep theirs."""
        out = np.full((1, 2, 4), 255, np.uint8)
        mask = np.array([[True, False]])
        got = apply_padding_alpha(out, mask)
        assert got[..., 3].tolist() == [[0, 255]]
        assert (out[..., 3] == 255).all()

    def test_without_alpha_unchanged(self) -> None:
        """RGB output is returned unchanged."""
        out = np.zeros((1, 2, 3), np.uint8)
        assert apply_padding_alpha(out, np.array([[True, False]])) is out


class TestGreyLevelsValueRange:
    """The table kept to the frame's (min, max) gives the same pixels as the full table."""

    @pytest.mark.parametrize("dtype", [np.int16, np.uint16])
    def test_same_output_as_the_full_table(self, dtype: type) -> None:
        """Synthetic frames (edge case: random values of both signs) map identically."""
        rng = np.random.default_rng(3)
        low = -1024 if dtype is np.int16 else 0
        arr = rng.integers(low, low + 3000, (40, 50)).astype(dtype)
        window = Window(500.0, 900.0, "LINEAR")

        def transfer(x: np.ndarray) -> np.ndarray:
            return apply_window(x, window)
        full = grey_levels(arr, transfer, 255, False)
        ranged = grey_levels(arr, transfer, 255, False, 1, (int(arr.min()), int(arr.max())))
        assert np.array_equal(full, ranged)



def _ramp(values: NDArray[Any]) -> NDArray[np.float64]:
    return np.clip((values.astype(np.float64) + 300.0) / 600.0, 0.0, 1.0)


class TestUseGather:
    def test_a_given_gather_does_the_lookup(self) -> None:
        """use_gather hands every uint16 table lookup to the given function; None gives numpy back."""
        calls: list[tuple[int, ...]] = []

        def gather(table: NDArray[Any], index: NDArray[Any], out: NDArray[Any]) -> None:
            calls.append(index.shape)
            out[...] = table[index]

        frame = np.arange(-300, 300, dtype=np.int16).reshape(20, 30)
        expected = output_module.grey_levels(frame, _ramp, 255, False)
        output_module.use_gather(gather)
        try:
            assert np.array_equal(output_module.grey_levels(frame, _ramp, 255, False), expected)
            assert calls == [(20, 30)]
        finally:
            output_module.use_gather(None)
        assert np.array_equal(output_module.grey_levels(frame, _ramp, 255, False), expected)
        assert calls == [(20, 30)]
