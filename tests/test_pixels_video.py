"""Tests of previewer.pixels.video on PyAV-encoded MPEG-2, H.264 and HEVC wrapped by pydicom (tests/objects_video.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import av
import numpy as np
import pytest
from objects_video import FRAMES, SYNTAXES, encode, level, make_video_dataset

from previewer.pixels import video
from previewer.pixels.decode import decode_frame
from previewer.pixels.errors import FrameNotFound, TooLarge
from previewer.pixels.params import RenderParams
from previewer.pixels.render import display, modality_frame

CODECS = list(SYNTAXES)


class _Counting:
    """What av.open returns, counting the frames it decodes and whether it was closed."""

    def __init__(self, container: Any, log: _Log) -> None:
        self._container, self._log, self.closed = container, log, False

    def decode(self, **streams: int) -> Iterator[Any]:
        for frame in self._container.decode(**streams):
            self._log.frames += 1
            yield frame

    def close(self) -> None:
        self.closed = True
        self._container.close()


class _Log:
    def __init__(self) -> None:
        self.frames = 0
        self.opened: list[_Counting] = []


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    video.clear()
    yield
    video.clear()


@pytest.fixture
def log(monkeypatch: pytest.MonkeyPatch) -> _Log:
    """av.open wrapped for reading: each container it opens, and the frames they decode."""
    record, real_open = _Log(), av.open

    def counting_open(*args: Any, **kwargs: Any) -> Any:
        if len(args) > 1 or kwargs.get("mode", "r") != "r":
            return real_open(*args, **kwargs)  # the makers' encoding
        container = _Counting(real_open(*args, **kwargs), record)
        record.opened.append(container)
        return container

    monkeypatch.setattr(av, "open", counting_open)
    return record


@pytest.fixture(scope="module", params=CODECS)
def dataset(request: pytest.FixtureRequest) -> Any:
    """One video instance per codec."""
    return make_video_dataset(request.param)


def _grey(arr: np.ndarray) -> float:
    return float(arr.mean())


class TestDecodeFrame:
    def test_frame_levels(self, dataset: Any) -> None:
        """Frames 0, 1, 15 and 29 are 120x160 RGB with the grey level encoded (within 4)."""
        for k in (0, 1, 15, 29):
            arr = video.decode_frame(dataset, k)
            assert arr.shape == (120, 160, 3) and arr.dtype == np.uint8
            assert abs(_grey(arr) - level(k)) < 4, k

    def test_transfer_syntaxes(self) -> None:
        """The makers label MPEG-2 MP@ML, H.264 High Profile / Level 4.1 and HEVC Main Profile / Level 5.1."""
        assert {codec: str(uid) for codec, (_, uid, _) in SYNTAXES.items()} == {
            "mpeg2video": "1.2.840.10008.1.2.4.100", "libx264": "1.2.840.10008.1.2.4.102",
            "libx265": "1.2.840.10008.1.2.4.107"}
        assert make_video_dataset("libx265").file_meta.TransferSyntaxUID.name == "HEVC/H.265 Main Profile / Level 5.1"

    def test_out_of_range(self, dataset: Any) -> None:
        """Frame 30 of 30 is FrameNotFound, naming the count; frame 29 still decodes after it."""
        with pytest.raises(FrameNotFound, match="has 30 frame"):
            video.decode_frame(dataset, FRAMES)
        assert abs(_grey(video.decode_frame(dataset, FRAMES - 1)) - level(FRAMES - 1)) < 4

    def test_past_decoded_limit(self, monkeypatch: pytest.MonkeyPatch, log: _Log) -> None:
        """A frame at MAX_DECODED_FRAMES is FrameNotFound without opening the bitstream."""
        monkeypatch.setattr(video, "MAX_DECODED_FRAMES", 10)
        with pytest.raises(FrameNotFound, match="past 10"):
            video.decode_frame(make_video_dataset(), 10)
        assert log.opened == []

    def test_megapixel_limit(self) -> None:
        """A frame above max_megapixels is TooLarge."""
        with pytest.raises(TooLarge, match="160x120"):
            video.decode_frame(make_video_dataset(), 0, max_megapixels=0.01)

    def test_through_decode_py(self) -> None:
        """pixels.decode.decode_frame hands a video syntax to this module."""
        arr = decode_frame(make_video_dataset("libx265"), 7)
        assert abs(_grey(arr) - level(7)) < 4

    def test_pipeline_rgb24(self) -> None:
        """Through render.modality_frame and display, a video frame is rgb24."""
        assert display(modality_frame(make_video_dataset(), 3), RenderParams()).format == "rgb24"


class TestDecoderCache:
    def test_sequential_frames_decode_once(self, log: _Log) -> None:
        """Playing all 30 frames in order opens the bitstream once and decodes 30 frames, not 465."""
        ds = make_video_dataset("libx264")
        for k in range(FRAMES):
            assert abs(_grey(video.decode_frame(ds, k)) - level(k)) < 4, k
        assert len(log.opened) == 1 and log.frames == FRAMES

    def test_same_frame_again_is_free(self, log: _Log) -> None:
        """Asking for the frame just decoded decodes nothing more, and gives an equal, separate array."""
        ds = make_video_dataset()
        first = video.decode_frame(ds, 5)
        first[:] = 0
        again = video.decode_frame(ds, 5)
        assert log.frames == 6 and abs(_grey(again) - level(5)) < 4

    def test_earlier_frame_restarts(self, log: _Log) -> None:
        """Frame 3 after frame 20 is still frame 3: the bitstream is reopened and the old container closed."""
        ds = make_video_dataset("libx265")
        video.decode_frame(ds, 20)
        assert abs(_grey(video.decode_frame(ds, 3)) - level(3)) < 4
        assert len(log.opened) == 2 and log.opened[0].closed and not log.opened[1].closed
        assert abs(_grey(video.decode_frame(ds, 4)) - level(4)) < 4 and len(log.opened) == 2

    def test_same_stream_other_instance(self, log: _Log) -> None:
        """Two instances holding the same bitstream have a decoder each (the key has the SOP Instance UID)."""
        data = encode()
        one, two = make_video_dataset(bitstream=data), make_video_dataset(bitstream=data)
        video.decode_frame(one, 2)
        video.decode_frame(two, 2)
        assert len(log.opened) == 2

    def test_changed_pixel_data_is_another_key(self, log: _Log) -> None:
        """An instance whose Pixel Data changed (same SOP Instance UID) is decoded from its new bitstream."""
        ds = make_video_dataset()
        video.decode_frame(ds, 2)
        ds.PixelData = make_video_dataset("libx264").PixelData
        ds.file_meta.TransferSyntaxUID = SYNTAXES["libx264"][1]
        assert abs(_grey(video.decode_frame(ds, 3)) - level(3)) < 4 and len(log.opened) == 2

    def test_cache_bounded_and_evicted_closed(self, log: _Log) -> None:
        """Six videos leave CACHE_ENTRIES decoders; the two least recently used containers are closed."""
        datasets = [make_video_dataset() for _ in range(video.CACHE_ENTRIES + 2)]
        for ds in datasets:
            video.decode_frame(ds, 1)
        assert len(video._CACHE) == video.CACHE_ENTRIES
        assert [c.closed for c in log.opened] == [True, True] + [False] * video.CACHE_ENTRIES
        video.clear()
        assert all(c.closed for c in log.opened)

    def test_byte_bound(self, monkeypatch: pytest.MonkeyPatch, log: _Log) -> None:
        """Above CACHE_BYTES of bitstream the oldest decoders go, but the one in use stays."""
        monkeypatch.setattr(video, "CACHE_BYTES", 1)
        for _ in range(3):
            video.decode_frame(make_video_dataset(), 1)
        assert len(video._CACHE) == 1 and [c.closed for c in log.opened] == [True, True, False]

    def test_threads_share_a_video(self) -> None:
        """Eight threads asking frames of two videos in shuffled order all get the right levels."""
        datasets = [make_video_dataset(codec) for codec in ("libx264", "libx265")]
        errors: list[str] = []

        def worker(seed: int) -> None:
            order = np.random.default_rng(seed).permutation(FRAMES)
            for k in order[:12]:
                ds = datasets[(seed + int(k)) % 2]
                got = _grey(video.decode_frame(ds, int(k)))
                if abs(got - level(int(k))) >= 4:
                    errors.append(f"frame {k}: {got}")

        threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert errors == [] and not any(thread.is_alive() for thread in threads)


def _corrupt(codec: str, how: str) -> bytes:
    data = encode(codec)
    noise = np.random.default_rng(7).integers(0, 256, len(data), np.uint8).tobytes()
    half = len(data) // 2
    return {"truncated": data[: len(data) // 3], "middle": data[:half] + noise[:512] + data[half + 512:],
            "garbage": noise, "header": data[:16]}[how]


class TestBadInput:
    @pytest.mark.parametrize("how", ["truncated", "middle", "garbage", "header"])
    @pytest.mark.parametrize("codec", CODECS)
    def test_corrupt_stream(self, codec: str, how: str) -> None:
        """Every frame of a broken bitstream decodes or is UndecodableVideo / FrameNotFound, nothing else."""
        ds = make_video_dataset(codec, _corrupt(codec, how))
        for k in (0, 15, 29, 3):
            try:
                arr = video.decode_frame(ds, k)
            except (video.UndecodableVideo, FrameNotFound) as error:
                assert error.status in (404, 422) and error.message
            else:
                assert arr.ndim == 3 and arr.shape[2] == 3

    def test_garbage_is_422(self) -> None:
        """Random bytes as the bitstream are UndecodableVideo (422) naming the bitstream."""
        with pytest.raises(video.UndecodableVideo, match="video bitstream") as info:
            video.decode_frame(make_video_dataset("libx264", _corrupt("libx264", "garbage")), 0)
        assert info.value.status == 422

    def test_no_encapsulated_pixel_data(self) -> None:
        """Pixel Data that is not encapsulated is UndecodableVideo naming (7FE0,0010)."""
        ds = make_video_dataset()
        ds.PixelData = b"\0" * 64
        with pytest.raises(video.UndecodableVideo, match=r"\(7FE0,0010\)"):
            video.decode_frame(ds, 0)

    def test_time_limit(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """With a time limit of zero, a frame to decode is VideoTimeLimit, a 413 naming the limit."""
        monkeypatch.setattr(video, "TIME_LIMIT_SECONDS", 0.0)
        with pytest.raises(video.VideoTimeLimit, match="not reached within 0 s") as info:
            video.decode_frame(make_video_dataset(), 10)
        assert 400 <= info.value.status < 500

    def test_time_limit_keeps_position(self, monkeypatch: pytest.MonkeyPatch, log: _Log) -> None:
        """After a time-limited call the next one continues from the frame reached, with the same container."""
        ds = make_video_dataset()
        video.decode_frame(ds, 4)
        monkeypatch.setattr(video, "TIME_LIMIT_SECONDS", 0.0)
        with pytest.raises(video.VideoTimeLimit, match="decoded up to frame 4"):
            video.decode_frame(ds, 20)
        monkeypatch.setattr(video, "TIME_LIMIT_SECONDS", 15.0)
        assert abs(_grey(video.decode_frame(ds, 20)) - level(20)) < 4
        assert len(log.opened) == 1 and log.frames == 21

    def test_busy_decoder_times_out(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A request waiting longer than the limit for a decoder another request holds is VideoTimeLimit."""
        ds = make_video_dataset()
        video.decode_frame(ds, 0)
        entry = next(iter(video._CACHE.values()))
        monkeypatch.setattr(video, "TIME_LIMIT_SECONDS", 0.05)
        with entry.lock, pytest.raises(video.VideoTimeLimit, match="busy"):
            video.decode_frame(ds, 1)
