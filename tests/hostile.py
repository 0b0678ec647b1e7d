"""Hostile DICOM files: real corpus files, mutated (tests/test_robustness_dicom.py).

:func:`mutants` returns a deterministic list of :class:`Mutant`, each a whole
DICOM file in memory.  Every mutant gets a fresh SOP Instance UID (derived
from its name), so that Orthanc stores each one instead of answering
"AlreadyStored".  The mutations are these:

- pixel data truncated or too long;
- Rows / Columns / Number of Frames claiming far more than the data;
- Bits Stored > Bits Allocated, odd or zero Bits Allocated;
- zero, negative or non-numeric Window Width;
- LUT descriptors whose length disagrees with the LUT data, empty palettes;
- corrupt JPEG / JPEG 2000 / JPEG-LS / RLE codestreams (flipped, truncated,
  zeroed fragments, bogus RLE headers);
- decompression bombs: DICOM attributes, or the codestream's own header
  (JPEG SOF, JPEG 2000 SIZ), claiming a frame of gigapixels;
- seeded random byte flips anywhere in the file.

Run as a script, it writes the mutants to a folder: ``python tests/hostile.py OUT``.
"""
from __future__ import annotations

import io
import random
import re
import struct
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydicom
from pydicom import config as pydicom_config
from pydicom.data import get_testdata_file
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.encaps import generate_frames
from pydicom.sequence import Sequence
from pydicom.tag import Tag
from pydicom.uid import generate_uid

#: (label, file name in pydicom's test files, kind).
SOURCES: tuple[tuple[str, str, str], ...] = (
    ("ct", "CT_small.dcm", "native"),
    ("mr", "MR_small.dcm", "native"),
    ("rgb", "SC_rgb.dcm", "native"),
    ("rgb2f", "SC_rgb_2frame.dcm", "native"),
    ("palette", "examples_palette.dcm", "native"),
    ("rle", "MR_small_RLE.dcm", "encapsulated"),
    ("rgb_rle", "SC_rgb_rle_2frame.dcm", "encapsulated"),
    ("jpeg", "SC_rgb_jpeg_dcmtk.dcm", "encapsulated"),
    ("j2k", "MR_small_jp2klossless.dcm", "encapsulated"),
    ("jls", "MR_small_jpeg_ls_lossless.dcm", "encapsulated"),
)


@dataclass(frozen=True)
class Mutant:
    name: str          # "<source>/<mutation>"
    data: bytes
    note: str = ""


def source_path(file_name: str) -> Path:
    found = get_testdata_file(file_name)
    if found is None:
        raise FileNotFoundError(file_name)
    return Path(str(found))


def _read(file_name: str) -> Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(source_path(file_name), force=True)


def unchecked_bytes(ds: Dataset, **options: Any) -> bytes:
    """The dataset written as it is, however invalid its values (``save_as`` options passed on)."""
    old = pydicom_config.settings.writing_validation_mode
    pydicom_config.settings.writing_validation_mode = pydicom_config.IGNORE
    try:
        buffer = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds.save_as(buffer, enforce_file_format=False, **options)
        return buffer.getvalue()
    finally:
        pydicom_config.settings.writing_validation_mode = old


def _write(ds: Dataset, name: str) -> bytes:
    """The dataset as a file, with a fresh SOP Instance UID; no value checks."""
    ds.SOPInstanceUID = generate_uid(entropy_srcs=["orthanc-previewer-hostile", name])
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    return unchecked_bytes(ds)


def _even(data: bytes) -> bytes:
    return data if len(data) % 2 == 0 else data + b"\0"


def _frames(ds: Dataset) -> list[bytes]:
    count = int(ds.get("NumberOfFrames", 1) or 1)
    return list(generate_frames(ds.PixelData, number_of_frames=count))


def _item(value: bytes) -> bytes:
    return b"\xfe\xff\x00\xe0" + struct.pack("<I", len(value)) + value


def _set_frames(ds: Dataset, frames: list[bytes]) -> None:
    """Encapsulate one fragment per frame, with a Basic Offset Table (PS3.5 A.4)."""
    items = [_item(_even(frame)) for frame in frames]
    offsets = [sum(len(item) for item in items[:i]) for i in range(len(items))]
    ds.PixelData = _item(struct.pack(f"<{len(offsets)}I", *offsets)) + b"".join(items)


