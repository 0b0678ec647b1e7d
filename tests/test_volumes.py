"""GET /previewer/api/series/{id}/volume through a real Orthanc: real volumes described as numpy finds them, the rest 422.

Real data: the Radiomics Digital Phantom's patient 1 (PyPI's pycerr, 60 axial CT slices) and
dcm-classifier's series 10 (19 tilted sagittal MR slices), both from ``make testdata``; pydicom's
CT scout (two images of two orientations) and CT_small.dcm (one image).
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pydicom
import pytest
import requests

from conftest import CT_SMALL
from orthanc_process import ROOT, OrthancProcess
from test_viewer_browser import CT_SCOUT

pytestmark = pytest.mark.slow

TESTDATA = ROOT / "build" / "testdata"
PHANTOM = TESTDATA / "radiomics_phantom_dicom" / "pat_1"
SAGITTAL = TESTDATA / "dcm_classifier" / "10"


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory: pytest.TempPathFactory, plugin_path: Path) -> Iterator[OrthancProcess]:
    if not (TESTDATA / "radiomics_phantom_dicom" / ".complete").exists():
        pytest.fail("the test data is missing: run `make testdata`")
    process = OrthancProcess(tmp_path_factory.mktemp("volumes"), probe=False).start()
    yield process
    process.stop()


def _upload(orthanc: OrthancProcess, paths: list[Path]) -> str:
    return str([orthanc.upload(path) for path in paths][-1]["ParentSeries"])


def _volume(orthanc: OrthancProcess, series: str) -> requests.Response:
    return requests.get(f"{orthanc.url}/previewer/api/series/{series}/volume", timeout=60)


def _corners(paths: list[Path]) -> np.ndarray:
    points = []
    for path in paths:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        origin = np.array(ds.ImagePositionPatient, dtype=float)
        row, column = np.array(ds.ImageOrientationPatient[:3], float), np.array(ds.ImageOrientationPatient[3:], float)
        dy, dx = (float(v) for v in ds.PixelSpacing)
        for c in (0, ds.Columns - 1):
            for r in (0, ds.Rows - 1):
                points.append(origin + row * c * dx + column * r * dy)
    return np.array(points)


@pytest.mark.parametrize("folder, slices", [(PHANTOM, 60), (SAGITTAL, 19)])
def test_a_real_series_is_a_volume(orthanc: OrthancProcess, folder: Path, slices: int) -> None:
    """The grid, the spacing and the box of the voxel centres equal numpy's from the files' own attributes."""
    paths = sorted(p for p in folder.glob("*.dcm") if "DCM_RS" not in p.name)
    answer = _volume(orthanc, _upload(orthanc, paths))
    assert answer.status_code == 200, answer.text
    volume = answer.json()
    ds = pydicom.dcmread(paths[0], stop_before_pixels=True)
    assert (volume["columns"], volume["rows"], volume["slices"]) == (ds.Columns, ds.Rows, slices)
    assert (volume["spacing"]["row"], volume["spacing"]["column"]) == pytest.approx([float(v) for v in ds.PixelSpacing])
    orientation = np.array(ds.ImageOrientationPatient, dtype=float)
    assert np.allclose(volume["orientation"]["normal"], np.cross(orientation[:3], orientation[3:]), atol=1e-6)
    corners = _corners(paths)
    assert np.allclose(volume["bounds"]["min"], corners.min(axis=0), atol=1e-4)
    assert np.allclose(volume["bounds"]["max"], corners.max(axis=0), atol=1e-4)
    assert volume["frame_of_reference"] == ds.FrameOfReferenceUID


def test_what_is_not_a_volume_is_a_422_naming_why(orthanc: OrthancProcess) -> None:
    """One image, and a scout of two orientations: 422 with the reason; an unknown series: 404."""
    single = _volume(orthanc, _upload(orthanc, [CT_SMALL]))
    assert single.status_code == 422 and single.json()["reason"] == "one image is not a volume"
    scout = _volume(orthanc, _upload(orthanc, CT_SCOUT))
    assert scout.status_code == 422 and "more than one orientation" in scout.json()["reason"]
    unknown = _volume(orthanc, "-".join(["f" * 8] * 5))
    assert unknown.status_code == 404 and "unknown series" in unknown.json()["error"]
