"""Grayscale Softcopy Presentation State applied to an image, PS3.3 A.33.1.

The pipeline of PS3.4 N.2 (Figure N.2-1): the presentation state's
Modality LUT (C.11.1) replaces the image's, then its Softcopy VOI LUT
(C.11.8), its Presentation LUT (C.11.6) to 8-bit grey; the Display
Shutter (C.7.6.11) in the image's pixel space; PIXEL-unit Graphic
Annotations (C.10.5) in the Graphic Layer colours (C.10.7), the Spatial
Transformation (C.10.6: rotation, then flip), the Displayed Area
(C.10.4), DISPLAY-unit annotations, then the fit to the requested box.

An explicit ``window`` or ``voi`` in the RenderParams overrides the
presentation state's VOI (the rest of the presentation still applies).
The Bitmap Display Shutter (C.7.6.15, an overlay plane of the
presentation state) is not applied.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from ..pixels import elements
from ..pixels.errors import Malformed, PixelError, TooLarge, Unsupported
from ..pixels.color import lab_to_rgb
from ..pixels.meta import Lut, Rescale, StoredWindow, modality_lut, rescale_for_frame, text, voi_for_frame
from ..pixels.modality import apply_lut
from ..pixels.params import RenderParams, Window
from ..pixels.render import ModalityFrame, Rendered, display
from ..pixels.resize import resize_to_box
from ..pixels.voi import apply_voi_lut, apply_window
from . import GRAYSCALE_PRESENTATION

RGB = tuple[int, int, int]
#: An image reference: (SOP Instance UID, frame numbers (1-based); empty = all frames).
Ref = tuple[str, tuple[int, ...]]


class NotReferenced(PixelError):
    """The presentation state does not apply to the requested image or frame."""

    status = 422


@dataclass(frozen=True)
class Graphic:
    """One Graphic Object (C.10.5.1.2) or Text Object (C.10.5.1.1)."""

    kind: str  # POINT, POLYLINE, INTERPOLATED, CIRCLE, ELLIPSE or TEXT
    units: str  # PIXEL or DISPLAY
    points: tuple[tuple[float, float], ...]  # (column, row)
    filled: bool
    text: str
    color: RGB


@dataclass(frozen=True)
class Annotation:
    """A Graphic Annotation Sequence item and the images it applies to (empty = all)."""

    refs: tuple[Ref, ...]
    graphics: tuple[Graphic, ...]


@dataclass(frozen=True)
class Area:
    """A Displayed Area Selection item (C.10.4): 1-based (column, row) corners."""

    refs: tuple[Ref, ...]
    top_left: tuple[int, int]
    bottom_right: tuple[int, int]


@dataclass(frozen=True)
class Voi:
    """A Softcopy VOI LUT Sequence item (C.11.8)."""

    refs: tuple[Ref, ...]
    windows: tuple[StoredWindow, ...]
    luts: tuple[Lut, ...]


@dataclass(frozen=True)
class Shutter:
    """The Display Shutter Module (PS3.3 C.7.6.11) with the Presentation State Shutter Module (C.11.12).

    Coordinates are 1-based image pixels, (1, 1) the top left pixel. Each shape
    present shows only what lies inside it; together, only what lies inside all.
    """

    rectangle: tuple[int, int, int, int] | None  # left, right column; upper, lower row (inclusive)
    circle: tuple[int, int, int] | None  # centre row, centre column, radius in pixels
    polygon: tuple[tuple[int, int], ...]  # (row, column) vertices, implicitly closed
    value: int  # Shutter Presentation Value (0018,1622): a P-Value 0..65535, 0 (black) when absent
    color: RGB | None  # Shutter Presentation Color CIELab Value (0018,1624), as sRGB


@dataclass(frozen=True)
class Presentation:
    """What a GSPS holds for rendering, free of the Dataset."""

    label: str
    description: str
    creator: str
    date: str
    series: tuple[str, ...]
    images: tuple[Ref, ...]
    rescale: Rescale | None
    lut: Lut | None
    vois: tuple[Voi, ...]
    inverse: bool
    plut: Lut | None
    annotations: tuple[Annotation, ...]
    rotation: int
    flip: bool
    areas: tuple[Area, ...]
    shutter: Shutter | None = None


def _refs(item: Any) -> tuple[Ref, ...]:
    """Referenced Image Sequence items as (SOP Instance UID, frames), PS3.3 10.3."""
    out: list[Ref] = []
    for ref in elements.sequence(item, "ReferencedImageSequence"):
        frames = elements.integers(ref, "ReferencedFrameNumber") or ()
        out.append((elements.string(ref, "ReferencedSOPInstanceUID"), frames))
    return tuple(out)


def _layer_color(item: Any) -> RGB | None:
    """A Graphic Layer's colour, PS3.3 C.10.7: its CIELab recommendation, else its grayscale one (0..65535);
    None when it has neither, or a malformed one (the layer is then drawn white)."""
    try:
        lab = elements.integers(item, "GraphicLayerRecommendedDisplayCIELabValue", 3, low=0, high=65535)
        if lab is not None:
            return lab_to_rgb((lab[0], lab[1], lab[2]))
        grey = elements.integer(item, "GraphicLayerRecommendedDisplayGrayscaleValue", low=0, high=65535)
    except Malformed:
        return None
    if grey is None:
        return None
    g = int(round(grey * 255 / 65535))
    return (g, g, g)


def _layer_colors(ds: Any) -> dict[str, RGB]:
    """Graphic Layer colours, PS3.3 C.10.7: CIELab, else grayscale (0..65535), else white."""
    colors: dict[str, RGB] = {}
    for item in elements.sequence(ds, "GraphicLayerSequence"):
        color = _layer_color(item)
        if color is not None:
            colors[elements.string(item, "GraphicLayer")] = color
    return colors


def _pairs(item: Any, keyword: str) -> tuple[tuple[float, float], ...]:
    """(column, row) pairs of a Graphic Data, Anchor Point or corner (PS3.3 C.10.5.1); a non-finite one is
    kept, and :func:`_draw` leaves its graphic out."""
    v = elements.numbers(item, keyword, finite=False) or ()
    return tuple((v[i], v[i + 1]) for i in range(0, len(v) - 1, 2))


def _graphics(item: Any, color: RGB) -> tuple[Graphic, ...]:
    """Graphic and Text Objects of one annotation item, PS3.3 C.10.5.1."""
    out: list[Graphic] = []
    for g in elements.sequence(item, "GraphicObjectSequence"):
        out.append(Graphic(elements.code_string(g, "GraphicType"),
                           elements.code_string(g, "GraphicAnnotationUnits") or "PIXEL",
                           _pairs(g, "GraphicData"),
                           elements.code_string(g, "GraphicFilled") == "Y", "", color))
    for t in elements.sequence(item, "TextObjectSequence"):
        if "AnchorPoint" in t:
            units, pts = elements.code_string(t, "AnchorPointAnnotationUnits"), _pairs(t, "AnchorPoint")
        else:
            units = elements.code_string(t, "BoundingBoxAnnotationUnits")
            pts = _pairs(t, "BoundingBoxTopLeftHandCorner")
        out.append(Graphic("TEXT", units or "PIXEL", pts, False, text(t.get("UnformattedTextValue")), color))
    return tuple(out)


def _presentation_lut(ds: Any) -> tuple[bool, Lut | None]:
    """Presentation LUT Shape or Sequence, PS3.3 C.11.6."""
    seq = elements.sequence(ds, "PresentationLUTSequence")
    if seq:
        return False, modality_lut(_renamed(ds, list(seq)))
    return elements.code_string(ds, "PresentationLUTShape") == "INVERSE", None


def _renamed(ds: Any, seq: Any) -> Any:
    """A dataset whose Modality LUT Sequence is ``seq``, to reuse the LUT reader (unsigned input)."""
    from pydicom.dataset import Dataset

    tmp = Dataset()
    tmp.ModalityLUTSequence = seq
    tmp.PixelRepresentation = 0
    tmp.set_original_encoding(True, True) if hasattr(tmp, "set_original_encoding") else None
    return tmp


#: Shutter coordinates are clamped to this: a hostile 1e30 stays a number numpy and Pillow compare.
_SHUTTER_LIMIT = 1 << 31


def _ints(ds: Any, keyword: str, count: int | None = None) -> tuple[int, ...] | None:
    """Integer values of an IS/US attribute of the shutter, clamped; None when absent, malformed or not
    ``count`` long (the shape is then left out)."""
    try:
        values = elements.integers(ds, keyword, count)
    except Malformed:
        return None
    if values is None:
        return None
    return tuple(max(-_SHUTTER_LIMIT, min(_SHUTTER_LIMIT, v)) for v in values)


def _shutter(ds: Any) -> Shutter | None:
    """Display Shutter Module, PS3.3 C.7.6.11 (Table C.7-17a), and the shutter value of C.11.12.

    A shape whose attributes are missing or malformed is left out (the image
    is still shown); BITMAP (C.7.6.15) is not applied. None when no shape remains.
    """
    shapes = {shape.upper() for shape in elements.strings(ds, "ShutterShape")}
    rectangle = circle = None
    polygon: tuple[tuple[int, int], ...] = ()
    if "RECTANGULAR" in shapes:  # (0018,1602..1608): columns of the vertical edges, rows of the horizontal
        edges = [_ints(ds, k, 1) for k in ("ShutterLeftVerticalEdge", "ShutterRightVerticalEdge",
                                            "ShutterUpperHorizontalEdge", "ShutterLowerHorizontalEdge")]
        if all(e is not None for e in edges):
            left, right, upper, lower = (e[0] for e in edges if e is not None)
            rectangle = (left, right, upper, lower)
    if "CIRCULAR" in shapes:  # (0018,1610) centre as row\column, (0018,1612) radius in pixels
        centre, radius = _ints(ds, "CenterOfCircularShutter", 2), _ints(ds, "RadiusOfCircularShutter", 1)
        if centre is not None and radius is not None and radius[0] >= 0:
            circle = (centre[0], centre[1], radius[0])
    if "POLYGONAL" in shapes:  # (0018,1620) row\column pairs, at least 3 vertices
        vertices = _ints(ds, "VerticesOfThePolygonalShutter")
        if vertices is not None and len(vertices) >= 6 and len(vertices) % 2 == 0:
            polygon = tuple((vertices[i], vertices[i + 1]) for i in range(0, len(vertices), 2))
    if rectangle is None and circle is None and not polygon:
        return None
    value = _ints(ds, "ShutterPresentationValue", 1)
    lab = _ints(ds, "ShutterPresentationColorCIELabValue", 3)
    color = lab_to_rgb((lab[0], lab[1], lab[2])) if lab is not None and all(0 <= v <= 65535 for v in lab) else None
    grey = value[0] if value is not None and 0 <= value[0] <= 65535 else 0
    return Shutter(rectangle, circle, polygon, grey, color)


#: Vertices beyond this many pixels outside the image are clamped there (Pillow's coordinates are C ints).
_SHUTTER_REACH = 1 << 20


def shutter_mask(shape: tuple[int, int], shutter: Shutter) -> NDArray[np.bool_]:
    """True where the image stays visible under ``shutter``, PS3.3 C.7.6.11 (all shapes combined).

    Pixel (row, column) 1-based is inside a rectangle when left <= column <= right
    and upper <= row <= lower; inside a circle when its centre is within the
    radius of the shutter's centre; inside a polygon when Pillow fills it
    (the edges included).
    """
    rows, cols = shape
    r = np.arange(1, rows + 1)[:, None]
    c = np.arange(1, cols + 1)[None, :]
    visible = np.ones(shape, bool)
    if shutter.rectangle is not None:
        left, right, upper, lower = shutter.rectangle
        visible &= (c >= left) & (c <= right) & (r >= upper) & (r <= lower)
    if shutter.circle is not None:
        cr, cc, radius = (float(v) for v in shutter.circle)
        visible &= (r - cr) ** 2 + (c - cc) ** 2 <= radius ** 2
    if shutter.polygon:
        img = Image.new("1", (cols, rows), 0)
        reach = _SHUTTER_REACH
        points = [(float(min(max(col - 1, -reach), reach)), float(min(max(row - 1, -reach), reach)))
                  for row, col in shutter.polygon]
        ImageDraw.Draw(img).polygon(points, fill=1, outline=1)
        visible &= np.asarray(img, bool)
    return visible


def apply_shutter(arr: NDArray[np.uint8], shutter: Shutter | None, color: bool = True) -> NDArray[np.uint8]:
    """The 8-bit picture with what the shutter occludes replaced, PS3.3 C.7.6.11 / C.11.12.

    Grey (0018,1622) Shutter Presentation Value scaled from 16 to 8 bits, or,
    when ``color`` and the presentation state gives (0018,1624), that colour
    (the answer is then RGB). ``arr`` unchanged without a shutter.
    """
    if shutter is None:
        return arr
    hidden = ~shutter_mask((arr.shape[0], arr.shape[1]), shutter)
    if color and shutter.color is not None:
        out = np.repeat(arr[..., None], 3, axis=-1) if arr.ndim == 2 else arr.copy()
        out[hidden] = shutter.color
        return out
    out = arr.copy()
    out[hidden] = int(round(shutter.value * 255 / 65535))
    return out


def parse(ds: Any) -> Presentation:
    """Read a GSPS dataset into a :class:`Presentation`, PS3.3 A.33.1."""
    if text(ds.get("SOPClassUID")) != GRAYSCALE_PRESENTATION:
        raise Unsupported(f"(0008,0016) SOP Class UID {text(ds.get('SOPClassUID'))!r} "
                          "is not Grayscale Softcopy Presentation State")
    return _parse(ds)


def _parse(ds: Any) -> Presentation:
    series: list[str] = []
    images: list[Ref] = []
    for item in elements.sequence(ds, "ReferencedSeriesSequence"):
        series.append(elements.string(item, "SeriesInstanceUID"))
        images.extend(_refs(item))
    has_rescale = "RescaleSlope" in ds or "RescaleIntercept" in ds
    rescale = rescale_for_frame(ds, 0) if has_rescale else None
    lut = modality_lut(ds)
    vois = []
    for item in elements.sequence(ds, "SoftcopyVOILUTSequence"):
        windows, luts = voi_for_frame(item, 0)
        vois.append(Voi(_refs(item), windows, luts))
    inverse, plut = _presentation_lut(ds)
    colors = _layer_colors(ds)
    annotations = [Annotation(_refs(item), _graphics(item, colors.get(elements.string(item, "GraphicLayer"),
                                                                         (255, 255, 255))))
                   for item in elements.sequence(ds, "GraphicAnnotationSequence")]
    areas = []
    for item in elements.sequence(ds, "DisplayedAreaSelectionSequence"):
        tl = _corner(item, "DisplayedAreaTopLeftHandCorner")
        br = _corner(item, "DisplayedAreaBottomRightHandCorner")
        areas.append(Area(_refs(item), tl, br))
    rotation = elements.integer(ds, "ImageRotation", 0)
    if rotation not in (0, 90, 180, 270):
        raise Malformed(f"{elements.label('ImageRotation')} {rotation!r} is not 0, 90, 180 or 270")
    return Presentation(
        label=text(ds.get("ContentLabel")), description=text(ds.get("ContentDescription")),
        creator=text(ds.get("ContentCreatorName")), date=text(ds.get("PresentationCreationDate")),
        series=tuple(series), images=tuple(images), rescale=rescale, lut=lut, vois=tuple(vois),
        inverse=inverse, plut=plut, annotations=tuple(annotations), rotation=rotation,
        flip=elements.code_string(ds, "ImageHorizontalFlip") == "Y", areas=tuple(areas),
        shutter=_shutter(ds))


def _corner(item: Any, keyword: str) -> tuple[int, int]:
    """A Displayed Area corner (PS3.3 C.10.4): 1-based column\\row, SL; both corners are required."""
    found = elements.integers(item, keyword, 2, low=-(1 << 31), high=(1 << 31) - 1)
    if found is None:
        raise Malformed(f"{elements.label(keyword)} is missing")
    return found[0], found[1]


def summary(p: Presentation) -> dict[str, Any]:
    """The presentation state for the viewer's list."""
    return {"label": p.label, "description": p.description, "creator": p.creator, "date": p.date,
            "series": list(p.series), "instances": [uid for uid, _ in p.images]}


