"""Tests of previewer.objects.presentation on a dcmpsmk GSPS of CT_small.dcm."""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest

from previewer.objects import presentation as ps
from previewer.pixels.errors import Unsupported
from previewer.pixels.params import RenderParams
from previewer.pixels.render import modality_frame
from objects_presentation import CT, add_shutter, annotate, dcmpsmk

IMAGE = pydicom.dcmread(CT)
UID = str(IMAGE.SOPInstanceUID)


def _pgm(path: Path) -> np.ndarray:
    data = path.read_bytes()
    parts = data.split(maxsplit=4)
    w, h = int(parts[1]), int(parts[2])
    return np.frombuffer(data[-w * h:], np.uint8).reshape(h, w)


def _plain(tmp: Path, **changes: object) -> Path:
    """A dcmpsmk GSPS with a Softcopy VOI window and the given attributes added by pydicom."""
    path = dcmpsmk(tmp)
    ds = pydicom.dcmread(path)
    voi = pydicom.Dataset()
    voi.WindowCenter, voi.WindowWidth = 40.0, 400.0
    ds.SoftcopyVOILUTSequence = pydicom.Sequence([voi])
    for k, v in changes.items():
        setattr(ds, k, v)
    ds.save_as(path)
    return path


def _render(path: Path, params: RenderParams = RenderParams()) -> np.ndarray:
    p = ps.parse(pydicom.dcmread(path))
    return ps.render(p, modality_frame(IMAGE, 0), UID, 1, params).array


def test_voi_matches_dcmp2pgm(tmp_path: Path) -> None:
    """The GSPS window (added to dcmpsmk's output) renders as dcmp2pgm renders it, within 1 level."""
    path = _plain(tmp_path)
    subprocess.run(["dcmp2pgm", "-q", "-p", str(path), CT, str(tmp_path / "o.pgm")], check=True)
    ref = _pgm(tmp_path / "o.pgm")
    ours = _render(path)
    assert ours.shape == ref.shape
    assert np.abs(ours.astype(int) - ref.astype(int)).max() <= 1


def test_rotation_and_flip_geometry(tmp_path: Path) -> None:
    """Rotation 90/180/270 clockwise as np.rot90 does; with a flip, the flip comes after the rotation."""
    base = _render(_plain(tmp_path))
    assert np.array_equal(_render(_plain(tmp_path, ImageRotation=90)), np.rot90(base, -1))
    assert np.array_equal(_render(_plain(tmp_path, ImageRotation=180)), np.rot90(base, 2))
    assert np.array_equal(_render(_plain(tmp_path, ImageRotation=270)), np.rot90(base, 1))
    flipped = _render(_plain(tmp_path, ImageHorizontalFlip="Y", ImageRotation=90))
    assert np.array_equal(flipped, np.rot90(base, -1)[:, ::-1])


def test_displayed_area_crops_and_pads(tmp_path: Path) -> None:
    """A Displayed Area of 11..60 crops; one beyond the image pads with black."""
    base = _render(_plain(tmp_path))
    path = _plain(tmp_path)
    ds = pydicom.dcmread(path)
    item = ds.DisplayedAreaSelectionSequence[0]
    item.DisplayedAreaTopLeftHandCorner = [11, 21]
    item.DisplayedAreaBottomRightHandCorner = [60, 140]
    ds.save_as(path)
    out = _render(path)
    assert out.shape == (120, 50)
    assert np.array_equal(out[:108], base[20:128, 10:60])
    assert not out[108:].any()


def test_annotations_drawn(tmp_path: Path) -> None:
    """The polyline, circle, filled ellipse, text and DISPLAY line draw white where placed."""
    path = annotate(dcmpsmk(tmp_path))
    r = ps.render(ps.parse(pydicom.dcmread(path)), modality_frame(IMAGE, 0), UID, 1, RenderParams())
    assert r.format == "rgb24"
    out = r.array
    white = (out == 255).all(axis=-1)
    assert white[10, 10:60].all()  # polyline row 10.5 -> pixel row 10
    assert white[64, 74] and white[64, 54]  # circle of radius 10 around (64, 64)
    assert white[100, 25:35].all()  # filled ellipse
    (tmp_path / "b").mkdir()
    grey = _render(_plain(tmp_path / "b"))
    assert (out[99:115, 99:140, 0] != grey[99:115, 99:140]).any()  # text anchored at (100, 100)
    assert (out[:90, 80:, 0] == grey[:90, 80:]).all()  # nothing drawn far from the objects
    assert white[126, :].all()  # DISPLAY polyline at 0.99 of the height


