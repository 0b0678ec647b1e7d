"""Hypothesis fuzzing of the pure pipeline (read_dataset + render + info), and of
the objects beyond images (PDF, SR, GSPS, SEG, video, overlays) through the endpoints' in-process routes.

Malformed input raises the previewer's own errors where it is found
(:class:`PixelError`, :class:`HttpError`), and only those answer a 4xx; any
other exception is a bug, which the route table answers as a 500, and fails
these tests as it escapes.  A 4xx passes only when its message is one of the
previewer's (:func:`hostile.not_ours`: it names a tag or a known condition,
and carries no Python exception's words), and an image only when its shape
agrees with the dataset.  The objects' routes must answer within a time
bound per example.  The number of examples is bounded for `make test`;
`make fuzz` raises it with PREVIEWER_FUZZ_EXAMPLES.
"""
from __future__ import annotations

import copy
import hashlib
import io
import os
import struct
import time
import warnings
from collections.abc import Callable
from typing import Any

import hostile
import hostile_objects
import numpy as np
import objects_sources
import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

from previewer.plugin.endpoints import documents, images
from previewer.plugin.store import Store, UnknownInstance
from previewer.plugin.cache import LruCache
from previewer.pixels import reader, render
from previewer.pixels.errors import PixelError
from previewer.pixels.params import parse_params
from previewer.plugin.http import HttpError, Request

