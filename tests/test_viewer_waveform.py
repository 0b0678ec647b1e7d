"""The viewer's waveform screen (static/waveform.js) in Chromium against a real Orthanc, with pydicom's 12-lead ECG."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from pydicom.data import get_testdata_file

from conftest import replacing_orthanc
from orthanc_process import OrthancProcess
from test_viewer_client import Page, playwright  # noqa: F401  (fixture reused)
from test_viewer_objects import browser, page  # noqa: F401  (fixtures reused: a 415 only from /pixels)

ECG = Path(get_testdata_file("waveform_ecg.dcm"))   # 12 leads, RHYTHM 10 s and MEDIAN BEAT 1.2 s at 1000 Hz
READY = """() => { const w = document.querySelector('.viewport .waveform');
  return w && !w.hidden && w.dataset.state === 'ready' && document.querySelector('.waveform-traces').dataset.strip; }"""


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory: pytest.TempPathFactory, plugin_path: Path) -> Iterator[OrthancProcess]:
    """An Orthanc with the plugin, without warm-up."""
    yield from replacing_orthanc(tmp_path_factory, "waveform")


@pytest.fixture(scope="module")
def ecg(orthanc: OrthancProcess) -> dict[str, Any]:
    """The ECG uploaded: Orthanc's answer, with its RHYTHM group from the values route under "rhythm"."""
    uploaded = orthanc.upload(ECG)
    rhythm = requests.get(f"{orthanc.url}/previewer/instances/{uploaded['ID']}/waveform?group=0", timeout=10)
    rhythm.raise_for_status()
    return {**uploaded, "rhythm": rhythm.json()}


class Screen:
    """The waveform screen of the first viewport: its time range and trace area, and the pointer over it."""

    def __init__(self, page: Page) -> None:
        self.page = page.page
        box = self.page.locator(".viewport .waveform-traces").bounding_box()
        trace = self.page.eval_on_selector(".viewport .waveform-traces", "c => ({...c.dataset})")
        self.x, self.y = box["x"], box["y"]
        self.left, self.right = float(trace["traceLeft"]), float(trace["traceRight"])
        self.top, self.strip = float(trace["traceTop"]), float(trace["strip"])

    def range(self) -> tuple[float, float]:
        """data-start and data-end of the waveform element, in s."""
        data = self.page.eval_on_selector(".viewport .waveform", "w => [w.dataset.start, w.dataset.end]")
        return float(data[0]), float(data[1])

    def time_at(self, x: float) -> float:
        """The time (s) under page x, from the visible range and the trace area."""
        start, end = self.range()
        return start + (x - self.x - self.left) / (self.right - self.left) * (end - start)

    def point(self, t: float, channel: int) -> tuple[float, float]:
        """The page point at time ``t`` (s), mid-height of ``channel``'s strip, on whole pixels."""
        start, end = self.range()
        x = self.x + self.left + (t - start) / (end - start) * (self.right - self.left)
        return float(round(x)), float(round(self.y + self.top + (channel + 0.5) * self.strip))

    def pixel_time(self) -> float:
        """The time (s) one CSS pixel spans."""
        start, end = self.range()
        return (end - start) / (self.right - self.left)


def _open(page: Page, ecg: dict[str, Any]) -> Screen:
    page.goto(f"#/series/{ecg['ParentSeries']}")
    page.page.wait_for_function(READY)
    return Screen(page)


def _steep_sample(values: list[float]) -> int:
    """The sample of ``values`` that differs most from both its neighbours (where the nearest sample matters)."""
    return max(range(1, len(values) - 1),
               key=lambda i: min(abs(values[i] - values[i - 1]), abs(values[i + 1] - values[i])))


def _readout(page: Page) -> dict[str, Any]:
    return page.page.eval_on_selector(".viewport .waveform-readout", """r => ({
        time: Number(r.dataset.time), sample: Number(r.dataset.sample), hidden: r.hidden,
        rows: [...r.querySelectorAll('[data-channel]')].map((row) => ({channel: Number(row.dataset.channel),
          value: Number(row.dataset.value), text: row.textContent}))})""")


