"""Per-frame rendering metadata read from a Dataset into plain values.

Enhanced multi-frame objects keep rescale and windows in functional
groups: the Per-Frame Functional Groups item of the frame is searched
first, then the Shared Functional Groups, then the top-level dataset
(PS3.3 C.7.6.16.1, C.7.6.16.2.9, C.7.6.16.2.10).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydicom.dataset import Dataset

from .elements import (
    absent,
    code_string,
    each,
    finite_of,
    first,
    integer,
    integers,
    label,
    numbers,
    sequence,
    string,
    strings,
    text,
    value,
)
from .errors import Malformed

__all__ = ["Lut", "Rescale", "StoredWindow", "is_little_endian", "lut_data", "modality_lut", "padding",
           "presentation_inverse", "rescale_for_frame", "text", "voi_for_frame"]


@dataclass(frozen=True)
class StoredWindow:
    """A stored window, PS3.3 C.11.2.1.2; ``function`` is (0028,1056) as stored."""

    center: float
    width: float
    function: str
    explanation: str


@dataclass(frozen=True, eq=False)
class Lut:
    """A Modality or VOI LUT, PS3.3 C.11.1.1.1 / C.11.2.1.1."""

    first_mapped: int
    data: NDArray[Any]
    bits: int
    explanation: str


@dataclass(frozen=True)
class Rescale:
    """Rescale Slope/Intercept/Type, PS3.3 C.11.1.1.2."""

    slope: float = 1.0
    intercept: float = 0.0
    type: str = ""


def lut_data(
    item: Dataset, keyword: str, count: int | None, bits: int, little: bool
) -> NDArray[Any]:
    """LUT Data as int64: a US value list, or OW bytes in file byte order.

    An empty value (which pydicom reads as None) gives an empty array;
    callers reject it (PS3.3 C.11.1.1.1 requires the data to be present).
    """
    found = value(item, keyword)
    if found is None:
        return np.zeros(0, np.int64)
    if isinstance(found, (bytes, bytearray, memoryview)):
        raw = bytes(found)
        if bits <= 8 and count is not None and len(raw) == count:
            return np.frombuffer(raw, np.uint8).astype(np.int64)
        usable = len(raw) - len(raw) % 2
        return np.frombuffer(raw[:usable], "<u2" if little else ">u2").astype(
            np.int64
        )
    # PS3.3 C.11.1.1.1: US (or SS) entries.
    words = integers(item, keyword, low=-(1 << 15), high=(1 << 16) - 1)
    return np.asarray(words or (), np.int64)


def is_little_endian(ds: Dataset) -> bool:
    """Byte order the dataset was read with (little when unknown)."""
    return ds.original_encoding[1] is not False


def _groups(ds: Dataset, index: int) -> list[Dataset]:
    """Per-frame item of ``index``, shared item, then the dataset itself."""
    found: list[Dataset] = []
    per_frame = sequence(ds, "PerFrameFunctionalGroupsSequence")
    if index < len(per_frame):
        found.append(per_frame[index])
    shared = first(ds, "SharedFunctionalGroupsSequence")
    if shared is not None:
        found.append(shared)
    return found


def _first_item(ds: Dataset, index: int, keyword: str) -> Dataset | None:
    for group in _groups(ds, index):
        item = first(group, keyword)
        if item is not None:
            return item  # type: ignore[no-any-return]
    return None


def rescale_for_frame(ds: Dataset, index: int) -> Rescale:
    """Rescale for frame ``index``, PS3.3 C.11.1.1.2 / C.7.6.16.2.9."""
    source = _first_item(ds, index, "PixelValueTransformationSequence") or ds
    # A NaN or infinite value is kept: the frame shows what the arithmetic gives.
    slope = numbers(source, "RescaleSlope", finite=False)
    intercept = numbers(source, "RescaleIntercept", finite=False)
    return Rescale(slope[0] if slope else 1.0, intercept[0] if intercept else 0.0,
                   string(source, "RescaleType"))


def _lut(item: Dataset, signed: bool, little: bool, explanation_key: str) -> Lut:
    # PS3.3 C.11.1.1.1: entries (US, 0 means 2^16), first value mapped (US or SS), bits.
    desc = integers(item, "LUTDescriptor", 3, low=-(1 << 15), high=(1 << 16) - 1)
    if desc is None:
        raise Malformed(f"{label('LUTDescriptor')} is missing")
    if "LUTData" not in item:
        raise Malformed(f"{label('LUTData')} is missing")
    entries = desc[0] or 65536
    first_mapped, bits = desc[1], desc[2]
    if not 1 <= bits <= 16:
        # PS3.3 C.11.1.1.1 / C.11.2.1.1: LUT entries have 8 to 16 bits.
        raise Malformed(f"{label('LUTDescriptor')} bits value {bits} is not in 1..16")
    if signed and first_mapped >= 32768:
        first_mapped -= 65536
    data = lut_data(item, "LUTData", entries, bits, little)[:entries]
    if data.size == 0:
        raise Malformed(f"{label('LUTData')} is empty")
    return Lut(first_mapped, np.ascontiguousarray(data), bits, string(item, explanation_key))


def _signed(ds: Dataset) -> bool:
    """(0028,0103) Pixel Representation 1: two's complement stored values (PS3.3 C.7.6.3.1)."""
    return integer(ds, "PixelRepresentation", 0) == 1


