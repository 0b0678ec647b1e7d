"""The viewer at /previewer/, driven in a real Chromium against a real Orthanc.

One Orthanc with the plugin serves the module; Chromium (Debian's, through
Playwright from PyPI) runs headless.  Every page checks that the browser
console stays free of errors and that no dialog opens.  Screenshots of each
state go to test-artifacts/viewer/.
"""
from __future__ import annotations

import http.client
import io
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydicom
import pytest
import requests
from PIL import Image
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from conftest import CT_SMALL, MR_SMALL, RGB_FILE, chromium, sync_playwright
from orthanc_process import ROOT, OrthancProcess, redirect_status

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts" / "viewer"
VIEWPORT = {"width": 1280, "height": 800}

EMRI = Path(get_testdata_file("emri_small.dcm"))   # MR, 10 frames of 64 x 64
RTPLAN = Path(get_testdata_file("rtplan.dcm"))      # no pixel data: the server cannot render it
XSS_NAME = "<img src=x onerror=alert(1)>"
# A real CT study from pydicom's test files (patient Doe^Peter, ID 98890234,
# 2001-01-01, no Study Description): series 4 "Scout" holds 2 instances of
# different orientations, series 5 "SmartScore - Gated 0.5 sec" 5 axial slices
# of 16 x 16 pixels, 2.5 mm apart along z, with a file window of 40/400.
CT_STUDY = CT_SMALL.parent / "dicomdirtests" / "98892001"
CT_SCOUT = sorted((CT_STUDY / "CT2N").iterdir())
CT_AXIAL = sorted((CT_STUDY / "CT5N").iterdir())
CT_SLICES = len(CT_AXIAL)
CT_SPACING = 2.5   # mm between neighbouring slices of CT_AXIAL
CT_PATIENT, CT_PATIENT_ID = "Doe, Peter", "98890234"   # as the viewer shows Doe^Peter
CT_AXIAL_DESCRIPTION = "SmartScore - Gated 0.5 sec"


def make_xss_file(folder: Path) -> Path:
    """MR_small.dcm with a PatientName that is an HTML injection (and new UIDs)."""
    ds = pydicom.dcmread(MR_SMALL)
    ds.PatientName, ds.PatientID = XSS_NAME, "XSS-1"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    path = folder / "xss.dcm"
    ds.save_as(path)
    return path


@dataclass
class Server:
    orthanc: OrthancProcess
    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.orthanc.url

    def series(self, name: str) -> str:
        return str(self.uploads[name]["ParentSeries"])

    def study(self, name: str) -> str:
        return str(self.uploads[name]["ParentStudy"])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, plugin_path: Path) -> Iterator[Server]:
    """An Orthanc with the plugin and the sample files, for this module."""
    folder = tmp_path_factory.mktemp("viewer")
    files = {"ct-axial": CT_AXIAL[0], "ct-scout": CT_SCOUT[0], "emri": EMRI, "mr": MR_SMALL, "rgb": Path(RGB_FILE),
             "xss": make_xss_file(folder), "rtplan": RTPLAN}
    orthanc = OrthancProcess(folder / "orthanc").start()
    try:
        server = Server(orthanc)
        for path in CT_SCOUT + CT_AXIAL:
            orthanc.upload(path)
        for name, path in files.items():
            server.uploads[name] = orthanc.upload(path)
        yield server
    finally:
        orthanc.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


# Pixel statistics of the canvas: mean, range, distinct grey levels and a hash.  Read through a 2D
# copy, so that a WebGL canvas (the viewer's renderer on a machine with a GPU) is read the same way.
_CANVAS_STATS = """() => {
  const source = document.querySelector('.viewport canvas');
  const canvas = document.createElement('canvas');
  canvas.width = source.width;
  canvas.height = source.height;
  canvas.getContext('2d').drawImage(source, 0, 0);
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let sum = 0, min = 255, max = 0, hash = 0;
  const levels = new Set();
  for (let i = 0; i < data.length; i += 4) {
    const v = data[i];
    sum += v; min = Math.min(min, v); max = Math.max(max, v); levels.add(v);
    hash = (hash * 31 + data[i] + 7 * data[i + 1] + 13 * data[i + 2]) | 0;
  }
  return {mean: sum / (data.length / 4), min, max, levels: levels.size, hash};
}"""

