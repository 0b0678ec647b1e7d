"""Objects beyond images through a real Orthanc: reports, PDFs, presentation states and segmentations on the PNG routes.

Each file is made by a real tool (see the makers in tests/objects_*.py, whose
docstrings say how): pydicom-data's and highdicom's reports here.
"""
from __future__ import annotations

import io
from typing import Any

import numpy as np
import pydicom
import pydicom.uid
import pytest
from PIL import Image

import objects_pdf
import objects_presentation
import objects_report
import objects_segmentation
import objects_sources
import objects_video
from conftest import CT_SMALL
from orthanc_process import OrthancProcess


def _store(orthanc: OrthancProcess, data: bytes) -> str:
    answer = orthanc.http.post(orthanc.url + "/instances", data=data, timeout=30)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["ID"])


def _png(answer: Any) -> np.ndarray:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "image/png"
    return np.asarray(Image.open(io.BytesIO(answer.content)))


def _dicomweb(data: bytes) -> str:
    ds = pydicom.dcmread(io.BytesIO(data))
    return (f"/previewer/dicom-web/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
            f"/instances/{ds.SOPInstanceUID}")


@pytest.fixture(scope="module")
def measurement_report(orthanc: OrthancProcess) -> tuple[str, bytes]:
    """highdicom's TID 1500 report on CT_small.dcm, stored with the CT it references."""
    orthanc.upload(CT_SMALL)
    data = objects_report.measurement_report_bytes()
    return _store(orthanc, data), data


class TestReport:
    def test_report_route_is_escaped_html_with_units_and_links(self, orthanc: OrthancProcess,
                                                               measurement_report: tuple[str, bytes]) -> None:
        """/report answers the content tree as HTML: the measurement with its unit, the image linked to the viewer."""
        answer = orthanc.get(f"/previewer/instances/{measurement_report[0]}/report")
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
        assert "default-src 'none'" in answer.headers["content-security-policy"]
        text = answer.text
        assert f"{objects_report.DIAMETER_MM} mm" in text
        ct_uid = pydicom.dcmread(CT_SMALL, stop_before_pixels=True).SOPInstanceUID
        assert f'href="/previewer/open?SOPInstanceUID={ct_uid}"' in text
        opened = orthanc.get(f"/previewer/open?SOPInstanceUID={ct_uid}", allow_redirects=False)
        assert opened.status_code in (301, 302, 303, 307)

    def test_hostile_text_is_escaped(self, orthanc: OrthancProcess) -> None:
        """A report whose text holds a script tag answers it escaped, never as markup."""
        report_id = _store(orthanc, objects_report.hostile_sr_bytes())
        text = orthanc.get(f"/previewer/instances/{report_id}/report").text
        assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text

    def test_png_route_is_a_thumbnail_of_the_report(self, orthanc: OrthancProcess,
                                                    measurement_report: tuple[str, bytes]) -> None:
        """The PNG route of a report answers a picture of its text, fitted to size=."""
        base = f"/previewer/instances/{measurement_report[0]}"
        page = _png(orthanc.get(base + "/png?size=128"))
        assert page.ndim == 3 and max(page.shape[:2]) == 128 and page.shape[0] > page.shape[1]
        assert (page < 128).any() and (page > 250).mean() > 0.5, "dark text on a white page"
        assert _png(orthanc.get(base + "/png?format=gray8&size=64")).ndim == 2

    def test_info_names_the_kind_and_the_report(self, orthanc: OrthancProcess,
                                                measurement_report: tuple[str, bytes]) -> None:
        """/info of a report says kind report, one frame, and where its HTML is."""
        info = orthanc.get(f"/previewer/instances/{measurement_report[0]}/info").json()
        assert (info["kind"], info["frames"], info["decodable"]) == ("report", 1, True)
        assert info["report"] == f"/previewer/instances/{measurement_report[0]}/report"

    def test_image_parameters_and_other_frames_are_4xx(self, orthanc: OrthancProcess,
                                                       measurement_report: tuple[str, bytes]) -> None:
        """A window, a page or frame 1 on a report are JSON 4xx errors that name the problem."""
        base = f"/previewer/instances/{measurement_report[0]}"
        for path, status, word in [("/png?window=40,400", 400, "window"), ("/png?page=2", 400, "page"),
                                   ("/frames/1/png", 404, "frame")]:
            answer = orthanc.get(base + path)
            assert answer.status_code == status and word in answer.json()["error"], (path, answer.text)

    def test_dicomweb_rendered_as_html_or_png(self, orthanc: OrthancProcess,
                                              measurement_report: tuple[str, bytes]) -> None:
        """DICOMweb rendered answers text/html when asked (PS3.18 §8.7.4), a PNG thumbnail otherwise."""
        url = _dicomweb(measurement_report[1]) + "/rendered"
        html = orthanc.get(url, headers={"Accept": "text/html"})
        assert html.status_code == 200 and f"{objects_report.DIAMETER_MM} mm" in html.text
        assert _png(orthanc.get(url, headers={"Accept": "image/png"})).ndim == 3
        assert orthanc.get(url, headers={"Accept": "application/pdf"}).status_code == 406

    def test_report_of_an_image_is_415(self, orthanc: OrthancProcess, ct_id: str) -> None:
        """/report and /document of an image are 415 naming what the instance is."""
        for route in ("report", "document"):
            answer = orthanc.get(f"/previewer/instances/{ct_id}/{route}")
            assert answer.status_code == 415 and "image" in answer.json()["error"]


