"""Tests of previewer.pixels.render, including dcmtk dcmj2pnm as reference."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import tool
from pixels_corpus import find, load, load_pydicom
from pydicom.pixels import apply_modality_lut

from previewer.pixels.decode import decode_frame
from previewer.pixels.errors import BadParameter, FrameNotFound, TooLarge
from previewer.pixels.output import grey_levels
from previewer.pixels.params import RenderParams, Window, parse_params
from previewer.pixels.render import (
    default_window,
    display,
    info,
    modality_frame,
    render,
)
from previewer.pixels.voi import window_linear

CT_SMALL = "CT_small.dcm"
CT_PADDED = "693_UNCR.dcm"
MR_SMALL = "MR_small.dcm"
MONOCHROME1 = "RG3_UNCR.dcm"
TWO_WINDOWS = "examples_overlay.dcm"
VOI_LUT_FILE = "vlut_04.dcm"
EMRI = "emri_small.dcm"
ENHANCED_CT = "eCT_Supplemental.dcm"
PALETTE_16 = "gdcm-US-ALOKA-16.dcm"
RGB = "SC_rgb.dcm"
FLOAT_MAP = "parametric_map_float.dcm"
TRUNCATED = "MR_truncated.dcm"

#: (file, 1-based stored window index) for dcmj2pnm +Wi.
DCMTK_STORED_WINDOW = (
    (MR_SMALL, 1),
    (CT_PADDED, 1),
    ("MR2_UNCR.dcm", 1),
    ("RG1_UNCR.dcm", 1),
    (MONOCHROME1, 1),
    (TWO_WINDOWS, 1),
    (TWO_WINDOWS, 2),
    ("JPGLosslessP14SV1_1s_1f_8b.dcm", 1),
    ("bad_sequence.dcm", 2),
)
#: (file, center, width) for dcmj2pnm +Ww.
DCMTK_EXPLICIT_WINDOW = (
    (CT_SMALL, 40.0, 400.0),
    (CT_SMALL, -600.5, 1500.0),
    (EMRI, 300.0, 500.0),
    ("rtdose_1frame.dcm", 1000000.0, 600000.0),
    (MONOCHROME1, 200.0, 300.0),
    ("MR2_UNCR.dcm", 1234.5, 700.0),
    ("JPEG2000_UNC.dcm", 50.0, 3.0),
)


def _dcmj2pnm(path: Path, *args: str) -> np.ndarray:
    """dcmtk's 8-bit rendering (overlays off) as a 2-D uint8 array."""
    out = subprocess.run(
        [tool("dcmj2pnm", "dcmtk"), "-q", "-O", "+op", *args, str(path)], check=True, capture_output=True
    ).stdout
    fields: list[bytes] = []
    pos = 0
    while len(fields) < 4:
        while out[pos : pos + 1].isspace():
            pos += 1
        if out[pos : pos + 1] == b"#":
            pos = out.index(b"\n", pos)
            continue
        end = pos
        while not out[end : end + 1].isspace():
            end += 1
        fields.append(out[pos:end])
        pos = end
    assert fields[0] == b"P5" and fields[3] == b"255"
    width, height = int(fields[1]), int(fields[2])
    return np.frombuffer(out[pos + 1 : pos + 1 + width * height], np.uint8).reshape(
        height, width
    )


class TestAgainstDcmtk:
    @pytest.mark.parametrize(("name", "number"), DCMTK_STORED_WINDOW)
    def test_stored_window(self, name: str, number: int) -> None:
        """gray8 with voi=K and overlays=0 is within 1 level of dcmj2pnm +Wi K+1 (which has overlays off)."""
        expected = _dcmj2pnm(find(name), "+Wi", str(number)).astype(np.int64)
        got = render(load(name), 0, parse_params({"voi": str(number - 1), "overlays": "0"})).array
        assert np.abs(got.astype(np.int64) - expected).max() <= 1

    @pytest.mark.parametrize(("name", "center", "width"), DCMTK_EXPLICIT_WINDOW)
    def test_explicit_window(self, name: str, center: float, width: float) -> None:
        """gray8 with window=C,W and overlays=0 is within 1 level of dcmj2pnm +Ww C W."""
        expected = _dcmj2pnm(find(name), "+Ww", str(center), str(width)).astype(
            np.int64
        )
        got = render(load(name), 0, parse_params({"window": f"{center},{width}", "overlays": "0"})).array
        assert np.abs(got.astype(np.int64) - expected).max() <= 1

    def test_fractional_rescale_narrow_window(self) -> None:
        """dcmtk floors fractional modality values; with that, a narrow window agrees within 1."""
        name, center, width = "MR2_UNCR.dcm", 1234.5, 77.0
        expected = _dcmj2pnm(find(name), "+Ww", str(center), str(width)).astype(
            np.int64
        )
        frame = modality_frame(load(name), 0)
        floored = np.floor(frame.array)
        got = grey_levels(
            floored, lambda x: window_linear(x, center, width), 255, False
        )
        assert np.abs(got.astype(np.int64) - expected).max() <= 1


