"""RT Structure Sets through a real Orthanc: structures= on the PNG route, the contours API, /info and the objects list."""
from __future__ import annotations

import copy
import io
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from PIL import Image

from conftest import CT_SMALL
from orthanc_process import OrthancProcess

#: The Radiomics Digital Phantom's patient 1 (PyPI's pycerr 2.5.1, `make testdata`): 60 CT slices 3 mm apart
#: and the RT Structure Set that outlines them (GTV-1, green, 26 contours placed by position only).
PHANTOM = Path(__file__).resolve().parent.parent / "build" / "testdata" / "radiomics_phantom_dicom" / "pat_1"


@pytest.fixture(scope="module")
def phantom(orthanc: OrthancProcess) -> dict[str, Any]:
    """The CT slices (Orthanc ID -> dataset header) and the structure set, stored in Orthanc."""
    paths = sorted(PHANTOM.glob("DCM_IMG_*.dcm"))
    if not paths:
        pytest.fail("the phantom is missing: run `make testdata`")
    slices = {orthanc.upload(p)["ID"]: pydicom.dcmread(p, stop_before_pixels=True) for p in paths}
    rtstruct = orthanc.upload(PHANTOM / "DCM_RS_00060.dcm")["ID"]
    return {"slices": slices, "rtstruct": rtstruct, "ds": pydicom.dcmread(PHANTOM / "DCM_RS_00060.dcm")}


def _get(orthanc: OrthancProcess, path: str, **params: Any) -> Any:
    return orthanc.http.get(orthanc.url + path, params=params, timeout=60)


def _png(answer: Any) -> np.ndarray:
    assert answer.status_code == 200, answer.text
    return np.asarray(Image.open(io.BytesIO(answer.content)))


def _contours_by_height(ds: pydicom.Dataset) -> dict[float, np.ndarray]:
    return {round(float(c.ContourData[2]), 1): np.array(c.ContourData, float).reshape(-1, 3)
            for c in ds.ROIContourSequence[0].ContourSequence}


def _slice_at(phantom: dict[str, Any], height: float) -> str:
    return next(i for i, ds in phantom["slices"].items() if abs(float(ds.ImagePositionPatient[2]) - height) < 0.01)


def _project(points: np.ndarray, ds: pydicom.Dataset) -> np.ndarray:
    """(column, row) of patient points by numpy's least squares on the image plane (PS3.3 C.7.6.2.1.1)."""
    orientation = np.array(ds.ImageOrientationPatient, float)
    basis = np.stack([orientation[:3] * float(ds.PixelSpacing[1]), orientation[3:] * float(ds.PixelSpacing[0])], axis=1)
    return np.linalg.lstsq(basis, (points - np.array(ds.ImagePositionPatient, float)).T, rcond=None)[0].T


def test_contours_are_drawn_at_the_projected_points(orthanc: OrthancProcess, phantom: dict[str, Any]) -> None:
    """structures= on a slice the GTV crosses: rgb24, green at each projected point, the rest the plain image."""
    height, points = sorted(_contours_by_height(phantom["ds"]).items())[13]
    image = _slice_at(phantom, height)
    answer = _get(orthanc, f"/previewer/instances/{image}/png", structures=phantom["rtstruct"])
    drawn = _png(answer)
    assert answer.headers["X-Previewer-Structures"] == "1 contour(s) of 1 ROI(s)"
    plain = _png(_get(orthanc, f"/previewer/instances/{image}/png"))
    assert drawn.shape == plain.shape + (3,)
    pixels = np.rint(_project(points, phantom["slices"][image])).astype(int)
    at = drawn[pixels[:, 1], pixels[:, 0]].astype(int)
    assert np.median(at[:, 1] - at[:, 0]) > 100, "green, not grey, under the contour's points"
    changed = np.any(drawn != plain[:, :, None], axis=2)
    grid = np.stack(np.meshgrid(np.arange(plain.shape[1]), np.arange(plain.shape[0])), axis=-1).reshape(-1, 2)
    far = np.min(np.linalg.norm(grid[:, None, :] - pixels[None, ::4, :], axis=2), axis=1).reshape(plain.shape) > 4
    assert not changed[far].any()


def test_a_slice_without_contours_is_the_plain_image(orthanc: OrthancProcess, phantom: dict[str, Any]) -> None:
    """Above the GTV: the plain rendering, with the header saying no contour lies on it."""
    heights = _contours_by_height(phantom["ds"])
    image = next(i for i, ds in phantom["slices"].items()
                 if min(abs(float(ds.ImagePositionPatient[2]) - z) for z in heights) > 10)
    answer = _get(orthanc, f"/previewer/instances/{image}/png", structures=phantom["rtstruct"])
    assert answer.headers["X-Previewer-Structures"].startswith("none")
    assert np.array_equal(_png(answer), _png(_get(orthanc, f"/previewer/instances/{image}/png")))


