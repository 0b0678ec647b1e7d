"""The viewer's screens for what is not an image, in Chromium against a real Orthanc with the plugin
(static/screens.js, documents.js, summary.js): a report and a PDF with their own controls, the summary
screen of an RT Structure Set, RT Plan or RT Dose opened alone (a dose that decodes pictured, and switched
to its image and back), and the error screen of an image that cannot be drawn, with no window, zoom or
location printed over nothing.

Real files: pydicom's test-SR.dcm (a Comprehensive SR), rtstruct.dcm (an RTSTRUCT whose CT is not in
Orthanc), rtplan.dcm, rtdose.dcm (a 15-frame RT Dose), badVR.dcm (that dose with Number of Frames '1A'),
and the Radiomics Digital Phantom's CT with its RTSTRUCT (`make testdata`).  badVR.dcm and rtdose.dcm share
their study, series and SOP Instance UIDs, so rtdose.dcm is stored with new ones (pixels_corpus.fresh_copy),
every other element as in the file.  No PDF is among pydicom's or the shared files: the PDF is
tests/objects_pdf.py's two-page PDF (Pillow) wrapped by dcmtk's pdf2dcm.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
import requests
from pydicom.data import get_testdata_file

import objects_pdf
from conftest import replacing_orthanc
from orthanc_process import OrthancProcess
from pixels_corpus import fresh_copy
from test_viewer_client import Page, playwright  # noqa: F401  (fixture reused)
from test_viewer_objects import browser  # noqa: F401  (fixture reused)
from test_viewer_structures import PHANTOM, RTSTRUCT as PHANTOM_RTSTRUCT

SR = Path(get_testdata_file("test-SR.dcm"))           # Comprehensive SR, OFFIS' test document
RTSTRUCT = Path(get_testdata_file("rtstruct.dcm"))    # three ROIs on a CT that is not in Orthanc
RTPLAN = Path(get_testdata_file("rtplan.dcm"))        # one beam, one fraction group of 30
BAD_FRAMES = Path(get_testdata_file("badVR.dcm"))     # an RT Dose whose Number of Frames is '1A'
RTDOSE = Path(get_testdata_file("rtdose.dcm"))        # the same dose, 15 frames of 10 x 10, that decodes

#: The toolbar's image controls, which a report, a PDF and a summary screen do not have.
IMAGE_CONTROLS = ["button[data-tool='window']", "button[data-tool='pan']", "button[data-tool='zoom']", "#invert",
                  "#preset", "#play", "#fps", "#copy-url", "#download"]
#: What the overlay printed over a report and over nothing before (issue 25).
IMAGE_LINES = re.compile(r"Zoom \d+%|C/W auto|C -?\d+ +W \d+|Image \d+ / \d+|Loc -?\d")


def _read(path: Path) -> pydicom.Dataset:
    return pydicom.dcmread(path, force=True)   # rtstruct.dcm and rtplan.dcm have no preamble


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory: pytest.TempPathFactory, plugin_path: Path) -> Iterator[OrthancProcess]:
    """An Orthanc with the plugin, without warm-up."""
    yield from replacing_orthanc(tmp_path_factory, "screens")


@pytest.fixture(scope="module")
def uploads(orthanc: OrthancProcess, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Each file in Orthanc once: Orthanc's answer by name, and the phantom's CT series in viewing order."""
    found = {name: orthanc.upload(path) for name, path in
             (("sr", SR), ("rtstruct", RTSTRUCT), ("rtplan", RTPLAN), ("dose", BAD_FRAMES))}
    copy = tmp_path_factory.mktemp("rtdose") / "rtdose.dcm"
    copy.write_bytes(fresh_copy(RTDOSE))   # new UIDs: badVR.dcm has the same ones
    found["rtdose"] = orthanc.upload(copy)
    folder = tmp_path_factory.mktemp("pdf")
    found["pdf"] = orthanc.upload(objects_pdf.make_pdf_dicom(folder))
    found["pdf"]["original"] = (folder / "doc.pdf").read_bytes()   # the PDF that pdf2dcm wrapped
    slices = sorted(PHANTOM.glob("DCM_IMG_*.dcm"))
    if len(slices) != 60 or not PHANTOM_RTSTRUCT.is_file():
        pytest.fail(f"the Radiomics phantom is missing from {PHANTOM}: run `make testdata`")
    ct = [orthanc.upload(path) for path in slices]
    found["phantom"] = orthanc.upload(PHANTOM_RTSTRUCT)
    series = ct[0]["ParentSeries"]
    order = [row["id"] for row in requests.get(f"{orthanc.url}/previewer/api/series/{series}", timeout=30).json()["instances"]]
    heights = {u["ID"]: float(pydicom.dcmread(p, stop_before_pixels=True).ImagePositionPatient[2]) for u, p in zip(ct, slices)}
    found["ct"] = {"series": series, "order": order, "heights": heights}
    return found


