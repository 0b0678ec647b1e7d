"""Makers of real Segmentation test files: highdicom's SEG writer over pydicom-data images.

The source images are CT_small.dcm (pydicom's test file, 128x128) and a second
slice made from it with pydicom (new SOP Instance UID, Image Position 5 mm
further, Instance Number 2): a two-image series for the frame look-up.
"""
from __future__ import annotations

import copy
import io
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
from numpy.typing import NDArray
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

#: (L*, a*, b*) of the two segments: a red and a green.
RED_LAB = (53.24, 80.09, 67.20)
GREEN_LAB = (87.73, -86.18, 83.18)


def source_images() -> list[Dataset]:
    """CT_small.dcm and a second slice derived from it with pydicom (5 mm further, new UID)."""
    first = pydicom.dcmread(str(get_testdata_file("CT_small.dcm")))
    second = copy.deepcopy(first)
    second.SOPInstanceUID = generate_uid(entropy_srcs=["CT_small.dcm second slice"])
    second.file_meta.MediaStorageSOPInstanceUID = second.SOPInstanceUID
    position = [float(v) for v in first.ImagePositionPatient]
    second.ImagePositionPatient = [position[0], position[1], position[2] + 5.0]
    second.InstanceNumber = 2
    return [first, second]


def masks() -> NDArray[np.uint8]:
    """(2 images, 128, 128, 2 segments): segment 1 a square in the top left of image 1,
    segment 2 a square in the bottom right of image 2 and a small square on image 1."""
    arr = np.zeros((2, 128, 128, 2), np.uint8)
    arr[0, 10:50, 10:50, 0] = 1
    arr[0, 100:110, 100:110, 1] = 1
    arr[1, 70:120, 70:120, 1] = 1
    return arr


def _lab(value: tuple[float, float, float]) -> hd.color.CIELabColor:
    return hd.color.CIELabColor(*value)


def _descriptions(seg_type: str) -> list[hd.seg.SegmentDescription]:
    category = hd.sr.CodedConcept("91723000", "SCT", "Anatomical Structure")
    kind = hd.sr.CodedConcept("10200004", "SCT", "Liver")
    other = hd.sr.CodedConcept("64033007", "SCT", "Kidney")
    algorithm = hd.AlgorithmIdentificationSequence(
        name="test", version="1", family=hd.sr.CodedConcept("123109", "DCM", "Manual Processing"))
    made = []
    for number, (label, code, lab) in enumerate(
            (("Liver", kind, RED_LAB), ("Kidney", other, GREEN_LAB)), start=1):
        made.append(hd.seg.SegmentDescription(
            segment_number=number, segment_label=label, segmented_property_category=category,
            segmented_property_type=code, algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
            algorithm_identification=algorithm if seg_type != "BINARY" else None,
            display_color=_lab(lab)))
    return made


def segmentation(seg_type: str = "BINARY") -> Dataset:
    """A highdicom SEG (BINARY, or FRACTIONAL PROBABILITY with coverage 0.5) over :func:`source_images`."""
    images = source_images()
    if seg_type == "BINARY":
        pixels: NDArray[np.generic] = masks().astype(bool)
        kind = hd.seg.SegmentationTypeValues.BINARY
    else:
        pixels = masks().astype(np.float32) * 0.5
        kind = hd.seg.SegmentationTypeValues.FRACTIONAL
    return hd.seg.Segmentation(
        source_images=images, pixel_array=pixels, segmentation_type=kind,
        segment_descriptions=_descriptions(seg_type), series_instance_uid=generate_uid(),
        series_number=99, sop_instance_uid=generate_uid(), instance_number=1,
        manufacturer="test", manufacturer_model_name="test", software_versions="1",
        device_serial_number="1", series_description=f"{seg_type} test SEG",
        fractional_type=hd.seg.SegmentationFractionalTypeValues.PROBABILITY,
        max_fractional_value=200, omit_empty_frames=True)


def _bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def write_all(directory: Path) -> list[Path]:
    """Write the two source images and the BINARY and FRACTIONAL SEGs into ``directory``."""
    written = []
    for name, ds in (("ct1.dcm", source_images()[0]), ("ct2.dcm", source_images()[1]),
                     ("seg_binary.dcm", segmentation("BINARY")),
                     ("seg_fractional.dcm", segmentation("FRACTIONAL"))):
        path = Path(directory) / name
        path.write_bytes(_bytes(ds))
        written.append(path)
    return written


def resized_segmentation(rows: int, columns: int) -> Dataset:
    """The highdicom BINARY SEG with its frames cut to ``rows`` x ``columns`` by pydicom (a SEG of another size)."""
    ds = segmentation("BINARY")
    frames = np.asarray(ds.pixel_array).reshape(-1, 128, 128)
    out = np.zeros((frames.shape[0], rows, columns), np.uint8)
    r, c = min(rows, 128), min(columns, 128)
    out[:, :r, :c] = frames[:, :r, :c]
    ds.Rows, ds.Columns = rows, columns
    ds.PixelData = np.packbits(out.reshape(-1), bitorder="little").tobytes()
    return ds
