"""Measurements saved as a DICOM SR Measurement Report, in Chromium through a real Orthanc, read back by highdicom.

pydicom's CT_small.dcm (Pixel Spacing 0.661 mm) and emri_small.dcm (10 frames, no spacing: its
lengths are saved in pixels).  Each report is checked by dicom3tools' dciodvfy and read with
highdicom; its numbers are compared with numpy's from the points the page drew.
"""
from __future__ import annotations

import json
import math
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import highdicom as hd
import numpy as np
import pydicom
import pytest
import requests
from pydicom.pixels import apply_modality_lut
from pydicom.sr.codedict import codes

from conftest import CT_SMALL, MR_SMALL, tool
from orthanc_process import OrthancProcess
from test_viewer_tools import NO_SPACING, Page, drag, open_one_to_one, page, results  # noqa: F401  (the fixture)

pytestmark = pytest.mark.slow

from test_viewer_browser import browser  # noqa: E402,F401  (the fixture)


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory: pytest.TempPathFactory, plugin_path: Path) -> Iterator[OrthancProcess]:
    process = OrthancProcess(tmp_path_factory.mktemp("reports"), probe=False).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def files(orthanc: OrthancProcess) -> dict[str, dict[str, Any]]:
    return {name: orthanc.upload(path) for name, path in (("ct", CT_SMALL), ("mr", NO_SPACING), ("plain", MR_SMALL))}


def _reports(orthanc: OrthancProcess, study: str) -> list[str]:
    """The study's SR instances, oldest first."""
    series = requests.get(f"{orthanc.url}/studies/{study}/series?expand", timeout=30).json()
    found = [i for s in series if s["MainDicomTags"].get("Modality") == "SR" for i in s["Instances"]]
    return sorted(found, key=lambda i: requests.get(f"{orthanc.url}/instances/{i}/metadata/ReceptionDate",
                                                    timeout=30).text)


def _save(page: Page) -> str:
    before = page.page.get_attribute("#save-measurements", "data-saved")
    page.page.get_by_role("button", name="Save measurements").click()
    page.page.wait_for_function("(before) => { const id = document.querySelector('#save-measurements').dataset.saved;"
                                " return id && id !== before; }", arg=before)
    return str(page.page.get_attribute("#save-measurements", "data-saved"))


def _file(orthanc: OrthancProcess, instance: str, folder: Path) -> Path:
    path = folder / f"{instance}.dcm"
    path.write_bytes(requests.get(f"{orthanc.url}/instances/{instance}/file", timeout=30).content)
    return path


def _dciodvfy_errors(path: Path) -> list[str]:
    answer = subprocess.run([tool("dciodvfy", "dicom3tools"), str(path)], capture_output=True, text=True, check=False)
    return [line for line in (answer.stdout + answer.stderr).splitlines() if line.startswith("Error")]


def _value(group: Any, concept: Any) -> tuple[float, str]:
    [measurement] = group.get_measurements(name=concept)
    return float(measurement.value), str(measurement.unit.value)


