"""The patient's other studies in Chromium through a real Orthanc: listed, and a prior opened beside the current study.

Two real studies of one patient from pydicom's test files (dicomdirtests/77654033, Doe^Archibald):
a CR study of 2001-01-01 (three cervical spine series) and a CT study of 1995-09-03 (Routine Brain).
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import CT_SMALL
from orthanc_process import OrthancProcess
from test_viewer_browser import Server, Viewer, browser, viewer  # noqa: F401  (the fixtures)

pytestmark = pytest.mark.slow

PATIENT = CT_SMALL.parent / "dicomdirtests" / "77654033"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, plugin_path: Path) -> Iterator[Server]:
    orthanc = OrthancProcess(tmp_path_factory.mktemp("priors") / "orthanc").start()
    try:
        server = Server(orthanc)
        for folder in sorted(PATIENT.iterdir()):
            for path in sorted(folder.iterdir()):
                server.uploads.setdefault(folder.name, orthanc.upload(path))
        yield server
    finally:
        orthanc.stop()



def _wait_series(viewer: Viewer, index: int, series: str) -> None:
    viewer.page.wait_for_function("""([index, series]) => {
      const node = document.querySelector(`[data-viewport="${index}"]`);
      return node && node.dataset.series === series && node.dataset.state === 'ready';
    }""", arg=[index, series])


def test_the_study_page_lists_the_other_study(viewer: Viewer, server: Server) -> None:
    """The CR study's page names the CT study with its date, modality and description, and links to it."""
    viewer.goto(f"#/study/{server.study('CR1')}")
    item = viewer.page.locator(f'#study-others li[data-study="{server.study("CT2")}"]')
    assert item.locator("a").first.text_content() == "1995-09-03 · CT · CT, HEAD/BRAIN WO CONTRAST"
    assert viewer.text("#study-others h3") == "Other studies of this patient (1)"
    item.locator("a").first.click()
    viewer.page.wait_for_function("(id) => location.hash === `#/study/${id}`", arg=server.study("CT2"))
    viewer.page.wait_for_selector(f'#study-others li[data-study="{server.study("CR1")}"]')


def test_compare_opens_the_prior_beside(viewer: Viewer, server: Server) -> None:
    """Compare on the study page opens its first series on the left and the prior's series on the right."""
    viewer.goto(f"#/study/{server.study('CR1')}")
    viewer.page.click("#study-others a.compare")
    _wait_series(viewer, 0, server.series("CR1"))
    _wait_series(viewer, 1, server.series("CT2"))
    assert "2001-01-01" in viewer.text('[data-viewport="0"] .ov-study')
    assert "1995-09-03" in viewer.text('[data-viewport="1"] .ov-study')


def test_one_click_in_the_viewer_opens_the_prior(viewer: Viewer, server: Server) -> None:
    """The strip offers the prior; one click lays it out beside, its series join the strip under its date."""
    viewer.open_series("CR2")
    button = viewer.page.locator("#series-strip .open-prior")
    assert button.text_content() == "1995-09-03 · CT · CT, HEAD/BRAIN WO CONTRAST"
    button.click()
    _wait_series(viewer, 1, server.series("CT2"))
    _wait_series(viewer, 0, server.series("CR2"))
    assert viewer.page.evaluate("document.querySelectorAll('[data-viewport]').length") == 2
    assert viewer.text("#series-strip .strip-study") == "1995-09-03"
    card = viewer.page.locator(f'#series-strip .series-card.prior[data-series="{server.series("CT2")}"]')
    assert card.locator(".series-study-date").text_content() == "1995-09-03"
    assert "1995-09-03" in viewer.text('[data-viewport="1"] .ov-study')
    viewer.page.wait_for_function("(id) => location.hash.includes(`prior=${id}`)", arg=server.study("CT2"))


def test_the_prior_button_picks_the_most_recent_prior(viewer: Viewer, server: Server) -> None:
    """The toolbar's Prior button opens the newest older study; a link with prior= restores the strip too."""
    viewer.open_series("CR1")
    viewer.page.click("#open-prior")
    _wait_series(viewer, 1, server.series("CT2"))
    viewer.page.wait_for_function("(id) => location.hash.includes(`v1=${id}`)", arg=server.series("CT2"))
    hash_ = viewer.page.evaluate("location.hash")
    viewer.goto("#/")
    viewer.goto(hash_)
    _wait_series(viewer, 1, server.series("CT2"))
    viewer.page.wait_for_selector("#series-strip .series-card.prior")
