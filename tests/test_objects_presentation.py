"""Tests of previewer.objects.presentation on a dcmpsmk GSPS of CT_small.dcm."""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest

from previewer.objects import presentation as ps
from previewer.pixels.errors import Unsupported
from previewer.pixels.params import RenderParams
from previewer.pixels.render import modality_frame
from objects_presentation import CT, annotate, dcmpsmk

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
    """Rotation 90/180/270 clockwise and horizontal flip move pixels as np.rot90/fliplr do."""
    base = _render(_plain(tmp_path))
    assert np.array_equal(_render(_plain(tmp_path, ImageRotation=90)), np.rot90(base, -1))
    assert np.array_equal(_render(_plain(tmp_path, ImageRotation=180)), np.rot90(base, 2))
    assert np.array_equal(_render(_plain(tmp_path, ImageRotation=270)), np.rot90(base, 1))
    flipped = _render(_plain(tmp_path, ImageHorizontalFlip="Y", ImageRotation=90))
    assert np.array_equal(flipped, np.rot90(base[:, ::-1], -1))


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


def test_rotation_flip_match_dcmp2pgm(tmp_path: Path) -> None:
    """Rotation 90 (set with pydicom in dcmpsmk's output) renders as dcmp2pgm does, within 1 level.

    With a flip too, dcmp2pgm 3.6.7 flips after rotating; we flip first, as PS3.3 C.10.6.1.1 reads.
    """
    path = _plain(tmp_path, ImageRotation=90, ImageHorizontalFlip="N")
    subprocess.run(["dcmp2pgm", "-q", "-p", str(path), CT, str(tmp_path / "o.pgm")], check=True)
    ref = _pgm(tmp_path / "o.pgm")
    ours = _render(path)
    assert ours.shape == ref.shape
    assert np.abs(ours.astype(int) - ref.astype(int)).max() <= 1
