"""Reading values that may break their VR (previewer/objects/values.py), on rtdose.dcm and its mutants."""
from __future__ import annotations

import copy

import pytest
from pydicom.dataset import Dataset

from objects_rt import RTDOSE, raw, read, reread
from previewer.objects.values import Values, finite_of, integer_of, label, tag_text


@pytest.fixture(scope="module")
def dose() -> Dataset:
    """rtdose.dcm as pydicom reads it."""
    return read(RTDOSE)


class TestLabels:
    def test_tag_and_name(self) -> None:
        """A keyword as its tag and dictionary name; a tag as DICOM writes it."""
        assert label("DoseGridScaling") == "(3004,000E) Dose Grid Scaling"
        assert tag_text(0x7FE00010) == "(7FE0,0010)" and label("NotAKeyword") == "NotAKeyword"


class TestNumbers:
    @pytest.mark.parametrize(("value", "expected"), [("12", 12), (" 7 ", 7), (3.0, 3), ("1A", None), ("2.5", None),
                                                      (2.5, None), (float("inf"), None), (True, None)])
    def test_integer_of(self, value: object, expected: int | None) -> None:
        """Integers from text or numbers; fractions, text, infinities and booleans are not."""
        assert integer_of(value) == expected

    @pytest.mark.parametrize(("value", "expected"), [("1e-6", 1e-6), (" -3.5", -3.5), (4, 4.0), ("NaN", None),
                                                      ("inf", None), ("abc", None), ("", None)])
    def test_finite_of(self, value: object, expected: float | None) -> None:
        """Finite numbers only."""
        assert finite_of(value) == expected

    def test_the_files_values(self, dose: Dataset) -> None:
        """rtdose.dcm's scaling, rows and plane read as pydicom reads them, without problems."""
        values = Values()
        assert values.number(dose, "DoseGridScaling") == float(dose.DoseGridScaling)
        assert values.integer(dose, "Rows") == dose.Rows
        assert values.numbers(dose, "ImageOrientationPatient", 6) == [float(v) for v in dose.ImageOrientationPatient]
        assert values.problems == [] and values.number(dose, "PatientWeight") is None

    def test_malformed_values_are_named(self, dose: Dataset) -> None:
        """Mutants of rtdose.dcm: each malformed value None, with its tag, name and value in the problem."""
        ds = copy.deepcopy(dose)
        raw(ds, "DoseGridScaling", b"abc")
        raw(ds, "Rows", b"")
        ds.NumberOfFrames = None
        raw(ds, "SeriesNumber", b"1\\2")
        read_back = reread(ds, "values")
        values = Values()
        assert values.number(read_back, "DoseGridScaling", "here: ") is None
        assert values.integer(read_back, "SeriesNumber") is None
        assert values.integer(read_back, "NumberOfFrames") is None
        assert values.problems == ["here: (3004,000E) Dose Grid Scaling 'abc' is not a finite number",
                                   "(0020,0011) Series Number '1\\\\2' is not an integer"]


class TestSequences:
    def test_required_and_wrong(self, dose: Dataset) -> None:
        """A required sequence that is absent and an element of another VR at a sequence's tag are both named."""
        ds = copy.deepcopy(dose)
        ds.add_new(0x300A00B0, "LO", "text")
        values = Values()
        assert values.sequence(ds, "ReferencedRTPlanSequence") == list(dose.ReferencedRTPlanSequence)
        assert values.sequence(ds, "FractionGroupSequence") == []
        assert values.sequence(ds, "StructureSetROISequence", required=True) == []
        assert values.sequence(ds, "BeamSequence") == []
        assert values.problems == ["(3006,0020) Structure Set ROI Sequence is missing",
                                   "(300A,00B0) Beam Sequence is not a sequence: it holds 'text'"]