_SETTLED = """(before) => {
  const canvas = document.querySelector('.viewport canvas');
  return Number(canvas.dataset.renders) > before && canvas.dataset.busy !== '1';
}"""


class Viewer:
    """One browser page on the viewer, collecting console errors and dialogs."""

    def __init__(self, page: Any, server: Server) -> None:
        self.page = page
        self.server = server
        self.errors: list[str] = []
        self.allowed: list[re.Pattern[str]] = []
        page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        page.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:
        self.errors.append(f"dialog {dialog.type}: {dialog.message}")
        dialog.dismiss()

    def allow(self, pattern: str) -> None:
        """Accept console errors matching ``pattern`` (e.g. a 4xx the test asks for)."""
        self.allowed.append(re.compile(pattern))

    def unexpected_errors(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.allowed)]

    def goto(self, fragment: str = "") -> None:
        self.page.goto(f"{self.server.url}/previewer/index.html{fragment}")

    def open_series(self, name: str, query: str = "") -> None:
        self.goto(f"#/series/{self.server.series(name)}{query}")
        self.wait_image(0)

    def renders(self) -> int:
        return int(self.page.get_attribute(".viewport canvas", "data-renders") or 0)

    def wait_image(self, before: int) -> None:
        """Wait until an image newer than render number ``before`` is on screen and nothing is loading."""
        self.page.wait_for_function(_SETTLED, arg=before, timeout=15000)
        self.page.wait_for_timeout(150)
        self.page.wait_for_function(_SETTLED, arg=before, timeout=15000)

    def after(self, action: Callable[[], None]) -> None:
        """Run ``action`` and wait for the image it causes."""
        before = self.renders()
        action()
        self.wait_image(before)

    def pixels(self) -> dict[str, Any]:
        return self.page.evaluate(_CANVAS_STATS)  # type: ignore[no-any-return]

    def text(self, selector: str) -> str:
        return str(self.page.text_content(selector) or "")

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


