"""The browser viewer in headless Chromium: window/level drag, first image, scrolling.

Starts an Orthanc with the plugin (non-verbose, ``WarmOnIngest`` off so that a
series nobody has viewed is cold on the server too) and uploads:

- a real 512x512 CT (pydicom-data's ``693_UNCR.dcm``) and the 1955x1841 CR
  (``RG1_UNCI.dcm``), a fresh copy (new UIDs) for every first-image
  measurement, so that each one is the first request on its instance;
- a 100-slice CT series, which the corpus lacks: 100 copies of
  ``693_UNCR.dcm`` in one new study and series, of which **only the UIDs,
  Instance Number, Image Position (Patient) and Slice Location differ** (the
  pixels are the same in every slice; each slice is still its own instance,
  decoded and sent on its own).  One series per renderer, never viewed before
  its cold pass.

Then, for each renderer (the viewer's own choice, and ``?renderer=webgl2``
forced; the two are the same when the browser offers no other):

- **drag**: the left button held while the mouse moves 60 times a second in a
  figure of eight for a few seconds (CDP ``Input.dispatchMouseEvent``, sent
  without waiting for each to be handled, as a mouse does), on the CT fitted
  to the 1280x800 window and on the CR fitted and at 1:1.  Counted: images
  drawn per second (each change of the canvas' ``data-renders``) and every
  request the page makes between button down and up.
- **first image**: a fresh browser context opens the series of a fresh copy;
  time from navigation start to the first image drawn.
- **MPR** (benchmarks/viewer_mpr.py): a 512x512x300 CT volume derived from a real series, opened
  in the MPR layout (first coronal image, and the coronal from every slice), and the crosshair
  dragged in the axial viewport (planes drawn per second by the two that move).
- **scroll**: the 100-slice series opened at image 1, then ArrowDown held:
  one keydown, then repeats 60 times a second (faster than any desktop's key
  repeat, so that the viewer, not the repeat rate, sets the pace) until the
  last slice is drawn.  Counted: distinct slices drawn per second from the
  first keydown to the last slice.  *cold*: the first pass on the never-viewed
  series; *warm*: Home, then the same again.

The pre-change viewer can be measured with the same script (``--label
before``): its PNG-per-window drag and its keydown-per-step scrolling run the
same input.

    python -m benchmarks.viewer_fps [--seconds 5] [--label after|before] [--package DIR --plugin SO]

Writes benchmarks/results/viewer_fps.json (or viewer_fps_before.json) and
prints a summary.  Record the load average: the machine's 2 CPUs run Orthanc,
Chromium and this script at once.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import itertools
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):   # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pydicom
from playwright.async_api import Page, async_playwright
from pydicom.uid import generate_uid

from benchmarks import provenance
from benchmarks.server import BenchOrthanc

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 800}
MOVE_HZ = 60
KEY_HZ = 60
SLICES = 100
CT_FILE, CR_FILE = "693_UNCR.dcm", "RG1_UNCI.dcm"

DRAG_CASES = [
    {"key": "ct-512", "file": CT_FILE, "label": "CT 512x512 (693_UNCR)", "view": "fit"},
    {"key": "cr-fit", "file": CR_FILE, "label": "CR 1955x1841 (RG1_UNCI)", "view": "fit"},
    {"key": "cr-1to1", "file": CR_FILE, "label": "CR 1955x1841 (RG1_UNCI)", "view": "1:1"},
]

# Installed before the page's scripts: a time stamp, the slice shown and the
# path of every image drawn (each change of the canvas' data-renders).
_INIT = """(() => {
  window.benchDraws = [];
  const watch = () => {
    const canvas = document.querySelector('.viewport canvas');
    if (!canvas) return;
    new MutationObserver(() => window.benchDraws.push([performance.now(),
        (document.querySelector('.viewport .overlay-position') || {}).textContent || '', canvas.dataset.path || 'server']))
      .observe(canvas, {attributes: true, attributeFilter: ['data-renders']});
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', watch); else watch();
})();"""

_SETTLED = """(before) => {
  const canvas = document.querySelector('.viewport canvas');
  return Number(canvas.dataset.renders) > before && canvas.dataset.busy !== '1';
}"""


def _data_store() -> Path:
    import data_store  # pydicom-data's package
    return Path(data_store.__file__).resolve().parent / "data"


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _copy(path: Path) -> bytes:
    """The file with new Study, Series and SOP Instance UIDs."""
    ds = pydicom.dcmread(path)
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def ct_series(path: Path, slices: int = SLICES) -> list[bytes]:
    """``slices`` copies of one CT slice as one series: only UIDs, Instance Number and position differ."""
    ds = pydicom.dcmread(path)
    study, series = generate_uid(), generate_uid()
    thickness = float(ds.get("SliceThickness") or 1.0) or 1.0
    x, y, z = (float(v) for v in ds.ImagePositionPatient)
    out = []
    for index in range(slices):
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.InstanceNumber = index + 1
        ds.ImagePositionPatient = [x, y, z - index * thickness]
        ds.SliceLocation = z - index * thickness
        buffer = io.BytesIO()
        ds.save_as(buffer, enforce_file_format=True)
        out.append(buffer.getvalue())
    return out


def _upload(orthanc: BenchOrthanc, data: bytes) -> dict[str, Any]:
    answer = orthanc.http.post(orthanc.url + "/instances", data=data, timeout=120)
    answer.raise_for_status()
    return answer.json()  # type: ignore[no-any-return]


async def _open(page: Page, url: str, timeout: float = 60000) -> None:
    await page.goto(url)
    await page.wait_for_function(_SETTLED, arg=0, timeout=timeout)


class Requests:
    """Every request a page makes, with the page-clock-free wall time it was seen."""

    def __init__(self, page: Page) -> None:
        self.seen: list[tuple[float, str]] = []
        page.on("request", lambda request: self.seen.append((time.perf_counter(), request.url)))

    def between(self, start: float, end: float) -> list[str]:
        return [url for t, url in self.seen if start <= t <= end]


async def figure_eight(page: Page, cx: float, cy: float, seconds: float, rx: float, ry: float) -> dict[str, float]:
    """The left button pressed at (cx, cy), then moved ``MOVE_HZ`` times a second in a figure of eight of radii
    (rx, ry) for ``seconds`` (CDP, each move sent without waiting for the last, as a mouse does), and released.
    Returns the page clock's start and end (ms), the wall clock's (s) and the moves sent."""
    cdp = await page.context.new_cdp_session(page)
    await page.mouse.move(cx, cy)
    wall_start = time.perf_counter()
    await cdp.send("Input.dispatchMouseEvent", {"type": "mousePressed", "x": cx, "y": cy, "button": "left",
                                                "buttons": 1, "clickCount": 1})
    page_start = await page.evaluate("() => performance.now()")
    sends: list[asyncio.Future[Any]] = []
    moves = 0
    start = time.perf_counter()
    while (now := time.perf_counter() - start) < seconds:
        x, y = cx + rx * math.sin(now * 1.3), cy + ry * math.sin(now * 2.1)
        sends.append(asyncio.ensure_future(cdp.send("Input.dispatchMouseEvent", {
            "type": "mouseMoved", "x": x, "y": y, "button": "left", "buttons": 1})))
        moves += 1
        await asyncio.sleep(max(0.0, start + moves / MOVE_HZ - time.perf_counter()))
    await asyncio.gather(*sends)
    page_end = await page.evaluate("() => performance.now()")
    await cdp.send("Input.dispatchMouseEvent", {"type": "mouseReleased", "x": cx, "y": cy, "button": "left",
                                                "buttons": 0, "clickCount": 1})
    wall_end = time.perf_counter()
    await cdp.detach()
    return {"page_start": page_start, "page_end": page_end, "wall_start": wall_start, "wall_end": wall_end,
            "moves": moves}


async def _drag(page: Page, requests: Requests, seconds: float, canvas: str = ".viewport canvas") -> dict[str, Any]:
    """Drag on ``canvas`` for ``seconds``: images drawn and requests made meanwhile."""
    box = await page.locator(canvas).bounding_box()
    assert box is not None
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    await page.evaluate("() => { window.benchDraws = []; }")
    dragged = await figure_eight(page, cx, cy, seconds, 220, 120)
    page_start, page_end, moves = dragged["page_start"], dragged["page_end"], dragged["moves"]
    wall_start, wall_end = dragged["wall_start"], dragged["wall_end"]
    draws = [d for d in await page.evaluate("() => window.benchDraws") if page_start <= d[0] <= page_end]
    elapsed = (page_end - page_start) / 1000
    stamps = [d[0] for d in draws]
    intervals = [b - a for a, b in itertools.pairwise(stamps)]
    during = requests.between(wall_start, wall_end)
    return {
        "duration_s": round(elapsed, 3),
        "mouse_moves": moves,
        "mouse_moves_per_s": round(moves / elapsed, 1),
        "images_drawn": len(stamps),
        "fps": round(len(stamps) / elapsed, 1),
        "median_interval_ms": round(statistics.median(intervals), 1) if intervals else None,
        "p95_interval_ms": round(sorted(intervals)[int(0.95 * (len(intervals) - 1))], 1) if intervals else None,
        "requests_during_drag": len(during),
        "request_examples": sorted({url.split("?")[0].rsplit("/", 1)[-1] for url in during})[:5],
        "path": draws[-1][2] if draws else None,
    }


def _slice(text: str) -> int | None:
    parts = text.split()
    return int(parts[1]) if len(parts) >= 2 and parts[0] == "Image" and parts[1].isdigit() else None


async def _hold(page: Page, slices: int, timeout: float = 30.0) -> dict[str, Any]:
    """Hold ArrowDown from image 1 until the last slice is drawn: distinct slices drawn per second."""
    await page.evaluate("() => { window.benchDraws = []; }")
    t0 = await page.evaluate("() => performance.now()")
    await page.keyboard.down("ArrowDown")
    start = time.perf_counter()
    repeats = 0
    last = f"Image {slices} / {slices}"
    while time.perf_counter() - start < timeout:
        repeats += 1
        await asyncio.sleep(max(0.0, start + repeats / KEY_HZ - time.perf_counter()))
        await page.keyboard.down("ArrowDown")   # Playwright sends it with repeat = true
        if repeats % 6 == 0 and await page.evaluate(
                "(last) => window.benchDraws.some((d) => d[1].startsWith(last))", last):
            break
    await page.keyboard.up("ArrowDown")
    draws = await page.evaluate("() => window.benchDraws")
    shown = [(t, _slice(text)) for t, text, _ in draws if _slice(text) is not None]
    reached = [t for t, number in shown if number == slices]
    end = reached[0] if reached else (shown[-1][0] if shown else t0)
    distinct = {number for t, number in shown if t <= end and number != 1}
    seconds = (end - t0) / 1000
    return {
        "reached_last": bool(reached),
        "seconds": round(seconds, 3),
        "distinct_slices_drawn": len(distinct),
        "draws": len([1 for t, _ in shown if t <= end]),
        "slices_per_s": round(len(distinct) / seconds, 1) if seconds > 0 else None,
        "path": draws[-1][2] if draws else None,
    }


async def _renderer_info(page: Page) -> dict[str, Any]:
    info: dict[str, Any] = await page.evaluate("""() => {
      const canvas = document.querySelector('.viewport canvas');
      const probe = document.createElement('canvas').getContext('webgl2');
      const info = probe && probe.getExtension('WEBGL_debug_renderer_info');
      return {path: canvas.dataset.path || 'server',
              overlay: (document.querySelector('.viewport .overlay-path') || {}).textContent || null,
              webgl2: probe ? String(probe.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : probe.RENDERER)) : null};
    }""")
    return info


async def _measure(orthanc: BenchOrthanc, browser: Any, query: str, seconds: float) -> dict[str, Any]:
    data = _data_store()
    page_url = f"{orthanc.url}/previewer/index.html{query}"
    result: dict[str, Any] = {"query": query, "loadavg_before": _loadavg()}

    # First image: a fresh context (no HTTP cache) on a fresh copy (cold on the server).
    first: dict[str, Any] = {}
    for key, name in (("ct-512", CT_FILE), ("cr", CR_FILE)):
        series = _upload(orthanc, _copy(data / name))["ParentSeries"]
        context = await browser.new_context(viewport=VIEWPORT)
        await context.add_init_script(_INIT)
        page = await context.new_page()
        await _open(page, f"{page_url}#/series/{series}")
        draws = await page.evaluate("() => window.benchDraws")
        first[key] = {"first_image_ms": round(draws[0][0], 1) if draws else None, "path": draws[0][2] if draws else None}
        await context.close()
    result["first_image"] = first

    # Drag.
    drag = []
    series_of = {name: _upload(orthanc, _copy(data / name))["ParentSeries"] for name in (CT_FILE, CR_FILE)}
    for case in DRAG_CASES:
        context = await browser.new_context(viewport=VIEWPORT)
        await context.add_init_script(_INIT)
        page = await context.new_page()
        requests = Requests(page)
        await _open(page, f"{page_url}#/series/{series_of[case['file']]}")
        if case["view"] == "1:1":
            await page.click("#actual")
            await page.wait_for_function("() => document.querySelector('.viewport .overlay-zoom').textContent === 'Zoom 100%'")
            await page.wait_for_timeout(300)   # a server-path viewer asks for the sharper PNG after 120 ms
            await page.wait_for_function("() => document.querySelector('.viewport canvas').dataset.busy !== '1'")
        await _drag(page, requests, 1.0)   # warm-up: JIT, caches
        await page.wait_for_timeout(500)
        measured = await _drag(page, requests, seconds)
        ds = pydicom.dcmread(data / case["file"], stop_before_pixels=True)
        drag.append({**case, "rows": int(ds.Rows), "columns": int(ds.Columns),
                     "zoom": await page.text_content(".viewport .overlay-zoom"), **measured})
        if case["key"] == "ct-512":
            result["renderer"] = await _renderer_info(page)
        await context.close()
    result["drag"] = drag

    # Scroll through a never-viewed 100-slice series, then again.
    series = None
    for data_bytes in ct_series(data / CT_FILE):
        series = _upload(orthanc, data_bytes)["ParentSeries"]
    context = await browser.new_context(viewport=VIEWPORT)
    await context.add_init_script(_INIT)
    page = await context.new_page()
    await _open(page, f"{page_url}#/series/{series}?image=1")
    await page.locator(".viewport canvas").hover()
    cold = await _hold(page, SLICES)
    await page.keyboard.press("Home")
    await page.wait_for_function("() => document.querySelector('.viewport .overlay-position').textContent.startsWith('Image 1 /')")
    await page.wait_for_timeout(300)
    warm = await _hold(page, SLICES)
    await context.close()
    result["scroll"] = {"slices": SLICES, "cold": cold, "warm": warm}
    result["loadavg_after"] = _loadavg()
    return result


async def run(seconds: float, label: str, package: Path | None = None, plugin: Path | None = None) -> dict[str, Any]:
    """The whole measurement; with ``package`` (a folder holding another revision's ``previewer``, put on
    Orthanc's PYTHONPATH) and ``plugin`` (that revision's build of the library), of that revision's viewer."""
    orthanc = BenchOrthanc(previewer={"WarmOnIngest": False}, plugin=plugin)
    if package is not None:
        orthanc.env = {"PYTHONPATH": str(package.resolve())}
    orthanc.start()
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            runs = {"auto": await _measure(orthanc, browser, "", seconds)}
            mpr = None
            if label != "before":
                runs["webgl2"] = await _measure(orthanc, browser, "?renderer=webgl2", seconds)
                from benchmarks.viewer_mpr import measure_mpr
                mpr = await measure_mpr(orthanc, browser, VIEWPORT, seconds, _loadavg)
            version = browser.version
            await browser.close()
        return {
            "benchmark": "viewer: window/level drag, first image, scrolling",
            "label": label,
            "viewport": VIEWPORT,
            "move_hz": MOVE_HZ,
            "key_hz": KEY_HZ,
            "seconds": seconds,
            "chromium": version,
            "chromium_args": CHROMIUM_ARGS,
            "orthanc": orthanc.version(),
            "package": str(package) if package is not None else "this checkout",
            "machine": {"python": platform.python_version(), "cpus": len(os.sched_getaffinity(0)),
                        "platform": platform.platform()},
            "runs": runs,
            "mpr": mpr,
        }
    finally:
        orthanc.cleanup()


