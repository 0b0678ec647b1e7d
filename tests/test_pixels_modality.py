"""Tests of previewer.pixels.modality, with pydicom.pixels as the oracle."""

from __future__ import annotations

import numpy as np
import pytest
from pixels_corpus import load, load_pydicom
from pydicom.pixels import apply_modality_lut

from previewer.pixels.decode import decode_frame
from previewer.pixels.meta import Lut, Rescale, modality_lut, rescale_for_frame
from previewer.pixels.modality import (
    apply_lut,
    apply_modality,
    apply_rescale,
    smallest_int_dtype,
)

MODALITY_LUT_FILE = "mlut_18.dcm"
#: Files with Rescale Slope/Intercept (integral and fractional).
RESCALE_FILES = ("CT_small.dcm", "693_UNCR.dcm", "MR2_UNCR.dcm", "bad_sequence.dcm")
ENHANCED_CT = "eCT_Supplemental.dcm"


class TestSmallestIntDtype:
    @pytest.mark.parametrize(
        ("low", "high", "dtype"),
        [
            (0, 255, np.uint8),
            (-1, 1, np.int8),
            (0, 256, np.uint16),
            (-1024, 3071, np.int16),
            (0, 70000, np.uint32),
            (-1, 70000, np.int32),
            (-(2**40), 0, np.int64),
        ],
    )
    def test_choice(self, low: int, high: int, dtype: type) -> None:
        """The smallest integer type holding the range is chosen."""
        assert smallest_int_dtype(low, high) == np.dtype(dtype)


class TestApplyRescale:
    @pytest.mark.parametrize("name", RESCALE_FILES)
    def test_matches_pydicom(self, name: str) -> None:
        """Rescaled values equal pydicom's apply_modality_lut."""
        ds = load(name)
        stored = decode_frame(ds, 0)
        expected = apply_modality_lut(stored, load_pydicom(name))
        got = apply_rescale(stored, rescale_for_frame(ds, 0))
        assert np.allclose(got, expected, rtol=1e-6, atol=1e-3)

    def test_integral_rescale_stays_integer(self) -> None:
        """CT_small's slope 1 / intercept -1024 keeps an integer dtype."""
        ds = load("CT_small.dcm")
        got = apply_rescale(decode_frame(ds, 0), rescale_for_frame(ds, 0))
        assert got.dtype.kind == "i"

    def test_identity_returns_input(self) -> None:
        """Slope 1 / intercept 0 returns the same array."""
        arr = np.arange(4, dtype=np.uint16)
        assert apply_rescale(arr, Rescale()) is arr

    def test_wide_result_gets_wider_dtype(self) -> None:
        """uint16 input with a large intercept does not overflow (synthetic)."""
        arr = np.array([0, 65535], np.uint16)
        got = apply_rescale(arr, Rescale(2.0, -70000.0))
        assert got.tolist() == [-70000, 61070]

    def test_negative_intercept_on_unsigned_range(self) -> None:
        """Stored 1024..2000 with intercept -1024 (as in dicomdirtests CTs) does not overflow."""
        arr = np.array([1024, 2000], np.uint16)
        assert apply_rescale(arr, Rescale(1.0, -1024.0)).tolist() == [0, 976]

    def test_input_not_modified(self) -> None:
        """The input array is left untouched."""
        arr = np.array([1, 2], np.int16)
        apply_rescale(arr, Rescale(2.0, 5.0))
        assert arr.tolist() == [1, 2]


class TestApplyLut:
    def test_modality_lut_sequence_matches_pydicom(self) -> None:
        """mlut_18's Modality LUT Sequence equals pydicom's apply_modality_lut."""
        ds = load(MODALITY_LUT_FILE)
        stored = decode_frame(ds, 0)
        lut = modality_lut(ds)
        assert lut is not None and lut.first_mapped == -2048
        expected = apply_modality_lut(stored, load_pydicom(MODALITY_LUT_FILE))
        assert np.array_equal(apply_lut(stored, lut), expected)

    def test_clamps_outside_lut(self) -> None:
        """Values outside the LUT take the first/last entry (synthetic)."""
        lut = Lut(
            first_mapped=-1, data=np.array([100, 200, 300]), bits=16, explanation=""
        )
        assert apply_lut(np.array([-5, -1, 0, 1, 9]), lut).tolist() == [
            100,
            100,
            200,
            300,
            300,
        ]


class TestApplyModality:
    def test_lut_wins_over_rescale(self) -> None:
        """A Modality LUT Sequence is used instead of rescale (synthetic)."""
        lut = Lut(first_mapped=0, data=np.array([7, 8]), bits=16, explanation="")
        got = apply_modality(np.array([[0, 1]]), Rescale(2.0, 1.0), lut)
        assert got.tolist() == [[7, 8]]

    def test_colour_unchanged(self) -> None:
        """Colour arrays pass through unchanged."""
        rgb = np.zeros((2, 2, 3), np.uint8)
        assert apply_modality(rgb, Rescale(2.0, 1.0), None) is rgb

    def test_enhanced_rescale_from_functional_groups(self) -> None:
        """Enhanced CT takes rescale from the shared functional groups."""
        rescale = rescale_for_frame(load(ENHANCED_CT), 1)
        assert (rescale.slope, rescale.intercept, rescale.type) == (1.0, -1024.0, "US")
