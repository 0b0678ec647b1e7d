"""Encapsulated PDF pages as RGB pixels (PS3.3 A.45.1, C.24.2), through pypdfium2.

Limits: a document above :data:`MAX_DOCUMENT_BYTES` is refused (413); a page is
rendered to fit the box (150 dpi without one), and scaled down to stay within
``max_megapixels`` when given, else :data:`DEFAULT_MAX_MEGAPIXELS` (never refused
for its size).  pdfium is not thread-safe: every pypdfium2 call holds :data:`_LOCK`.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from ..pixels import elements
from ..pixels.errors import BadParameter, FrameNotFound, Malformed, PixelError, TooLarge, Unsupported

#: Refused above this size (413): parsing time grows with the document.
MAX_DOCUMENT_BYTES = 100 * 1024 * 1024
#: Page pixel cap when the caller gives none: the page is scaled down to it.
DEFAULT_MAX_MEGAPIXELS = 40.0
_DEFAULT_DPI = 150.0
_LOCK = threading.Lock()
_T = TypeVar("_T")


class UnreadableDocument(PixelError):
    """The Encapsulated Document is not a PDF that pdfium can parse."""

    status = 422


def document_bytes(ds: Any) -> bytes:
    """The PDF of (0042,0011) Encapsulated Document, trimmed to (0042,0015) when present (PS3.3 C.24.2)."""
    mime = elements.value(ds, "MIMETypeOfEncapsulatedDocument")
    if mime is not None and elements.string(ds, "MIMETypeOfEncapsulatedDocument").lower() != "application/pdf":
        raise Unsupported(f"Unsupported {elements.label('MIMETypeOfEncapsulatedDocument')} value "
                          f"{elements.quoted(mime)}")
    raw = bytes(elements.required_data(ds, "EncapsulatedDocument"))
    try:
        length = elements.integer(ds, "EncapsulatedDocumentLength")
    except Malformed:
        length = None   # a malformed length is ignored: the value's own length holds
    # PS3.3 C.24.2: the value is padded to even length; the length gives the document's own.
    if length is not None and 0 < length <= len(raw):
        raw = raw[:length]
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise TooLarge(f"Encapsulated Document of {len(raw)} bytes exceeds the limit of {MAX_DOCUMENT_BYTES}")
    return raw


def _open(data: bytes) -> Any:
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(data)
    except Exception as exc:  # noqa: BLE001 - pdfium raises PdfiumError and others
        raise UnreadableDocument(f"(0042,0011) Encapsulated Document is not a readable PDF: {elements.reason(exc)}") from exc


def _pdfium(page: int, call: Callable[[], _T]) -> _T:
    """``call()``, a pypdfium2 call on page ``page``: its errors are :class:`UnreadableDocument`."""
    try:
        return call()
    except Exception as exc:  # noqa: BLE001 - pdfium raises PdfiumError and others
        raise UnreadableDocument(f"Cannot render page {page} of the PDF: {elements.reason(exc)}") from exc


def page_count(ds: Any) -> int:
    """Number of pages of the encapsulated PDF."""
    data = document_bytes(ds)
    with _LOCK:
        doc = _open(data)
        try:
            return len(doc)
        finally:
            doc.close()


def _scale(width_pt: float, height_pt: float, max_width: int | None, max_height: int | None,
           max_megapixels: float | None) -> float:
    """Pixels per point: fit the box keeping aspect ratio, else 150 dpi; then the pixel cap."""
    scales = [s for s in ((max_width / width_pt) if max_width else None,
                          (max_height / height_pt) if max_height else None) if s is not None]
    scale = min(scales) if scales else _DEFAULT_DPI / 72.0
    cap = (max_megapixels if max_megapixels is not None else DEFAULT_MAX_MEGAPIXELS) * 1e6
    area = width_pt * height_pt * scale * scale
    if area > cap:
        scale *= (cap / area) ** 0.5
    while scale > 1e-3 and (width_pt * scale + 1) * (height_pt * scale + 1) > cap:
        scale *= 0.98  # pdfium rounds the bitmap's sides up
    return scale


def render_page(ds: Any, page: int, max_width: int | None = None, max_height: int | None = None,
                max_megapixels: float | None = None) -> NDArray[np.uint8]:
    """Page ``page`` (1-based) as an HxWx3 RGB uint8 array fitting the box (PS3.3 A.45.1)."""
    for name, value in (("max_width", max_width), ("max_height", max_height)):
        if value is not None and value < 1:
            raise BadParameter(f"Parameter '{name}' must be at least 1, got {value}")
    data = document_bytes(ds)
    with _LOCK:
        doc = _open(data)
        try:
            count = len(doc)
            if not 1 <= page <= count:
                raise FrameNotFound(f"Page {page} not found: the document has {count} pages")
            pdf_page = _pdfium(page, lambda: doc[page - 1])
            try:
                width_pt, height_pt = _pdfium(page, pdf_page.get_size)
                if not (math.isfinite(width_pt) and math.isfinite(height_pt) and width_pt > 0 and height_pt > 0):
                    raise UnreadableDocument(f"Page {page} has size {width_pt}x{height_pt} points")
                scale = _scale(width_pt, height_pt, max_width, max_height, max_megapixels)
                bitmap = _pdfium(page, lambda: pdf_page.render(scale=scale, rev_byteorder=True))
                try:
                    arr = np.array(_pdfium(page, bitmap.to_numpy), dtype=np.uint8, copy=True)
                finally:
                    bitmap.close()
            finally:
                pdf_page.close()
        finally:
            doc.close()
    return np.ascontiguousarray(arr[:, :, :3])