def test_waveform_screen_replaces_the_canvas(page: Page, ecg: dict[str, Any]) -> None:
    """The ECG shows the waveform screen, not the canvas, over its whole RHYTHM group; the image controls are off."""
    _open(page, ecg)
    assert page.page.is_hidden(".viewport > canvas") and page.page.is_visible(".viewport .waveform")
    assert page.page.get_attribute(".viewport", "data-kind") == "waveform"
    assert page.page.eval_on_selector(".viewport .waveform", "w => [w.dataset.start, w.dataset.end, w.dataset.group]") \
        == ["0.000000", "10.000000", "0"]
    options = page.page.eval_on_selector_all(".waveform-group option", "os => os.map((o) => o.textContent)")
    assert [o.split(" · ")[0] for o in options] == ["RHYTHM", "MEDIAN BEAT"]
    assert page.page.is_visible(".waveform-group")
    assert page.page.is_disabled("button[data-tool='window']") and page.page.is_disabled("#invert")
    assert page.text(".viewport .overlay-window") == "" and page.text(".viewport .overlay-zoom") == ""
    page.page.select_option(".waveform-group", "1")
    page.page.wait_for_function("() => document.querySelector('.viewport .waveform').dataset.group === '1'")
    assert page.page.get_attribute(".viewport .waveform", "data-end") == "1.200000"


def test_readout_gives_the_nearest_sample(page: Page, ecg: dict[str, Any]) -> None:
    """Over lead I's steepest sample, the readout's time is the pointer's and every value is the JSON's there."""
    screen = _open(page, ecg)
    rhythm = ecg["rhythm"]
    frequency, channels = rhythm["frequency"], rhythm["channels"]
    assert channels[0]["lead"] == "I"
    x, y = screen.point(_steep_sample(channels[0]["values"]) / frequency, 0)
    page.page.mouse.move(x, y)
    page.page.wait_for_function("() => !document.querySelector('.viewport .waveform-readout').hidden")
    readout = _readout(page)
    expected = screen.time_at(x)
    assert abs(readout["time"] - expected) <= screen.pixel_time()
    assert readout["sample"] == round(readout["time"] * frequency)
    assert abs(readout["sample"] / frequency - expected) <= screen.pixel_time() + 0.5 / frequency
    sample = readout["sample"]
    lead_i = channels[0]["values"]
    assert lead_i[sample] not in (lead_i[sample - 1], lead_i[sample + 1])   # a neighbour's value would show
    assert [row["channel"] for row in readout["rows"]] == list(range(12))
    assert [row["value"] for row in readout["rows"]] == [c["values"][sample] for c in channels]
    assert readout["rows"][0]["text"].startswith("I") and readout["rows"][0]["text"].endswith("µV")
    page.page.mouse.move(screen.x + 2, y)   # the label column: no cursor
    page.page.wait_for_function("() => document.querySelector('.viewport .waveform-readout').hidden")


def test_wheel_zooms_about_the_pointer_and_drag_pans(page: Page, ecg: dict[str, Any]) -> None:
    """The wheel shrinks the range keeping the time under the pointer, + shrinks it by 1.25, a drag pans it."""
    screen = _open(page, ecg)
    x, y = screen.point(6.3, 2)
    page.page.mouse.move(x, y)
    before = screen.time_at(x)
    page.page.mouse.wheel(0, -300)
    page.page.wait_for_function("() => { const w = document.querySelector('.viewport .waveform');"
                                " return Number(w.dataset.end) - Number(w.dataset.start) < 9; }")
    start, end = screen.range()
    assert 0 < start < before < end < 10
    assert abs(screen.time_at(x) - before) < 1e-5
    page.page.keyboard.press("+")
    page.page.wait_for_function("(span) => { const w = document.querySelector('.viewport .waveform');"
                                " return Number(w.dataset.end) - Number(w.dataset.start) < span - 1e-3; }",
                                arg=end - start)
    zoomed = screen.range()
    assert abs((zoomed[1] - zoomed[0]) * 1.25 - (end - start)) < 1e-5
    span = zoomed[1] - zoomed[0]
    shift = 150 * screen.pixel_time()
    page.page.mouse.move(x, y)
    page.page.mouse.down()
    page.page.mouse.move(x + 75, y)
    page.page.mouse.move(x + 150, y)
    page.page.mouse.up()
    page.page.wait_for_function("(start) => Number(document.querySelector('.viewport .waveform').dataset.start)"
                                " < start - 1e-3", arg=zoomed[0])
    panned = screen.range()
    assert abs(panned[0] - (zoomed[0] - shift)) < 1e-5 and abs(panned[1] - panned[0] - span) < 1e-5
    page.page.keyboard.press("f")
    page.page.wait_for_function("() => document.querySelector('.viewport .waveform').dataset.end === '10.000000'")