def _applies(refs: tuple[Ref, ...], uid: str, frame_number: int) -> bool:
    """True when ``refs`` is empty (all images) or names the image and frame."""
    if not refs:
        return True
    return any(u == uid and (not frames or frame_number in frames) for u, frames in refs)


def check_reference(p: Presentation, sop_instance_uid: str, frame_number: int) -> None:
    """Raise :class:`NotReferenced` unless the GSPS references this image frame (PS3.3 C.11.11)."""
    if not any(u == sop_instance_uid for u, _ in p.images):
        raise NotReferenced(f"The presentation state does not reference image {sop_instance_uid}")
    if not _applies(p.images, sop_instance_uid, frame_number):
        raise NotReferenced(f"The presentation state does not reference frame {frame_number} "
                            f"of image {sop_instance_uid}")


def _modality(p: Presentation, frame: ModalityFrame) -> NDArray[Any]:
    """The GSPS Modality LUT replaces the image's, PS3.3 C.11.1 / PS3.4 N.2."""
    if p.rescale is None and p.lut is None:
        return frame.array
    if frame.modality_lut_used:
        raise Unsupported("The image's Modality LUT Sequence cannot be replaced by the presentation state's")
    stored = frame.array.astype(np.float64)
    r = frame.rescale
    if (r.slope, r.intercept) != (1.0, 0.0):
        stored = (stored - r.intercept) / r.slope
    if p.lut is not None:
        return apply_lut(np.rint(stored).astype(np.int64), p.lut)
    out = stored * p.rescale.slope + p.rescale.intercept if p.rescale else stored
    return np.rint(out).astype(np.int64) if np.allclose(out, np.rint(out)) else out


