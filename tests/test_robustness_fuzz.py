"""Issue 6.2: hypothesis fuzzing of the pure pipeline (read_dataset + render + info).

Any exception other than :class:`PixelError` (which the views answer as a
4xx / 413 / 415) is a failure, as is an image whose shape disagrees with the
dataset.  The number of examples is bounded for `make test`; `make fuzz`
raises it with PREVIEWER_FUZZ_EXAMPLES.
"""
from __future__ import annotations

import os
import struct
import warnings

import hostile
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

from previewer.pixels import decode, render
from previewer.pixels.errors import PixelError
from previewer.pixels.params import parse_params

EXAMPLES = int(os.environ.get("PREVIEWER_FUZZ_EXAMPLES", "150"))
FORMATS = ("", "gray8", "gray16", "signed16", "rgb24", "rgba32")
CHANNELS = {"gray8": (), "gray16": (), "signed16": (), "rgb24": (3,), "rgba32": (4,)}
_SETTINGS = settings(max_examples=EXAMPLES * 4, deadline=None, derandomize=True,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def render_all(data: bytes, extra: dict[str, str] | None = None) -> None:
    """Read and render ``data`` in every format; only PixelError may escape (as a 4xx)."""
    try:
        ds = decode.read_dataset(data)
    except PixelError:
        return
    info = render.info(ds, max_megapixels=4)
    assert isinstance(info, dict)
    for fmt in FORMATS:
        query = dict(extra or {})
        if fmt:
            query["format"] = fmt
        try:
            params = parse_params(query)
            result = render.render(ds, 0, params, max_megapixels=4)
        except PixelError as error:
            assert 400 <= error.status < 500
            continue
        array = result.array
        assert array.flags.c_contiguous
        rows, cols = int(ds.Rows), int(ds.Columns)
        if params.max_width is None and params.max_height is None:
            assert array.shape[:2] == (rows, cols), (array.shape, rows, cols)
        assert array.shape[2:] == CHANNELS[result.format]
        if result.format == "gray8":
            assert array.dtype == np.uint8


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
    """Sanity check of the oracle itself: a clean file renders."""
    render_all(hostile.source_path("CT_small.dcm").read_bytes())
    render_all(hostile.source_path("SC_rgb.dcm").read_bytes())


