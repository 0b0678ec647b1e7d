"""The viewer's 2x2 layout in headless Chromium: four series of one frame of reference scrolled together, and W/L.

Starts an Orthanc with the plugin and uploads four series of 60 512x512 CT slices in one study and
one Frame of Reference.  No real file holds four such series, so they are built from pydicom-data's
``693_UNCR.dcm``: **only the UIDs, Instance Number, Image Position (Patient) and Slice Location
differ** (the same pixels in every slice; each slice is still its own instance, fetched and drawn on
its own).  The series are offset by 0, 1, 2 and 3 mm, so that each viewport finds its own nearest
slice by position.  A second case uses real slices: the Radiomics Digital Phantom's patient 1 (PyPI's
``pycerr``, ``make testdata``), 60 slices of 204x201, as four series.

Measured, for the viewer's own renderer choice:

- **sync scroll**: the layout opened at image 1, the first viewport active; ArrowDown held (one
  keydown, then repeats 60 times a second) until the active viewport's last slice is drawn.  Counted
  per viewport: images drawn per second (each change of its canvas' ``data-renders``).  *cold*: the
  first pass; *warm*: Home, then the same again.  The figure is the slowest viewport's.
- **window/level drag** in the active viewport of the 2x2, as in ``viewer_fps``: images drawn per
  second by that viewport.

    python -m benchmarks.viewer_sync [--seconds 5]

Writes benchmarks/results/viewer_sync.json and prints a summary.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pydicom
from playwright.async_api import Page, async_playwright
from pydicom.uid import generate_uid

from benchmarks import provenance
from benchmarks.server import BenchOrthanc
from benchmarks.viewer_fps import (CHROMIUM, CHROMIUM_ARGS, CT_FILE, KEY_HZ, RESULTS, ROOT, VIEWPORT, Requests,
                                   _data_store, _drag, _loadavg, _upload)

SLICES = 60
PHANTOM = ROOT / "build" / "testdata" / "radiomics_phantom_dicom" / "pat_1"

# Every draw of every viewport: [time, viewport index, position text].
_INIT = """(() => {
  window.benchDraws = [];
  const watch = (canvas) => {
    const pane = canvas.closest('[data-viewport]');
    new MutationObserver(() => window.benchDraws.push([performance.now(), Number(pane.dataset.viewport),
        (pane.querySelector('.overlay-position') || {}).textContent || '']))
      .observe(canvas, {attributes: true, attributeFilter: ['data-renders']});
  };
  const start = () => {
    const box = document.querySelector('#viewports');
    box.querySelectorAll('canvas').forEach(watch);
    new MutationObserver((changes) => changes.forEach((change) => change.addedNodes.forEach((node) => {
      if (node.querySelector) node.querySelectorAll('canvas').forEach(watch);
    }))).observe(box, {childList: true});
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
})();"""

_READY = """(count) => {
  const panes = [...document.querySelectorAll('[data-viewport]')];
  return panes.length === count && panes.every((p) => p.dataset.state === 'ready' && p.dataset.busy !== '1');
}"""


def _series_of_copies(path: Path, offsets: list[float]) -> list[list[bytes]]:
    """One study and frame of reference; per offset a series of SLICES copies of one slice, offset along z."""
    ds = pydicom.dcmread(path)
    study, frame = generate_uid(), generate_uid()
    thickness = float(ds.get("SliceThickness") or 1.0) or 1.0
    x, y, z = (float(v) for v in ds.ImagePositionPatient)
    out = []
    for offset in offsets:
        series, files = generate_uid(), []
        for index in range(SLICES):
            ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
            ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
            ds.InstanceNumber = index + 1
            ds.ImagePositionPatient = [x, y, z - index * thickness - offset]
            ds.SliceLocation = z - index * thickness - offset
            buffer = io.BytesIO()
            ds.save_as(buffer, enforce_file_format=True)
            files.append(buffer.getvalue())
        out.append(files)
    return out


def _phantom_series() -> list[list[bytes]]:
    """The phantom's 60 slices four times, as four series (new Series and SOP UIDs only): every step of the
    active viewport moves each of the others by one slice, so each draws once per step."""
    paths = sorted(PHANTOM.glob("DCM_IMG_*.dcm"))
    out = []
    for part in (paths, paths, paths, paths):
        series, files = generate_uid(), []
        for number, path in enumerate(part, 1):
            ds = pydicom.dcmread(path)
            ds.SeriesInstanceUID = series
            ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
            ds.InstanceNumber = number
            buffer = io.BytesIO()
            ds.save_as(buffer, enforce_file_format=True)
            files.append(buffer.getvalue())
        out.append(files)
    return out


async def _hold(page: Page, slices: int, timeout: float = 40.0) -> dict[str, Any]:
    """Hold ArrowDown until the active viewport draws its last slice: draws per second of each viewport."""
    await page.evaluate("() => { window.benchDraws = []; }")
    t0 = await page.evaluate("() => performance.now()")
    await page.keyboard.down("ArrowDown")
    start = time.perf_counter()
    repeats = 0
    last = f"Image {slices} / {slices}"
    while time.perf_counter() - start < timeout:
        repeats += 1
        await asyncio.sleep(max(0.0, start + repeats / KEY_HZ - time.perf_counter()))
        await page.keyboard.down("ArrowDown")
        if repeats % 6 == 0 and await page.evaluate(
                "(last) => window.benchDraws.some((d) => d[1] === 0 && d[2].startsWith(last))", last):
            break
    await page.keyboard.up("ArrowDown")
    await page.wait_for_timeout(200)
    draws = await page.evaluate("() => window.benchDraws")
    reached = [t for t, pane, text in draws if pane == 0 and text.startswith(last)]
    end = reached[0] if reached else t0
    seconds = (end - t0) / 1000
    per_pane = {}
    for pane in range(4):
        count = len([1 for t, p, _ in draws if p == pane and t <= end])
        per_pane[str(pane)] = round(count / seconds, 1) if seconds > 0 else None
    rates = [v for v in per_pane.values() if v is not None]
    return {"reached_last": bool(reached), "seconds": round(seconds, 3), "fps_per_viewport": per_pane,
            "fps_slowest": min(rates) if rates else None}


async def _case(orthanc: BenchOrthanc, browser: Any, name: str, series: list[list[bytes]],
                seconds: float) -> dict[str, Any]:
    ids = [[_upload(orthanc, data) for data in files][-1]["ParentSeries"] for files in series]
    query = "&".join(f"v{i}={sid}" for i, sid in enumerate(ids[1:], 1))
    context = await browser.new_context(viewport=VIEWPORT)
    await context.add_init_script(_INIT)
    page = await context.new_page()
    requests = Requests(page)
    await page.goto(f"{orthanc.url}/previewer/index.html#/series/{ids[0]}?image=1&layout=2x2&{query}")
    await page.wait_for_function(_READY, arg=4, timeout=60000)
    await page.locator('[data-viewport="0"] canvas').hover()
    result: dict[str, Any] = {"case": name, "slices": len(series[0]), "loadavg_before": _loadavg()}
    result["cold"] = await _hold(page, len(series[0]))
    await page.keyboard.press("Home")
    await page.wait_for_timeout(800)
    result["warm"] = await _hold(page, len(series[0]))
    # Window/level in the active viewport, its own draws only (viewer_fps._drag counts the first canvas).
    await page.evaluate("() => { window.benchDraws = []; }")
    active = '[data-viewport="0"] canvas'
    await _drag(page, requests, 1.0, active)
    result["drag"] = await _drag(page, requests, seconds, active)
    result["drag"].pop("path", None)
    result["path"] = await page.get_attribute('[data-viewport="0"] canvas', "data-path")
    result["loadavg_after"] = _loadavg()
    await context.close()
    return result


async def run(seconds: float) -> dict[str, Any]:
    orthanc = BenchOrthanc(previewer={"WarmOnIngest": False})
    orthanc.start()
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            cases = [await _case(orthanc, browser, "ct-512 copies, 4 series of 60",
                                 _series_of_copies(_data_store() / CT_FILE, [0.0, 1.0, 2.0, 3.0]), seconds)]
            if PHANTOM.exists():
                cases.append(await _case(orthanc, browser, "phantom pat_1 204x201, 4 series of 60", _phantom_series(),
                                         seconds))
            version = browser.version
            await browser.close()
        return {"benchmark": "viewer: 2x2 layout, scroll synchronised by position, window/level",
                "viewport": VIEWPORT, "key_hz": KEY_HZ, "seconds": seconds, "chromium": version,
                "orthanc": orthanc.version(),
                "machine": {"python": platform.python_version(), "cpus": len(os.sched_getaffinity(0)),
                            "platform": platform.platform()},
                "cases": cases}
    finally:
        orthanc.cleanup()


def run_sync(seconds: float = 5.0) -> dict[str, Any]:
    """The whole run (benchmarks.run's viewer_sync section)."""
    return asyncio.run(run(seconds))


def summary(report: dict[str, Any]) -> str:
    lines = []
    for case in report["cases"]:
        lines.append(f"{case['case']} ({case['path']}), load {case['loadavg_before']} → {case['loadavg_after']}")
        for key in ("cold", "warm"):
            scroll = case[key]
            lines.append(f"  sync scroll {key}: slowest viewport {scroll['fps_slowest']} fps "
                         f"{scroll['fps_per_viewport']} (reached last: {scroll['reached_last']})")
        lines.append(f"  W/L drag in the 2x2: {case['drag']['fps']} fps, {case['drag']['requests_during_drag']} requests")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the measured drag")
    args = parser.parse_args()
    record = provenance.start(provenance.command(sys.argv[1:], "benchmarks.viewer_sync"))
    started = time.monotonic()
    report = asyncio.run(run(args.seconds))
    report["provenance"] = provenance.finish(record, started)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "viewer_sync.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(summary(report))
    print(f"written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
