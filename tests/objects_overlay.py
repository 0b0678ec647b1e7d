"""Makers of DICOM files with overlay planes (PS3.3 C.9.2, C.9.3), for unit and integration tests.

``siemens_overlay()`` is pydicom-data's real MR-SIEMENS-DICOM-WithOverlays.dcm
(one 484x484 graphics overlay in group 6000).  No real multi-frame overlay
file is known to us: ``multiframe_overlay()`` adds overlay planes, packed with
pydicom's own ``pack_bits``, to pydicom's real 10-frame emri_small.dcm.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pydicom
import pydicom.data
from pydicom.pixels import pack_bits
from pydicom.uid import generate_uid

SIEMENS = "MR-SIEMENS-DICOM-WithOverlays.dcm"
MULTIFRAME_SOURCE = "emri_small.dcm"
#: Image frames (1-based) the multi-frame overlay of group 6000 starts at, and its frame count.
FRAME_ORIGIN, OVERLAY_FRAMES = 4, 3
#: The Series Instance UID of every :func:`multiframe_overlay` file (derived, so stable between runs).
MULTIFRAME_SERIES = generate_uid(entropy_srcs=["orthanc-previewer", "multi-frame overlay series"])
#: Group 6000's 1-based Overlay Origin: partly above the image and to its right.
MULTIFRAME_ORIGIN = (-2, 40)


def _path(name: str) -> Path:
    found = pydicom.data.get_testdata_file(name)
    if found is None:
        raise FileNotFoundError(name)
    return Path(str(found))


def siemens_overlay() -> bytes:
    """pydicom-data's MR-SIEMENS-DICOM-WithOverlays.dcm, unchanged (a real scanner's file)."""
    return _path(SIEMENS).read_bytes()


def multiframe_bitmaps(rows: int = 30, columns: int = 30) -> np.ndarray:
    """The (frames, rows, columns) bool bitmaps of :func:`multiframe_overlay`'s group 6000: a
    frame-numbered pattern (a one-pixel frame border, a diagonal, k+1 horizontal bars)."""
    bits = np.zeros((OVERLAY_FRAMES, rows, columns), bool)
    for k in range(OVERLAY_FRAMES):
        bits[k, [0, -1], :] = True
        bits[k, :, [0, -1]] = True
        bits[k, np.arange(rows), np.arange(rows) % columns] = True
        for bar in range(k + 1):
            bits[k, 6 + 4 * bar, 4:20] = True
    return bits


def multiframe_overlay(*, uid: str | None = None) -> bytes:
    """emri_small.dcm (64x64, 10 frames) with two overlay planes added by pydicom:

    group 6000: 3 frames (60xx,0015) from image frame 4 (60xx,0051), Overlay
    Origin -2\\40 (clipped by the image's top and right edges), type G;
    group 6002: one frame without Image Frame Origin (applies to every
    frame), a 1-pixel cross through the image centre, type R.
    A fresh SOP Instance UID (``uid``) lets Orthanc store it beside the original, in a series of its
    own (:data:`MULTIFRAME_SERIES`) of the same study.
    """
    ds = pydicom.dcmread(_path(MULTIFRAME_SOURCE))
    bits = multiframe_bitmaps()
    g = 0x6000
    ds.add_new((g, 0x0010), "US", bits.shape[1])
    ds.add_new((g, 0x0011), "US", bits.shape[2])
    ds.add_new((g, 0x0015), "IS", str(OVERLAY_FRAMES))
    ds.add_new((g, 0x0022), "LO", "frame-numbered pattern")
    ds.add_new((g, 0x0040), "CS", "G")
    ds.add_new((g, 0x0050), "SS", list(MULTIFRAME_ORIGIN))
    ds.add_new((g, 0x0051), "US", FRAME_ORIGIN)
    ds.add_new((g, 0x0100), "US", 1)
    ds.add_new((g, 0x0102), "US", 0)
    ds.add_new((g, 0x1500), "LO", "PATTERN")
    ds.add_new((g, 0x3000), "OW", pack_bits(bits.ravel()))
    cross = np.zeros((ds.Rows, ds.Columns), bool)
    cross[ds.Rows // 2, :] = True
    cross[:, ds.Columns // 2] = True
    g = 0x6002
    ds.add_new((g, 0x0010), "US", ds.Rows)
    ds.add_new((g, 0x0011), "US", ds.Columns)
    ds.add_new((g, 0x0040), "CS", "R")
    ds.add_new((g, 0x0050), "SS", [1, 1])
    ds.add_new((g, 0x0100), "US", 1)
    ds.add_new((g, 0x0102), "US", 0)
    ds.add_new((g, 0x3000), "OW", pack_bits(cross.ravel()))
    ds.SOPInstanceUID = uid or generate_uid()
    # A series of its own, so that emri_small's series (whose middle image DICOMweb tests) is unchanged.
    ds.SeriesInstanceUID = MULTIFRAME_SERIES
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def write_all(directory: Path) -> list[Path]:
    """Write both files into ``directory``; their paths."""
    paths = [directory / "overlay_siemens.dcm", directory / "overlay_multiframe.dcm"]
    paths[0].write_bytes(siemens_overlay())
    paths[1].write_bytes(multiframe_overlay())
    return paths