def test_fill_rois_and_the_contour_api(orthanc: OrthancProcess, phantom: dict[str, Any]) -> None:
    """fill tints the inside; rois=GTV-1 equals rois=1; the API gives the numpy-projected points."""
    height, points = sorted(_contours_by_height(phantom["ds"]).items())[13]
    image = _slice_at(phantom, height)
    base = f"/previewer/instances/{image}/png"
    by_name = _png(_get(orthanc, base, structures=phantom["rtstruct"], rois="GTV-1", fill="0.5"))
    assert np.array_equal(by_name, _png(_get(orthanc, base, structures=phantom["rtstruct"], rois="1", fill="0.5")))
    centre = np.rint(_project(points, phantom["slices"][image]).mean(axis=0)).astype(int)
    plain = _png(_get(orthanc, base))
    r, g, _ = by_name[centre[1], centre[0]].astype(int)
    assert g - r > 60 and abs(r - round(plain[centre[1], centre[0]] * 0.5)) <= 1
    api = _get(orthanc, f"/previewer/api/instances/{image}/structures/{phantom['rtstruct']}").json()
    assert (api["rows"], api["columns"], [r["name"] for r in api["rois"]]) == (201, 204, ["GTV-1"])
    found = np.array(api["rois"][0]["contours"][0]["points"])
    assert np.allclose(found, _project(points, phantom["slices"][image]), atol=1e-3)
    assert api["rois"][0]["color"] == "#00e600"


def test_info_lists_rois_and_their_images(orthanc: OrthancProcess, phantom: dict[str, Any]) -> None:
    """/info of the RTSTRUCT: GTV-1, its colour, and exactly the slices within 1.5 mm of a contour."""
    info = _get(orthanc, f"/previewer/instances/{phantom['rtstruct']}/info").json()
    assert info["kind"] == "rtstruct"
    roi = info["structures"]["rois"][0]
    assert (roi["number"], roi["name"], roi["color"], roi["contours"]) == (1, "GTV-1", "#00e600", 26)
    heights = list(_contours_by_height(phantom["ds"]))
    expected = {i for i, ds in phantom["slices"].items()
                if min(abs(float(ds.ImagePositionPatient[2]) - z) for z in heights) <= 1.5}
    assert len(expected) == 26 and set(roi["instances"]) == expected


def test_objects_list_the_structure_set(orthanc: OrthancProcess, phantom: dict[str, Any]) -> None:
    """The CT series' objects name the structure set and the series it outlines."""
    series = orthanc.http.get(f"{orthanc.url}/instances/{next(iter(phantom['slices']))}/series", timeout=30).json()
    found = _get(orthanc, f"/previewer/api/series/{series['ID']}/objects").json()["structures"]
    assert [s["id"] for s in found] == [phantom["rtstruct"]]
    assert found[0]["series"] == [series["MainDicomTags"]["SeriesInstanceUID"]]


def _store(orthanc: OrthancProcess, ds: pydicom.Dataset) -> str:
    buffer = io.BytesIO()
    ds.SOPInstanceUID = pydicom.uid.generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.save_as(buffer, enforce_file_format=True)
    answer = orthanc.http.post(orthanc.url + "/instances", data=buffer.getvalue(), timeout=30)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["ID"])


def test_errors(orthanc: OrthancProcess, phantom: dict[str, Any]) -> None:
    """Another Frame of Reference 422; a CT as structures 400; an unknown one 404; bad fill and rois 400."""
    image = next(iter(phantom["slices"]))
    other = copy.deepcopy(phantom["ds"])
    other.ReferencedFrameOfReferenceSequence[0].FrameOfReferenceUID = "1.2.826.0.1.3680043.2.1125.1"
    cases = [({"structures": _store(orthanc, other)}, 422, "Frame of Reference"),
             ({"structures": str(orthanc.upload(CT_SMALL)["ID"])}, 400, "not an RT Structure Set"),
             ({"structures": "00000000-00000000-00000000-00000000-00000000"}, 404, "structures"),
             ({"structures": phantom["rtstruct"], "fill": "2"}, 400, "fill"),
             ({"structures": phantom["rtstruct"], "rois": "Bladder"}, 400, "GTV-1"),
             ({"structures": phantom["rtstruct"], "format": "gray16"}, 400, "rgb24"),
             ({"fill": "0.3"}, 400, "need 'structures'")]
    for params, status, words in cases:
        answer = _get(orthanc, f"/previewer/instances/{image}/png", **params)
        assert answer.status_code == status, (params, answer.text)
        assert words in answer.json()["error"], (params, answer.text)


MUTANTS = {
    "NaN points": lambda c: setattr(c, "ContourData", ["NaN"] * len(c.ContourData)),
    "lying point count": lambda c: setattr(c, "NumberOfContourPoints", 10**9),
    "open contour": lambda c: setattr(c, "ContourGeometricType", "OPEN_PLANAR"),
    "one point": lambda c: setattr(c, "ContourData", list(c.ContourData)[:3]),
    "not a multiple of 3": lambda c: setattr(c, "ContourData", list(c.ContourData)[:7]),
    "no data": lambda c: delattr(c, "ContourData"),
}


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_hostile_contours_never_give_a_5xx(orthanc: OrthancProcess, phantom: dict[str, Any], name: str) -> None:
    """Every contour broken the same way (synthesized mutants of the real set): PNG, API and /info stay below 500."""
    ds = copy.deepcopy(phantom["ds"])
    for contour in ds.ROIContourSequence[0].ContourSequence:
        MUTANTS[name](contour)
    mutant = _store(orthanc, ds)
    height = sorted(_contours_by_height(phantom["ds"]))[13]
    image = _slice_at(phantom, height)
    for path, params in ((f"/previewer/instances/{image}/png", {"structures": mutant, "fill": "0.3"}),
                         (f"/previewer/api/instances/{image}/structures/{mutant}", {}),
                         (f"/previewer/instances/{mutant}/info", {}), (f"/previewer/instances/{mutant}/png", {})):
        answer = _get(orthanc, path, **params)
        assert answer.status_code < 500, (path, answer.text)
