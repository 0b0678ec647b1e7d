"""static/format.js's dates in Chromium, through a real Orthanc: every valid DA as YYYY-MM-DD, an invalid one marked.

Files: pydicom's ExplVR_BigEnd.dcm (StudyDate '1997.04.24', ACR-NEMA's legacy
form, and no Patient ID) and CT_small.dcm (StudyDate '20040119'); a copy of
ExplVR_BigEnd.dcm made by pydicom as a second study of the same patient with
StudyDate '19971332' (no real file holds an invalid date).
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from conftest import CT_SMALL, replacing_orthanc
from orthanc_process import OrthancProcess
from test_objects_dates import DATES
from test_viewer_client import Page, browser, playwright  # noqa: F401  (fixtures reused)

LEGACY = Path(get_testdata_file("ExplVR_BigEnd.dcm"))
INVALID = "19971332"


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory: pytest.TempPathFactory, plugin_path: Path) -> Iterator[OrthancProcess]:
    """An Orthanc with the plugin, without warm-up."""
    yield from replacing_orthanc(tmp_path_factory, "dates")


@pytest.fixture(scope="module")
def studies(orthanc: OrthancProcess, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """ExplVR_BigEnd.dcm, its invalid-date copy (a second study of its patient) and CT_small.dcm, uploaded once."""
    legacy = orthanc.upload(LEGACY)
    ds = pydicom.dcmread(LEGACY)
    with pytest.warns(UserWarning, match="Invalid value for VR DA"):   # pydicom warns: set on purpose
        ds.StudyDate = INVALID
    ds.StudyInstanceUID = generate_uid(entropy_srcs=["invalid study date", "study"])
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=["invalid study date", "series"])
    ds.SOPInstanceUID = generate_uid(entropy_srcs=["invalid study date", "instance"])
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    path = tmp_path_factory.mktemp("datefiles") / "invalid.dcm"
    ds.save_as(path, enforce_file_format=True)
    invalid = orthanc.upload(path)
    assert invalid["ParentPatient"] == legacy["ParentPatient"]
    return {"legacy": legacy, "invalid": invalid, "ct": orthanc.upload(CT_SMALL)}


@pytest.fixture(scope="module")
def page(browser: Any, orthanc: OrthancProcess, studies: dict[str, Any]) -> Iterator[Page]:  # noqa: F811
    """One viewer page for the module (2D renderer) that must log no console error."""
    wrapped = Page(browser, orthanc, "canvas")
    try:
        wrapped.goto("#/")
        yield wrapped
    finally:
        wrapped.close()
    assert wrapped.errors == []


def test_date_formatter_table(page: Page) -> None:
    """format.js's date() gives what previewer.objects.dates gives, on every case of tests/test_objects_dates.py."""
    shown = page.page.evaluate("""async (values) => {
        const format = await import('./format.js');
        return values.map((value) => format.date(value));
    }""", list(DATES))
    assert dict(zip(DATES, shown)) == DATES


def _row_date(page: Page, study: str) -> str:
    selector = f".study-row[data-study='{study}'] td.date"
    page.page.wait_for_selector(selector)
    return page.text(selector)


def test_study_list_dates(page: Page, studies: dict[str, Any]) -> None:
    """The study list: ExplVR_BigEnd's 1997.04.24 as 1997-04-24 beside CT_small's 2004-01-19, the copy's 19971332 marked."""
    page.goto("#/")
    page.page.wait_for_selector("#browse-view[data-state=ready]")
    assert _row_date(page, studies["legacy"]["ParentStudy"]) == "1997-04-24"
    assert _row_date(page, studies["ct"]["ParentStudy"]) == "2004-01-19"
    assert _row_date(page, studies["invalid"]["ParentStudy"]) == f"{INVALID} (invalid date)"


def test_study_page_and_priors(page: Page, studies: dict[str, Any]) -> None:
    """ExplVR_BigEnd's study page: the header's date 1997-04-24, the other study listed with its date marked invalid."""
    page.goto(f"#/study/{studies['legacy']['ParentStudy']}")
    page.page.wait_for_selector("#study-view[data-state=ready]")
    assert "1997-04-24" in page.text("#study-header p") and "1997.04.24" not in page.text("#study-header")
    other = f"#study-others li[data-study='{studies['invalid']['ParentStudy']}']"
    assert page.text(other).startswith(f"{INVALID} (invalid date) · US")


def test_viewer_overlay_and_strip(page: Page, studies: dict[str, Any]) -> None:
    """The viewer on ExplVR_BigEnd's series: the overlay's study line and the strip's prior button show the formatted dates."""
    page.goto(f"#/series/{studies['legacy']['ParentSeries']}")
    page.page.wait_for_function("() => (document.querySelector('.viewport .ov-study')?.textContent || '').includes('1997')")
    assert page.text(".viewport .ov-study") == "1997-04-24"
    button = f".series-strip li[data-study='{studies['invalid']['ParentStudy']}'] button"
    page.page.wait_for_selector(button)
    assert page.text(button).startswith(f"{INVALID} (invalid date)")