def measure(seconds: float = 5.0) -> dict[str, Any]:
    """The whole run for the viewer as it is (benchmarks.run's viewer_fps section)."""
    return asyncio.run(run(seconds, "after"))


def summary(report: dict[str, Any]) -> str:
    lines = []
    for name, result in report["runs"].items():
        lines.append(f"{name} ({result.get('renderer', {}).get('path')}), load {result['loadavg_before']} → "
                     f"{result['loadavg_after']}")
        for case in result["drag"]:
            lines.append(f"  drag {case['key']}: {case['fps']} fps, {case['requests_during_drag']} requests "
                         f"({case['mouse_moves_per_s']} moves/s)")
        for key, first in result["first_image"].items():
            lines.append(f"  first image {key}: {first['first_image_ms']} ms")
        for key in ("cold", "warm"):
            scroll = result["scroll"][key]
            lines.append(f"  scroll {key}: {scroll['slices_per_s']} slices/s ({scroll['distinct_slices_drawn']} "
                         f"in {scroll['seconds']} s, reached last: {scroll['reached_last']})")
    mpr = report.get("mpr")
    if mpr:
        opened, drag = mpr["open"], mpr["crosshair_drag"]
        lines.append(f"MPR {mpr['volume']}, load {mpr['loadavg_before']} → {mpr['loadavg_after']}")
        lines.append(f"  open: first coronal {opened['first_coronal_ms']} ms ({opened['slices_at_first_coronal']} slices), "
                     f"from every slice {opened['complete_coronal_ms']} ms")
        lines.append(f"  crosshair drag: {drag['fps_slowest_moving']} fps (slower of coronal and sagittal; "
                     f"{drag['fps_per_viewport']}, {drag['mouse_moves_per_s']} moves/s)")
        if mpr.get("webgl2"):
            gpu = mpr["webgl2"]
            lines.append(f"  webgl2: first coronal {gpu['open']['first_coronal_ms']} ms, crosshair drag "
                         f"{gpu['crosshair_drag']['fps_slowest_moving']} fps")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each measured drag")
    parser.add_argument("--label", default="after", choices=["after", "before"],
                        help="'before' measures a pre-change viewer (one renderer) into viewer_fps_before.json")
    parser.add_argument("--package", type=Path, help="folder holding another revision's previewer package")
    parser.add_argument("--plugin", type=Path, help="that revision's build of libOrthancPreviewer.so")
    args = parser.parse_args()
    record = provenance.start(provenance.command(sys.argv[1:], "benchmarks.viewer_fps"))
    started = time.monotonic()
    report = asyncio.run(run(args.seconds, args.label, args.package, args.plugin))
    report["provenance"] = provenance.finish(record, started)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / ("viewer_fps.json" if args.label == "after" else "viewer_fps_before.json")
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(summary(report))
    print(f"written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