def test_save_reload_and_compare_with_highdicom(page: Page, files: dict[str, dict[str, Any]],
                                                 orthanc: OrthancProcess, tmp_path: Path) -> None:
    """Length, ellipse and angle on the CT are saved as TID 1500 that dciodvfy accepts; highdicom reads the
    numbers numpy gives; a fresh page shows them in place; editing and saving again adds a report."""
    page.file = CT_SMALL   # type: ignore[attr-defined]
    origin = open_one_to_one(page, files["ct"]["ParentSeries"])
    page.page.keyboard.press("l")
    drag(page, origin, (10.0, 20.0), (50.0, 41.0))
    page.page.keyboard.press("e")
    drag(page, origin, (12.0, 60.0), (52.0, 90.0))
    page.page.keyboard.press("a")
    drag(page, origin, (70.0, 50.0), (90.0, 20.0))
    page.page.mouse.click(origin[0] + 110.0, origin[1] + 45.0)
    drawn = {kind: results(page, kind)[0] for kind in ("length", "ellipse", "angle")}
    saved = _save(page)
    [report_id] = _reports(orthanc, files["ct"]["ParentStudy"])
    assert report_id == saved
    path = _file(orthanc, report_id, tmp_path)
    assert _dciodvfy_errors(path) == []
    report = hd.sr.srread(path)
    assert isinstance(report, hd.sr.Comprehensive3DSR)
    assert report.SeriesInstanceUID != files["ct"]["ParentSeries"]
    groups = report.content.get_planar_roi_measurement_groups()
    assert len(groups) == 3
    ds = pydicom.dcmread(CT_SMALL)
    row_mm, col_mm = (float(v) for v in ds.PixelSpacing)
    scale = np.array([col_mm, row_mm])
    by_kind = {}
    for group in groups:
        region = group.roi
        assert region.ContentSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID == ds.SOPInstanceUID
        by_kind[(str(region.GraphicType), len(region.value))] = group
    (p, q) = (np.array(v) for v in drawn["length"]["points"])
    length, unit = _value(by_kind[("POLYLINE", 2)], codes.SCT.Length)
    assert (length, unit) == (pytest.approx(float(np.linalg.norm((q - p) * scale)), rel=1e-9), "mm")
    a, b, c = (np.array(v) for v in drawn["angle"]["points"])
    u, v = (a - b) * scale, (c - b) * scale
    angle, unit = _value(by_kind[("POLYLINE", 3)], codes.SCT.Angle)
    assert (angle, unit) == (pytest.approx(math.degrees(math.acos(u @ v / np.linalg.norm(u) / np.linalg.norm(v))), abs=1e-9), "deg")
    ellipse = by_kind[("ELLIPSE", 4)]
    (x0, y0), (x1, y1) = drawn["ellipse"]["points"]
    values = np.asarray(apply_modality_lut(ds.pixel_array, ds), dtype=np.float64)
    rows, cols = np.mgrid[0:values.shape[0], 0:values.shape[1]]
    inside = values[((cols + 0.5 - (x0 + x1) / 2) / (abs(x1 - x0) / 2)) ** 2
                    + ((rows + 0.5 - (y0 + y1) / 2) / (abs(y1 - y0) / 2)) ** 2 <= 1]
    assert _value(ellipse, codes.SCT.Mean) == (pytest.approx(inside.mean(), rel=1e-9), "[hnsf'U]")
    assert _value(ellipse, codes.SCT.StandardDeviation)[0] == pytest.approx(inside.std(), rel=1e-9)
    assert _value(ellipse, codes.SCT.Area) == (pytest.approx(math.pi * abs(x1 - x0) / 2 * abs(y1 - y0) / 2 * row_mm * col_mm,
                                                             rel=1e-9), "mm2")
    # The report reads as a report.
    html = requests.get(f"{orthanc.url}/previewer/instances/{report_id}/report", timeout=30)
    assert html.status_code == 200 and "Length" in html.text

    # A fresh page on the same series shows the saved measurements in place; edit one and save again.
    again = Page(page.page.context.browser, orthanc, None)
    try:
        again.file = CT_SMALL   # type: ignore[attr-defined]
        origin = open_one_to_one(again, files["ct"]["ParentSeries"])
        again.page.wait_for_selector(".measure-layer g[data-kind=angle]")
        for kind in ("length", "ellipse", "angle"):
            [shown] = results(again, kind)
            assert np.allclose(shown["points"], drawn[kind]["points"])
        again.page.keyboard.press("l")
        start = drawn["length"]["points"][1]
        drag(again, origin, (start[0], start[1]), (start[0] + 20, start[1] + 5))   # drag the line's end
        [edited] = results(again, "length")
        assert np.allclose(edited["points"][1], [start[0] + 20, start[1] + 5], atol=0.5)
        second = _save(again)
        assert again.errors == []
    finally:
        again.close()
    reports = _reports(orthanc, files["ct"]["ParentStudy"])
    assert reports == [report_id, second]   # the old report stays
    newest = requests.get(f"{orthanc.url}/previewer/api/studies/{files['ct']['ParentStudy']}/measurements",
                          timeout=30).json()
    assert newest["report"]["id"] == second
    [length_item] = [m for m in newest["measurements"] if m["kind"] == "length"]
    assert np.allclose(length_item["points"][1], edited["points"][1])


