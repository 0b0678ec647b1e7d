"""RT Structure Set contours: matched to their CT slices, projected as numpy projects them, drawn, and hostile ones."""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pydicom
import pytest

from previewer.objects import kind_of, rtstruct
from previewer.pixels.errors import BadParameter, TooLarge
from previewer.pixels.render import Rendered

#: The Radiomics Digital Phantom's patient 1 in PyPI's pycerr 2.5.1 (`make testdata`): 60 real CT slices,
#: 3 mm apart, and its RT Structure Set: one ROI, GTV-1, in 26 contours without Contour Image Sequences.
PHANTOM = Path(__file__).resolve().parent.parent / "build" / "testdata" / "radiomics_phantom_dicom" / "pat_1"
GREEN = (0, 230, 0)


@pytest.fixture(scope="module")
def structure_set() -> pydicom.Dataset:
    path = PHANTOM / "DCM_RS_00060.dcm"
    if not path.exists():
        pytest.fail("the phantom is missing: run `make testdata`")
    return pydicom.dcmread(path)


@pytest.fixture(scope="module")
def slices() -> list[pydicom.Dataset]:
    return [pydicom.dcmread(p, stop_before_pixels=True) for p in sorted(PHANTOM.glob("DCM_IMG_*.dcm"))]


def _plane(ds: pydicom.Dataset) -> rtstruct.Plane:
    return rtstruct.Plane(ds.SOPInstanceUID, ds.FrameOfReferenceUID, tuple(float(v) for v in ds.ImagePositionPatient),
                          tuple(float(v) for v in ds.ImageOrientationPatient),
                          (float(ds.PixelSpacing[0]), float(ds.PixelSpacing[1])), int(ds.Rows), int(ds.Columns),
                          float(ds.SliceThickness) / 2)


def _numpy_pixels(points: np.ndarray, ds: pydicom.Dataset) -> np.ndarray:
    """(column, row) of patient points, solving P = IPP + i Δc r + j Δr c by least squares (PS3.3 C.7.6.2.1.1)."""
    orientation = np.array(ds.ImageOrientationPatient, float)
    basis = np.stack([orientation[:3] * float(ds.PixelSpacing[1]), orientation[3:] * float(ds.PixelSpacing[0])], axis=1)
    solved, *_ = np.linalg.lstsq(basis, (points - np.array(ds.ImagePositionPatient, float)).T, rcond=None)
    return solved.T


def test_parse_names_the_roi_and_its_series(structure_set: pydicom.Dataset, slices: list[pydicom.Dataset]) -> None:
    """The phantom's set: one ROI GTV-1 in green, 26 contours, outlining the CT's series and Frame of Reference."""
    assert kind_of(structure_set) == "rtstruct"
    parsed = rtstruct.parse(structure_set)
    assert [(r.number, r.name, r.color, len(r.contours)) for r in parsed.rois] == [(1, "GTV-1", GREEN, 26)]
    assert parsed.series == (slices[0].SeriesInstanceUID,)
    assert parsed.frame_of_reference == slices[0].FrameOfReferenceUID
    assert parsed.skipped == 0


def test_contours_lie_on_the_slices_at_their_height(structure_set: pydicom.Dataset,
                                                    slices: list[pydicom.Dataset]) -> None:
    """By position: each slice gets exactly the contours whose z is within half its 3 mm spacing."""
    parsed = rtstruct.parse(structure_set)
    heights = [float(c.ContourData[2]) for c in structure_set.ROIContourSequence[0].ContourSequence]
    total = 0
    for ds in slices:
        found = rtstruct.on_image(parsed.rois, _plane(ds), parsed.frame_of_reference)
        expected = sum(abs(z - float(ds.ImagePositionPatient[2])) <= 1.5 for z in heights)
        assert sum(len(contours) for _, contours in found) == expected
        total += expected
    assert total == 26


