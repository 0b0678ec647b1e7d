"""Tests of previewer.objects.report: SR and KOS as HTML, referenced instances, thumbnails.

The files: pydicom-data's test-SR.dcm (dcmtk's demonstration Comprehensive SR) and reportsi.dcm
(Basic Text SR), a highdicom Comprehensive 3D SR (TID 1500) and Key Object Selection, an
Enhanced SR made by dcmtk's xml2dsr, and test-SR.dcm edited with pydicom to hold markup;
see tests/objects_report.py.
"""
from __future__ import annotations

import io
from html.parser import HTMLParser
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from PIL import ImageDraw

import objects_report as files
from previewer.objects import report
from previewer.pixels.errors import BadParameter, TooLarge, Unsupported


def _read(data: bytes) -> Dataset:
    return pydicom.dcmread(io.BytesIO(data))


@pytest.fixture(scope="module")
def measurement() -> Dataset:
    """highdicom Comprehensive3DSR, TID 1500 with a 12.5 mm diameter on CT_small.dcm."""
    return _read(files.measurement_report_bytes())


@pytest.fixture(scope="module")
def key_objects() -> Dataset:
    """highdicom KeyObjectSelectionDocument flagging CT_small.dcm and MR_small.dcm."""
    return _read(files.key_object_bytes())


@pytest.fixture(scope="module")
def enhanced() -> Dataset:
    """Enhanced SR made by dcmtk's xml2dsr from the XML in tests/objects_report.py."""
    return _read(files.dcmtk_sr_bytes())


@pytest.fixture(scope="module")
def hostile() -> Dataset:
    """pydicom-data's test-SR.dcm edited with pydicom: markup and quotes in a TEXT value and the name."""
    return _read(files.hostile_sr_bytes())


def _comprehensive() -> Dataset:
    """pydicom-data's test-SR.dcm (dcmtk's demonstration Comprehensive SR), read afresh."""
    return pydicom.dcmread(files.COMPREHENSIVE_SR)


def _link(uid: str) -> str:
    return f"instances/{uid}/preview"


def _no_link(uid: str) -> None:
    return None


class _Balance(HTMLParser):
    """Counts open minus closed tags of the kinds report_html nests."""

    def __init__(self) -> None:
        super().__init__()
        self.open: dict[str, int] = {}
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.scripts += tag == "script"
        if tag in ("div", "section", "h2", "h3", "a", "dl"):
            self.open[tag] = self.open.get(tag, 0) + 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open:
            self.open[tag] -= 1


def _balance(page: str) -> _Balance:
    parser = _Balance()
    parser.feed(page)
    return parser


def _deep_report(levels: int) -> Dataset:
    """reportsi.dcm (Basic Text SR) with a chain of nested containers of that depth appended by pydicom."""
    ds = pydicom.dcmread(files.BASIC_TEXT_SR)
    inner = Dataset()
    inner.RelationshipType = "CONTAINS"
    inner.ValueType = "TEXT"
    inner.TextValue = "bottom"
    for _ in range(levels):
        outer = Dataset()
        outer.RelationshipType = "CONTAINS"
        outer.ValueType = "CONTAINER"
        outer.ContentSequence = Sequence([inner])
        inner = outer
    ds.ContentSequence.append(inner)
    return ds


