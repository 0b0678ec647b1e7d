"""The viewer's client path, in Chromium against a real Orthanc: the same pixels as the server's PNGs,
no request while windowing, prefetching, scrolling with a held key, and the choice of renderer.

Both renderers are tested in one headless Chromium: Debian's Chromium gives
WebGL2 there through SwiftShader (ANGLE on SwiftShader's Vulkan, even with
``--disable-gpu``), which the viewer does not choose by itself because it is
software; ``?renderer=webgl2`` forces it and ``?renderer=canvas`` forces the
2D path.  A second Chromium started with ``--disable-3d-apis`` has no WebGL
at all, for the fallback.
"""
from __future__ import annotations

import base64
import hashlib
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
import requests
from PIL import Image
from pydicom.uid import generate_uid

from conftest import CT_SMALL, MR_SMALL, RGB_FILE, chromium, replacing_orthanc, sync_playwright
from orthanc_process import OrthancProcess
from previewer.plugin.endpoints import pixels as frame_pixels
from test_images_corpus import REFUSED_BY_ORTHANC, _upload
from test_viewer_browser import CHROMIUM_ARGS, VIEWPORT
from pixels_corpus import grey_corpus

RENDERERS = ("canvas", "webgl2")
SERIES_SLICES = 60


GREY = grey_corpus()


def ct_series(slices: int, folder: Path) -> list[Path]:
    """``slices`` copies of CT_small.dcm as one series: only UIDs, Instance Number and position differ."""
    ds = pydicom.dcmread(CT_SMALL)
    study, series = generate_uid(), generate_uid()
    x, y, z = (float(v) for v in ds.ImagePositionPatient)
    paths = []
    for index in range(slices):
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.InstanceNumber = index + 1
        ds.ImagePositionPatient = [x, y, z - 2.0 * index]
        path = folder / f"slice{index:03}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory: pytest.TempPathFactory, plugin_path: Path) -> Iterator[OrthancProcess]:
    """An Orthanc (replacing instances: corpus files share SOP Instance UIDs) without warm-up."""
    yield from replacing_orthanc(tmp_path_factory, "client")


