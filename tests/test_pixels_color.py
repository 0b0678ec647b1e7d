"""Tests of previewer.pixels.color, with pydicom.pixels as the oracle, and for CIELab the colour
standards themselves (IEC 61966-2-1 sRGB, CIE 15 CIELab), computed here with numpy."""

from __future__ import annotations

import numpy as np
import pytest
import pydicom
from pixels_corpus import load, load_pydicom
from pydicom.data import get_testdata_file
from pydicom.pixels import apply_color_lut, convert_color_space, pixel_array

from previewer.pixels.color import (
    Palette,
    apply_palette,
    expand_segmented,
    lab_to_rgb,
    palette_from_dataset,
    to_8bit,
    ybr_to_rgb,
)
from previewer.pixels.decode import decode_frame
from previewer.pixels.errors import Malformed

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
#: pydicom's Segmentation whose segment has a Recommended Display CIELab Value (0062,000D).
SEG_WITH_CIELAB = "liver_1frame.dcm"


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

    @pytest.mark.parametrize("words", [[0, 5, 10, 20], [0, 1, 5, 1], [0], [0, 1, 5, 2, 1, 0]],
                             ids=["discrete-short", "linear-no-end", "opcode-alone", "indirect-short"])
    def test_segment_past_the_data_is_malformed(self, words: list[int]) -> None:
        """A segment that runs past the data (synthetic; was an IndexError, a 500) is Malformed."""
        with pytest.raises(Malformed, match="runs past the data"):
            expand_segmented(np.array(words))

    def test_expansion_is_bounded(self) -> None:
        """Linear segments that expand beyond 2^16 entries (synthetic) are Malformed, not a huge list."""
        with pytest.raises(Malformed, match="beyond 65536 entries"):
            expand_segmented(np.array([0, 1, 0] + [1, 65535, 7] * 2))


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


# --- CIELab (PS3.3 C.10.7.1.1) -> sRGB: references computed from the standards, not from color.py ---------

#: IEC 61966-2-1 (sRGB): the chromaticities (x, y) of the red, green and blue primaries and of the D65 white.
_SRGB_PRIMARIES = np.array([[0.64, 0.33], [0.30, 0.60], [0.15, 0.06]])
_D65 = np.array([0.3127, 0.3290])
#: The CIELab (D65) of sRGB's black, white and primaries as commonly tabulated, to two decimals.
_PUBLISHED_LAB = {
    (0, 0, 0): (0.0, 0.0, 0.0),
    (255, 255, 255): (100.0, 0.0, 0.0),
    (255, 0, 0): (53.24, 80.09, 67.20),
    (0, 255, 0): (87.73, -86.18, 83.18),
    (0, 0, 255): (32.30, 79.19, -107.86),
}


def _xyz_of(xy: np.ndarray) -> np.ndarray:
    """XYZ with Y = 1 of a chromaticity (x, y)."""
    x, y = xy
    return np.array([x / y, 1.0, (1.0 - x - y) / y])


def _rgb_to_xyz_matrix() -> tuple[np.ndarray, np.ndarray]:
    """IEC 61966-2-1's linear-RGB -> XYZ matrix, derived from its primaries and white; and the white's XYZ."""
    primaries = np.stack([_xyz_of(xy) for xy in _SRGB_PRIMARIES], axis=1)
    white = _xyz_of(_D65)
    return primaries * np.linalg.solve(primaries, white), white


def _reference_lab(rgb8: tuple[int, int, int]) -> np.ndarray:
    """CIE 15 CIELab (L*, a*, b*) of an 8-bit sRGB colour: IEC 61966-2-1 decoding, then CIE 15's f()."""
    matrix, white = _rgb_to_xyz_matrix()
    v = np.asarray(rgb8, float) / 255.0
    linear = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)
    t = matrix @ linear / white
    delta = 6.0 / 29.0
    f = np.where(t > delta ** 3, np.cbrt(t), t / (3 * delta ** 2) + 4.0 / 29.0)
    return np.array([116.0 * f[1] - 16.0, 500.0 * (f[0] - f[1]), 200.0 * (f[1] - f[2])])


