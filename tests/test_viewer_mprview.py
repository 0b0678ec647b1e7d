"""static/mprview.js in Chromium through a real Orthanc: the MPR layout, its crosshair, oblique planes, slab and window.

On the real Radiomics Digital Phantom (pycerr's patient 1, 60 axial CT slices; ``make testdata``).
"""
from __future__ import annotations

import io
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import numpy as np
import pytest
import requests
from PIL import Image

from orthanc_process import OrthancProcess
from test_viewer_browser import VIEWPORT, browser  # noqa: F401  (the fixture)
from test_volumes import CT_SMALL, PHANTOM

pytestmark = pytest.mark.slow

_READY = """() => {
  const panes = [...document.querySelectorAll('[data-viewport]')];
  return panes.length === 3 && panes.every((p) => p.dataset.state === 'ready' && p.dataset.loaded === p.dataset.total
    && p.dataset.position !== undefined);
}"""


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory: pytest.TempPathFactory, plugin_path: Path) -> Iterator[OrthancProcess]:
    process = OrthancProcess(tmp_path_factory.mktemp("mprview"), probe=False).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def series(orthanc: OrthancProcess) -> str:
    return str([orthanc.upload(path) for path in sorted(PHANTOM.glob("DCM_IMG_*.dcm"))][-1]["ParentSeries"])


@pytest.fixture()
def page(browser: Any, orthanc: OrthancProcess, series: str) -> Iterator[Any]:  # noqa: F811
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.goto(f"{orthanc.url}/previewer/index.html#/series/{series}?layout=mpr")
    page.wait_for_function(_READY, timeout=60000)
    yield page
    context.close()


def _panes(page: Any) -> list[dict[str, str]]:
    return page.evaluate("() => [...document.querySelectorAll('[data-viewport]')].map((e) => ({...e.dataset}))")  # type: ignore[no-any-return]


def _centre(page: Any, index: int) -> tuple[float, float]:
    """The crosshair's centre on screen, in page coordinates."""
    box = page.locator(f'[data-viewport="{index}"] canvas').bounding_box()
    circle = page.locator(f'[data-viewport="{index}"] .crosshair-centre')
    return box["x"] + float(circle.get_attribute("cx")), box["y"] + float(circle.get_attribute("cy"))


def _settle(page: Any) -> None:
    page.wait_for_timeout(150)
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")


def _hash(page: Any) -> dict[str, list[str]]:
    page.wait_for_timeout(300)
    return parse_qs(page.evaluate("() => location.hash").split("?", 1)[1])


def test_three_planes_each_a_viewport(page: Any, orthanc: OrthancProcess, series: str) -> None:
    """layout=mpr: axial, coronal and sagittal viewports; every slice loaded; the planes through the box's centre."""
    panes = _panes(page)
    assert [p["plane"] for p in panes] == ["axial", "coronal", "sagittal"]
    assert all(p["oblique"] == "false" and int(p["total"]) == 60 for p in panes)
    volume = requests.get(f"{orthanc.url}/previewer/api/series/{series}/volume", timeout=30).json()
    centre = (np.array(volume["bounds"]["min"]) + volume["bounds"]["max"]) / 2
    assert [float(p["position"]) for p in panes] == pytest.approx([centre[2], centre[1], -centre[0]], abs=0.01)
    assert page.locator(".mpr-progress").first.is_hidden()
    assert page.locator('[data-viewport="1"] .overlay-position').inner_text().startswith("Coronal")


def test_dragging_the_crosshair_moves_the_other_two(page: Any) -> None:
    """A drag in the axial viewport moves the coronal and sagittal planes by the drag in mm; the axial stays."""
    before = [float(p["position"]) for p in _panes(page)]
    x, y = _centre(page, 0)
    scale = page.evaluate("""() => {
      const c = document.querySelector('[data-viewport="0"] canvas');
      return c.clientWidth; }""")
    assert scale > 0
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 40, y + 30, steps=4)
    page.mouse.up()
    _settle(page)
    after = [float(p["position"]) for p in _panes(page)]
    assert after[0] == pytest.approx(before[0], abs=0.01)
    assert after[1] > before[1] + 1        # down the screen: +y (posterior)
    assert after[2] > before[2] + 1        # left on screen: -x, which is +position along the sagittal normal -x
    ratio = (after[1] - before[1]) / (after[2] - before[2])
    assert ratio == pytest.approx(30 / 40, rel=0.1)
    point = [float(v) for v in _hash(page)["point"][0].split(",")]
    assert point[1] == pytest.approx(after[1], abs=0.02) and -point[0] == pytest.approx(after[2], abs=0.02)