EXAMPLES = int(os.environ.get("PREVIEWER_FUZZ_EXAMPLES", "150"))
FORMATS = ("", "gray8", "gray16", "signed16", "rgb24", "rgba32")
CHANNELS = {"gray8": (), "gray16": (), "signed16": (), "rgb24": (3,), "rgba32": (4,)}
_SETTINGS = settings(max_examples=EXAMPLES * 4, deadline=None, derandomize=True,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _refused(error: PixelError) -> None:
    """A PixelError is an acceptable answer when it is a 4xx that the previewer words (hostile.not_ours)."""
    why = hostile.not_ours(error.status, error.message)
    assert not why, why


def render_all(data: bytes, extra: dict[str, str] | None = None) -> list[str]:
    """Read and render ``data`` in every format; only the previewer's own 4xx may escape as a PixelError.
    The formats rendered (and checked), '' for the default."""
    try:
        ds = reader.read_dataset(data)
    except PixelError as error:
        _refused(error)
        return []
    info = render.info(ds, max_megapixels=4)
    assert isinstance(info, dict)
    if info["reason"] is not None:
        assert hostile.not_ours(415, info["reason"]) == "" or "megapixels" in info["reason"], info["reason"]
    rendered = []
    for fmt in FORMATS:
        query = dict(extra or {})
        if fmt:
            query["format"] = fmt
        try:
            params = parse_params(query)
            result = render.render(ds, 0, params, max_megapixels=4)
        except PixelError as error:
            _refused(error)
            continue
        rendered.append(fmt)
        array = result.array
        assert array.flags.c_contiguous
        rows, cols = int(ds.Rows), int(ds.Columns)
        if params.max_width is None and params.max_height is None:
            assert array.shape[:2] == (rows, cols), (array.shape, rows, cols)
        assert array.shape[2:] == CHANNELS[result.format]
        if result.format == "gray8":
            assert array.dtype == np.uint8
    return rendered


_PHOTOMETRIC = st.sampled_from(["MONOCHROME1", "MONOCHROME2", "RGB", "PALETTE COLOR", "YBR_FULL",
                                "YBR_FULL_422", "", "XYZ"])
_NUMBER = st.one_of(st.integers(-70000, 70000), st.floats(allow_nan=True, allow_infinity=True))


@st.composite
def datasets(draw: st.DrawFn) -> bytes:
    """A small synthetic image dataset with arbitrary (often inconsistent) attributes."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = draw(st.sampled_from([ExplicitVRLittleEndian, ImplicitVRLittleEndian]))
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.Rows = draw(st.integers(0, 24))
    ds.Columns = draw(st.integers(0, 24))
    ds.SamplesPerPixel = draw(st.sampled_from([1, 1, 1, 3, 0, 4]))
    ds.BitsAllocated = draw(st.sampled_from([1, 8, 16, 16, 32, 12, 0, 64]))
    ds.BitsStored = draw(st.integers(0, 40))
    ds.HighBit = draw(st.integers(0, 40))
    ds.PixelRepresentation = draw(st.sampled_from([0, 1, 2]))
    ds.PhotometricInterpretation = draw(_PHOTOMETRIC)
    if draw(st.booleans()):
        ds.PlanarConfiguration = draw(st.integers(0, 2))
    if draw(st.booleans()):
        ds.NumberOfFrames = draw(st.integers(-2, 4))
    if draw(st.booleans()):
        ds.WindowCenter = draw(_NUMBER)
        ds.WindowWidth = draw(_NUMBER)
    if draw(st.booleans()):
        ds.RescaleSlope = draw(_NUMBER)
        ds.RescaleIntercept = draw(_NUMBER)
    for kind in ("ModalityLUTSequence", "VOILUTSequence"):
        if draw(st.integers(0, 4)) == 0:
            item = Dataset()
            item.add_new(0x00283002, "US", draw(st.lists(st.integers(0, 65535), max_size=4)))
            item.add_new(0x00283006, "OW", draw(st.binary(max_size=64)))
            setattr(ds, kind, [item])
    if ds.PhotometricInterpretation == "PALETTE COLOR" and draw(st.booleans()):
        for colour in ("Red", "Green", "Blue"):
            ds.add_new(f"{colour}PaletteColorLookupTableDescriptor", "US",
                       draw(st.lists(st.integers(0, 65535), min_size=3, max_size=3)))
            ds.add_new(f"{colour}PaletteColorLookupTableData", "OW", draw(st.binary(max_size=64)))
    if draw(st.booleans()):
        ds.PixelPaddingValue = draw(st.integers(0, 65535))
    expected = int(ds.Rows) * int(ds.Columns) * max(1, int(ds.SamplesPerPixel)) * max(1, int(ds.BitsAllocated) // 8)
    length = draw(st.sampled_from([expected, expected, max(0, expected - 2), expected + 16, 0, 1]))
    ds.add_new(0x7FE00010, "OB" if int(ds.BitsAllocated) <= 8 else "OW", draw(st.binary(min_size=length,
                                                                                 max_size=length)))
    try:
        return hostile.unchecked_bytes(ds, implicit_vr=ds.file_meta.TransferSyntaxUID == ImplicitVRLittleEndian,
                                       little_endian=True)
    except (ValueError, TypeError, OverflowError, AttributeError, OSError, struct.error):
        return b""  # a value pydicom cannot write at all: nothing to fuzz


_QUERY = st.dictionaries(
    st.sampled_from(["window", "voi", "invert", "size", "width", "height", "padding"]),
    st.one_of(st.sampled_from(["0", "1", "3", "40,400", "40,0", "-5,1,sigmoid", "1e300,1e-300",
                               "transparent", "nan,1"]), st.text(max_size=8)), max_size=3)


@_SETTINGS
@given(data=datasets(), query=_QUERY)
def test_fuzz_synthetic_datasets(data: bytes, query: dict[str, str]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        render_all(data, query)


_MUTANTS = [m.data for m in hostile.mutants(byte_flip_variants=0)
            if not m.name.endswith(("15000x15000", "16000x16000"))]


@_SETTINGS
@given(index=st.integers(0, len(_MUTANTS) - 1),
       flips=st.lists(st.tuples(st.integers(0, 2**31), st.integers(0, 255)), min_size=1, max_size=16),
       cut=st.one_of(st.none(), st.integers(132, 2**31)))
def test_fuzz_byte_mutations_of_corpus(index: int, flips: list[tuple[int, int]], cut: int | None) -> None:
    """The hostile mutants with further random byte changes and truncation."""
    data = bytearray(_MUTANTS[index])
    for at, value in flips:
        data[at % len(data)] = value
    if cut is not None:
        data = data[: cut % len(data)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        render_all(bytes(data))


def test_render_all_accepts_clean_corpus() -> None:
    """Sanity check of the oracle itself: pydicom's CT_small.dcm renders in every format, SC_rgb.dcm in every
    one but signed16 (grayscale only)."""
    assert render_all(hostile.source_path("CT_small.dcm").read_bytes()) == list(FORMATS)
    assert render_all(hostile.source_path("SC_rgb.dcm").read_bytes()) == [f for f in FORMATS if f != "signed16"]


# -- the objects beyond images, through the endpoints' in-process path -------------------

#: Examples per object test: each example answers 3-6 routes (a PDF page, a video decode), so fewer.
OBJECT_EXAMPLES = max(10, EXAMPLES // 5)
#: No example (all its routes) may take longer than this, in seconds: the time bound on a PDF or a video.
SLOWEST_EXAMPLE = 10.0
_OBJECT_SETTINGS = settings(max_examples=OBJECT_EXAMPLES, deadline=None, derandomize=True,
                            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
IMAGE_ID = "11111111-22222222-33333333-44444444-55555555"
OBJECT_ID = "aaaaaaaa-bbbbbbbb-cccccccc-dddddddd-eeeeeeee"
#: The source kinds of tests/objects_sources.py that are fuzzed (the image is what the GSPS and SEG reference).
OBJECT_KINDS = ("pdf", "report", "presentation", "segmentation", "video", "overlay", "overlay_multiframe")


def _object_routes(kind: str) -> list[tuple[str, str, dict[str, str], int]]:
    """(route, instance, query, frame) that a fuzzed object of ``kind`` meets, as in test_robustness_objects."""
    own: list[tuple[str, str, dict[str, str], int]] = [("info", OBJECT_ID, {}, 0), ("png", OBJECT_ID, {}, 0)]
    if kind == "pdf":   # sized: the unsized 200-inch page (4 s) is test_robustness_objects' to try
        return [("info", OBJECT_ID, {}, 0), ("document", OBJECT_ID, {}, 0),
                ("png", OBJECT_ID, {"size": "200"}, 0), ("png", OBJECT_ID, {"page": "2", "size": "64"}, 0),
                ("png", OBJECT_ID, {"format": "gray8", "size": "32"}, 1)]
    if kind == "report":
        return own + [("report", OBJECT_ID, {}, 0), ("png", OBJECT_ID, {"size": "64"}, 0)]
    if kind == "video":
        return own + [("png", OBJECT_ID, {"size": "16"}, 15)]
    if kind in ("presentation", "segmentation"):
        return own + [("png", IMAGE_ID, {kind: OBJECT_ID}, 0), ("png", IMAGE_ID, {kind: OBJECT_ID, "size": "40"}, 0),
                      ("png", IMAGE_ID, {kind: OBJECT_ID}, 1)]
    return own + [("png", OBJECT_ID, {"overlay": "red", "size": "48"}, 0),
                  ("png", OBJECT_ID, {"format": "rgba32", "overlay": "00ff00"}, 4),
                  ("png", OBJECT_ID, {"overlays": "0", "format": "gray16"}, 0)]


#: What one route answered: (route, query, frame, status, message or '').
Outcome = tuple[str, dict[str, str], int, int, str]


def serve_object(kind: str, data: bytes, image: bytes) -> list[Outcome]:
    """``data`` (an object of ``kind``) on each route it meets, through the endpoints as Orthanc's routes call
    them: only an answer or the previewer's own 4xx (hostile.not_ours) may come out, within
    :data:`SLOWEST_EXAMPLE` seconds; any other exception escapes and fails the caller."""
    files = {IMAGE_ID: image, OBJECT_ID: data}
    versions = {IMAGE_ID: "image", OBJECT_ID: hashlib.sha1(data).hexdigest()}

    def dicom(instance_id: str) -> bytes:
        if instance_id not in files:
            raise UnknownInstance(instance_id)
        return files[instance_id]

    store = Store(dicom=dicom, version=versions.get, cache=LruCache(64 * 2**20), max_megapixels=16)
    handlers = {"info": images.instance_info, "png": images.frame_png,
                "document": documents.document, "report": documents.report}
    start = time.monotonic()
    outcomes: list[Outcome] = []
    for route, instance, query, frame in _object_routes(kind):
        request = Request("GET", "/", {"id": instance, "frame": frame}, query, {})
        try:
            response = handlers[route](store, request)
        except (HttpError, PixelError) as error:
            why = hostile.not_ours(error.status, error.message)
            assert not why, (route, query, frame, why)
            outcomes.append((route, query, frame, error.status, error.message))
            continue
        if response.pixels is not None:
            assert response.pixels.ndim in (2, 3) and min(response.pixels.shape[:2]) >= 1, response.pixels.shape
        else:
            assert response.body or route == "document" or response.status == 304, (route, query, response.status)
        outcomes.append((route, query, frame, response.status, ""))
    took = time.monotonic() - start
    assert took < SLOWEST_EXAMPLE, f"{kind}: {took:.1f} s"
    return outcomes


@pytest.fixture(scope="module")
def object_sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """kind -> a file made by a real tool (tests/objects_sources.py), and "image", the CT they reference."""
    return objects_sources.sources(tmp_path_factory.mktemp("fuzz-objects"))


def _payload_span(kind: str, data: bytes) -> tuple[int, int]:
    """(start, stop) of the object's payload in the file: the PDF, the bitstream, the overlay or SEG bits."""
    ds = pydicom.dcmread(io.BytesIO(data), force=True)
    tag = {"pdf": 0x00420011, "overlay": 0x60003000, "overlay_multiframe": 0x60003000}.get(kind, 0x7FE00010)
    value = ds.get(tag)
    raw = bytes(value.value) if value is not None and isinstance(value.value, bytes) else b""
    at = data.find(raw[:64]) if raw else -1
    return (at, at + len(raw)) if at >= 0 else (0, len(data))


@_OBJECT_SETTINGS
@given(kind=st.sampled_from(OBJECT_KINDS), payload=st.booleans(),
       flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=12),
       cut=st.one_of(st.none(), st.floats(0.05, 1)))
