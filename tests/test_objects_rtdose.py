"""RT Dose summaries (previewer/objects/rtdose.py): the grid and dose range against pydicom and numpy, and broken doses."""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from objects_rt import BAD_VR, RTDOSE, RTDOSE_1FRAME, raw, read, reread
from previewer.objects import rtdose
from previewer.objects.values import Values

#: pydicom's RT Doses: 15 frames (native, RLE Lossless, explicit VR big endian) and one frame.
DOSES = {"rtdose.dcm": RTDOSE, "rtdose_1frame.dcm": RTDOSE_1FRAME,
         "rtdose_rle.dcm": Path(get_testdata_file("rtdose_rle.dcm")),
         "rtdose_expb.dcm": Path(get_testdata_file("rtdose_expb.dcm"))}


@pytest.fixture(scope="module")
def dose() -> Dataset:
    """rtdose.dcm as pydicom reads it."""
    return read(RTDOSE)


class TestSummary:
    def test_units_and_grid_are_the_files(self, dose: Dataset) -> None:
        """rtdose.dcm: units, type, summation, scaling and the grid as pydicom reads them."""
        found, problems = rtdose.summary(dose)
        assert (found["units"], found["type"], found["summation"], found["scaling"]) == (
            dose.DoseUnits, dose.DoseType, dose.DoseSummationType, float(dose.DoseGridScaling))
        assert found["grid"] == {
            "rows": dose.Rows, "columns": dose.Columns, "frames": int(dose.NumberOfFrames),
            "spacing": [float(v) for v in dose.PixelSpacing],
            "offsets": [float(v) for v in dose.GridFrameOffsetVector],
            "origin": [float(v) for v in dose.ImagePositionPatient],
            "orientation": [float(v) for v in dose.ImageOrientationPatient]}
        assert found["grid"]["frames"] == 15 and problems == [] and found["range_error"] is None

    @pytest.mark.parametrize("name", sorted(DOSES))
    def test_range_is_pixel_array_times_scaling(self, name: str) -> None:
        """Each real dose (four encodings): range = pydicom's pixel_array min and max times Dose Grid Scaling."""
        ds = read(DOSES[name])
        expected = np.asarray(ds.pixel_array, np.float64) * float(ds.DoseGridScaling)
        found, problems = rtdose.summary(ds)
        assert found["range"] == pytest.approx([expected.min(), expected.max()], rel=1e-12)
        assert found["range"][0] < found["range"][1] and problems == []

    def test_one_frame_without_number_of_frames(self) -> None:
        """rtdose_1frame.dcm has no Number of Frames: one frame, and its 15 offsets are no problem."""
        ds = read(RTDOSE_1FRAME)
        assert "NumberOfFrames" not in ds
        found, problems = rtdose.summary(ds)
        assert found["grid"]["frames"] == 1 and len(found["grid"]["offsets"]) == 15 and problems == []

    def test_bad_vr_has_no_range(self) -> None:
        """badVR.dcm (Number of Frames "1A"), read as the endpoint reads it: frames and range null, both named."""
        found, problems = rtdose.summary(reread(read(BAD_VR), "badVR"))
        assert found["grid"]["frames"] is None and found["range"] is None
        assert found["range_error"] == "(0028,0008) Number of Frames '1A' is not an integer"
        assert problems == [found["range_error"]]
        assert found["grid"]["rows"] == 10 and found["scaling"] == 1e-6


