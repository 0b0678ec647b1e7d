"""Reading a DICOM file from memory: only the elements the pipeline reads.

The pipeline (decoding, PS3.3 C.11, and ``render.info``) reads the
attributes listed in :data:`NEEDED` and nothing else.  A well-formed file
(preamble and File Meta Information, PS3.10 7.1; a known little-endian
transfer syntax) is walked here: element headers only (PS3.5 7.1), the
needed elements kept as pydicom raw elements, which pydicom converts itself,
the others skipped without a copy.  Pixel data of defined length stays a
read-only view of the caller's buffer.  Anything the walker does not expect
(no preamble, a deflated, big-endian or unknown transfer syntax, a VR it does
not know, an encoding that disagrees with the transfer syntax, a truncated
element, deep nesting) is read by pydicom's own reader instead.

Either way the needed elements are converted before :func:`read_dataset`
returns, so that a malformed one is :class:`Malformed` (415) here, naming
its tag, rather than a later error; elements the pipeline never reads are
never converted.  Only pydicom's own calls (its reader, its value
conversion) are guarded: their errors become :class:`Unsupported` or
:class:`Malformed`; an error of the walker itself is a bug and is not caught.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterable
from typing import Any

import pydicom
from pydicom.charset import convert_encodings, default_encoding
from pydicom.dataelem import RawDataElement, convert_raw_data_element
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag, Tag
from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from . import warn
from .elements import label, reason
from .errors import Malformed, Unsupported

#: Every attribute the pipeline reads, at the top level or inside the items of
#: the sequences listed here (functional groups, LUT sequences).
NEEDED_KEYWORDS: tuple[str, ...] = (
    "SpecificCharacterSet", "Modality", "ImagerPixelSpacing",
    "SamplesPerPixel", "PhotometricInterpretation", "PlanarConfiguration", "NumberOfFrames",
    "Rows", "Columns", "PixelSpacing", "BitsAllocated", "BitsStored", "PixelRepresentation",
    "PixelPaddingValue", "PixelPaddingRangeLimit",
    "WindowCenter", "WindowWidth", "RescaleIntercept", "RescaleSlope", "RescaleType",
    "WindowCenterWidthExplanation", "VOILUTFunction",
    "RedPaletteColorLookupTableDescriptor", "GreenPaletteColorLookupTableDescriptor",
    "BluePaletteColorLookupTableDescriptor", "RedPaletteColorLookupTableData",
    "GreenPaletteColorLookupTableData", "BluePaletteColorLookupTableData",
    "SegmentedRedPaletteColorLookupTableData", "SegmentedGreenPaletteColorLookupTableData",
    "SegmentedBluePaletteColorLookupTableData",
    "ModalityLUTSequence", "VOILUTSequence", "LUTDescriptor", "LUTExplanation", "LUTData",
    "PresentationLUTShape",
    "SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence",
    "PixelValueTransformationSequence", "FrameVOILUTSequence", "PixelMeasuresSequence",
    "ExtendedOffsetTable", "ExtendedOffsetTableLengths",
    "FloatPixelData", "DoubleFloatPixelData", "PixelData",
)
NEEDED: frozenset[int] = frozenset(int(Tag(keyword)) for keyword in NEEDED_KEYWORDS)
#: Overlay Plane attributes (PS3.3 C.9.2), in each of the repeating groups 6000-601E.
_OVERLAY_ELEMENTS = (0x0010, 0x0011, 0x0015, 0x0022, 0x0040, 0x0045, 0x0050, 0x0051, 0x0100, 0x0102,
                     0x1500, 0x3000)
NEEDED = NEEDED | frozenset((group << 16) | element for group in range(0x6000, 0x6020, 2)
                            for element in _OVERLAY_ELEMENTS)

#: PS3.10 A.4 Deflated Image Frame Compression: explicit VR little endian, not in pydicom 3.0.
_DEFLATED_IMAGE_FRAME = "1.2.840.10008.1.2.8.1"
#: PS3.5 7.1.2: VRs whose explicit-VR header has a 4-byte length.
_LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"})
_SHORT_VRS = frozenset({b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FD", b"FL", b"IS", b"LO", b"LT",
                        b"PN", b"SH", b"SL", b"SS", b"ST", b"TM", b"UI", b"UL", b"US"})
_PIXEL_TAGS = frozenset({0x7FE00008, 0x7FE00009, 0x7FE00010})
#: PS3.5 7.5: Item, Item Delimitation Item, Sequence Delimitation Item.
_ITEM, _ITEM_END, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_UNDEFINED = 0xFFFFFFFF
_MAX_DEPTH = 32
#: Sequences nested deeper than this in a whole file (:func:`read_full`) are refused.
MAX_NESTING = 200
#: (0002,0010) Transfer Syntax UID: the File Meta Information element the pipeline reads.
_SYNTAX = frozenset({0x00020010})
_ITEM_HEADER = struct.Struct("<HHL")
_EXPLICIT = struct.Struct("<HH2sH")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<L")


class _Irregular(Exception):
    """Something the walker leaves to pydicom's reader."""


