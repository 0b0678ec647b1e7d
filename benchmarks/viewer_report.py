"""The viewer part of RESULTS.md: the viewer's targets, and the viewer before and after.

Rendered from ``results/viewer_fps.json`` (``viewer_fps.py``, the viewer as
it is) and, when present, ``results/viewer_fps_before.json`` (the same script
run against the viewer that asked the server for every window).  Every number
comes from those files.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

Table = Callable[[list[str], list[list[Any]]], str]

DRAG_TARGET = 55.0
COLD_TARGET = 20.0
WARM_TARGET = 55.0
QUIET_LOAD = 0.6


SYNC_TARGET = 55.0


def _drag(run: dict[str, Any], key: str) -> dict[str, Any] | None:
    return next((case for case in run["drag"] if case["key"] == key), None)


def _load(run: dict[str, Any]) -> float:
    return float(run["loadavg_before"].split()[0])


def targets(after: dict[str, Any]) -> list[list[Any]]:
    """The viewer's targets, measured on the renderer the viewer chose by itself."""
    run = after["runs"]["auto"]
    rows: list[list[Any]] = []
    path = run.get("renderer", {}).get("path", "?")

    def add(case: str, target: str, measured: str, met: bool, why: str = "") -> None:
        rows.append([case, target, measured, "met" if met else "**not met**", "" if met else why])

    for key, label in (("ct-512", "512² CT, fitted"), ("cr-fit", "1955×1841 CR, fitted"),
                       ("cr-1to1", "1955×1841 CR, 1:1")):
        case = _drag(run, key)
        if case is None:
            continue
        add(f"window/level drag, {label} ({path})", f"≥ {DRAG_TARGET:g} fps", f"{case['fps']} fps",
            case["fps"] >= DRAG_TARGET,
            f"the mouse moved {case['mouse_moves_per_s']} times/s; median interval {case['median_interval_ms']} ms, "
            f"p95 {case['p95_interval_ms']} ms at load {run['loadavg_before'].split()[0]}")
        add(f"requests during that drag", "0", str(case["requests_during_drag"]),
            case["requests_during_drag"] == 0, ", ".join(case["request_examples"]))
    scroll = run["scroll"]
    for key, target in (("cold", COLD_TARGET), ("warm", WARM_TARGET)):
        measured = scroll[key]
        add(f"held arrow key through a never-viewed {scroll['slices']}-slice CT, {key} pass",
            f"≥ {target:g} distinct slices/s",
            f"{measured['slices_per_s']} ({measured['distinct_slices_drawn']} in {measured['seconds']} s)",
            bool(measured["slices_per_s"]) and measured["slices_per_s"] >= target and measured["reached_last"],
            f"{1000 * measured['seconds'] / max(1, measured['distinct_slices_drawn']):.1f} ms per slice at load "
            f"{run['loadavg_before'].split()[0]}" + ("" if measured["reached_last"] else "; the last slice was not reached"))
    return rows