def test_check_reference() -> None:
    """Another image or a frame not referenced raises NotReferenced (422)."""
    p = ps.parse(pydicom.dcmread(dcmpsmk(Path(__import__("tempfile").mkdtemp()))))
    ps.check_reference(p, UID, 1)
    with pytest.raises(ps.NotReferenced, match="1.2.3"):
        ps.check_reference(p, "1.2.3", 1)
    framed = ps.Presentation(**{**p.__dict__, "images": ((UID, (2,)),)})
    with pytest.raises(ps.NotReferenced, match="frame 1"):
        ps.check_reference(framed, UID, 1)
    assert ps.NotReferenced.status == 422


def test_not_gsps_and_summary(tmp_path: Path) -> None:
    """An image is refused with 415; summary lists the referenced series and instance."""
    with pytest.raises(Unsupported):
        ps.parse(IMAGE)
    s = ps.summary(ps.parse(pydicom.dcmread(dcmpsmk(tmp_path))))
    assert s["instances"] == [UID] and s["series"] == [str(IMAGE.SeriesInstanceUID)]
    assert s["label"] == "UNNAMED"


def test_input_untouched(tmp_path: Path) -> None:
    """Rendering leaves the frame's array unchanged."""
    frame = modality_frame(IMAGE, 0)
    before = frame.array.copy()
    ps.render(ps.parse(pydicom.dcmread(annotate(dcmpsmk(tmp_path), rotation=90))), frame, UID, 1,
              RenderParams(max_width=64))
    assert np.array_equal(frame.array, before)


@pytest.mark.parametrize("rotation,flip", [(90, "N"), (90, "Y"), (270, "Y"), (180, "Y"), (0, "Y")])
def test_rotation_flip_match_dcmp2pgm(tmp_path: Path, rotation: int, flip: str) -> None:
    """Rotation and flip (set with pydicom in dcmpsmk's output) render as dcmp2pgm 3.6.7 does, within 1 level."""
    path = _plain(tmp_path, ImageRotation=rotation, ImageHorizontalFlip=flip)
    subprocess.run(["dcmp2pgm", "-q", "-p", str(path), CT, str(tmp_path / "o.pgm")], check=True)
    ref = _pgm(tmp_path / "o.pgm")
    ours = _render(path)
    assert ours.shape == ref.shape
    assert np.abs(ours.astype(int) - ref.astype(int)).max() <= 1


class TestSpatial:
    """ps._spatial: PS3.3 C.10.6, Image Rotation before Image Horizontal Flip."""

    #: An asymmetric 2x3 image: every pixel and every corner tells where it went.
    SMALL = np.array([[1, 2, 3], [4, 5, 6]])

    def test_rotation_90_then_flip_is_the_transpose(self) -> None:
        """Rotation 90 clockwise then flip: the top left corner stays, the top right goes bottom left."""
        out = ps._spatial(self.SMALL, True, 90)
        assert out.tolist() == [[1, 4], [2, 5], [3, 6]]
        assert out[0, 0] == 1 and out[-1, 0] == 3 and out[0, -1] == 4 and out[-1, -1] == 6
        # Flipping first would have moved the top left corner to the bottom right.
        assert ps._spatial(self.SMALL[:, ::-1], False, 90).tolist() != out.tolist()

    def test_rotation_270_then_flip(self) -> None:
        """Rotation 270 then flip: the top left corner goes to the bottom right."""
        assert ps._spatial(self.SMALL, True, 270).tolist() == [[6, 3], [5, 2], [4, 1]]

    def test_identity_returns_input(self) -> None:
        """No rotation and no flip returns the input itself."""
        assert ps._spatial(self.SMALL, False, 0) is self.SMALL