def test_projection_equals_numpys(structure_set: pydicom.Dataset, slices: list[pydicom.Dataset]) -> None:
    """Every contour's pixel coordinates equal an independent least-squares solve of the image plane."""
    parsed = rtstruct.parse(structure_set)
    checked = 0
    for ds in slices:
        for _, contours in rtstruct.on_image(parsed.rois, _plane(ds), parsed.frame_of_reference):
            for _, pixels in contours:
                points = next(c.points for c in parsed.rois[0].contours
                              if abs(c.points[0, 2] - float(ds.ImagePositionPatient[2])) <= 1.5)
                assert np.allclose(pixels, _numpy_pixels(points, ds), atol=1e-9)
                checked += 1
    assert checked == 26


def _black(ds: pydicom.Dataset) -> Rendered:
    return Rendered(np.zeros((int(ds.Rows), int(ds.Columns)), np.uint8), "gray8", None)


def _slice_with_contour(structure_set: pydicom.Dataset, slices: list[pydicom.Dataset]) -> tuple[pydicom.Dataset, np.ndarray]:
    points = np.array(structure_set.ROIContourSequence[0].ContourSequence[13].ContourData, float).reshape(-1, 3)
    ds = next(s for s in slices if abs(float(s.ImagePositionPatient[2]) - points[0, 2]) < 0.01)
    return ds, points


def test_outline_pixels_are_the_projected_points(structure_set: pydicom.Dataset, slices: list[pydicom.Dataset]) -> None:
    """Drawn over black: the pixel under each projected point is mostly green, and far from the outline nothing is."""
    ds, points = _slice_with_contour(structure_set, slices)
    parsed = rtstruct.parse(structure_set)
    drawn = rtstruct.draw(_black(ds), rtstruct.on_image(parsed.rois, _plane(ds), parsed.frame_of_reference),
                          int(ds.Rows), int(ds.Columns), 0.0)
    assert drawn.format == "rgb24"
    pixels = _numpy_pixels(points, ds)
    columns, rows = np.rint(pixels[:, 0]).astype(int), np.rint(pixels[:, 1]).astype(int)
    green = drawn.array[rows, columns, 1].astype(int)
    assert np.median(green) > 0.5 * 230 and green.min() > 0.25 * 230
    assert (drawn.array[..., 0] == 0).all() and (drawn.array[..., 2] == 0).all()
    grid = np.stack(np.meshgrid(np.arange(ds.Columns), np.arange(ds.Rows)), axis=-1).reshape(-1, 2)
    distance = np.min(np.linalg.norm(grid[:, None, :] - pixels[None, ::4, :], axis=2), axis=1).reshape(ds.Rows, ds.Columns)
    assert (drawn.array[distance > 4, 1] == 0).all()


def test_fill_tints_the_inside(structure_set: pydicom.Dataset, slices: list[pydicom.Dataset]) -> None:
    """fill=0.4: a pixel well inside the closed contour is 40 % of the ROI colour; outside stays black."""
    ds, points = _slice_with_contour(structure_set, slices)
    parsed = rtstruct.parse(structure_set)
    found = rtstruct.on_image(parsed.rois, _plane(ds), parsed.frame_of_reference)
    drawn = rtstruct.draw(_black(ds), found, int(ds.Rows), int(ds.Columns), 0.4).array
    column, row = np.rint(_numpy_pixels(points, ds).mean(axis=0)).astype(int)
    assert abs(int(drawn[row, column, 1]) - round(0.4 * 230)) <= 1
    assert drawn[0, 0, 1] == 0


def test_rois_pick_by_number_or_name(structure_set: pydicom.Dataset) -> None:
    """rois=1 and rois=gtv-1 pick the ROI; an unknown one is a 400 listing the ROIs."""
    parsed = rtstruct.parse(structure_set)
    assert rtstruct.select(parsed, "1") == rtstruct.select(parsed, "gtv-1") == parsed.rois
    with pytest.raises(BadParameter, match="1 GTV-1"):
        rtstruct.select(parsed, "Bladder")


def _mutant(structure_set: pydicom.Dataset) -> pydicom.Dataset:
    """A copy to break (synthesized hostile mutants of the real set: no real file is broken this way)."""
    return copy.deepcopy(structure_set)