def test_without_pixel_spacing_lengths_are_in_pixels(page: Page, files: dict[str, dict[str, Any]],
                                                      orthanc: OrthancProcess, tmp_path: Path) -> None:
    """On an image without Pixel Spacing the SR says pixels, and the frame measured on is referenced."""
    page.file = NO_SPACING   # type: ignore[attr-defined]
    origin = open_one_to_one(page, files["mr"]["ParentSeries"])
    page.page.keyboard.press("ArrowDown")
    page.page.keyboard.press("ArrowDown")
    page.page.wait_for_function("() => document.querySelector('.viewport').dataset.frame === '2'")
    page.page.keyboard.press("l")
    drag(page, origin, (5.0, 5.0), (25.0, 20.0))
    report_id = _save(page)
    path = _file(orthanc, report_id, tmp_path)
    assert _dciodvfy_errors(path) == []
    [group] = hd.sr.srread(path).content.get_planar_roi_measurement_groups()
    value, unit = _value(group, codes.SCT.Length)
    assert unit == "{pixels}" and value == pytest.approx(25.0, abs=1.0)
    frames = group.roi.ContentSequence[0].ReferencedSOPSequence[0].ReferencedFrameNumber
    assert [int(f) for f in np.atleast_1d(frames)] == [3]   # 1-based: the third frame


@pytest.mark.parametrize("body, status, words", [
    (b"not json", 400, "not JSON"),
    (b'{"measurements": []}', 400, "at least one"),
    (b'{"measurements": [{"instance": "x", "kind": "length", "points": [[0, 0], [1, 1]]}]}', 400, "not in study"),
    (b'{"measurements": [{"instance": "%s", "kind": "blob", "points": []}]}', 400, "kind"),
    (b'{"measurements": [{"instance": "%s", "kind": "length", "points": [[0, 0], [1, "a"]]}]}', 400, "point"),
    (b'{"measurements": [{"instance": "%s", "kind": "length", "points": [[0, 0], [1, 1]], "frame": 9}]}', 400, "frame"),
])
def test_bad_bodies_are_named_4xx(files: dict[str, dict[str, Any]], orthanc: OrthancProcess, body: bytes, status: int,
                                 words: str) -> None:
    """Malformed measurements get a JSON 4xx naming the problem, and no report is stored."""
    study = files["ct"]["ParentStudy"]
    before = len(_reports(orthanc, study))
    data = body.replace(b"%s", files["ct"]["ID"].encode()) if b"%s" in body else body
    answer = requests.post(f"{orthanc.url}/previewer/api/studies/{study}/measurements", data=data, timeout=30)
    assert answer.status_code == status
    assert words in answer.json()["error"]
    assert len(_reports(orthanc, study)) == before


def test_a_study_without_report_has_none(files: dict[str, dict[str, Any]], orthanc: OrthancProcess) -> None:
    """GET on a study no one measured: no report, no measurement; an unknown study is a 404."""
    answer = requests.get(f"{orthanc.url}/previewer/api/studies/{files['plain']['ParentStudy']}/measurements", timeout=30)
    assert (answer.status_code, json.loads(answer.text)) == (200, {"report": None, "measurements": []})
    unknown = requests.get(f"{orthanc.url}/previewer/api/studies/{'0' * 8}-{'0' * 8}-{'0' * 8}-{'0' * 8}-{'0' * 8}"
                           "/measurements", timeout=30)
    assert unknown.status_code == 404 and "unknown study" in unknown.json()["error"]