def test_turning_the_crosshair_gives_oblique_planes(page: Any) -> None:
    """A drag on a line away from the centre turns the other planes about the axial normal by the drag's angle."""
    x, y = _centre(page, 0)
    line = page.locator('[data-viewport="0"] .crosshair-line[data-plane="coronal"]')
    assert line.count() == 1
    box = page.locator('[data-viewport="0"] canvas').bounding_box()
    x2 = box["x"] + float(line.get_attribute("x2"))
    y2 = box["y"] + float(line.get_attribute("y2"))
    direction = np.array([x2 - x, y2 - y]) / math.hypot(x2 - x, y2 - y)
    start = np.array([x, y]) + 80 * direction
    angle = math.radians(25)
    turned = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]]) @ (80 * direction)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(x + turned[0], y + turned[1], steps=6)
    page.mouse.up()
    _settle(page)
    panes = _panes(page)
    assert [p["oblique"] for p in panes] == ["false", "true", "true"]
    coronal = np.array([float(v) for v in panes[1]["normal"].split(",")])
    assert coronal[2] == pytest.approx(0, abs=1e-6)
    assert math.degrees(math.acos(abs(coronal[1]))) == pytest.approx(25, abs=2)
    assert page.locator('[data-viewport="1"] .overlay-position').inner_text().startswith("Oblique")
    assert "v1.normal" in _hash(page)


def test_window_is_shared_and_zoom_is_not(page: Any) -> None:
    """W/L dragged in the sagittal viewport changes all three; a zoom in the axial changes only the axial."""
    page.locator('[data-viewport="2"] canvas').click(position={"x": 10, "y": 10}, button="middle")
    page.locator('button[data-tool="window"]').click()
    box = page.locator('[data-viewport="2"] canvas').bounding_box()
    page.mouse.move(box["x"] + 100, box["y"] + 100)
    page.mouse.down()
    page.mouse.move(box["x"] + 160, box["y"] + 140, steps=4)
    page.mouse.up()
    _settle(page)
    texts = [page.locator(f'[data-viewport="{i}"] .overlay-window').inner_text() for i in range(3)]
    assert texts[0] == texts[1] == texts[2] and "auto" not in texts[0]
    zooms = [page.locator(f'[data-viewport="{i}"] .overlay-zoom').inner_text() for i in range(3)]
    axial = page.locator('[data-viewport="0"] canvas').bounding_box()
    page.mouse.move(axial["x"] + 50, axial["y"] + 50)
    page.keyboard.down("Control")
    page.mouse.wheel(0, -300)
    page.keyboard.up("Control")
    _settle(page)
    after = [page.locator(f'[data-viewport="{i}"] .overlay-zoom').inner_text() for i in range(3)]
    assert after[0] != zooms[0] and after[1:] == zooms[1:]


def _mean_grey(page: Any, index: int) -> float:
    shot = page.locator(f'[data-viewport="{index}"] canvas').screenshot()
    return float(np.asarray(Image.open(io.BytesIO(shot)).convert("L"), dtype=np.float64).mean())


def test_a_mip_slab_is_brighter_and_the_server_agrees(page: Any, orthanc: OrthancProcess) -> None:
    """A 20 mm MIP slab brightens the coronal plane, MinIP darkens it; Copy PNG URL names the same slab."""
    thin = _mean_grey(page, 1)
    page.fill("#slab", "20")
    page.locator("#slab").dispatch_event("change")
    _settle(page)
    mip = _mean_grey(page, 1)
    page.select_option("#projection", "minip")
    _settle(page)
    minip = _mean_grey(page, 1)
    assert mip > thin + 1 and minip < thin - 1
    assert "Slab 20 mm MINIP" in page.locator('[data-viewport="1"] .overlay-location').inner_text()
    page.locator('[data-viewport="1"] canvas').click(position={"x": 5, "y": 5}, button="middle")
    page.evaluate("() => { navigator.clipboard.writeText = async () => {}; }")
    page.locator("#copy-url").click()
    url = page.locator("#copy-url").get_attribute("data-url")
    assert "/mpr/coronal/png?" in url and "slab=20" in url and "projection=minip" in url
    answer = requests.get(url, timeout=60)
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "image/png"