@pytest.fixture
def viewer(browser: Any, server: Server) -> Iterator[Viewer]:
    """A fresh page; at the end, the console must hold no error and no dialog may have opened."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    wrapped = Viewer(page, server)
    try:
        yield wrapped
    finally:
        context.close()
    assert wrapped.unexpected_errors() == []


def _raw_get(server: Server, path: str) -> tuple[int, bytes]:
    """GET ``path`` exactly as written: http.client neither normalises nor re-encodes it."""
    connection = http.client.HTTPConnection("127.0.0.1", server.orthanc.http_port, timeout=30)
    try:
        connection.request("GET", path)
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


class TestServing:
    """The static files and the API through Orthanc, without a browser."""

    @pytest.mark.parametrize("start", ["/previewer", "/previewer/"])
    def test_prefix_redirects_to_the_page(self, server: Server, start: str) -> None:
        """/previewer and /previewer/ end on /previewer/index.html, served as HTML with the CSP."""
        answer = requests.get(server.url + start, timeout=30)
        assert answer.status_code == 200
        assert answer.url == server.url + "/previewer/index.html"
        assert all(r.status_code == redirect_status() for r in answer.history)
        assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
        assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
        assert '<script type="module" src="main.js">' in answer.text

    def test_module_media_type_etag_and_304(self, server: Server) -> None:
        """A module is text/javascript with an ETag; If-None-Match gets a bodiless 304."""
        answer = requests.get(server.url + "/previewer/viewer.js", timeout=30)
        assert answer.headers["Content-Type"] == "text/javascript; charset=utf-8"
        assert answer.headers["Cache-Control"] == "no-cache"
        etag = answer.headers["ETag"]
        again = requests.get(server.url + "/previewer/viewer.js", headers={"If-None-Match": etag}, timeout=30)
        assert (again.status_code, again.content, again.headers["ETag"]) == (304, b"", etag)

    @pytest.mark.parametrize("path", [
        "/previewer/../pyproject.toml",
        "/previewer/../../../../etc/passwd",
        "/previewer/%2e%2e/pyproject.toml",
        "/previewer/%2E%2E%2Fpyproject.toml",
        "/previewer/..%2f..%2f..%2fetc%2fpasswd",
        "/previewer/static/..%2f..%2fpyproject.toml",
        "/previewer/.%2e/.%2e/pyproject.toml",
        "/previewer/%252e%252e/pyproject.toml",
        "/previewer/..%5cpyproject.toml",
    ])
    def test_traversal_is_404(self, server: Server, path: str) -> None:
        """Raw requests that try to leave static/ get 404 and nothing of the file."""
        status, body = _raw_get(server, path)
        assert status == 404
        assert b"[build-system]" not in body and b"root:" not in body

    def test_studies_api(self, server: Server) -> None:
        """The study list through Orthanc: one entry per uploaded study."""
        answer = requests.get(server.url + "/previewer/api/studies", timeout=30).json()
        assert answer["total"] == 6
        assert answer["studies"][0]["patient"]["name"] == XSS_NAME   # "<" sorts first

    @pytest.mark.parametrize("path", [
        "/previewer/api/studies/ffffffff-ffffffff-ffffffff-ffffffff-ffffffff",
        "/previewer/api/series/ffffffff-ffffffff-ffffffff-ffffffff-ffffffff",
        "/previewer/api/instances/ffffffff-ffffffff-ffffffff-ffffffff-ffffffff/tags",
        "/previewer/api/series/not-an-id",
    ])
    def test_unknown_ids_are_json_404(self, server: Server, path: str) -> None:
        """Unknown IDs are JSON 404s."""
        answer = requests.get(server.url + path, timeout=30)
        assert answer.status_code == 404
        assert "unknown" in answer.json()["error"]


class TestBrowse:
    def test_study_list_and_search(self, viewer: Viewer) -> None:
        """The list shows every study under its patient, and the search box filters it."""
        viewer.page.goto(viewer.server.url + "/previewer")
        viewer.page.wait_for_selector("#browse-view[data-state=ready] .study-row")
        assert viewer.page.locator(".study-row").count() == 6
        assert viewer.page.locator(".patient-row").count() == 6
        assert CT_PATIENT in viewer.text("#studies")
        viewer.shot("01-study-list")
        # Words of a series description, in another case, find the CT study.
        for query, rows in [("smartscore GATED", 1), ("MR", 3), ("2001-01-01", 1), ("nothing-at-all", 0)]:
            viewer.page.fill("#search", query)
            viewer.page.wait_for_function(
                "([q, n]) => document.querySelector('#studies-status').textContent.includes(q)"
                " && document.querySelectorAll('.study-row').length === n", arg=[query, rows])
            if query == "smartscore GATED":
                assert CT_PATIENT in viewer.text("#studies") and f"ID {CT_PATIENT_ID}" in viewer.text("#studies")
                viewer.shot("02-search")
        assert viewer.page.url.endswith("#/?q=nothing-at-all")
        viewer.page.fill("#search", "")
        viewer.page.wait_for_function("() => document.querySelectorAll('.study-row').length === 6")
        # A patient's name lists only that patient's studies.
        viewer.page.click(f"a.patient-name:has-text('{CT_PATIENT}')")
        viewer.page.wait_for_function("() => document.querySelectorAll('.study-row').length === 1")
        assert viewer.page.input_value("#search") == CT_PATIENT_ID

    def test_study_shows_one_thumbnail_per_series(self, viewer: Viewer) -> None:
        """Opening a study shows a drawn thumbnail for each of its two series."""
        viewer.goto()
        viewer.page.click(".study-row:has-text('2001-01-01') a")   # the CT study's date
        viewer.page.wait_for_selector("#study-view[data-state=ready]")
        viewer.page.wait_for_function(
            "() => document.querySelectorAll('.series-card .thumb-box[data-state=ready] img.thumb').length === 2")
        cards = viewer.page.locator(".series-card")
        assert cards.count() == 2
        assert "Scout" in cards.nth(0).text_content() and f"{len(CT_SCOUT)} images" in cards.nth(0).text_content()
        assert CT_AXIAL_DESCRIPTION in cards.nth(1).text_content()
        assert f"{CT_SLICES} images" in cards.nth(1).text_content()
        width = viewer.page.evaluate("document.querySelector('img.thumb').naturalWidth")
        assert 0 < width <= 128
        viewer.shot("03-study")
        viewer.page.click(f".series-card:has-text('{CT_AXIAL_DESCRIPTION}')")
        viewer.page.wait_for_selector(".viewport canvas[data-state=ready]")
        assert viewer.page.url.split("#")[1].startswith(f"/series/{viewer.server.series('ct-axial')}")

    def test_patient_name_with_html_is_text(self, viewer: Viewer) -> None:
        """A PatientName holding an <img onerror> tag is shown literally and runs nothing."""
        viewer.goto()
        viewer.page.wait_for_selector(".study-row")
        assert XSS_NAME in viewer.text("#studies")
        viewer.page.click(f".study-row[data-study='{viewer.server.study('xss')}'] a")
        viewer.page.wait_for_selector("#study-view[data-state=ready]")
        assert XSS_NAME in viewer.text("#study-header")
        viewer.page.click(".series-card")
        viewer.page.wait_for_selector(".viewport canvas[data-state=ready]")
        assert XSS_NAME in viewer.text(".viewport .ov-patient")
        viewer.page.keyboard.press("t")
        viewer.page.wait_for_selector("#tags-table tr")
        assert XSS_NAME in viewer.text("#tags-table")
        assert viewer.page.locator("img[src='x']").count() == 0
        assert viewer.page.evaluate("document.querySelectorAll('[onerror]').length") == 0
        viewer.shot("04-html-in-patient-name")


class TestLook:
    def test_ct_series_draws_an_image(self, viewer: Viewer) -> None:
        """The CT series draws a real image, sized to the screen, with its overlay."""
        viewer.open_series("ct-axial")
        stats = viewer.pixels()
        assert stats["levels"] > 50 and stats["max"] - stats["min"] > 100
        assert f"Image 1 / {CT_SLICES}" in viewer.text(".viewport .overlay-position")
        assert CT_PATIENT in viewer.text(".viewport .ov-patient")
        assert f"ID {CT_PATIENT_ID}" in viewer.text(".viewport .ov-patient-detail")
        assert CT_AXIAL_DESCRIPTION in viewer.text(".viewport .ov-series")
        assert "(fit)" in viewer.text(".viewport .overlay-zoom")
        viewer.shot("05-ct")

    def test_window_level_drag_and_lung_preset(self, viewer: Viewer) -> None:
        """A left-drag changes C/W and the pixels; the lung preset sets C -600 W 1500."""
        viewer.open_series("ct-axial")
        viewer.page.wait_for_function("() => /C -?\\d+ +W \\d+/.test(document.querySelector('.viewport .overlay-window').textContent)")
        before_text, before_pixels = viewer.text(".viewport .overlay-window"), viewer.pixels()

        def drag() -> None:
            box = viewer.page.locator(".viewport canvas").bounding_box()
            x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            viewer.page.mouse.move(x, y)
            viewer.page.mouse.down()
            viewer.page.mouse.move(x - 150, y + 60, steps=15)
            viewer.page.mouse.up()
        viewer.after(drag)
        after_text = viewer.text(".viewport .overlay-window")
        assert after_text != before_text
        center, width = (float(v) for v in re.search(r"C (-?[\d.]+) +W ([\d.]+)", after_text).groups())
        assert f"window={center:g},{width:g}" in viewer.page.get_attribute(".viewport canvas", "data-url")
        assert viewer.pixels()["hash"] != before_pixels["hash"]
        viewer.shot("06-window-drag")

        viewer.after(lambda: viewer.page.select_option("#preset", "preset:lung"))
        assert viewer.text(".viewport .overlay-window").startswith("C -600  W 1500 (Lung)")
        assert "window=-600,1500" in viewer.page.get_attribute(".viewport canvas", "data-url")
        viewer.shot("07-lung-preset")
        viewer.after(lambda: viewer.page.keyboard.press("5"))
        assert viewer.text(".viewport .overlay-window").startswith("C 400  W 1800 (Bone)")
        viewer.after(lambda: viewer.page.keyboard.press("0"))   # back to the default: the file's window
        assert viewer.text(".viewport .overlay-window") == before_text == "C 40  W 400 (file)"

    def test_file_window_preset(self, viewer: Viewer) -> None:
        """The file's own window (MR_small: C 600 W 1600) is the default and a preset (voi=0)."""
        viewer.open_series("mr")
        viewer.page.wait_for_function("() => document.querySelector('.viewport .overlay-window').textContent.includes('(file)')")
        assert viewer.text(".viewport .overlay-window").startswith("C 600  W 1600 (file)")
        assert "(600/1600)" in viewer.text("#preset option[value='voi:0']")
        assert viewer.page.locator("#preset option[value^='preset:']").count() == 0   # CT presets: CT only
        viewer.after(lambda: viewer.page.select_option("#preset", "voi:0"))
        assert "voi=0" in viewer.page.get_attribute(".viewport canvas", "data-url")
        assert viewer.text(".viewport .overlay-window").startswith("C 600  W 1600 (file window 1)")

    def test_invert_zoom_and_fit(self, viewer: Viewer) -> None:
        """Invert changes the pixels; zooming and fitting change the scale."""
        viewer.open_series("ct-axial")
        plain = viewer.pixels()
        viewer.after(lambda: viewer.page.click("#invert"))
        inverted = viewer.pixels()
        assert inverted["hash"] != plain["hash"]
        assert "invert=1" in viewer.page.get_attribute(".viewport canvas", "data-url")
        assert "inverted" in viewer.text(".viewport .overlay-window")
        viewer.shot("08-inverted")

        fitted = viewer.text(".viewport .overlay-zoom")
        box = viewer.page.locator(".viewport canvas").bounding_box()
        viewer.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        viewer.page.keyboard.down("Control")
        viewer.page.mouse.wheel(0, -300)
        viewer.page.keyboard.up("Control")
        viewer.page.wait_for_function("t => document.querySelector('.viewport .overlay-zoom').textContent !== t", arg=fitted)
        zoomed = viewer.text(".viewport .overlay-zoom")
        assert "(fit)" not in zoomed
        assert _percent(zoomed) > _percent(fitted)
        viewer.shot("09-zoomed")

        viewer.page.keyboard.press("f")
        assert viewer.text(".viewport .overlay-zoom") == fitted
        viewer.page.click("#actual")
        assert viewer.text(".viewport .overlay-zoom") == "Zoom 100%"
        # Right-drag upwards zooms in.
        viewer.page.mouse.move(box["x"] + 300, box["y"] + 400)
        viewer.page.mouse.down(button="right")
        viewer.page.mouse.move(box["x"] + 300, box["y"] + 300, steps=5)
        viewer.page.mouse.up(button="right")
        assert _percent(viewer.text(".viewport .overlay-zoom")) > 100

    def test_object_without_pixels_shows_its_summary(self, viewer: Viewer) -> None:
        """An instance without pixels (rtplan.dcm) shows its summary screen, not a broken image or an error."""
        viewer.allow(r"Failed to load resource: the server responded with a status of 4\d\d")
        instance = viewer.server.uploads["rtplan"]["ID"]
        assert requests.get(f"{viewer.server.url}/previewer/instances/{instance}/frames/0/png", timeout=30).status_code == 415
        viewer.goto(f"#/series/{viewer.server.series('rtplan')}")
        viewer.page.wait_for_selector(".viewport .summary[data-state='ready']")
        assert viewer.text(".viewport .summary-title") == "RT Plan Storage"
        assert viewer.page.is_hidden(".viewport .message") and viewer.page.is_hidden(".viewport canvas")
        viewer.shot("10-cannot-render")


