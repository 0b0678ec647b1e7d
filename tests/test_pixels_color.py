"""Tests of previewer.pixels.color, with pydicom.pixels as the oracle."""

from __future__ import annotations

import numpy as np
import pytest
from pixels_corpus import load, load_pydicom
from pydicom.pixels import apply_color_lut, convert_color_space, pixel_array

from previewer.pixels.color import (
    Palette,
    apply_palette,
    expand_segmented,
    palette_from_dataset,
    to_8bit,
    ybr_to_rgb,
)
from previewer.pixels.decode import decode_frame

#: Files whose stored samples are YBR_FULL / YBR_FULL_422 (decoded raw).
YBR_FILES = (
    "SC_ybr_full_uncompressed.dcm",
    "SC_ybr_full_422_uncompressed.dcm",
    "SC_rgb_dcmtk_+eb+cy+n1.dcm",
    "SC_rgb_jpeg_dcmtk.dcm",
    "examples_ybr_color.dcm",
)
PALETTE_8 = "OBXXXX1A.dcm"
PALETTE_SEGMENTED_16 = "gdcm-US-ALOKA-16.dcm"
PALETTE_SEGMENTED_16_BE = "gdcm-US-ALOKA-16_big.dcm"
PALETTE_NO_META = "OT-PAL-8-face.dcm"
PALETTE_EXAMPLE = "examples_palette.dcm"


class TestYbrToRgb:
    @pytest.mark.parametrize("name", YBR_FILES)
    def test_matches_pydicom_convert_color_space(self, name: str) -> None:
        """YBR_FULL to RGB is within 1 of pydicom's conversion on real files."""
        ds = load_pydicom(name)
        raw = pixel_array(ds, index=0, raw=True)
        expected = convert_color_space(raw, "YBR_FULL", "RGB").astype(np.int64)
        got = ybr_to_rgb(raw, "YBR_FULL", 8).astype(np.int64)
        assert np.abs(got - expected).max() <= 1

    def test_decode_frame_uses_conversion(self) -> None:
        """decode_frame returns RGB for a YBR_FULL_422 file."""
        ds = load_pydicom("SC_ybr_full_422_uncompressed.dcm")
        expected = pixel_array(ds, index=0).astype(np.int64)
        got = decode_frame(load("SC_ybr_full_422_uncompressed.dcm"), 0).astype(np.int64)
        assert np.abs(got - expected).max() <= 1

    def test_rgb_unchanged(self) -> None:
        """Non-YBR input is returned as the same object."""
        arr = np.zeros((2, 2, 3), np.uint8)
        assert ybr_to_rgb(arr, "RGB", 8) is arr

    def test_grey_axis(self) -> None:
        """Y with centred chroma gives R = G = B = Y (synthetic, no file has it)."""
        arr = np.array([[[0, 128, 128], [77, 128, 128], [255, 128, 128]]], np.uint8)
        assert np.array_equal(
            ybr_to_rgb(arr, "YBR_FULL", 8)[0], [[0] * 3, [77] * 3, [255] * 3]
        )

    def test_rct_inverts_forward_transform(self) -> None:
        """YBR_RCT inverse undoes the JPEG 2000 forward RCT (synthetic: decoders hide it)."""
        rng = np.random.default_rng(1)
        rgb = rng.integers(0, 256, (8, 8, 3)).astype(np.int64)
        r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
        y = np.floor((r + 2 * g + b) / 4)
        ybr = np.stack([y, b - g + 128, r - g + 128], axis=-1).astype(np.int64)
        assert np.array_equal(ybr_to_rgb(ybr, "YBR_RCT", 8), rgb)

    def test_input_not_modified(self) -> None:
        """The input array is left untouched."""
        arr = np.full((2, 2, 3), 200, np.uint8)
        ybr_to_rgb(arr, "YBR_FULL", 8)
        assert (arr == 200).all()


class TestPaletteFromDataset:
    def test_none_for_grayscale(self) -> None:
        """Grayscale images have no palette."""
        assert palette_from_dataset(load("CT_small.dcm")) is None

    def test_segmented_16_bit_expands_to_descriptor_size(self) -> None:
        """The ALOKA segmented LUTs expand to 2^16 16-bit entries."""
        palette = palette_from_dataset(load(PALETTE_SEGMENTED_16))
        assert palette is not None
        assert palette.lut.shape == (65536, 3) and palette.bits == 16

    def test_big_endian_equals_little_endian(self) -> None:
        """The big endian ALOKA palette equals the little endian one."""
        a = palette_from_dataset(load(PALETTE_SEGMENTED_16))
        b = palette_from_dataset(load(PALETTE_SEGMENTED_16_BE))
        assert a is not None and b is not None
        assert np.array_equal(a.lut, b.lut)


class TestApplyPalette:
    @pytest.mark.parametrize(
        "name",
        [
            PALETTE_8,
            PALETTE_SEGMENTED_16,
            PALETTE_SEGMENTED_16_BE,
            PALETTE_NO_META,
            PALETTE_EXAMPLE,
        ],
    )
    def test_matches_pydicom_apply_color_lut(self, name: str) -> None:
        """Palette mapping equals pydicom's apply_color_lut exactly."""
        ds = load(name)
        indices = decode_frame(ds, 0)
        expected = apply_color_lut(indices, load_pydicom(name))
        got = apply_palette(indices, palette_from_dataset(ds))
        assert got.shape == expected.shape
        assert np.array_equal(got, expected)

    def test_clamps_out_of_range_indices(self) -> None:
        """Indices below/above the LUT use its first/last entry (synthetic)."""
        lut = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]], np.uint8)
        palette = Palette(first_mapped=10, lut=lut, bits=8)
        got = apply_palette(np.array([[0, 10, 11, 12, 200]]), palette)
        assert got[0].tolist() == [
            [1, 2, 3],
            [1, 2, 3],
            [4, 5, 6],
            [7, 8, 9],
            [7, 8, 9],
        ]

    def test_no_palette_returns_input(self) -> None:
        """Without a palette the input is returned unchanged."""
        arr = np.zeros((2, 2), np.uint8)
        assert apply_palette(arr, None) is arr


class TestExpandSegmented:
    def test_discrete_and_linear(self) -> None:
        """Discrete then linear segments, PS3.3 C.7.9.2 (synthetic)."""
        words = np.array([0, 2, 10, 20, 1, 4, 60])
        assert expand_segmented(words).tolist() == [10, 20, 30, 40, 50, 60]

    def test_indirect_segment(self) -> None:
        """An indirect segment copies earlier segments by word offset (synthetic)."""
        words = np.array([0, 1, 5, 1, 2, 9, 2, 2, 0, 0])
        assert expand_segmented(words).tolist() == [5, 7, 9, 5, 7, 9]


class TestTo8Bit:
    def test_eight_bit_unchanged(self) -> None:
        """8-bit samples are returned unchanged."""
        arr = np.arange(256, dtype=np.uint8)
        assert to_8bit(arr, 8) is arr

    def test_sixteen_bit_scaling(self) -> None:
        """16-bit samples map v*257 -> v exactly."""
        values = np.arange(256, dtype=np.uint16)
        assert np.array_equal(to_8bit(values * 257, 16), values)

    def test_twelve_bit_endpoints(self) -> None:
        """0 and 4095 map to 0 and 255, the middle to 128."""
        assert to_8bit(np.array([0, 2048, 4095], np.uint16), 12).tolist() == [
            0,
            128,
            255,
        ]