@pytest.fixture
def page(browser: Any, orthanc: OrthancProcess) -> Iterator[Page]:
    """A fresh viewer page (2D renderer, clipboard allowed); the only failed requests are the 415s of the pixels and
    thumbnail routes for what is not an image, and nothing else may log an error."""
    wrapped = Page(browser, orthanc, "canvas")
    wrapped.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=orthanc.url)
    failed: list[str] = []
    wrapped.page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    try:
        yield wrapped
    finally:
        wrapped.close()
    refused = re.compile(r"415 .*/previewer/instances/[0-9a-f-]+/frames/0/(pixels|png\?size=\d+)$")
    assert [f for f in failed if not refused.match(f)] == []
    assert [e for e in wrapped.errors if "status of 415" not in e] == []


def _screen(page: Page, screen: str) -> None:
    """Wait until the viewport shows ``screen`` (its data-screen) for an instance."""
    page.page.wait_for_function("(s) => { const v = document.querySelector('.viewport');"
                                " return v.dataset.screen === s && v.dataset.instance; }", arg=screen)


def _summary(page: Page, instance: str) -> None:
    """Wait for the summary screen of ``instance``, read."""
    _screen(page, "summary")
    page.page.wait_for_function("(id) => { const s = document.querySelector('.viewport .summary');"
                                " return s && !s.hidden && s.dataset.instance === id && s.dataset.state === 'ready'; }",
                                arg=instance)


def _overlay(page: Page) -> str:
    """Every overlay line of the viewport, joined."""
    return str(page.page.evaluate(
        "() => [...document.querySelectorAll('.viewport .overlay div')].map((d) => d.textContent).join(' | ')"))


def _image_controls_off(page: Page) -> None:
    """The toolbar's image controls are disabled."""
    assert [c for c in IMAGE_CONTROLS if not page.page.is_disabled(c)] == []


def _opens_tags(page: Page, button: str, ds: pydicom.Dataset) -> None:
    """Clicking ``button`` opens the tags panel on the instance of ``ds`` (its SOP Instance UID row)."""
    page.page.click(button)
    page.page.wait_for_selector("#tags-panel:not([hidden])")
    page.page.wait_for_function("""(uid) => [...document.querySelectorAll('#tags-table tr')].some((tr) =>
        tr.cells[1].textContent === 'SOPInstanceUID' && tr.cells[2].textContent === uid)""", arg=str(ds.SOPInstanceUID))


def _texts(item: pydicom.Dataset) -> list[str]:
    """The TEXT values of an SR content tree, depth first."""
    found = [str(item.TextValue)] if "TextValue" in item else []
    for child in item.get("ContentSequence", []):
        found += _texts(child)
    return found


def test_each_instance_gets_its_screen(page: Page, orthanc: OrthancProcess, uploads: dict[str, Any]) -> None:
    """screens.js on the server's /info of each file: report, PDF, summary for the RT objects, image for a CT slice."""
    infos = {name: requests.get(f"{orthanc.url}/previewer/instances/{uploads[name]['ID']}/info", timeout=10).json()
             for name in ("sr", "pdf", "rtstruct", "rtplan", "dose", "rtdose", "phantom")}
    infos["ct"] = requests.get(f"{orthanc.url}/previewer/instances/{uploads['ct']['order'][0]}/info", timeout=10).json()
    page.goto()
    screens = page.page.evaluate("""async (infos) => { const { screenOf } = await import('./screens.js');
        const out = {};
        for (const [name, info] of Object.entries(infos)) out[name] = [screenOf(info, false), screenOf(info, true)];
        for (const name of ['rtdose', 'dose', 'ct']) out[name].push(screenOf(infos[name], false, { chosen: 'image' }));
        out.unknown = [screenOf(null, false), screenOf(null, true)];
        out.unknownDose = [screenOf(null, false, { modality: 'RTDOSE' }), screenOf(null, false, { modality: 'RTDOSE', chosen: 'image' })];
        out.unread = [screenOf({ error: 'gone' }, false), screenOf({ error: 'gone' }, true)];
        return out; }""", infos)
    assert screens == {
        "sr": ["report", "report"], "pdf": ["pdf", "summary"], "rtstruct": ["summary", "summary"],
        "rtplan": ["summary", "summary"], "dose": ["summary", "summary", "summary"],
        "rtdose": ["summary", "summary", "image"], "phantom": ["summary", "summary"],
        "ct": ["image", "summary", "image"], "unknown": ["image", ""], "unknownDose": ["summary", "image"],
        "unread": ["image", "summary"],
    }


