"""Video frames (PS3.5 §8.2.5-8.2.7: MPEG-2, H.264, HEVC) as RGB pixels, through PyAV.

The fragments of the encapsulated Pixel Data, concatenated, are the bitstream;
PyAV probes it.  Frames are decoded from the start (no seeking); at most
:data:`MAX_DECODED_FRAMES` are decoded per call.  Work in progress: no decoder cache yet.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..pixels.errors import FrameNotFound, PixelError, TooLarge

MAX_DECODED_FRAMES = 10_000


class UndecodableVideo(PixelError):
    """The bitstream does not decode."""

    status = 422


def _bitstream(ds: Any) -> bytes:
    from pydicom.encaps import generate_fragments

    return b"".join(generate_fragments(bytes(ds.PixelData)))


def decode_frame(ds: Any, index: int, max_megapixels: float | None = None) -> NDArray[np.uint8]:
    """Frame ``index`` (0-based) as HxWx3 RGB uint8 (PS3.5 §8.2.5-8.2.7)."""
    import av

    try:
        data = _bitstream(ds)
        with av.open(io.BytesIO(data), mode="r") as container:
            for n, frame in enumerate(container.decode(video=0)):
                if max_megapixels is not None and frame.width * frame.height > max_megapixels * 1e6:
                    raise TooLarge(f"Video frame of {frame.width}x{frame.height} exceeds {max_megapixels} MP")
                if n == index:
                    return np.ascontiguousarray(frame.to_ndarray(format="rgb24"))
                if n >= MAX_DECODED_FRAMES:
                    break
    except PixelError:
        raise
    except Exception as exc:  # noqa: BLE001 - PyAV/FFmpeg errors
        raise UndecodableVideo(f"Cannot decode the video bitstream: {exc}") from exc
    raise FrameNotFound(f"Frame {index} not found in the video bitstream")