def _calliper(page: Page) -> dict[str, float]:
    page.page.wait_for_function("() => document.querySelector('.viewport .waveform-calliper').dataset.dtMs")
    data = page.page.eval_on_selector(".viewport .waveform-calliper", "c => ({...c.dataset})")
    return {key: float(value) for key, value in data.items()}


def _check_calliper(result: dict[str, float], screen: Screen, ecg: dict[str, Any],
                    first: tuple[float, float], second: tuple[float, float], channel: int) -> None:
    """The calliper's points are the samples nearest the pointer's; Δt, the rate and ΔV follow from them."""
    rhythm = ecg["rhythm"]
    frequency = rhythm["frequency"]
    near = screen.pixel_time() + 0.5 / frequency
    assert abs(result["t1"] - screen.time_at(first[0])) <= near and abs(result["t2"] - screen.time_at(second[0])) <= near
    assert result["channel"] == channel
    assert abs(result["dtMs"] - abs(result["t2"] - result["t1"]) * 1000) < 1e-6
    assert abs(result["bpm"] - 60000 / result["dtMs"]) < 1e-6
    values = rhythm["channels"][channel]["values"]
    assert result["dv"] == values[round(result["t2"] * frequency)] - values[round(result["t1"] * frequency)]


def test_calliper_by_two_clicks_and_by_a_drag(page: Page, ecg: dict[str, Any]) -> None:
    """With the calliper on, two clicks on lead II, then a drag on V1, give Δt, bpm and ΔV of the points' samples."""
    screen = _open(page, ecg)
    page.page.click(".waveform-calliper-toggle")
    assert page.page.get_attribute(".waveform-calliper-toggle", "aria-pressed") == "true"
    first, second = screen.point(1.234, 1), screen.point(2.071, 4)   # the second point's channel does not count
    page.page.mouse.click(*first)
    page.page.wait_for_function("() => document.querySelector('.viewport .waveform-calliper').dataset.t1")
    assert page.page.get_attribute(".viewport .waveform-calliper", "data-dt-ms") is None
    page.page.mouse.click(*second)
    result = _calliper(page)
    _check_calliper(result, screen, ecg, first, second, 1)
    assert 100 < result["dtMs"] < 1500 and result["dv"] != 0
    assert page.page.get_attribute(".viewport .waveform", "data-start") == "0.000000"   # clicks do not pan
    start, end = screen.point(4.5, 6), screen.point(5.31, 6)
    page.page.mouse.move(*start)
    page.page.mouse.down()
    page.page.mouse.move(start[0] + 20, start[1])
    page.page.mouse.move(*end)
    page.page.mouse.up()
    page.page.wait_for_function("() => document.querySelector('.viewport .waveform-calliper').dataset.channel === '6'"
                                " && document.querySelector('.viewport .waveform-calliper').dataset.dtMs")
    _check_calliper(_calliper(page), screen, ecg, start, end, 6)


def test_series_thumbnail_asks_for_the_waveform_thumbnail(page: Page, ecg: dict[str, Any], orthanc: OrthancProcess) -> None:
    """The study page's card of the ECG series loads its PNG with view=thumbnail."""
    study = requests.get(f"{orthanc.url}/previewer/api/studies/{ecg['ParentStudy']}", timeout=10).json()
    assert [s["kind"] for s in study["series"] if s["id"] == ecg["ParentSeries"]] == ["waveform"]
    page.goto(f"#/study/{ecg['ParentStudy']}")
    page.page.wait_for_selector(f".series-card[data-series='{ecg['ParentSeries']}'] .thumb-box[data-state='ready'] img")
    asked = [url for url in page.requests if f"/instances/{ecg['ID']}/frames/0/png" in url]
    assert asked and all("view=thumbnail" in url for url in asked), asked
