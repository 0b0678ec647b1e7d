"""Video frames (PS3.5 §8.2.5-8.2.7: MPEG-2, H.264, HEVC) as RGB pixels, through PyAV.

The fragments of the encapsulated Pixel Data, concatenated, are the bitstream;
PyAV probes it.  Bitstreams are not seekable in general (an elementary H.264
or HEVC stream has no index), so frames are decoded in order, and an open
decoder is kept for the next request: a bounded LRU cache of
:data:`CACHE_ENTRIES` decoders (and at most :data:`CACHE_BYTES` of bitstream,
unless one stream alone is larger), keyed by SOP Instance UID and the SHA-256
of the Pixel Data (about 70 ms for 100 MB).  Frame *k* at or after a decoder's
position continues from there, so playing a video decodes each frame once;
the last frame decoded is kept, so asking for it again decodes nothing; an
earlier frame reopens the bitstream and decodes from its start.  An evicted
decoder's container is closed by its last user.

Each entry has its own lock, so two requests on one video take turns on its
decoder while the cache's lock is held only to look entries up; requests on
different videos decode at the same time.  A call decodes at most up to frame
:data:`MAX_DECODED_FRAMES` and for at most :data:`TIME_LIMIT_SECONDS` (lock
wait included), checked between frames; past it, :class:`VideoTimeLimit`
(413) names the frame reached.  A bitstream that does not decode is
:class:`UndecodableVideo` (422), a frame past the end :class:`FrameNotFound`
(404), a frame above the megapixel limit :class:`TooLarge` (413).
"""

from __future__ import annotations

import collections
import hashlib
import io
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .elements import data, label, reason, string
from .errors import FrameNotFound, PixelError, TooLarge

#: MPEG-2 (PS3.5 §8.2.5), MPEG-4 AVC/H.264 (§8.2.6) and HEVC/H.265 (§8.2.7) transfer syntaxes.
VIDEO_TRANSFER_SYNTAXES = frozenset({
    "1.2.840.10008.1.2.4.100", "1.2.840.10008.1.2.4.100.1",
    "1.2.840.10008.1.2.4.101", "1.2.840.10008.1.2.4.101.1",
    "1.2.840.10008.1.2.4.102", "1.2.840.10008.1.2.4.102.1",
    "1.2.840.10008.1.2.4.103", "1.2.840.10008.1.2.4.103.1",
    "1.2.840.10008.1.2.4.104", "1.2.840.10008.1.2.4.104.1",
    "1.2.840.10008.1.2.4.105", "1.2.840.10008.1.2.4.105.1",
    "1.2.840.10008.1.2.4.106", "1.2.840.10008.1.2.4.106.1",
    "1.2.840.10008.1.2.4.107", "1.2.840.10008.1.2.4.108",
})

#: Frames at or past this index are not decoded (404).
MAX_DECODED_FRAMES = 10_000
#: Wall-clock bound of one call, seconds (waiting for a busy decoder included).
TIME_LIMIT_SECONDS = 15.0
#: Open decoders kept, least recently used evicted first.
CACHE_ENTRIES = 4
#: Bitstream bytes the cached decoders may hold in all (one larger stream is still kept alone).
CACHE_BYTES = 256 * 2**20


class UndecodableVideo(PixelError):
    """The bitstream does not decode."""

    status = 422


class VideoTimeLimit(PixelError):
    """Reaching the frame takes longer than :data:`TIME_LIMIT_SECONDS`.

    413 like the other bounds on the work a request may cost; not a
    :class:`TooLarge`, which the frame cache remembers as a property of the
    file, since the time depends on the server's load too.
    """

    status = 413


def _pixel_data(ds: Any) -> bytes:
    """(7FE0,0010) Pixel Data as stored: the fragments with their item headers (PS3.5 A.4)."""
    stored = data(ds, "PixelData")
    if stored is None:
        raise UndecodableVideo(f"Cannot read the video bitstream: {label('PixelData')} is missing")
    return bytes(stored)


def _bitstream(pixels: bytes) -> bytes:
    """The fragments of encapsulated Pixel Data, concatenated (PS3.5 8.2.5-8.2.7)."""
    from pydicom.encaps import generate_fragments

    try:
        return b"".join(generate_fragments(pixels))
    except Exception as exc:  # noqa: BLE001 - pydicom's encapsulation parser raises many types
        raise UndecodableVideo(f"Cannot read the video bitstream from {label('PixelData')}: {reason(exc)}") from exc


def _key(ds: Any, pixels: bytes) -> tuple[str, bytes]:
    """SOP Instance UID and SHA-256 of the Pixel Data as stored (the fragments with their item headers)."""
    return string(ds, "SOPInstanceUID"), hashlib.sha256(memoryview(pixels)).digest()


