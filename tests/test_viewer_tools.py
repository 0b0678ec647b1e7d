"""The viewer's measurement tools in Chromium against a real Orthanc: probe, length, ellipse and rectangle ROIs, angles, arrows and touch,
their numbers checked against pydicom and numpy on the same files.

The mouse is driven at screen positions computed from the viewport's
mapping at 1:1 zoom (key O, device pixel ratio 1): the image's top-left
corner is at the canvas centre minus half the image, and one image pixel is
one CSS pixel.  The tools report what they measured in a data-result
attribute (the endpoints they took, in image coordinates, and their
numbers); the tests check the endpoints against the intended ones (within
half a pixel: Chromium may round pointer coordinates) and the numbers
against pydicom/numpy computed from those same endpoints.
"""
from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.pixels import apply_modality_lut
from pydicom.uid import generate_uid

from conftest import CT_SMALL, MR_SMALL, RGB_FILE
from orthanc_process import ROOT, OrthancProcess
from conftest import chromium, sync_playwright
from test_viewer_browser import CHROMIUM_ARGS
from test_viewer_client import Page

NO_SPACING = Path(get_testdata_file("emri_small.dcm"))        # MR, 10 frames, no spacing, no Rescale Type
RESCALE_TYPE = ROOT.parent / "shared" / "dicom" / "extra" / "JPEGLossless_1s_1f_u_16_12.dcm"   # MR, Rescale Type US


def imager_spacing_file(folder: Path) -> Path:
    """MR_small.dcm with its Pixel Spacing moved to Imager Pixel Spacing (pydicom's data has no such file)."""
    ds = pydicom.dcmread(MR_SMALL)
    ds.ImagerPixelSpacing = [0.3125, 0.625]   # unequal, so rows and columns cannot be swapped unnoticed
    del ds.PixelSpacing
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    path = folder / "mr_imager_spacing.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


HOSTILE_UNITS = '<img src=x onerror="document.title=1">'


def hostile_units_file(folder: Path) -> Path:
    """CT_small.dcm whose Rescale Type is markup: it must reach the page as text."""
    ds = pydicom.dcmread(CT_SMALL)
    ds.RescaleType = HOSTILE_UNITS
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    path = folder / "ct_hostile_units.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory: pytest.TempPathFactory, plugin_path: Path) -> Iterator[OrthancProcess]:
    process = OrthancProcess(tmp_path_factory.mktemp("tools"), probe=False, previewer={"WarmOnIngest": False})
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def files(orthanc: OrthancProcess, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    """name -> (file, series id) of the uploaded files."""
    folder = tmp_path_factory.mktemp("derived")
    paths = {"ct": CT_SMALL, "imager": imager_spacing_file(folder), "hostile": hostile_units_file(folder),
             "none": NO_SPACING, "rescale_type": RESCALE_TYPE, "rgb": Path(RGB_FILE)}
    return {name: (path, orthanc.upload(path)["ParentSeries"]) for name, path in paths.items()}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as running:
        launched = running.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, orthanc: OrthancProcess) -> Iterator[Page]:
    wrapped = Page(browser, orthanc, None)
    try:
        yield wrapped
    finally:
        wrapped.close()
    assert wrapped.errors == []


def open_one_to_one(page: Page, series: str) -> tuple[float, float]:
    """Open a series at 1:1 zoom; the page position of the image's top-left corner."""
    page.open_series(series)
    page.page.keyboard.press("o")
    page.page.wait_for_function("() => document.querySelector('.viewport .overlay-zoom').textContent === 'Zoom 100%'")
    left, top, width, height = page.page.evaluate("""() => {
      const c = document.querySelector('.viewport canvas'); const r = c.getBoundingClientRect();
      return [r.left, r.top, c.clientWidth, c.clientHeight]; }""")
    ds = pydicom.dcmread(_file_of(page), stop_before_pixels=True)
    return left + width / 2 - ds.Columns / 2, top + height / 2 - ds.Rows / 2


def _file_of(page: Page) -> Path:
    return page.file  # type: ignore[attr-defined,no-any-return]