def test_report_has_print_copy_and_download(page: Page, orthanc: OrthancProcess, uploads: dict[str, Any]) -> None:
    """pydicom's test-SR.dcm: the report's frame with Print, Copy text and downloads; no image tool or image overlay."""
    sr = uploads["sr"]
    page.goto(f"#/series/{sr['ParentSeries']}")
    _screen(page, "report")
    page.page.wait_for_function("() => document.querySelector('.viewport .report-screen').dataset.loaded")
    assert "allow-scripts" not in (page.page.get_attribute(".viewport .report", "sandbox") or "").split()
    assert _overlay(page).replace("|", "").strip() == ""   # not 'Image 1 / 1', 'C/W auto' or 'Zoom 0% (fit)'
    _image_controls_off(page)
    # Print prints the report's frame, not the viewer's page.
    page.page.evaluate("""() => { window.printed = [];
        document.querySelector('.viewport .report').contentWindow.addEventListener('beforeprint', () => window.printed.push('report'));
        window.addEventListener('beforeprint', () => window.printed.push('viewer')); }""")
    page.page.click(".viewport .report-print")
    page.page.wait_for_function("() => window.printed.length > 0")
    assert page.page.evaluate("() => window.printed") == ["report"]
    # Copy text: the report's text, with every TEXT item of the file, and a label apart from its item.
    page.page.click(".viewport .report-copy")
    page.page.wait_for_function("() => document.querySelector('#toast').textContent === 'Report text copied'")
    copied = str(page.page.evaluate("() => navigator.clipboard.readText()"))
    lines = [line.strip() for text in _texts(_read(SR)) for line in re.split(r"\r\n|\r|\n", text) if line.strip()]
    assert lines and [line for line in lines if line not in copied] == []   # the report's line breaks stay
    assert "contains Text Code:" in copied
    html = requests.get(f"{orthanc.url}/previewer/instances/{sr['ID']}/report", timeout=10)
    assert page.page.get_attribute(".viewport .report-download", "href") == html.url
    dicom = requests.get(str(page.page.evaluate("() => document.querySelector('.viewport .report-dicom').href")), timeout=10)
    assert dicom.content == SR.read_bytes()


def test_pdf_has_pages_zoom_and_download(page: Page, orthanc: OrthancProcess, uploads: dict[str, Any]) -> None:
    """A two-page PDF: the bar's next and previous buttons turn pages, + and Fit zoom, and Download gives the PDF."""
    pdf = uploads["pdf"]
    page.goto(f"#/series/{pdf['ParentSeries']}")
    _screen(page, "pdf")
    bar = ".viewport .pdf-bar"
    page.page.wait_for_function("() => { const b = document.querySelector('.viewport .pdf-bar');"
                                " return b && !b.hidden && b.dataset.pages === '2'; }")
    page.settle(0)
    assert page.text(".viewport .pdf-page") == "Page 1 / 2" and page.page.is_disabled(".viewport .pdf-previous")
    assert not IMAGE_LINES.search(_overlay(page)), _overlay(page)
    _image_controls_off(page)
    page.page.click(".viewport .pdf-next")
    page.page.wait_for_function("() => /frames\\/1\\/png/.test(document.querySelector('.viewport canvas').dataset.url || '')")
    assert page.page.get_attribute(bar, "data-page") == "2" and page.page.is_disabled(".viewport .pdf-next")
    fitted = int(page.page.get_attribute(".viewport .pdf-zoom", "data-zoom") or 0)
    page.page.click(".viewport .pdf-zoom-in")
    assert page.page.get_attribute(".viewport .pdf-zoom", "data-fitted") == "false"
    zoomed = int(page.page.get_attribute(".viewport .pdf-zoom", "data-zoom") or 0)
    assert zoomed == pytest.approx(fitted * 1.25, abs=1.2)   # both rounded to whole percents
    page.page.click(".viewport .pdf-fit")
    assert page.page.get_attribute(".viewport .pdf-zoom", "data-zoom") == str(fitted)
    page.page.click(".viewport .pdf-previous")
    page.page.wait_for_function("() => document.querySelector('.viewport .pdf-bar').dataset.page === '1'")
    link = page.page.locator(".viewport .pdf-download")
    assert link.get_attribute("download") is not None
    body = requests.get(str(link.evaluate("(a) => a.href")), timeout=10).content
    assert body.startswith(b"%PDF") and body == pdf["original"]


