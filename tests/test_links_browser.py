"""Deep links and the Orthanc Explorer button, followed in a real Chromium."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.data import get_testdata_file

from conftest import chromium, sync_playwright
from orthanc_process import ROOT, OrthancProcess, orthanc_version

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts" / "links"
LIVER = Path(get_testdata_file("liver_1frame.dcm"))   # has an AccessionNumber and a PatientID
EMRI = Path(get_testdata_file("emri_small.dcm"))      # 10 frames
CT_SERIES = sorted((Path(get_testdata_file("CT_small.dcm")).parent / "dicomdirtests" / "98892001" / "CT5N").iterdir())


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory: pytest.TempPathFactory, plugin_path: Path) -> Iterator[OrthancProcess]:
    """An Orthanc with the plugin, the liver slice, a 10-frame MR and a real 5-slice CT series."""
    process = OrthancProcess(tmp_path_factory.mktemp("links"), probe=False).start()
    for path in (LIVER, EMRI, *CT_SERIES):
        process.upload(path)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def page(orthanc: OrthancProcess) -> Iterator[Any]:
    """One Chromium page; the console must stay free of errors."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1200, "height": 800})
        tab = context.new_page()
        tab.set_default_timeout(15000)
        tab.on("console", lambda m: errors.append(m.text) if m.type == "error" and "404" not in m.text else None)
        tab.on("pageerror", lambda e: errors.append(str(e)))
        yield tab
        browser.close()
    assert errors == []


def _image_shown(page: Any) -> str:
    """Wait for the viewer to draw, then return its position overlay ("Image k / n …")."""
    page.wait_for_function("() => Number(document.querySelector('.viewport canvas').dataset.renders) > 0")
    page.wait_for_function("() => document.querySelector('.viewport canvas').dataset.busy !== '1'")
    return str(page.text_content(".viewport .overlay-position"))


class TestDeepLinks:
    def test_study_accession_and_patient_open_the_study(self, orthanc: OrthancProcess, page: Any) -> None:
        """StudyInstanceUID, AccessionNumber and PatientID open the liver study's page."""
        ds = pydicom.dcmread(LIVER, stop_before_pixels=True)
        for key, value in (("StudyInstanceUID", ds.StudyInstanceUID), ("AccessionNumber", ds.AccessionNumber),
                           ("PatientID", ds.PatientID)):
            page.goto(f"{orthanc.url}/previewer/open?{key}={value}")
            page.wait_for_selector("#series-grid .series-card, #series-grid button, #series-grid a")
            assert "#/study/" in page.url, key
            assert page.is_visible("#study-view")
        page.screenshot(path=str(ARTIFACTS / "study.png"))

    def test_series_opens_the_viewer(self, orthanc: OrthancProcess, page: Any) -> None:
        """SeriesInstanceUID opens the viewer on the first image of the real CT series."""
        ds = pydicom.dcmread(CT_SERIES[0], stop_before_pixels=True)
        page.goto(f"{orthanc.url}/previewer/open?SeriesInstanceUID={ds.SeriesInstanceUID}&window=40,400")
        position = _image_shown(page)
        assert position.startswith("Image 1 / 5")
        assert str(page.text_content(".viewport .overlay-window")).split()[:4] == ["C", "40", "W", "400"]

    def test_instance_and_frame_open_that_image(self, orthanc: OrthancProcess, page: Any) -> None:
        """SOPInstanceUID with frame=3 opens frame 4 (1-based) of the 10-frame MR."""
        ds = pydicom.dcmread(EMRI, stop_before_pixels=True)
        page.goto(f"{orthanc.url}/previewer/open?SOPInstanceUID={ds.SOPInstanceUID}&frame=3")
        assert _image_shown(page).startswith("Frame 4 / 10")
        page.screenshot(path=str(ARTIFACTS / "instance-frame.png"))

    def test_unknown_accession_shows_the_404_page(self, orthanc: OrthancProcess, page: Any) -> None:
        """An unknown accession shows the friendly page naming it (plain text on Orthanc 1.12.2+)."""
        answer = page.goto(f"{orthanc.url}/previewer/open?AccessionNumber=NO-SUCH-ACCESSION-\u00e9")
        assert answer.status == 404
        if orthanc_version() >= (1, 12, 2):
            assert page.evaluate("document.contentType") == "text/plain"
            assert "No AccessionNumber 'NO-SUCH-ACCESSION-\u00e9' is stored" in page.text_content("body")
        else:
            assert page.evaluate("document.contentType") == "text/html"
            assert "NO-SUCH-ACCESSION-\u00e9" in page.text_content("main")
        page.screenshot(path=str(ARTIFACTS / "not-found.png"))


class TestExplorerButton:
    def test_instance_page_button_opens_the_viewer(self, orthanc: OrthancProcess, page: Any) -> None:
        """Orthanc Explorer's instance page shows the button; clicking it opens the viewer there."""
        ds = pydicom.dcmread(EMRI, stop_before_pixels=True)
        found = orthanc.http.post(orthanc.url + "/tools/lookup", data=ds.SOPInstanceUID).json()
        instance = found[0]["ID"]
        page.goto(f"{orthanc.url}/app/explorer.html#instance?uuid={instance}")
        button = page.wait_for_selector("#previewer-open-instance", state="visible")
        page.screenshot(path=str(ARTIFACTS / "explorer.png"))
        button.click()
        page.wait_for_url("**/previewer/**#/series/**")
        assert _image_shown(page).startswith("Frame 1 / 10")
