"""Window/level update rate of the browser viewer during a scripted drag.

Starts an Orthanc with the plugin (non-verbose), uploads a real 512x512 CT
(pydicom-data's 693_UNCR.dcm) and the 1955x1841 CR (RG1_UNCI.dcm), opens
each in the viewer in headless Chromium, and holds the left button down
while the mouse moves ~60 times a second for a few seconds.  Every mouse
move asks for a new window; the viewer keeps at most one render request in
flight, so the rate at which new images reach the canvas is the rate a
person sees.  The CR is measured twice: fitted to the 1280x800 window (the
viewer then asks for a screen-sized PNG) and at 1:1 (full resolution).

    python -m benchmarks.viewer_fps [--seconds 5]

Writes benchmarks/results/viewer_fps.json and prints a markdown table.
"""
from __future__ import annotations

import argparse
import itertools
import json
import math
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):   # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pydicom
from playwright.sync_api import Page, sync_playwright

from benchmarks.server import BenchOrthanc

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "viewer_fps.json"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 800}
MOVE_INTERVAL = 1 / 60


def _data_store() -> Path:
    import data_store  # pydicom-data's package
    return Path(data_store.__file__).resolve().parent / "data"


CASES = [
    {"key": "ct-512", "file": "693_UNCR.dcm", "label": "CT 512x512 (693_UNCR)", "view": "fit"},
    {"key": "cr-fit", "file": "RG1_UNCI.dcm", "label": "CR 1955x1841 (RG1_UNCI)", "view": "fit"},
    {"key": "cr-1to1", "file": "RG1_UNCI.dcm", "label": "CR 1955x1841 (RG1_UNCI)", "view": "1:1"},
]

# Timestamps of every image the viewer draws (the canvas' data-renders changes).
_RECORD = """() => {
  window.benchStamps = [];
  if (window.benchObserver) return;
  window.benchObserver = new MutationObserver(() => window.benchStamps.push(performance.now()));
  window.benchObserver.observe(document.querySelector('#canvas'), {attributes: true, attributeFilter: ['data-renders']});
}"""

_SETTLED = """(before) => {
  const canvas = document.querySelector('#canvas');
  return Number(canvas.dataset.renders) > before && canvas.dataset.busy !== '1';
}"""


def _renders(page: Page) -> int:
    return int(page.get_attribute("#canvas", "data-renders") or 0)


def _drag(page: Page, seconds: float) -> dict[str, Any]:
    """Drag for ``seconds``; the images drawn meanwhile and their timing."""
    box = page.locator("#canvas").bounding_box()
    assert box is not None
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    page.evaluate(_RECORD)
    page.mouse.down()
    start = time.perf_counter()
    page_start = page.evaluate("() => performance.now()")
    moves = 0
    while time.perf_counter() - start < seconds:
        t = time.perf_counter() - start
        # A slow figure of eight: width and center both keep changing.
        page.mouse.move(cx + 220 * math.sin(t * 1.3), cy + 120 * math.sin(t * 2.1))
        moves += 1
        time.sleep(max(0.0, MOVE_INTERVAL - (time.perf_counter() - start - t)))
    page_end = page.evaluate("() => performance.now()")
    page.mouse.up()
    stamps = [s for s in page.evaluate("() => window.benchStamps") if page_start <= s <= page_end]
    elapsed = (page_end - page_start) / 1000
    intervals = [b - a for a, b in itertools.pairwise(stamps)]
    return {
        "duration_s": round(elapsed, 3),
        "mouse_moves": moves,
        "mouse_moves_per_s": round(moves / elapsed, 1),
        "images_drawn": len(stamps),
        "fps": round(len(stamps) / elapsed, 1),
        "median_interval_ms": round(statistics.median(intervals), 1) if intervals else None,
        "p95_interval_ms": round(sorted(intervals)[int(0.95 * (len(intervals) - 1))], 1) if intervals else None,
        "requested": page.get_attribute("#canvas", "data-url"),   # the last image of the drag
    }


def run(seconds: float) -> dict[str, Any]:
    data = _data_store()
    orthanc = BenchOrthanc(previewer={})
    orthanc.start()
    try:
        series = {}
        for case in CASES:
            if case["file"] not in series:
                series[case["file"]] = orthanc.upload(data / case["file"])["ParentSeries"]
        results = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            for case in CASES:
                page = browser.new_page(viewport=VIEWPORT)
                page.goto(f"{orthanc.url}/previewer/index.html#/series/{series[case['file']]}")
                page.wait_for_function(_SETTLED, arg=0, timeout=60000)
                if case["view"] == "1:1":
                    before = _renders(page)
                    page.click("#actual")
                    page.wait_for_function(_SETTLED, arg=before, timeout=60000)
                _drag(page, 1.0)   # warm-up: decoded frame cached, JIT warm
                page.wait_for_timeout(500)
                measured = _drag(page, seconds)
                ds = pydicom.dcmread(data / case["file"], stop_before_pixels=True)
                results.append({**case, "rows": int(ds.Rows), "columns": int(ds.Columns),
                                "zoom": page.text_content("#overlay-zoom"), **measured})
                page.close()
            chromium_version = browser.version
            browser.close()
        return {
            "benchmark": "viewer window/level drag",
            "viewport": VIEWPORT,
            "move_interval_ms": round(MOVE_INTERVAL * 1000, 1),
            "seconds": seconds,
            "chromium": chromium_version,
            "orthanc": orthanc.version(),
            "machine": {"python": platform.python_version(), "cpus": _cpus(), "platform": platform.platform()},
            "results": results,
        }
    finally:
        orthanc.cleanup()


def _cpus() -> int | None:
    import os
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def table(report: dict[str, Any]) -> str:
    lines = [
        "| Image | View | PNG asked for while dragging | Mouse moves/s | Images drawn/s (fps) | Median interval | p95 interval |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        size = "full size" if "size=" not in (r["requested"] or "") else r["requested"].split("size=")[1].split("&")[0] + " px box"
        lines.append(f"| {r['label']} | {r['view']} ({r['zoom'].replace('Zoom ', '')}) | {size} | "
                     f"{r['mouse_moves_per_s']} | **{r['fps']}** | {r['median_interval_ms']} ms | {r['p95_interval_ms']} ms |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the measured drag")
    args = parser.parse_args()
    report = run(args.seconds)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(table(report))
    print(f"\n{report['viewport']['width']}x{report['viewport']['height']} headless Chromium {report['chromium']}, "
          f"Orthanc {report['orthanc']}, {report['machine']['cpus']} CPUs; written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