# --- mutations: each edits a dataset in place (a copy of the source) ---------

Mutation = Callable[[Dataset], None]


def _setter(**values: object) -> Mutation:
    def mutate(ds: Dataset) -> None:
        for keyword, value in values.items():
            setattr(ds, keyword, value)
    return mutate


def _raw(**values: str) -> Mutation:
    """Set text values as raw bytes, so that pydicom does not check them."""
    def mutate(ds: Dataset) -> None:
        for keyword, text in values.items():
            tag = Tag(keyword)
            raw = _even(text.encode("ascii")) if len(text) % 2 == 0 else (text + " ").encode("ascii")
            ds[tag] = RawDataElement(tag, dictionary_VR(tag), len(raw), raw, 0, False, True)
    return mutate


def _truncate_pixels(ds: Dataset) -> None:
    ds.PixelData = _even(ds.PixelData[: len(ds.PixelData) // 3])


def _pixels_one_byte_short(ds: Dataset) -> None:
    ds.PixelData = ds.PixelData[:-2]


def _pixels_too_long(ds: Dataset) -> None:
    ds.PixelData = ds.PixelData + bytes(range(256)) * 64


def _pixels_empty(ds: Dataset) -> None:
    ds.PixelData = b""


def _no_pixels(ds: Dataset) -> None:
    del ds.PixelData


def _bits_stored_too_big(ds: Dataset) -> None:
    ds.BitsStored = int(ds.BitsAllocated) + 4
    ds.HighBit = int(ds.BitsStored) - 1


def _high_bit_wild(ds: Dataset) -> None:
    ds.HighBit = 40


def _window(center: object, width: object) -> Mutation:
    def mutate(ds: Dataset) -> None:
        ds.WindowCenter = center
        ds.WindowWidth = width
    return mutate


def _lut_item(descriptor: list[int], data: bytes, *, voi: bool) -> Dataset:
    item = Dataset()
    item.add_new(0x00283002, "US", descriptor)  # LUT Descriptor, explicit VR
    item.LUTExplanation = "hostile"
    if not voi:
        item.ModalityLUTType = "HU"
    item.add_new(0x00283006, "OW", data)  # LUT Data
    return item


def _modality_lut(descriptor: list[int], data: bytes) -> Mutation:
    def mutate(ds: Dataset) -> None:
        for keyword in ("RescaleSlope", "RescaleIntercept"):
            if keyword in ds:
                delattr(ds, keyword)
        ds.ModalityLUTSequence = Sequence([_lut_item(descriptor, data, voi=False)])
    return mutate


def _voi_lut(descriptor: list[int], data: bytes) -> Mutation:
    def mutate(ds: Dataset) -> None:
        for keyword in ("WindowCenter", "WindowWidth"):
            if keyword in ds:
                delattr(ds, keyword)
        ds.VOILUTSequence = Sequence([_lut_item(descriptor, data, voi=True)])
    return mutate


_COLOURS = ("Red", "Green", "Blue")


def _empty_palette(ds: Dataset) -> None:
    for colour in _COLOURS:
        ds.add_new(Tag(f"{colour}PaletteColorLookupTableData"), "OW", b"")


def _palette_descriptor(descriptor: list[int]) -> Mutation:
    def mutate(ds: Dataset) -> None:
        for colour in _COLOURS:
            ds.add_new(Tag(f"{colour}PaletteColorLookupTableDescriptor"), "US", descriptor)
    return mutate


def _palette_without_tables(ds: Dataset) -> None:
    ds.PhotometricInterpretation = "PALETTE COLOR"
    for colour in _COLOURS:
        for part in ("Descriptor", "Data"):
            keyword = f"{colour}PaletteColorLookupTable{part}"
            if keyword in ds:
                delattr(ds, keyword)


def _palette_short_data(ds: Dataset) -> None:
    for colour in _COLOURS:
        ds.add_new(Tag(f"{colour}PaletteColorLookupTableData"), "OW", b"\x01\x02")


def _fragment(edit: Callable[[bytes], bytes]) -> Mutation:
    def mutate(ds: Dataset) -> None:
        frames = _frames(ds)
        frames[0] = edit(frames[0])
        _set_frames(ds, frames)
    return mutate


def _flip_middle(frame: bytes) -> bytes:
    data = bytearray(frame)
    middle = len(data) // 2
    for i in range(middle, min(len(data), middle + 64)):
        data[i] ^= 0xA5
    return bytes(data)


def _flip_header(frame: bytes) -> bytes:
    data = bytearray(frame)
    for i in range(2, min(len(data), 40), 3):
        data[i] ^= 0xFF
    return bytes(data)


def _rle_bogus_header(frame: bytes) -> bytes:
    # PS3.5 G.5: 15 segments whose offsets point far past the end.
    return struct.pack("<16I", 15, *[0x7FFFFF00 + i for i in range(15)]) + frame[64:]


def _patch_jpeg_sof(frame: bytes) -> bytes:
    """Claim 65535 x 65535 in the JPEG SOF marker (ITU T.81 B.2.2)."""
    data = bytearray(frame)
    for marker in (b"\xff\xc0", b"\xff\xc1", b"\xff\xc2", b"\xff\xc3", b"\xff\xf7"):
        at = data.find(marker)
        if at >= 0:
            data[at + 5:at + 9] = b"\xff\xff\xff\xff"
            return bytes(data)
    raise ValueError("no SOF marker")


def _patch_j2k_siz(frame: bytes) -> bytes:
    """Claim a 60000 x 60000 image in the JPEG 2000 SIZ marker (ISO 15444-1 A.5.1)."""
    data = bytearray(frame)
    at = data.find(b"\xff\x51")
    if at < 0:
        raise ValueError("no SIZ marker")
    # Lsiz(2) Rsiz(2) Xsiz(4) Ysiz(4) XOsiz YOsiz XTsiz(4) YTsiz(4)
    data[at + 6:at + 14] = struct.pack(">II", 60000, 60000)
    data[at + 22:at + 30] = struct.pack(">II", 60000, 60000)
    return bytes(data)


def _bomb(rows: int, columns: int, frames: int | None = None) -> Mutation:
    def mutate(ds: Dataset) -> None:
        ds.Rows, ds.Columns = rows, columns
        if frames is not None:
            ds.NumberOfFrames = frames
    return mutate


NATIVE: dict[str, Mutation] = {
    "pixels_truncated": _truncate_pixels,
    "pixels_2_bytes_short": _pixels_one_byte_short,
    "pixels_too_long": _pixels_too_long,
    "pixels_empty": _pixels_empty,
    "no_pixel_data": _no_pixels,
    "rows_claim_16x": lambda ds: setattr(ds, "Rows", min(65535, int(ds.Rows) * 16)),
    "columns_claim_16x": lambda ds: setattr(ds, "Columns", min(65535, int(ds.Columns) * 16)),
    "frames_claim_1000": _setter(NumberOfFrames=1000),
    "frames_zero": _raw(NumberOfFrames="0"),
    "frames_negative": _raw(NumberOfFrames="-3"),
    "frames_text": _raw(NumberOfFrames="many"),
    "rows_zero": _setter(Rows=0),
    "columns_zero": _setter(Columns=0),
    "bits_stored_gt_allocated": _bits_stored_too_big,
    "high_bit_40": _high_bit_wild,
    "bits_allocated_12": _setter(BitsAllocated=12),
    "bits_allocated_0": _setter(BitsAllocated=0),
    "bits_allocated_64": _setter(BitsAllocated=64),
    "bits_stored_0": _setter(BitsStored=0),
    "samples_per_pixel_0": _setter(SamplesPerPixel=0),
    "samples_per_pixel_4": _setter(SamplesPerPixel=4),
    "pixel_representation_7": _setter(PixelRepresentation=7),
    "photometric_garbage": _setter(PhotometricInterpretation="NOT_A_PHOTOMETRIC"),
    "photometric_flip_colour": lambda ds: setattr(
        ds, "PhotometricInterpretation",
        "MONOCHROME2" if int(ds.get("SamplesPerPixel", 1)) == 3 else "RGB"),
    "planar_configuration_5": _setter(PlanarConfiguration=5),
    "window_width_zero": _window(100, 0),
    "window_width_negative": _window(100, -400),
    "window_width_text": _raw(WindowCenter="abc", WindowWidth="xyz"),
    "window_width_huge": _window(0, 1e300),
    "windows_mismatched_vm": _window([40, 400, 4000], [80]),
    "rescale_nan_inf": _raw(RescaleSlope="nan", RescaleIntercept="inf"),
    "rescale_slope_zero": _raw(RescaleSlope="0", RescaleIntercept="0"),
    "modality_lut_wrong_length": _modality_lut([4096, 0, 16], b"\x01\x00" * 10),
    "modality_lut_zero_entries": _modality_lut([0, 0, 16], b"\x01\x00" * 4),
    "modality_lut_bits_7": _modality_lut([4, 0, 7], b"\x01\x02\x03\x04"),
    "modality_lut_empty": _modality_lut([16, 0, 16], b""),
    "voi_lut_wrong_length": _voi_lut([4096, 0, 16], b"\x01\x00" * 10),
    "voi_lut_descriptor_short": _voi_lut([256], b"\x01\x00" * 256),
    "voi_lut_empty": _voi_lut([256, 0, 8], b""),
    "palette_without_tables": _palette_without_tables,
    "palette_descriptor_65536": _palette_descriptor([0, 0, 16]),
    "bomb_65535x65535": _bomb(65535, 65535),
    "bomb_16000x16000": _bomb(16000, 16000),
    "bomb_frames_1e6": _bomb(4096, 4096, 1_000_000),
}

PALETTE: dict[str, Mutation] = {
    "empty_palette": _empty_palette,
    "palette_descriptor_wrong_length": _palette_descriptor([4096, 0, 16]),
    "palette_descriptor_bits_3": _palette_descriptor([256, 0, 3]),
    "palette_data_2_bytes": _palette_short_data,
}

ENCAPSULATED: dict[str, Mutation] = {
    "codestream_flipped_middle": _fragment(_flip_middle),
    "codestream_flipped_header": _fragment(_flip_header),
    "codestream_truncated": _fragment(lambda f: f[: len(f) // 2]),
    "codestream_16_bytes": _fragment(lambda f: f[:16]),
    "codestream_zeroed": _fragment(lambda f: bytes(len(f))),
    "codestream_empty": _fragment(lambda f: b""),
    "codestream_random": _fragment(lambda f: random.Random(len(f)).randbytes(len(f))),
    "rows_claim_16x": lambda ds: setattr(ds, "Rows", min(65535, int(ds.Rows) * 16)),
    "frames_claim_1000": _setter(NumberOfFrames=1000),
    "bits_stored_gt_allocated": _bits_stored_too_big,
    "bomb_65535x65535": _bomb(65535, 65535),
    "bomb_15000x15000": _bomb(15000, 15000),
}

CODEC_SPECIFIC: dict[str, dict[str, Mutation]] = {
    "rle": {"rle_bogus_segments": _fragment(_rle_bogus_header)},
    "rgb_rle": {"rle_bogus_segments": _fragment(_rle_bogus_header)},
    "jpeg": {"jpeg_sof_65535x65535": _fragment(_patch_jpeg_sof)},
    "jls": {"jls_sof_65535x65535": _fragment(_patch_jpeg_sof)},
    "j2k": {"j2k_siz_60000x60000": _fragment(_patch_j2k_siz)},
}


def _byte_flips(data: bytes, seed: int, count: int = 12) -> bytes:
    rng = random.Random(seed)
    out = bytearray(data)
    for _ in range(count):
        at = rng.randrange(132, len(out))
        out[at] = rng.randrange(256)
    return bytes(out)


def mutants(byte_flip_variants: int = 3) -> Iterator[Mutant]:
    """Every mutant of every source, in a fixed order."""
    for label, file_name, kind in SOURCES:
        table = dict(NATIVE if kind == "native" else ENCAPSULATED)
        if label == "palette":
            table.update(PALETTE)
        table.update(CODEC_SPECIFIC.get(label, {}))
        for mutation_name, mutate in table.items():
            name = f"{label}/{mutation_name}"
            ds = _read(file_name)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    mutate(ds)
            except (ValueError, AttributeError, KeyError) as error:
                raise RuntimeError(f"mutation {name} does not apply: {error}") from error
            yield Mutant(name, _write(ds, name))
        clean = _write(_read(file_name), f"{label}/clean")
        for seed in range(byte_flip_variants):
            name = f"{label}/byte_flips_{seed}"
            yield Mutant(name, _byte_flips(_write(_read(file_name), name), seed))
        yield Mutant(f"{label}/file_truncated", clean[: len(clean) * 2 // 3])


#: A tag as the previewer's messages write it: (0028,0008).
TAG = re.compile(r"\([0-9A-F]{4},[0-9A-F]{4}\)")
#: The conditions the previewer's 4xx name when no element is at fault: the frame or page asked for, a
#: limit, a parameter or format of the request, an object that does not apply to the image, a file or a
#: codestream that cannot be read as a whole (each phrase is in a raise of previewer/).
CONDITIONS = re.compile(
    r"Frame \d+ not found|Page \d+ not found|not frame \d+|frame\(s\)|multiplex group\(s\)|megapixels|over the \d+"
    r"|exceeds "
    r"|[Pp]arameters? '|format=|the instance is an? |does not reference|references neither|not the same size"
    r"|Frame of Reference|Unreadable (or truncated )?DICOM file|codestream|video bitstream|the PDF"
    r"|not reached within|unknown (instance|series|study|route)")
#: The words of Python's own exceptions (their type, or the text of a built-in one): a 4xx that carries
#: them is an error of the previewer's code disguised as the file's.
LEAKS = re.compile(
    r"Traceback|\b(Type|Value|Key|Attribute|Index|Overflow|ZeroDivision|Recursion|Assertion|Name|Lookup)Error\b"
    r"|NotImplementedError|'NoneType'|has no attribute|not subscriptable|unsupported operand|invalid literal"
    r"|could not convert|object is not (iterable|callable)|index out of (range|bounds)|has no len\(\)"
    r"|could not broadcast|cannot reshape|takes \d+ positional|unexpected keyword")


#: Where the previewer quotes a library's own account of what it could not parse (pydicom, its pixel
#: decoders, pdfium, PyAV), after naming what failed: the library's text may hold Python's words.
QUOTING = re.compile(r"cannot be read: |Cannot decode frame \d+ with .*?\): |cannot be decoded: "
                     r"|not a readable PDF: |Cannot render page \d+ of the PDF: |Unreadable DICOM file: "
                     r"|video bitstream( of \(7FE0,0010\) Pixel Data)?( after frame \d+)?: "
                     r"|from the encapsulated fragments: |Cannot read the video bitstream from .*?: ")


def not_ours(status: int, message: object) -> str:
    """'' when an error answer is one of the previewer's own: a 4xx whose message names a tag or a known
    condition (:data:`CONDITIONS`), and whose own words (before any library text it quotes,
    :data:`QUOTING`) are not a Python exception's (:data:`LEAKS`); else why not."""
    if not 400 <= status < 500:
        return f"status {status}: {str(message)[:300]}"
    if not isinstance(message, str) or not message:
        return f"{status} without an error message: {message!r}"
    quoted = QUOTING.search(message)
    leak = LEAKS.search(message[:quoted.end()] if quoted else message)
    if leak:
        return f"{status} carries a Python error ({leak.group(0)!r}): {message[:300]}"
    if not TAG.search(message) and not CONDITIONS.search(message):
        return f"{status} names neither a tag nor a known condition: {message[:300]}"
    return ""


def upload(process: Any, data: bytes, timeout: float = 30) -> str | None:
    """Store ``data`` in the Orthanc ``process``: its ID, or None when Orthanc refuses the file (never a 5xx but for a DICOM parse error)."""
    answer = process.http.post(process.url + "/instances", data=data, timeout=timeout)
    if answer.status_code != 200:
        assert answer.status_code < 500 or answer.status_code == 500 and "DICOM" in answer.text, answer.text
        return None
    return str(answer.json()["ID"])


def main(argv: list[str]) -> int:
    out = Path(argv[1] if len(argv) > 1 else "hostile-dicom")
    out.mkdir(parents=True, exist_ok=True)
    count = 0
    for mutant in mutants():
        (out / (mutant.name.replace("/", "__") + ".dcm")).write_bytes(mutant.data)
        count += 1
    print(f"{count} hostile files in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
