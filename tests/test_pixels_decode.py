"""Tests of previewer.pixels.decode against reference decodings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pixels_corpus import find, image_files, load, load_pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian

from previewer.pixels.decode import (
    _decode_with_pydicom,
    _native_frame,
    decode_frame,
    frame_count,
)
from previewer.pixels.errors import FrameNotFound, Malformed, TooLarge, Unsupported
from previewer.pixels.reader import read_dataset

CT_SMALL = "CT_small.dcm"
MR_SMALL = "MR_small.dcm"
MR_SMALL_VARIANTS = (
    "MR_small_RLE.dcm",
    "MR_small_bigendian.dcm",
    "MR_small_expb.dcm",
    "MR_small_implicit.dcm",
    "MR_small_jp2klossless.dcm",
    "MR_small_jpeg_ls_lossless.dcm",
    "MR_small_padded.dcm",
)
EMRI = "emri_small.dcm"
EMRI_VARIANTS = (
    "emri_small_RLE.dcm",
    "emri_small_big_endian.dcm",
    "emri_small_jpeg_2k_lossless.dcm",
    "emri_small_jpeg_ls_lossless.dcm",
)
#: Lossless pairs (compressed, uncompressed reference): bit-exact.
LOSSLESS_PAIRS = (
    ("693_J2KR.dcm", "693_UNCR.dcm"),
    ("MR2_J2KR.dcm", "MR2_UNCR.dcm"),
    ("RG1_J2KR.dcm", "RG1_UNCR.dcm"),
    ("RG3_J2KR.dcm", "RG3_UNCR.dcm"),
    ("US1_J2KR.dcm", "US1_UNCR.dcm"),
    ("JPEG2000.dcm", "JPEG2000_UNC.dcm"),
    ("JPEGLossless_1s_1f_u_16_12.dcm", "MR2_UNCR.dcm"),
    ("SC_rgb_jpeg_gdcm.dcm", "SC_rgb.dcm"),
    ("SC_rgb_gdcm_KY.dcm", "SC_rgb.dcm"),
    ("SC_rgb_rle.dcm", "SC_rgb.dcm"),
    ("SC_rgb_expb.dcm", "SC_rgb.dcm"),
    ("SC_rgb_small_odd_big_endian.dcm", "SC_rgb_small_odd.dcm"),
    ("color-pl.dcm", "color-px.dcm"),
    ("JLSL_RGB_ILV1.dcm", "JLSL_RGB_ILV0.dcm"),
    ("JLSL_RGB_ILV2.dcm", "JLSL_RGB_ILV0.dcm"),
    ("OBXXXX1A_rle.dcm", "OBXXXX1A.dcm"),
    ("OBXXXX1A_expb.dcm", "OBXXXX1A.dcm"),
    ("gdcm-US-ALOKA-16_big.dcm", "gdcm-US-ALOKA-16.dcm"),
)
#: Lossy J2K and the decompressed references pydicom-data ships (tolerance below).
LOSSY_PAIRS = (
    ("693_J2KI.dcm", "693_UNCI.dcm"),
    ("MR2_J2KI.dcm", "MR2_UNCI.dcm"),
    ("RG1_J2KI.dcm", "RG1_UNCI.dcm"),
    ("RG3_J2KI.dcm", "RG3_UNCI.dcm"),
    ("US1_J2KI.dcm", "US1_UNCI.dcm"),
)
LOSSY_TOLERANCE = 1
#: dcmtk-encoded JPEG (RGB and YBR_FULL/YBR_FULL_422) and dcmtk's decoding.
DCMTK_PAIRS = (
    ("SC_rgb_dcmtk_+eb+cr.dcm", "SC_rgb_dcmtk_ebcr_dcmd.dcm"),
    ("SC_rgb_dcmtk_+eb+cy+n1.dcm", "SC_rgb_dcmtk_ebcyn1_dcmd.dcm"),
    ("SC_rgb_dcmtk_+eb+cy+n2.dcm", "SC_rgb_dcmtk_ebcyn2_dcmd.dcm"),
    ("SC_rgb_dcmtk_+eb+cy+np.dcm", "SC_rgb_dcmtk_ebcynp_dcmd.dcm"),
    ("SC_rgb_dcmtk_+eb+cy+s2.dcm", "SC_rgb_dcmtk_ebcys2_dcmd.dcm"),
    ("SC_rgb_dcmtk_+eb+cy+s4.dcm", "SC_rgb_dcmtk_ebcys4_dcmd.dcm"),
)
#: dcmtk's upsampling/colour rounding differs from libjpeg+ours by up to 2.
DCMTK_TOLERANCE = 2
LIVER_NONBYTE = "liver_nonbyte_aligned.dcm"
LIVER_NONBYTE_VARIANTS = (
    "liver_nonbyte_aligned_rle.dcm",
    "liver_nonbyte_aligned_deflate.dcm",
    "liver_nonbyte_aligned_j2k.dcm",
)
TRUNCATED_J2K = "emri_small_jpeg_2k_lossless_too_short.dcm"
NO_TSYNTAX_PALETTE = "OT-PAL-8-face.dcm"
RTDOSE = "rtdose.dcm"
FLOAT_MAP = "parametric_map_float.dcm"
DOUBLE_MAP = "parametric_map_double_float.dcm"
RGB_16 = "SC_rgb_16bit.dcm"
RGB_32 = "SC_rgb_32bit.dcm"
RGB_8 = "SC_rgb.dcm"


def _frames(name: str) -> list[np.ndarray]:
    ds = load(name)
    return [decode_frame(ds, i) for i in range(frame_count(ds))]


class TestReadDataset:
    def test_reads_file_bytes(self) -> None:
        """A Part 10 file is parsed from bytes."""
        ds = read_dataset(find(CT_SMALL).read_bytes())
        assert ds.Rows == 128 and ds.Modality == "CT"

    def test_accepts_memoryview(self) -> None:
        """A memoryview is accepted."""
        ds = read_dataset(memoryview(find(CT_SMALL).read_bytes()))
        assert ds.Columns == 128

    def test_missing_transfer_syntax_is_inferred(self) -> None:
        """A file without (0002,0010) gets the syntax it was read with."""
        ds = read_dataset(find(NO_TSYNTAX_PALETTE).read_bytes())
        assert ds.file_meta.TransferSyntaxUID.is_little_endian
        assert decode_frame(ds, 0).shape == (480, 640)

    def test_garbage_raises_unsupported(self) -> None:
        """Bytes that are not DICOM raise Unsupported."""
        with pytest.raises(Unsupported):
            decode_frame(read_dataset(b"\x00" * 7), 0)


class TestFrameCount:
    @pytest.mark.parametrize(
        ("name", "count"), [(CT_SMALL, 1), (EMRI, 10), (RTDOSE, 15)]
    )
    def test_counts(self, name: str, count: int) -> None:
        """Number of Frames, or 1 when absent."""
        assert frame_count(load(name)) == count

    def test_invalid_value(self) -> None:
        """An unparsable Number of Frames names the tag and value (synthetic)."""
        ds = Dataset()
        ds.NumberOfFrames = "0"
        with pytest.raises(Unsupported, match=r"\(0028,0008\).*'0'"):
            frame_count(ds)


class TestDecodeFrame:
    @pytest.mark.parametrize("variant", MR_SMALL_VARIANTS)
    def test_mr_small_variants_bit_exact(self, variant: str) -> None:
        """MR_small's encodings decode to the same stored values."""
        expected = decode_frame(load(MR_SMALL), 0)
        assert np.array_equal(decode_frame(load(variant), 0), expected)

    @pytest.mark.parametrize("variant", EMRI_VARIANTS)
    def test_emri_variants_bit_exact_every_frame(self, variant: str) -> None:
        """emri_small's encodings decode to the same values, frame by frame."""
        for got, expected in zip(_frames(variant), _frames(EMRI), strict=True):
            assert np.array_equal(got, expected)

    @pytest.mark.parametrize(("compressed", "reference"), LOSSLESS_PAIRS)
    def test_lossless_pairs_bit_exact(self, compressed: str, reference: str) -> None:
        """Lossless encodings equal their uncompressed reference."""
        got = decode_frame(load(compressed), 0)
        expected = decode_frame(load(reference), 0)
        assert got.shape == expected.shape
        assert np.array_equal(got, expected)

    @pytest.mark.parametrize(("compressed", "reference"), LOSSY_PAIRS)
    def test_lossy_pairs_within_tolerance(
        self, compressed: str, reference: str
    ) -> None:
        """Lossy J2K matches the decompressed reference within the tolerance."""
        got = decode_frame(load(compressed), 0).astype(np.int64)
        expected = decode_frame(load(reference), 0).astype(np.int64)
        assert np.abs(got - expected).max() <= LOSSY_TOLERANCE

    @pytest.mark.parametrize(("compressed", "reference"), DCMTK_PAIRS)
    def test_dcmtk_jpeg_pairs(self, compressed: str, reference: str) -> None:
        """dcmtk JPEG (RGB/YBR) matches dcmtk's own decompression."""
        got = decode_frame(load(compressed), 0).astype(np.int64)
        expected = decode_frame(load(reference), 0).astype(np.int64)
        assert np.abs(got - expected).max() <= DCMTK_TOLERANCE

    @pytest.mark.parametrize("variant", LIVER_NONBYTE_VARIANTS)
    def test_non_byte_aligned_one_bit(self, variant: str) -> None:
        """1-bit frames (native, RLE, deflate, J2K) agree on every frame."""
        for got, expected in zip(_frames(variant), _frames(LIVER_NONBYTE), strict=True):
            assert got.shape == (510, 510)
            assert np.array_equal(got, expected)

    def test_non_byte_aligned_frames_differ(self) -> None:
        """Later frames of the 1-bit SEG are not copies of frame 0."""
        frames = _frames(LIVER_NONBYTE)
        assert set(np.unique(frames[1]).tolist()) == {0, 1}
        assert not np.array_equal(frames[0], frames[1])

    def test_matches_pydicom_for_middle_frame(self) -> None:
        """Only frame n is decoded and it equals pydicom's full decode [n]."""
        full = load_pydicom(EMRI).pixel_array
        assert np.array_equal(
            decode_frame(load("emri_small_jpeg_ls_lossless.dcm"), 6), full[6]
        )

    def test_native_byte_order(self) -> None:
        """Big endian data is returned in native byte order, C-contiguous."""
        arr = decode_frame(load("MR_small_bigendian.dcm"), 0)
        assert arr.dtype.isnative and arr.flags.c_contiguous

    @pytest.mark.parametrize(
        ("name", "dtype"), [(FLOAT_MAP, np.float32), (DOUBLE_MAP, np.float64)]
    )
    def test_float_pixel_data(self, name: str, dtype: type) -> None:
        """Float and Double Float Pixel Data decode as float arrays."""
        arr = decode_frame(load(name), 0)
        assert arr.dtype == dtype and arr.shape == (128, 128)

    def test_rgb_16bit_keeps_values(self) -> None:
        """16-bit RGB stays uint16 (SC_rgb_16bit holds SC_rgb * 257)."""
        got = decode_frame(load(RGB_16), 0)
        assert got.dtype == np.uint16
        assert np.array_equal(got, decode_frame(load(RGB_8), 0).astype(np.uint16) * 257)

    def test_rgb_32bit_reduced_to_16(self) -> None:
        """32-bit RGB is delivered as its top 16 bits."""
        got = decode_frame(load(RGB_32), 0)
        raw = load_pydicom(RGB_32).pixel_array
        assert got.dtype == np.uint16
        assert np.array_equal(got, (raw >> 16).astype(np.uint16))

    def test_frame_not_found(self) -> None:
        """An index past the last frame raises FrameNotFound (404)."""
        with pytest.raises(FrameNotFound) as info:
            decode_frame(load(EMRI), 10)
        assert info.value.status == 404

    def test_negative_index(self) -> None:
        """A negative index raises FrameNotFound."""
        with pytest.raises(FrameNotFound):
            decode_frame(load(EMRI), -1)

    def test_too_large_checked_before_decoding(self) -> None:
        """The megapixel limit raises TooLarge before any decoding is tried."""
        ds = load_pydicom(MR_SMALL)
        ds.PixelData = b"not decodable"
        with pytest.raises(TooLarge) as info:
            decode_frame(ds, 0, max_megapixels=0.004)
        assert info.value.status in (400, 413)

    def test_limit_allows_smaller_frames(self) -> None:
        """A frame under the limit decodes."""
        assert decode_frame(load(CT_SMALL), 0, max_megapixels=0.02).shape == (128, 128)

    def test_truncated_j2k_unsupported(self) -> None:
        """A file truncated inside its pixel data raises Unsupported (415)."""
        with pytest.raises(Unsupported) as info:
            read_dataset(find(TRUNCATED_J2K).read_bytes())
        assert info.value.status == 415

    def test_corrupt_codestream_names_syntax(self) -> None:
        """Undecodable JPEG 2000 data raises Unsupported naming the syntax."""
        with pytest.raises(Unsupported, match="JPEG 2000"):
            decode_frame(load("JPEG2000-embedded-sequence-delimiter.dcm"), 0)

    def test_truncated_native_data(self) -> None:
        """Native pixel data shorter than Rows x Columns raises Unsupported."""
        with pytest.raises(Unsupported, match="Explicit VR Little Endian"):
            decode_frame(load("MR_truncated.dcm"), 0)

    def test_no_pixel_data(self) -> None:
        """A dataset without pixel data raises Unsupported."""
        with pytest.raises(Unsupported, match=r"\(7FE0,0010\)"):
            decode_frame(load("rtplan.dcm"), 0)

    def test_unknown_transfer_syntax(self) -> None:
        """An unknown transfer syntax is named in the error (synthetic dataset)."""
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = "1.2.3.4.5"
        ds.Rows = ds.Columns = 2
        ds.BitsAllocated = ds.BitsStored = 8
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.PixelRepresentation = 0
        ds.PixelData = b"\x00" * 4
        with pytest.raises(Unsupported, match=r"1\.2\.3\.4\.5"):
            decode_frame(ds, 0)

    def test_missing_bits_allocated(self) -> None:
        """A missing required attribute is named (synthetic dataset)."""
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.Rows = ds.Columns = 2
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.PixelData = b"\x00" * 4
        with pytest.raises(Unsupported, match=r"\(0028,0100\)"):
            decode_frame(ds, 0)

    def test_pydicom_dataset_unmodified(self) -> None:
        """Decoding leaves the dataset's elements untouched."""
        ds = load_pydicom("US1_J2KR.dcm")
        before = ds.PhotometricInterpretation
        decode_frame(ds, 0)
        assert ds.PhotometricInterpretation == before == "YBR_RCT"
        assert isinstance(ds, pydicom.Dataset)


