"""Hostile objects beyond images, for tests/test_robustness_objects.py.

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
- overlay (pydicom-data's MR-SIEMENS-DICOM-WithOverlays.dcm, and the
  10-frame overlay file of tests/objects_overlay.py): Overlay Data short,
  empty, odd or garbage; Overlay Rows / Columns bigger than the data, zero,
  negative, 65535, or of the wrong VR (text, inf, a fraction, 2**32-1);
  origin far outside, negative, partly out, with one or three values, text,
  inf, NaN or 1e300; Overlay Bits Allocated 0, 8, 16 or two values; Number
  of Frames in Overlay and Image Frame Origin 0, negative, huge, beyond the
  image's frames, a fraction, text or absent; all 16 groups at once.

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


# -- overlay (PS3.3 C.9.2, C.9.3) ---------------------------------------------

def _overlay(element: int, vr: str, value: object, group: int = 0x6000) -> Mutation:
    """Set (group,element) of the overlay plane to ``value`` with ``vr`` (which may be the wrong VR)."""
    def mutate(ds: Dataset) -> None:
        ds[(group << 16) | element] = pydicom.DataElement((group << 16) | element, vr, value)
    return mutate


def _overlay_data(edit: Callable[[bytes], bytes]) -> Mutation:
    def mutate(ds: Dataset) -> None:
        body = edit(bytes(ds[0x60003000].value))
        ds[0x60003000].value = body + b"\0" * (len(body) % 2)
    return mutate


def _all_groups(ds: Dataset) -> None:
    """The plane of group 6000 copied into all 16 overlay groups (6000-601E), each origin shifted."""
    plane = [elem for elem in ds if elem.tag.group == 0x6000]
    for group in range(0x6002, 0x6020, 2):
        for elem in plane:
            tag = (group << 16) | elem.tag.element
            value = elem.value
            if elem.tag.element == 0x0050:
                value = [1 + (group - 0x6000) * 4, 1 + (group - 0x6000) * 2]
            ds[tag] = pydicom.DataElement(tag, elem.VR, value)


def _unlike(ds: Dataset) -> None:
    """Group 6000 removed but for its Overlay Data: no rows, columns or bits allocated."""
    for elem in [e for e in ds if e.tag.group == 0x6000 and e.tag.element != 0x3000]:
        del ds[elem.tag]


def _multi(**values: object) -> Mutation:
    """Multi-frame overlay attributes (PS3.3 C.9.3) of group 6000 set as given (None deletes)."""
    tags = {"frames": (0x0015, "IS"), "frame_origin": (0x0051, "US")}
    def mutate(ds: Dataset) -> None:
        for name, value in values.items():
            element, vr = tags[name]
            if value is None:
                del ds[0x60000000 | element]
            else:
                ds[0x60000000 | element] = pydicom.DataElement(0x60000000 | element, vr, value)
    return mutate


OVERLAY_MUTATIONS: dict[str, Mutation] = {
    # rows and columns that lie
    "short_data": _overlay_data(lambda data: data[:16]),
    "empty_data": _overlay_data(lambda data: b""),
    "odd_data": _overlay_data(lambda data: data[:-3]),
    "garbage_data": _overlay_data(lambda data: _noise(len(data), 4)),
    "rows_bigger": _overlay(0x0010, "US", 2000),
    "columns_bigger": _overlay(0x0011, "US", 2000),
    "huge": lambda ds: (_overlay(0x0010, "US", 65535)(ds), _overlay(0x0011, "US", 65535)(ds)) and None,
    "rows_zero": _overlay(0x0010, "US", 0),
    "columns_zero": _overlay(0x0011, "US", 0),
    "rows_negative": _overlay(0x0010, "SS", -484),
    "columns_negative": _overlay(0x0011, "SS", -1),
    "rows_smaller": _overlay(0x0010, "US", 7),
    "columns_one": _overlay(0x0011, "US", 1),
    # origin far outside, negative, malformed
    "origin_far": _overlay(0x0050, "SS", [-30000, 30000]),
    "origin_beyond": _overlay(0x0050, "SS", [32767, 32767]),
    "origin_negative": _overlay(0x0050, "SS", [-32768, -32768]),
    "origin_partly_out": _overlay(0x0050, "SS", [-240, 300]),
    "origin_one_value": _overlay(0x0050, "SS", 5),
    "origin_three_values": _overlay(0x0050, "SS", [1, 1, 1]),
    "origin_empty": _overlay(0x0050, "SS", None),
    "origin_text": _overlay(0x0050, "LO", "left\\top"),
    "origin_inf": _overlay(0x0050, "FD", [float("inf"), 1.0]),
    "origin_nan": _overlay(0x0050, "FD", [float("nan"), float("-inf")]),
    "origin_huge": _overlay(0x0050, "FD", [1e300, -1e300]),
    # bits allocated and bit position not those of (60xx,3000) data
    "bits_wild": _overlay(0x0100, "US", 16),
    "bits_zero": _overlay(0x0100, "US", 0),
    "bits_eight": _overlay(0x0100, "US", 8),
    "bit_position": _overlay(0x0102, "US", 15),
    "bits_two_values": _overlay(0x0100, "US", [1, 16]),
    # wrong VRs and values
    "rows_text": _overlay(0x0010, "LO", "many"),
    "rows_inf": _overlay(0x0010, "FD", float("inf")),
    "rows_float": _overlay(0x0010, "FD", 484.5),
    "columns_ul_huge": _overlay(0x0011, "UL", 2**32 - 1),
    "data_as_text": _overlay(0x3000, "LO", "not a bitmap"),
    "data_as_ob": lambda ds: ds.__setitem__(0x60003000, pydicom.DataElement(0x60003000, "OB",
                                                                             bytes(ds[0x60003000].value))),
    "type_binary": _overlay(0x0040, "OB", b"\xff\x00"),
    "label_long": _overlay(0x1500, "LT", "<script>alert(1)</script>" * 400),
    "only_data": _unlike,
    "all_groups": _all_groups,
    # a one-frame overlay given frame attributes that lie (PS3.3 C.9.3)
    "frames_lie": _overlay(0x0015, "IS", "1000"),
    "frames_zero": _overlay(0x0015, "IS", "0"),
    "frames_negative": _overlay(0x0015, "IS", "-3"),
    "frames_text": _overlay(0x0015, "LO", "three"),
    "frame_origin_zero": _overlay(0x0051, "US", 0),
    "frame_origin_huge": _overlay(0x0051, "US", 65535),
}

#: For the 10-frame multi-frame overlay of tests/objects_overlay.py (3 overlay frames from image frame 4).
MULTIFRAME_OVERLAY_MUTATIONS: dict[str, Mutation] = {
    "frames_zero": _multi(frames="0"),
    "frames_huge": _multi(frames="2147483647"),
    "frames_beyond_image": _multi(frames="3", frame_origin=9),
    "frames_more_than_data": _multi(frames="12"),
    "frames_negative": _multi(frames="-1"),
    "frames_float": _multi(frames="2.5"),
    "frames_absent": _multi(frames=None),
    "frame_origin_zero": _multi(frame_origin=0),
    "frame_origin_huge": _multi(frame_origin=65535),
    "frame_origin_beyond": _multi(frame_origin=11),
    "frame_origin_absent": _multi(frame_origin=None),
    "frame_origin_two_values": _multi(frame_origin=[2, 5]),
    "frame_origin_negative": lambda ds: ds.__setitem__(0x60000051, pydicom.DataElement(0x60000051, "SS", -5)),
    "short_data": _overlay_data(lambda data: data[: len(data) // 2]),
    "image_frames_lie": _set(NumberOfFrames=1),
    "all_groups": _all_groups,
    "second_group_huge": _overlay(0x0010, "US", 65535, group=0x6002),
    "second_group_origin_far": _overlay(0x0050, "SS", [-32768, 32767], group=0x6002),
}

MUTATIONS: dict[str, dict[str, Mutation]] = {
    "pdf": PDF_MUTATIONS,
    "video": VIDEO_MUTATIONS,
    "presentation": PRESENTATION_MUTATIONS,
    "segmentation": SEGMENTATION_MUTATIONS,
    "report": REPORT_MUTATIONS,
    "overlay": OVERLAY_MUTATIONS,
    "overlay_multiframe": MULTIFRAME_OVERLAY_MUTATIONS,
}

#: The kind of object a source holds, when its name says more (``overlay_multiframe`` is an overlay).
KIND_OF_SOURCE = {"overlay_multiframe": "overlay"}


def mutants(sources: dict[str, bytes]) -> Iterator[Mutant]:
    """Every mutation of every source (kind -> file made by a real tool), plus seeded byte flips."""
    for kind, data in sorted(sources.items()):
        for name, mutate in MUTATIONS[kind].items():
            ds = _read(data)
            mutate(ds)
            yield Mutant(f"{kind}/{name}", KIND_OF_SOURCE.get(kind, kind), _write(ds, f"{kind}/{name}"))
        for seed in range(2):
            flipped = bytearray(_write(_read(data), f"{kind}/flips_{seed}"))
            rng = random.Random(seed)
            for _ in range(12):
                flipped[rng.randrange(len(flipped) // 2, len(flipped))] ^= 1 << rng.randrange(8)
            yield Mutant(f"{kind}/flips_{seed}", KIND_OF_SOURCE.get(kind, kind), bytes(flipped))