def section(after: dict[str, Any] | None, before: dict[str, Any] | None, table: Table,
            stamp: list[str] | None = None, before_stamp: list[str] | None = None) -> list[str]:
    """The viewer section; ``stamp`` and ``before_stamp`` are the provenance lines of the two runs."""
    if not after:
        return []
    out = ["## Viewer (headless Chromium)", "", *(stamp or []),
           f"`benchmarks/viewer_fps.py`: Chromium {after['chromium']} headless (`{' '.join(after['chromium_args'])}`), "
           f"{after['viewport']['width']}×{after['viewport']['height']} window, Orthanc {after['orthanc']} "
           f"with `WarmOnIngest` off, on the same {after['machine']['cpus']} CPUs. A drag moves the mouse "
           f"{after['move_hz']} times a second (CDP input events, not waiting for each); a held key repeats "
           f"{after['key_hz']} times a second. The 100-slice CT is built from pydicom-data's 693_UNCR.dcm: only "
           "UIDs, Instance Number, Image Position and Slice Location differ per slice. Each first image is a "
           "fresh copy of the file in a fresh browser context (cold server, empty HTTP cache).", ""]
    runs = after["runs"]
    gl = runs.get("webgl2", {}).get("renderer", {}).get("webgl2")
    if gl:
        out += [f"The browser's WebGL2 is `{gl}`: software, so the viewer draws with canvas 2D by itself "
                "(*auto*); *webgl2* is the same run with `?renderer=webgl2`.", ""]
    loads = [_load(run) for run in runs.values()] + ([_load(run) for run in before["runs"].values()] if before else [])
    if any(load > QUIET_LOAD for load in loads):
        out += [f"> Load average above {QUIET_LOAD} during some of these runs (listed below): absolute numbers "
                "are noisy.", ""]
    out += ["### Targets (issue 13, viewer)", "",
            table(["case", "target", "measured", "status", "why not met"], targets(after)), ""]
    header = ["", *(f"{name} ({run.get('renderer', {}).get('path', '?')})" for name, run in runs.items())]
    columns = list(runs.values())
    if before:
        header.insert(1, "before (server PNG per window)")
        columns.insert(0, before["runs"]["auto"])

    def row(label: str, value: Callable[[dict[str, Any]], Any]) -> list[Any]:
        return [label, *(value(run) for run in columns)]

    def drag(key: str, field: str) -> Callable[[dict[str, Any]], Any]:
        return lambda run: (_drag(run, key) or {}).get(field, "-")

    rows = [
        row("drag, 512² CT fitted: images/s", drag("ct-512", "fps")),
        row("drag, CR fitted: images/s", drag("cr-fit", "fps")),
        row("drag, CR 1:1: images/s", drag("cr-1to1", "fps")),
        row("requests during the CT drag", drag("ct-512", "requests_during_drag")),
        row("requests during the CR drags", lambda run: sum((_drag(run, k) or {}).get("requests_during_drag", 0)
                                                           for k in ("cr-fit", "cr-1to1"))),
        row("first image, 512² CT: ms", lambda run: run["first_image"]["ct-512"]["first_image_ms"]),
        row("first image, CR: ms", lambda run: run["first_image"]["cr"]["first_image_ms"]),
        row("held key, never-viewed 100 slices: distinct slices/s", lambda run: run["scroll"]["cold"]["slices_per_s"]),
        row("held key, second pass: distinct slices/s", lambda run: run["scroll"]["warm"]["slices_per_s"]),
        row("slices drawn of 99, cold / warm",
            lambda run: f"{run['scroll']['cold']['distinct_slices_drawn']} / {run['scroll']['warm']['distinct_slices_drawn']}"),
        row("load average before → after", lambda run: f"{run['loadavg_before']} → {run['loadavg_after']}"),
    ]
    out += ["### Before and after", "", *((before_stamp or []) if before else []), table(header, rows), ""]
    if before:
        out += ["*before*: the viewer before the client path (commit c8857ea's `static/`), measured with the same "
                "script and input; it asked the server for a PNG on every window change and every slice, keeping "
                "one request in flight, so a held key skipped the slices whose PNG had not arrived.", ""]
    return out


def sync_section(sync: dict[str, Any] | None, table: Table, stamp: list[str] | None = None) -> list[str]:
    """The 2x2 layout: four series of one frame of reference scrolled together, and window/level (viewer_sync.py)."""
    if not sync:
        return []
    out = ["### 2×2 layout: scrolling synchronised by position, window/level (issue 22)", "", *(stamp or []),
           "`benchmarks/viewer_sync.py`: the same browser and window; four series of one frame of reference in a 2×2, "
           "the first viewport active, ArrowDown held (repeats "
           f"{sync['key_hz']} times a second) until its last slice is drawn. The figure is the slowest viewport's "
           "images drawn per second. The 512² series are copies of 693_UNCR.dcm (only UIDs, Instance Number and "
           "position differ, offset 0–3 mm between the series); the phantom series are real slices (pycerr's "
           "Radiomics Digital Phantom, patient 1, its 60 slices as four series).", ""]
    rows = []
    for case in sync["cases"]:
        for key in ("cold", "warm"):
            scroll = case[key]
            target = SYNC_TARGET if key == "warm" else None
            met = "" if target is None else ("met" if (scroll["fps_slowest"] or 0) >= target and scroll["reached_last"]
                                             else "**not met**")
            rows.append([case["case"], f"sync scroll, {key} pass", f"≥ {target:g} fps" if target else "-",
                         f"{scroll['fps_slowest']} fps ({', '.join(f'{v}' for v in scroll['fps_per_viewport'].values())})",
                         met, f"{case['loadavg_before'].split()[0]}"])
        drag = case["drag"]
        rows.append([case["case"], "window/level drag, active viewport", f"≥ {SYNC_TARGET:g} fps",
                     f"{drag['fps']} fps, {drag['requests_during_drag']} requests",
                     "met" if drag["fps"] >= SYNC_TARGET else "**not met**", f"{case['loadavg_before'].split()[0]}"])
    out += [table(["series", "case", "target", "measured (slowest; each viewport)", "status", "load"], rows), ""]
    return out