class TestModalityFrame:
    def test_holds_no_dataset(self) -> None:
        """The frame keeps plain values only, and a read-only array."""
        frame = modality_frame(load(CT_SMALL), 0)
        assert not any(
            type(v).__name__.endswith("Dataset") for v in vars(frame).values()
        )
        assert not frame.array.flags.writeable

    def test_modality_values(self) -> None:
        """The array equals pydicom's apply_modality_lut of the stored values."""
        frame = modality_frame(load(CT_SMALL), 0)
        expected = apply_modality_lut(
            decode_frame(load(CT_SMALL), 0), load_pydicom(CT_SMALL)
        )
        assert np.array_equal(frame.array, expected)

    def test_enhanced_per_frame_window(self) -> None:
        """Enhanced CT's window comes from its functional groups."""
        frame = modality_frame(load(ENHANCED_CT), 1)
        assert (frame.windows[0].center, frame.windows[0].width) == (49.0, 102.0)

    def test_padding_mask(self) -> None:
        """Pixel Padding Value -2000 pixels are masked."""
        frame = modality_frame(load(CT_PADDED), 0)
        stored = decode_frame(load(CT_PADDED), 0)
        assert frame.padding_mask is not None
        assert np.array_equal(frame.padding_mask, stored == -2000)

    def test_monochrome1_inverse(self) -> None:
        """MONOCHROME1 is flagged for inverted display."""
        assert modality_frame(load(MONOCHROME1), 0).inverse

    def test_too_large(self) -> None:
        """The megapixel limit is enforced."""
        with pytest.raises(TooLarge):
            modality_frame(load(MONOCHROME1), 0, max_megapixels=1.0)


