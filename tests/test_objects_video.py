"""Tests of previewer.objects.video on PyAV-encoded MPEG-2 and H.264 wrapped by pydicom (tests/objects_video.py)."""

from __future__ import annotations

import pytest
from objects_video import level, make_video_dataset

from previewer.objects import video
from previewer.pixels.errors import FrameNotFound
from previewer.pixels.params import RenderParams
from previewer.pixels.render import display, modality_frame


@pytest.mark.parametrize("codec", ["mpeg2video", "libx264"])
def test_frame_levels(codec: str) -> None:
    """Frames 0 and 20 have the grey level encoded (within 6)."""
    ds = make_video_dataset(codec)
    for k in (0, 20):
        arr = video.decode_frame(ds, k)
        assert arr.shape == (120, 160, 3) and abs(float(arr.mean()) - level(k)) < 6


def test_out_of_range() -> None:
    """Frame 40 of 30 is a 404."""
    with pytest.raises(FrameNotFound):
        video.decode_frame(make_video_dataset(), 40)


def test_pipeline_rgb24() -> None:
    """Through render.modality_frame and display, a video frame is rgb24."""
    assert display(modality_frame(make_video_dataset(), 3), RenderParams()).format == "rgb24"