class TestReportHtml:
    def test_title_and_header(self, enhanced: Dataset) -> None:
        """The root concept name is the title; patient and flags are in the header."""
        page = report.report_html(enhanced, _link)
        assert page.startswith("<!DOCTYPE html>")
        assert "<title>Radiology Report</title>" in page and "<h1>Radiology Report</h1>" in page
        assert "Roe, Richard" in page and "P-42" in page
        assert "<dd>PARTIAL</dd>" in page and "<dd>UNVERIFIED</dd>" in page

    def test_containers_are_headings(self, measurement: Dataset) -> None:
        """Nested containers become nested headings, one level deeper each."""
        page = report.report_html(measurement, _link)
        assert "Imaging Measurements</h2>" in page
        assert "Measurement Group</h3>" in page
        assert page.index("Imaging Measurements</h2>") < page.index("Measurement Group</h3>")

    def test_measurement_with_unit(self, measurement: Dataset, enhanced: Dataset) -> None:
        """NUM shows the value and the unit's code meaning."""
        assert '<span class="name">Diameter:</span> <span class="value">12.5 mm</span>' in report.report_html(measurement, _link)
        assert "Volume:</span> <span class=\"value\">3.2 cubic centimeter" in report.report_html(enhanced, _link)

    def test_relationships_and_codes(self, measurement: Dataset) -> None:
        """Relationship types are shown in their own span; CODE shows the code meaning."""
        page = report.report_html(measurement, _link)
        assert '<span class="rel">HAS OBS CONTEXT</span>' in page
        assert "Finding:</span> <span class=\"value\">Neoplasm</span>" in page
        assert "Doe, Jane" in page  # PNAME
        assert "POLYLINE of 4 points" in page  # SCOORD

    def test_image_links(self, measurement: Dataset) -> None:
        """An IMAGE reference links to the URL image_link gives for its SOP Instance UID."""
        uid = pydicom.dcmread(files.CT_IMAGE).SOPInstanceUID
        page = report.report_html(measurement, _link)
        assert f'<a href="instances/{uid}/preview">CT Image Storage</a>' in page

    def test_reference_without_link(self, measurement: Dataset) -> None:
        """When image_link gives None, the reference is plain text with its UID."""
        uid = pydicom.dcmread(files.CT_IMAGE).SOPInstanceUID
        page = report.report_html(measurement, _no_link)
        assert "<a href" not in page.replace('href="#item-', "")
        assert f"CT Image Storage <code>{uid}</code>" in page

    def test_link_urls_escaped(self, measurement: Dataset) -> None:
        """A URL from image_link is escaped inside its attribute."""
        page = report.report_html(measurement, lambda uid: f'x?a=1&b="><script>')
        assert 'href="x?a=1&amp;b=&quot;&gt;&lt;script&gt;"' in page
        assert _balance(page).scripts == 0

    def test_hostile_text_escaped(self, hostile: Dataset) -> None:
        """Markup and quotes from the dataset come out escaped, with no script element."""
        page = report.report_html(hostile, _link)
        assert "<script>" not in page and "<b>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &quot;quoted&quot; &amp; &#x27;single&#x27;" in page
        assert "Evil, &quot;&lt;b&gt;Name&lt;/b&gt;&quot;" in page
        assert _balance(page).scripts == 0

    def test_by_reference_and_flags(self) -> None:
        """test-SR.dcm: by-reference items point to their target; completion and verifying observers show."""
        page = report.report_html(_comprehensive(), _link)
        assert '<a href="#item-1.3.2">see item 1.3.2</a>' in page and 'id="item-1.3.2"' in page
        assert "COMPLETE (This document is completed!)" in page
        assert "VERIFIED by Riesmeier, J\u00f6rg" in page
        assert "Diameter:</span> <span class=\"value\">3 Length Unit" in page

    def test_balanced_markup(self) -> None:
        """Every div the page opens is closed."""
        counts = _balance(report.report_html(_comprehensive(), _link)).open
        assert counts and all(v == 0 for v in counts.values())

    def test_key_objects_listed(self, key_objects: Dataset) -> None:
        """A KOS lists its images as links and shows its description."""
        page = report.report_html(key_objects, _link)
        for path in (files.CT_IMAGE, files.MR_IMAGE):
            assert f'href="instances/{pydicom.dcmread(path).SOPInstanceUID}/preview"' in page
        assert "<h1>Of Interest</h1>" in page and "Images worth a look" in page

    def test_deep_tree_cut(self) -> None:
        """A tree 1,000 levels deep is cut at MAX_DEPTH with a note, without a RecursionError."""
        page = report.report_html(_deep_report(1000), _link)
        assert f"Content deeper than {report.MAX_DEPTH} levels is not shown." in page
        assert "bottom" not in page
        assert all(v == 0 for v in _balance(page).open.values())

    def test_shallow_tree_not_cut(self) -> None:
        """A tree below the bound is shown to its bottom."""
        page = report.report_html(_deep_report(10), _link)
        assert "bottom" in page and "not shown" not in page

    def test_size_cut(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """More than MAX_ITEMS items (lowered to 500 for speed): the rest is replaced by a note, markup balanced."""
        monkeypatch.setattr(report, "MAX_ITEMS", 500)
        ds = pydicom.dcmread(files.BASIC_TEXT_SR)
        item = Dataset()
        item.RelationshipType = "CONTAINS"
        item.ValueType = "TEXT"
        item.TextValue = "many"
        ds.ContentSequence = Sequence([item] * (report.MAX_ITEMS + 5))
        page = report.report_html(ds, _link)
        assert f"more than {report.MAX_ITEMS} items" in page
        assert page.count("many") == report.MAX_ITEMS - 1  # the root is the first item
        assert all(v == 0 for v in _balance(page).open.values())

    def test_malformed_items(self) -> None:
        """Items without a value type or with a wrong VR show as unreadable; the rest still renders."""
        ds = pydicom.dcmread(files.BASIC_TEXT_SR)
        no_type = Dataset()
        no_type.RelationshipType = "CONTAINS"
        wrong_vr = Dataset()
        wrong_vr.ValueType = "NUM"
        wrong_vr.add_new(0x0040A300, "LO", "not a sequence")  # Measured Value Sequence as LO
        ds.ContentSequence = Sequence([no_type, wrong_vr, *ds.ContentSequence])
        page = report.report_html(ds, _link)
        assert "unreadable item (no value type)" in page
        assert '<span class="unreadable">unreadable item</span>' in page
        assert "Section Heading</h2>" in page

    def test_not_a_report(self) -> None:
        """A CT image is Unsupported (415)."""
        with pytest.raises(Unsupported) as err:
            report.report_html(pydicom.dcmread(files.CT_IMAGE), _link)
        assert err.value.status == 415

    def test_input_unchanged(self, measurement: Dataset) -> None:
        """Rendering does not modify the dataset."""
        before = measurement.to_json()
        report.report_html(measurement, _link)
        report.report_thumbnail(measurement, 100, 100)
        assert measurement.to_json() == before


class TestReferencedInstances:
    def test_key_objects(self, key_objects: Dataset) -> None:
        """A KOS references its two images, each once."""
        expected = [pydicom.dcmread(p).SOPInstanceUID for p in (files.CT_IMAGE, files.MR_IMAGE)]
        assert report.referenced_instances(key_objects) == expected

    def test_measurement(self, measurement: Dataset) -> None:
        """The TID 1500 report references the CT image (evidence and SCOORD source), once."""
        assert report.referenced_instances(measurement) == [pydicom.dcmread(files.CT_IMAGE).SOPInstanceUID]

    def test_evidence_and_content(self) -> None:
        """test-SR.dcm: the content items' references are found."""
        uids = report.referenced_instances(_comprehensive())
        assert "1.2.3.4.5.0" in uids and len(uids) == len(set(uids))

    def test_none(self, enhanced: Dataset) -> None:
        """A report without references gives an empty list."""
        assert report.referenced_instances(enhanced) == []

    def test_not_a_report(self) -> None:
        """A CT image is Unsupported."""
        with pytest.raises(Unsupported):
            report.referenced_instances(pydicom.dcmread(files.CT_IMAGE))


class TestReportThumbnail:
    def test_default_size(self, measurement: Dataset) -> None:
        """No box: an A4 portrait page 512 px high, RGB uint8."""
        image = report.report_thumbnail(measurement, None, None)
        assert image.shape == (512, 362, 3) and image.dtype == np.uint8
        assert image.flags["C_CONTIGUOUS"]

    def test_fitted_to_box(self, measurement: Dataset) -> None:
        """The page fits the box with its aspect kept."""
        assert report.report_thumbnail(measurement, 100, 100).shape == (100, 71, 3)
        assert report.report_thumbnail(measurement, 200, None).shape == (283, 200, 3)
        assert report.report_thumbnail(measurement, None, 297).shape == (297, 210, 3)

    def test_content_drawn(self, measurement: Dataset) -> None:
        """A white page with dark text in its top part (title) and its body."""
        image = report.report_thumbnail(measurement, None, None)
        assert image[0, 0].tolist() == [255, 255, 255]
        dark = image.min(axis=2) < 128
        assert dark[:60].sum() > 100  # title
        assert dark[60:].sum() > 500  # lines of the report

    def test_reports_differ(self, measurement: Dataset, key_objects: Dataset) -> None:
        """Two reports give two different pictures."""
        a = report.report_thumbnail(measurement, None, None)
        b = report.report_thumbnail(key_objects, None, None)
        assert not np.array_equal(a, b)

    def test_tiny_and_deep(self) -> None:
        """A tiny box and a hostile deep tree still give a page."""
        assert report.report_thumbnail(_deep_report(1000), 8, 8).shape == (8, 6, 3)

    def test_long_text_drawn_from_its_start_only(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A 2 MB TEXT value (one word) is drawn from its start only: the page of its first 4,000 characters,
        after measuring no more text than that page did (the work does not grow with the value)."""
        def thumbnail(length: int, budget: int | None) -> tuple[np.ndarray, int]:
            ds = pydicom.dcmread(files.BASIC_TEXT_SR)
            ds.ContentSequence[2].TextValue = "x" * length  # the TEXT item 1.3
            measured = [0]
            textlength = ImageDraw.ImageDraw.textlength

            def counting(draw: ImageDraw.ImageDraw, text: str, *args: Any, **kwargs: Any) -> float:
                measured[0] += len(text)
                if budget is not None and measured[0] > budget:   # fail at once rather than after the whole value
                    raise AssertionError(f"measured more than the {budget} characters of the short page")
                return textlength(draw, text, *args, **kwargs)
            with monkeypatch.context() as patch:
                patch.setattr(ImageDraw.ImageDraw, "textlength", counting)
                image = report.report_thumbnail(ds, None, None)
            return image, measured[0]

        short, budget = thumbnail(4_000, None)
        image, measured = thumbnail(2_000_000, budget)
        assert np.array_equal(image, short) and measured == budget
        assert (image.min(axis=2) < 128).sum() > 100

    def test_bad_sizes(self, measurement: Dataset) -> None:
        """Zero is a BadParameter, a huge side is TooLarge."""
        with pytest.raises(BadParameter):
            report.report_thumbnail(measurement, 0, None)
        with pytest.raises(TooLarge):
            report.report_thumbnail(measurement, None, 100_000)

    def test_not_a_report(self) -> None:
        """A CT image is Unsupported."""
        with pytest.raises(Unsupported):
            report.report_thumbnail(pydicom.dcmread(files.CT_IMAGE), None, None)
