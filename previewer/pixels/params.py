"""Parsing of the rendering query parameters into :class:`RenderParams`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import BadParameter

#: Output formats, see :mod:`.output`.
FORMATS: tuple[str, ...] = ("gray8", "gray16", "signed16", "rgb24", "rgba32")

#: Query spelling -> DICOM (0028,1056) VOI LUT Function defined term.
WINDOW_FUNCTIONS: dict[str, str] = {
    "linear": "LINEAR",
    "linear_exact": "LINEAR_EXACT",
    "sigmoid": "SIGMOID",
}

#: Largest accepted value of size/width/height.
MAX_BOX = 16384

#: Colour names accepted by ``overlay=`` (besides RRGGBB and #RRGGBB).
OVERLAY_COLORS: dict[str, tuple[int, int, int]] = {
    "white": (255, 255, 255), "black": (0, 0, 0), "red": (255, 0, 0), "green": (0, 255, 0),
    "blue": (0, 0, 255), "yellow": (255, 255, 0), "cyan": (0, 255, 255), "magenta": (255, 0, 255),
}


@dataclass(frozen=True)
class Window:
    """A window to apply: center, width and DICOM VOI LUT Function name."""

    center: float
    width: float
    function: str = "LINEAR"


@dataclass(frozen=True)
class RenderParams:
    """Every parameter that changes the rendered pixels.

    ``format`` None means: gray8 for grayscale, rgb24 for colour.
    ``max_width``/``max_height`` None mean unbounded along that axis.
    ``overlays`` burns the overlay planes (PS3.3 C.9.2) in ``overlay_color``
    (None: white).
    """

    window: Window | None = None
    voi: int | None = None
    format: str | None = None
    invert: bool = False
    max_width: int | None = None
    max_height: int | None = None
    transparent_padding: bool = False
    overlays: bool = True
    overlay_color: tuple[int, int, int] | None = None

    def cache_key(self) -> str:
        """Canonical string of all parameters, equal iff the output is."""
        if self.window is None:
            win = "-"
        else:
            win = f"{self.window.center!r},{self.window.width!r},{self.window.function}"
        return ";".join(
            [
                f"window={win}",
                f"voi={'-' if self.voi is None else self.voi}",
                f"format={self.format or 'auto'}",
                f"invert={int(self.invert)}",
                f"box={self.max_width or '-'}x{self.max_height or '-'}",
                f"padding={'transparent' if self.transparent_padding else '-'}",
                f"overlays={_color_key(self.overlay_color) if self.overlays else '-'}",
            ]
        )


def _color_key(color: tuple[int, int, int] | None) -> str:
    return "%02x%02x%02x" % (color or OVERLAY_COLORS["white"])


def _parse_color(text: str) -> tuple[int, int, int]:
    """``overlay=``: RRGGBB or #RRGGBB (any case), or one of :data:`OVERLAY_COLORS`."""
    name = text.strip().lower()
    if name in OVERLAY_COLORS:
        return OVERLAY_COLORS[name]
    digits = name[1:] if name.startswith("#") else name
    if len(digits) == 6 and all(ch in "0123456789abcdef" for ch in digits):
        return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)
    raise BadParameter(
        f"Parameter 'overlay' must be RRGGBB, #RRGGBB or one of {'|'.join(OVERLAY_COLORS)}, got {text!r}"
    )