class TestBroken:
    def test_scaling_abc(self, dose: Dataset) -> None:
        """Dose Grid Scaling "abc" (a mutant of rtdose.dcm): scaling and range null, the range error naming it."""
        ds = copy.deepcopy(dose)
        raw(ds, "DoseGridScaling", b"abc")
        found, problems = rtdose.summary(reread(ds, "scaling abc"))
        assert found["scaling"] is None and found["range"] is None
        assert problems == ["(3004,000E) Dose Grid Scaling 'abc' is not a finite number"]
        assert found["range_error"] == problems[0]

    def test_no_scaling(self, dose: Dataset) -> None:
        """Without Dose Grid Scaling (synthesized): no range, and the range error says it is missing."""
        ds = copy.deepcopy(dose)
        del ds.DoseGridScaling
        found, _ = rtdose.summary(ds)
        assert found["range"] is None and found["range_error"] == "(3004,000E) Dose Grid Scaling is missing"

    def test_no_pixel_data(self, dose: Dataset) -> None:
        """A dose without a grid (synthesized from rtdose.dcm, as a DVH-only dose would be): no range, and why."""
        ds = copy.deepcopy(dose)
        del ds.PixelData
        found, _ = rtdose.summary(ds)
        assert found["range"] is None and "no (7FE0,0010) Pixel Data" in found["range_error"]
        assert found["grid"]["frames"] == 15

    def test_offsets_that_do_not_match_the_frames(self, dose: Dataset) -> None:
        """A Grid Frame Offset Vector of 14 values for 15 frames (synthesized): kept, and the mismatch named."""
        ds = copy.deepcopy(dose)
        ds.GridFrameOffsetVector = list(dose.GridFrameOffsetVector)[:14]
        found, problems = rtdose.summary(ds)
        assert len(found["grid"]["offsets"]) == 14
        assert problems == ["(3004,000C) Grid Frame Offset Vector has 14 values for 15 frames"]

    def test_only_the_first_offsets_are_listed(self, dose: Dataset) -> None:
        """1200 offsets (synthesized): the first MAX_OFFSETS listed."""
        ds = copy.deepcopy(dose)
        ds.GridFrameOffsetVector = [float(i) for i in range(1200)]
        found, _ = rtdose.summary(ds)
        assert found["grid"]["offsets"] == [float(i) for i in range(rtdose.MAX_OFFSETS)]

    def test_nan_origin_and_short_spacing(self, dose: Dataset) -> None:
        """A NaN in Image Position (Patient) and one Pixel Spacing value (mutants): both null and named."""
        ds = copy.deepcopy(dose)
        raw(ds, "ImagePositionPatient", b"1\\NaN\\3")
        raw(ds, "PixelSpacing", b"10")
        found, problems = rtdose.summary(reread(ds, "origin"))
        assert found["grid"]["origin"] is None and found["grid"]["spacing"] is None
        assert sorted(problems) == ["(0020,0032) Image Position (Patient) '1\\\\NaN\\\\3' is not all finite numbers",
                                    "(0028,0030) Pixel Spacing has 1 values, not 2"]
        assert found["range"] is not None

    def test_a_grid_too_large_to_read(self, dose: Dataset) -> None:
        """Rows and Columns of 65535 over 15 frames (synthesized): no decode is tried, the range error says why."""
        ds = copy.deepcopy(dose)
        ds.Rows = ds.Columns = 65535
        found, _ = rtdose.summary(ds)
        assert found["range"] is None and f"more than {rtdose.MAX_SAMPLES}" in found["range_error"]

    def test_a_frame_over_the_megapixel_limit(self, dose: Dataset) -> None:
        """The pipeline's own limit applies: a frame over MaxMegapixels gives its 413 message as the range error."""
        found, _ = rtdose.summary(dose, max_megapixels=0.00001)
        assert found["range"] is None and "exceeds the limit" in found["range_error"]

    def test_truncated_pixel_data(self, dose: Dataset) -> None:
        """Pixel Data cut to half (synthesized): the decoder's message is the range error, never an exception."""
        ds = copy.deepcopy(dose)
        ds.PixelData = dose.PixelData[: len(dose.PixelData) // 2]
        found, _ = rtdose.summary(ds)
        assert found["range"] is None and found["range_error"].startswith("Cannot decode frame")


class TestSteps:
    def test_dose_range_sorts(self) -> None:
        """A negative scaling (an ERROR dose's sign) still gives [min, max]."""
        assert rtdose.dose_range(2.0, 10.0, -0.5) == [-5.0, -1.0]

    def test_stored_range_over_frames(self) -> None:
        """The extremes over every frame, not the first only."""
        frames = [np.array([[3, 4]]), np.array([[1, 9]]), np.array([[5, 5]])]
        assert rtdose.stored_range(lambda i: frames[i], 3) == (1.0, 9.0)

    def test_frame_count_zero(self) -> None:
        """Number of Frames 0: None, named as not a positive integer."""
        ds = pydicom.Dataset()
        ds.NumberOfFrames = 0
        values = Values()
        assert rtdose.frame_count(values, ds) is None and values.problems == [
            "(0028,0008) Number of Frames is 0, not a positive integer"]