class _Decoder:
    """One bitstream and the container decoding it forward; ``lock`` serialises its users.

    ``users`` and ``evicted`` belong to the cache's lock; everything else to ``lock``.
    """

    def __init__(self, data: bytes) -> None:
        self.lock = threading.Lock()
        self.data = data
        self.users = 0
        self.evicted = False
        self.container: Any = None
        self.frames: Iterator[Any] | None = None
        #: Index of the frame the decoder last produced (-1: none yet), and that frame as RGB.
        self.position = -1
        self.last: NDArray[np.uint8] | None = None
        #: Frames at or after ``end`` cannot be reached: the stream ends there, or fails (``error``).
        self.end: int | None = None
        self.error: PixelError | None = None

    def close(self) -> None:
        """Release the FFmpeg container and decoder; the next decode reopens the bitstream."""
        if self.frames is not None:
            close = getattr(self.frames, "close", None)
            if close is not None:
                close()
        if self.container is not None:
            self.container.close()
        self.container = self.frames = None
        self.position, self.last = -1, None

    def _open(self) -> None:
        import av

        self.close()
        self.container = av.open(io.BytesIO(self.data), mode="r")
        self.frames = iter(self.container.decode(video=0))

    def _failed(self, exc: Exception) -> UndecodableVideo:
        """Remember that the stream fails after the current position; the error naming why."""
        position = self.position
        self.close()
        self.end = position + 1
        where = f" after frame {position}" if position >= 0 else ""
        said = getattr(exc, "strerror", None) or reason(exc)  # an FFmpegError's text without its errno
        self.error = UndecodableVideo(f"Cannot decode the video bitstream of {label('PixelData')}{where}: {said}")
        return self.error

    def _next(self) -> Any:
        """The next decoded frame, or None at the end of the stream (opening it if needed)."""
        try:
            if self.frames is None:
                self._open()
            assert self.frames is not None
            return next(self.frames, None)
        except Exception as exc:  # noqa: BLE001 - PyAV/FFmpeg raise many types for a broken stream
            raise self._failed(exc) from exc

    def _rgb(self, frame: Any) -> NDArray[np.uint8]:
        try:
            return np.ascontiguousarray(frame.to_ndarray(format="rgb24"))
        except Exception as exc:  # noqa: BLE001 - PyAV's conversion of a broken frame
            raise self._failed(exc) from exc

    def frame(self, index: int, max_megapixels: float | None, deadline: float) -> NDArray[np.uint8]:
        """Frame ``index`` as HxWx3 RGB, continuing from the current position when it is not past it."""
        if self.end is not None and index >= self.end:
            if self.error is not None:
                raise type(self.error)(self.error.message)
            raise FrameNotFound(f"Frame {index} not found: the video bitstream has {self.end} frame(s)")
        if index == self.position and self.last is not None:
            return self.last.copy()
        if index < self.position:
            self.close()   # not seekable: from the start again
        while True:
            if time.monotonic() > deadline:
                raise VideoTimeLimit(
                    f"Frame {index} of the video not reached within {TIME_LIMIT_SECONDS:g} s "
                    f"(decoded up to frame {self.position})")
            frame = self._next()
            if frame is None:
                self.end = self.position + 1
                self.close()
                raise FrameNotFound(f"Frame {index} not found: the video bitstream has {self.end} frame(s)")
            self.position += 1
            if max_megapixels is not None and frame.width * frame.height > max_megapixels * 1e6:
                raise TooLarge(f"Video frame of {frame.width}x{frame.height} exceeds {max_megapixels} MP")
            if self.position == index:
                self.last = self._rgb(frame)
                return self.last.copy()


_LOCK = threading.Lock()
_CACHE: collections.OrderedDict[tuple[str, bytes], _Decoder] = collections.OrderedDict()


def _acquire(key: tuple[str, bytes], pixels: bytes) -> _Decoder:
    """The cached decoder of ``key`` (made from ``pixels`` when absent), counted as used; evicts past the bounds."""
    with _LOCK:
        entry = _CACHE.get(key)
        if entry is not None:
            _CACHE.move_to_end(key)
            entry.users += 1
            return entry
    stream = _bitstream(pixels)  # outside the lock: a copy of the whole stream
    closing = []
    with _LOCK:
        entry = _CACHE.get(key)
        if entry is None:
            entry = _CACHE[key] = _Decoder(stream)
        _CACHE.move_to_end(key)
        entry.users += 1
        total = sum(len(e.data) for e in _CACHE.values())
        while len(_CACHE) > 1 and (len(_CACHE) > CACHE_ENTRIES or total > CACHE_BYTES):
            _, old = _CACHE.popitem(last=False)
            total -= len(old.data)
            old.evicted = True
            if old.users == 0:
                closing.append(old)
    for old in closing:
        old.close()
    return entry


def _release(entry: _Decoder) -> None:
    with _LOCK:
        entry.users -= 1
        idle = entry.evicted and entry.users == 0
    if idle:
        entry.close()


def clear() -> None:
    """Close every cached decoder no request is using (the ones in use close when their request ends)."""
    with _LOCK:
        entries = list(_CACHE.values())
        _CACHE.clear()
        idle = []
        for entry in entries:
            entry.evicted = True
            if entry.users == 0:
                idle.append(entry)
    for entry in idle:
        entry.close()


def decode_frame(ds: Any, index: int, max_megapixels: float | None = None) -> NDArray[np.uint8]:
    """Frame ``index`` (0-based) as HxWx3 RGB uint8 (PS3.5 §8.2.5-8.2.7)."""
    deadline = time.monotonic() + TIME_LIMIT_SECONDS
    if index >= MAX_DECODED_FRAMES:
        raise FrameNotFound(f"Frame {index} not found: video frames past {MAX_DECODED_FRAMES} are not decoded")
    pixels = _pixel_data(ds)
    entry = _acquire(_key(ds, pixels), pixels)
    try:
        if not entry.lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise VideoTimeLimit(
                f"Frame {index} of the video not reached within {TIME_LIMIT_SECONDS:g} s "
                "(its decoder was busy with another request)")
        try:
            return entry.frame(index, max_megapixels, deadline)
        finally:
            entry.lock.release()
    finally:
        _release(entry)