class TestMove:
    def test_wheel_keys_and_slider_change_the_slice(self, viewer: Viewer) -> None:
        """Wheel, arrow keys and the slider move through the slices, and the position shown follows."""
        viewer.open_series("ct-axial")
        first = viewer.text(".viewport .overlay-location")
        assert first.startswith("Loc ")
        box = viewer.page.locator(".viewport canvas").bounding_box()
        viewer.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        viewer.after(lambda: viewer.page.mouse.wheel(0, 100))
        assert viewer.text(".viewport .overlay-position").startswith(f"Image 2 / {CT_SLICES}")
        second = viewer.text(".viewport .overlay-location")
        assert second != first
        assert float(second.split()[1]) == pytest.approx(float(first.split()[1]) - CT_SPACING, abs=0.01)
        viewer.after(lambda: viewer.page.keyboard.press("ArrowDown"))
        assert viewer.text(".viewport .overlay-position").startswith(f"Image 3 / {CT_SLICES}")
        viewer.after(lambda: viewer.page.keyboard.press("ArrowUp"))
        assert viewer.text(".viewport .overlay-position").startswith(f"Image 2 / {CT_SLICES}")
        viewer.after(lambda: viewer.page.keyboard.press("End"))
        assert viewer.text(".viewport .overlay-position").startswith(f"Image {CT_SLICES} / {CT_SLICES}")
        viewer.shot("11-last-slice")
        viewer.after(lambda: viewer.page.fill("#slider", "1"))
        assert viewer.text(".viewport .overlay-location") == first

    def test_the_viewport_names_what_it_shows(self, viewer: Viewer) -> None:
        """The viewport element carries data-viewport, data-active and the series, instance and frame on screen."""
        viewer.open_series("ct-axial")
        series = viewer.server.series("ct-axial")
        order = [i["id"] for i in viewer.server.orthanc.get(f"/previewer/api/series/{series}").json()["instances"]]
        area = viewer.page.locator("[data-viewport]")
        assert area.count() == 1
        attributes = ("data-viewport", "data-active", "data-series", "data-instance", "data-frame")
        assert [area.get_attribute(a) for a in attributes] == ["0", "true", series, order[0], "0"]
        viewer.after(lambda: viewer.page.keyboard.press("ArrowDown"))
        viewer.after(lambda: viewer.page.keyboard.press("ArrowDown"))
        assert area.get_attribute("data-instance") == order[2] and area.get_attribute("data-frame") == "0"
        viewer.open_series("emri")
        viewer.after(lambda: viewer.page.keyboard.press("ArrowDown"))
        assert area.get_attribute("data-series") == viewer.server.series("emri")
        assert area.get_attribute("data-instance") == viewer.server.uploads["emri"]["ID"]
        assert area.get_attribute("data-frame") == "1"

    def test_cine_advances_frames_of_a_multiframe_instance(self, viewer: Viewer) -> None:
        """Play on emri_small.dcm (10 frames) shows frame after frame; pause stops it."""
        viewer.open_series("emri")
        assert viewer.text(".viewport .overlay-position") == "Frame 1 / 10"
        viewer.page.fill("#fps", "20")
        viewer.page.click("#play")
        seen = set()
        for _ in range(6):   # six successive frames, each drawn
            viewer.page.wait_for_function("t => document.querySelector('.viewport .overlay-position').textContent !== t",
                                          arg=viewer.text(".viewport .overlay-position"))
            seen.add(viewer.text(".viewport .overlay-position"))
        viewer.shot("12-cine")
        viewer.page.click("#play")
        assert len(seen) >= 5 and all(re.fullmatch(r"Frame \d+ / 10", s) for s in seen)
        stopped = viewer.text(".viewport .overlay-position")
        viewer.page.wait_for_timeout(400)
        assert viewer.text(".viewport .overlay-position") == stopped
        # The arrow keys step through frames just as they do through slices.
        viewer.page.keyboard.press("Home")
        viewer.page.wait_for_function("() => document.querySelector('.viewport .overlay-position').textContent === 'Frame 1 / 10'")
        viewer.after(lambda: viewer.page.keyboard.press("ArrowDown"))
        assert viewer.text(".viewport .overlay-position") == "Frame 2 / 10"


