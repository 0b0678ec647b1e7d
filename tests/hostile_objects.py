"""Hostile objects beyond images (issue 14), for tests/test_robustness_objects.py.

Each source is a file made by a real tool (see the ``tests/objects_*.py``
makers: dcmtk's pdf2dcm and dcmpsmk, PyAV, highdicom, pydicom's overlay test
file); each mutation edits one attribute or the encapsulated payload with
pydicom, the way a broken modality or a hostile client would:

- PDF: truncated, garbage after a PDF header, empty, not a PDF MIME type, a
  lying Encapsulated Document Length, a page of 200 x 200 inches;
- video: truncated or garbage bitstream, Number of Frames and Rows/Columns
  that lie, an MPEG-2 stream under an H.264 transfer syntax;
- presentation state: another image referenced, malformed graphic data
  (odd counts, NaN, 1e30), a rotation of 45, a displayed area of a million
  pixels, a zero window width;
- segmentation: another image referenced, truncated pixel data, an unknown
  segment number, a Number of Frames that lies;
- structured report: a content tree 30 levels deep, script in a text value,
  a non-numeric measurement, items without a value type;
- overlay: short Overlay Data, 65535 x 65535 overlay, origin far outside,
  Number of Frames in Overlay that lies.

Every mutant gets a fresh SOP Instance UID so that Orthanc stores it.
"""
from __future__ import annotations

import io
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pydicom
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate, generate_frames
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid

Mutation = Callable[[Dataset], None]


@dataclass(frozen=True)
class Mutant:
    name: str
    kind: str       # pdf, video, presentation, segmentation, report, overlay
    data: bytes


def _read(data: bytes) -> Dataset:
    return pydicom.dcmread(io.BytesIO(data), force=True)


