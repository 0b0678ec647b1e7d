"""Overlay planes (PS3.3 C.9.2 Overlay Plane, C.9.3 Multi-frame Overlay) burned into a rendered frame.

Only overlays stored in (60xx,3000) Overlay Data with (60xx,0100) Overlay
Bits Allocated 1 are read.  Overlays embedded in the unused high bits of
Pixel Data (retired, PS3.5 8.1.2 / PS3.3 C.9.2.1.1 in earlier editions)
are left out.  A malformed overlay plane is skipped, never an error: the
image renders without it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydicom.dataset import Dataset

from .elements import code_string, integer, integers, string, value
from .errors import Malformed
from .meta import is_little_endian
from .output import luma

#: PS3.5 7.6: the Overlay Plane repeating groups, 6000-601E (even).
GROUPS: tuple[int, ...] = tuple(range(0x6000, 0x6020, 2))

Color = tuple[int, int, int]
WHITE: Color = (255, 255, 255)


@dataclass(frozen=True, eq=False)
class Overlay:
    """One overlay plane as it applies to one image frame.

    ``bitmap`` (read-only bool) is the part of the plane that lies inside the
    image, its first pixel at 0-based image ``position`` (row, column);
    ``image_size`` is the full image's (Rows, Columns), whatever the size of
    the frame array it travels with.  ``origin`` is the stored (60xx,0050)
    Overlay Origin, 1-based row and column.
    """

    group: int
    bitmap: NDArray[np.bool_]
    position: tuple[int, int]
    image_size: tuple[int, int]
    origin: tuple[int, int]
    type: str
    label: str
    description: str


@dataclass(frozen=True)
class _Plane:
    """The stored attributes of one overlay plane (PS3.3 C.9.2, C.9.3)."""

    group: int
    rows: int
    columns: int
    origin: tuple[int, int]
    frames: int
    frame_origin: int | None
    type: str
    label: str
    description: str
    data: bytes


def _plane(ds: Dataset, group: int) -> _Plane | None:
    """The plane of ``group``, or None when absent, embedded or malformed."""
    try:
        return _read_plane(ds, group)
    except Malformed:
        return None   # a malformed overlay plane is left out: the image renders without it


def _optional(ds: Dataset, tag: int) -> int | None:
    """An optional integer of the plane; None when absent or malformed."""
    try:
        return integer(ds, tag)
    except Malformed:
        return None


def _read_plane(ds: Dataset, group: int) -> _Plane | None:
    """The plane of ``group``; None when absent or embedded, :class:`Malformed` when an element is."""
    data = value(ds, group << 16 | 0x3000)
    if not isinstance(data, (bytes, bytearray, memoryview)):
        return None  # PS3.3 C.9.2: no (60xx,3000): absent or embedded in Pixel Data
    rows = integer(ds, group << 16 | 0x0010, 0) or 0
    columns = integer(ds, group << 16 | 0x0011, 0) or 0
    # PS3.3 C.9.2.1.1: Overlay Bits Allocated is 1 for (60xx,3000) data (others are retired embedding).
    if integer(ds, group << 16 | 0x0100, 1) != 1 or rows <= 0 or columns <= 0:
        return None
    # PS3.3 C.9.2.1.2: Overlay Origin is two values, row\\column (signed: SS).
    origin = integers(ds, group << 16 | 0x0050, 2) or (1, 1)
    # PS3.3 C.9.3: Number of Frames in Overlay and Image Frame Origin, required only for several
    # frames: a malformed one counts as absent.
    count = _optional(ds, group << 16 | 0x0015)
    frames = 1 if count is None else count
    frame_origin = _optional(ds, group << 16 | 0x0051)
    raw = bytes(data)
    if frames < 1 or len(raw) * 8 < frames * rows * columns:
        return None
    if not is_little_endian(ds) and ds[(group, 0x3000)].VR == "OW":
        raw = _swap_words(raw)  # PS3.5 7.3: OW words in big endian byte order
    kind = code_string(ds, group << 16 | 0x0040) or "G"
    return _Plane(group, rows, columns, (origin[0], origin[1]), frames, frame_origin, kind,
                  string(ds, group << 16 | 0x1500), string(ds, group << 16 | 0x0022), raw)


def _swap_words(raw: bytes) -> bytes:
    even = raw[: len(raw) // 2 * 2]
    return np.frombuffer(even, np.uint16).byteswap().tobytes() + raw[len(even):]


def _overlay_frame(plane: _Plane, index: int) -> int | None:
    """The overlay frame (0-based) shown on image frame ``index`` (0-based), PS3.3 C.9.3.1.1.

    With (60xx,0051) Image Frame Origin the overlay frames apply one to one
    from that image frame on; without it, a several-frame overlay applies one
    to one from the first frame, and a one-frame overlay (no sequencing
    attribute) to every frame.
    """
    if plane.frame_origin is None and plane.frames == 1:
        return 0
    k = index - ((plane.frame_origin or 1) - 1)
    return k if 0 <= k < plane.frames else None


def _bits(plane: _Plane, frame: int, first_row: int, last_row: int) -> NDArray[np.bool_]:
    """Rows first_row..last_row-1 of overlay ``frame``; PS3.5 8.1.2: the first pixel in bit 0."""
    start = (frame * plane.rows + first_row) * plane.columns
    stop = (frame * plane.rows + last_row) * plane.columns
    chunk = np.frombuffer(plane.data, np.uint8, count=(stop + 7) // 8 - start // 8, offset=start // 8)
    flat = np.unpackbits(chunk, bitorder="little")[start % 8: start % 8 + stop - start]
    return flat.reshape(last_row - first_row, plane.columns).astype(bool)


def _placed(plane: _Plane, frame: int, image_size: tuple[int, int]) -> Overlay | None:
    """Overlay ``frame`` clipped to the image (PS3.3 C.9.2.1.2: origin 1\\1 is the image's first pixel)."""
    top, left = plane.origin[0] - 1, plane.origin[1] - 1
    first_row, last_row = max(0, -top), min(plane.rows, image_size[0] - top)
    first_col, last_col = max(0, -left), min(plane.columns, image_size[1] - left)
    if first_row >= last_row or first_col >= last_col:
        return None
    bitmap = np.ascontiguousarray(_bits(plane, frame, first_row, last_row)[:, first_col:last_col])
    if not bitmap.any():
        return None
    bitmap.flags.writeable = False
    return Overlay(plane.group, bitmap, (top + first_row, left + first_col), image_size, plane.origin,
                   plane.type, plane.label, plane.description)


def frame_overlays(ds: Dataset, index: int, image_size: tuple[int, int]) -> tuple[Overlay, ...]:
    """The overlays with a set pixel inside the image on frame ``index`` (0-based), PS3.3 C.9.2/C.9.3."""
    found: list[Overlay] = []
    for group in GROUPS:
        if (group, 0x3000) not in ds:
            continue
        plane = _plane(ds, group)
        frame = None if plane is None else _overlay_frame(plane, index)
        if plane is not None and frame is not None:
            overlay = _placed(plane, frame, image_size)
            if overlay is not None:
                found.append(overlay)
    return tuple(found)


def describe(ds: Dataset) -> list[dict[str, Any]]:
    """The overlay planes stored in (60xx,3000), JSON-serialisable, PS3.3 C.9.2/C.9.3."""
    result: list[dict[str, Any]] = []
    for group in GROUPS:
        plane = _plane(ds, group) if (group, 0x3000) in ds else None
        if plane is not None:
            result.append({
                "group": f"{group:04X}", "rows": plane.rows, "columns": plane.columns,
                "origin": list(plane.origin), "frames": plane.frames, "frame_origin": plane.frame_origin,
                "type": plane.type, "label": plane.label, "description": plane.description,
            })
    return result


def _axis_weights(n_in: int, n_out: int, lo: int, hi: int) -> tuple[int, NDArray[np.float64]]:
    """(first output, weights): the share of each output cell covered by inputs lo..hi-1.

    The same area averaging as :func:`.resize.area_resize`, restricted to
    the inputs lo..hi-1 so that only the overlays' extent is computed.
    """
    scale = n_in / n_out
    first = min(n_out - 1, int(math.floor(lo / scale)))
    last = max(first + 1, min(n_out, int(math.ceil(hi / scale))))
    edges = np.arange(first, last + 1, dtype=np.float64) * scale
    starts = np.arange(lo, hi, dtype=np.float64)
    low = np.maximum(edges[:-1, None], starts[None, :])
    high = np.minimum(edges[1:, None], starts[None, :] + 1.0)
    return first, np.clip(high - low, 0.0, None) / scale


def coverage(overlays: tuple[Overlay, ...], shape: tuple[int, int]
             ) -> tuple[tuple[int, int], NDArray[np.float64]] | None:
    """((row, col), fraction): the share of each output pixel the overlays cover, in a box at (row, col).

    The union of the overlays, at the image's size, area-averaged to
    ``shape`` (the rendered frame's rows and columns): a one-pixel line
    still tints a thumbnail.  None without overlays.
    """
    if not overlays:
        return None
    rows, cols = overlays[0].image_size
    top = min(o.position[0] for o in overlays)
    left = min(o.position[1] for o in overlays)
    bottom = max(o.position[0] + o.bitmap.shape[0] for o in overlays)
    right = max(o.position[1] + o.bitmap.shape[1] for o in overlays)
    union = np.zeros((bottom - top, right - left), bool)
    for o in overlays:
        r, c = o.position[0] - top, o.position[1] - left
        union[r:r + o.bitmap.shape[0], c:c + o.bitmap.shape[1]] |= o.bitmap
    if shape == (rows, cols):
        return (top, left), union.astype(np.float64)
    first_row, wr = _axis_weights(rows, shape[0], top, bottom)
    first_col, wc = _axis_weights(cols, shape[1], left, right)
    return (first_row, first_col), wr @ union.astype(np.float64) @ wc.T


def is_grey(color: Color) -> bool:
    """True when the colour's three components are equal."""
    return color[0] == color[1] == color[2]


def _target(color: Color, fmt: str) -> NDArray[np.float64]:
    """The colour in the output format's samples: grey formats get its grey level or luminance."""
    rgb = np.asarray(color, np.float64)
    if fmt in ("gray8", "gray16"):
        grey = rgb[0] if is_grey(color) else float(np.rint(luma(rgb[None, :])[0]))
        return np.asarray([grey * (257 if fmt == "gray16" else 1)])
    if fmt == "rgba32":
        return np.append(rgb, 255.0)
    return rgb


def burn(out: NDArray[Any], overlays: tuple[Overlay, ...], color: Color, fmt: str) -> NDArray[Any]:
    """``out`` with the overlays alpha-blended in ``color`` by their coverage (a new array).

    Returns ``out`` unchanged without overlays, and for signed16 (raw
    modality values are not drawn on).  rgba32 pixels become as opaque as
    they are covered.
    """
    found = coverage(overlays, out.shape[:2]) if fmt != "signed16" else None
    if found is None:
        return out
    (row, col), fraction = found
    result = out.copy()
    box = result[row:row + fraction.shape[0], col:col + fraction.shape[1]]
    alpha = fraction[:box.shape[0], :box.shape[1]]
    if box.ndim == 3:
        alpha = alpha[..., None]
    target = _target(color, fmt)
    blended = box.astype(np.float64) * (1.0 - alpha) + (target if box.ndim == 3 else target[0]) * alpha
    box[...] = np.where(alpha > 0, np.rint(blended), box).astype(out.dtype)
    return result