def test_rtstruct_without_its_ct_shows_its_rois(page: Page, uploads: dict[str, Any]) -> None:
    """pydicom's rtstruct.dcm, whose CT is not in Orthanc: a summary of its ROIs and references, no 'No Pixel Data'."""
    ds = _read(RTSTRUCT)
    instance = uploads["rtstruct"]["ID"]
    page.goto(f"#/series/{uploads['rtstruct']['ParentSeries']}")
    _summary(page, instance)
    assert page.text(".viewport .summary-title") == ds.SOPClassUID.name == "RT Structure Set Storage"
    assert page.page.is_hidden(".viewport .message") and page.page.locator(".viewport .summary-error").count() == 0
    assert _overlay(page).replace("|", "").strip() == ""
    _image_controls_off(page)
    colours = {int(r.ReferencedROINumber): r.ROIDisplayColor for r in ds.ROIContourSequence}
    contours = {int(r.ReferencedROINumber): len(r.ContourSequence) for r in ds.ROIContourSequence}
    types = {int(r.ReferencedROINumber): r.RTROIInterpretedType for r in ds.RTROIObservationsSequence}
    rows = page.page.evaluate("""() => [...document.querySelectorAll('.viewport .summary tr[data-roi]')].map((tr) => ({
        roi: Number(tr.dataset.roi), cells: [...tr.cells].map((td) => td.textContent),
        colour: getComputedStyle(tr.querySelector('.swatch')).backgroundColor }))""")
    assert [row["roi"] for row in rows] == [int(r.ROINumber) for r in ds.StructureSetROISequence]
    for row, roi in zip(rows, ds.StructureSetROISequence):
        number = int(roi.ROINumber)
        assert row["cells"][1:] == [str(number), roi.ROIName, types[number], str(contours[number]), "none in this Orthanc"]
        assert row["colour"] == "rgb({}, {}, {})".format(*colours[number])
    series_uid = ds.ReferencedFrameOfReferenceSequence[0].RTReferencedStudySequence[0].RTReferencedSeriesSequence[0].SeriesInstanceUID
    reference = page.page.locator(f".viewport .summary li[data-level='series'][data-uid='{series_uid}']")
    assert "not in this Orthanc" in (reference.text_content() or "") and reference.locator("a").count() == 0
    _opens_tags(page, ".viewport .summary-tags", ds)