def _write(ds: Dataset, name: str) -> bytes:
    ds.SOPInstanceUID = generate_uid(entropy_srcs=["hostile-objects", name])
    if getattr(ds, "file_meta", None) is not None:
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def _noise(count: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(count)


# -- PDF (PS3.3 C.24.2) -------------------------------------------------------

def _document(edit: Callable[[bytes], bytes]) -> Mutation:
    def mutate(ds: Dataset) -> None:
        body = edit(bytes(ds.EncapsulatedDocument))
        ds.EncapsulatedDocument = body + b"\0" * (len(body) % 2)
        if "EncapsulatedDocumentLength" in ds:
            ds.EncapsulatedDocumentLength = len(body)
    return mutate


def _huge_page(pdf: bytes) -> bytes:
    return re.sub(rb"/MediaBox\s*\[[^\]]*\]", b"/MediaBox [ 0 0 14400 14400 ]", pdf)


def _not_pdf(ds: Dataset) -> None:
    ds.MIMETypeOfEncapsulatedDocument = "text/plain"


def _length_lies(ds: Dataset) -> None:
    ds.EncapsulatedDocumentLength = 2**31


PDF_MUTATIONS: dict[str, Mutation] = {
    "truncated": _document(lambda pdf: pdf[: len(pdf) // 3]),
    "garbage": _document(lambda pdf: b"%PDF-1.4\n" + _noise(4000, 1)),
    "empty": _document(lambda pdf: b""),
    "huge_page": _document(_huge_page),
    "not_pdf": _not_pdf,
    "length_lies": _length_lies,
}


# -- video (PS3.5 §8.2.5-8.2.7) ---------------------------------------------

def _payload(edit: Callable[[bytes], bytes]) -> Mutation:
    def mutate(ds: Dataset) -> None:
        stream = b"".join(generate_frames(ds.PixelData, number_of_frames=1))
        body = edit(stream)
        ds.PixelData = encapsulate([body + b"\0" * (len(body) % 2)])
    return mutate


def _set(**values: object) -> Mutation:
    def mutate(ds: Dataset) -> None:
        for keyword, value in values.items():
            setattr(ds, keyword, value)
    return mutate


def _h264_label(ds: Dataset) -> None:
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.102"


VIDEO_MUTATIONS: dict[str, Mutation] = {
    "truncated": _payload(lambda stream: stream[: len(stream) // 3]),
    "garbage": _payload(lambda stream: _noise(len(stream), 2)),
    "middle_flipped": _payload(lambda stream: stream[:len(stream) // 2] + _noise(512, 3)
                               + stream[len(stream) // 2 + 512:]),
    "frames_lie": _set(NumberOfFrames=100000),
    "size_lies": _set(Rows=60000, Columns=60000),
    "wrong_syntax": _h264_label,
}


# -- presentation state (PS3.3 A.33.1) ---------------------------------------

def _other_reference(ds: Dataset) -> None:
    for series in ds.get("ReferencedSeriesSequence", []):
        for image in series.get("ReferencedImageSequence", []):
            image.ReferencedSOPInstanceUID = generate_uid(entropy_srcs=["not-stored"])


def _graphics(data: list[float], graphic_type: str = "POLYLINE") -> Mutation:
    def mutate(ds: Dataset) -> None:
        item = Dataset()
        item.GraphicAnnotationUnits = "PIXEL"
        item.GraphicDimensions = 2
        item.NumberOfGraphicPoints = max(1, len(data) // 2)
        item.GraphicData = data
        item.GraphicType = graphic_type
        item.GraphicFilled = "N"
        annotation = Dataset()
        annotation.GraphicLayer = "HOSTILE"
        annotation.GraphicObjectSequence = Sequence([item])
        text = Dataset()
        text.UnformattedTextValue = "<b>" * 200
        text.AnchorPointAnnotationUnits = "DISPLAY"
        text.AnchorPoint = [float("inf"), -1e30]
        text.AnchorPointVisibility = "Y"
        annotation.TextObjectSequence = Sequence([text])
        annotation.ReferencedImageSequence = Sequence(
            [image for series in ds.get("ReferencedSeriesSequence", [])
             for image in series.get("ReferencedImageSequence", [])])
        ds.GraphicAnnotationSequence = Sequence([annotation])
        layer = Dataset()
        layer.GraphicLayer = "HOSTILE"
        layer.GraphicLayerOrder = 1
        ds.GraphicLayerSequence = Sequence([layer])
    return mutate


def _displayed_area(tlhc: list[int], brhc: list[int]) -> Mutation:
    def mutate(ds: Dataset) -> None:
        for area in ds.get("DisplayedAreaSelectionSequence", []):
            area.DisplayedAreaTopLeftHandCorner = tlhc
            area.DisplayedAreaBottomRightHandCorner = brhc
    return mutate


def _voi_width(width: float) -> Mutation:
    def mutate(ds: Dataset) -> None:
        for voi in ds.get("SoftcopyVOILUTSequence", []):
            voi.WindowWidth = width
    return mutate


PRESENTATION_MUTATIONS: dict[str, Mutation] = {
    "other_image": _other_reference,
    "odd_points": _graphics([1.0, 2.0, 3.0]),
    "nan_points": _graphics([float("nan"), 1.0, 2.0, float("nan")]),
    "far_points": _graphics([1e30, -1e30, 3e38, 5.0], "INTERPOLATED"),
    "bad_circle": _graphics([10.0, 10.0], "CIRCLE"),
    "unknown_type": _graphics([10.0, 10.0, 20.0, 20.0], "SPIRAL"),
    "rotation_45": _set(ImageRotation=45),
    "million_area": _displayed_area([-1000000, -1000000], [1000000, 1000000]),
    "inverted_area": _displayed_area([100, 100], [1, 1]),
    "zero_width": _voi_width(0),
}


# -- segmentation (PS3.3 A.51) -----------------------------------------------

def _seg_other_image(ds: Dataset) -> None:
    other = generate_uid(entropy_srcs=["not-stored-seg"])
    for frame in ds.get("PerFrameFunctionalGroupsSequence", []):
        for derivation in frame.get("DerivationImageSequence", []):
            for source in derivation.get("SourceImageSequence", []):
                source.ReferencedSOPInstanceUID = other
    for series in ds.get("ReferencedSeriesSequence", []):
        for image in series.get("ReferencedInstanceSequence", []):
            image.ReferencedSOPInstanceUID = other


def _seg_truncated(ds: Dataset) -> None:
    ds.PixelData = bytes(ds.PixelData)[: len(ds.PixelData) // 4 * 2]


def _seg_unknown_segment(ds: Dataset) -> None:
    for frame in ds.get("PerFrameFunctionalGroupsSequence", []):
        for ident in frame.get("SegmentIdentificationSequence", []):
            ident.ReferencedSegmentNumber = 99


SEGMENTATION_MUTATIONS: dict[str, Mutation] = {
    "other_image": _seg_other_image,
    "truncated": _seg_truncated,
    "unknown_segment": _seg_unknown_segment,
    "frames_lie": _set(NumberOfFrames=1000000),
    "fractional_max_zero": _set(MaximumFractionalValue=0),
}


# -- structured report (PS3.3 C.17.3) -----------------------------------------

def _deep(ds: Dataset) -> None:
    leaf = Dataset()
    leaf.RelationshipType = "CONTAINS"
    leaf.ValueType = "TEXT"
    leaf.TextValue = "bottom"
    # Orthanc 1.10.1 itself dies on the upload of a 50-level tree (its own parser, with no plugin loaded):
    # 30 levels reach the previewer; the 64-level bound of previewer.objects.report is unit-tested.
    for _ in range(30):
        container = Dataset()
        container.RelationshipType = "CONTAINS"
        container.ValueType = "CONTAINER"
        container.ContinuityOfContent = "SEPARATE"
        container.ContentSequence = Sequence([leaf])
        leaf = container
    ds.ContentSequence = Sequence([leaf])


def _script(ds: Dataset) -> None:
    item = Dataset()
    item.RelationshipType = "CONTAINS"
    item.ValueType = "TEXT"
    item.TextValue = '<script>alert("x")</script>" onmouseover="alert(1)'
    ds.ContentSequence = Sequence(list(ds.get("ContentSequence", [])) + [item])


def _bad_items(ds: Dataset) -> None:
    number = Dataset()
    number.RelationshipType = "CONTAINS"
    number.ValueType = "NUM"
    measured = Dataset()
    measured.NumericValue = None
    number.MeasuredValueSequence = Sequence([measured])
    untyped = Dataset()
    untyped.RelationshipType = "CONTAINS"
    wrong = Dataset()
    wrong.ValueType = "IMAGE"
    wrong.ReferencedSOPSequence = Sequence([Dataset()])
    ds.ContentSequence = Sequence([number, untyped, wrong])


REPORT_MUTATIONS: dict[str, Mutation] = {
    "deep": _deep,
    "script": _script,
    "bad_items": _bad_items,
    "no_content": lambda ds: delattr(ds, "ContentSequence") if "ContentSequence" in ds else None,
}


# -- overlay (PS3.3 C.9.2) ---------------------------------------------------

def _overlay_short(ds: Dataset) -> None:
    ds[0x60003000].value = bytes(ds[0x60003000].value)[:16]


OVERLAY_MUTATIONS: dict[str, Mutation] = {
    "short_data": _overlay_short,
    "huge": lambda ds: (ds.__setitem__(0x60000010, pydicom.DataElement(0x60000010, "US", 65535)),
                        ds.__setitem__(0x60000011, pydicom.DataElement(0x60000011, "US", 65535))) and None,
    "origin_far": lambda ds: ds.__setitem__(0x60000050, pydicom.DataElement(0x60000050, "SS", [-30000, 30000])),
    "frames_lie": lambda ds: ds.__setitem__(0x60000015, pydicom.DataElement(0x60000015, "IS", "1000")),
    "bits_wild": lambda ds: ds.__setitem__(0x60000100, pydicom.DataElement(0x60000100, "US", 16)),
}

MUTATIONS: dict[str, dict[str, Mutation]] = {
    "pdf": PDF_MUTATIONS,
    "video": VIDEO_MUTATIONS,
    "presentation": PRESENTATION_MUTATIONS,
    "segmentation": SEGMENTATION_MUTATIONS,
    "report": REPORT_MUTATIONS,
    "overlay": OVERLAY_MUTATIONS,
}


def mutants(sources: dict[str, bytes]) -> Iterator[Mutant]:
    """Every mutation of every source (kind -> file made by a real tool), plus seeded byte flips."""
    for kind, data in sorted(sources.items()):
        for name, mutate in MUTATIONS[kind].items():
            ds = _read(data)
            mutate(ds)
            yield Mutant(f"{kind}/{name}", kind, _write(ds, f"{kind}/{name}"))
        for seed in range(2):
            flipped = bytearray(_write(_read(data), f"{kind}/flips_{seed}"))
            rng = random.Random(seed)
            for _ in range(12):
                flipped[rng.randrange(len(flipped) // 2, len(flipped))] ^= 1 << rng.randrange(8)
            yield Mutant(f"{kind}/flips_{seed}", kind, bytes(flipped))
