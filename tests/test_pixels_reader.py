"""previewer.pixels.reader: the needed elements only, the walker against pydicom's reader."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pixels_corpus import find, image_files
from pydicom.dataset import Dataset

from previewer.pixels import reader
from previewer.pixels.decode import decode_frame
from previewer.pixels.errors import Unsupported
from previewer.pixels.render import modality_frame

CT_SMALL = "CT_small.dcm"
#: Implicit VR little endian, native pixel data.
MR_IMPLICIT = "MR_small_implicit.dcm"
#: Encapsulated (RLE), undefined-length pixel data.
MR_RLE = "MR_small_RLE.dcm"
#: Enhanced MR: functional group sequences.
ENHANCED_MR = "emri_small.dcm"
#: No preamble nor File Meta Information.
NO_META = "no_meta.dcm"
#: Deflated Explicit VR Little Endian.
DEFLATED = "image_dfl.dcm"
#: Explicit VR Big Endian.
BIG_ENDIAN = "MR_small_bigendian.dcm"


def _walked(data: bytes) -> Dataset | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return reader._walked(memoryview(data).toreadonly())  # noqa: SLF001 - the walker itself
        except reader._Irregular:  # noqa: SLF001
            return None


def _value(ds: Dataset, tag: int) -> object:
    value = ds[tag].value
    return bytes(value) if isinstance(value, memoryview) else value


def _corpus() -> list[tuple[str, Path]]:
    return image_files()


class TestWalker:
    @pytest.mark.parametrize(("name", "path"), _corpus(), ids=[n for n, _ in _corpus()])
    def test_same_needed_elements_as_pydicom(self, name: str, path: Path) -> None:
        """Every needed element the walker keeps equals pydicom's, and none is missing."""
        data = path.read_bytes()
        walked = _walked(data)
        if walked is None:
            pytest.skip("left to pydicom's reader")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            full = reader._with_pydicom(data)  # noqa: SLF001
            assert set(walked.keys()) == reader.NEEDED.intersection(full.keys())
            for tag in walked.keys():
                assert _value(walked, tag) == _value(full, tag), f"{tag} of {name}"
        assert walked.original_encoding == full.original_encoding
        assert walked.file_meta.TransferSyntaxUID == full.file_meta.TransferSyntaxUID

    def test_walks_explicit_implicit_encapsulated_and_enhanced(self) -> None:
        """The common encodings take the walker, not pydicom's reader."""
        for name in (CT_SMALL, MR_IMPLICIT, MR_RLE, ENHANCED_MR):
            assert _walked(find(name).read_bytes()) is not None, name

    def test_leaves_unusual_files_to_pydicom(self) -> None:
        """No preamble, a deflated or a big-endian file goes to pydicom, and still reads."""
        for name in (NO_META, DEFLATED, BIG_ENDIAN):
            data = find(name).read_bytes()
            assert _walked(data) is None, name
            reader.read_dataset(data)
        for name in (DEFLATED, BIG_ENDIAN):
            assert modality_frame(reader.read_dataset(find(name).read_bytes()), 0).array.ndim == 2

    def test_keeps_only_needed_elements(self) -> None:
        """Patient data and other elements the pipeline never reads are not in the dataset."""
        ds = reader.read_dataset(find(CT_SMALL).read_bytes())
        assert "PatientName" not in ds and "Rows" in ds
        assert set(ds.keys()) <= reader.NEEDED


class TestPixelData:
    def test_native_pixel_data_is_a_view(self) -> None:
        """Native pixel data is not copied: it is a read-only view of the caller's buffer."""
        data = find(CT_SMALL).read_bytes()
        ds = reader.read_dataset(data)
        value = ds["PixelData"].value
        assert isinstance(value, memoryview) and value.readonly and value.obj is data

    def test_decoded_frame_owns_its_memory(self) -> None:
        """A decoded frame does not change when the buffer it came from is overwritten."""
        buffer = bytearray(find(CT_SMALL).read_bytes())
        ds = reader.read_dataset(memoryview(buffer))
        frame = decode_frame(ds, 0)
        expected = frame.copy()
        buffer[-len(frame.tobytes()):] = bytes(len(frame.tobytes()))
        assert np.array_equal(frame, expected)

    def test_release_drops_the_view(self) -> None:
        """After release() the dataset holds no pixel data, and the view is released."""
        ds = reader.read_dataset(find(CT_SMALL).read_bytes())
        value = ds["PixelData"].value
        reader.release(ds)
        assert "PixelData" not in ds
        with pytest.raises(ValueError):
            bytes(value)

    def test_encapsulated_pixel_data_is_bytes(self) -> None:
        """Compressed pixel data is handed to the decoders as bytes, as pydicom reads it."""
        ds = reader.read_dataset(find(MR_RLE).read_bytes())
        assert isinstance(ds["PixelData"].value, bytes)


class TestMalformed:
    def _with_broken_vr(self, keyword: str) -> bytes:
        """CT_small with the VR of ``keyword`` replaced by two bytes that are no VR."""
        ds = pydicom.dcmread(find(CT_SMALL))
        buffer = io.BytesIO()
        ds.save_as(buffer)
        data = bytearray(buffer.getvalue())
        tag = ds.data_element(keyword).tag  # type: ignore[union-attr]
        header = tag.group.to_bytes(2, "little") + tag.element.to_bytes(2, "little") + ds[keyword].VR.encode()
        at = data.index(header)
        data[at + 4:at + 6] = b"S\x9d"
        return bytes(data)

    def test_unneeded_malformed_element_is_ignored(self) -> None:
        """A broken element the pipeline never reads does not make the file unreadable."""
        ds = reader.read_dataset(self._with_broken_vr("PatientName"))
        assert modality_frame(ds, 0).array.shape == (128, 128)

    def test_needed_malformed_element_is_unsupported(self) -> None:
        """A broken element the pipeline reads is a clean Unsupported (415) at read time."""
        with pytest.raises(Unsupported):
            reader.read_dataset(self._with_broken_vr("RescaleSlope"))

    def test_empty_and_garbage_are_unsupported(self) -> None:
        """No DICOM at all is Unsupported, when read or when decoded."""
        with pytest.raises(Unsupported):
            reader.read_dataset(b"")
        for data in (b"\0" * 10, b"not a dicom file at all" * 10, b"\0" * 128 + b"DICM" + b"\xff" * 40):
            with pytest.raises(Unsupported):
                modality_frame(reader.read_dataset(data), 0)
