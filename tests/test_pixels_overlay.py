"""Tests of previewer.pixels.overlay and the overlays of render/params (PS3.3 C.9.2, C.9.3).

Files: pydicom-data's real MR-SIEMENS-DICOM-WithOverlays.dcm, and
tests/objects_overlay.multiframe_overlay() (pydicom's real emri_small.dcm with
overlay planes added by pydicom: no real multi-frame overlay file is known).
References: dcmtk's dcmj2pnm (burns overlays; +Omr: "Replace" mode for every
plane, white) and pydicom's Dataset.overlay_array.
"""

from __future__ import annotations

import dataclasses
import io
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pydicom.data
import pytest
from conftest import tool
from objects_overlay import (
    FRAME_ORIGIN,
    MULTIFRAME_ORIGIN,
    multiframe_bitmaps,
    multiframe_overlay,
    siemens_overlay,
)
from PIL import Image

from previewer.pixels.reader import read_dataset
from previewer.pixels.errors import BadParameter
from previewer.pixels.overlay import burn, coverage, describe, frame_overlays
from previewer.pixels.params import RenderParams, parse_params
from previewer.pixels.render import display, info, modality_frame
from previewer.pixels.resize import area_resize

#: emri_small's frames shown with this window (it has none stored).
MF_WINDOW = "300,500"


@pytest.fixture(scope="module")
def siemens() -> bytes:
    return siemens_overlay()


@pytest.fixture(scope="module")
def multiframe() -> bytes:
    return multiframe_overlay()


def _dcmj2pnm(tmp: Path, data: bytes, *args: str) -> np.ndarray:
    """dcmj2pnm's 8-bit PGM of ``data`` as an array."""
    src, out = tmp / "in.dcm", tmp / "out.pgm"
    src.write_bytes(data)
    subprocess.run([tool("dcmj2pnm", "dcmtk"), "-q", "+op", *args, str(src), str(out)], check=True,
                   capture_output=True)
    with Image.open(out) as image:
        return np.asarray(image).astype(np.int64)


class TestParams:
    def test_defaults(self) -> None:
        """Without parameters overlays are on, in the default (white) colour."""
        params = parse_params({})
        assert params.overlays is True and params.overlay_color is None

    @pytest.mark.parametrize(("text", "rgb"), [("red", (255, 0, 0)), ("Yellow", (255, 255, 0)),
                                              ("00ff7F", (0, 255, 127)), ("#0A0b0C", (10, 11, 12))])
    def test_colours(self, text: str, rgb: tuple[int, int, int]) -> None:
        """overlay= takes names, RRGGBB and #RRGGBB, in any case."""
        assert parse_params({"overlay": text}).overlay_color == rgb

    @pytest.mark.parametrize("query", [{"overlay": "purple"}, {"overlay": "12345"}, {"overlay": "#12345g"},
                                       {"overlays": "2"}, {"overlays": "yes"}])
    def test_bad_values(self, query: dict[str, str]) -> None:
        """A bad overlay colour or flag is a BadParameter naming the parameter."""
        with pytest.raises(BadParameter, match="overlay"):
            parse_params(query)

    def test_cache_key(self) -> None:
        """The key tells overlays off and other colours apart; white is the default's key."""
        keys = {parse_params(q).cache_key() for q in ({}, {"overlays": "0"}, {"overlay": "red"})}
        assert len(keys) == 3
        assert parse_params({"overlay": "FFFFFF"}).cache_key() == parse_params({}).cache_key()
        assert parse_params({"overlays": "0", "overlay": "red"}).cache_key() == \
            parse_params({"overlays": "0"}).cache_key()


