"""Tests of previewer.objects.segmentation on highdicom SEGs (tests/objects_segmentation.py)."""
from __future__ import annotations

import numpy as np
import pytest

from previewer.objects import segmentation as S
from previewer.pixels.errors import BadParameter
from previewer.pixels.render import Rendered

import objects_segmentation as make

IMAGES = make.source_images()
BINARY = S.parse(make.segmentation("BINARY"))
FRACTIONAL = S.parse(make.segmentation("FRACTIONAL"))


def _grey() -> Rendered:
    return Rendered(np.full((128, 128), 100, np.uint8), "gray8", None)


def test_summary() -> None:
    """highdicom BINARY SEG over CT_small + derived slice: labels, colours, references."""
    s = S.summary(BINARY)
    assert s["type"] == "BINARY" and [g["label"] for g in s["segments"]] == ["Liver", "Kidney"]
    assert s["segments"][0]["color"] == "#ff0000" and s["segments"][1]["color"] == "#00ff00"
    assert set(s["instances"]) == {ds.SOPInstanceUID for ds in IMAGES}


def test_masks_for_each_image() -> None:
    """highdicom BINARY SEG: image 1 has segments 1 and 2, image 2 only segment 2."""
    first = S.masks_for(BINARY, IMAGES[0].SOPInstanceUID, 1)
    second = S.masks_for(BINARY, IMAGES[1].SOPInstanceUID, 1)
    assert first[1].sum() == 1600 and first[2].sum() == 100 and set(second) == {2}
    assert second[2].sum() == 2500


def test_fractional_coverage() -> None:
    """highdicom FRACTIONAL SEG (0.5 probability): coverage 0.5 where masked."""
    m = S.masks_for(FRACTIONAL, IMAGES[0].SOPInstanceUID, 1)
    assert m[1][20, 20] == pytest.approx(0.5, abs=0.01) and m[1][80, 80] == 0


def test_not_referenced() -> None:
    """highdicom BINARY SEG: an unknown image is a 422."""
    with pytest.raises(S.NotReferenced):
        S.masks_for(BINARY, "1.2.3", 1)


def test_draw_colour_opacity_and_inputs() -> None:
    """highdicom BINARY SEG drawn over a grey frame: red at opacity 1, untouched elsewhere, halfway at 0.5."""
    rendered = _grey()
    masks = S.masks_for(BINARY, IMAGES[0].SOPInstanceUID, 1)
    full = S.draw(rendered, masks, BINARY, 1.0, None)
    assert tuple(full.array[20, 20]) == (255, 0, 0) and tuple(full.array[80, 80]) == (100, 100, 100)
    half = S.draw(rendered, masks, BINARY, 0.5, None)
    assert abs(int(half.array[20, 20, 0]) - 178) <= 1
    assert rendered.array.ndim == 2 and (rendered.array == 100).all()


def test_segments_filter_and_downscale() -> None:
    """highdicom BINARY SEG: segments={2} leaves segment 1 untouched; a 64x64 output is blended too."""
    masks = S.masks_for(BINARY, IMAGES[0].SOPInstanceUID, 1)
    only2 = S.draw(_grey(), masks, BINARY, 1.0, frozenset({2}))
    assert tuple(only2.array[20, 20]) == (100, 100, 100) and tuple(only2.array[105, 105]) == (0, 255, 0)
    small = S.draw(Rendered(np.full((64, 64), 100, np.uint8), "gray8", None), masks, BINARY, 1.0, None)
    assert small.array.shape == (64, 64, 3) and tuple(small.array[10, 10]) == (255, 0, 0)
    with pytest.raises(BadParameter):
        S.draw(_grey(), masks, BINARY, 1.0, frozenset({7}))


def test_parse_options() -> None:
    """Query parsing: defaults, values and malformed input."""
    assert S.parse_options({}) == (0.5, None)
    assert S.parse_options({"opacity": "0.2", "segments": "1,3"}) == (0.2, frozenset({1, 3}))
    for bad in ({"opacity": "2"}, {"opacity": "x"}, {"segments": "1,,a"}, {"segments": "0"}):
        with pytest.raises(BadParameter):
            S.parse_options(bad)


def test_geometry_mismatch() -> None:
    """A SEG whose Rows/Columns (edited by pydicom to 64x128) are not the image's 128x128 is a 422 naming both."""
    small = S.parse(make.resized_segmentation(64, 128))
    S.check_geometry(BINARY, 128, 128)
    with pytest.raises(S.NotReferenced, match="64x128.*128x128"):
        S.check_geometry(small, 128, 128)
    assert S.NotReferenced.status == 422
    masks = S.masks_for(small, IMAGES[0].SOPInstanceUID, 1)
    with pytest.raises(S.NotReferenced, match="aspect ratio"):  # the render alone tells another aspect ratio
        S.draw(_grey(), masks, small, 1.0, None)
    S.draw(Rendered(np.full((32, 64), 100, np.uint8), "gray8", None), masks, small, 1.0, None)


def test_frame_of_reference_mismatch() -> None:
    """highdicom BINARY SEG: another Frame of Reference UID is a 422; none given is not checked."""
    assert BINARY.frame_of_reference == IMAGES[0].FrameOfReferenceUID
    S.check_geometry(BINARY, 128, 128, IMAGES[0].FrameOfReferenceUID)
    S.check_geometry(BINARY, 128, 128, "")
    with pytest.raises(S.NotReferenced, match="Frame of Reference"):
        S.check_geometry(BINARY, 128, 128, "1.2.3")
