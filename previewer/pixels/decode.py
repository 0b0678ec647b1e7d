"""Decoding exactly one frame to stored values (datasets are read by :mod:`.reader`).

Decoding is delegated to pydicom 3's pixel decoders (which decode only
the fragments of the requested frame) with two local fallbacks pydicom
3.0 lacks: RLE Lossless with Bits Allocated 1 and Deflated Image Frame
Compression.  Colour frames are returned as RGB (PS3.3 C.7.6.3.1.2).
"""

from __future__ import annotations

import zlib
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray
from pydicom.dataset import Dataset
from pydicom.encaps import get_frame
from pydicom.pixels.decoders.base import get_decoder
from pydicom.pixels.utils import as_pixel_options
from pydicom.uid import UID, RLELossless

from . import warn
from .color import ybr_to_rgb
from .elements import data, integer, label, reason, required_data, required_integer, single_string, string
from .errors import FrameNotFound, Malformed, TooLarge, Unsupported
from .video import VIDEO_TRANSFER_SYNTAXES

#: PS3.5 A.4.13 Deflated Image Frame Compression (not in pydicom 3.0).
DEFLATED_IMAGE_FRAME = UID("1.2.840.10008.1.2.8.1")

#: Pixel data elements, PS3.3 C.7.6.3 / C.7.6.24.
PIXEL_KEYWORDS: tuple[str, ...] = (
    "PixelData",
    "FloatPixelData",
    "DoubleFloatPixelData",
)

_YBR_TO_CONVERT = ("YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT")


def frame_count(ds: Dataset) -> int:
    """Value of (0028,0008) Number of Frames (PS3.3 C.7.6.6), 1 when absent."""
    with warn.silenced():  # invalid IS values are reported below
        count = integer(ds, "NumberOfFrames", 1, low=1)
    assert count is not None
    return count


def _pixel_keyword(ds: Dataset) -> str:
    """The pixel data element present (PS3.3 C.7.6.3, C.7.6.24); one that is empty or not bytes is Malformed."""
    for keyword in PIXEL_KEYWORDS:
        if keyword in ds:
            if not data(ds, keyword):   # pydicom reads an empty OB or OW as None
                raise Malformed(f"{label(keyword)} is empty")
            return keyword
    raise Unsupported("No (7FE0,0010) Pixel Data, Float or Double Float Pixel Data")


def _size(ds: Dataset) -> tuple[int, int]:
    """(0028,0010) Rows and (0028,0011) Columns: US, PS3.3 C.7.6.3."""
    return (required_integer(ds, "Rows", low=0, high=65535),
            required_integer(ds, "Columns", low=0, high=65535))


def check_size(ds: Dataset, max_megapixels: float | None) -> None:
    """Raise :class:`TooLarge` when Rows*Columns*Samples exceeds the limit."""
    rows, cols = _size(ds)
    samples = integer(ds, "SamplesPerPixel", 1, low=0, high=65535) or 1
    if max_megapixels is not None and rows * cols * samples > max_megapixels * 1e6:
        raise TooLarge(
            f"Frame of {rows}x{cols}x{samples} samples exceeds the limit "
            f"of {max_megapixels} megapixels"
        )