def test_fuzz_object_bytes(object_sources: dict[str, bytes], kind: str, payload: bool,
                           flips: list[tuple[float, int]], cut: float | None) -> None:
    """Random byte changes (in the payload or anywhere) and truncation of a PDF, SR, GSPS, SEG, video or overlay file."""
    data = bytearray(object_sources[kind])
    start, stop = _payload_span(kind, bytes(data)) if payload else (0, len(data))
    for where, value in flips:
        data[start + int(where * (stop - start))] = value
    if cut is not None:
        data = data[: max(132, int(cut * len(data)))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        serve_object(kind, bytes(data), object_sources["image"])


#: Per kind, the elements a structured mutation aims at (keywords or overlay groups), besides any element.
_FOCUS: dict[str, tuple[str, ...]] = {
    "pdf": ("EncapsulatedDocument", "MIMETypeOfEncapsulatedDocument", "EncapsulatedDocumentLength"),
    "video": ("NumberOfFrames", "Rows", "Columns", "PixelData", "BitsAllocated", "SamplesPerPixel",
              "PhotometricInterpretation"),
    "segmentation": ("NumberOfFrames", "Rows", "Columns", "PixelData", "SegmentationType", "SegmentNumber",
                     "ReferencedSegmentNumber", "ReferencedSOPInstanceUID", "MaximumFractionalValue",
                     "RecommendedDisplayCIELabValue", "BitsAllocated"),
    "presentation": ("ReferencedSOPInstanceUID", "GraphicData", "GraphicType", "NumberOfGraphicPoints",
                     "AnchorPoint", "BoundingBoxTopLeftHandCorner", "BoundingBoxBottomRightHandCorner",
                     "DisplayedAreaTopLeftHandCorner", "DisplayedAreaBottomRightHandCorner", "ImageRotation",
                     "ImageHorizontalFlip", "WindowCenter", "WindowWidth", "RescaleSlope", "RescaleIntercept",
                     "PresentationLUTShape", "GraphicAnnotationUnits", "PresentationPixelSpacing",
                     "ReferencedFrameNumber", "GraphicLayer"),
    "report": ("ValueType", "RelationshipType", "ContentSequence", "MeasuredValueSequence", "NumericValue",
               "TextValue", "ConceptNameCodeSequence", "ReferencedSOPSequence", "MeasurementUnitsCodeSequence"),
}
_VALUES = st.one_of(
    st.tuples(st.just("int"), st.sampled_from(["US", "SS", "UL", "SL", "IS"]),
              st.sampled_from([0, 1, -1, 2, 255, 65535, 65536, 2**31 - 1, -2**31, 2**32 - 1])),
    st.tuples(st.just("float"), st.sampled_from(["FD", "FL", "DS"]),
              st.sampled_from([float("nan"), float("inf"), float("-inf"), 1e300, -1e-300, 0.5, -3.0])),
    st.tuples(st.just("text"), st.sampled_from(["LO", "CS", "UI", "ST"]),
              st.sampled_from(["", "abc", "1\\2\\3", "-5", "1e400", "<script>alert(1)</script>", "\x00",
                               "9" * 64])),
    st.tuples(st.just("bytes"), st.sampled_from(["OB", "OW", "UN"]), st.binary(max_size=64)),
    st.tuples(st.sampled_from(["delete", "empty", "truncate", "items"]), st.just(""), st.integers(0, 8)),
)


def _elements(ds: Dataset, focus: tuple[str, ...], depth: int = 0) -> list[tuple[Dataset, int, bool]]:
    """(dataset, tag, aimed at) for every element, nested items included."""
    found: list[tuple[Dataset, int, bool]] = []
    for elem in ds:
        aimed = elem.keyword in focus or (not focus and 0x6000 <= elem.tag.group <= 0x601E)
        found.append((ds, int(elem.tag), aimed))
        if elem.VR == "SQ" and depth < 8:
            for item in elem.value:
                found.extend(_elements(item, focus, depth + 1))
    return found


def _edit(ds: Dataset, tag: int, op: str, vr: str, value: Any) -> None:
    """One structured change of element ``tag`` (the wrong VR included); one pydicom refuses is left out."""
    elem = ds[tag]
    if op == "delete":
        del ds[tag]
    elif op == "empty":
        ds[tag] = DataElement(tag, elem.VR, [] if elem.VR == "SQ" else None)
    elif op == "truncate":
        if isinstance(elem.value, (bytes, str)):
            elem.value = elem.value[: len(elem.value) * value // 9]
        elif elem.VR == "SQ":
            del elem.value[value % max(1, len(elem.value)):]
    elif op == "items":
        if elem.VR == "SQ" and len(elem.value):
            elem.value.extend([copy.deepcopy(elem.value[value % len(elem.value)])] * min(value, 4))
    else:
        if op == "int" and vr == "IS":
            value = str(value)
        elif op == "float" and vr == "DS":
            value = repr(value)
        elif op == "bytes" and len(value) % 2:
            value += b"\0"
        ds[tag] = DataElement(tag, vr, value)


@st.composite
def structured_objects(draw: st.DrawFn, sources: dict[str, bytes]) -> tuple[str, bytes]:
    """(kind, file): a source file with hostile mutations (tests/hostile_objects.py) and element changes."""
    kind = draw(st.sampled_from(OBJECT_KINDS))
    ds = pydicom.dcmread(io.BytesIO(sources[kind]), force=True)
    named = hostile_objects.MUTATIONS[kind]
    for name in draw(st.lists(st.sampled_from(sorted(named)), max_size=2, unique=True)):
        try:
            named[name](ds)
        except (ValueError, TypeError, KeyError, AttributeError):
            continue   # two mutations that do not combine (the second edits what the first replaced)
    focus = _FOCUS.get(kind, ())
    for _ in range(draw(st.integers(1, 4))):
        elements = _elements(ds, focus)
        aimed = [e for e in elements if e[2]] if draw(st.booleans()) else []
        pool = aimed or elements
        if not pool:
            break
        target, tag, _ = pool[draw(st.integers(0, len(pool) - 1))]
        op, vr, value = draw(_VALUES)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _edit(target, tag, op, vr, value)
        except (ValueError, TypeError, OverflowError, KeyError, AttributeError):
            continue   # a value pydicom will not even hold
    try:
        return kind, hostile.unchecked_bytes(ds)
    except (ValueError, TypeError, OverflowError, AttributeError, KeyError, OSError, struct.error):
        return kind, b""   # a value pydicom cannot write at all: nothing to fuzz


@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")
@_OBJECT_SETTINGS
@given(data=st.data())
def test_fuzz_object_structure(object_sources: dict[str, bytes], data: st.DataObject) -> None:
    """Hostile mutations plus random element changes (deleted, emptied, wrong VR, NaN, huge) of each kind of object."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kind, file = data.draw(structured_objects(object_sources))
        if file:
            serve_object(kind, file, object_sources["image"])


#: The routes of _object_routes that an unmutated source is refused on: (kind, route, applied to the image,
#: frame) -> status.  The GSPS is no picture of its own; CT_small.dcm (which the GSPS and SEG are applied to)
#: and the Siemens overlay file have one frame.
CLEAN_REFUSALS = {("presentation", "png", False, 0): 415, ("presentation", "png", True, 1): 404,
                  ("segmentation", "png", True, 1): 404, ("overlay", "png", False, 4): 404}


def test_serve_object_accepts_clean_sources(object_sources: dict[str, bytes]) -> None:
    """Sanity check of the object oracle: every unmutated source answers 200 (a picture, the report or the
    PDF) on each of its routes, but for the refusals of :data:`CLEAN_REFUSALS`."""
    for kind in OBJECT_KINDS:
        outcomes = serve_object(kind, object_sources[kind], object_sources["image"])
        assert len(outcomes) == len(_object_routes(kind))
        for route, query, frame, status, message in outcomes:
            expected = CLEAN_REFUSALS.get((kind, route, query.get(kind) == OBJECT_ID, frame), 200)
            assert status == expected, (kind, route, query, frame, status, message)


def _with(data: bytes, keyword: str, vr: str, value: Any) -> bytes:
    ds = pydicom.dcmread(io.BytesIO(data), force=True)
    tag = int(pydicom.datadict.tag_for_keyword(keyword) or 0)
    ds[tag] = DataElement(tag, vr, value)
    return hostile.unchecked_bytes(ds)


def _one_lab_value(data: bytes) -> bytes:
    ds = pydicom.dcmread(io.BytesIO(data), force=True)
    ds.SegmentSequence[0]["RecommendedDisplayCIELabValue"] = DataElement(0x0062000D, "US", 5)
    return hostile.unchecked_bytes(ds)


def _unknown_graphic_type_vr(data: bytes) -> bytes:
    """The first (0070,0023) Graphic Type's VR bytes replaced by 'C\\0' (what a zeroed byte made of 'CS')."""
    at = data.index(b"\x70\x00\x23\x00CS")
    return data[: at + 4] + b"C\x00" + data[at + 6:]


@pytest.mark.parametrize(("kind", "mutate", "route"), [
    ("video", lambda d: _with(d, "NumberOfFrames", "FD", float("inf")), "info"),
    ("overlay", lambda d: _with(d, "Rows", "FD", float("inf")), "info"),
    ("overlay", lambda d: _with(d, "SamplesPerPixel", "FD", float("nan")), "png"),
    ("overlay", lambda d: _with(d, "SamplesPerPixel", "FD", float("inf")), "png"),
    ("pdf", lambda d: _with(d, "EncapsulatedDocumentLength", "FD", float("inf")), "document"),
    ("pdf", lambda d: _with(d, "EncapsulatedDocument", "FD", 1.0), "document"),
    ("overlay", lambda d: _with(d, "Rows", "FD", float("inf")), "png"),
    ("segmentation", lambda d: _with(d, "NumberOfFrames", "FD", float("inf")), "segmentation"),
    ("segmentation", _one_lab_value, "segmentation"),
    # found by test_fuzz_object_bytes (kind='presentation', flips=[(0.75, 0)]): a zeroed VR byte
    ("presentation", _unknown_graphic_type_vr, "presentation"),
    # found by test_fuzz_object_structure with 1500 examples: a wrong VR on a sequence, an infinite size
    ("report", lambda d: _with(d, "ConceptNameCodeSequence", "LO", "a"), "png"),
    ("segmentation", lambda d: _with(d, "Rows", "FD", float("inf")), "segmentation"),
    # found by the 1500-example runs once a 4xx had to name what is wrong: a SOP Class UID byte zeroed
    ("presentation", lambda d: _with(d, "SOPClassUID", "UI", "0"), "presentation"),
    ("report", lambda d: _with(d, "SOPClassUID", "UI", "0"), "png"),
], ids=["frames-inf", "rows-inf", "samples-nan", "samples-inf", "pdf-length-inf", "pdf-not-bytes",
        "rows-inf-png", "seg-frames-inf", "seg-lab-one-value", "gsps-bad-vr", "sr-concept-not-a-sequence",
        "seg-rows-inf", "gsps-other-class", "sr-other-class"])
def test_found_500_is_now_a_4xx(object_sources: dict[str, bytes], kind: str, mutate: Callable[[bytes], bytes],
                                route: str) -> None:
    """Each 500 the object fuzzing found (an infinite, NaN or wrong-VR value), and each 4xx that named nothing,
    answers the previewer's own 4xx (hostile.not_ours) or renders."""
    files = {OBJECT_ID: mutate(object_sources[kind]), IMAGE_ID: object_sources["image"]}
    store = Store(dicom=files.__getitem__, version=lambda _: "v", cache=LruCache(2**24))
    instance, query = (IMAGE_ID, {route: OBJECT_ID}) if route in ("presentation", "segmentation") else (OBJECT_ID, {})
    handler = {"info": images.instance_info, "png": images.frame_png, "document": documents.document,
               "presentation": images.frame_png, "segmentation": images.frame_png}[route]
    try:
        handler(store, Request("GET", "/", {"id": instance, "frame": 0}, query, {}))
    except (HttpError, PixelError) as error:
        why = hostile.not_ours(error.status, error.message)
        assert not why, why