def _shuttered(tmp: Path, params: RenderParams = RenderParams(), **shutter: Any) -> np.ndarray:
    """Our render of a windowed dcmpsmk GSPS with ``add_shutter(**shutter)``."""
    return _render(add_shutter(_plain(tmp), **shutter), params)


class TestShutter:
    """Display Shutter, PS3.3 C.7.6.11, on a dcmpsmk GSPS of CT_small.dcm with shutters added by pydicom."""

    def test_rectangular(self, tmp_path: Path) -> None:
        """Columns 20..60 and rows 30..100 (1-based, inclusive) stay; everything else is black."""
        base = _render(_plain(tmp_path))
        out = _shuttered(tmp_path, rectangle=(20, 60, 30, 100))
        inside = np.zeros(base.shape, bool)
        inside[29:100, 19:60] = True
        assert np.array_equal(out[inside], base[inside])
        assert not out[~inside].any()
        assert base[29, 19] or base[99, 59]  # the corners kept are not black already
        assert out[28, 30] == 0 and out[100, 30] == 0 and out[50, 18] == 0 and out[50, 60] == 0

    def test_circular(self, tmp_path: Path) -> None:
        """A circle of radius 30 around row 64, column 40 (1-based): pixel centres within it stay."""
        base = _render(_plain(tmp_path))
        out = _shuttered(tmp_path, circle=(64, 40, 30))
        r, c = np.mgrid[1:129, 1:129]
        inside = (r - 64) ** 2 + (c - 40) ** 2 <= 900
        assert np.array_equal(out[inside], base[inside]) and not out[~inside].any()
        assert inside[63, 69] and not inside[63, 70]  # (64, 70) on the circle, (64, 71) beyond it
        assert inside[33, 39] and not inside[32, 39]

    def test_polygonal(self, tmp_path: Path) -> None:
        """A triangle (10,10), (10,100), (120,50) as (row, column): its inside stays, its outside is black."""
        base = _render(_plain(tmp_path))
        out = _shuttered(tmp_path, polygon=((10, 10), (10, 100), (120, 50)))
        for row, col in ((10, 10), (10, 100), (50, 50), (100, 50)):  # vertices and inner points, 1-based
            assert out[row - 1, col - 1] == base[row - 1, col - 1]
        for row, col in ((9, 50), (120, 10), (60, 110), (100, 30)):  # outside
            assert out[row - 1, col - 1] == 0
        assert base[99, 29] != 0 and base[59, 109] != 0

    def test_shapes_combine(self, tmp_path: Path) -> None:
        """Rectangle and circle together leave only their intersection."""
        out = _shuttered(tmp_path, rectangle=(1, 128, 1, 64), circle=(64, 64, 20))
        assert not out[64:].any() and not out[:40].any()
        assert out[50:64, 60:68].all()

    def test_presentation_value(self, tmp_path: Path) -> None:
        """Shutter Presentation Value 65535 (a P-Value) shows white, 32768 mid grey."""
        assert (_shuttered(tmp_path, rectangle=(20, 60, 30, 100), value=65535)[:29] == 255).all()
        assert (_shuttered(tmp_path, rectangle=(20, 60, 30, 100), value=32768)[:29] == 128).all()

    def test_colour(self, tmp_path: Path) -> None:
        """The Shutter Presentation Color CIELab Value is used (rgb24); format=gray8 uses the grey value."""
        red = (34885, 53485, 50171)  # DICOM-encoded CIELab (L* 53.23, a* 80.11, b* 67.22) of sRGB red
        base = _render(_plain(tmp_path))
        out = _shuttered(tmp_path, rectangle=(20, 60, 30, 100), value=65535, lab=red)
        assert out.shape == (128, 128, 3)
        assert tuple(out[0, 0]) == (255, 0, 0)   # tests/test_pixels_color.py: lab_to_rgb against the standards
        assert np.array_equal(out[50, 30], [base[50, 30]] * 3)
        grey = _shuttered(tmp_path, RenderParams(format="gray8"), rectangle=(20, 60, 30, 100),
                          value=65535, lab=red)
        assert grey.ndim == 2 and grey[0, 0] == 255

    def test_before_spatial_transformation(self, tmp_path: Path) -> None:
        """The shutter is in the image's pixel space: with rotation 90 it turns with the image."""
        plain = _shuttered(tmp_path, rectangle=(20, 60, 30, 100))
        path = add_shutter(_plain(tmp_path, ImageRotation=90), rectangle=(20, 60, 30, 100))
        assert np.array_equal(_render(path), np.rot90(plain, -1))

    def test_malformed_shapes_are_left_out(self, tmp_path: Path) -> None:
        """A rectangle without edges, a circle of one value and a polygon of two vertices: no shutter, no error."""
        path = _plain(tmp_path, ShutterShape=["RECTANGULAR", "CIRCULAR", "POLYGONAL"],
                      CenterOfCircularShutter=[64], RadiusOfCircularShutter=10,
                      VerticesOfThePolygonalShutter=[1, 1, 50, 50])
        assert ps.parse(pydicom.dcmread(path)).shutter is None
        (tmp_path / "b").mkdir()
        assert np.array_equal(_render(path), _render(_plain(tmp_path / "b")))

    def test_hostile_coordinates(self, tmp_path: Path) -> None:
        """Edges and vertices far beyond the image: the shutter still applies, nothing fails."""
        out = _shuttered(tmp_path, rectangle=(-10**9, 10**9, 64, 10**9),
                         polygon=((-10**10, -10**10), (-10**10, 10**10), (10**10, 0)))
        assert not out[:63].any() and out[63:].any()

    def test_pure(self) -> None:
        """apply_shutter returns its input without a shutter and never changes it."""
        arr = np.full((4, 5), 100, np.uint8)
        assert ps.apply_shutter(arr, None) is arr
        shutter = ps.Shutter((2, 4, 2, 3), None, (), 0, (255, 0, 0))
        out = ps.apply_shutter(arr, shutter)
        assert (arr == 100).all() and out.shape == (4, 5, 3)
        assert tuple(out[0, 0]) == (255, 0, 0) and tuple(out[1, 1]) == (100, 100, 100)
        assert ps.shutter_mask((4, 5), shutter).sum() == 6

    def test_dcmp2pgm_agrees(self, tmp_path: Path) -> None:
        """dcmp2pgm 3.6.7 reads the same geometry (its -v dump, x = column) and renders the visible part alike.

        dcmp2pgm draws no rectangular, circular or polygonal shutter into its output,
        so only what stays visible is compared.
        """
        path = add_shutter(_plain(tmp_path), rectangle=(20, 60, 30, 100), circle=(64, 40, 30),
                           polygon=((10, 10), (10, 100), (120, 50)), value=65535)
        run = subprocess.run(["dcmp2pgm", "-v", "-p", str(path), CT, str(tmp_path / "o.pgm")],
                             check=True, capture_output=True, text=True)
        dump = run.stdout + run.stderr
        assert "Rectangular shutter: LV=20 RV=60 UH=30 LH=100" in dump
        assert "Circular shutter: center=40\\64 radius=30" in dump
        assert "coordinates=10\\10, 100\\10, 50\\120," in dump
        assert "Shutter presentation value: 0xffff" in dump
        s = ps.parse(pydicom.dcmread(path)).shutter
        assert s is not None and s.rectangle == (20, 60, 30, 100) and s.circle == (64, 40, 30)
        assert s.polygon == ((10, 10), (10, 100), (120, 50)) and s.value == 65535
        ours, ref = _render(path), _pgm(tmp_path / "o.pgm")
        visible = ps.shutter_mask(ref.shape, s)
        assert visible.sum() > 500
        assert np.abs(ours[visible].astype(int) - ref[visible].astype(int)).max() <= 1
        assert (ours[~visible] == 255).all()