class TestRead:
    def test_url_reproduces_the_view(self, viewer: Viewer, browser: Any) -> None:
        """Image, window, inversion and zoom survive in the URL, in a new page."""
        viewer.open_series("ct-axial")
        viewer.after(lambda: viewer.page.keyboard.press("ArrowDown"))
        viewer.after(lambda: viewer.page.keyboard.press("1"))
        viewer.after(lambda: viewer.page.keyboard.press("i"))
        viewer.page.keyboard.press("+")
        viewer.page.wait_for_function("() => location.hash.includes('zoom=') && location.hash.includes('invert=1')")
        url = viewer.page.url
        assert "image=2" in url and "window=-600,1500" in url
        shown = {s: viewer.text(s) for s in (".viewport .overlay-position", ".viewport .overlay-window", ".viewport .overlay-zoom")}
        pixels = viewer.pixels()
        again = Viewer(viewer.page.context.new_page(), viewer.server)
        again.page.goto(url)
        again.wait_image(0)
        assert {s: again.text(s) for s in shown} == shown
        restored = again.pixels()
        assert restored["mean"] == pytest.approx(pixels["mean"], abs=1.0)
        assert restored["levels"] == pytest.approx(pixels["levels"], abs=3)
        assert again.unexpected_errors() == []

    def test_tags_panel_and_help(self, viewer: Viewer) -> None:
        """T shows the tags as text, with a filter; ? lists the shortcuts; Esc closes."""
        viewer.open_series("ct-axial")
        viewer.page.keyboard.press("t")
        viewer.page.wait_for_selector("#tags-table tr")
        assert "PatientName" in viewer.text("#tags-table")
        viewer.page.fill("#tags-filter", "0008,103e smartscore")   # every word must match, in any case
        viewer.page.wait_for_function("() => document.querySelectorAll('#tags-table tr').length === 1")
        assert CT_AXIAL_DESCRIPTION in viewer.text("#tags-table")
        viewer.page.fill("#tags-filter", "")
        viewer.shot("13-tags")
        viewer.page.keyboard.press("Escape")
        assert viewer.page.is_hidden("#tags-panel")
        viewer.page.keyboard.press("?")
        assert viewer.page.is_visible("#help")
        help_text = viewer.text("#help-list")
        for words in ("Next image", "Play / pause", "Invert", "CT window: Lung", "Fit"):
            assert words in help_text
        viewer.shot("14-help")
        viewer.page.keyboard.press("Escape")
        assert viewer.page.is_hidden("#help")

    def test_copy_url_and_download(self, viewer: Viewer) -> None:
        """Copy PNG URL puts the full-size PNG of the view on the clipboard; Download saves it."""
        viewer.page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=viewer.server.url)
        viewer.open_series("ct-axial")
        viewer.after(lambda: viewer.page.keyboard.press("2"))
        viewer.page.click("#copy-url")
        viewer.page.wait_for_selector("#toast:not([hidden])")
        copied = viewer.page.evaluate("navigator.clipboard.readText()")
        instance = viewer.page.get_attribute(".viewport canvas", "data-url").split("/")[1]
        assert copied == (f"{viewer.server.url}/previewer/instances/{instance}/frames/0/png?window=50,350")
        answer = requests.get(copied, timeout=30)
        assert answer.status_code == 200 and answer.headers["Content-Type"] == "image/png"
        with viewer.page.expect_download() as download:
            viewer.page.click("#download")
        saved = Path(download.value.path())
        image = Image.open(io.BytesIO(saved.read_bytes()))
        ds = pydicom.dcmread(CT_AXIAL[0], stop_before_pixels=True)
        assert image.size == (ds.Columns, ds.Rows)
        assert download.value.suggested_filename.endswith(".png")


