"""One grayscale frame, losslessly, for the viewer's own pixel pipeline.

``GET /previewer/instances/{id}/frames/{n}/pixels`` answers the frame's
values at full precision with what a client needs to show them exactly as
the PNG routes do: the rescale of the Modality LUT stage, the frame's stored
windows and VOI LUT tables, the VOI the server uses by default, and whether
the Presentation LUT stage inverts (MONOCHROME1 or INVERSE).  The viewer
(``static/frame.js``, ``static/lut.js``) applies Modality, VOI and
Presentation itself, so a new window costs no request.

The values come from the same cached frame the PNG routes use
(:func:`previewer.plugin.store.modality_frame`, after the Modality LUT stage), so a
frame decoded for a thumbnail, ``/info`` or the warm-up on ingest is not
decoded again.  They are sent as *stored* values with their rescale
whenever the rescale can be undone exactly: the stored values are
recomputed from the modality values and kept only if the server's own
:func:`previewer.pixels.modality.apply_rescale` gives back exactly the same
modality values.  Otherwise (a Modality LUT Sequence, a float frame with a
rescale) the modality values themselves are sent, with an identity rescale.
Either way the client computes the server's modality values exactly.

Why not the ``signed16`` or ``gray16`` PNGs: ``signed16`` holds modality
values and refuses frames whose values do not fit int16 (a 16-bit unsigned
CR, a fractional rescale) and ``gray16`` is already windowed; browsers decode
16-bit PNGs to 8 bits, so the client would need its own inflate and PNG
unfiltering; and a PNG costs the server an encoding (on the 1955x1841 CR,
0.5 s with Orthanc's libpng, 0.09 s with ``encoder=fast``) where this body
is a copy.  16-bit samples stay 16-bit whatever the rescale, and the client
indexes one lookup table by the value.

The body, all little-endian::

    4 bytes   b"PVF1"
    4 bytes   uint32: length H of the header
    H bytes   UTF-8 JSON header (see :func:`header`)
    0-7 bytes zero padding, so that the samples start at a multiple of 8
    samples   rows x columns values of header["dtype"], row by row

Frames this route does not send as values are answered with a small JSON
body instead (200, ``application/json``): ``{"show": "png", "reason": ...}``,
for colour and PALETTE COLOR frames (``"reason": "colour"``) and for values
that cannot be sent exactly (``"reason": "values"``).  The viewer then shows
them through the PNG routes.  That answer is not an error: the image is
fine, the PNG routes render it, and a browser logs no failed request for it.
Frames that neither route can show get the PNG routes' errors (404, 413,
415).  Answers carry an ETag like the PNG routes.
"""
from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ... import __version__
from ...pixels import render
from ...pixels.errors import PixelError
from ...pixels.meta import Lut, Rescale
from ...pixels.modality import apply_rescale, smallest_int_dtype
from ..http import Request, Response, check_query, etag, not_modified
from ..store import Store, instance_version, modality_frame, pixel_error

MAGIC = b"PVF1"
MEDIA_TYPE = "application/octet-stream"
#: Transported sample types, as little-endian numpy types.
DTYPES: dict[str, str] = {
    "uint8": "<u1", "int8": "<i1", "uint16": "<u2", "int16": "<i2",
    "uint32": "<u4", "int32": "<i4", "float32": "<f4", "float64": "<f8",
}
IDENTITY = Rescale(1.0, 0.0, "")