def modality_lut(ds: Dataset) -> Lut | None:
    """The Modality LUT Sequence (0028,3000) item, PS3.3 C.11.1."""
    item = first(ds, "ModalityLUTSequence")
    if item is None:
        return None
    return _lut(item, _signed(ds), is_little_endian(ds), "LUTExplanation")


def voi_for_frame(
    ds: Dataset, index: int
) -> tuple[tuple[StoredWindow, ...], tuple[Lut, ...]]:
    """Stored windows and VOI LUTs for a frame, PS3.3 C.11.2 / C.7.6.16.2.10."""
    source = _first_item(ds, index, "FrameVOILUTSequence") or ds
    centers = each(source, "WindowCenter")
    widths = each(source, "WindowWidth")
    explanations = strings(source, "WindowCenterWidthExplanation")
    function = string(source, "VOILUTFunction").upper() or "LINEAR"
    windows: list[StoredWindow] = []
    for i, (center, width) in enumerate(zip(centers, widths, strict=False)):
        c, w = finite_of(center), finite_of(width)
        if c is None or w is None:
            continue  # an unparsable or non-finite stored window is ignored
        if w <= 0:
            continue  # PS3.3 C.11.2.1.3: width > 0
        if function == "LINEAR" and w < 1:
            continue  # PS3.3 C.11.2.1.2.1: width >= 1 for LINEAR
        explanation = explanations[i] if i < len(explanations) else ""
        windows.append(StoredWindow(c, w, function, explanation))
    luts: list[Lut] = []
    items = sequence(source, "VOILUTSequence") or sequence(ds, "VOILUTSequence")
    signed = _signed(ds)
    for item in items:
        luts.append(_lut(item, signed, is_little_endian(ds), "LUTExplanation"))
    return tuple(windows), tuple(luts)


def _padding_value(ds: Dataset, keyword: str, bits: int, signed: bool) -> int:
    found = value(ds, keyword)
    if isinstance(found, (bytes, bytearray, memoryview)):
        n = int.from_bytes(bytes(found[:2]), "little" if is_little_endian(ds) else "big")
    else:
        n = integer(ds, keyword, required=True, low=-(1 << 31), high=(1 << 32) - 1) or 0
    # US/SS ambiguity: the VR follows Pixel Representation.
    if signed and n >= 1 << (bits - 1):
        n -= 1 << bits
    return n


def padding(ds: Dataset) -> tuple[int, int] | None:
    """Inclusive stored-value range of padding, PS3.3 C.7.5.1.1.2."""
    if absent(value(ds, "PixelPaddingValue")):
        return None
    bits = min(integer(ds, "BitsAllocated", 16, low=1) or 16, 16)
    signed = _signed(ds)
    a = _padding_value(ds, "PixelPaddingValue", bits, signed)
    limit_keyword = "PixelPaddingValue" if absent(value(ds, "PixelPaddingRangeLimit")) else "PixelPaddingRangeLimit"
    b = _padding_value(ds, limit_keyword, bits, signed)
    return (min(a, b), max(a, b))


def presentation_inverse(ds: Dataset) -> bool:
    """True when MONOCHROME1 or (2050,0020) is INVERSE, PS3.3 C.11.6.1 / C.7.6.3.1.2."""
    return (string(ds, "PhotometricInterpretation") == "MONOCHROME1"
            or code_string(ds, "PresentationLUTShape") == "INVERSE")