MPR_DRAG_TARGET = 30.0
MPR_OPEN_TARGET_MS = 5000


def _mpr_rows(engine: str, run: dict[str, Any], load: str, second: bool) -> list[list[str]]:
    """The open and drag rows of one engine's run (viewer_mpr.py)."""
    opened, drag = run["open"], run["crosshair_drag"]
    first = f"{opened['first_coronal_ms']} ms ({opened['slices_at_first_coronal']} slices)"
    return [
        [f"{engine}: first coronal image (interpolated between the slices loaded)" + (", second open" if second else ""),
         f"≤ {MPR_OPEN_TARGET_MS / 1000:g} s", first,
         "met" if opened["first_coronal_ms"] <= MPR_OPEN_TARGET_MS else "**not met**", load],
        [f"{engine}: coronal image from every slice", "-", f"{opened['complete_coronal_ms']} ms ({opened['slices']} slices)",
         "", load],
        [f"{engine}: crosshair drag, planes drawn per second", f"≥ {MPR_DRAG_TARGET:g} fps",
         f"{drag['fps_slowest_moving']} fps (coronal {drag['fps_per_viewport']['coronal']}, sagittal "
         f"{drag['fps_per_viewport']['sagittal']}; {drag['mouse_moves_per_s']} moves/s)",
         "met" if drag["fps_slowest_moving"] >= MPR_DRAG_TARGET else "**not met**", load],
    ]


def mpr_section(after: dict[str, Any] | None, table: Table, stamp: list[str] | None = None) -> list[str]:
    """The MPR layout on a 512x512x300 volume (viewer_mpr.py, run by viewer_fps.py): the viewer's own choice, then
    the WebGL2 3D texture."""
    mpr = after.get("mpr") if after else None
    if not mpr:
        return []
    load = mpr["loadavg_before"].split()[0]
    out = ["### MPR layout: opening a 512×512×300 volume, dragging the crosshair (issue 23)", "", *(stamp or []),
           "`benchmarks/viewer_mpr.py` (run by `viewer_fps.py`): the same browser and window; a "
           f"{mpr['volume']} CT volume derived from the phantom (patient 1 resampled by numpy, "
           "`benchmarks/volume_data.py`), never viewed before, opened at `layout=mpr`. The planes are computed "
           "no finer than the screen draws them: by the viewer's own choice first (headless Chromium's WebGL is "
           "SwiftShader, software, so the canvas renderer and the CPU reformat in JavaScript), then with "
           "`?renderer=webgl2`, whose planes come from the WebGL2 3D texture (`static/mpr-webgl.js`) on "
           "SwiftShader: that row measures the GPU path's code on the CPU, not a GPU, and opens the series a "
           "second time (the server's caches are warm). The drag holds the axial crosshair's centre and moves "
           "60 times a second; the figure is the slower of the coronal and sagittal viewports.", ""]
    rows = _mpr_rows(mpr.get("engine", "cpu"), mpr, load, False)
    if mpr.get("webgl2"):
        rows += _mpr_rows(mpr["webgl2"].get("engine", "webgl2"), mpr["webgl2"], load, True)
    out += [table(["case", "target", "measured", "status", "load"], rows), ""]
    for engine, run in (("cpu", mpr), ("webgl2", mpr.get("webgl2") or {})):
        times = run.get("crosshair_drag", {}).get("last_reformat_and_draw_ms")
        if times:
            out += [f"{engine}: last plane of the drag, reformat and drawing (ms): " + ", ".join(
                f"{name} {values[0]} + {values[1]}" for name, values in times.items()) + ".", ""]
    return out