@pytest.fixture(scope="module")
def uploads(orthanc: OrthancProcess, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The series the viewer tests open: CT_small, MR_small, an RGB file, and a CT series."""
    folder = tmp_path_factory.mktemp("series")
    found: dict[str, Any] = {name: orthanc.upload(path) for name, path in
                             (("ct", CT_SMALL), ("mr", MR_SMALL), ("rgb", Path(RGB_FILE)))}
    slices = [orthanc.upload(path) for path in ct_series(SERIES_SLICES, folder)]
    found["series"] = {"id": slices[0]["ParentSeries"], "instances": [s["ID"] for s in slices]}
    return found


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright: Any) -> Iterator[Any]:
    launched = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS, headless=True)
    yield launched
    launched.close()


class Page:
    """A viewer page that records console errors and every request."""

    def __init__(self, browser: Any, orthanc: OrthancProcess, renderer: str | None) -> None:
        self.context = browser.new_context(viewport=VIEWPORT)
        self.page = self.context.new_page()
        self.page.set_default_timeout(20000)
        self.orthanc = orthanc
        self.query = f"?renderer={renderer}" if renderer else ""
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.failed: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("requestfailed", lambda r: self.failed.append(r.url))

    def goto(self, fragment: str = "") -> None:
        self.page.goto(f"{self.orthanc.url}/previewer/index.html{self.query}{fragment}")

    def open_series(self, series: str, query: str = "") -> None:
        self.goto(f"#/series/{series}{query}")
        self.settle(0)

    def settle(self, before: int) -> None:
        self.page.wait_for_function("""(before) => { const c = document.querySelector('.viewport canvas');
            return Number(c.dataset.renders) > before && c.dataset.busy !== '1'; }""", arg=before)

    def renders(self) -> int:
        return int(self.page.get_attribute(".viewport canvas", "data-renders") or 0)

    def attr(self, name: str) -> str:
        return str(self.page.get_attribute(".viewport canvas", f"data-{name}") or "")

    def text(self, selector: str) -> str:
        return str(self.page.text_content(selector) or "")

    def rgba(self) -> np.ndarray:
        """The canvas' pixels as (rows, columns, 4) uint8, through a 2D copy (WebGL and 2D canvases alike)."""
        rows, columns, data = self.page.evaluate("""() => {
          const source = document.querySelector('.viewport canvas');
          const copy = document.createElement('canvas');
          copy.width = source.width; copy.height = source.height;
          const ctx = copy.getContext('2d');
          ctx.drawImage(source, 0, 0);
          const rgba = ctx.getImageData(0, 0, copy.width, copy.height).data;
          let text = '';
          for (let i = 0; i < rgba.length; i += 0x8000) text += String.fromCharCode(...rgba.subarray(i, i + 0x8000));
          return [copy.height, copy.width, btoa(text)];
        }""")
        return np.frombuffer(base64.b64decode(data), np.uint8).reshape(rows, columns, 4)

    def pixels_hash(self) -> int:
        """A hash of the canvas' pixels (see :meth:`rgba`)."""
        return hash(self.rgba().tobytes())

    def close(self) -> None:
        self.context.close()


@pytest.fixture(params=RENDERERS)
def page(request: pytest.FixtureRequest, browser: Any, orthanc: OrthancProcess) -> Iterator[Page]:
    """A fresh viewer page with the renderer forced; no console error may appear."""
    wrapped = Page(browser, orthanc, request.param)
    wrapped.renderer = request.param   # type: ignore[attr-defined]
    try:
        yield wrapped
    finally:
        wrapped.close()
    assert wrapped.errors == []


# --- the same pixels as the server ------------------------------------------------------------

# Runs in the page: the frame through the renderer's own pipeline, at its own size, once per choice.
_CLIENT_GREY = """async ({url, renderer, choices}) => {
  const { fetchFrame } = await import(new URL('frame.js', document.baseURI).href);
  const { chooseVoi } = await import(new URL('lut.js', document.baseURI).href);
  const { Canvas2DRenderer } = await import(new URL('render2d.js', document.baseURI).href);
  const { WebGL2Renderer } = await import(new URL('render-webgl.js', document.baseURI).href);
  if (!window.testRenderer) {
    const canvas = document.createElement('canvas');
    window.testRenderer = renderer === 'webgl2' ? WebGL2Renderer.create(canvas) : new Canvas2DRenderer(canvas);
  }
  const frame = await fetchFrame(url);
  if (frame.usePng) return {usePng: frame.reason};
  if (!window.testRenderer.canShow(frame)) return {cannot: true};
  const images = [];
  for (const choice of choices) {
    window.testRenderer.showFrame(frame, chooseVoi(frame, choice.window), choice.invert);
    const grey = window.testRenderer.readGrey();
    let text = '';
    for (let i = 0; i < grey.length; i += 0x8000) text += String.fromCharCode(...grey.subarray(i, i + 0x8000));
    images.push(btoa(text));
  }
  return {columns: frame.columns, rows: frame.rows, windows: frame.windows.length, luts: frame.voiLuts.length,
          renderer: window.testRenderer.name, images};
}"""


def _choices(head: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """(client choice, server query) pairs: the default, inverted, every stored VOI, and explicit windows
    of each function, wide and narrow, around the default window (SIGMOID ones inverted too)."""
    default = head["default"].get("window")
    if default:
        center, width = default["center"], default["width"]
    else:   # a VOI LUT by default: windows over the values' range
        low, high = head["min"] or 0, head["max"] or 1
        center, width = (low + high) / 2, max(1.0, float(high - low))
    pairs: list[tuple[dict[str, Any], str]] = [
        ({"window": None, "invert": False}, ""),
        ({"window": None, "invert": True}, "invert=1"),
    ]
    for k in range(len(head["windows"]) + len(head["voi_luts"])):
        pairs.append(({"window": {"voi": k}, "invert": False}, f"voi={k}"))
    # Wide and narrow: the functions differ by less than a grey level in wide windows.
    for fn, c, w in (("LINEAR", center + width / 7, max(1.0, width / 3)), ("LINEAR", center, 4.0),
                     ("LINEAR", center + 0.25, 1.0),
                     ("LINEAR_EXACT", center - width / 5, width / 2), ("LINEAR_EXACT", center, 3.0),
                     ("SIGMOID", center, width / 4), ("SIGMOID", center, 2.0)):
        pairs.append(({"window": {"center": c, "width": w, "function": fn}, "invert": fn == "SIGMOID"},
                      f"window={c!r},{w!r},{fn.lower()}" + ("&invert=1" if fn == "SIGMOID" else "")))
    return pairs


#: Per renderer, one row per view compared: printed at the end of the comparisons (each asserts its own).
_results: dict[str, list[dict[str, Any]]] = {name: [] for name in RENDERERS}
#: sha256 of the /pixels bodies of an image already compared -> its corpus name.
_compared: dict[str, str] = {}


def _print_equivalence_summary(config: pytest.Config) -> None:
    """Per renderer, how many images and views were compared and the largest difference found."""
    writer = config.get_terminal_writer()
    for renderer, rows in _results.items():
        if rows:
            images = {row["image"] for row in rows}
            differing = sum(row["differing"] for row in rows)
            writer.line(f"\n{renderer}: {len(images)} corpus images, {len(rows)} views compared with the server's "
                        f"PNG; max difference {max(row['max'] for row in rows)} grey level(s); {differing} of "
                        f"{sum(row['pixels'] for row in rows)} pixels differ")


@pytest.fixture(scope="module")
def corpus_pages(browser: Any, orthanc: OrthancProcess, request: pytest.FixtureRequest) -> Iterator[dict[str, Page]]:
    """A page per renderer for the comparisons; at the end, the summary of what they compared."""
    pages = {name: Page(browser, orthanc, name) for name in RENDERERS}
    for page in pages.values():
        page.goto()
        page.page.wait_for_selector("#browse-view[data-state=ready]")
    yield pages
    for page in pages.values():
        page.close()
    _print_equivalence_summary(request.config)


@pytest.mark.parametrize(("name", "path"), GREY, ids=[name for name, _ in GREY])
def test_client_pixels_match_the_server_png(corpus_pages: dict[str, Page], orthanc: OrthancProcess,
                                            name: str, path: Path) -> None:
    """Every grayscale corpus image (frame 0, and the last frame of a multi-frame one), through both
    renderers, under the default VOI, inverted, every stored window and VOI LUT, and LINEAR,
    LINEAR_EXACT and SIGMOID windows: within 1 grey level of the server's gray8 PNG of the same view."""
    instance = _upload(orthanc, path)
    if instance is None:
        assert name in REFUSED_BY_ORTHANC, f"Orthanc refused {name}"
        pytest.skip("Orthanc refuses this file (see test_images_corpus.REFUSED_BY_ORTHANC)")
    info = orthanc.get(f"/previewer/instances/{instance}/info").json()
    frames = sorted({0, int(info["frames"]) - 1})
    bodies = [orthanc.get(f"/previewer/instances/{instance}/frames/{frame}/pixels").content for frame in frames]
    # The client sees only /pixels: a file whose frames send the same bytes as a file already
    # compared (an uncompressed twin of a JPEG 2000 file, say) would repeat that comparison.
    digest = hashlib.sha256(b"".join(bodies)).hexdigest()
    if digest in _compared:
        pytest.skip(f"its /pixels are those of {_compared[digest]}, already compared")
    _compared[digest] = name
    for frame, body in zip(frames, bodies, strict=True):
        url = f"instances/{instance}/frames/{frame}/pixels"
        head, _ = frame_pixels.parse(body)
        pairs = _choices(head)
        for renderer, page in corpus_pages.items():
            answer = page.page.evaluate(_CLIENT_GREY, {"url": url, "renderer": renderer,
                                                       "choices": [choice for choice, _ in pairs]})
            assert not answer.get("usePng") and not answer.get("cannot"), answer
            assert answer["renderer"] == renderer
            for (choice, query), encoded in zip(pairs, answer["images"], strict=True):
                client = np.frombuffer(base64.b64decode(encoded), np.uint8).reshape(answer["rows"], answer["columns"])
                # The client draws no overlay planes (the viewer asks the server for them): overlays=0.
                png = orthanc.get(f"/previewer/instances/{instance}/frames/{frame}/png",
                                  params=[*(tuple(part.split("=", 1)) for part in query.split("&") if part),
                                          ("overlays", "0")])
                assert png.status_code == 200, (query, png.text[:200])
                server = np.asarray(Image.open(io.BytesIO(png.content)))
                assert server.shape == client.shape
                diff = np.abs(server.astype(np.int16) - client.astype(np.int16))
                _results[renderer].append({"image": name, "frame": frame, "query": query,
                                           "max": int(diff.max()), "differing": int((diff > 0).sum()),
                                           "pixels": int(diff.size)})
                assert diff.max() <= 1, f"{renderer} {name} frame {frame} {query}: max difference {diff.max()}"
    assert not any(page.errors for page in corpus_pages.values()), [page.errors for page in corpus_pages.values()]


# --- the viewer on the client path -------------------------------------------------------------

def _until_quiet(page: Page, quiet_ms: int = 1000, timeout_ms: int = 20000) -> None:
    """Wait until the page has made no new request for ``quiet_ms`` (a busy machine delays them)."""
    count, still = -1, 0
    for _ in range(timeout_ms // 100):
        if len(page.requests) != count:
            count, still = len(page.requests), 0
        elif (still := still + 100) >= quiet_ms:
            return
        page.page.wait_for_timeout(100)
    raise AssertionError(f"the page kept making requests for {timeout_ms} ms")


def _drag(page: Page) -> None:
    box = page.page.locator(".viewport canvas").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.page.mouse.move(x, y)
    page.page.mouse.down()
    page.page.mouse.move(x + 120, y - 70, steps=20)
    page.page.mouse.up()


class TestWindowing:
    def test_drag_invert_and_presets_make_no_request(self, page: Page, uploads: dict[str, Any]) -> None:
        """On a single CT: a window/level drag, inversion and a preset change the pixels without any request,
        and the overlay says the client drew them."""
        page.open_series(uploads["ct"]["ParentSeries"])
        assert page.attr("path") == f"client-{page.renderer}"   # type: ignore[attr-defined]
        label = {"canvas": "canvas 2D", "webgl2": "WebGL2"}[page.renderer]   # type: ignore[attr-defined]
        assert page.text(".viewport .overlay-path") == f"Client · {label}"
        _until_quiet(page)   # the instance's info, asked in the background, has arrived
        hashes = [page.pixels_hash()]
        before_requests = len(page.requests)
        for action in (lambda: _drag(page), lambda: page.page.keyboard.press("i"),
                       lambda: page.page.keyboard.press("1"), lambda: page.page.keyboard.press("0")):
            before = page.renders()
            action()
            page.settle(before)
            hashes.append(page.pixels_hash())
        # The browser fetches the favicon on its own schedule: it is not a request of the viewer.
        assert [url for url in page.requests[before_requests:] if not url.endswith("/favicon.svg")] == []
        assert len(set(hashes)) == len(hashes)   # every step changed the image
        assert re.match(r"C -?\d+ +W \d+", page.text(".viewport .overlay-window"))

    def test_copy_url_is_the_server_png_of_the_view(self, page: Page, uploads: dict[str, Any]) -> None:
        """The URL of the view (data-url, Copy PNG URL) is the server's PNG of the same window and inversion."""
        page.open_series(uploads["ct"]["ParentSeries"])
        for key in ("2", "i"):
            before = page.renders()
            page.page.keyboard.press(key)
            page.settle(before)
        url = page.attr("url")
        assert url.endswith("/frames/0/png?window=50,350&invert=1")
        answer = requests.get(f"{page.orthanc.url}/previewer/{url}", timeout=30)
        assert answer.headers["Content-Type"] == "image/png"


# Runs in the page: a renderer on a canvas of its own, the frame drawn at `placements`; what is on the canvas.
_DRAWN = """async ({url, renderer, placements}) => {
  const load = (name) => import(new URL(name, document.baseURI).href);
  const { fetchFrame } = await load('frame.js');
  const { chooseVoi } = await load('lut.js');
  const { Canvas2DRenderer } = await load('render2d.js');
  const { WebGL2Renderer } = await load('render-webgl.js');
  const canvas = document.createElement('canvas');
  canvas.width = 300; canvas.height = 200;
  const r = renderer === 'webgl2' ? WebGL2Renderer.create(canvas) : new Canvas2DRenderer(canvas);
  const frame = await fetchFrame(url);
  r.showFrame(frame, chooseVoi(frame, null), false);
  const native = Array.from(r.readGrey());
  const shots = [];
  for (const placement of placements) {
    r.draw({...placement, dpr: 1});
    const copy = document.createElement('canvas');
    copy.width = canvas.width; copy.height = canvas.height;
    copy.getContext('2d').drawImage(canvas, 0, 0);
    const data = copy.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    shots.push(Array.from(data.filter((_, i) => i % 4 === 0)));
  }
  return {columns: frame.columns, rows: frame.rows, native, shots};
}"""


class TestDrawing:
    def test_one_to_one_is_the_frame_and_smaller_is_its_mean(self, page: Page, uploads: dict[str, Any]) -> None:
        """Drawn at 1:1 on whole pixels the canvas holds the frame's pixels exactly, also when the image lies
        partly outside the canvas; drawn at a quarter of its size it is the frame's 4x4 mean, near enough."""
        page.goto()
        url = f"instances/{uploads['ct']['ID']}/frames/0/pixels"
        answer = page.page.evaluate(_DRAWN, {"url": url, "renderer": page.renderer,   # type: ignore[attr-defined]
                                             "placements": [{"x": 10, "y": 20, "w": 128, "h": 128},
                                                            {"x": -40, "y": -30, "w": 128, "h": 128},
                                                            {"x": 100, "y": 50, "w": 32, "h": 32}]})
        native = np.array(answer["native"], np.uint8).reshape(128, 128)
        shots = [np.array(shot, np.uint8).reshape(200, 300) for shot in answer["shots"]]
        assert np.array_equal(shots[0][20:148, 10:138], native)
        assert np.array_equal(shots[1][0:98, 0:88], native[30:, 40:])
        assert shots[0][:20].max() == 0 and shots[0][148:].max() == 0   # black around the image
        quarter = native.reshape(32, 4, 32, 4).astype(float).mean(axis=(1, 3))
        assert np.abs(shots[2][50:82, 100:132].astype(float) - quarter).mean() < 8


class TestPaths:
    def test_colour_goes_through_server_pngs(self, page: Page, uploads: dict[str, Any]) -> None:
        """An RGB image is drawn from a server PNG, and the overlay says so and why."""
        page.open_series(uploads["rgb"]["ParentSeries"])
        assert page.attr("path") == "server"
        assert page.text(".viewport .overlay-path") == "Server PNG (colour)"
        assert any("/png" in url for url in page.requests)

    def test_modality_values_are_reachable(self, page: Page, uploads: dict[str, Any]) -> None:
        """frame.js gives the modality value (HU) of a pixel, as pydicom computes it from the file."""
        instance = uploads["ct"]["ID"]
        page.goto()
        values = page.page.evaluate("""async (url) => {
          const { fetchFrame } = await import(new URL('frame.js', document.baseURI).href);
          const frame = await fetchFrame(url);
          return [[3, 5], [64, 64], [127, 100]].map(([x, y]) => frame.modalityAt(x, y)).concat([frame.units]);
        }""", f"instances/{instance}/frames/0/pixels")
        ds = pydicom.dcmread(CT_SMALL)
        hu = ds.pixel_array.astype(float) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
        assert values[:3] == [hu[5, 3], hu[64, 64], hu[100, 127]]
        assert values[3] == (ds.get("RescaleType") or None)


def test_auto_choice_in_headless_chromium_is_canvas(browser: Any, orthanc: OrthancProcess,
                                                   uploads: dict[str, Any]) -> None:
    """Without ?renderer, headless Chromium's WebGL2 is SwiftShader (software), so the viewer draws with canvas 2D."""
    page = Page(browser, orthanc, None)
    try:
        page.open_series(uploads["mr"]["ParentSeries"])
        renderer = page.page.evaluate("""() => { const gl = document.createElement('canvas').getContext('webgl2');
            const info = gl.getExtension('WEBGL_debug_renderer_info');
            return gl.getParameter(info.UNMASKED_RENDERER_WEBGL); }""")
        assert "SwiftShader" in renderer
        assert page.attr("path") == "client-canvas" and page.attr("renderer") == "canvas"
    finally:
        page.close()
    assert page.errors == []


def test_without_webgl_the_2d_path_draws(playwright: Any, orthanc: OrthancProcess, uploads: dict[str, Any]) -> None:
    """A browser without WebGL (--disable-3d-apis): even ?renderer=webgl2 falls back to canvas 2D."""
    without_webgl = playwright.chromium.launch(executable_path=chromium(), args=[*CHROMIUM_ARGS, "--disable-3d-apis"],
                                               headless=True)
    page = Page(without_webgl, orthanc, "webgl2")
    try:
        assert page.page.evaluate("() => document.createElement('canvas').getContext('webgl2')") is None
        page.open_series(uploads["ct"]["ParentSeries"])
        assert page.attr("path") == "client-canvas"
        assert page.text(".viewport .overlay-path") == "Client · canvas 2D"
    finally:
        page.close()
        without_webgl.close()
    assert page.errors == []


# --- prefetching and scrolling -----------------------------------------------------------------

def _pixel_requests(urls: list[str], instances: list[str]) -> list[int]:
    """Slice numbers (0-based) of the pixels requests among ``urls``, in order."""
    index = {instance: i for i, instance in enumerate(instances)}
    return [index[m.group(1)] for url in urls if (m := re.search(r"instances/([0-9a-f-]+)/frames/\d+/pixels", url))
            and m.group(1) in index]


class TestPrefetch:
    def test_ahead_first_then_behind_bounded_by_count(self, page: Page, uploads: dict[str, Any]) -> None:
        """Opened at image 10: image 10 first, then the 40 ahead, then the 8 behind, and nothing more."""
        instances = uploads["series"]["instances"]
        page.open_series(uploads["series"]["id"], "?image=10")
        page.page.wait_for_function("() => document.querySelector('.viewport canvas').dataset.fetching === '0'")
        asked = _pixel_requests(page.requests, instances)
        assert asked == [9, *range(10, 50), *range(8, 0, -1)]

    def test_newest_direction_first(self, page: Page, uploads: dict[str, Any]) -> None:
        """After a step back, the frames behind (now ahead) are asked before the others."""
        instances = uploads["series"]["instances"]
        page.open_series(uploads["series"]["id"], "?image=30")
        page.page.wait_for_function("() => document.querySelector('.viewport canvas').dataset.fetching === '0'")
        start = len(page.requests)
        before = page.renders()
        page.page.keyboard.press("ArrowUp")   # to image 29, direction backwards
        page.settle(before)
        page.page.wait_for_function("() => document.querySelector('.viewport canvas').dataset.fetching === '0'")
        asked = _pixel_requests(page.requests[start:], instances)
        # 28 down to 21 were loaded as "behind" image 30; now ahead, backwards: the rest of them, nearest first.
        assert asked == list(range(20, -1, -1))

    def test_jumping_away_aborts_what_is_no_longer_wanted(self, page: Page, uploads: dict[str, Any]) -> None:
        """Requests held in flight for the neighbours of image 1 are aborted when End jumps to the last image."""
        instances = uploads["series"]["instances"]
        held: list[Any] = []

        def hold(route: Any) -> None:
            # Image 1 and the last image answer; the others wait until the test lets them go.
            if instances[0] in route.request.url or instances[-1] in route.request.url:
                route.continue_()
            else:
                held.append(route)

        page.page.route("**/frames/*/pixels", hold)
        page.open_series(uploads["series"]["id"], "?image=1")
        page.page.wait_for_function("() => document.querySelector('.viewport canvas').dataset.fetching === '3'")
        in_flight = _pixel_requests(page.requests, instances)[1:]
        assert in_flight == [1, 2, 3]
        before = page.renders()
        page.page.keyboard.press("End")
        page.settle(before)
        for _ in range(100):   # the aborts reach the page's event queue in their own time
            aborted = _pixel_requests(page.failed, instances)
            if len(aborted) >= 3:
                break
            page.page.wait_for_timeout(100)
        assert sorted(aborted) == [1, 2, 3]
        assert "Image 60 / 60" in page.text(".viewport .overlay-position")
        page.page.unroute("**/frames/*/pixels")
        for route in held:
            try:
                route.continue_()
            except Exception:  # noqa: BLE001 - the page aborted it already
                pass


class TestHoldingAKey:
    def test_held_key_draws_every_slice_to_the_end(self, page: Page, uploads: dict[str, Any]) -> None:
        """One keydown and one repeat, then the key stays down: every slice is drawn in turn, up to the last,
        whatever the repeat rate; keyup stops it."""
        page.open_series(uploads["series"]["id"], "?image=1")
        page.page.evaluate("""() => { window.drawn = [];
          new MutationObserver(() => window.drawn.push(document.querySelector('.viewport .overlay-position').textContent))
            .observe(document.querySelector('.viewport canvas'), {attributes: true, attributeFilter: ['data-renders']}); }""")
        page.page.keyboard.down("ArrowDown")
        page.page.keyboard.down("ArrowDown")   # a repeat: the viewer scrolls on its own from here
        page.page.wait_for_function(f"() => window.drawn.some((t) => t.startsWith('Image {SERIES_SLICES} /'))")
        page.page.keyboard.up("ArrowDown")
        drawn = [int(t.split()[1]) for t in page.page.evaluate("() => window.drawn")]
        assert drawn == list(range(2, SERIES_SLICES + 1))

    def test_keyup_stops_the_scroll(self, page: Page, uploads: dict[str, Any]) -> None:
        """Released halfway, the viewer stays on the image it reached."""
        page.open_series(uploads["series"]["id"], "?image=1")
        page.page.keyboard.down("ArrowDown")
        page.page.keyboard.down("ArrowDown")
        page.page.wait_for_function("() => Number(document.querySelector('#slider').value) >= 5")
        page.page.keyboard.up("ArrowDown")
        reached = page.text(".viewport .overlay-position")
        page.page.wait_for_timeout(300)
        assert page.text(".viewport .overlay-position") == reached
        assert int(reached.split()[1]) < SERIES_SLICES


def test_frame_cache_evicts_least_recent_unwanted_frames(browser: Any, orthanc: OrthancProcess,
                                                        uploads: dict[str, Any]) -> None:
    """frames.js keeps memory within its one budget by dropping the least recently used frames not wanted now."""
    page = Page(browser, orthanc, "canvas")
    try:
        page.goto()
        kept = page.page.evaluate("""async (instances) => {
          const { FrameStore } = await import(new URL('frames.js', document.baseURI).href);
          const { frameUrl } = await import(new URL('frame.js', document.baseURI).href);
          const images = instances.map((instance) => ({instance, frame: 0}));
          let arrived;
          const cache = new FrameStore({urlOf: (image) => frameUrl(image.instance, image.frame),
            budget: 2.5 * 128 * 128 * 2});
          const client = cache.client({onLoad: () => arrived()});
          for (const image of images.slice(0, 4)) {
            await new Promise((resolve) => { arrived = resolve; client.schedule([image]); });
          }
          return images.slice(0, 4).map((image) => cache.has(image)).concat([cache.bytes]);
        }""", uploads["series"]["instances"])
        assert kept[:4] == [False, False, True, True]
        assert kept[4] <= 2.5 * 128 * 128 * 2
    finally:
        page.close()
    assert page.errors == []


def test_every_module_is_preloaded() -> None:
    """index.html preloads every module main.js imports, so that they load in one round trip, not one per level."""
    static = Path(__file__).resolve().parent.parent / "static"
    html = (static / "index.html").read_text()
    preloaded = set(re.findall(r'<link rel="modulepreload" href="([^"]+)">', html))
    assert preloaded == {path.name for path in static.glob("*.js")} - {"main.js"}
