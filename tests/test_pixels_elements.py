"""The accessors of previewer.pixels.elements, on pydicom's CT_small.dcm and its mutants.

The mutants are synthesized: each sets one element of CT_small.dcm to a value
its VR does not allow (pydicom keeps such values as it reads them), which no
real file at hand holds.
"""
from __future__ import annotations

import copy

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import Tag

from previewer.pixels import elements
from previewer.pixels.errors import Malformed

CT_SMALL = "CT_small.dcm"


@pytest.fixture(scope="module")
def ct() -> Dataset:
    """CT_small.dcm as pydicom reads it."""
    return pydicom.dcmread(get_testdata_file(CT_SMALL))


def _with(ds: Dataset, tag: int, vr: str, stored: bytes) -> Dataset:
    """A copy of ``ds`` whose element ``tag`` holds the raw bytes ``stored`` (converted when first read)."""
    copied = copy.deepcopy(ds)
    copied[tag] = RawDataElement(Tag(tag), vr, len(stored), stored, 0, False, True)
    return copied


class TestLabels:
    def test_tag_name_and_value(self) -> None:
        """A keyword as its tag and name; a private tag as its tag; a long value quoted shortened."""
        assert elements.label("NumberOfFrames") == "(0028,0008) Number of Frames"
        assert elements.label(0x00291010) == "(0029,1010)"
        assert elements.quoted("9" * 100) == repr("9" * 64 + "...")
        assert elements.quoted(b"\x41" * 10_000) == repr("A" * 64 + "...")


class TestInteger:
    def test_the_files_values(self, ct: Dataset) -> None:
        """CT_small.dcm's Rows and Columns (US), absent Number of Frames as the default."""
        assert (elements.integer(ct, "Rows"), elements.integer(ct, "Columns")) == (128, 128)
        assert elements.integer(ct, "NumberOfFrames", 1) == 1

    def test_not_an_integer(self, ct: Dataset) -> None:
        """An Integer String '1A' is named with its tag, name and value."""
        ds = _with(ct, 0x00280008, "IS", b"1A")
        with pytest.raises(Malformed) as error:
            elements.integer(ds, "NumberOfFrames", 1)
        assert error.value.message == "(0028,0008) Number of Frames '1A' is not an integer"
        assert error.value.status == 415

    def test_range_and_where(self, ct: Dataset) -> None:
        """Out of low..high is named, after ``where``; a missing required one says so."""
        with pytest.raises(Malformed, match=r"^here: \(0028,0010\) Rows '128' is not in 1\.\.100$"):
            elements.integer(ct, "Rows", low=1, high=100, where="here: ")
        with pytest.raises(Malformed, match=r"^\(0028,0008\) Number of Frames is missing$"):
            elements.required_integer(ct, "NumberOfFrames")

    def test_several_values_and_infinity(self, ct: Dataset) -> None:
        """Two values, or an infinite FD at an integer's tag, are not an integer."""
        two = _with(ct, 0x00280008, "IS", b"1\\2")
        infinite = copy.deepcopy(ct)
        infinite[0x00280010] = DataElement(0x00280010, "FD", float("inf"))
        with pytest.raises(Malformed, match=r"'1\\\\2' is not an integer"):
            elements.integer(two, "NumberOfFrames")
        with pytest.raises(Malformed, match=r"\(0028,0010\) Rows 'inf' is not an integer"):
            elements.integer(infinite, "Rows")


class TestNumbers:
    def test_the_files_values(self, ct: Dataset) -> None:
        """CT_small.dcm's Pixel Spacing and Rescale Slope, as pydicom reads them."""
        assert elements.numbers(ct, "PixelSpacing", 2) == tuple(float(v) for v in ct.PixelSpacing)
        assert elements.number(ct, "RescaleSlope") == float(ct.RescaleSlope)

    def test_nan_unless_allowed(self, ct: Dataset) -> None:
        """A NaN Decimal String is not a finite number, but is a number when ``finite`` is False."""
        ds = _with(ct, 0x00281053, "DS", b"NaN ")
        with pytest.raises(Malformed, match=r"^\(0028,1053\) Rescale Slope 'NaN' is not a finite number$"):
            elements.number(ds, "RescaleSlope")
        found = elements.numbers(ds, "RescaleSlope", finite=False)
        assert found is not None and found[0] != found[0]

    def test_count(self, ct: Dataset) -> None:
        """A Pixel Spacing of one value where two are needed is named with its count."""
        ds = _with(ct, 0x00280030, "DS", b"0.5 ")
        with pytest.raises(Malformed, match=r"^\(0028,0030\) Pixel Spacing has 1 values, not 2$"):
            elements.numbers(ds, "PixelSpacing", 2)


class TestValues:
    def test_unconvertible_element(self, ct: Dataset) -> None:
        """A US element of 3 bytes, which pydicom cannot convert, is Malformed naming it and pydicom's reason."""
        ds = _with(ct, 0x00280010, "US", b"\x01\x02\x03")
        with pytest.raises(Malformed, match=r"^\(0028,0010\) Rows cannot be read: .+"):
            elements.value(ds, "Rows")

    def test_not_a_keyword_is_a_bug(self, ct: Dataset) -> None:
        """A keyword that is none is the caller's bug, a ValueError, never Malformed."""
        with pytest.raises(ValueError, match="NotAKeyword") as error:
            elements.value(ct, "NotAKeyword")
        assert not isinstance(error.value, Malformed)

    def test_sequence_and_data(self, ct: Dataset) -> None:
        """Text at a sequence's tag or a number at Pixel Data's is named; absent sequences are empty."""
        ds = copy.deepcopy(ct)
        ds[0x00081140] = DataElement(0x00081140, "LO", "text")
        ds[0x7FE00010] = DataElement(0x7FE00010, "FD", 1.0)
        with pytest.raises(Malformed, match=r"^\(0008,1140\) Referenced Image Sequence is not a sequence: it holds 'text'$"):
            elements.sequence(ds, "ReferencedImageSequence")
        with pytest.raises(Malformed, match=r"^\(7FE0,0010\) Pixel Data is not a byte value: it holds '1.0'$"):
            elements.data(ds, "PixelData")
        assert tuple(elements.sequence(ct, "ReferencedImageSequence")) == () and elements.first(ct, "ReferencedImageSequence") is None
        assert elements.data(ct, "PixelData") == ct.PixelData

    def test_single_string(self, ct: Dataset) -> None:
        """A UID of two values is refused where one is needed; one value is stripped."""
        assert elements.single_string(ct.file_meta, "TransferSyntaxUID") == str(ct.file_meta.TransferSyntaxUID)
        ds = _with(ct, 0x00080016, "UI", b"1.2\\3.4 ")
        with pytest.raises(Malformed, match=r"has 2 values, not 1"):
            elements.single_string(ds, "SOPClassUID")
