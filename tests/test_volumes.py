"""Volumes through a real Orthanc: /api/series/{id}/volume as numpy finds it, and MPR planes against a numpy reference.

Real data: the Radiomics Digital Phantom's patient 1 (PyPI's pycerr, 60 axial CT slices) and
dcm-classifier's series 10 (19 tilted sagittal MR slices), both from ``make testdata``; pydicom's
CT scout (two images of two orientations) and CT_small.dcm (one image).
"""
from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pydicom
import pytest
import requests
from PIL import Image
from pydicom.pixels import apply_modality_lut

from conftest import CT_SMALL
from previewer.pixels import mpr
from previewer.pixels.volume import Slice, volume_of
from test_pixels_mpr import _expected
from test_pixels_volume import _ordered
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
    # The slices in order along the normal: each names its instance (by its SOP Instance UID) and its position.
    normal = np.array(volume["orientation"]["normal"])
    by_uid = {str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID): p for p in paths}
    along = []
    for image in volume["images"]:
        uid = orthanc.get(f"/instances/{image['instance']}/simplified-tags").json()["SOPInstanceUID"]
        own = pydicom.dcmread(by_uid[uid], stop_before_pixels=True)
        assert image["frame"] == 0 and np.allclose(image["position"], [float(v) for v in own.ImagePositionPatient])
        along.append(float(np.dot(image["position"], normal)))
    assert len(along) == slices and np.all(np.diff(along) > 0)


def test_what_is_not_a_volume_is_a_422_naming_why(orthanc: OrthancProcess) -> None:
    """One image, and a scout of two orientations: 422 with the reason; an unknown series: 404."""
    single = _volume(orthanc, _upload(orthanc, [CT_SMALL]))
    assert single.status_code == 422 and single.json()["reason"] == "one image is not a volume"
    scout = _volume(orthanc, _upload(orthanc, CT_SCOUT))
    assert scout.status_code == 422 and "more than one orientation" in scout.json()["reason"]
    unknown = _volume(orthanc, "-".join(["f" * 8] * 5))
    assert unknown.status_code == 404 and "unknown series" in unknown.json()["error"]


# --- planes through the volume: /previewer/series/{id}/mpr/{plane}/png --------------------------------


@pytest.fixture(scope="module")
def phantom(orthanc: OrthancProcess) -> tuple[str, object, np.ndarray]:
    """The phantom uploaded (its series id), its volume and its modality values, read here with pydicom."""
    paths = sorted(PHANTOM.glob("DCM_IMG_*.dcm"))
    slices, frames = [], []
    for path in paths:
        ds = pydicom.dcmread(path)
        slices.append(Slice(key=path.name, position=tuple(float(v) for v in ds.ImagePositionPatient),
                            orientation=tuple(float(v) for v in ds.ImageOrientationPatient),
                            spacing=(float(ds.PixelSpacing[0]), float(ds.PixelSpacing[1])), rows=int(ds.Rows),
                            columns=int(ds.Columns), frame_of_reference=str(ds.FrameOfReferenceUID)))
        frames.append(np.asarray(apply_modality_lut(ds.pixel_array, ds), dtype=np.float64))
    volume = volume_of(slices)
    return _upload(orthanc, paths), volume, np.array(_ordered(volume, slices, frames))


def _window(values: np.ndarray, center: float, width: float) -> np.ndarray:
    """PS3.3 C.11.2.1.2.1, LINEAR, to 0..255."""
    out = ((values - (center - 0.5)) / (width - 1) + 0.5) * 255
    return np.clip(out, 0, 255)


def _png(orthanc: OrthancProcess, series: str, plane: str, query: str, **headers: str) -> requests.Response:
    return requests.get(f"{orthanc.url}/previewer/series/{series}/mpr/{plane}/png?{query}", headers=headers, timeout=60)