class TestFrameOverlays:
    def test_siemens_matches_pydicom(self, siemens: bytes) -> None:
        """The real file's bitmap is pydicom's overlay_array, read-only, at origin 1\\1."""
        ds = read_dataset(siemens)
        (overlay,) = frame_overlays(ds, 0, (ds.Rows, ds.Columns))
        expected = pydicom.dcmread(io.BytesIO(siemens)).overlay_array(0x6000).astype(bool)
        assert np.array_equal(overlay.bitmap, expected)
        assert not overlay.bitmap.flags.writeable
        assert (overlay.group, overlay.position, overlay.type) == (0x6000, (0, 0), "G")

    def test_multiframe_sequence(self, multiframe: bytes) -> None:
        """Overlay frame k shows on image frame Image Frame Origin - 1 + k; the one-frame plane on every frame."""
        ds = read_dataset(multiframe)
        bits = multiframe_bitmaps()
        top, left = MULTIFRAME_ORIGIN[0] - 1, MULTIFRAME_ORIGIN[1] - 1
        visible = (slice(-top, None), slice(0, ds.Columns - left))
        for index in range(10):
            found = {o.group: o for o in frame_overlays(ds, index, (ds.Rows, ds.Columns))}
            assert 0x6002 in found
            k = index - (FRAME_ORIGIN - 1)
            if 0 <= k < len(bits):
                assert np.array_equal(found[0x6000].bitmap, bits[k][visible])
                assert found[0x6000].position == (0, left)
            else:
                assert 0x6000 not in found

    def test_big_endian(self, multiframe: bytes, tmp_path: Path) -> None:
        """dcmconv +tb (explicit big endian) gives the same bitmaps (OW words swapped back)."""
        (tmp_path / "le.dcm").write_bytes(multiframe)
        subprocess.run([tool("dcmconv", "dcmtk"), "+tb", str(tmp_path / "le.dcm"), str(tmp_path / "be.dcm")], check=True)
        le, be = read_dataset(multiframe), read_dataset((tmp_path / "be.dcm").read_bytes())
        a, b = frame_overlays(le, 4, (64, 64)), frame_overlays(be, 4, (64, 64))
        assert len(a) == len(b) == 2
        assert all(np.array_equal(x.bitmap, y.bitmap) for x, y in zip(a, b, strict=True))

    def test_malformed_planes_skipped(self, siemens: bytes) -> None:
        """Short Overlay Data, embedded (Bits Allocated 16) or zero rows: the plane is left out."""
        for element, value in ((0x3000, b"\0\0"), (0x0100, 16), (0x0010, 0)):
            ds = read_dataset(siemens)
            ds[(0x6000, element)].value = value
            assert frame_overlays(ds, 0, (484, 484)) == ()
            assert describe(ds) == []

    @pytest.mark.parametrize(("element", "vr", "value"), [
        (0x0050, "FD", [float("inf"), 1.0]), (0x0050, "FD", [float("nan"), float("-inf")]),
        (0x0010, "FD", float("inf")), (0x0011, "FD", float("-inf")),
    ])
    def test_infinite_values_skipped(self, siemens: bytes, element: int, vr: str, value: object) -> None:
        """An infinite or NaN origin, size or frame count (a wrong VR: FD) leaves the plane out, not an OverflowError."""
        ds = pydicom.dcmread(io.BytesIO(siemens))
        ds[(0x6000, element)] = pydicom.DataElement((0x6000, element), vr, value)
        out = io.BytesIO()
        ds.save_as(out, enforce_file_format=True)
        parsed = read_dataset(out.getvalue())
        assert frame_overlays(parsed, 0, (484, 484)) == ()
        assert describe(parsed) == []
        assert info(parsed)["overlays"] == []
        assert display(modality_frame(parsed, 0), RenderParams()).array.shape == (484, 484)

    def test_frame_origin_infinite_is_one(self, multiframe: bytes) -> None:
        """An infinite Image Frame Origin (wrong VR) counts as absent: the plane starts at frame 1."""
        ds = read_dataset(multiframe)
        ds[(0x6000, 0x0051)] = pydicom.DataElement((0x6000, 0x0051), "FD", float("inf"))
        assert [o.group for o in frame_overlays(ds, 0, (64, 64))] == [0x6000, 0x6002]

    def test_frame_count_infinite_is_one(self, siemens: bytes) -> None:
        """An infinite Number of Frames in Overlay (wrong VR) counts as absent: one frame, shown."""
        ds = read_dataset(siemens)
        ds[(0x6000, 0x0015)] = pydicom.DataElement((0x6000, 0x0015), "FD", float("inf"))
        assert [o.group for o in frame_overlays(ds, 0, (484, 484))] == [0x6000]

    def test_outside_image(self, siemens: bytes) -> None:
        """A plane whose origin puts it outside the image shows nothing."""
        ds = read_dataset(siemens)
        ds[(0x6000, 0x0050)].value = [600, 1]
        assert frame_overlays(ds, 0, (484, 484)) == ()