def drag(page: Page, origin: tuple[float, float], p: tuple[float, float], q: tuple[float, float]) -> None:
    mouse = page.page.mouse
    mouse.move(origin[0] + p[0], origin[1] + p[1])
    mouse.down()
    mouse.move(origin[0] + q[0], origin[1] + q[1], steps=6)
    mouse.up()


def results(page: Page, kind: str) -> list[dict[str, Any]]:
    found = page.page.eval_on_selector_all(f".measure-layer g[data-kind={kind}]",
                                           "(nodes) => nodes.map((n) => [n.dataset.result, n.textContent])")
    return [{**json.loads(result), "text": text} for result, text in found]


def spacing_of(ds: pydicom.Dataset) -> tuple[list[float] | None, str]:
    """(row, column) spacing in mm as the tools should take it, and the length unit."""
    if "PixelSpacing" in ds:
        return [float(v) for v in ds.PixelSpacing], "mm"
    if "ImagerPixelSpacing" in ds:
        return [float(v) for v in ds.ImagerPixelSpacing], "mm (detector)"
    return None, "px"


def modality_values(ds: pydicom.Dataset) -> np.ndarray:
    """Frame 0's modality values, by pydicom."""
    array = ds.pixel_array
    if int(ds.get("NumberOfFrames", 1) or 1) > 1:
        array = array[0]
    return np.asarray(apply_modality_lut(array, ds), dtype=np.float64)


def shown(value: float) -> str:
    """A value as the tools show it (tools.js formatValue): integers whole, else 4 significant digits."""
    value = float(value)
    if value.is_integer():
        return str(int(value))
    return f"{value:.1f}" if abs(value) >= 1000 else repr(float(f"{value:.4g}"))


def opened(page: Page, files: dict[str, tuple[Path, str]], name: str) -> tuple[pydicom.Dataset, tuple[float, float]]:
    path, series = files[name]
    page.file = path   # type: ignore[attr-defined]
    origin = open_one_to_one(page, series)
    return pydicom.dcmread(path), origin


def wait_for_spacing(page: Page, kind: str) -> None:
    page.page.wait_for_function("""(kind) => { const g = document.querySelector(`.measure-layer g[data-kind=${kind}]`);
        return g && JSON.parse(g.dataset.result).spacingKnown; }""", arg=kind)


# --- probe ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, unit", [("ct", "HU"), ("rescale_type", "US"), ("none", "")])
def test_probe_value_and_unit_equal_pydicom(page: Page, files: dict[str, tuple[Path, str]], name: str,
                                            unit: str) -> None:
    """The probe shows apply_modality_lut's value at the pixel under the pointer, its column/row and its unit."""
    ds, origin = opened(page, files, name)
    page.page.keyboard.press("v")
    assert page.attr("tool") == "probe"
    expected = modality_values(ds)
    cx, cy = ds.Columns // 2, ds.Rows // 2
    points = [(cx + dx, cy + dy) for dx, dy in ((-30, -20), (0, 0), (25, 17), (-7, 29))]
    if ds.Columns <= 400 and ds.Rows <= 400:   # the whole image is on the canvas at 1:1: its corners too
        points += [(0, 0), (ds.Columns - 1, ds.Rows - 1)]
    for col, row in points:
        page.page.mouse.move(origin[0] + col + 0.5, origin[1] + row + 0.5)
        page.page.wait_for_function("""([c, r]) => { const p = document.querySelector('.measure-layer').dataset.probe;
            return p && JSON.parse(p).column === c && JSON.parse(p).row === r; }""", arg=[col, row])
        probe = json.loads(page.page.get_attribute(".measure-layer", "data-probe") or "{}")
        assert probe["value"] == expected[row, col]
        assert probe["units"] == unit
        suffix = f" {unit}" if unit else ""
        assert page.text(".measure-layer .probe") == f"({col}, {row})  {shown(expected[row, col])}{suffix}"


def test_probe_on_a_colour_image_has_no_values(page: Page, files: dict[str, tuple[Path, str]]) -> None:
    """An RGB image (server PNG path): the probe gives the column/row and says that it has no values."""
    _, origin = opened(page, files, "rgb")
    page.page.keyboard.press("v")
    page.page.mouse.move(origin[0] + 10.5, origin[1] + 7.5)
    page.page.wait_for_selector(".measure-layer .probe")
    probe = json.loads(page.page.get_attribute(".measure-layer", "data-probe") or "{}")
    assert (probe["column"], probe["row"], probe["value"]) == (10, 7, None)
    assert page.text(".measure-layer .probe") == "(10, 7)  no values (server PNG)"


