"""The source file of each kind of object for tests/hostile_objects.py, each made by a real tool.

See the maker named for each kind: its docstring says how the file is made.
"""
from __future__ import annotations

import io
from pathlib import Path

from pydicom.dataset import Dataset

import objects_overlay
import objects_pdf
import objects_presentation
import objects_report
import objects_segmentation
import objects_video
from conftest import CT_SMALL


def _bytes(ds: Dataset) -> bytes:
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def sources(directory: Path) -> dict[str, bytes]:
    """kind -> Part 10 file; "image" is the image the presentation state and segmentation reference."""
    return {
        "image": CT_SMALL.read_bytes(),
        # highdicom's TID 1500 Comprehensive 3D SR on CT_small.dcm
        "report": objects_report.measurement_report_bytes(),
        # dcmtk's dcmpsmk GSPS of CT_small.dcm, annotated with pydicom
        # Pillow's two-page PDF wrapped by dcmtk's pdf2dcm
        "pdf": objects_pdf.make_pdf_dicom(directory).read_bytes(),
        # highdicom's BINARY SEG over CT_small.dcm
        "segmentation": objects_segmentation.write_all(directory)[2].read_bytes(),
        # PyAV's MPEG-2 (program stream) of 30 grey levels, wrapped with pydicom
        "video": _bytes(objects_video.make_video_dataset("mpeg2video")),
        "presentation": objects_presentation.annotate(objects_presentation.dcmpsmk(directory)).read_bytes(),
        # pydicom-data's MR-SIEMENS-DICOM-WithOverlays.dcm (a scanner's 484x484 graphics overlay)
        "overlay": objects_overlay.siemens_overlay(),
        # pydicom's 10-frame emri_small.dcm with a 3-frame overlay from frame 4 and a one-frame one, by pydicom
        "overlay_multiframe": objects_overlay.multiframe_overlay(uid="1.2.826.0.1.3680043.8.498.1414141414"),
    }