def _percent(text: str) -> int:
    return int(re.search(r"(\d+)%", text).group(1))  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory, plugin_path: Path) -> Iterator[OrthancProcess]:
    """An Orthanc with AuthenticationEnabled and one registered user, holding the real CT study."""
    process = OrthancProcess(tmp_path_factory.mktemp("secured"), probe=False, extra={
        "AuthenticationEnabled": True, "RegisteredUsers": {"alice": "secret"}})
    process.http.auth = ("alice", "secret")
    process.start()
    for path in CT_AXIAL:
        process.upload(path)
    yield process
    process.stop()


class TestUnderAuthentication:
    """With Orthanc's authentication on, the viewer works for a logged-in user and refuses anonymous ones."""

    def test_logged_in_user_browses_and_sees_an_image(self, browser: Any, secured: OrthancProcess) -> None:
        """alice/secret: the study list, then the series drawn; anonymous: 401 on the viewer and its API."""
        assert requests.get(f"{secured.url}/previewer/index.html", timeout=10).status_code == 401
        assert requests.get(f"{secured.url}/previewer/api/studies", timeout=10).status_code == 401
        context = browser.new_context(viewport=VIEWPORT, http_credentials={"username": "alice", "password": "secret"})
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        try:
            page.goto(f"{secured.url}/previewer/")
            page.wait_for_selector(".study-row")
            assert CT_PATIENT in str(page.text_content("#studies"))
            series = secured.get("/series").json()[0]
            page.goto(f"{secured.url}/previewer/index.html#/series/{series}")
            page.wait_for_function("() => Number(document.querySelector('.viewport canvas').dataset.renders) > 0")
            stats = page.evaluate(_CANVAS_STATS)
            assert stats["max"] > stats["min"]
            page.screenshot(path=str(ARTIFACTS / "20-authenticated.png"))
        finally:
            context.close()
        assert errors == []