#: ITU T.81 B.1.1.3 start-of-frame markers (not DHT C4, JPG C8, DAC CC),
#: and JPEG-LS SOF55 (ITU T.87 C.2.2).
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC} | {0xF7}
#: Markers without a length field (ITU T.81 B.1.1.3): TEM, RSTn, SOI.
_STANDALONE = frozenset(range(0xD0, 0xD9)) | {0x01}


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(rows, columns) of a JPEG / JPEG-LS frame header (ITU T.81 B.2.2)."""
    pos = 2
    while pos + 9 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
        elif marker in _STANDALONE:
            pos += 2
        elif marker in _SOF_MARKERS:
            rows = int.from_bytes(data[pos + 5 : pos + 7], "big")
            cols = int.from_bytes(data[pos + 7 : pos + 9], "big")
            return rows, cols
        else:
            pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    return None


def _j2k_size(data: bytes) -> tuple[int, int] | None:
    """(rows, columns) of a JPEG 2000 SIZ marker segment (ISO 15444-1 A.5.1)."""
    at = data.find(b"\xff\x4f\xff\x51", 0, 4096)
    if at < 0 or at + 26 > len(data):
        return None
    x, y, x0, y0 = (
        int.from_bytes(data[at + 8 + 4 * i : at + 12 + 4 * i], "big") for i in range(4)
    )
    return max(0, y - y0), max(0, x - x0)


def codestream_size(frame: bytes) -> tuple[int, int] | None:
    """(rows, columns) that a compressed frame's own header claims, if known.

    Decoders size their output from this header, not from (0028,0010) Rows
    and (0028,0011) Columns, so it is checked before decoding.
    """
    if frame[:2] == b"\xff\xd8":
        return _jpeg_size(frame)
    return _j2k_size(frame[:4096])


def check_codestream(
    ds: Dataset, index: int, max_megapixels: float | None, tsyntax: UID
) -> None:
    """Refuse a frame whose codestream claims more pixels than the dataset.

    A codestream whose header claims more pixels than Rows x Columns (a
    corrupt header, or a decompression bomb) raises :class:`Unsupported`;
    one within Rows x Columns but above the limit raises :class:`TooLarge`.
    """
    count = frame_count(ds)
    pixels = required_data(ds, "PixelData")
    try:
        frame = get_frame(cast(bytes, pixels), index, number_of_frames=count)
    except Exception:  # noqa: BLE001 - pydicom's encapsulation parser: a broken one is the decoder's 415
        return
    claimed = codestream_size(frame[:65536])
    if claimed is None:
        return
    rows, cols = _size(ds)
    area = claimed[0] * claimed[1]
    # A codestream of another size than Rows x Columns is corrupt whatever its size (415):
    # decoders fill an array of Rows x Columns with it (PS3.5 8.2); the limit applies to what remains (413).
    if claimed != (rows, cols):
        raise Malformed(
            f"The codestream of frame {index} claims {claimed[0]}x{claimed[1]} pixels "
            f"but (0028,0010)/(0028,0011) give {rows}x{cols} ({tsyntax.name})"
        )
    if max_megapixels is not None and area > max_megapixels * 1e6:
        raise TooLarge(
            f"The codestream of frame {index} claims {claimed[0]}x{claimed[1]} pixels, "
            f"above the limit of {max_megapixels} megapixels ({tsyntax.name})"
        )


def transfer_syntax(ds: Dataset) -> UID:
    """(0002,0010) Transfer Syntax UID of the File Meta Information (PS3.10 7.1)."""
    meta = getattr(ds, "file_meta", None)
    uid = single_string(meta, "TransferSyntaxUID") if meta is not None else ""
    if not uid:
        raise Unsupported(f"Missing {label('TransferSyntaxUID')}")
    return UID(uid)


def _unpack_native(buf: bytes, ds: Dataset) -> NDArray[Any]:
    """Unpack one natively encoded little-endian frame (1 sample)."""
    rows, cols = _size(ds)
    bits = required_integer(ds, "BitsAllocated")
    if bits == 1:
        flat = np.unpackbits(np.frombuffer(buf, np.uint8), bitorder="little")
        if flat.size < rows * cols:
            raise Unsupported("Pixel data of the frame is shorter than Rows x Columns")
        return flat[: rows * cols].reshape(rows, cols)
    if bits not in (8, 16, 32) or integer(ds, "SamplesPerPixel", 1) != 1:
        raise Unsupported(f"Unsupported (0028,0100) Bits Allocated value {bits} here")
    signed = integer(ds, "PixelRepresentation", 0) == 1
    dtype = np.dtype(f"<{'i' if signed else 'u'}{bits // 8}")
    need = rows * cols * dtype.itemsize
    if len(buf) < need:
        raise Unsupported("Pixel data of the frame is shorter than Rows x Columns")
    return (
        np.frombuffer(buf, dtype, rows * cols)
        .reshape(rows, cols)
        .astype(dtype.newbyteorder("="))
    )


def _packbits(segment: bytes) -> bytes:
    """Decode one PackBits RLE segment, PS3.5 G.3.2."""
    out = bytearray()
    pos, end = 0, len(segment)
    while pos < end:
        header = segment[pos]
        pos += 1
        if header < 128:
            out += segment[pos : pos + header + 1]
            pos += header + 1
        elif header > 128:
            out += segment[pos : pos + 1] * (257 - header)
            pos += 1
    return bytes(out)


def _encapsulated_frame(ds: Dataset, index: int) -> bytes:
    """The bytes of frame ``index`` of encapsulated Pixel Data (PS3.5 A.4)."""
    count = frame_count(ds)
    pixels = required_data(ds, "PixelData")
    try:
        return bytes(get_frame(cast(bytes, pixels), index, number_of_frames=count))
    except Exception as exc:  # noqa: BLE001 - pydicom's encapsulation parser raises many types
        raise Malformed(f"{label('PixelData')}: frame {index} cannot be read from the encapsulated "
                        f"fragments: {reason(exc)}") from exc


def _rle_1bit_frame(ds: Dataset, index: int) -> NDArray[Any]:
    """RLE Lossless frame with Bits Allocated 1: one segment of packed bits (PS3.5 G.5)."""
    frame = _encapsulated_frame(ds, index)
    if len(frame) < 64:
        raise Malformed(f"{label('PixelData')}: the RLE header of frame {index} is {len(frame)} bytes, not 64")
    n_segments = int(np.frombuffer(frame, "<u4", 1)[0])
    if n_segments != 1:
        raise Unsupported(f"RLE frame with 1 bit allocated has {n_segments} segments")
    start = int(np.frombuffer(frame, "<u4", 1, 4)[0])
    return _unpack_native(_packbits(frame[start:]), ds)


def _deflated_frame(ds: Dataset, index: int) -> NDArray[Any]:
    """PS3.5 A.4.13: each frame is a raw deflate stream of native pixels."""
    frame = _encapsulated_frame(ds, index)
    try:
        buf = zlib.decompressobj(-zlib.MAX_WBITS).decompress(frame)
    except zlib.error as exc:
        raise Unsupported(f"Corrupt deflated frame {index}: {exc}") from exc
    return _unpack_native(buf, ds)


_GREY_OR_INDICES = ("MONOCHROME1", "MONOCHROME2", "PALETTE COLOR")


def _native_frame(ds: Dataset, index: int, tsyntax: UID) -> NDArray[Any] | None:
    """One frame of native single-sample pixel data, as pydicom decodes it; None if not that case.

    PS3.5 8.1.1 / A.1: little endian, Bits Allocated 8, 16 or 32, one sample
    per pixel, frames one after the other.  The frame's bytes are copied and
    the bits above Bits Stored cleared (or, signed, the sign extended), as
    pydicom does.  Anything else, and any value pydicom would refuse (a
    missing attribute, a value out of range, too little data), is left to
    pydicom's decoder and its error.
    """
    if not (tsyntax.is_transfer_syntax and tsyntax.is_little_endian and not tsyntax.is_compressed):
        return None
    values = [ds.get(k) for k in ("Rows", "Columns", "SamplesPerPixel", "BitsAllocated", "BitsStored",
                                  "PixelRepresentation")]
    if not all(type(v) is int for v in values):
        return None
    rows, cols, samples, allocated, stored, signed = values
    if (samples != 1 or allocated not in (8, 16, 32) or not 1 <= stored <= allocated or signed not in (0, 1)
            or not (0 < rows < 65536 and 0 < cols < 65536)
            or ds.get("PhotometricInterpretation") not in _GREY_OR_INDICES):
        return None
    pixels = data(ds, "PixelData")
    dtype = np.dtype(f"<{'ui'[signed]}{allocated // 8}")
    size = rows * cols * dtype.itemsize
    if pixels is None or len(pixels) < size * frame_count(ds):
        return None
    arr = np.frombuffer(pixels, dtype, rows * cols, index * size).reshape(rows, cols).copy()
    if stored < allocated:
        # PS3.5 8.1.1: the bits above Bits Stored have no defined value.
        shift = allocated - stored
        np.left_shift(arr, shift, out=arr)
        np.right_shift(arr, shift, out=arr)
    return arr


def _decode_with_pydicom(ds: Dataset, index: int, tsyntax: UID) -> NDArray[Any]:
    try:
        decoder = get_decoder(tsyntax)
    except NotImplementedError:
        raise Unsupported(
            f"Unsupported (0002,0010) Transfer Syntax UID {tsyntax} ({tsyntax.name})"
        ) from None
    if not decoder.is_available:
        raise Unsupported(
            f"No decoder installed for (0002,0010) Transfer Syntax UID "
            f"{tsyntax} ({tsyntax.name})"
        )
    try:
        with warn.silenced():
            options = as_pixel_options(ds)
            arr, meta = decoder.as_array(ds, index=index, validate=True, raw=True, **options)
    except BaseException as exc:  # noqa: BLE001 - pydicom's decoders and their plugins raise assorted types
        if not isinstance(exc, Exception) and not _is_panic(exc):
            raise   # KeyboardInterrupt, SystemExit, GeneratorExit
        raise Unsupported(
            f"Cannot decode frame {index} with (0002,0010) Transfer Syntax UID "
            f"{tsyntax} ({tsyntax.name}): {reason(exc)}"
        ) from exc
    photometric = str(meta.get("photometric_interpretation", ""))
    if arr.ndim == 3 and photometric in _YBR_TO_CONVERT:
        # PS3.3 C.7.6.3.1.2: YBR_* colour is shown as RGB.
        arr = ybr_to_rgb(arr, photometric, _bits_stored(ds))
    return arr


def _is_panic(error: BaseException) -> bool:
    """A Rust decoder's panic (pylibjpeg-rle's pyo3 ``PanicException``), which derives from BaseException."""
    return type(error).__name__ == "PanicException"


def _bits_stored(ds: Dataset) -> int:
    """(0028,0101) Bits Stored, else (0028,0100) Bits Allocated (PS3.3 C.7.6.3)."""
    allocated = required_integer(ds, "BitsAllocated", low=1, high=64)
    stored = integer(ds, "BitsStored", allocated, low=1, high=64)
    assert stored is not None
    return stored


def decode_frame(
    ds: Dataset, index: int, *, max_megapixels: float | None = None
) -> NDArray[Any]:
    """Decode frame ``index`` (0-based) to stored values, native byte order.

    Grey: 2-D array; colour: (rows, columns, 3) RGB of uint8/uint16.
    PALETTE COLOR stays as indices.  Sizes are checked before decoding.
    """
    keyword = _pixel_keyword(ds)
    count = frame_count(ds)
    if not 0 <= index < count:
        raise FrameNotFound(
            f"Frame {index} not found: the instance has {count} frame(s)"
        )
    check_size(ds, max_megapixels)
    tsyntax = transfer_syntax(ds)
    if tsyntax in VIDEO_TRANSFER_SYNTAXES:
        # PS3.5 8.2.5-8.2.7: a video bitstream, decoded to RGB (8 bits) by PyAV.
        from .video import decode_frame as decode_video_frame
        return decode_video_frame(ds, index, max_megapixels)
    if not string(ds, "PhotometricInterpretation"):
        raise Malformed(f"{label('PhotometricInterpretation')} is missing")
    bits = required_integer(ds, "BitsAllocated")
    if keyword == "PixelData" and tsyntax == DEFLATED_IMAGE_FRAME:
        arr = _deflated_frame(ds, index)
    elif keyword == "PixelData" and tsyntax == RLELossless and bits == 1:
        arr = _rle_1bit_frame(ds, index)
    else:
        if (keyword == "PixelData" and tsyntax.is_transfer_syntax
                and tsyntax.is_compressed and tsyntax != RLELossless):
            check_codestream(ds, index, max_megapixels, tsyntax)
        native = _native_frame(ds, index, tsyntax) if keyword == "PixelData" else None
        arr = native if native is not None else _decode_with_pydicom(ds, index, tsyntax)
    if arr.ndim == 3 and arr.dtype.itemsize > 2:
        # Colour is delivered as at most 16 bits per sample.
        shift = max(0, _bits_stored(ds) - 16)
        arr = (arr >> shift).astype(np.uint16)
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return _owned(np.ascontiguousarray(arr))


def _owned(arr: NDArray[Any]) -> NDArray[Any]:
    """``arr``, copied if its memory belongs to something else than an array.

    The pixel data may be a view of a buffer that Orthanc frees after the
    request (see :func:`.reader.read_dataset`); a decoded frame outlives it.
    """
    base: Any = arr
    while isinstance(base, np.ndarray) and base.base is not None:
        base = base.base
    return arr if isinstance(base, np.ndarray) else arr.copy()