@pytest.mark.parametrize("plane, query, make", [
    ("coronal", "", lambda v: mpr.plane_of(v, "coronal")),
    ("sagittal", "index=90", lambda v: mpr.plane_of(v, "sagittal", index=90)),
    ("axial", "position=-3.5", lambda v: mpr.plane_of(v, "axial", position=-3.5)),
    ("oblique", "normal=0,0.5,0.866&up=0,-1,0", lambda v: mpr.plane_of(v, "oblique", normal=(0, 0.5, 0.866), up=(0, -1, 0))),
])
def test_planes_equal_the_numpy_reference(orthanc: OrthancProcess, phantom, plane: str, query: str, make) -> None:  # type: ignore[no-untyped-def]
    """gray8 at window 40/400: mean |difference| <= 1 and 99th percentile <= 4 grey levels inside the volume."""
    series, volume, values = phantom
    answer = _png(orthanc, series, plane, "&".join(filter(None, ["window=40,400", query])))
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == "image/png"
    got = np.asarray(Image.open(io.BytesIO(answer.content)), dtype=np.float64)
    grid = make(volume)
    expected_values = _expected(volume, values, grid.points())
    assert got.shape == expected_values.shape
    inside = expected_values != values.min()
    difference = np.abs(got - _window(expected_values, 40, 400))[inside]
    assert inside.sum() > 5000
    assert difference.mean() <= 1 and np.percentile(difference, 99) <= 4


def test_a_mip_slab_is_the_maximum(orthanc: OrthancProcess, phantom) -> None:  # type: ignore[no-untyped-def]
    """slab=20&projection=mip: the windowed maximum over the slab's planes."""
    series, volume, values = phantom
    answer = _png(orthanc, series, "coronal", "window=40,400&slab=20&projection=mip")
    assert answer.status_code == 200, answer.text
    got = np.asarray(Image.open(io.BytesIO(answer.content)), dtype=np.float64)
    plane = mpr.plane_of(volume, "coronal")
    steps = int(np.floor(20 / plane.spacing + 1e-9)) + 1
    expected = np.max([_expected(volume, values, plane.points(float(o))) for o in np.linspace(-10, 10, steps)], axis=0)
    difference = np.abs(got - _window(expected, 40, 400))
    assert difference.mean() <= 1 and np.percentile(difference, 99) <= 4


def test_etag_jpeg_and_errors(orthanc: OrthancProcess, phantom) -> None:  # type: ignore[no-untyped-def]
    """The ETag gives a 304; Accept: image/jpeg a JPEG; bad parameters 400; a non-volume 422."""
    series, _, _ = phantom
    first = _png(orthanc, series, "axial", "")
    again = _png(orthanc, series, "axial", "", **{"If-None-Match": first.headers["ETag"]})
    assert (again.status_code, again.content) == (304, b"")
    jpeg = _png(orthanc, series, "axial", "", Accept="image/jpeg")
    assert jpeg.status_code == 200 and jpeg.headers["Content-Type"] == "image/jpeg"
    for plane, query, words in (("diagonal", "", "plane must be"), ("oblique", "up=0,0,1", "'normal' is required"),
                                ("axial", "index=x", "'index'"), ("axial", "slab=-2", "non-negative"),
                                ("axial", "projection=max&slab=3", "projection"), ("axial", "page=2", "unknown query")):
        bad = _png(orthanc, series, plane, query)
        assert bad.status_code == 400 and words in bad.json()["error"], (plane, query, bad.text)
    single = _png(orthanc, _upload(orthanc, [CT_SMALL]), "axial", "")
    assert single.status_code == 422 and "not a volume" in single.json()["error"]


