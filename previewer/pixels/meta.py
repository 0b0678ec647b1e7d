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
from pydicom.multival import MultiValue

from .errors import Unsupported


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
    value = item[keyword].value
    if value is None:
        return np.zeros(0, np.int64)
    if isinstance(value, bytes | bytearray):
        if bits <= 8 and count is not None and len(value) == count:
            return np.frombuffer(value, np.uint8).astype(np.int64)
        usable = len(value) - len(value) % 2
        return np.frombuffer(value[:usable], "<u2" if little else ">u2").astype(
            np.int64
        )
    if isinstance(value, int):
        return np.array([value], np.int64)
    return np.asarray(list(value), np.int64)


def text(value: Any) -> str:
    """A dataset value as one line of text ('' when absent): bytes as Latin-1, multi-values joined with backslashes."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("latin-1", "replace")
    if isinstance(value, (list, tuple, MultiValue)):
        return "\\".join(text(v) for v in value)
    return str(value)


def is_little_endian(ds: Dataset) -> bool:
    """Byte order the dataset was read with (little when unknown)."""
    return ds.original_encoding[1] is not False


def _as_list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, MultiValue | list | tuple):
        return list(value)
    return [value]


def _groups(ds: Dataset, index: int) -> list[Dataset]:
    """Per-frame item of ``index``, shared item, then the dataset itself."""
    found: list[Dataset] = []
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if per_frame is not None and index < len(per_frame):
        found.append(per_frame[index])
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared:
        found.append(shared[0])
    return found


def _first_item(ds: Dataset, index: int, sequence: str) -> Dataset | None:
    for group in _groups(ds, index):
        seq = group.get(sequence)
        if seq:
            item: Dataset = seq[0]
            return item
    return None


def rescale_for_frame(ds: Dataset, index: int) -> Rescale:
    """Rescale for frame ``index``, PS3.3 C.11.1.1.2 / C.7.6.16.2.9."""
    source = _first_item(ds, index, "PixelValueTransformationSequence") or ds
    slope = _as_list(source.get("RescaleSlope"))
    intercept = _as_list(source.get("RescaleIntercept"))
    try:
        return Rescale(
            float(slope[0]) if slope else 1.0,
            float(intercept[0]) if intercept else 0.0,
            str(source.get("RescaleType", "") or ""),
        )
    except (TypeError, ValueError):
        raise Unsupported(
            f"Invalid (0028,1053)/(0028,1052) Rescale Slope/Intercept {slope!r}/{intercept!r}"
        ) from None


def _lut(item: Dataset, signed: bool, little: bool, explanation_key: str) -> Lut:
    desc = _as_list(item.get("LUTDescriptor"))
    if len(desc) != 3 or "LUTData" not in item:
        raise Unsupported(
            f"Invalid (0028,3002) LUT Descriptor {desc!r} or missing (0028,3006) LUT Data"
        )
    # PS3.3 C.11.1.1.1: 0 entries means 2^16; first value US or SS.
    entries = int(desc[0]) or 65536
    first, bits = int(desc[1]), int(desc[2])
    if not 1 <= bits <= 16:
        # PS3.3 C.11.1.1.1 / C.11.2.1.1: LUT entries have 8 to 16 bits.
        raise Unsupported(f"Invalid (0028,3002) LUT Descriptor bits value {bits}")
    if signed and first >= 32768:
        first -= 65536
    data = lut_data(item, "LUTData", entries, bits, little)[:entries]
    if data.size == 0:
        raise Unsupported("Empty (0028,3006) LUT Data")
    return Lut(
        first,
        np.ascontiguousarray(data),
        bits,
        str(item.get(explanation_key, "") or ""),
    )


def modality_lut(ds: Dataset) -> Lut | None:
    """The Modality LUT Sequence (0028,3000) item, PS3.3 C.11.1."""
    seq = ds.get("ModalityLUTSequence")
    if not seq:
        return None
    signed = int(ds.get("PixelRepresentation", 0) or 0) == 1
    return _lut(seq[0], signed, is_little_endian(ds), "LUTExplanation")


def voi_for_frame(
    ds: Dataset, index: int
) -> tuple[tuple[StoredWindow, ...], tuple[Lut, ...]]:
    """Stored windows and VOI LUTs for a frame, PS3.3 C.11.2 / C.7.6.16.2.10."""
    source = _first_item(ds, index, "FrameVOILUTSequence") or ds
    centers = _as_list(source.get("WindowCenter"))
    widths = _as_list(source.get("WindowWidth"))
    explanations = _as_list(source.get("WindowCenterWidthExplanation"))
    function = str(source.get("VOILUTFunction", "") or "LINEAR").strip().upper()
    windows: list[StoredWindow] = []
    for i, (center, width) in enumerate(zip(centers, widths, strict=False)):
        try:
            c, w = float(center), float(width)
        except (TypeError, ValueError):
            continue  # an unparsable stored window is ignored
        if not (np.isfinite(c) and np.isfinite(w)) or w <= 0:
            continue  # PS3.3 C.11.2.1.3: width > 0
        if function == "LINEAR" and w < 1:
            continue  # PS3.3 C.11.2.1.2.1: width >= 1 for LINEAR
        text = str(explanations[i]) if i < len(explanations) else ""
        windows.append(StoredWindow(c, w, function, text))
    luts: list[Lut] = []
    seq = source.get("VOILUTSequence") or ds.get("VOILUTSequence") or []
    signed = int(ds.get("PixelRepresentation", 0) or 0) == 1
    for item in seq:
        luts.append(_lut(item, signed, is_little_endian(ds), "LUTExplanation"))
    return tuple(windows), tuple(luts)


def padding(ds: Dataset) -> tuple[int, int] | None:
    """Inclusive stored-value range of padding, PS3.3 C.7.5.1.1.2."""
    value = ds.get("PixelPaddingValue")
    if value is None or value == b"" or value == "":
        return None
    limit = ds.get("PixelPaddingRangeLimit", value)
    bits = int(ds.get("BitsAllocated", 16) or 16)
    signed = int(ds.get("PixelRepresentation", 0) or 0) == 1

    def _int(v: Any) -> int:
        if isinstance(v, bytes | bytearray):
            v = int.from_bytes(v[:2], "little" if is_little_endian(ds) else "big")
        n = int(v)
        # US/SS ambiguity: the VR follows Pixel Representation.
        if signed and n >= 1 << (min(bits, 16) - 1):
            n -= 1 << min(bits, 16)
        return n

    a, b = _int(value), _int(limit)
    return (min(a, b), max(a, b))


def presentation_inverse(ds: Dataset) -> bool:
    """True when MONOCHROME1 or (2050,0020) is INVERSE, PS3.3 C.11.6.1 / C.7.6.3.1.2."""
    shape = str(ds.get("PresentationLUTShape", "") or "").strip().upper()
    return ds.get("PhotometricInterpretation") == "MONOCHROME1" or shape == "INVERSE"
