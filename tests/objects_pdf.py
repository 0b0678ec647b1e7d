"""Makers of Encapsulated PDF test files: a PDF by Pillow's PDF writer, wrapped by dcmtk's pdf2dcm."""

from __future__ import annotations

import subprocess
from pathlib import Path

from PIL import Image, ImageDraw

#: Page colours of :func:`make_pdf`: page 1 red with black text, page 2 blue.
PAGE_COLOURS = ((220, 30, 30), (30, 30, 220))


def make_pdf(path: Path) -> Path:
    """Two A4-ish pages (Pillow's PDF writer, 72 dpi): page 1 red with text, page 2 blue."""
    pages = [Image.new("RGB", (300, 400), colour) for colour in PAGE_COLOURS]
    ImageDraw.Draw(pages[0]).text((20, 20), "Page one", fill=(0, 0, 0))
    pages[0].save(path, save_all=True, append_images=pages[1:], resolution=72.0)
    return path


def make_pdf_dicom(directory: Path) -> Path:
    """Encapsulated PDF instance: :func:`make_pdf` wrapped by ``pdf2dcm`` (dcmtk)."""
    pdf = make_pdf(directory / "doc.pdf")
    out = directory / "doc.dcm"
    subprocess.run(["pdf2dcm", "+pn", "Test^Pdf", "+pi", "PDF1", "+t", "Test PDF", str(pdf), str(out)],
                   check=True, capture_output=True)
    return out