def test_rtstruct_links_open_the_images_it_lies_on(page: Page, uploads: dict[str, Any]) -> None:
    """The phantom's RTSTRUCT opened alone: GTV-1's images are links to the CT slices its contours lie on."""
    ct = uploads["ct"]
    ds = _read(PHANTOM_RTSTRUCT)
    heights = {round(float(c.ContourData[2]), 1) for c in ds.ROIContourSequence[0].ContourSequence}
    lying = sorted(ct["order"].index(i) for i, z in ct["heights"].items() if round(z, 1) in heights)
    assert len(lying) == len(heights)
    page.goto(f"#/series/{uploads['phantom']['ParentSeries']}")
    _summary(page, uploads["phantom"]["ID"])
    page.page.wait_for_selector(".viewport .summary tr[data-roi='1'] td.summary-images a")
    links = page.page.evaluate("""() => [...document.querySelectorAll('.viewport .summary tr[data-roi="1"] td.summary-images a')]
        .map((a) => [a.dataset.series, a.getAttribute('href'), a.textContent])""")
    covered = []
    for series, href, text in links:
        assert series == ct["series"]
        first, _, last = text.partition("–")
        assert href == f"#/series/{series}?image={first}"
        covered += range(int(first) - 1, int(last or first))
    assert covered == lying
    series_link = page.page.locator(f".viewport .summary li[data-level='series'] a[data-target='{ct['series']}']")
    assert series_link.get_attribute("href") == f"#/series/{ct['series']}"
    page.page.click(".viewport .summary tr[data-roi='1'] td.summary-images a")
    _screen(page, "image")
    page.page.wait_for_function("(id) => { const v = document.querySelector('.viewport');"
                                " return v.dataset.instance === id && v.dataset.state === 'ready'; }",
                                arg=ct["order"][lying[0]])
    page.settle(0)
    assert re.search(r"Zoom \d+% \(fit\)", _overlay(page)) and not page.page.is_disabled("#invert")


def test_rtplan_shows_its_beams_and_fractions(page: Page, uploads: dict[str, Any]) -> None:
    """pydicom's rtplan.dcm (no Pixel Data): its beams and fraction groups, not an error."""
    ds = _read(RTPLAN)
    page.goto(f"#/series/{uploads['rtplan']['ParentSeries']}")
    _summary(page, uploads["rtplan"]["ID"])
    assert page.page.locator(".viewport .summary-error").count() == 0
    beams = page.page.evaluate("""() => [...document.querySelectorAll('.viewport .summary tr[data-beam]')]
        .map((tr) => [tr.dataset.beam, tr.cells[1].textContent, tr.cells[5].textContent])""")
    assert beams == [[str(b.BeamNumber), b.BeamName, str(len(b.ControlPointSequence))] for b in ds.BeamSequence]
    groups = page.page.evaluate("""() => [...document.querySelectorAll('.viewport .summary tr[data-fraction-group]')]
        .map((tr) => [tr.dataset.fractionGroup, tr.cells[1].textContent])""")
    assert groups == [[str(g.FractionGroupNumber), str(g.NumberOfFractionsPlanned)] for g in ds.FractionGroupSequence]
    assert _overlay(page).replace("|", "").strip() == ""


def test_bad_frame_count_names_the_problem_and_prints_no_window(page: Page, orthanc: OrthancProcess,
                                                               uploads: dict[str, Any]) -> None:
    """pydicom's badVR.dcm (Number of Frames '1A'): no window, zoom or location; an error box naming it, with the tags."""
    instance = uploads["dose"]["ID"]
    png = requests.get(f"{orthanc.url}/previewer/instances/{instance}/frames/0/png", timeout=10)
    assert png.status_code == 415
    summary = requests.get(f"{orthanc.url}/previewer/api/instances/{instance}/summary", timeout=10).json()
    page.goto(f"#/series/{uploads['dose']['ParentSeries']}")
    _summary(page, instance)
    assert page.text(".viewport .summary-problem") == png.json()["error"]
    assert "'1A'" in png.json()["error"]
    assert not IMAGE_LINES.search(_overlay(page)), _overlay(page)   # not 'C 2147483648 W 4294967296 (auto)', 'Zoom 7770%'
    _image_controls_off(page)
    ds = _read(BAD_FRAMES)
    facts = dict(page.page.evaluate("""() => [...document.querySelectorAll('.viewport .summary-rtdose dt')]
        .map((dt) => [dt.textContent, dt.nextElementSibling.textContent])"""))
    assert facts["Grid"].startswith(f"{ds.Columns} × {ds.Rows} × ")
    assert facts["Units"] == ds.DoseUnits
    study_date = page.text(".viewport .summary dd[data-keyword='StudyDate']")
    assert study_date == f"{ds.StudyDate[:4]}-{ds.StudyDate[4:6]}-{ds.StudyDate[6:]}"   # formatted as elsewhere
    assert facts["Dose range"] == f"unknown: {summary['rtdose']['range_error']}"
    assert page.page.locator(".viewport .summary-picture, .viewport .summary-show-image").count() == 0
    assert page.page.is_hidden(".viewport .screen-summary")
    _opens_tags(page, ".viewport .summary-error .summary-tags", ds)