def _header(view: memoryview, pos: int, implicit: bool) -> tuple[int, bytes | None, int, int]:
    """(tag, VR, value length, start of the value) of the element at ``pos``, PS3.5 7.1."""
    if pos + 8 > len(view):
        raise _Irregular
    if implicit:
        group, element, length = _ITEM_HEADER.unpack_from(view, pos)
        return group << 16 | element, None, length, pos + 8
    group, element, vr, length = _EXPLICIT.unpack_from(view, pos)
    if group == 0xFFFE:  # items and delimiters have no VR (PS3.5 7.5)
        group, element, length = _ITEM_HEADER.unpack_from(view, pos)
        return group << 16 | element, None, length, pos + 8
    if vr in _SHORT_VRS:
        return group << 16 | element, vr, length, pos + 8
    if vr in _LONG_VRS and pos + 12 <= len(view):
        return group << 16 | element, vr, _U32.unpack_from(view, pos + 8)[0], pos + 12
    raise _Irregular


def _items_end(view: memoryview, pos: int, implicit: bool, depth: int) -> tuple[int, int]:
    """Where the items of an undefined-length value end: (its Sequence Delimitation Item, after it)."""
    if depth > _MAX_DEPTH:
        raise _Irregular
    while pos + 8 <= len(view):
        group, element, length = _ITEM_HEADER.unpack_from(view, pos)
        tag = group << 16 | element
        if tag == _SEQUENCE_END:
            return pos, pos + 8
        if tag != _ITEM:
            raise _Irregular
        pos += 8
        if length == _UNDEFINED:
            pos = _walk(view, pos, implicit, depth + 1, None)
        else:
            pos += length
    raise _Irregular


def _walk(view: memoryview, pos: int, implicit: bool, depth: int, keep: dict[BaseTag, Any] | None,
          views: bool = False) -> int:
    """Walk elements from ``pos``: the top level when ``keep`` is given (needed elements go
    into it; defined-length pixel data as a view of ``view`` if ``views``), else an
    undefined-length item's, up to its Item Delimitation Item."""
    end = len(view)
    while pos < end:
        tag, vr, length, start = _header(view, pos, implicit)
        if tag == _ITEM_END and keep is None:
            return start
        if tag >> 16 == 0xFFFE:
            raise _Irregular
        if length == _UNDEFINED:
            if vr == b"UN":  # PS3.5 6.2.2: implicit VR inside, left to pydicom
                raise _Irregular
            stop, pos = _items_end(view, start, implicit, depth)
            value: Any = bytes(view[start:stop])
        else:
            pos = start + length
            if pos > end:
                raise _Irregular
            value = None
        if keep is not None and tag in NEEDED:
            if value is None:
                value = view[start:pos] if views and tag in _PIXEL_TAGS else bytes(view[start:pos])
            key = BaseTag(tag)
            keep[key] = RawDataElement(key, None if vr is None else vr.decode(), length, value, start, implicit, True)
    if keep is None:
        raise _Irregular
    return pos


def _looks_implicit(view: memoryview, pos: int) -> bool:
    """pydicom's test of the first element: no upper-case letters where an explicit VR would be."""
    return not (0x40 < view[pos + 4] < 0x5B and 0x40 < view[pos + 5] < 0x5B)


def _transfer_syntax(meta: dict[BaseTag, Any]) -> tuple[bool, bool] | None:
    """(implicit VR, encapsulated pixel data) of the transfer syntax, if the walker reads it."""
    raw = meta.get(BaseTag(0x00020010))
    if raw is None:
        return None
    uid = UID(bytes(raw.value).decode("ascii", "replace").strip("\0 "))
    if uid == ImplicitVRLittleEndian:
        return True, False
    if uid == _DEFLATED_IMAGE_FRAME:
        return False, True
    if uid.is_transfer_syntax and uid.is_little_endian and not uid.is_implicit_VR and not uid.is_deflated:
        return False, uid.is_encapsulated
    return None


def _walked(view: memoryview) -> Dataset | None:
    """The needed elements of a well-formed file, or None if it is left to pydicom."""
    if len(view) < 140 or bytes(view[128:132]) != b"DICM":
        return None
    meta: dict[BaseTag, Any] = {}
    pos = 132
    while pos + 8 <= len(view) and _U16.unpack_from(view, pos)[0] == 0x0002:
        tag, vr, length, start = _header(view, pos, False)
        if vr is None or length == _UNDEFINED or start + length > len(view):
            return None
        pos = start + length
        meta[BaseTag(tag)] = RawDataElement(BaseTag(tag), vr.decode(), length, bytes(view[start:pos]), start,
                                            False, True)
    found = _transfer_syntax(meta)
    if found is None or pos + 8 > len(view) or _looks_implicit(view, pos) != found[0]:
        return None
    implicit, encapsulated = found
    keep: dict[BaseTag, Any] = {}
    _walk(view, pos, implicit, 0, keep, views=not encapsulated)
    ds = Dataset(keep)
    ds.file_meta = FileMetaDataset(meta)
    encoding: Any = default_encoding
    charset = keep.get(BaseTag(0x00080005))
    if charset is not None:
        try:
            encoding = convert_encodings(convert_raw_data_element(charset).value)
        except Exception as exc:  # noqa: BLE001 - pydicom's value conversion raises many types
            raise Malformed(f"{label('SpecificCharacterSet')} cannot be read: {reason(exc)}") from exc
    ds.set_original_encoding(implicit, True, encoding)
    return ds


