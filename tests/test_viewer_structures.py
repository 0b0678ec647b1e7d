"""The viewer's structures panel and contour layer in Chromium, on the Radiomics Digital Phantom's real RTSTRUCT."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
import requests

from conftest import replacing_orthanc
from orthanc_process import OrthancProcess
from test_viewer_client import Page, browser, playwright  # noqa: F401  (fixtures reused)

#: The Radiomics Digital Phantom's patient 1 (PyPI's pycerr 2.5.1, `make testdata`): 60 CT slices 3 mm apart and
#: DCM_RS_00060.dcm, an RT Structure Set with one ROI, GTV-1 in [0, 230, 0], 26 contours placed by position only.
PHANTOM = Path(__file__).resolve().parent.parent / "build" / "testdata" / "radiomics_phantom_dicom" / "pat_1"
RTSTRUCT = PHANTOM / "DCM_RS_00060.dcm"
GTV = {"number": 1, "name": "GTV-1", "color": "#00e600"}
LAYER = ".viewport .structures-layer"
GROUP = f"{LAYER} g[data-roi='1']"


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory: pytest.TempPathFactory, plugin_path: Path) -> Iterator[OrthancProcess]:
    """An Orthanc with the plugin, without warm-up."""
    yield from replacing_orthanc(tmp_path_factory, "structures")


@pytest.fixture(scope="module")
def phantom(orthanc: OrthancProcess) -> dict[str, Any]:
    """The phantom in Orthanc: its CT series in viewing order (with each slice's header) and its RTSTRUCT."""
    paths = sorted(PHANTOM.glob("DCM_IMG_*.dcm"))
    if len(paths) != 60 or not RTSTRUCT.is_file():
        pytest.fail(f"the Radiomics phantom is missing from {PHANTOM}: run `make testdata`")
    headers = {}
    for path in paths:
        uploaded = orthanc.upload(path)
        headers[uploaded["ID"]] = pydicom.dcmread(path, stop_before_pixels=True)
    series = uploaded["ParentSeries"]
    rtstruct = orthanc.upload(RTSTRUCT)["ID"]
    order = [row["id"] for row in requests.get(f"{orthanc.url}/previewer/api/series/{series}", timeout=30).json()["instances"]]
    assert sorted(order) == sorted(headers)
    return {"series": series, "rtstruct": rtstruct, "order": order, "headers": headers, "ds": pydicom.dcmread(RTSTRUCT)}


@pytest.fixture
def page(browser: Any, orthanc: OrthancProcess) -> Iterator[Page]:
    """A fresh viewer page (2D renderer) that must log no console error."""
    wrapped = Page(browser, orthanc, "canvas")
    try:
        yield wrapped
    finally:
        wrapped.close()
    assert wrapped.errors == []


def _contours(ds: pydicom.Dataset) -> dict[float, np.ndarray]:
    """GTV-1's contours by height (mm), each as (points, 3) patient coordinates."""
    return {round(float(c.ContourData[2]), 1): np.array(c.ContourData, float).reshape(-1, 3)
            for c in ds.ROIContourSequence[0].ContourSequence}


def _crossed(phantom: dict[str, Any]) -> tuple[str, np.ndarray]:
    """A slice the GTV crosses, away from the middle of the series (the strip's thumbnail), and its contour."""
    middle = phantom["order"][len(phantom["order"]) // 2]
    for height, points in sorted(_contours(phantom["ds"]).items())[10:]:
        found = [i for i, ds in phantom["headers"].items() if abs(float(ds.ImagePositionPatient[2]) - height) < 0.01]
        if found and found[0] != middle:
            return found[0], points
    raise AssertionError("no slice of the series lies on a GTV contour")


def _project(points: np.ndarray, ds: pydicom.Dataset) -> np.ndarray:
    """(column, row) of patient points: least squares of P = IPP + i Δc row_dir + j Δr col_dir (PS3.3 C.7.6.2.1.1)."""
    orientation = np.array(ds.ImageOrientationPatient, float)
    row_spacing, column_spacing = (float(v) for v in ds.PixelSpacing)
    basis = np.stack([orientation[:3] * column_spacing, orientation[3:] * row_spacing], axis=1)
    return np.linalg.lstsq(basis, (points - np.array(ds.ImagePositionPatient, float)).T, rcond=None)[0].T


def _api(orthanc: OrthancProcess, image: str, rtstruct: str) -> dict[str, Any]:
    answer = requests.get(f"{orthanc.url}/previewer/api/instances/{image}/structures/{rtstruct}",
                          params={"frame": 0}, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def _open_at(page: Page, phantom: dict[str, Any], image: str) -> None:
    """The CT series in the viewer at ``image`` (the hash's 1-based image=), its contours' answer arrived."""
    page.goto(f"#/series/{phantom['series']}?image={phantom['order'].index(image) + 1}")
    _wait_ready(page, image)


def _wait_ready(page: Page, image: str) -> None:
    page.page.wait_for_function(
        "(image) => { const l = document.querySelector('.viewport .structures-layer');"
        " return document.querySelector('.viewport').dataset.instance === image && l.dataset.ready === image + '/0'; }",
        arg=image)


def _polygon(page: Page) -> np.ndarray:
    """The points of the layer's one GTV-1 polygon, in CSS pixels of the canvas."""
    assert page.page.locator(f"{GROUP} polygon").count() == 1
    text = page.page.get_attribute(f"{GROUP} polygon", "points") or ""
    return np.array([[float(v) for v in pair.split(",")] for pair in text.split()])


def _screen(page: Page, answer: dict[str, Any], zoom: float = 1.0) -> np.ndarray:
    """The API's pixel points where a fitted, centred image (times ``zoom`` about the centre) puts them on the canvas."""
    width, height = page.page.evaluate(
        "() => { const c = document.querySelector('.viewport canvas'); return [c.clientWidth, c.clientHeight]; }")
    columns, rows = answer["columns"], answer["rows"]
    scale = min(width / columns, height / rows) * zoom
    points = np.array(answer["rois"][0]["contours"][0]["points"], float)
    return np.stack([width / 2 + (points[:, 0] + 0.5 - columns / 2) * scale,
                     height / 2 + (points[:, 1] + 0.5 - rows / 2) * scale], axis=1)


def _image_requests(page: Page, image: str) -> list[str]:
    return [url for url in page.requests if re.search(f"/instances/{image}/frames/0/(png|pixels)", url)]


def test_api_points_are_the_projected_contour(orthanc: OrthancProcess, phantom: dict[str, Any]) -> None:
    """The contours API's points for a crossed slice are numpy's projection of the RTSTRUCT's ContourData."""
    image, contour = _crossed(phantom)
    answer = _api(orthanc, image, phantom["rtstruct"])
    assert [(r["number"], r["name"], r["color"]) for r in answer["rois"]] == [tuple(GTV.values())]
    [found] = answer["rois"][0]["contours"]
    assert found["kind"] == "CLOSED_PLANAR"
    expected = _project(contour, phantom["headers"][image])
    assert np.abs(np.array(found["points"]) - expected).max() < 1e-3


def test_panel_lists_the_roi_in_its_colour(page: Page, phantom: dict[str, Any]) -> None:
    """The objects panel lists GTV-1 of the structure set, ticked, with a swatch of #00e600."""
    image, _ = _crossed(phantom)
    _open_at(page, phantom, image)
    box = page.page.locator(f"#objects-panel input[data-roi='1'][data-structures='{phantom['rtstruct']}']")
    assert box.count() == 1 and box.is_checked() and box.is_visible()
    label = page.page.locator("#objects-panel label:has(input[data-roi='1'])")
    assert label.inner_text().strip() == GTV["name"]
    colour = label.locator(".swatch").evaluate("s => getComputedStyle(s).backgroundColor")
    assert colour == "rgb(0, 230, 0)"


def test_contour_follows_the_image_and_its_zoom(page: Page, orthanc: OrthancProcess, phantom: dict[str, Any]) -> None:
    """The drawn polygon lies on the API's pixel points (within 1 px) fitted, then zoomed in with +."""
    image, _ = _crossed(phantom)
    answer = _api(orthanc, image, phantom["rtstruct"])
    _open_at(page, phantom, image)
    assert page.page.get_attribute(GROUP, "data-structures") == phantom["rtstruct"]
    assert page.page.get_attribute(GROUP, "stroke") == GTV["color"]
    fitted = _polygon(page)
    assert fitted.shape == _screen(page, answer).shape
    assert np.abs(fitted - _screen(page, answer)).max() < 1
    before = page.page.get_attribute(f"{GROUP} polygon", "points")
    page.page.keyboard.press("+")
    page.page.wait_for_function(
        "(before) => document.querySelector(\"" + GROUP + " polygon\").getAttribute('points') !== before", arg=before)
    zoomed = _polygon(page)
    assert np.abs(zoomed - _screen(page, answer, 1.25)).max() < 1
    assert np.abs(zoomed - fitted).max() > 5   # it did move


def test_toggles_redraw_without_asking_for_the_image(page: Page, phantom: dict[str, Any]) -> None:
    """Unticking hides GTV-1's group, ticking shows it again, Fill fills it: no new render, PNG, pixels or JSON."""
    image, _ = _crossed(phantom)
    _open_at(page, phantom, image)
    page.page.wait_for_selector(GROUP)
    renders, images = page.renders(), _image_requests(page, image)
    asked = [url for url in page.requests if "/structures/" in url]
    assert len(images) >= 1 and len(asked) == 1
    box = page.page.locator("#objects-panel input[data-roi='1']")
    box.uncheck()
    page.page.wait_for_selector(GROUP, state="detached")
    assert page.page.locator(f"{LAYER} g").count() == 0
    box.check()
    page.page.wait_for_selector(GROUP)
    assert page.page.get_attribute(f"{GROUP} polygon", "fill") == "none"
    page.page.locator("#objects-panel input[data-structures-fill]").check()
    page.page.wait_for_function("() => document.querySelector(\"" + GROUP + " polygon\").getAttribute('fill') === '#00e600'")
    assert page.renders() == renders
    assert _image_requests(page, image) == images
    assert [url for url in page.requests if "/structures/" in url] == asked


def test_a_slice_without_contour_shows_no_group(page: Page, phantom: dict[str, Any]) -> None:
    """From a crossed slice, Home goes to the first slice, far from the GTV: its answer comes and no group is drawn."""
    image, _ = _crossed(phantom)
    _open_at(page, phantom, image)
    page.page.wait_for_selector(GROUP)
    first = phantom["order"][0]
    heights = _contours(phantom["ds"])
    assert min(abs(float(phantom["headers"][first].ImagePositionPatient[2]) - z) for z in heights) > 10
    page.page.keyboard.press("Home")
    _wait_ready(page, first)
    assert page.page.locator(f"{LAYER} g").count() == 0
    assert page.page.get_attribute(LAYER, "data-error") is None