@pytest.fixture(scope="module")
def gsps(orthanc: OrthancProcess, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """dcmtk's dcmpsmk GSPS of CT_small.dcm, annotated and rotated 90 degrees with pydicom (objects_presentation)."""
    folder = tmp_path_factory.mktemp("gsps")
    ct = str(orthanc.upload(CT_SMALL)["ID"])
    plain = objects_presentation.annotate(objects_presentation.dcmpsmk(folder))
    rotated_folder = folder / "rotated"
    rotated_folder.mkdir()
    rotated = objects_presentation.annotate(objects_presentation.dcmpsmk(rotated_folder), rotation=90, flip=False)
    return {"ct": ct, "plain": _store(orthanc, plain.read_bytes()), "rotated": _store(orthanc, rotated.read_bytes())}


class TestPresentation:
    def test_presentation_applies_its_window_and_draws_annotations(self, orthanc: OrthancProcess,
                                                                   gsps: dict[str, str]) -> None:
        """presentation= on the CT's PNG route applies the GSPS window (40/400) and burns its annotations in colour."""
        base = f"/previewer/instances/{gsps['ct']}/png"
        shown = _png(orthanc.get(base + f"?presentation={gsps['plain']}"))
        windowed = _png(orthanc.get(base + "?window=40,400&format=rgb24"))
        assert shown.shape == windowed.shape == (128, 128, 3)
        differs = (np.abs(shown.astype(int) - windowed.astype(int)).max(axis=2) > 2)
        assert 0 < differs.mean() < 0.3, "the annotations change some pixels, the window leaves the rest alike"

    def test_rotation_turns_the_image(self, orthanc: OrthancProcess, gsps: dict[str, str]) -> None:
        """A GSPS rotating by 90 degrees gives the windowed image turned clockwise, outside its annotations."""
        base = f"/previewer/instances/{gsps['ct']}/png"
        turned = _png(orthanc.get(base + f"?presentation={gsps['rotated']}&format=gray8"))
        plain = _png(orthanc.get(base + f"?presentation={gsps['plain']}&format=gray8"))
        assert turned.shape == plain.shape
        assert (np.abs(np.rot90(plain, -1).astype(int) - turned.astype(int)) <= 1).mean() > 0.95

    def test_another_image_or_unknown_state_is_4xx(self, orthanc: OrthancProcess, gsps: dict[str, str],
                                                   rgb_id: str) -> None:
        """A presentation state on an image it does not reference is 422; an unknown ID 404; a CT as one 400."""
        cases = [(rgb_id, gsps["plain"], 422), (gsps["ct"], "0" * 8 + "-00000000" * 4, 404),
                 (gsps["ct"], gsps["ct"], 400), (gsps["ct"], "nonsense", 400)]
        for image, state, status in cases:
            answer = orthanc.get(f"/previewer/instances/{image}/png?presentation={state}")
            assert answer.status_code == status and answer.json()["error"], (image, state, answer.text)

    def test_series_objects_lists_the_states(self, orthanc: OrthancProcess, gsps: dict[str, str]) -> None:
        """/api/series/{id}/objects of the CT's series lists both presentation states with their labels."""
        series = orthanc.get(f"/instances/{gsps['ct']}").json()["ParentSeries"]
        listed = orthanc.get(f"/previewer/api/series/{series}/objects").json()
        ids = {item["id"] for item in listed["presentations"]}
        assert {gsps["plain"], gsps["rotated"]} <= ids
        assert all("label" in item for item in listed["presentations"])

    def test_etag_changes_with_the_state(self, orthanc: OrthancProcess, gsps: dict[str, str]) -> None:
        """Each presentation state has its own ETag, so a browser never shows one for the other."""
        base = f"/previewer/instances/{gsps['ct']}/png"
        tags = {orthanc.get(base + query).headers["etag"]
                for query in ("", f"?presentation={gsps['plain']}", f"?presentation={gsps['rotated']}")}
        assert len(tags) == 3


@pytest.fixture(scope="module")
def pdf_instance(orthanc: OrthancProcess, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, bytes]:
    """A two-page PDF by Pillow's PDF writer (red page 1, blue page 2), wrapped by dcmtk's pdf2dcm."""
    path = objects_pdf.make_pdf_dicom(tmp_path_factory.mktemp("pdf"))
    return _store(orthanc, path.read_bytes()), path.read_bytes()


class TestPdf:
    def test_pages_render_in_their_colours(self, orthanc: OrthancProcess, pdf_instance: tuple[str, bytes]) -> None:
        """page=1 is the red page and page=2 the blue one, fitted to size=; frame n is page n+1."""
        base = f"/previewer/instances/{pdf_instance[0]}"
        for page, colour in enumerate(objects_pdf.PAGE_COLOURS, start=1):
            image = _png(orthanc.get(base + f"/png?page={page}&size=200"))
            assert max(image.shape[:2]) == 200 and image.shape[0] > image.shape[1]
            assert np.abs(np.median(image.reshape(-1, 3), axis=0) - colour).max() < 12
        assert (_png(orthanc.get(base + "/frames/1/png?size=200")) ==
                _png(orthanc.get(base + "/png?page=2&size=200"))).all()

    def test_page_out_of_range_and_bad_page_are_4xx(self, orthanc: OrthancProcess,
                                                   pdf_instance: tuple[str, bytes]) -> None:
        """page=3 of a two-page PDF is a 404 naming the page count; page=0 or page=x a 400."""
        base = f"/previewer/instances/{pdf_instance[0]}/png"
        answer = orthanc.get(base + "?page=3")
        assert answer.status_code == 404 and "2" in answer.json()["error"]
        for bad in ("0", "x", "-1"):
            assert orthanc.get(base + f"?page={bad}").status_code == 400

    def test_info_and_original_document(self, orthanc: OrthancProcess, pdf_instance: tuple[str, bytes]) -> None:
        """/info counts the pages; /document and DICOMweb rendered (Accept: application/pdf) give the PDF itself."""
        info = orthanc.get(f"/previewer/instances/{pdf_instance[0]}/info").json()
        assert (info["kind"], info["frames"]) == ("pdf", 2)
        original = bytes(pydicom.dcmread(io.BytesIO(pdf_instance[1])).EncapsulatedDocument).rstrip(b"\0")
        document = orthanc.get(info["document"])
        assert document.headers["content-type"] == "application/pdf"
        assert "attachment" in document.headers["content-disposition"]
        assert document.content.rstrip(b"\0") == original
        rendered = orthanc.get(_dicomweb(pdf_instance[1]) + "/rendered", headers={"Accept": "application/pdf"})
        assert rendered.status_code == 200 and rendered.content.rstrip(b"\0") == original
        thumb = _png(orthanc.get(_dicomweb(pdf_instance[1]) + "/thumbnail"))
        assert np.abs(np.median(thumb.reshape(-1, 3), axis=0) - objects_pdf.PAGE_COLOURS[0]).max() < 12


@pytest.fixture(scope="module")
def seg_instance(orthanc: OrthancProcess, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """highdicom's BINARY and FRACTIONAL SEGs (red and green segments) over CT_small.dcm (objects_segmentation)."""
    folder = tmp_path_factory.mktemp("seg")
    paths = {path.stem: path for path in objects_segmentation.write_all(folder)}
    return {"ct": str(orthanc.upload(CT_SMALL)["ID"]),
            "binary": _store(orthanc, paths["seg_binary"].read_bytes()),
            "fractional": _store(orthanc, paths["seg_fractional"].read_bytes())}


class TestSegmentation:
    def test_segments_drawn_in_their_colours(self, orthanc: OrthancProcess, seg_instance: dict[str, str]) -> None:
        """segmentation= draws segment 1 (red) over its square at opacity 1, and leaves the rest of the image grey."""
        base = f"/previewer/instances/{seg_instance['ct']}/png"
        plain = _png(orthanc.get(base + "?format=rgb24"))
        drawn = _png(orthanc.get(base + f"?segmentation={seg_instance['binary']}&opacity=1"))
        changed = np.abs(drawn.astype(int) - plain.astype(int)).max(axis=2) > 10
        assert 0 < changed.mean() < 0.5
        red = drawn[changed]
        assert (red[:, 0].astype(int) - red[:, 1] > 100).any(), "some masked pixels are red"

    def test_opacity_and_segment_filter(self, orthanc: OrthancProcess, seg_instance: dict[str, str]) -> None:
        """opacity=0 draws nothing; segments=2 leaves out segment 1; an unknown segment is a 400."""
        base = f"/previewer/instances/{seg_instance['ct']}/png?segmentation={seg_instance['binary']}"
        plain = _png(orthanc.get(f"/previewer/instances/{seg_instance['ct']}/png?format=rgb24"))
        assert (_png(orthanc.get(base + "&opacity=0")) == plain).all()
        both, only2 = _png(orthanc.get(base + "&opacity=1")), _png(orthanc.get(base + "&opacity=1&segments=2"))
        assert (both != only2).any()
        answer = orthanc.get(base + "&segments=9")
        assert answer.status_code == 400 and "9" in answer.json()["error"]

    def test_unreferenced_image_and_listing(self, orthanc: OrthancProcess, seg_instance: dict[str, str],
                                            rgb_id: str) -> None:
        """A SEG on an image it does not reference is 422; the CT's series lists both SEGs with their segments."""
        answer = orthanc.get(f"/previewer/instances/{rgb_id}/png?segmentation={seg_instance['binary']}")
        assert answer.status_code == 422 and answer.json()["error"]
        series = orthanc.get(f"/instances/{seg_instance['ct']}").json()["ParentSeries"]
        listed = orthanc.get(f"/previewer/api/series/{series}/objects").json()["segmentations"]
        found = {item["id"]: item for item in listed}
        assert {seg_instance["binary"], seg_instance["fractional"]} <= set(found)
        assert [s["number"] for s in found[seg_instance["binary"]]["segments"]] == [1, 2]

    def test_segmentation_of_another_size_is_422(self, orthanc: OrthancProcess,
                                                 seg_instance: dict[str, str]) -> None:
        """The highdicom SEG cut by pydicom to 64x64 (same aspect ratio as CT_small's 128x128) is a 422 naming both sizes."""
        small = objects_segmentation.resized_segmentation(64, 64)
        small.SOPInstanceUID = pydicom.uid.generate_uid()
        small.file_meta.MediaStorageSOPInstanceUID = small.SOPInstanceUID
        seg = _store(orthanc, objects_segmentation._bytes(small))
        answer = orthanc.get(f"/previewer/instances/{seg_instance['ct']}/png?segmentation={seg}")
        assert answer.status_code == 422, answer.text
        assert "64x64" in answer.json()["error"] and "128x128" in answer.json()["error"]

    def test_fractional_segmentation_draws(self, orthanc: OrthancProcess, seg_instance: dict[str, str]) -> None:
        """A FRACTIONAL SEG draws too, and a thumbnail of it keeps the box."""
        base = f"/previewer/instances/{seg_instance['ct']}/png?segmentation={seg_instance['fractional']}"
        assert _png(orthanc.get(base + "&size=64")).shape == (64, 64, 3)


@pytest.fixture(scope="module", params=["mpeg2video", "libx264", "libx265"])
def video(orthanc: OrthancProcess, request: pytest.FixtureRequest) -> tuple[str, bytes]:
    """30 grey frames (level 20+7k) encoded by PyAV as MPEG-2, H.264 or HEVC and wrapped with pydicom (objects_video)."""
    data = objects_sources._bytes(objects_video.make_video_dataset(request.param))
    return _store(orthanc, data), data


class TestVideo:
    def test_frames_decode_in_order(self, orthanc: OrthancProcess, video: tuple[str, bytes]) -> None:
        """Frame k of the PNG route has the grey level encoded in frame k; /info counts 30 frames."""
        base = f"/previewer/instances/{video[0]}"
        assert orthanc.get(base + "/info").json()["frames"] == objects_video.FRAMES
        for k in (0, 1, 2, 20):
            image = _png(orthanc.get(base + f"/frames/{k}/png"))
            assert abs(float(np.median(image)) - objects_video.level(k)) <= 3, k

    def test_cine_then_back(self, orthanc: OrthancProcess, video: tuple[str, bytes]) -> None:
        """Every frame in order, as the viewer's cine asks them, then frame 3 again: each has its level."""
        base = f"/previewer/instances/{video[0]}/frames"
        for k in [*range(objects_video.FRAMES), 3]:
            image = _png(orthanc.get(f"{base}/{k}/png?size=32"))
            assert abs(float(np.median(image)) - objects_video.level(k)) <= 3, k

    def test_thumbnail_is_the_middle_frame(self, orthanc: OrthancProcess, video: tuple[str, bytes]) -> None:
        """DICOMweb's series and instance thumbnails of a video show its middle frame (15 of 30)."""
        ds = pydicom.dcmread(io.BytesIO(video[1]))
        series = f"/previewer/dicom-web/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
        for url in (f"{series}/thumbnail", f"{series}/instances/{ds.SOPInstanceUID}/thumbnail"):
            assert abs(float(np.median(_png(orthanc.get(url)))) - objects_video.level(15)) <= 3, url

    def test_frame_out_of_range_is_404(self, orthanc: OrthancProcess, video: tuple[str, bytes]) -> None:
        """Frame 30 of a 30-frame video is a JSON 404."""
        answer = orthanc.get(f"/previewer/instances/{video[0]}/frames/30/png")
        assert answer.status_code == 404 and answer.json()["error"]