def _shown(value: float) -> str:
    """A number as summary.js prints it: 4 significant digits, no trailing zeros."""
    return f"{float(f'{value:.4g}'):g}"


def test_rtdose_opens_on_its_summary_and_switches_to_its_image(page: Page, uploads: dict[str, Any]) -> None:
    """pydicom's rtdose.dcm: its summary (grid, units, range as numpy finds it, a picture), Show as image, Summary."""
    ds = _read(RTDOSE)
    dose = ds.pixel_array * float(ds.DoseGridScaling)
    instance, middle = uploads["rtdose"]["ID"], int(ds.NumberOfFrames) // 2
    page.goto(f"#/series/{uploads['rtdose']['ParentSeries']}")
    _summary(page, instance)
    facts = dict(page.page.evaluate("""() => [...document.querySelectorAll('.viewport .summary-rtdose dt')]
        .map((dt) => [dt.textContent, dt.nextElementSibling.textContent])"""))
    assert facts["Grid"].startswith(f"{ds.Columns} × {ds.Rows} × {ds.NumberOfFrames} ")
    assert facts["Units"] == ds.DoseUnits
    assert facts["Dose range"] == f"{_shown(dose.min())} – {_shown(dose.max())} {ds.DoseUnits}"
    page.page.wait_for_function("() => { const img = document.querySelector('.viewport img.summary-picture');"
                                " return img && img.complete && img.naturalWidth > 0; }")
    assert page.page.get_attribute(".viewport img.summary-picture", "data-frame") == str(middle)
    assert not IMAGE_LINES.search(_overlay(page)) and page.page.is_hidden(".viewport .screen-summary")
    _image_controls_off(page)
    # Show as image: the image screen at the pictured frame, with the window in the corner and the image tools.
    page.page.click(".viewport .summary-show-image")
    window = "() => document.querySelector('.viewport .overlay-window').textContent !== ''"
    page.page.wait_for_function(window)
    assert (page.page.get_attribute(".viewport", "data-screen"), page.page.get_attribute(".viewport", "data-frame")) == (
        "image", str(middle))
    assert IMAGE_LINES.search(_overlay(page)) and not page.page.is_disabled("#invert")
    assert page.page.is_visible(".viewport .screen-summary")
    page.page.keyboard.press("ArrowDown")   # frames scroll, and the viewport stays on the image screen
    page.page.wait_for_function("(f) => document.querySelector('.viewport').dataset.frame === f", arg=str(middle + 1))
    page.page.wait_for_function(window)
    assert page.page.get_attribute(".viewport", "data-screen") == "image"
    # Summary, the corner's button reached by the keyboard: back to the dose's summary, nothing of the image.
    page.page.focus(".viewport .screen-summary")
    page.page.keyboard.press("Enter")
    _summary(page, instance)
    assert not IMAGE_LINES.search(_overlay(page)) and page.page.is_hidden(".viewport .screen-summary")


def test_structure_set_card_opens_its_summary(page: Page, uploads: dict[str, Any]) -> None:
    """On the phantom's study page the RTSTRUCT's card is a link: clicked, the viewer shows the set's summary."""
    rtstruct = uploads["phantom"]
    page.goto(f"#/study/{rtstruct['ParentStudy']}")
    card = page.page.locator(f".series-card.object-series[data-series='{rtstruct['ParentSeries']}']")
    card.wait_for()
    card.click()
    _summary(page, rtstruct["ID"])
    assert page.text(".viewport .summary-title") == "RT Structure Set Storage"


def test_unknown_route_is_a_json_404_naming_it(browser: Any, orthanc: OrthancProcess, uploads: dict[str, Any]) -> None:
    """/previewer/instances/{id}/nosuchroute in the browser: a JSON 404 that names the route, not a viewer file."""
    path = f"/previewer/instances/{uploads['sr']['ID']}/nosuchroute"
    context = browser.new_context()
    try:
        response = context.new_page().goto(orthanc.url + path)
        assert response is not None and response.status == 404
        assert response.headers["content-type"].startswith("application/json")
        body = response.json()
    finally:
        context.close()
    assert body["route"] == path and body["error"].startswith(f"unknown route GET {path}:")
