"""The viewer with the objects beyond images, in Chromium against a real Orthanc with the plugin:
overlays, presentation states, PDF pages, reports, video and segmentations.

The files come from the makers in tests/objects_*.py (each says how its file is
made: highdicom, dcmtk, PyAV, Pillow, pypdfium2); a missing maker or library is an
error, not a skip (`make setup` installs them).
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
import requests

import objects_overlay as overlay
import objects_pdf as pdf
import objects_presentation as presentation
import objects_report as report
import objects_segmentation as segmentation
import objects_video as video
from conftest import replacing_orthanc
from orthanc_process import OrthancProcess
from test_viewer_client import Page, browser, playwright  # noqa: F401  (fixtures reused)

@pytest.fixture(scope="module")
def orthanc(tmp_path_factory: pytest.TempPathFactory, plugin_path: Path) -> Iterator[OrthancProcess]:
    """An Orthanc with the plugin, replacing instances (the makers reuse CT_small's UIDs), without warm-up."""
    yield from replacing_orthanc(tmp_path_factory, "objects")


REFUSED = "Failed to load resource: the server responded with a status of 415 (Unsupported Media Type)"


@pytest.fixture
def page(browser: Any, orthanc: OrthancProcess) -> Iterator[Page]:
    """A fresh viewer page (2D renderer); no console error may appear but the pixels route's 415 for a non-image."""
    wrapped = Page(browser, orthanc, "canvas")
    refused: list[str] = []
    wrapped.page.on("response", lambda r: refused.append(r.url) if r.status == 415 else None)
    try:
        yield wrapped
    finally:
        wrapped.close()
    # The viewer asks the pixels route first; for a report or PDF it answers 415 and the info names the kind.
    assert all("/pixels" in url for url in refused), refused
    assert [e for e in wrapped.errors if e != REFUSED] == []


def _upload_all(orthanc: OrthancProcess, paths: list[Path]) -> list[dict[str, Any]]:
    return [orthanc.upload(path) for path in paths]


def _upload_bytes(orthanc: OrthancProcess, path: Path, data: bytes) -> dict[str, Any]:
    """Write ``data`` (a maker's DICOM file) to ``path`` and upload it; Orthanc's answer."""
    path.write_bytes(data)
    return orthanc.upload(path)


def _open_new(page: Page, orthanc: OrthancProcess, path: Path, data: bytes) -> dict[str, Any]:
    """Upload ``data`` (see :func:`_upload_bytes`) and open its series in the viewer; Orthanc's answer."""
    uploaded = _upload_bytes(orthanc, path, data)
    page.goto(f"#/series/{uploaded['ParentSeries']}")
    return uploaded


def _wait_url(page: Page, needle: str, present: bool = True) -> None:
    page.page.wait_for_function(
        """([needle, present]) => { const c = document.querySelector('.viewport canvas');
           return c.dataset.busy !== '1' && (c.dataset.url || '').includes(needle) === present; }""",
        arg=[needle, present])


def test_report_shows_in_a_sandboxed_iframe(page: Page, orthanc: OrthancProcess, tmp_path: Path) -> None:
    """A highdicom TID 1500 SR (objects_report) shows its HTML in an iframe whose sandbox forbids scripts."""
    uploaded = _open_new(page, orthanc, tmp_path / "sr.dcm", report.measurement_report_bytes())
    page.page.wait_for_selector(".viewport .report-screen:not([hidden]) .report")
    sandbox = (page.page.get_attribute(".viewport .report", "sandbox") or "").split()
    assert sandbox and "allow-scripts" not in sandbox   # the viewer prints it and reads its text, no script runs
    frame = page.page.frame_locator(".viewport .report")
    heading = frame.locator("h1, h2").first
    heading.wait_for()
    html = requests.get(f"{orthanc.url}/previewer/instances/{uploaded['ID']}/report", timeout=10).text
    assert heading.text_content() and heading.text_content().strip() in html
    assert page.page.is_hidden(".viewport canvas")


def test_segment_toggles_change_the_image(page: Page, orthanc: OrthancProcess, tmp_path: Path) -> None:
    """A highdicom BINARY SEG over CT_small (objects_segmentation): applying it, then hiding a segment, change the pixels."""
    uploaded = _upload_all(orthanc, segmentation.write_all(tmp_path))
    series = uploaded[0]["ParentSeries"]
    listed = requests.get(f"{orthanc.url}/previewer/api/series/{series}/objects", timeout=10)
    assert listed.status_code == 200, listed.text[:200]
    page.open_series(series)
    plain = page.pixels_hash()
    page.page.click("[data-segmentation]")
    _wait_url(page, "segmentation=")
    applied = page.pixels_hash()
    assert applied != plain
    boxes = page.page.locator("[data-segment]")
    assert boxes.count() == 2
    boxes.nth(0).uncheck()
    _wait_url(page, "segments=2")
    assert page.pixels_hash() not in (plain, applied)
    page.page.click("[data-segmentation]")   # a second click removes it
    _wait_url(page, "segmentation=", present=False)


def _rgb(page: Page) -> np.ndarray:
    """The canvas' pixels as a (rows, columns, 3) uint8 array."""
    return page.rgba()[..., :3]


def _mean_colour(page: Page) -> np.ndarray:
    """The mean red, green and blue of the canvas' pixels that are not black (the image, not its margin)."""
    rgb = _rgb(page)
    return rgb[rgb.any(axis=2)].mean(axis=0)  # type: ignore[no-any-return]


def _wait_path(page: Page, path: str, needle: str = "") -> None:
    """Wait until the image on screen was drawn by ``path`` (server, client-…) from a URL holding ``needle``."""
    page.page.wait_for_function(
        """([path, needle]) => { const c = document.querySelector('.viewport canvas');
           return c.dataset.busy !== '1' && (c.dataset.path || '').startsWith(path)
             && (c.dataset.url || '').includes(needle); }""",
        arg=[path, needle])


def test_overlays_toggle_by_button_and_key(page: Page, orthanc: OrthancProcess, tmp_path: Path) -> None:
    """pydicom-data's Siemens MR with an overlay: the Overlays button shows; button and O toggle overlays=0."""
    uploaded = _open_new(page, orthanc, tmp_path / "siemens.dcm", overlay.siemens_overlay())
    page.page.wait_for_selector("#overlays:not([hidden])")
    _wait_path(page, "server", f"instances/{uploaded['ID']}/frames/0/png")
    assert "overlays=0" not in page.attr("url")
    assert page.page.get_attribute("#overlays", "aria-pressed") == "true"
    shown = _rgb(page)
    page.page.click("#overlays")
    _wait_url(page, "overlays=0")
    assert page.page.get_attribute("#overlays", "aria-pressed") == "false"
    hidden = _rgb(page)
    assert shown.mean() > hidden.mean()   # burned in white: brighter, never darker
    page.page.keyboard.press("o")
    _wait_path(page, "server")
    _wait_url(page, "overlays=0", present=False)
    assert np.array_equal(_rgb(page), shown)
    page.page.keyboard.press("O")
    _wait_url(page, "overlays=0")
    assert np.array_equal(_rgb(page), hidden)


def test_multiframe_overlay_only_on_its_frames(page: Page, orthanc: OrthancProcess, tmp_path: Path) -> None:
    """emri_small with a 3-frame overlay from frame 4 and a cross on all (objects_overlay): O changes more on frame 4."""
    uploaded = _upload_bytes(orthanc, tmp_path / "multiframe.dcm", overlay.multiframe_overlay())
    info = requests.get(f"{orthanc.url}/previewer/instances/{uploaded['ID']}/info", timeout=10).json()
    assert [o["group"] for o in info["overlays"]] == ["6000", "6002"]
    page.goto(f"#/series/{uploaded['ParentSeries']}?image={overlay.FRAME_ORIGIN}")
    page.page.wait_for_selector("#overlays:not([hidden])")
    on_frame = f"frames/{overlay.FRAME_ORIGIN - 1}/png"
    _wait_path(page, "server", on_frame)
    shown = _rgb(page)[..., 0]
    page.page.keyboard.press("o")
    _wait_url(page, "overlays=0")
    changed_on_frame = int(np.count_nonzero(_rgb(page)[..., 0] != shown))
    page.page.keyboard.press("Home")
    _wait_url(page, "frames/0/png?overlays=0")
    hidden = _rgb(page)[..., 0]
    page.page.keyboard.press("o")
    _wait_path(page, "server", "frames/0/png")
    _wait_url(page, "overlays=0", present=False)
    changed_first = int(np.count_nonzero(_rgb(page)[..., 0] != hidden))
    assert changed_on_frame > changed_first > 0


def _step_through(page: Page, count: int, stop_at: str = "") -> list[str]:
    """From the first image (Home), the URLs of up to ``count`` images shown one after another (ArrowDown),
    stopping at the image of instance ``stop_at`` if given."""
    page.page.keyboard.press("Home")
    urls: list[str] = []
    for step in range(count):
        _wait_url(page, "/png")
        urls.append(page.page.evaluate("() => document.querySelector('.viewport canvas').dataset.url"))
        if (stop_at and f"instances/{stop_at}/" in urls[-1]) or step == count - 1:
            break
        page.page.keyboard.press("ArrowDown")
        page.page.wait_for_function("(before) => document.querySelector('.viewport canvas').dataset.url !== before",
                                    arg=urls[-1])
    return urls


def test_presentation_state_applies_and_removes(page: Page, orthanc: OrthancProcess, tmp_path: Path) -> None:
    """A dcmpsmk GSPS of CT_small (objects_presentation) is listed; a click applies it to CT_small only
    (another slice of the series shows plain, with no 422), a second click removes it."""
    image = orthanc.upload(Path(presentation.CT))
    state = orthanc.upload(presentation.annotate(presentation.dcmpsmk(tmp_path)))
    # A slice the GSPS does not reference, in the same series: CT_small with a new SOP Instance UID
    # (made with pydicom for this test; no real file has a GSPS over part of a series).
    other = pydicom.dcmread(presentation.CT)
    other.SOPInstanceUID = pydicom.uid.generate_uid()
    other.InstanceNumber = int(other.get("InstanceNumber") or 1) + 100
    other.save_as(tmp_path / "unreferenced.dcm")
    unreferenced = orthanc.upload(tmp_path / "unreferenced.dcm")
    assert unreferenced["ParentSeries"] == image["ParentSeries"]
    page.open_series(image["ParentSeries"])
    button = page.page.locator(f"[data-presentation='{state['ID']}']")
    button.wait_for()
    instances = [row["id"] for row in requests.get(
        f"{orthanc.url}/previewer/api/series/{image['ParentSeries']}", timeout=10).json()["instances"]]
    shown = _step_through(page, len(instances), stop_at=image["ID"])
    assert f"instances/{image['ID']}/" in shown[-1]
    _wait_url(page, f"instances/{image['ID']}/frames/0/png")
    plain = page.pixels_hash()
    button.click()
    _wait_path(page, "server", f"presentation={state['ID']}")
    assert button.get_attribute("aria-pressed") == "true"
    applied = page.pixels_hash()
    assert applied != plain
    # Every other image of the series is shown without the presentation state.
    seen = {next(i for i in instances if f"instances/{i}/" in url): url
            for url in _step_through(page, len(instances))}
    assert set(seen) == set(instances) and unreferenced["ID"] in seen
    assert all(("presentation=" in url) == (instance == image["ID"]) for instance, url in seen.items()), seen
    _step_through(page, len(instances), stop_at=image["ID"])
    button.click()
    _wait_url(page, "presentation=", present=False)
    assert button.get_attribute("aria-pressed") == "false"
    assert page.pixels_hash() == plain


def test_pdf_pages_and_download(page: Page, orthanc: OrthancProcess, tmp_path: Path) -> None:
    """A two-page pdf2dcm PDF (objects_pdf): page 1, then page 2 by the arrow key; its bar's link downloads the PDF."""
    dicom = pdf.make_pdf_dicom(tmp_path)
    original = (tmp_path / "doc.pdf").read_bytes()
    uploaded = orthanc.upload(dicom)
    page.goto(f"#/series/{uploaded['ParentSeries']}")
    _wait_path(page, "server", f"instances/{uploaded['ID']}/frames/0/png")
    page.page.wait_for_function("() => document.querySelector('.viewport .pdf-page').textContent === 'Page 1 / 2'")
    first = _mean_colour(page)
    page.page.keyboard.press("ArrowRight")
    _wait_path(page, "server", f"instances/{uploaded['ID']}/frames/1/png")
    assert page.text(".viewport .pdf-page") == "Page 2 / 2"
    second = _mean_colour(page)
    assert first[0] > first[2] and second[2] > second[0]   # red page, then blue page
    link = page.page.locator(".viewport .pdf-download")
    assert link.is_visible()
    href = link.evaluate("a => a.href")
    assert href == f"{orthanc.url}/previewer/instances/{uploaded['ID']}/document"
    body = requests.get(href, timeout=10).content
    ds = pydicom.dcmread(dicom)
    assert body.startswith(b"%PDF") and body == original
    assert body == bytes(ds.EncapsulatedDocument)[: int(ds.EncapsulatedDocumentLength)]


def test_video_plays(page: Page, orthanc: OrthancProcess, tmp_path: Path) -> None:
    """An MPEG-2 video of 30 grey frames (objects_video): Play advances the frame on screen, Pause stops it."""
    path = tmp_path / "video.dcm"
    video.make_video_dataset("mpeg2video").save_as(path, enforce_file_format=True)
    uploaded = orthanc.upload(path)
    page.goto(f"#/series/{uploaded['ParentSeries']}")
    _wait_path(page, "server", f"instances/{uploaded['ID']}/frames/0/png")
    first = _mean_colour(page)
    page.page.fill("#fps", "25")
    page.page.click("#play")
    assert page.page.get_attribute("#play", "aria-pressed") == "true"
    page.page.wait_for_function("""() => { const c = document.querySelector('.viewport canvas');
        const m = /frames\\/(\\d+)\\/png/.exec(c.dataset.url || ''); return m && Number(m[1]) >= 3; }""")
    page.page.click("#play")
    assert page.page.get_attribute("#play", "aria-pressed") == "false"
    page.page.wait_for_function("() => document.querySelector('.viewport canvas').dataset.busy !== '1'")
    shown = int(page.attr("url").split("/frames/")[1].split("/")[0])
    assert _mean_colour(page)[1] > first[1] + 7 * (shown - 1)   # the grey level rises by 7 per frame
    assert page.text(".viewport .overlay-position").startswith(f"Frame {shown + 1} / {video.FRAMES}")
