"""The source file of each kind of object for tests/hostile_objects.py, each made by a real tool.

See the maker named for each kind: its docstring says how the file is made.
"""
from __future__ import annotations

from pathlib import Path

import objects_presentation
import objects_report
from conftest import CT_SMALL


def sources(directory: Path) -> dict[str, bytes]:
    """kind -> Part 10 file; "image" is the image the presentation state and segmentation reference."""
    return {
        "image": CT_SMALL.read_bytes(),
        # highdicom's TID 1500 Comprehensive 3D SR on CT_small.dcm
        "report": objects_report.measurement_report_bytes(),
        # dcmtk's dcmpsmk GSPS of CT_small.dcm, annotated with pydicom
        "presentation": objects_presentation.annotate(objects_presentation.dcmpsmk(directory)).read_bytes(),
    }