def _grey(p: Presentation, frame: ModalityFrame, uid: str, number: int,
          params: RenderParams) -> tuple[NDArray[np.uint8], tuple[float, float, str] | None]:
    """Modality, Softcopy VOI (C.11.8) and Presentation LUT (C.11.6) to 8-bit grey."""
    values = _modality(p, frame)
    window: tuple[float, float, str] | None = None
    if params.window is not None or params.voi is not None:
        shown = display(_replace(frame, values), RenderParams(window=params.window, voi=params.voi))
        y = shown.array.astype(np.float64) / 255.0
        window = shown.window
        if frame.inverse:
            y = 1.0 - y  # display() applied the image's own inversion: the GSPS's replaces it
    else:
        voi = next((v for v in p.vois if _applies(v.refs, uid, number)), None)
        if voi is not None and voi.windows:
            w = voi.windows[0]
            y = apply_window(values, Window(w.center, w.width, w.function))
            window = (w.center, w.width, w.function)
        elif voi is not None and voi.luts:
            y = apply_voi_lut(values, voi.luts[0])
        else:
            y = _minmax(values)
    if p.plut is not None:
        top = p.plut.data.size - 1
        index = np.rint(y * top).astype(np.intp)
        y = p.plut.data.astype(np.float64)[index] / float((1 << p.plut.bits) - 1)
    elif p.inverse:
        y = 1.0 - y
    return np.rint(np.clip(y, 0.0, 1.0) * 255).astype(np.uint8), window