class TestDisplay:
    def test_siemens_against_dcmtk(self, siemens: bytes, tmp_path: Path) -> None:
        """Default rendering is within 1 of dcmj2pnm's (overlays burned white); overlays=0 of dcmj2pnm -O."""
        frame = modality_frame(read_dataset(siemens), 0)
        on = display(frame, parse_params({"voi": "0"}))
        assert on.format == "gray8"
        assert np.abs(on.array - _dcmj2pnm(tmp_path, siemens, "+Wi", "1")).max() <= 1
        assert (on.array[frame.overlays[0].bitmap] == 255).all()
        off = display(frame, parse_params({"voi": "0", "overlays": "0"})).array
        assert np.abs(off - _dcmj2pnm(tmp_path, siemens, "-O", "+Wi", "1")).max() <= 1
        assert not np.array_equal(on.array, off)

    @pytest.mark.parametrize("number", [1, 4, 5, 6, 7])
    def test_multiframe_against_dcmtk(self, multiframe: bytes, tmp_path: Path, number: int) -> None:
        """Each frame is within 1 of dcmj2pnm +F n +Omr (planes in Replace mode)."""
        frame = modality_frame(read_dataset(multiframe), number - 1)
        got = display(frame, parse_params({"window": MF_WINDOW})).array
        expected = _dcmj2pnm(tmp_path, multiframe, "+Omr", "+F", str(number), "+Ww", "300", "500")
        assert np.abs(got - expected).max() <= 1
        assert int((expected == 255).sum()) == int((got == 255).sum()) > 0

    def test_unchanged_without_overlays(self, siemens: bytes) -> None:
        """A frame without overlays renders byte-identically, whatever the overlay parameters."""
        frame = dataclasses.replace(modality_frame(read_dataset(siemens), 0), overlays=())
        plain = display(frame, RenderParams(overlays=False))
        for query in ({}, {"overlay": "red"}, {"size": "100", "overlay": "00ff00"}):
            out = display(frame, parse_params(query))
            small = display(frame, RenderParams(overlays=False, max_width=100, max_height=100))
            reference = small if "size" in query else plain
            assert out.format == reference.format == "gray8"
            assert out.array.tobytes() == reference.array.tobytes()

    def test_colour_formats(self, siemens: bytes) -> None:
        """red: default rgb24 with (255,0,0) on the overlay; gray8 gets the luminance, rgba32 opaque red."""
        frame = modality_frame(read_dataset(siemens), 0)
        mask = frame.overlays[0].bitmap
        grey = display(frame, parse_params({"overlays": "0"})).array
        rgb = display(frame, parse_params({"overlay": "red"}))
        assert rgb.format == "rgb24"
        assert (rgb.array[mask] == (255, 0, 0)).all()
        assert (rgb.array[~mask] == grey[~mask][:, None]).all()
        assert (display(frame, parse_params({"overlay": "red", "format": "gray8"})).array[mask] == 76).all()
        rgba = display(frame, parse_params({"overlay": "red", "format": "rgba32"})).array
        assert (rgba[mask] == (255, 0, 0, 255)).all()
        g16 = display(frame, parse_params({"overlay": "808080", "format": "gray16"}))
        assert g16.format == "gray16" and (g16.array[mask] == 128 * 257).all()

    def test_signed16_not_burned(self, siemens: bytes) -> None:
        """signed16 carries raw modality values: overlays are not drawn."""
        frame = modality_frame(read_dataset(siemens), 0)
        on = display(frame, parse_params({"format": "signed16"})).array
        assert np.array_equal(on, display(frame, parse_params({"format": "signed16", "overlays": "0"})).array)

    def test_thumbnail_coverage(self, multiframe: bytes) -> None:
        """Fitted in 16 px, the 1-pixel cross stays visible, blended by its area coverage."""
        frame = modality_frame(read_dataset(multiframe), 0)
        on = display(frame, parse_params({"size": "16", "window": MF_WINDOW})).array.astype(np.int64)
        off = display(frame, parse_params({"size": "16", "window": MF_WINDOW, "overlays": "0"})).array
        (_, fraction) = coverage(frame.overlays, (16, 16)) or ((0, 0), np.zeros(0))
        expected = np.rint(off * (1 - fraction) + 255 * fraction)
        assert np.abs(on - expected).max() <= 0
        assert (on[fraction > 0] > off[fraction > 0]).all()

    def test_coverage_is_area_average(self, multiframe: bytes) -> None:
        """Coverage equals area_resize of the full-size union mask."""
        frame = modality_frame(read_dataset(multiframe), 4)
        full = np.zeros((64, 64), np.float32)
        for o in frame.overlays:
            r, c = o.position
            full[r:r + o.bitmap.shape[0], c:c + o.bitmap.shape[1]] += o.bitmap
        full = np.minimum(full, 1)
        (row, col), fraction = coverage(frame.overlays, (20, 20)) or ((0, 0), np.zeros(0))
        whole = np.zeros((20, 20))
        whole[row:row + fraction.shape[0], col:col + fraction.shape[1]] = fraction
        assert np.abs(whole - area_resize(full, 20, 20)).max() < 1e-5

    def test_downscaled_frame(self, multiframe: bytes) -> None:
        """A frame pre-averaged to the box (views._downscaled) keeps its overlays at their place."""
        frame = modality_frame(read_dataset(multiframe), 4)
        small = dataclasses.replace(frame, array=area_resize(frame.array, 32, 32))
        got = display(small, parse_params({"window": MF_WINDOW})).array
        (_, fraction) = coverage(frame.overlays, (32, 32)) or ((0, 0), np.zeros(0))
        assert got.shape == (32, 32) and (got[fraction >= 0.5] >= 128).all()

    def test_inputs_unchanged(self, siemens: bytes) -> None:
        """burn returns a new array and leaves its input as it was."""
        frame = modality_frame(read_dataset(siemens), 0)
        out = display(frame, parse_params({"overlays": "0"})).array
        before = out.copy()
        burned = burn(out, frame.overlays, (255, 0, 0), "gray8")
        assert burned is not out and np.array_equal(out, before)


class TestInfo:
    def test_overlays_listed(self, multiframe: bytes) -> None:
        """info() lists each plane with group, size, origin, frames, type, label and description."""
        planes = info(read_dataset(multiframe))["overlays"]
        assert planes[0] == {"group": "6000", "rows": 30, "columns": 30, "origin": list(MULTIFRAME_ORIGIN),
                             "frames": 3, "frame_origin": FRAME_ORIGIN, "type": "G", "label": "PATTERN",
                             "description": "frame-numbered pattern"}
        assert (planes[1]["group"], planes[1]["type"], planes[1]["frames"]) == ("6002", "R", 1)

    def test_none(self) -> None:
        """A file without overlay planes has an empty list."""
        path = pydicom.data.get_testdata_file("CT_small.dcm")
        assert info(read_dataset(Path(str(path)).read_bytes()))["overlays"] == []