def test_units_are_text_not_markup(page: Page, files: dict[str, tuple[Path, str]]) -> None:
    """A Rescale Type holding markup is shown as text by the probe and the ROI: no element is made of it."""
    ds, origin = opened(page, files, "hostile")
    page.page.keyboard.press("v")
    page.page.mouse.move(origin[0] + 40.5, origin[1] + 30.5)
    page.page.wait_for_selector(".measure-layer .probe")
    value = shown(modality_values(ds)[30, 40])
    assert page.text(".measure-layer .probe") == f"(40, 30)  {value} {HOSTILE_UNITS}"
    page.page.keyboard.press("e")
    drag(page, origin, (20.0, 20.0), (60.0, 50.0))
    page.page.wait_for_selector(".measure-layer g[data-kind=ellipse]")
    assert HOSTILE_UNITS in page.text(".measure-layer .ellipse")
    assert page.page.query_selector_all(".measure-layer img, img[src=x]") == []
    assert page.page.title() != "1"


def test_ellipse_on_a_colour_image_has_area_only(page: Page, files: dict[str, tuple[Path, str]]) -> None:
    """On an RGB image (server PNG path) the ROI has no statistics, only its area (Pixel Spacing 1 x 1 mm)."""
    ds, origin = opened(page, files, "rgb")
    page.page.keyboard.press("e")
    drag(page, origin, (10.0, 10.0), (50.0, 30.0))
    wait_for_spacing(page, "ellipse")
    [result] = results(page, "ellipse")
    assert result["stats"] is None
    p, q = result["p"], result["q"]
    spacing, unit = spacing_of(ds)
    assert unit == "mm" and spacing is not None
    area = math.pi * abs(q[0] - p[0]) / 2 * abs(q[1] - p[1]) / 2 * spacing[0] * spacing[1]
    assert result["area"] == pytest.approx(area, rel=1e-12)
    assert result["areaUnit"] == "mm²"
    assert result["text"] == f"no values (server PNG)area {shown(result['area'])} mm²"


# --- length ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["ct", "imager", "none"])
def test_length_equals_spacing_times_pixels(page: Page, files: dict[str, tuple[Path, str]], name: str) -> None:
    """A dragged line's length is hypot(dx x column spacing, dy x row spacing) from the file's (Imager) Pixel
    Spacing, labelled mm, mm (detector) or px."""
    ds, origin = opened(page, files, name)
    page.page.keyboard.press("l")
    start, end = (10.0, 20.0), (50.0, 41.0)
    drag(page, origin, start, end)
    wait_for_spacing(page, "length")
    [result] = results(page, "length")
    spacing, unit = spacing_of(ds)
    (px, py), (qx, qy) = result["p"], result["q"]
    assert max(abs(px - start[0]), abs(py - start[1]), abs(qx - end[0]), abs(qy - end[1])) <= 0.5
    row_mm, col_mm = spacing or (1.0, 1.0)
    expected = math.hypot((qx - px) * col_mm, (qy - py) * row_mm)
    assert result["unit"] == unit
    assert result["length"] == pytest.approx(expected, rel=1e-12)
    intended = math.hypot((end[0] - start[0]) * col_mm, (end[1] - start[1]) * row_mm)
    assert result["length"] == pytest.approx(intended, abs=0.75 * max(row_mm, col_mm))
    assert result["text"] == f"{expected:.2f} {unit}"


def test_measurements_follow_zoom_and_are_cleared(page: Page, files: dict[str, tuple[Path, str]]) -> None:
    """A line stays on its image pixels through a zoom, and Delete removes the image's measurements."""
    _, origin = opened(page, files, "ct")
    page.page.keyboard.press("l")
    drag(page, origin, (10.0, 20.0), (50.0, 41.0))
    [before] = results(page, "length")
    x1 = float(page.page.get_attribute(".measure-layer line", "x1") or "nan")
    page.page.keyboard.press("+")
    [after] = results(page, "length")
    assert after["p"] == before["p"] and after["length"] == before["length"]
    assert float(page.page.get_attribute(".measure-layer line", "x1") or "nan") != x1
    page.page.keyboard.press("Delete")
    assert results(page, "length") == []