def _minmax(values: NDArray[Any]) -> NDArray[np.float64]:
    """No VOI: the full range of values shown (identity VOI over min..max)."""
    lo, hi = float(values.min()), float(values.max())
    return np.zeros(values.shape) if hi <= lo else (values.astype(np.float64) - lo) / (hi - lo)


def _replace(frame: ModalityFrame, values: NDArray[Any]) -> ModalityFrame:
    from dataclasses import replace

    return replace(frame, array=values, value_range=None, padding_mask=None)


def _draw(img: Image.Image, graphics: tuple[Graphic, ...], to_xy: Any) -> None:
    """Draw Graphic and Text Objects (C.10.5.1) with ``to_xy`` mapping (column, row) to pixels."""
    draw = ImageDraw.Draw(img)
    # Hostile files: coordinates that are not finite, or so far away that Pillow overflows,
    # skip the graphic (the image is still shown); nearer ones are clipped by Pillow itself.
    reach = 8.0 * max(img.size)
    for g in graphics:
        pts = [to_xy(c, r) for c, r in g.points]
        if not pts or not all(np.isfinite(v) and abs(v) <= reach for xy in pts for v in xy):
            continue
        _draw_one(draw, g, pts)


def _draw_one(draw: ImageDraw.ImageDraw, g: Graphic, pts: list[tuple[float, float]]) -> None:
    """One Graphic or Text Object, C.10.5.1.2."""
    fill = g.color if g.filled else None
    if g.kind == "TEXT":
        draw.text(pts[0], g.text, fill=g.color)
    elif g.kind == "POINT":
        for x, y in pts:
            draw.ellipse((x - 1, y - 1, x + 1, y + 1), fill=g.color)
    elif g.kind in ("POLYLINE", "INTERPOLATED"):
        if fill is not None and len(pts) > 2:
            draw.polygon(pts, fill=fill, outline=g.color)
        else:
            draw.line(pts, fill=g.color, width=1)
    elif g.kind == "CIRCLE" and len(pts) == 2:
        (cx, cy), (px, py) = pts
        rad = float(np.hypot(px - cx, py - cy))
        draw.ellipse((cx - rad, cy - rad, cx + rad, cy + rad), outline=g.color, fill=fill)
    elif g.kind == "ELLIPSE" and len(pts) == 4:
        (x1, y1), (x2, y2), (x3, y3), (x4, y4) = pts
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        a, b = np.hypot(x2 - x1, y2 - y1) / 2, np.hypot(x4 - x3, y4 - y3) / 2
        angle = float(np.arctan2(y2 - y1, x2 - x1))
        t = np.linspace(0, 2 * np.pi, 73)
        xs = cx + a * np.cos(t) * np.cos(angle) - b * np.sin(t) * np.sin(angle)
        ys = cy + a * np.cos(t) * np.sin(angle) + b * np.sin(t) * np.cos(angle)
        ring = [(float(x), float(y)) for x, y in zip(xs, ys, strict=True)]
        if fill is not None:
            draw.polygon(ring, fill=fill, outline=g.color)
        else:
            draw.line(ring, fill=g.color, width=1)


