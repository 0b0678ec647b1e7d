"""Entry points: decode + modality (cacheable), display, render, info."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydicom.dataset import Dataset
from pydicom.uid import UID

from .color import Palette, apply_palette, palette_from_dataset, to_8bit
from .decode import PIXEL_KEYWORDS, decode_frame, frame_count
from .elements import Key, first, integer, numbers, single_string, string
from .errors import BadParameter, Malformed, PixelError
from .meta import (
    Lut,
    Rescale,
    StoredWindow,
    modality_lut,
    padding,
    presentation_inverse,
    rescale_for_frame,
    voi_for_frame,
)
from .modality import apply_modality
from .overlay import WHITE, Overlay, burn, describe, frame_overlays, is_grey
from .output import (
    Transfer,
    apply_padding_alpha,
    color_output,
    grey_levels,
    signed16,
)
from .params import RenderParams, Window
from .resize import resize_to_box
from .voi import WindowTransfer, apply_voi_lut, auto_window

_CHANNELS = {"gray8": 1, "gray16": 1, "rgb24": 3, "rgba32": 4}


@dataclass(frozen=True, eq=False)
class ModalityFrame:
    """One decoded frame after the Modality LUT stage, free of the Dataset.

    ``array`` (read-only) holds modality values for grayscale, RGB samples
    of ``color_bits`` bits for colour, palette indices for PALETTE COLOR.
    ``padding_mask`` marks Pixel Padding pixels (None when there are none).
    ``inverse`` is True for MONOCHROME1 or Presentation LUT Shape INVERSE.
    ``overlays`` are the overlay planes shown on this frame (PS3.3 C.9.2).
    """

    index: int
    array: NDArray[Any]
    photometric: str
    color_bits: int
    palette: Palette | None
    windows: tuple[StoredWindow, ...]
    voi_luts: tuple[Lut, ...]
    padding_mask: NDArray[np.bool_] | None
    inverse: bool
    rescale: Rescale
    modality_lut_used: bool
    value_range: tuple[int, int] | None = None
    overlays: tuple[Overlay, ...] = ()

    @property
    def is_color(self) -> bool:
        """True for RGB (decoded colour) and PALETTE COLOR frames."""
        return self.array.ndim == 3 or self.palette is not None


@dataclass(frozen=True, eq=False)
class Rendered:
    """A rendered frame: C-contiguous ``array`` in ``format``.

    ``window`` is the (center, width, function) applied, or None when a
    VOI LUT, colour or signed16 output was produced.
    """

    array: NDArray[Any]
    format: str
    window: tuple[float, float, str] | None


def _padding_mask(
    arr: NDArray[Any],
    limits: tuple[int, int] | None,
    value_range: tuple[int, int] | None = None,
) -> NDArray[np.bool_] | None:
    """Pixels within the Pixel Padding range, PS3.3 C.7.5.1.1.2.

    ``value_range`` (the frame's min, max) skips the comparison when no
    pixel can be padding.
    """
    if limits is None or arr.ndim != 2 or arr.dtype.kind not in "ui":
        return None
    if value_range is not None and (limits[1] < value_range[0] or limits[0] > value_range[1]):
        return None
    mask: NDArray[np.bool_]
    if limits[0] == limits[1]:
        mask = arr == limits[0]
    else:
        mask = arr >= limits[0]
        mask &= arr <= limits[1]
    if not mask.any():
        return None
    mask.flags.writeable = False
    return mask


def _value_range(arr: NDArray[Any]) -> tuple[int, int] | None:
    """(min, max) of an integer grey frame, kept so each window evaluates only those values."""
    if arr.ndim != 2 or arr.dtype.kind not in "ui" or arr.size == 0:
        return None
    return int(arr.min()), int(arr.max())


def modality_frame(
    ds: Dataset, index: int, *, max_megapixels: float | None = None
) -> ModalityFrame:
    """Decode frame ``index`` and apply the Modality LUT stage (PS3.3 C.11.1)."""
    stored = decode_frame(ds, index, max_megapixels=max_megapixels)
    photometric = string(ds, "PhotometricInterpretation")
    palette = palette_from_dataset(ds) if stored.ndim == 2 else None
    rescale = rescale_for_frame(ds, index)
    windows: tuple[StoredWindow, ...] = ()
    luts: tuple[Lut, ...] = ()
    mask = None
    lut = None
    array = stored
    value_range = None
    if stored.ndim == 3:
        photometric = "RGB"  # decode_frame converts YBR_* to RGB
    elif palette is None:
        windows, luts = voi_for_frame(ds, index)
        stored_range = _value_range(stored)
        mask = _padding_mask(stored, padding(ds), stored_range)
        lut = modality_lut(ds)
        # The decoded frame belongs to this function: the Modality LUT stage may reuse its memory.
        array = apply_modality(stored, rescale, lut, value_range=stored_range,
                               overwrite=bool(stored.flags.owndata))
        identity = lut is None and rescale.slope == 1.0 and rescale.intercept == 0.0
        value_range = stored_range if identity else _value_range(array)
    bits = integer(ds, "BitsStored") or integer(ds, "BitsAllocated") or 8
    array.flags.writeable = False
    return ModalityFrame(
        index=index,
        array=array,
        photometric=photometric,
        color_bits=min(bits, 16),
        palette=palette,
        windows=windows,
        voi_luts=luts,
        padding_mask=mask,
        inverse=presentation_inverse(ds),
        rescale=rescale,
        modality_lut_used=lut is not None,
        value_range=value_range if value_range is not None else _value_range(array),
        overlays=frame_overlays(ds, index, (int(stored.shape[0]), int(stored.shape[1]))),
    )


def _lut_transfer(lut: Lut) -> Transfer:
    def transfer(x: NDArray[Any]) -> NDArray[np.float64]:
        return apply_voi_lut(x, lut)

    return transfer


def default_window(frame: ModalityFrame) -> Window | None:
    """Window used without parameters: first stored, else none if a VOI
    LUT is stored, else derived by :func:`.voi.auto_window`."""
    if frame.is_color:
        return None
    if frame.windows:
        w = frame.windows[0]
        return Window(w.center, w.width, w.function)
    if frame.voi_luts:
        return None
    return auto_window(frame.array, frame.padding_mask)


def _choose_voi(
    frame: ModalityFrame, params: RenderParams
) -> tuple[Transfer, Window | None]:
    """The VOI transform: explicit window, voi=K, or the default (PS3.3 C.11.2)."""
    if params.window is not None:
        return WindowTransfer(params.window), params.window
    if params.voi is not None:
        n_windows = len(frame.windows)
        total = n_windows + len(frame.voi_luts)
        if params.voi >= total:
            raise BadParameter(
                f"Parameter 'voi' must be below {total} for this frame "
                f"({n_windows} window(s), {len(frame.voi_luts)} VOI LUT(s)), got {params.voi}"
            )
        if params.voi < n_windows:
            w = frame.windows[params.voi]
            chosen = Window(w.center, w.width, w.function)
            return WindowTransfer(chosen), chosen
        return _lut_transfer(frame.voi_luts[params.voi - n_windows]), None
    window = default_window(frame)
    if window is None:
        return _lut_transfer(frame.voi_luts[0]), None
    return WindowTransfer(window), window


def display(frame: ModalityFrame, params: RenderParams) -> Rendered:
    """Apply VOI, presentation, output format, padding alpha, resizing and overlays.

    Overlays (PS3.3 C.9.2) are burned in last, blended by their coverage of
    each output pixel; a non-grey colour makes the default format rgb24.
    signed16 output carries raw modality values: no overlay is drawn.
    """
    overlays = frame.overlays if params.overlays else ()
    color = params.overlay_color or WHITE
    colored = bool(overlays) and not is_grey(color)
    fmt = params.format or ("rgb24" if frame.is_color or colored else "gray8")
    window: Window | None = None
    if fmt == "signed16":
        if frame.is_color:
            raise BadParameter("format=signed16 is only available for grayscale images")
        out = signed16(frame.array)
    elif frame.is_color:
        bits = frame.palette.bits if frame.palette is not None else frame.color_bits
        rgb8 = to_8bit(apply_palette(frame.array, frame.palette), bits)
        out = color_output(rgb8, fmt, params.invert)
    else:
        transfer, window = _choose_voi(frame, params)
        levels = 65535 if fmt == "gray16" else 255
        # PS3.3 C.11.6.1 / C.7.6.3.1.2: MONOCHROME1 or INVERSE shown inverted.
        inverse = frame.inverse != params.invert
        out = grey_levels(frame.array, transfer, levels, inverse, _CHANNELS[fmt], frame.value_range)
    if params.transparent_padding:
        out = apply_padding_alpha(out, frame.padding_mask)
    out = resize_to_box(out, params.max_width, params.max_height)
    out = burn(out, overlays, color, fmt)
    used = None if window is None else (window.center, window.width, window.function)
    return Rendered(np.ascontiguousarray(out), fmt, used)


def render(
    ds: Dataset,
    index: int,
    params: RenderParams,
    *,
    max_megapixels: float | None = None,
) -> Rendered:
    """display(modality_frame(ds, index)) in one call."""
    return display(modality_frame(ds, index, max_megapixels=max_megapixels), params)


def _pixel_spacing(ds: Dataset) -> list[float] | None:
    """Pixel Spacing of the functional groups (PS3.3 C.7.6.16.2.1), else of the image (C.7.6.2), else
    Imager Pixel Spacing (C.8.11.1.1.1); a malformed one is passed over, as absent."""
    sources: list[Dataset] = []
    for name in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence"):
        group = _quietly(first, ds, name)
        measures = None if group is None else _quietly(first, group, "PixelMeasuresSequence")
        if measures is not None:
            sources.append(measures)
    sources.append(ds)
    for source in sources:
        for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
            spacing = _quietly(numbers, source, keyword, 2)
            if spacing is not None:
                return list(spacing)
    return None


def _quietly(read: Callable[..., Any], *args: Any) -> Any:
    """``read(*args)``, or None when the element it reads is :class:`Malformed`: /info describes what it can."""
    try:
        return read(*args)
    except Malformed:
        return None


def _int_or_none(ds: Dataset, key: Key) -> int | None:
    found: int | None = _quietly(integer, ds, key)
    return found


def info(ds: Dataset, *, max_megapixels: float | None = None,
         first_frame: Callable[[], ModalityFrame] | None = None) -> dict[str, Any]:
    """JSON-serialisable description of the image and its default rendering.

    ``first_frame`` gives frame 0 of ``ds`` after the Modality LUT (from a
    cache, say); by default it is decoded here.
    """
    meta = getattr(ds, "file_meta", None)
    # A corrupt (0002,0010) value is reported as absent.
    tsyntax = (_quietly(single_string, meta, "TransferSyntaxUID") if meta is not None else None) or None
    result: dict[str, Any] = {
        "rows": _int_or_none(ds, "Rows"),
        "columns": _int_or_none(ds, "Columns"),
        "frames": None,
        "photometric_interpretation": string(ds, "PhotometricInterpretation") or None,
        "bits_allocated": _int_or_none(ds, "BitsAllocated"),
        "bits_stored": _int_or_none(ds, "BitsStored"),
        "pixel_representation": _int_or_none(ds, "PixelRepresentation"),
        "samples_per_pixel": _int_or_none(ds, "SamplesPerPixel"),
        "modality": string(ds, "Modality") or None,
        "transfer_syntax_uid": str(tsyntax) if tsyntax else None,
        "transfer_syntax_name": UID(tsyntax).name if tsyntax else None,
        "pixel_data": next((k for k in PIXEL_KEYWORDS if k in ds), None),
        "windows": [],
        "voi_luts": [],
        "default_window": None,
        "rescale_slope": None,
        "rescale_intercept": None,
        "rescale_type": None,
        "modality_lut": None,
        "pixel_spacing": _pixel_spacing(ds),
        "overlays": describe(ds),
        "decodable": False,
        "reason": None,
    }
    try:
        result["frames"] = frame_count(ds)
        frame = first_frame() if first_frame is not None \
            else modality_frame(ds, 0, max_megapixels=max_megapixels)
    except PixelError as exc:
        result["reason"] = exc.message
        return result
    result["decodable"] = True
    result["windows"] = [
        {
            "center": w.center,
            "width": w.width,
            "function": w.function,
            "explanation": w.explanation,
        }
        for w in frame.windows
    ]
    result["voi_luts"] = [{"explanation": lut.explanation} for lut in frame.voi_luts]
    if not frame.is_color:
        result["rescale_slope"] = frame.rescale.slope
        result["rescale_intercept"] = frame.rescale.intercept
        result["rescale_type"] = frame.rescale.type or None
        result["modality_lut"] = frame.modality_lut_used
        window = default_window(frame)
        if window is not None:
            result["default_window"] = {
                "center": window.center,
                "width": window.width,
                "function": window.function,
            }
    return result
