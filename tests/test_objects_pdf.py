"""Tests of previewer.objects.pdf on a Pillow PDF wrapped by dcmtk's pdf2dcm (tests/objects_pdf.py)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pydicom
import pytest

from previewer.objects import pdf
from previewer.pixels.errors import FrameNotFound, PixelError, Unsupported
from objects_pdf import PAGE_COLOURS, make_pdf_dicom


@pytest.fixture(scope="module")
def pdf_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two-page PDF by Pillow, wrapped by pdf2dcm."""
    return make_pdf_dicom(tmp_path_factory.mktemp("pdf"))


def test_document_bytes_is_the_pdf(pdf_file: Path) -> None:
    """The document starts with %PDF and has the Encapsulated Document Length."""
    ds = pydicom.dcmread(pdf_file)
    data = pdf.document_bytes(ds)
    assert data.startswith(b"%PDF")
    if "EncapsulatedDocumentLength" in ds:
        assert len(data) == int(ds.EncapsulatedDocumentLength)


def test_page_count(pdf_file: Path) -> None:
    """Two pages."""
    assert pdf.page_count(pydicom.dcmread(pdf_file)) == 2


@pytest.mark.parametrize("page", [1, 2])
def test_page_colour(pdf_file: Path, page: int) -> None:
    """Each page's median colour is the colour Pillow drew."""
    arr = pdf.render_page(pydicom.dcmread(pdf_file), page, None, None, None)
    assert arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[2] == 3
    median = np.median(arr.reshape(-1, 3), axis=0)
    assert np.allclose(median, PAGE_COLOURS[page - 1], atol=12)


def test_text_on_page_one(pdf_file: Path) -> None:
    """Page 1 has dark text pixels, page 2 none."""
    ds = pydicom.dcmread(pdf_file)
    assert (pdf.render_page(ds, 1, None, None, None).sum(axis=2) < 100).any()
    assert not (pdf.render_page(ds, 2, None, None, None).sum(axis=2) < 100).any()


def test_default_is_150_dpi(pdf_file: Path) -> None:
    """A 300x400 pt page renders at 150 dpi as 625x833 pixels (give or take one)."""
    arr = pdf.render_page(pydicom.dcmread(pdf_file), 1, None, None, None)
    assert abs(arr.shape[1] - 625) <= 1 and abs(arr.shape[0] - 833) <= 1


def test_box_fitting(pdf_file: Path) -> None:
    """A 100x100 box gives a page 100 pixels high, keeping the 3:4 aspect."""
    arr = pdf.render_page(pydicom.dcmread(pdf_file), 1, 100, 100, None)
    assert arr.shape[0] == 100 and abs(arr.shape[1] - 75) <= 1


def test_megapixel_cap(pdf_file: Path) -> None:
    """A 0.01 MP cap scales the page down to at most 10,000 pixels."""
    arr = pdf.render_page(pydicom.dcmread(pdf_file), 1, None, None, 0.01)
    assert arr.shape[0] * arr.shape[1] <= 10_000


@pytest.mark.parametrize("page", [0, 3])
def test_page_out_of_range(pdf_file: Path, page: int) -> None:
    """Page 0 or 3 is a 404 naming the page count."""
    with pytest.raises(FrameNotFound, match="2 pages"):
        pdf.render_page(pydicom.dcmread(pdf_file), page, None, None, None)


def test_corrupt_pdf(pdf_file: Path) -> None:
    """A PDF truncated to its first 200 bytes (rewritten with pydicom) is a 422."""
    ds = pydicom.dcmread(pdf_file)
    ds.EncapsulatedDocument = pdf.document_bytes(ds)[:200]
    del ds.EncapsulatedDocumentLength
    with pytest.raises(pdf.UnreadableDocument) as info:
        pdf.page_count(ds)
    assert info.value.status == 422


def test_other_mime_type(pdf_file: Path) -> None:
    """A MIME Type other than application/pdf is a 415."""
    ds = pydicom.dcmread(pdf_file)
    ds.MIMETypeOfEncapsulatedDocument = "text/plain"
    with pytest.raises(Unsupported):
        pdf.render_page(ds, 1, None, None, None)


def test_threads(pdf_file: Path) -> None:
    """Eight threads rendering at once all get the right page."""
    ds = pydicom.dcmread(pdf_file)
    results: list[object] = []

    def work(page: int) -> None:
        try:
            arr = pdf.render_page(ds, page, 64, 64, None)
            results.append(np.allclose(np.median(arr.reshape(-1, 3), axis=0), PAGE_COLOURS[page - 1], atol=12))
        except PixelError as exc:
            results.append(exc)

    threads = [threading.Thread(target=work, args=(1 + i % 2,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 8