def test_a_series_that_is_not_a_volume_says_why(browser: Any, orthanc: OrthancProcess) -> None:  # noqa: F811
    """pydicom's CT_small alone: each MPR viewport names the server's reason."""
    single = orthanc.upload(CT_SMALL)["ParentSeries"]
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(f"{orthanc.url}/previewer/index.html#/series/{single}?layout=mpr")
        page.wait_for_function("() => document.querySelectorAll('[data-viewport][data-state=\"error\"]').length === 3",
                               timeout=30000)
        assert "one image is not a volume" in page.locator('[data-viewport="0"] .message').inner_text()
    finally:
        context.close()


def test_the_hash_restores_the_screen(browser: Any, orthanc: OrthancProcess, series: str) -> None:  # noqa: F811
    """A second page on the first one's hash shows the same point, window, slab and oblique plane."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        query = ("layout=mpr&point=-100,10,-20&window=40,400&slab=6&projection=mean"
                 "&v1.normal=0.5,0.866025,0&v1.up=0,0,1&active=2")
        page.goto(f"{orthanc.url}/previewer/index.html#/series/{series}?{query}")
        page.wait_for_function(_READY, timeout=60000)
        panes = _panes(page)
        assert [float(p["position"]) for p in panes] == pytest.approx([-20, 0.5 * -100 + 0.866025 * 10, 100], abs=0.02)
        assert [p["oblique"] for p in panes] == ["false", "true", "false"] and panes[2]["active"] == "true"
        assert " ".join(page.locator('[data-viewport="0"] .overlay-window').inner_text().split()).startswith("C 40 W 400")
        assert page.input_value("#slab") == "6" and page.input_value("#projection") == "mean"
    finally:
        context.close()


def _screen(browser: Any, orthanc: OrthancProcess, series: str, search: str,  # noqa: F811
            query: str) -> tuple[list[dict[str, str]], list[np.ndarray], list[str]]:
    """The MPR screen at ``index.html{search}#…?{query}``: each viewport's data attributes, overlay path, and
    grey screenshot with the overlays and crosshair hidden."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(f"{orthanc.url}/previewer/index.html{search}#/series/{series}?{query}")
        page.wait_for_function(_READY, timeout=60000)
        _settle(page)
        paths = [page.locator(f'[data-viewport="{i}"] .overlay-path').inner_text() for i in range(3)]
        page.evaluate("() => document.querySelectorAll('.overlay, .crosshair-layer').forEach((e) => { e.style.visibility = 'hidden'; })")
        shots = [np.asarray(Image.open(io.BytesIO(page.locator(f'[data-viewport="{i}"] canvas').screenshot())).convert("L"),
                            dtype=np.float64) for i in range(3)]
        return _panes(page), shots, paths
    finally:
        context.close()


@pytest.mark.parametrize("query", ["layout=mpr&window=40,400&v1.normal=0.5,0.866025,0&v1.up=0,0,1",
                                   "layout=mpr&window=40,400&slab=8&projection=mip"])
def test_webgl2_computes_the_planes_the_cpu_does(browser: Any, orthanc: OrthancProcess, series: str,  # noqa: F811
                                                  query: str) -> None:
    """?renderer=webgl2: the planes come from the WebGL2 3D texture, and the screen equals the one the CPU's
    planes give (?mpr=cpu, same renderer) within the issue's grey bound, overlays hidden; headless Chromium's
    default (software WebGL, so the canvas renderer) is the CPU."""
    gpu, gpu_shots, gpu_paths = _screen(browser, orthanc, series, "?renderer=webgl2", query)
    cpu, cpu_shots, cpu_paths = _screen(browser, orthanc, series, "?renderer=webgl2&mpr=cpu", query)
    default, _, default_paths = _screen(browser, orthanc, series, "", query)
    assert [p["reformat"] for p in gpu] == ["webgl2"] * 3 and [p["reformat"] for p in cpu] == ["cpu"] * 3
    assert [p["reformat"] for p in default] == ["cpu"] * 3
    assert all(path.startswith("Client MPR (WebGL2 3D texture)") for path in gpu_paths)
    assert all(path.startswith("Client MPR (CPU)") for path in cpu_paths + default_paths)
    assert [p["position"] for p in gpu] == [p["position"] for p in cpu]
    for a, b in zip(gpu_shots, cpu_shots):
        assert a.shape == b.shape and a.std() > 10
        difference = np.abs(a - b)
        assert difference.mean() <= 1 and np.percentile(difference, 99) <= 4
        assert difference.max() <= 2   # measured: 1 grey level at a few pixels, from float32 arithmetic