def test_nan_points_skip_their_contour(structure_set: pydicom.Dataset) -> None:
    """A contour with a NaN coordinate is left out and counted; the others remain."""
    ds = _mutant(structure_set)
    contour = ds.ROIContourSequence[0].ContourSequence[5]
    contour.ContourData = ["nan"] + list(contour.ContourData)[1:]
    parsed = rtstruct.parse(ds)
    assert (parsed.skipped, len(parsed.rois[0].contours)) == (1, 25)


def test_a_huge_point_count_is_too_large(structure_set: pydicom.Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    """More points than the cap is a 413 (the cap lowered to 5000 here, below the set's 26 contours' points)."""
    monkeypatch.setattr(rtstruct, "MAX_POINTS", 5000)
    with pytest.raises(TooLarge):
        rtstruct.parse(structure_set)
    ds = _mutant(structure_set)
    ds.ROIContourSequence[0].ContourSequence[0].NumberOfContourPoints = 10**9   # a lying count: the data rules
    monkeypatch.setattr(rtstruct, "MAX_POINTS", 5_000_000)
    assert len(rtstruct.parse(ds).rois[0].contours[0].points) == 141


def test_open_contours_are_not_closed(structure_set: pydicom.Dataset, slices: list[pydicom.Dataset]) -> None:
    """OPEN_PLANAR: half a contour is drawn without the segment from its last point back to its first."""
    ds_image, points = _slice_with_contour(structure_set, slices)
    ds = _mutant(structure_set)
    contour = ds.ROIContourSequence[0].ContourSequence[13]
    half = points[: len(points) // 2]
    contour.ContourData, contour.NumberOfContourPoints = half.reshape(-1).tolist(), len(half)
    contour.ContourGeometricType = "OPEN_PLANAR"
    parsed = rtstruct.parse(ds)
    found = rtstruct.on_image(parsed.rois, _plane(ds_image), parsed.frame_of_reference)
    drawn = rtstruct.draw(_black(ds_image), found, int(ds_image.Rows), int(ds_image.Columns), 0.5).array
    ends = _numpy_pixels(half[[0, -1]], ds_image)
    column, row = np.rint(ends.mean(axis=0)).astype(int)
    assert np.linalg.norm(ends[0] - ends[1]) > 10
    assert drawn[row, column, 1] == 0, "no closing segment, and no fill"


def test_another_frame_of_reference_is_422(structure_set: pydicom.Dataset, slices: list[pydicom.Dataset]) -> None:
    """A structure set of another Frame of Reference is refused with both UIDs."""
    ds = _mutant(structure_set)
    ds.ReferencedFrameOfReferenceSequence[0].FrameOfReferenceUID = "1.2.3.4"
    parsed = rtstruct.parse(ds)
    with pytest.raises(rtstruct.WrongFrameOfReference, match="1.2.3.4") as error:
        rtstruct.on_image(parsed.rois, _plane(slices[0]), parsed.frame_of_reference)
    assert error.value.status == 422


def test_a_contour_image_reference_wins_over_position(structure_set: pydicom.Dataset,
                                                      slices: list[pydicom.Dataset]) -> None:
    """With a Contour Image Sequence (added here: the phantom's set has none), a contour lies on the image it
    references and on no other, even a slice at its height."""
    ds = _mutant(structure_set)
    contour = ds.ROIContourSequence[0].ContourSequence[13]
    height = float(contour.ContourData[2])
    at_height = next(s for s in slices if abs(float(s.ImagePositionPatient[2]) - height) < 0.01)
    elsewhere = next(s for s in slices if abs(float(s.ImagePositionPatient[2]) - height) > 20)
    reference = pydicom.Dataset()
    reference.ReferencedSOPClassUID = elsewhere.SOPClassUID
    reference.ReferencedSOPInstanceUID = elsewhere.SOPInstanceUID
    contour.ContourImageSequence = [reference]
    parsed = rtstruct.parse(ds)

    def count(image: pydicom.Dataset) -> int:
        return sum(len(c) for _, c in rtstruct.on_image(parsed.rois, _plane(image), parsed.frame_of_reference))
    assert count(elsewhere) == 1
    assert count(at_height) == 0