def test_window_drag_keeps_measurements_and_makes_no_request(page: Page, files: dict[str, tuple[Path, str]]) -> None:
    """After an ellipse is drawn, W and a left-drag change the window (not the ROI), with no request; the
    ROI's numbers (modality values) stay the same."""
    _, origin = opened(page, files, "ct")
    page.page.keyboard.press("e")
    drag(page, origin, (12.0, 9.0), (52.0, 38.0))
    wait_for_spacing(page, "ellipse")
    [before] = results(page, "ellipse")
    window = page.text(".viewport .overlay-window")
    page.page.keyboard.press("w")
    requests = len(page.requests)
    drag(page, origin, (70.0, 70.0), (110.0, 40.0))
    page.page.wait_for_function("(w) => document.querySelector('.viewport .overlay-window').textContent !== w", arg=window)
    assert page.requests[requests:] == []
    assert results(page, "ellipse") == [before]


# --- ellipse ---------------------------------------------------------------------------------------

def ellipse_mask(shape: tuple[int, int], p: list[float], q: list[float]) -> np.ndarray:
    """Pixels whose centre (c + .5, r + .5) lies inside or on the ellipse inscribed in the box p-q."""
    cx, cy = (p[0] + q[0]) / 2, (p[1] + q[1]) / 2
    a, b = abs(q[0] - p[0]) / 2, abs(q[1] - p[1]) / 2
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]]
    u = (cols + 0.5 - cx) / a
    v = (rows + 0.5 - cy) / b
    return np.asarray(u * u + v * v <= 1)


@pytest.mark.parametrize("name", ["ct", "imager", "none"])
def test_ellipse_statistics_equal_numpy(page: Page, files: dict[str, tuple[Path, str]], name: str) -> None:
    """Ellipse ROI: mean, population SD, min, max and pixel count of the modality values equal numpy's on the
    same mask; area is pi x a x b in mm² (detector mm², px²)."""
    ds, origin = opened(page, files, name)
    page.page.keyboard.press("e")
    start, end = (12.0, 9.0), (52.0, 38.0)
    drag(page, origin, start, end)
    wait_for_spacing(page, "ellipse")
    [result] = results(page, "ellipse")
    p, q = result["p"], result["q"]
    assert max(abs(p[0] - start[0]), abs(p[1] - start[1]), abs(q[0] - end[0]), abs(q[1] - end[1])) <= 0.5
    values = modality_values(ds)
    inside = values[ellipse_mask(values.shape, p, q)]
    stats = result["stats"]
    assert stats["count"] == inside.size > 100
    assert stats["mean"] == pytest.approx(inside.mean(), rel=1e-9, abs=1e-9)
    assert stats["sd"] == pytest.approx(inside.std(ddof=0), rel=1e-9, abs=1e-9)
    assert (stats["min"], stats["max"]) == (inside.min(), inside.max())
    spacing, unit = spacing_of(ds)
    row_mm, col_mm = spacing or (1.0, 1.0)
    area = math.pi * abs(q[0] - p[0]) / 2 * abs(q[1] - p[1]) / 2 * row_mm * col_mm
    assert result["area"] == pytest.approx(area, rel=1e-12)
    assert result["areaUnit"] == {"mm": "mm²", "mm (detector)": "mm² (detector)", "px": "px²"}[unit]
    assert f"({inside.size} px)" in result["text"]


# --- keyboard -------------------------------------------------------------------------------------

def test_tool_shortcuts_are_in_the_help_panel(page: Page, files: dict[str, tuple[Path, str]]) -> None:
    """V, L, E choose the tools and W goes back to window/level; the ? panel lists V, L, E and Del."""
    page.open_series(files["ct"][1])
    for key, tool in (("v", "probe"), ("l", "length"), ("e", "ellipse"), ("w", "window")):
        page.page.keyboard.press(key)
        assert page.attr("tool") == tool
    page.page.keyboard.press("?")
    items = page.page.eval_on_selector_all("#help-list li", "(nodes) => nodes.map((n) => n.textContent)")
    for label, words in (("V", "Pixel probe"), ("L", "length"), ("E", "ellipse ROI"), ("Del", "Remove")):
        assert any(item.startswith(label) and words in item for item in items), (label, items)