def _native_cases() -> list[tuple[str, Path]]:
    cases = []
    for name, path in image_files():
        try:
            ds = read_dataset(path.read_bytes())
            if _native_frame(ds, 0, UID(ds.file_meta.TransferSyntaxUID)) is not None:
                cases.append((name, path))
        except Exception:  # noqa: BLE001 - files the native path does not take
            continue
    return cases


class TestMalformedElements:
    """Each was a Python error inside pydicom (a 500, or a 415 quoting it); now Malformed naming the element."""

    def test_transfer_syntax_of_two_values(self) -> None:
        """CT_small.dcm with a backslash in its Transfer Syntax UID (the fuzzing's byte flip): two values, named."""
        data = Path(find(CT_SMALL)).read_bytes()
        at = data.index(b"1.2.840.10008.1.2.1")
        ds = read_dataset(data[:at] + b"1.2.840.10008\\1.2.1" + data[at + 19:])
        with pytest.raises(Malformed) as error:
            decode_frame(ds, 0)
        assert error.value.message == "(0002,0010) Transfer Syntax UID '1.2.840.10008\\\\1.2.1' has 2 values, not 1"

    def test_empty_pixel_data(self) -> None:
        """CT_small.dcm with an empty Pixel Data (synthesized) is refused before pydicom's decoder sees None."""
        ds = load_pydicom(CT_SMALL)
        ds.PixelData = b""
        with pytest.raises(Malformed, match=r"^\(7FE0,0010\) Pixel Data is empty$"):
            decode_frame(ds, 0)

    def test_codestream_of_another_shape(self) -> None:
        """JPEG2000.dcm (1024 rows, 256 columns) with Rows and Columns swapped: the same area, another shape."""
        ds = load_pydicom("JPEG2000.dcm")
        ds.Rows, ds.Columns = ds.Columns, ds.Rows
        with pytest.raises(Malformed, match=r"claims 1024x256 pixels but \(0028,0010\)/\(0028,0011\) give 256x1024"):
            decode_frame(ds, 0)