def _reference_rgb(dicom_lab: tuple[int, int, int]) -> np.ndarray:
    """8-bit sRGB of a DICOM CIELab value: CIE 15's inverse, IEC 61966-2-1's encoding, clipped to the gamut."""
    matrix, white = _rgb_to_xyz_matrix()
    lab = np.asarray(dicom_lab, float) / 65535.0 * [100.0, 255.0, 255.0] - [0.0, 128.0, 128.0]
    fy = (lab[0] + 16.0) / 116.0
    f = np.array([fy + lab[1] / 500.0, fy, fy - lab[2] / 200.0])
    delta = 6.0 / 29.0
    xyz = white * np.where(f > delta, f ** 3, 3 * delta ** 2 * (f - 4.0 / 29.0))
    linear = np.clip(np.linalg.solve(matrix, xyz), 0.0, 1.0)
    encoded = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)
    return np.round(encoded * 255.0)


def _encode(lab: np.ndarray) -> tuple[int, int, int]:
    """PS3.3 C.10.7.1.1: L* 0..100 and a*, b* -128..127 scaled to 0..65535."""
    scaled = (np.asarray(lab) + [0.0, 128.0, 128.0]) / [100.0, 255.0, 255.0] * 65535.0
    return tuple(int(v) for v in np.clip(np.round(scaled), 0, 65535))  # type: ignore[return-value]


class TestLabToRgb:
    def test_reference_formulas_give_the_published_lab(self) -> None:
        """The test's own IEC 61966-2-1 + CIE 15 computation gives the tabulated CIELab of black, white
        and the sRGB primaries (so the references below are the standards', not color.py's)."""
        for rgb, lab in _PUBLISHED_LAB.items():
            assert np.abs(_reference_lab(rgb) - lab).max() < 0.01, rgb

    @pytest.mark.parametrize("rgb", list(_PUBLISHED_LAB), ids=["black", "white", "red", "green", "blue"])
    def test_published_colours(self, rgb: tuple[int, int, int]) -> None:
        """The DICOM encoding of the tabulated CIELab of black, white and each primary is that sRGB colour."""
        assert lab_to_rgb(_encode(np.array(_PUBLISHED_LAB[rgb]))) == rgb

    def test_dicom_scaling(self) -> None:
        """PS3.3 C.10.7.1.1: 0xFFFF is L* 100 and 0x8080 is a* = b* = 0, so (0xFFFF, 0x8080, 0x8080) is white,
        (0, 0x8080, 0x8080) black, and mid L* a neutral grey."""
        assert lab_to_rgb((0xFFFF, 0x8080, 0x8080)) == (255, 255, 255)
        assert lab_to_rgb((0, 0x8080, 0x8080)) == (0, 0, 0)
        grey = lab_to_rgb((0x8000, 0x8080, 0x8080))
        assert grey[0] == grey[1] == grey[2] and tuple(_reference_rgb((0x8000, 0x8080, 0x8080))) == grey

    def test_round_trip_of_every_corner_of_the_cube_and_greys(self) -> None:
        """sRGB -> CIELab (the standards, here) -> DICOM encoding -> lab_to_rgb gives the colour back, for
        the eight corners of the RGB cube and a ramp of greys."""
        colours = [(r, g, b) for r in (0, 255) for g in (0, 255) for b in (0, 255)]
        colours += [(v, v, v) for v in range(0, 256, 15)]
        for rgb in colours:
            assert lab_to_rgb(_encode(_reference_lab(rgb))) == rgb, rgb

    def test_grid_matches_the_reference_within_one_level(self) -> None:
        """Over a grid of DICOM CIELab values, out-of-gamut ones included (clipped to the sRGB cube), every
        channel is within 1 of the reference conversion (the standard's 4-decimal matrix against the exact one)."""
        steps = [0, 8192, 16384, 24576, 32896, 40960, 49152, 57344, 65535]
        worst = 0
        for lab in ((l_, a, b) for l_ in steps for a in steps for b in steps):
            worst = max(worst, int(np.abs(np.array(lab_to_rgb(lab)) - _reference_rgb(lab)).max()))
        assert worst <= 1

    def test_a_real_segmentation_colour(self) -> None:
        """The Recommended Display CIELab Value of pydicom's liver_1frame.dcm converts as the reference does."""
        ds = pydicom.dcmread(get_testdata_file(SEG_WITH_CIELAB))
        lab = tuple(int(v) for v in ds.SegmentSequence[0].RecommendedDisplayCIELabValue)
        assert lab == (41661, 41167, 40792)
        assert np.abs(np.array(lab_to_rgb(lab)) - _reference_rgb(lab)).max() <= 1   # type: ignore[arg-type]