# --- rectangle, angle, Cobb, arrow ------------------------------------------------------------------

@pytest.mark.parametrize("name", ["ct", "imager"])
def test_rectangle_statistics_equal_numpy(page: Page, files: dict[str, tuple[Path, str]], name: str) -> None:
    """Rectangle ROI: the statistics of the pixels whose centres lie inside, and its area, equal numpy's."""
    ds, origin = opened(page, files, name)
    page.page.keyboard.press("b")
    drag(page, origin, (14.0, 11.0), (47.0, 36.0))
    wait_for_spacing(page, "rectangle")
    [result] = results(page, "rectangle")
    (x0, y0), (x1, y1) = result["p"], result["q"]
    values = modality_values(ds)
    rows, cols = np.mgrid[0:values.shape[0], 0:values.shape[1]]
    mask = (cols + 0.5 >= min(x0, x1)) & (cols + 0.5 <= max(x0, x1)) & (rows + 0.5 >= min(y0, y1)) & (rows + 0.5 <= max(y0, y1))
    inside = values[mask]
    stats = result["stats"]
    assert stats["count"] == inside.size > 100
    assert stats["mean"] == pytest.approx(inside.mean(), rel=1e-9, abs=1e-9)
    assert stats["sd"] == pytest.approx(inside.std(ddof=0), rel=1e-9, abs=1e-9)
    assert (stats["min"], stats["max"]) == (inside.min(), inside.max())
    row_mm, col_mm = spacing_of(ds)[0] or (1.0, 1.0)
    assert result["area"] == pytest.approx(abs(x1 - x0) * abs(y1 - y0) * row_mm * col_mm, rel=1e-12)


def _degrees(u: np.ndarray, v: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip(u @ v / np.linalg.norm(u) / np.linalg.norm(v), -1, 1))))


@pytest.mark.parametrize("name", ["ct", "imager"])
def test_angle_of_three_points_in_mm(page: Page, files: dict[str, tuple[Path, str]], name: str) -> None:
    """A drag then a click give the angle at the middle point, in the patient's proportions (unequal spacing)."""
    ds, origin = opened(page, files, name)
    page.page.keyboard.press("a")
    drag(page, origin, (10.0, 50.0), (40.0, 20.0))
    page.page.mouse.move(origin[0] + 70.0, origin[1] + 45.0, steps=4)
    page.page.mouse.click(origin[0] + 70.0, origin[1] + 45.0)
    [result] = results(page, "angle")
    a, b, c = (np.array(point) for point in result["points"])
    row_mm, col_mm = spacing_of(ds)[0] or (1.0, 1.0)
    scale = np.array([col_mm, row_mm])
    assert result["angle"] == pytest.approx(_degrees((a - b) * scale, (c - b) * scale), abs=1e-9)
    assert result["text"] == f"{result['angle']:.1f}°"


def test_cobb_angle_of_two_lines(page: Page, files: dict[str, tuple[Path, str]]) -> None:
    """Two dragged lines give the Cobb angle: the acute angle between them."""
    ds, origin = opened(page, files, "ct")
    page.page.keyboard.press("k")
    drag(page, origin, (10.0, 10.0), (60.0, 20.0))
    assert results(page, "cobb")[0]["angle"] is None   # waits for the second line
    drag(page, origin, (15.0, 60.0), (55.0, 40.0))
    [result] = results(page, "cobb")
    p1, q1, p2, q2 = (np.array(point) for point in result["points"])
    row_mm, col_mm = spacing_of(ds)[0] or (1.0, 1.0)
    scale = np.array([col_mm, row_mm])
    angle = _degrees((q1 - p1) * scale, (q2 - p2) * scale)
    assert result["angle"] == pytest.approx(min(angle, 180 - angle), abs=1e-9)
    assert result["text"] == f"Cobb {result['angle']:.1f}°"