class TestNativeFrame:
    @pytest.mark.parametrize(("name", "path"), _native_cases(), ids=[n for n, _ in _native_cases()])
    def test_same_as_pydicom(self, name: str, path: Path) -> None:
        """Every frame the native path reads equals pydicom's decoder's, dtype included."""
        ds = read_dataset(path.read_bytes())
        tsyntax = UID(ds.file_meta.TransferSyntaxUID)
        for index in range(min(frame_count(ds), 3)):
            ours = _native_frame(ds, index, tsyntax)
            theirs = _decode_with_pydicom(ds, index, tsyntax)
            assert ours is not None and ours.dtype == theirs.dtype
            assert np.array_equal(ours, theirs), f"frame {index} of {name}"

    def test_takes_the_common_cases(self) -> None:
        """CT, MR and 8-bit native files take the native path."""
        assert len(_native_cases()) >= 20

    def test_leaves_short_pixel_data_to_pydicom(self) -> None:
        """Too little pixel data for Number of Frames is pydicom's error, not a native read."""
        ds = read_dataset(find(CT_SMALL).read_bytes())
        ds.PixelData = bytes(ds.PixelData)[:100]
        assert _native_frame(ds, 0, UID(ds.file_meta.TransferSyntaxUID)) is None
        with pytest.raises(Unsupported):
            decode_frame(ds, 0)