def test_an_enhanced_multiframe_volume(orthanc: OrthancProcess) -> None:
    """pydicom-data's eCT_Supplemental.dcm (an enhanced CT, 2 frames of 512x512, 10 mm apart by their per-frame
    Plane Position): a volume, and its coronal plane equals the reference from the frames read here."""
    import data_store
    path = Path(data_store.__file__).resolve().parent / "data" / "eCT_Supplemental.dcm"
    series = _upload(orthanc, [path])
    described = _volume(orthanc, series).json()
    assert (described["slices"], described["spacing"]["slice_min"]) == (2, pytest.approx(10.0))
    ds = pydicom.dcmread(path)
    shared = ds.SharedFunctionalGroupsSequence[0]
    transform = shared.PixelValueTransformationSequence[0]
    values = ds.pixel_array * float(transform.RescaleSlope) + float(transform.RescaleIntercept)
    orientation = tuple(float(v) for v in shared.PlaneOrientationSequence[0].ImageOrientationPatient)
    spacing = tuple(float(v) for v in shared.PixelMeasuresSequence[0].PixelSpacing)
    slices = [Slice(key=i, position=tuple(float(v) for v in item.PlanePositionSequence[0].ImagePositionPatient),
                    orientation=orientation, spacing=spacing, rows=ds.Rows, columns=ds.Columns,  # type: ignore[arg-type]
                    frame_of_reference=str(ds.FrameOfReferenceUID)) for i, item in enumerate(ds.PerFrameFunctionalGroupsSequence)]
    volume = volume_of(slices)
    ordered = np.array([values[one.key] for one in volume.slices], dtype=np.float64)
    answer = _png(orthanc, series, "coronal", "window=40,400")
    assert answer.status_code == 200, answer.text
    got = np.asarray(Image.open(io.BytesIO(answer.content)), dtype=np.float64)
    expected = _expected(volume, ordered, mpr.plane_of(volume, "coronal").points())
    inside = expected != ordered.min()
    difference = np.abs(got - _window(expected, 40, 400))[inside]
    assert inside.sum() > 1000 and difference.mean() <= 1 and np.percentile(difference, 99) <= 4


@pytest.mark.parametrize("plane, query", [
    ("axial", "position=nan"), ("axial", "position=1e400"), ("axial", "index=99999999999"), ("coronal", "slab=inf"),
    ("oblique", "normal=nan,0,0&up=0,0,1"), ("oblique", "normal=0,0,1&up=1,2"), ("oblique", "normal=0,0,1&up=0,0,-3"),
    ("sagittal", "projection=%3Cscript%3E&slab=2"), ("axial", "window=abc"), ("axial", "slab=1e9"),
    ("axial", "format=rgba32&padding=transparent"), ("oblique", "normal=1e308,1e308,1e308&up=0,0,1"),
])
def test_hostile_parameters_never_give_a_5xx(orthanc: OrthancProcess, phantom, plane: str, query: str) -> None:  # type: ignore[no-untyped-def]
    """Each hostile query is answered 4xx with a JSON error, or 200 with an image; never a 5xx."""
    series, _, _ = phantom
    answer = _png(orthanc, series, plane, query)
    assert answer.status_code < 500, (query, answer.text)
    if answer.status_code >= 400:
        assert answer.json()["error"]


def test_a_new_or_deleted_slice_changes_the_volume_and_the_etag(orthanc: OrthancProcess) -> None:
    """The phantom's patient 3 uploaded without its last slice, then with it, then without its first: the volume
    follows each change (it is cached by the instances and their versions) and so does the MPR ETag."""
    paths = sorted((TESTDATA / "radiomics_phantom_dicom" / "pat_3").glob("DCM_IMG_*.dcm"))
    series = _upload(orthanc, paths[:-1])
    assert _volume(orthanc, series).json()["slices"] == len(paths) - 1
    before = _png(orthanc, series, "coronal", "").headers["ETag"]
    last = orthanc.upload(paths[-1])
    assert _volume(orthanc, series).json()["slices"] == len(paths)
    added = _png(orthanc, series, "coronal", "")
    assert added.headers["ETag"] != before
    first = requests.get(f"{orthanc.url}/series/{series}/instances", timeout=30).json()
    removed = next(i["ID"] for i in first if i["ID"] != last["ID"])
    assert requests.delete(f"{orthanc.url}/instances/{removed}", timeout=30).status_code == 200
    assert _volume(orthanc, series).json()["slices"] == len(paths) - 1
    assert _png(orthanc, series, "coronal", "").headers["ETag"] not in (before, added.headers["ETag"])
