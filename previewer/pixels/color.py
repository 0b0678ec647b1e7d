"""Colour: YBR to RGB, palette colour lookup, CIELab to RGB, and scaling to 8 bits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydicom.dataset import Dataset

from .elements import integers, label, string
from .errors import Malformed, Unsupported
from .meta import is_little_endian, lut_data

_CHANNELS = ("Red", "Green", "Blue")
_LUT_TAGS = {
    "Red": ("(0028,1101)", "(0028,1201)", "(0028,1221)"),
    "Green": ("(0028,1102)", "(0028,1202)", "(0028,1222)"),
    "Blue": ("(0028,1103)", "(0028,1203)", "(0028,1223)"),
}


@dataclass(frozen=True, eq=False)
class Palette:
    """Expanded Palette Color LUTs (PS3.3 C.7.6.3.1.5, C.7.6.3.1.6).

    ``lut`` is (entries, 3) holding the red, green and blue entries;
    indices below ``first_mapped`` use entry 0 and above the last entry
    use the last entry.  ``bits`` is the entry bit depth.
    """

    first_mapped: int
    lut: NDArray[Any]
    bits: int


def ybr_to_rgb(arr: NDArray[Any], photometric: str, bits: int) -> NDArray[Any]:
    """Convert YBR_FULL(_422)/YBR_ICT/YBR_RCT samples to RGB.

    PS3.3 C.7.6.3.1.2: YBR_FULL (and YBR_FULL_422 once upsampled) uses
    the ITU-R BT.601 full-range equations with chroma offset 2^(bits-1);
    YBR_ICT uses the same coefficients (JPEG 2000 ICT); YBR_RCT inverts
    the reversible JPEG 2000 transform exactly.  Other values: unchanged.
    """
    if photometric not in ("YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT"):
        return arr
    out = np.empty(arr.shape, arr.dtype)
    # A block of rows at a time: the float64 temporaries of a whole frame
    # took about ten times its size.
    for first in range(0, arr.shape[0], _YBR_ROWS):
        rows = slice(first, first + _YBR_ROWS)
        out[rows] = _ybr_rows_to_rgb(arr[rows], photometric, bits)
    return out


#: Rows converted at a time by :func:`ybr_to_rgb`.
_YBR_ROWS = 64


def _ybr_rows_to_rgb(arr: NDArray[Any], photometric: str, bits: int) -> NDArray[Any]:
    """:func:`ybr_to_rgb` of some rows (PS3.3 C.7.6.3.1.2), rounded and clipped."""
    offset = float(1 << (bits - 1))
    maxval = (1 << bits) - 1
    y = arr[..., 0].astype(np.float64)
    cb = arr[..., 1].astype(np.float64) - offset
    cr = arr[..., 2].astype(np.float64) - offset
    if photometric == "YBR_RCT":
        # PS3.3 C.7.6.3.1.2 YBR_RCT: G = Y - floor((Cb + Cr) / 4).
        g = y - np.floor((cb + cr) / 4)
        rgb = np.stack([cr + g, g, cb + g], axis=-1)
    else:
        # PS3.3 C.7.6.3.1.2 YBR_FULL: inverse of the BT.601 full-range matrix.
        rgb = np.stack(
            [
                y + 1.402 * cr,
                y - 0.344136 * cb - 0.714136 * cr,
                y + 1.772 * cb,
            ],
            axis=-1,
        )
    return np.clip(np.rint(rgb), 0, maxval).astype(arr.dtype)


#: Entries a Segmented Palette Color LUT may expand to: the Descriptor counts at most 2^16 (PS3.3 C.7.6.3.1.5).
MAX_SEGMENTED_ENTRIES = 1 << 16


def expand_segmented(words: NDArray[Any]) -> NDArray[Any]:
    """Expand Segmented Palette Color LUT Data, PS3.3 C.7.9.2.

    Opcode 0 discrete, 1 linear (from the previous last value, rounded),
    2 indirect (copy segments starting at a 32-bit word offset).  A segment
    that runs past the data, or data that expands beyond 2^16 entries, is
    :class:`Malformed`.
    """
    out: list[float] = []
    _expand_into(words.tolist(), 0, len(words), out, depth=0)
    return np.rint(np.asarray(out, np.float64)).astype(np.int64)


def _words(w: list[int], pos: int, count: int, end: int) -> list[int]:
    """``count`` words of a segment from ``pos``; :class:`Malformed` when the data ends first."""
    if count < 0 or pos + count > min(end, len(w)):
        raise Malformed(f"Segmented Palette Color LUT Data: a segment at word {pos} runs past the data")
    return w[pos:pos + count]


def _grow(out: list[float], count: int) -> None:
    if len(out) + count > MAX_SEGMENTED_ENTRIES:
        raise Malformed(f"Segmented Palette Color LUT Data expands beyond {MAX_SEGMENTED_ENTRIES} entries")


def _expand_into(
    w: list[int], pos: int, end: int, out: list[float], depth: int
) -> None:
    if depth > 2:
        raise Unsupported(
            "Nested indirect segments in Segmented Palette Color LUT Data"
        )
    while pos < end:
        opcode, length = _words(w, pos, 2, end)
        if opcode == 0:  # PS3.3 C.7.9.2.1 discrete segment
            _grow(out, length)
            out.extend(_words(w, pos + 2, length, end))
            pos += 2 + length
        elif opcode == 1:  # PS3.3 C.7.9.2.2 linear segment
            if not out:
                raise Unsupported("Segmented LUT starts with a linear segment")
            _grow(out, length)
            y0, y1 = out[-1], _words(w, pos + 2, 1, end)[0]
            out.extend(y0 + (y1 - y0) * (i + 1) / length for i in range(length))
            pos += 3
        elif opcode == 2:  # PS3.3 C.7.9.2.3 indirect segment
            low, high = _words(w, pos + 2, 2, end)
            _expand_count(w, low | (high << 16), length, out, depth + 1)
            pos += 4
        else:
            raise Unsupported(f"Unknown Segmented Palette Color LUT opcode {opcode}")


def _expand_count(
    w: list[int], pos: int, count: int, out: list[float], depth: int
) -> None:
    for _ in range(count):
        start = pos
        opcode, length = _words(w, pos, 2, len(w))
        pos += {0: 2 + length, 1: 3, 2: 4}.get(opcode, 2)
        _expand_into(w, start, pos, out, depth)


def palette_from_dataset(ds: Dataset) -> Palette | None:
    """Read the Palette Color LUTs of a PALETTE COLOR image, PS3.3 C.7.9."""
    if string(ds, "PhotometricInterpretation") != "PALETTE COLOR":
        return None
    channels: list[NDArray[Any]] = []
    first = 0
    bits = 16
    little = is_little_endian(ds)
    for name in _CHANNELS:
        desc_tag, data_tag, seg_tag = _LUT_TAGS[name]
        keyword = f"{name}PaletteColorLookupTableDescriptor"
        desc = integers(ds, keyword, 3, low=-(1 << 15), high=(1 << 16) - 1)
        if desc is None:
            raise Malformed(f"{label(keyword)} is missing")
        # PS3.3 C.7.6.3.1.5: 0 entries means 2^16.
        entries = desc[0] or 65536
        first, bits = desc[1], desc[2]
        if not 1 <= bits <= 16:
            # PS3.3 C.7.6.3.1.5: palette entries have 8 or 16 bits.
            raise Malformed(f"Invalid {desc_tag} {name} Palette Color LUT bits value {bits}")
        segmented = f"Segmented{name}PaletteColorLookupTableData"
        plain = f"{name}PaletteColorLookupTableData"
        if segmented in ds:
            # PS3.3 C.7.9.2: segmented data is always 16-bit words.
            data = expand_segmented(lut_data(ds, segmented, None, 16, little))
        elif plain in ds:
            data = lut_data(ds, plain, entries, bits, little)
        else:
            raise Unsupported(
                f"Missing {data_tag} / {seg_tag} {name} Palette Color LUT Data"
            )
        if data.size == 0:
            raise Malformed(f"{label(segmented if segmented in ds else plain)} is empty")
        if bits <= 8:
            data = data & 0xFF
        channels.append(data[:entries])
    size = min(len(c) for c in channels)
    lut = np.stack([c[:size] for c in channels], axis=-1)
    dtype = np.uint8 if bits <= 8 else np.uint16
    return Palette(first, np.ascontiguousarray(lut.astype(dtype)), bits)


def apply_palette(arr: NDArray[Any], palette: Palette | None) -> NDArray[Any]:
    """Map palette indices to (rows, cols, 3) RGB LUT values, PS3.3 C.7.6.3.1.5.

    Indices outside the LUT clamp to its first/last entry.  Returns ``arr``
    unchanged when there is no palette.
    """
    if palette is None:
        return arr
    last = palette.lut.shape[0] - 1
    index = np.clip(arr.astype(np.int64) - palette.first_mapped, 0, last)
    return np.ascontiguousarray(palette.lut[index])


def to_8bit(arr: NDArray[Any], bits: int) -> NDArray[Any]:
    """Scale colour samples of ``bits`` bits to 0..255 (rounded).

    Returns ``arr`` unchanged when it already is 8-bit.
    """
    if arr.dtype == np.uint8 and bits <= 8:
        return arr
    maxval = (1 << bits) - 1
    scaled = (np.minimum(arr.astype(np.uint64), maxval) * 255 + maxval // 2) // maxval
    return np.ascontiguousarray(scaled.astype(np.uint8))


def lab_to_rgb(dicom_lab: tuple[int, int, int]) -> tuple[int, int, int]:
    """sRGB of a DICOM-encoded CIELab value (PS3.3 C.10.7.1.1), D65 white."""
    lab = [float(v) / 65535.0 for v in dicom_lab]
    big_l, a, b = lab[0] * 100.0, lab[1] * 255.0 - 128.0, lab[2] * 255.0 - 128.0
    fy = (big_l + 16.0) / 116.0
    fx, fz = fy + a / 500.0, fy - b / 200.0

    def inverse(t: float) -> float:
        return t ** 3 if t > 6.0 / 29.0 else 3.0 * (6.0 / 29.0) ** 2 * (t - 4.0 / 29.0)

    x, y, z = 0.95047 * inverse(fx), inverse(fy), 1.08883 * inverse(fz)
    linear = (3.2406 * x - 1.5372 * y - 0.4986 * z,
              -0.9689 * x + 1.8758 * y + 0.0415 * z,
              0.0557 * x - 0.2040 * y + 1.0570 * z)

    def gamma(c: float) -> int:
        c = min(1.0, max(0.0, c))
        v = 12.92 * c if c <= 0.0031308 else 1.055 * c ** (1 / 2.4) - 0.055
        return int(round(v * 255.0))

    return gamma(linear[0]), gamma(linear[1]), gamma(linear[2])
