"""The viewer's MPR layout in headless Chromium on a 512x512x300 CT volume (part of ``viewer_fps``).

The volume is derived from a real series (benchmarks/volume_data.py: the Radiomics Digital
Phantom's patient 1 resampled to 512x512x300).  Measured, for the viewer's own renderer choice:

- **open**: a fresh page on ``#/series/{id}?layout=mpr`` (the series never viewed): time from
  navigation start to the first coronal image drawn (while the volume loads, interpolated between
  the slices already here), and to the coronal drawn from every slice.
- **crosshair drag**: in the axial viewport, the left button held on the crosshair's centre while
  the mouse moves 60 times a second in a figure of eight (``viewer_fps.figure_eight``); each move
  moves the coronal and the sagittal plane.  Counted: planes drawn per second by the coronal and by
  the sagittal viewport (changes of their canvas' ``data-renders``); the figure is the slower one's.

Then the same again with ``?renderer=webgl2``, whose planes come from the WebGL2 3D texture
(static/mpr-webgl.js; the ``webgl2`` key of the result): headless Chromium's WebGL is SwiftShader, on
the CPU, so this measures the GPU path's code, not a GPU.  Its open is the series' second (the
server's frame cache holds the volume by then).
"""
from __future__ import annotations

from typing import Any

from playwright.async_api import Browser

from benchmarks.server import BenchOrthanc
from benchmarks.viewer_fps import figure_eight
from benchmarks.volume_data import phantom_volume

# Every draw of every MPR viewport: [time, viewport index, slices loaded].
_INIT = """(() => {
  window.benchDraws = [];
  const seen = new WeakSet();
  const watch = () => document.querySelectorAll('[data-viewport] canvas').forEach((canvas) => {
    if (seen.has(canvas)) return;
    seen.add(canvas);
    const pane = canvas.closest('[data-viewport]');
    new MutationObserver(() => window.benchDraws.push([performance.now(), Number(pane.dataset.viewport),
        Number(pane.dataset.loaded || 0), Number(pane.dataset.total || 0)]))
      .observe(canvas, {attributes: true, attributeFilter: ['data-renders']});
  });
  const start = () => {
    watch();
    new MutationObserver(watch).observe(document.body, {childList: true, subtree: true});
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
})();"""

_COMPLETE = """() => window.benchDraws.some((d) => d[1] === 1 && d[3] > 0 && d[2] === d[3])"""


async def _open(browser: Browser, url: str, viewport: Any) -> tuple[Any, dict[str, Any]]:
    context = await browser.new_context(viewport=viewport)
    await context.add_init_script(_INIT)
    page = await context.new_page()
    await page.goto(url)
    await page.wait_for_function(_COMPLETE, timeout=120000)
    draws = await page.evaluate("() => window.benchDraws")
    start = await page.evaluate("() => performance.timeOrigin && performance.getEntriesByType('navigation')[0].startTime")
    coronal = [d for d in draws if d[1] == 1]
    first = coronal[0]
    complete = next(d for d in coronal if d[2] == d[3])
    return page, {"first_coronal_ms": round(first[0] - start), "slices_at_first_coronal": first[2],
                  "complete_coronal_ms": round(complete[0] - start), "slices": complete[3]}


async def _drag(page: Any, seconds: float) -> dict[str, Any]:
    """Hold the axial crosshair's centre and move in a figure of eight: planes drawn per second."""
    box = await page.locator('[data-viewport="0"] canvas').bounding_box()
    circle = page.locator('[data-viewport="0"] .crosshair-centre')
    cx = box["x"] + float(await circle.get_attribute("cx"))
    cy = box["y"] + float(await circle.get_attribute("cy"))
    await page.evaluate("() => { window.benchDraws = []; }")
    dragged = await figure_eight(page, cx, cy, seconds, 120, 90)
    page_start, page_end, moves = dragged["page_start"], dragged["page_end"], dragged["moves"]
    draws = [d for d in await page.evaluate("() => window.benchDraws") if page_start <= d[0] <= page_end]
    elapsed = (page_end - page_start) / 1000
    rates = {name: round(len([d for d in draws if d[1] == index]) / elapsed, 1)
             for index, name in ((0, "axial"), (1, "coronal"), (2, "sagittal"))}
    timings = await page.evaluate("""() => [...document.querySelectorAll('[data-viewport]')]
        .map((p) => [p.dataset.reformatMs, p.dataset.drawMs])""")
    sizes = await page.evaluate("""() => [...document.querySelectorAll('[data-viewport] canvas')]
        .map((c) => `${c.width}x${c.height}`)""")
    return {"duration_s": round(elapsed, 3), "mouse_moves_per_s": round(moves / elapsed, 1), "fps_per_viewport": rates,
            "fps_slowest_moving": min(rates["coronal"], rates["sagittal"]), "canvas_sizes": sizes,
            "last_reformat_and_draw_ms": dict(zip(("axial", "coronal", "sagittal"), timings))}


async def measure_mpr(orthanc: BenchOrthanc, browser: Browser, viewport: Any, seconds: float,
                      loadavg: Any) -> dict[str, Any]:
    """Upload the derived volume, open it in the MPR layout, drag the crosshair."""
    files = phantom_volume()
    series = [orthanc.http.post(orthanc.url + "/instances", data=data, timeout=120).json() for data in files][-1]["ParentSeries"]
    volume = orthanc.http.get(f"{orthanc.url}/previewer/api/series/{series}/volume", timeout=120).json()
    result: dict[str, Any] = {"volume": f"{volume['columns']}x{volume['rows']}x{volume['slices']}",
                              "spacing": volume["spacing"], "loadavg_before": loadavg()}
    for search, key in (("", None), ("?renderer=webgl2", "webgl2")):
        page, opened = await _open(browser, f"{orthanc.url}/previewer/index.html{search}#/series/{series}?layout=mpr",
                                   viewport)
        await page.wait_for_timeout(500)
        await _drag(page, 1.0)   # warm-up: the buffers and the renderer's code
        run = {"open": opened, "crosshair_drag": await _drag(page, seconds),
               "engine": await page.evaluate("() => document.querySelector('[data-viewport=\"1\"]').dataset.reformat"),
               "coronal_position_after": await page.evaluate(
                   "() => document.querySelector('[data-viewport=\"1\"]').dataset.position")}
        await page.context.close()
        if key is None:
            result.update(run)
        else:
            result[key] = run
    result["loadavg_after"] = loadavg()
    return result
