"""pydicom's real RT files, and their hostile mutants, for the summary tests.

The files are pydicom's test data: ``rtstruct.dcm`` (three ROIs over a CT
that no test stores), ``rtplan.dcm`` (one photon beam, one fraction group),
``rtdose.dcm`` (15 frames), ``badVR.dcm`` (that dose with Number of Frames
"1A").  A mutant is one of them with one element broken the way a broken
planning system would write it: :func:`raw` stores the bytes as they are,
without pydicom's checks, and :func:`encoded` writes the file with a fresh
SOP Instance UID so that Orthanc stores it beside the original.
"""
from __future__ import annotations

import io
from pathlib import Path

import pydicom
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from previewer.pixels import reader

RTSTRUCT = Path(pydicom.data.get_testdata_file("rtstruct.dcm"))
RTPLAN = Path(pydicom.data.get_testdata_file("rtplan.dcm"))
RTDOSE = Path(pydicom.data.get_testdata_file("rtdose.dcm"))
RTDOSE_1FRAME = Path(pydicom.data.get_testdata_file("rtdose_1frame.dcm"))
BAD_VR = Path(pydicom.data.get_testdata_file("badVR.dcm"))


def read(path: Path) -> Dataset:
    """The file as pydicom reads it (rtstruct.dcm has no preamble)."""
    return pydicom.dcmread(path, force=True)


def raw(item: Dataset, keyword: str, value: bytes) -> None:
    """Set ``keyword`` of ``item`` to the stored bytes ``value``, unchecked (padded to an even length)."""
    tag = tag_for_keyword(keyword)
    assert tag is not None, keyword
    value += b" " * (len(value) % 2)
    item[tag] = RawDataElement(pydicom.tag.Tag(tag), dictionary_VR(tag), len(value), value, 0, True, True)


def encoded(ds: Dataset, name: str) -> bytes:
    """The file of ``ds`` with a SOP Instance UID of its own (derived from ``name``)."""
    ds.SOPInstanceUID = generate_uid(entropy_srcs=["summary-mutant", name])
    if getattr(ds, "file_meta", None) is None:
        ds.file_meta = pydicom.dataset.FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
        ds.file_meta.TransferSyntaxUID = pydicom.uid.ImplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def reread(ds: Dataset, name: str) -> Dataset:
    """``ds`` written and read back by the reader the summary endpoint uses (values that break their VR stay text)."""
    return reader.read_full(encoded(ds, name))