#: Largest Displayed Area (C.10.4) that is rendered: a hostile one would fill the memory.
MAX_AREA_PIXELS = 32 * 10**6


def _spatial(arr: NDArray[Any], flip: bool, rotation: int) -> NDArray[Any]:
    """Image Rotation clockwise, then Image Horizontal Flip, PS3.3 C.10.6 (Table C.10-6).

    (0070,0042) rotates "before any Image Horizontal Flip is applied" and
    (0070,0041) flips "after any Image Rotation has been applied"; dcmp2pgm does the same.
    """
    out = np.rot90(arr, k=-(rotation // 90)) if rotation else arr
    return out[:, ::-1] if flip else out


def _area(arr: NDArray[Any], area: Area | None) -> NDArray[Any]:
    """Displayed Area (C.10.4) of the transformed image, padded with black outside it."""
    if area is None:
        return arr
    (c1, r1), (c2, r2) = area.top_left, area.bottom_right
    c1, c2 = min(c1, c2), max(c1, c2)
    r1, r2 = min(r1, r2), max(r1, r2)
    if (r2 - r1 + 1) * (c2 - c1 + 1) > MAX_AREA_PIXELS:
        raise TooLarge(f"the presentation state's displayed area is {c2 - c1 + 1}x{r2 - r1 + 1} pixels; "
                       f"at most {MAX_AREA_PIXELS // 10**6} megapixels are shown")
    out = np.zeros((r2 - r1 + 1, c2 - c1 + 1) + arr.shape[2:], arr.dtype)
    rows, cols = arr.shape[:2]
    sr0, sr1 = max(r1 - 1, 0), min(r2, rows)
    sc0, sc1 = max(c1 - 1, 0), min(c2, cols)
    if sr0 < sr1 and sc0 < sc1:
        out[sr0 - (r1 - 1):sr1 - (r1 - 1), sc0 - (c1 - 1):sc1 - (c1 - 1)] = arr[sr0:sr1, sc0:sc1]
    return out


def render(p: Presentation, frame: ModalityFrame, sop_instance_uid: str, frame_number: int,
           params: RenderParams) -> Rendered:
    """The image frame as the presentation state shows it, PS3.4 N.2."""
    if frame.is_color:
        raise Unsupported("A Grayscale Softcopy Presentation State applies to grayscale images only")
    check_reference(p, sop_instance_uid, frame_number)
    grey, window = _grey(p, frame, sop_instance_uid, frame_number, params)
    graphics = [g for a in p.annotations if _applies(a.refs, sop_instance_uid, frame_number)
                for g in a.graphics]
    pixel = tuple(g for g in graphics if g.units == "PIXEL")
    shown = tuple(g for g in graphics if g.units == "DISPLAY")
    # PS3.4 N.2: the shutter in the image's pixel space, before annotations and the spatial transformation.
    out: NDArray[Any] = apply_shutter(grey, p.shutter, color=params.format != "gray8")
    if pixel:
        img = Image.fromarray(np.ascontiguousarray(out)).convert("RGB")
        # PS3.3 C.10.5.1.2: pixel coordinates with (0,0) the top left corner of the top left pixel.
        _draw(img, pixel, lambda c, r: (c - 0.5, r - 0.5))
        out = np.asarray(img)
    out = _spatial(out, p.flip, p.rotation)
    area = next((a for a in p.areas if _applies(a.refs, sop_instance_uid, frame_number)), None)
    out = _area(out, area)
    if shown:
        img = Image.fromarray(np.ascontiguousarray(out)).convert("RGB")
        h, w = out.shape[:2]
        _draw(img, shown, lambda c, r: (c * w, r * h))
        out = np.asarray(img)
    out = resize_to_box(np.ascontiguousarray(out), params.max_width, params.max_height)
    fmt = "rgb24" if out.ndim == 3 else "gray8"
    if params.format == "rgb24" and out.ndim == 2:
        out, fmt = np.repeat(out[..., None], 3, axis=-1), "rgb24"
    elif params.format == "gray8" and out.ndim == 3:
        out, fmt = np.rint(out.astype(np.float64) @ [0.299, 0.587, 0.114]).astype(np.uint8), "gray8"
    return Rendered(np.ascontiguousarray(out), fmt, window)