def _dcmread(data: bytes | memoryview) -> Dataset:
    """pydicom's own reader, with or without preamble and File Meta Information; :class:`Unsupported` when
    it cannot parse the file."""
    buffer = io.BytesIO(data if isinstance(data, bytes) else bytes(data))
    try:
        try:
            return pydicom.dcmread(buffer)
        except InvalidDicomError:
            buffer.seek(0)
            return pydicom.dcmread(buffer, force=True)
    except Exception as exc:  # noqa: BLE001 - pydicom's parser raises many types for a broken file
        raise Unsupported(f"Unreadable DICOM file: {reason(exc)}") from exc


def _with_pydicom(data: bytes | memoryview) -> Dataset:
    """:func:`_dcmread`, and the transfer syntax it detected recorded in the File Meta Information."""
    ds = _dcmread(data)
    if "TransferSyntaxUID" not in ds.file_meta:
        # Record the syntax pydicom detected while reading.
        implicit, little = ds.original_encoding
        if implicit is not None and little is not None:
            ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else (
                ExplicitVRLittleEndian if little else ExplicitVRBigEndian)
    return ds


def _converted(ds: Dataset, tag: int) -> Any:
    """The value of element ``tag``, converted by pydicom now: :class:`Malformed` naming it when that fails."""
    try:
        return ds[tag].value
    except Exception as exc:  # noqa: BLE001 - pydicom's value conversion (and sequence reading) raises many types
        raise Malformed(f"{label(tag)} cannot be read: {reason(exc)}") from exc


def _convert(ds: Dataset, tags: Iterable[int], depth: int = 0) -> None:
    """Convert the needed elements present, in sequence items too."""
    for tag in tags:
        value = _converted(ds, tag)
        if isinstance(value, Sequence) and depth < _MAX_DEPTH:
            for item in value:
                _convert(item, NEEDED.intersection(item.keys()), depth + 1)


def read_dataset(data: bytes | memoryview) -> Dataset:
    """The needed elements of a DICOM file in memory (with or without preamble and meta).

    A file that cannot be parsed raises :class:`Unsupported`.  Pixel data may
    be a read-only view of ``data``: the dataset is valid while ``data`` is.
    When the File Meta Information lacks (0002,0010) Transfer Syntax UID,
    the syntax pydicom detected while reading is recorded there.
    """
    view = memoryview(data).toreadonly()
    with warn.recorded() as caught:
        try:
            ds = _walked(view)  # walked: at least one element
        except _Irregular:
            ds = None
        elements = 1
        if ds is None:
            ds = _with_pydicom(data)
            elements = len(ds)
        _convert(ds, NEEDED.intersection(ds.keys()))
        _convert(ds.file_meta, _SYNTAX.intersection(ds.file_meta.keys()))
    truncated = [message for message in caught if "End of file" in message]
    if elements == 0 or (truncated and not any(tag in ds for tag in _PIXEL_TAGS)):
        why = truncated[0] if truncated else "no data element could be parsed"
        raise Unsupported(f"Unreadable or truncated DICOM file: {why}")
    return ds


def read_full(data: bytes | memoryview) -> Dataset:
    """Every element of a DICOM file, through pydicom's reader: for reports, documents and
    presentation states, whose content the pixel pipeline never reads.  Unreadable: :class:`Unsupported`."""
    with warn.recorded():
        ds = _with_pydicom(data)
        _convert_all(ds)
        _convert(ds.file_meta, _SYNTAX.intersection(ds.file_meta.keys()))
        return ds


def _convert_all(ds: Dataset, depth: int = 0) -> None:
    """Convert every element now, nested ones too: pydicom reads sequences and converts values only
    when they are first used, so a malformed element deep in the file (an unknown VR, a sequence
    that ends early) would otherwise fail later, anywhere in a format module, instead of here."""
    if depth > MAX_NESTING:
        raise Malformed(f"the file nests sequences deeper than {MAX_NESTING} levels")
    for tag in list(ds.keys()):
        value = _converted(ds, tag)
        if isinstance(value, Sequence):
            for item in value:
                _convert_all(item, depth + 1)


def release(ds: Dataset) -> None:
    """Drop the pixel data of ``ds``, which may be a view of a buffer about to be freed."""
    for tag in _PIXEL_TAGS:
        if tag in ds:
            value = ds[tag].value
            del ds[tag]
            if isinstance(value, memoryview):
                value.release()
