"""Tests of previewer.objects.segmentation on highdicom SEGs (tests/objects_segmentation.py) and pydicom's liver SEGs."""
from __future__ import annotations

from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from previewer.objects import segmentation as S
from previewer.pixels.color import lab_to_rgb
from previewer.pixels.errors import BadParameter, Unsupported
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


LIVER = "liver_1frame.dcm"          # pydicom's one-frame SEG (512x512, segment 1 "Liver"), three per-frame items
LIVER_BIG_ENDIAN = "liver_expb_1frame.dcm"   # the same SEG in Explicit VR Big Endian


def _liver(name: str = LIVER) -> Any:
    return pydicom.dcmread(get_testdata_file(name))


def _liver_colour(ds: Any) -> tuple[int, int, int]:
    return lab_to_rgb(tuple(int(v) for v in ds.SegmentSequence[0].RecommendedDisplayCIELabValue))


class TestParseExtras:
    def test_liver_1frame_keeps_the_first_frame_item(self) -> None:
        """pydicom's liver_1frame.dcm: one frame, three per-frame items; the first describes the frame."""
        ds = _liver()
        seg = S.parse(ds)
        first = ds.PerFrameFunctionalGroupsSequence[0]
        assert seg.frames.shape == (1, 512, 512)
        assert seg.refs == ((first.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID, 1, 1),)
        assert seg.positions == (tuple(float(v) for v in first.PlanePositionSequence[0].ImagePositionPatient),)
        assert seg.patient_id == ds.PatientID and seg.study == ds.StudyInstanceUID
        assert seg.series_of[seg.refs[0][0]] == ds.ReferencedSeriesSequence[0].SeriesInstanceUID

    def test_fewer_items_than_frames_is_a_415(self) -> None:
        """highdicom BINARY SEG with one per-frame item deleted by pydicom (no real file lacks one): 415."""
        ds = make.segmentation("BINARY")
        del ds.PerFrameFunctionalGroupsSequence[-1]
        with pytest.raises(Unsupported, match="per-frame functional groups"):
            S.parse(ds)


class TestThumbnailImage:
    def test_the_image_with_the_most_segments(self) -> None:
        """highdicom BINARY SEG: image 1 holds segments 1 and 2, image 2 only segment 2, so image 1 is shown."""
        picked = S.thumbnail_image(BINARY)
        assert (picked.uid, picked.frame, picked.segments) == (IMAGES[0].SOPInstanceUID, 1, (1, 2))
        assert {BINARY.refs[i][0] for i in picked.indices} == {IMAGES[0].SOPInstanceUID}

    def test_ties_go_to_the_larger_area(self) -> None:
        """highdicom BINARY SEG with segment 1 cleared by pydicom (an edge case): one segment each, image 2's is larger."""
        ds = make.segmentation("BINARY")
        frames = np.asarray(ds.pixel_array).reshape(-1, 128, 128).copy()
        seg1 = [i for i, g in enumerate(ds.PerFrameFunctionalGroupsSequence)
                if g.SegmentIdentificationSequence[0].ReferencedSegmentNumber == 1]
        frames[seg1] = 0
        ds.PixelData = np.packbits(frames.reshape(-1), bitorder="little").tobytes()
        picked = S.thumbnail_image(S.parse(ds))
        assert (picked.uid, picked.segments) == (IMAGES[1].SOPInstanceUID, (2,))

    def test_frames_without_a_source_image_group_by_position(self) -> None:
        """highdicom BINARY SEG without Derivation Image items (removed by pydicom; no real file here lacks them):
        the frames at image 1's plane position are one picture, with no image under it."""
        ds = make.segmentation("BINARY")
        for group in ds.PerFrameFunctionalGroupsSequence:
            del group.DerivationImageSequence
        picked = S.thumbnail_image(S.parse(ds))
        assert (picked.uid, picked.frame, picked.segments) == ("", 0, (1, 2))

    def test_undefined_segments_do_not_count(self) -> None:
        """highdicom BINARY SEG whose frames all name segment 99 (hostile_objects' unknown_segment edit): no segment shown."""
        ds = make.segmentation("BINARY")
        for group in ds.PerFrameFunctionalGroupsSequence:
            group.SegmentIdentificationSequence[0].ReferencedSegmentNumber = 99
        seg = S.parse(ds)
        picked = S.thumbnail_image(seg)
        assert picked.segments == () and picked.uid == IMAGES[0].SOPInstanceUID   # the first image, by frame order
        under = _grey()
        assert (S.thumbnail(seg, picked, under, None, None).array == 100).all()


class TestThumbnail:
    def test_segments_opaque_over_the_image(self) -> None:
        """highdicom BINARY SEG over CT_small's pixels (top 8 bits): each mask in its segment's colour, the rest the image."""
        ct = (np.asarray(IMAGES[0].pixel_array).astype(np.int64) - int(IMAGES[0].pixel_array.min())) >> 4
        under = Rendered(np.clip(ct, 0, 255).astype(np.uint8), "gray8", None)
        out = S.thumbnail(BINARY, S.thumbnail_image(BINARY), under, None, None).array
        masks = make.masks()[0]
        colours = {s.number: s.color for s in BINARY.segments}
        only1 = (masks[..., 0] == 1) & (masks[..., 1] == 0)
        assert (out[only1] == colours[1]).all() and (out[masks[..., 1] == 1] == colours[2]).all()
        outside = masks.sum(axis=2) == 0
        assert (out[outside] == under.array[outside][:, None]).all()

    def test_on_black_in_the_lab_colour(self) -> None:
        """pydicom's liver_1frame.dcm on black: its pixel_array's mask in its CIELab colour, black elsewhere."""
        ds = _liver()
        seg = S.parse(ds)
        out = S.thumbnail(seg, S.thumbnail_image(seg), None, None, None).array
        mask = np.asarray(ds.pixel_array) == 1
        assert out.shape == (512, 512, 3)
        assert (out[mask] == _liver_colour(ds)).all() and (out[~mask] == 0).all()

    def test_big_endian_and_box(self) -> None:
        """liver_expb_1frame.dcm gives liver_1frame.dcm's picture; in a 128 box each 4x4 block is area-averaged."""
        seg = S.parse(_liver(LIVER_BIG_ENDIAN))
        same = S.parse(_liver())
        assert (S.thumbnail(seg, S.thumbnail_image(seg), None, None, None).array ==
                S.thumbnail(same, S.thumbnail_image(same), None, None, None).array).all()
        small = S.thumbnail(seg, S.thumbnail_image(seg), None, 128, 128).array
        coverage = (np.asarray(_liver().pixel_array) == 1).reshape(128, 4, 128, 4).mean(axis=(1, 3))
        colour = np.array(_liver_colour(_liver()))
        assert small.shape == (128, 128, 3)
        assert (small[coverage == 1] == colour).all() and (small[coverage == 0] == 0).all()
        partial = (coverage > 0) & (coverage < 1)
        assert np.abs(small[partial] - coverage[partial][:, None] * colour).max() <= 1