class ShownByPng(Exception):
    """A frame that the PNG routes show and this route does not send as values."""

    def __init__(self, reason: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.details = details


def _smallest(values: NDArray[Any]) -> NDArray[Any] | None:
    """Integer ``values`` in the smallest transported integer type, or None if none holds them."""
    if values.size == 0:
        return values.astype(np.uint8)
    dtype = smallest_int_dtype(int(values.min()), int(values.max()))
    return values.astype(dtype) if dtype.name in DTYPES else None


def transported(frame: render.ModalityFrame) -> tuple[NDArray[Any], Rescale, str]:
    """(values, rescale, kind): what to send so that ``rescale(values)`` is the frame's modality values.

    ``kind`` is "stored" (the stored values, with the frame's rescale) or
    "modality" (the modality values, with an identity rescale).
    """
    array, rescale = frame.array, frame.rescale
    if frame.modality_lut_used or (rescale.slope == 1.0 and rescale.intercept == 0.0):
        kind = "modality" if frame.modality_lut_used else "stored"
        if array.dtype.name in DTYPES:
            return array, rescale if kind == "stored" else IDENTITY, kind
        values = _smallest(array) if array.dtype.kind in "ui" else None
        if values is None:
            raise ShownByPng("values", f"values of type {array.dtype.name} cannot be sent exactly")
        return values, rescale if kind == "stored" else IDENTITY, kind
    if array.dtype.kind in "ui" and rescale.slope.is_integer() and rescale.intercept.is_integer() \
            and 0 < abs(rescale.slope) < 2**31 and abs(rescale.intercept) < 2**31:
        # An integral rescale kept the values integral (apply_rescale): undo it in integers, exactly.
        shifted = array.astype(np.int64) - int(rescale.intercept)
        stored = shifted if rescale.slope == 1.0 else shifted // int(rescale.slope)
        values = _smallest(stored)
        if values is not None and (rescale.slope == 1.0 or np.array_equal(stored * int(rescale.slope), shifted)):
            return values, rescale, "stored"
    if rescale.slope != 0.0 and np.isfinite(rescale.slope) and np.isfinite(rescale.intercept):
        with np.errstate(invalid="ignore", over="ignore"):
            stored = np.rint((array.astype(np.float64) - rescale.intercept) / rescale.slope)
        if stored.size and np.isfinite(stored).all() and abs(stored).max() < 2.0**31:
            values = _smallest(stored.astype(np.int64))
            # Kept only if the server's own rescale gives back exactly the same modality values.
            if values is not None and np.array_equal(apply_rescale(values, rescale), array):
                return values, rescale, "stored"
    if array.dtype.name not in DTYPES:
        raise ShownByPng("values", f"values of type {array.dtype.name} cannot be sent exactly")
    return array, IDENTITY, "modality"


def _lut(lut: Lut) -> dict[str, Any]:
    return {"first_mapped": lut.first_mapped, "bits": lut.bits,
            "data": [int(v) for v in lut.data], "explanation": lut.explanation}


def header(frame: render.ModalityFrame, values: NDArray[Any], rescale: Rescale, kind: str) -> dict[str, Any]:
    """The JSON header of a frame sent as ``values`` (see :func:`transported`)."""
    window = render.default_window(frame)
    default: dict[str, Any] = (
        {"voi_lut": 0} if window is None
        else {"window": {"center": window.center, "width": window.width, "function": window.function}}
    )
    integral = values.dtype.kind in "ui" and values.size > 0
    return {
        "frame": frame.index,
        "rows": int(values.shape[0]),
        "columns": int(values.shape[1]),
        "dtype": values.dtype.name,
        "values": kind,
        "min": int(values.min()) if integral else None,
        "max": int(values.max()) if integral else None,
        "rescale": {"slope": rescale.slope, "intercept": rescale.intercept,
                    "type": frame.rescale.type or None},
        "modality_lut": frame.modality_lut_used,
        "photometric": frame.photometric,
        "bits": frame.color_bits,
        "windows": [{"center": w.center, "width": w.width, "function": w.function, "explanation": w.explanation}
                    for w in frame.windows],
        "voi_luts": [_lut(lut) for lut in frame.voi_luts],
        "default": default,
        "inverse": frame.inverse,
    }


def body(frame: render.ModalityFrame) -> bytes:
    """The whole answer for ``frame``, or :class:`ShownByPng`."""
    if frame.is_color:
        raise ShownByPng("colour", f"frames of (0028,0004) Photometric Interpretation {frame.photometric} are "
                                   "shown through the PNG routes", photometric=frame.photometric)
    values, rescale, kind = transported(frame)
    try:
        text = json.dumps(header(frame, values, rescale, kind), allow_nan=False, separators=(",", ":")).encode()
    except ValueError:   # a non-finite rescale or window: JSON cannot carry it, the PNG routes show what they can
        raise ShownByPng("values", "a non-finite rescale or window cannot be sent as JSON") from None
    padding = -(8 + len(text)) % 8
    samples = np.ascontiguousarray(values, dtype=DTYPES[values.dtype.name]).tobytes()
    return b"".join([MAGIC, struct.pack("<I", len(text)), text, b"\0" * padding, samples])


def parse(data: bytes) -> tuple[dict[str, Any], NDArray[Any]]:
    """(header, values) of a body made by :func:`body` (for tests and Python clients)."""
    if data[:4] != MAGIC:
        raise ValueError("not a previewer frame body")
    (length,) = struct.unpack("<I", data[4:8])
    head: dict[str, Any] = json.loads(data[8:8 + length])
    start = 8 + length + (-(8 + length) % 8)
    values = np.frombuffer(data, DTYPES[head["dtype"]], head["rows"] * head["columns"], start)
    return head, values.reshape(head["rows"], head["columns"])


def frame_pixels(store: Store, request: Request) -> Response:
    """GET /previewer/instances/{id}/frames/{frame}/pixels: the frame's values and how to show them."""
    instance_id = request.params["id"]
    index = int(request.params["frame"])
    check_query(request.query)
    version = instance_version(store, instance_id)
    tag = etag(__version__, "pixels", instance_id, version, index)
    headers = {"ETag": tag, "Cache-Control": "private, no-cache"}
    unchanged = not_modified(request, tag, headers)
    if unchanged is not None:
        return unchanged
    try:
        data = body(modality_frame(store, instance_id, version, index))
    except PixelError as error:
        raise pixel_error(error, instance_id, index) from None
    except ShownByPng as refusal:
        answer = Response.json({"show": "png", "reason": refusal.reason, "message": refusal.message,
                                "instance": instance_id, "frame": index, **refusal.details})
        answer.headers.update(headers)
        return answer
    return Response(body=data, media_type=MEDIA_TYPE, headers=headers)