def _number(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise BadParameter(
            f"Parameter '{name}' must be a number, got {text!r}"
        ) from None
    if not math.isfinite(value):
        raise BadParameter(f"Parameter '{name}' must be a finite number, got {text!r}")
    return value


def query_number(query: Mapping[str, str], name: str) -> float | None:
    """Parameter `name` of `query` as a finite float, None when absent; BadParameter (400) otherwise."""
    return _number(name, query[name]) if name in query else None


def _positive_int(name: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_BOX:
        raise BadParameter(
            f"Parameter '{name}' must be an integer from 1 to {MAX_BOX}, got {text!r}"
        )
    return value


def _check_width(width: float, function: str, name: str) -> None:
    # PS3.3 C.11.2.1.2.1: LINEAR needs width >= 1; C.11.2.1.3: others > 0.
    if function == "LINEAR" and width < 1:
        raise BadParameter(f"Parameter '{name}': the window width must be >= 1 for linear, got {width!r}")
    if width <= 0:
        raise BadParameter(f"Parameter '{name}': the window width must be > 0, got {width!r}")


def _parse_window(query: Mapping[str, str]) -> Window | None:
    has_split = "window-center" in query or "window-width" in query
    if "window" in query:
        if has_split:
            raise BadParameter(
                "Parameters 'window' and 'window-center'+'window-width': give either, not both"
            )
        parts = query["window"].split(",")
        if len(parts) not in (2, 3):
            raise BadParameter(
                "Parameter 'window' must be C,W or C,W,F with F one of "
                f"{'|'.join(WINDOW_FUNCTIONS)}, got {query['window']!r}"
            )
        center = _number("window", parts[0])
        width = _number("window", parts[1])
        fname = parts[2].strip().lower() if len(parts) == 3 else "linear"
    elif has_split:
        if "window-center" not in query or "window-width" not in query:
            raise BadParameter(
                "Parameters 'window-center' and 'window-width' must be given together"
            )
        center = _number("window-center", query["window-center"])
        width = _number("window-width", query["window-width"])
        fname = "linear"
    else:
        return None
    if fname not in WINDOW_FUNCTIONS:
        raise BadParameter(
            f"Parameter 'window': the window function must be one of {'|'.join(WINDOW_FUNCTIONS)}, got {fname!r}"
        )
    function = WINDOW_FUNCTIONS[fname]
    _check_width(width, function, "window" if "window" in query else "window-width")
    return Window(center, width, function)


def _parse_flag(query: Mapping[str, str], name: str, default: str = "0") -> bool:
    value = query.get(name, default)
    if value not in ("0", "1"):
        raise BadParameter(f"Parameter '{name}' must be 0 or 1, got {value!r}")
    return value == "1"


def parse_params(query: Mapping[str, str]) -> RenderParams:
    """Parse the rendering parameters of ``query``; unknown keys are ignored.

    Raises :class:`BadParameter` naming the parameter and accepted values.
    """
    window = _parse_window(query)
    voi: int | None = None
    if "voi" in query:
        text = query["voi"]
        if not text.isdigit():
            raise BadParameter(f"Parameter 'voi' must be an integer >= 0, got {text!r}")
        voi = int(text)
        if window is not None:
            raise BadParameter("Parameters 'voi' and 'window' are mutually exclusive")
    fmt = query.get("format")
    if fmt is not None and fmt not in FORMATS:
        raise BadParameter(
            f"Parameter 'format' must be one of {'|'.join(FORMATS)}, got {fmt!r}"
        )
    padding = query.get("padding")
    if padding is not None and padding != "transparent":
        raise BadParameter(
            f"Parameter 'padding' must be 'transparent', got {padding!r}"
        )
    if padding is not None:
        if fmt not in (None, "rgba32"):
            raise BadParameter(
                f"Parameter 'padding=transparent' needs format=rgba32, got {fmt!r}"
            )
        fmt = "rgba32"
    max_w: int | None = None
    max_h: int | None = None
    if "size" in query:
        if "width" in query or "height" in query:
            raise BadParameter("Parameters 'size' and 'width'/'height': give either, not both")
        max_w = max_h = _positive_int("size", query["size"])
    if "width" in query:
        max_w = _positive_int("width", query["width"])
    if "height" in query:
        max_h = _positive_int("height", query["height"])
    return RenderParams(
        window=window,
        voi=voi,
        format=fmt,
        invert=_parse_flag(query, "invert"),
        max_width=max_w,
        max_height=max_h,
        transparent_padding=padding is not None,
        overlays=_parse_flag(query, "overlays", "1"),
        overlay_color=_parse_color(query["overlay"]) if "overlay" in query else None,
    )