class TestDisplay:
    def test_signed16_equals_ct_small_modality_values(self) -> None:
        """signed16 of CT_small equals stored * slope + intercept exactly."""
        ds = load_pydicom(CT_SMALL)
        expected = ds.pixel_array.astype(np.int64) * int(ds.RescaleSlope) + int(
            ds.RescaleIntercept
        )
        out = render(load(CT_SMALL), 0, parse_params({"format": "signed16"}))
        assert out.array.dtype == np.int16 and out.format == "signed16"
        assert np.array_equal(out.array.astype(np.int64), expected)

    def test_signed16_rejects_fractional(self) -> None:
        """MR2's fractional rescale cannot be signed16."""
        frame = modality_frame(load("MR2_UNCR.dcm"), 0)
        with pytest.raises(BadParameter, match="signed16"):
            display(frame, parse_params({"format": "signed16"}))

    def test_invert_flips_gray8(self) -> None:
        """invert=1 gives 255 - gray8."""
        frame = modality_frame(load(MR_SMALL), 0)
        plain = display(frame, RenderParams()).array.astype(np.int64)
        inverted = display(frame, parse_params({"invert": "1"})).array.astype(np.int64)
        assert np.array_equal(inverted, 255 - plain)

    def test_presentation_lut_inverse(self) -> None:
        """Presentation LUT Shape INVERSE displays 255 - gray8 (no corpus file has it)."""
        plain = render(load(MR_SMALL), 0, RenderParams()).array.astype(np.int64)
        ds = load_pydicom(MR_SMALL)
        ds.PresentationLUTShape = "INVERSE"
        inverse = render(ds, 0, RenderParams()).array.astype(np.int64)
        assert np.array_equal(inverse, 255 - plain)

    def test_monochrome1_invert_param_reverts(self) -> None:
        """invert=1 on MONOCHROME1 equals the same data shown as MONOCHROME2."""
        ds = load_pydicom(MONOCHROME1)
        shown = render(ds, 0, parse_params({"invert": "1"})).array
        ds.PhotometricInterpretation = "MONOCHROME2"
        assert np.array_equal(shown, render(ds, 0, RenderParams()).array)

    def test_gray16_consistent_with_gray8(self) -> None:
        """gray16 is the same display at 0..65535."""
        frame = modality_frame(load(MR_SMALL), 0)
        g8 = display(frame, RenderParams()).array.astype(np.int64)
        g16 = display(frame, parse_params({"format": "gray16"})).array.astype(np.int64)
        assert np.abs(g16 / 257 - g8).max() <= 0.5 + 1e-9

    def test_rgb24_replicates_grey(self) -> None:
        """rgb24 of a grey image repeats gray8 in each channel."""
        frame = modality_frame(load(MR_SMALL), 0)
        grey = display(frame, RenderParams()).array
        rgb = display(frame, parse_params({"format": "rgb24"})).array
        assert rgb.shape == grey.shape + (3,)
        assert all(np.array_equal(rgb[..., i], grey) for i in range(3))

    def test_transparent_padding(self) -> None:
        """padding=transparent gives alpha 0 exactly on padding pixels."""
        frame = modality_frame(load(CT_PADDED), 0)
        out = display(frame, parse_params({"padding": "transparent"}))
        assert out.format == "rgba32"
        assert np.array_equal(
            out.array[..., 3] == 0, decode_frame(load(CT_PADDED), 0) == -2000
        )

    def test_window_reported(self) -> None:
        """The window used is reported; explicit windows override stored ones."""
        frame = modality_frame(load(MR_SMALL), 0)
        assert display(frame, RenderParams()).window == (600.0, 1600.0, "LINEAR")
        out = display(frame, RenderParams(window=Window(10.0, 20.0, "SIGMOID")))
        assert out.window == (10.0, 20.0, "SIGMOID")

    def test_voi_lut_default(self) -> None:
        """A stored VOI LUT is used by default and reports no window."""
        out = render(load(VOI_LUT_FILE), 0, RenderParams())
        assert out.window is None and out.array.dtype == np.uint8

    def test_voi_index_out_of_range(self) -> None:
        """voi=K beyond the stored windows/LUTs raises BadParameter."""
        with pytest.raises(BadParameter, match="'voi'"):
            render(load(MR_SMALL), 0, parse_params({"voi": "1"}))

    def test_second_stored_window_differs(self) -> None:
        """voi=1 selects the second stored window."""
        out = render(load(TWO_WINDOWS), 0, parse_params({"voi": "1"}))
        assert out.window == (200.0, 443.0, "LINEAR")

    def test_palette_rgb24(self) -> None:
        """16-bit segmented palette renders to 8-bit RGB."""
        out = render(load(PALETTE_16), 0, RenderParams())
        assert (
            out.format == "rgb24"
            and out.array.shape == (480, 640, 3)
            and out.window is None
        )

    def test_colour_gray8(self) -> None:
        """Colour images can be rendered as gray8 luma."""
        out = render(load(RGB), 0, parse_params({"format": "gray8"}))
        assert out.array.shape == (100, 100) and out.array.dtype == np.uint8

    def test_resize(self) -> None:
        """size=N fits the box and keeps the aspect ratio."""
        out = render(load("JPEG2000_UNC.dcm"), 0, parse_params({"size": "128"}))
        assert out.array.shape == (128, 32) and out.array.flags.c_contiguous

    def test_float_frame(self) -> None:
        """Float Pixel Data renders with its stored window."""
        out = render(load(FLOAT_MAP), 0, RenderParams())
        assert out.array.dtype == np.uint8 and out.window == (0.5, 1.0, "LINEAR")

    def test_frame_not_found(self) -> None:
        """Frame index beyond the count raises FrameNotFound."""
        with pytest.raises(FrameNotFound):
            render(load(EMRI), 99, RenderParams())

    def test_default_window_auto(self) -> None:
        """Without a stored window the derived window is used."""
        frame = modality_frame(load(EMRI), 0)
        window = default_window(frame)
        assert window is not None and window.function == "LINEAR_EXACT"
        assert display(frame, RenderParams()).window == (
            window.center,
            window.width,
            window.function,
        )


class TestInfo:
    def test_ct_small(self) -> None:
        """info() is JSON-serialisable and describes CT_small."""
        result = json.loads(json.dumps(info(load(CT_SMALL))))
        assert result["rows"] == 128 and result["frames"] == 1 and result["decodable"]
        assert result["modality"] == "CT" and result["rescale_intercept"] == -1024.0
        assert result["transfer_syntax_name"] == "Explicit VR Little Endian"
        assert result["default_window"]["function"] == "LINEAR_EXACT"
        assert result["pixel_spacing"] is not None

    def test_stored_windows_listed(self) -> None:
        """Stored windows are listed and the first is the default."""
        result = info(load(TWO_WINDOWS))
        assert [w["center"] for w in result["windows"]] == [450.0, 200.0]
        assert result["default_window"]["center"] == 450.0

    def test_undecodable_has_reason(self) -> None:
        """An undecodable file reports decodable false with a reason."""
        result = info(load(TRUNCATED))
        assert (
            result["decodable"] is False
            and "Explicit VR Little Endian" in result["reason"]
        )

    def test_voi_lut_explanations(self) -> None:
        """VOI LUTs are listed."""
        assert len(info(load(VOI_LUT_FILE))["voi_luts"]) == 1