def test_arrow_with_a_typed_label(page: Page, files: dict[str, tuple[Path, str]]) -> None:
    """An arrow's label is typed in a box at its tail; the text is shown as text, and Escape leaves none."""
    _, origin = opened(page, files, "ct")
    page.page.keyboard.press("n")
    drag(page, origin, (30.0, 30.0), (60.0, 10.0))
    box = page.page.locator("input.arrow-label")
    box.fill("<b>lesion</b> 1")
    box.press("Enter")
    [result] = results(page, "arrow")
    assert result["label"] == "<b>lesion</b> 1" and result["text"] == "<b>lesion</b> 1"
    assert page.page.locator(".measure-layer b").count() == 0
    drag(page, origin, (80.0, 80.0), (100.0, 60.0))
    page.page.locator("input.arrow-label").press("Escape")
    assert [r["label"] for r in results(page, "arrow")] == ["<b>lesion</b> 1", ""]
    assert page.page.locator("input.arrow-label").count() == 0


def test_every_tool_has_a_toolbar_button_and_a_key(page: Page, files: dict[str, tuple[Path, str]]) -> None:
    """Each tool is chosen by its toolbar button (pressed while chosen) and by its key."""
    page.open_series(files["ct"][1])
    keys = {"window": "w", "pan": "p", "zoom": "z", "crosshair": "c", "probe": "v", "length": "l", "angle": "a",
            "cobb": "k", "ellipse": "e", "rectangle": "b", "arrow": "n"}
    buttons = page.page.eval_on_selector_all("button[data-tool]", "(nodes) => nodes.map((n) => n.dataset.tool)")
    assert sorted(buttons) == sorted(keys)
    for tool, key in keys.items():
        page.page.click(f'[data-tool="{tool}"]')
        assert page.attr("tool") == tool
        assert page.page.get_attribute(f'[data-tool="{tool}"]', "aria-pressed") == "true"
        page.page.keyboard.press("Escape" if tool == "arrow" else "w")
        page.page.keyboard.press(key)
        assert page.attr("tool") == tool


# --- touch ------------------------------------------------------------------------------------------

def _touch(cdp: Any, kind: str, points: list[tuple[float, float]]) -> None:
    cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [
        {"x": x, "y": y, "id": i, "radiusX": 1, "radiusY": 1, "force": 1} for i, (x, y) in enumerate(points)]})


def test_touch_pinch_zooms_and_one_finger_uses_the_tool(browser: Any, orthanc: OrthancProcess,
                                                         files: dict[str, tuple[Path, str]]) -> None:
    """Two fingers spreading zoom in about their midpoint; one finger draws with the tool (a length)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, has_touch=True)
    try:
        page = context.new_page()
        page.goto(f"{orthanc.url}/previewer/index.html#/series/{files['ct'][1]}")
        page.wait_for_function("() => document.querySelector('.viewport canvas').dataset.state === 'ready'")
        box = page.locator(".viewport canvas").bounding_box()
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        zoom = lambda: int(page.text_content(".viewport .overlay-zoom").split()[1].rstrip("%"))  # noqa: E731
        before = zoom()
        cdp = context.new_cdp_session(page)
        _touch(cdp, "touchStart", [(cx - 40, cy), (cx + 40, cy)])
        for step in range(1, 11):
            _touch(cdp, "touchMove", [(cx - 40 - 8 * step, cy), (cx + 40 + 8 * step, cy)])
        _touch(cdp, "touchEnd", [])
        assert zoom() == pytest.approx(before * 240 / 80, rel=0.05)   # the fingers went from 80 to 240 px apart
        page.keyboard.press("l")
        _touch(cdp, "touchStart", [(cx - 30, cy - 30)])
        for step in range(1, 6):
            _touch(cdp, "touchMove", [(cx - 30 + 12 * step, cy - 30 + 6 * step)])
        _touch(cdp, "touchEnd", [])
        page.wait_for_selector(".measure-layer g[data-kind=length]")
        result = json.loads(page.get_attribute(".measure-layer g[data-kind=length]", "data-result") or "{}")
        scale = zoom() / 100
        assert math.hypot(result["q"][0] - result["p"][0], result["q"][1] - result["p"][1]) == pytest.approx(
            math.hypot(60, 30) / scale, rel=0.05)
    finally:
        context.close()
