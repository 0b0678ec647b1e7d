"""Structured Reports and Key Object Selection documents as HTML and as a thumbnail.

Covers every SR storage class (Basic Text, Enhanced, Comprehensive, Comprehensive 3D SR,
Key Object Selection, ...: PS3.4 B.5), whose document is a tree of content items
(PS3.3 C.17.3 SR Document Content Module; the value types of PS3.3 C.18):

- :func:`report_html`: a self-contained HTML5 page of the tree, every dataset string escaped;
- :func:`referenced_instances`: the SOP Instance UIDs the report refers to;
- :func:`report_thumbnail`: a picture of the first lines of the report on a white A4 page.

The tree is walked with an explicit stack, bounded by :data:`MAX_DEPTH` levels and
:data:`MAX_ITEMS` items, so that a hostile tree cuts short with a note instead of failing.
"""
from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont
from pydicom.uid import UID

from ..pixels import elements
from ..pixels.errors import BadParameter, Malformed, TooLarge, Unsupported
from ..pixels.meta import text
from . import kind_of
from .dates import INVALID_DATE, display_date, iso_date

#: Content tree levels shown; deeper items are replaced by a note.
MAX_DEPTH = 64
#: Content items shown; the rest of the tree is replaced by a note.
MAX_ITEMS = 20_000
#: Largest thumbnail side, in pixels.
MAX_THUMBNAIL_SIDE = 4096
#: Thumbnail height when no box is given (the width follows the A4 page).
DEFAULT_THUMBNAIL_HEIGHT = 512
#: A4 portrait, width over height (210 mm x 297 mm).
_PAGE_ASPECT = 210 / 297
#: Lines of text the thumbnail takes from the report at most.
_THUMBNAIL_LINES = 200
#: Characters the thumbnail takes from one item at most (a page shows far fewer).
_THUMBNAIL_LINE_CHARS = 2000

_REFERENCE_TYPES = frozenset({"IMAGE", "COMPOSITE", "WAVEFORM"})


@dataclass(frozen=True)
class _Step:
    """One step of the walk: an item opens or closes, or the tree is cut here."""

    kind: str  # "open", "close", "depth-cut", "size-cut"
    depth: int
    item: Any
    position: str


def _first(item: Any, keyword: str) -> Any:
    """The first item of a sequence attribute, or None; :class:`Malformed` when it is no sequence."""
    return elements.first(item, keyword)


def _code_meaning(code: Any) -> str:
    """PS3.3 8.8 Code Sequence item: its Code Meaning, else its Code Value."""
    if code is None:
        return ""
    return text(code.get("CodeMeaning")) or text(code.get("CodeValue"))


def _concept_name(item: Any) -> str:
    """PS3.3 C.17.3.2.1 Concept Name Code Sequence (0040,A043) of a content item."""
    return _code_meaning(_first(item, "ConceptNameCodeSequence"))


def _date(value: Any) -> str:
    """DA YYYYMMDD (or ACR-NEMA's YYYY.MM.DD) as YYYY-MM-DD (PS3.5 6.2); anything else marked invalid."""
    return display_date(text(value))


def _time(value: Any) -> str:
    """TM HHMMSS[.F] as HH:MM:SS[.F] (PS3.5 6.2); anything else as it is."""
    shown = text(value).strip()
    if len(shown) >= 6 and shown[:6].isdigit():
        return f"{shown[:2]}:{shown[2:4]}:{shown[4:6]}{shown[6:]}"
    return shown


def _datetime(value: Any) -> str:
    """DT YYYYMMDDHHMMSS... as 'YYYY-MM-DD HH:MM:SS...' (PS3.5 6.2); a DT whose date is invalid is marked so."""
    shown = text(value).strip()
    if len(shown) in (4, 6) and shown.isascii() and shown.isdigit():
        return shown   # DT may stop at the year or the month (PS3.5 6.2)
    if len(shown) <= 8:
        return display_date(shown)
    day = iso_date(shown[:8])
    return f"{day} {_time(shown[8:])}" if day else f"{shown} {INVALID_DATE}"


def _person(value: Any) -> str:
    """PN 'Family^Given^Middle^Prefix^Suffix' as 'Family, Given Middle' (PS3.5 6.2.1)."""
    parts = [p.strip() for p in text(value).split("=")[0].split("^")]
    family = parts[0] if parts else ""
    rest = " ".join(p for p in parts[1:3] if p)
    return ", ".join(p for p in (family, rest) if p)


def _num(item: Any) -> str:
    """PS3.3 C.18.1 NUM: the Measured Value Sequence's value and its unit's meaning (or code value)."""
    measured = _first(item, "MeasuredValueSequence")
    if measured is None:
        qualifier = _code_meaning(_first(item, "NumericValueQualifierCodeSequence"))
        return qualifier or "(no value)"
    value = text(measured.get("NumericValue")).strip()
    unit = _first(measured, "MeasurementUnitsCodeSequence")
    # PS3.16 CID 7181: UCUM "1" is a unitless quantity.
    if unit is not None and text(unit.get("CodeValue")) == "1":
        return value
    return f"{value} {_code_meaning(unit)}".strip()


def _scoord(item: Any) -> str:
    """PS3.3 C.18.6 SCOORD: graphic type and point count."""
    points = len(elements.each(item, "GraphicData")) // 2
    return f"{text(item.get('GraphicType'))} of {points} point{'s' * (points != 1)}"


def _scoord3d(item: Any) -> str:
    """PS3.3 C.18.9 SCOORD3D: graphic type, point count and frame of reference."""
    points = len(elements.each(item, "GraphicData")) // 3
    frame = text(item.get("ReferencedFrameOfReferenceUID"))
    return f"{text(item.get('GraphicType'))} of {points} point{'s' * (points != 1)} in frame of reference {frame}"


def _tcoord(item: Any) -> str:
    """PS3.3 C.18.7 TCOORD: temporal range type and the count of sample positions, offsets or times."""
    for keyword, what in (("ReferencedSamplePositions", "sample positions"),
                          ("ReferencedTimeOffsets", "time offsets"),
                          ("ReferencedDateTime", "times")):
        if keyword in item:
            count = len(elements.each(item, keyword))
            return f"{text(item.get('TemporalRangeType'))} of {count} {what}"
    return text(item.get("TemporalRangeType"))


def _reference(item: Any) -> tuple[str, str]:
    """PS3.3 C.18.3-C.18.5 IMAGE/COMPOSITE/WAVEFORM: (description, Referenced SOP Instance UID)."""
    ref = _first(item, "ReferencedSOPSequence")
    if ref is None:
        return "(no reference)", ""
    sop_class = text(ref.get("ReferencedSOPClassUID"))
    name = UID(sop_class).name if sop_class else ""
    frames = text(ref.get("ReferencedFrameNumber"))
    description = name + (f", frame {frames}" if frames else "")
    return description or "(unknown class)", text(ref.get("ReferencedSOPInstanceUID"))


def _by_reference(item: Any) -> str:
    """PS3.3 C.17.3.2.5 Referenced Content Item Identifier (0040,DB73) as a position '1.2.3'."""
    return ".".join(text(v) for v in elements.each(item, "ReferencedContentItemIdentifier"))


_VALUES: dict[str, Callable[[Any], str]] = {
    "TEXT": lambda item: text(item.get("TextValue")),
    "CODE": lambda item: _code_meaning(_first(item, "ConceptCodeSequence")),
    "NUM": _num,
    "DATE": lambda item: _date(item.get("Date")),
    "TIME": lambda item: _time(item.get("Time")),
    "DATETIME": lambda item: _datetime(item.get("DateTime")),
    "PNAME": lambda item: _person(item.get("PersonName")),
    "UIDREF": lambda item: text(item.get("UID")),
    "SCOORD": _scoord,
    "SCOORD3D": _scoord3d,
    "TCOORD": _tcoord,
    "CONTAINER": lambda item: "",
}


def _value(item: Any) -> str:
    """The plain-text value of a content item by its Value Type (PS3.3 C.17.3.2.1)."""
    value_type = text(item.get("ValueType"))
    if value_type in _REFERENCE_TYPES:
        description, uid = _reference(item)
        return f"{description} {uid}".strip()
    if value_type in _VALUES:
        return _VALUES[value_type](item)
    return f"(value type {value_type} not shown)"


def _children(item: Any) -> list[Any]:
    """The item's Content Sequence (0040,A730) items; [] when absent or not a sequence (the item shows
    what else it holds)."""
    try:
        return list(elements.sequence(item, "ContentSequence"))
    except Malformed:
        return []


def _walk(ds: Any, max_depth: int, max_items: int) -> Iterator[_Step]:
    """The content tree in document order, depth first without recursion, cut at the bounds."""
    stack: list[_Step] = [_Step("open", 0, ds, "1")]
    count = 0
    while stack:
        step = stack.pop()
        if step.kind != "open":
            yield step
            continue
        count += 1
        if count > max_items:
            yield _Step("size-cut", step.depth, None, step.position)
            yield from (s for s in reversed(stack) if s.kind == "close")
            return
        yield step
        stack.append(_Step("close", step.depth, step.item, step.position))
        children = _children(step.item)
        if children and step.depth + 1 >= max_depth:
            stack.append(_Step("depth-cut", step.depth + 1, None, step.position))
            continue
        for number in range(len(children), 0, -1):
            stack.append(_Step("open", step.depth + 1, children[number - 1], f"{step.position}.{number}"))


def _require_report(ds: Any) -> None:
    if kind_of(ds) != "report":
        raise Unsupported(f"(0008,0016) SOP Class UID {text(ds.get('SOPClassUID'))[:64]!r} is not a Structured Report")


def _title(ds: Any) -> str:
    """The document title: the root content item's concept name (PS3.3 C.17.3), else the SOP class."""
    try:
        name = _concept_name(ds)
    except Malformed:   # the title falls back on the SOP class
        name = ""
    if name:
        return name
    sop_class = text(ds.get("SOPClassUID"))
    return UID(sop_class).name if sop_class else "Structured Report"


def _header_lines(ds: Any) -> list[tuple[str, str]]:
    """(label, value) lines: patient (C.7.1.1), study (C.7.2.1), series and SR General flags (C.17.2)."""
    lines = [
        ("Patient", _person(ds.get("PatientName"))),
        ("Patient ID", text(ds.get("PatientID"))),
        ("Birth date", _date(ds.get("PatientBirthDate"))),
        ("Sex", text(ds.get("PatientSex"))),
        ("Study", text(ds.get("StudyDescription"))),
        ("Study date", f"{_date(ds.get('StudyDate'))} {_time(ds.get('StudyTime'))}".strip()),
        ("Accession", text(ds.get("AccessionNumber"))),
        ("Series", text(ds.get("SeriesDescription"))),
        ("Content date", f"{_date(ds.get('ContentDate'))} {_time(ds.get('ContentTime'))}".strip()),
    ]
    # PS3.3 C.17.2.1: Completion, Verification and Preliminary flags.
    completion = text(ds.get("CompletionFlag"))
    description = text(ds.get("CompletionFlagDescription"))
    lines.append(("Completion", f"{completion} ({description})" if description else completion))
    verification = text(ds.get("VerificationFlag"))
    observers = [_person(o.get("VerifyingObserverName")) for o in elements.sequence(ds, "VerifyingObserverSequence")]
    by = ", ".join(o for o in observers if o)
    lines.append(("Verification", f"{verification} by {by}" if by else verification))
    lines.append(("Preliminary", text(ds.get("PreliminaryFlag"))))
    return [(label, value) for label, value in lines if value]


_CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:1.5em auto;max-width:60em;padding:0 1em;color:#222;background:#fff}
h1{font-size:1.5em;margin:0 0 .4em}
dl.header{display:grid;grid-template-columns:max-content 1fr;gap:.1em 1em;margin:0 0 1.2em;color:#444}
dl.header dt{font-weight:600}dl.header dd{margin:0}
.item{margin:.15em 0}.children{margin-left:1.2em;border-left:1px solid #ddd;padding-left:.7em}
.rel{color:#999;font-size:.75em;text-transform:lowercase;margin-right:.4em}
.name{font-weight:600}.text{white-space:pre-wrap}
.unreadable,.cut{color:#a33;font-style:italic}.problem{color:#a33;font-size:.85em}
h2,h3,h4,h5,h6{margin:.6em 0 .2em}h2{font-size:1.25em}h3{font-size:1.1em}h4,h5,h6{font-size:1em}
"""


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _item_html(item: Any, depth: int, position: str, image_link: Callable[[str], str | None]) -> str:
    """The opening HTML of one content item (PS3.3 C.17.3.2); its children follow."""
    relation = text(item.get("RelationshipType"))
    rel = f'<span class="rel">{_e(relation)}</span>' if relation else ""
    value_type = text(item.get("ValueType"))
    name = _concept_name(item)
    anchor = f'<div class="item" id="item-{_e(position)}">'
    if not value_type:
        target = _by_reference(item)
        if target:  # PS3.3 C.17.3.2.5: a relationship by reference has no value type.
            return f'{anchor}{rel}<a href="#item-{_e(target)}">see item {_e(target)}</a>'
        return f'{anchor}{rel}<span class="unreadable">unreadable item (no value type)</span>'
    if value_type == "CONTAINER":
        level = min(depth + 1, 6)
        return f"{anchor}<h{level}>{rel}{_e(name or 'Section')}</h{level}>"
    label = f'<span class="name">{_e(name)}:</span> ' if name else ""
    if value_type in _REFERENCE_TYPES:
        description, uid = _reference(item)
        url = image_link(uid) if uid else None
        if url is not None:
            value = f'<a href="{_e(url)}">{_e(description)}</a>'
        else:
            value = f"{_e(description)} <code>{_e(uid)}</code>"
        return f"{anchor}{rel}{label}{value}"
    css = "text" if value_type == "TEXT" else "value"
    return f'{anchor}{rel}{label}<span class="{css}">{_e(_value(item))}</span>'


def _safe_item_html(item: Any, depth: int, position: str, image_link: Callable[[str], str | None]) -> str:
    try:
        return _item_html(item, depth, position, image_link)
    except Malformed as error:  # a malformed element of the item: shown, naming it, not fatal
        return (f'<div class="item" id="item-{_e(position)}"><span class="unreadable">unreadable item</span> '
                f'<span class="problem">{_e(error.message)}</span>')


def report_html(ds: Any, image_link: Callable[[str], str | None]) -> str:
    """PS3.3 C.17.3: the content tree as a complete HTML5 page (inline CSS, no scripts).

    ``image_link(sop_instance_uid)`` gives the URL of a referenced instance, or None to show
    its UID as text. Raises :class:`Unsupported` when the dataset is not an SR.
    """
    _require_report(ds)
    parts = [
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">",
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>{_e(_title(ds))}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(_title(ds))}</h1>",
        '<dl class="header">',
        *(f"<dt>{_e(label)}</dt><dd>{_e(value)}</dd>" for label, value in _header_lines(ds)),
        "</dl>",
    ]
    for step in _walk(ds, MAX_DEPTH, MAX_ITEMS):
        if step.kind == "open" and step.depth == 0:
            parts.append('<div class="item" id="item-1">')
        elif step.kind == "open":
            parts.append(_safe_item_html(step.item, step.depth, step.position, image_link))
            if _children(step.item):
                parts.append('<div class="children">')
        elif step.kind == "close":
            parts.append("</div></div>" if step.depth and _children(step.item) else "</div>")
        elif step.kind == "depth-cut":
            parts.append(f'<p class="cut">Content deeper than {MAX_DEPTH} levels is not shown.</p>')
        else:
            parts.append(f'<p class="cut">The report has more than {MAX_ITEMS} items; the rest is not shown.</p>')
    parts.append("</body></html>\n")
    return "".join(parts)


def _sequence_uids(ds: Any) -> Iterator[str]:
    """PS3.3 C.17.2.3 Current Requested Procedure and Pertinent Other Evidence: Hierarchical SOP Instance References."""
    for keyword in ("CurrentRequestedProcedureEvidenceSequence", "PertinentOtherEvidenceSequence"):
        for study in elements.sequence(ds, keyword):
            for series in elements.sequence(study, "ReferencedSeriesSequence"):
                for ref in elements.sequence(series, "ReferencedSOPSequence"):
                    yield text(ref.get("ReferencedSOPInstanceUID"))


def referenced_instances(ds: Any) -> list[str]:
    """SOP Instance UIDs the report references: its evidence sequences, then its content items, each once.
    A malformed sequence references nothing readable: what it held is left out."""
    _require_report(ds)
    uids: list[str] = []
    try:
        for uid in _sequence_uids(ds):
            uids.append(uid)
    except Malformed:
        pass   # the evidence read up to the malformed sequence is kept
    for step in _walk(ds, MAX_DEPTH, MAX_ITEMS):
        if step.kind != "open" or step.depth == 0:
            continue
        try:
            if text(step.item.get("ValueType")) in _REFERENCE_TYPES:
                uids.append(_reference(step.item)[1])
        except Malformed:
            continue
    return list(dict.fromkeys(uid for uid in uids if uid))


def _text_lines(ds: Any, limit: int) -> list[tuple[int, str]]:
    """(depth, line) of the first items of the report, as the thumbnail shows them."""
    lines: list[tuple[int, str]] = []
    for step in _walk(ds, MAX_DEPTH, limit):
        if step.kind != "open" or step.depth == 0:
            continue
        try:
            name, value = _concept_name(step.item), _value(step.item)
        except Malformed:  # malformed item: the thumbnail shows what the page shows
            name, value = "", "unreadable item"
        line = f"{name}: {value}" if name and value else name or value
        lines.append((step.depth - 1, " ".join(line[:_THUMBNAIL_LINE_CHARS].split())))
    return lines


def _page_size(max_width: int | None, max_height: int | None) -> tuple[int, int]:
    """The largest A4-portrait (width, height) inside the box; 512 px high with no box."""
    for side in (max_width, max_height):
        if side is not None and side < 1:
            raise BadParameter(f"thumbnail size must be positive, not {side}")
        if side is not None and side > MAX_THUMBNAIL_SIDE:
            raise TooLarge(f"thumbnail side {side} exceeds {MAX_THUMBNAIL_SIDE} pixels")
    if max_width is None and max_height is None:
        max_height = DEFAULT_THUMBNAIL_HEIGHT
    height = max_height if max_height is not None else MAX_THUMBNAIL_SIDE
    width = max_width if max_width is not None else MAX_THUMBNAIL_SIDE
    if width / height > _PAGE_ASPECT:
        width = max(1, round(height * _PAGE_ASPECT))
    else:
        height = max(1, round(width / _PAGE_ASPECT))
    return width, height


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
          width: float) -> list[str]:
    """Words of text in lines no wider than width (a too long word is cut)."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if current and draw.textlength(candidate, font=font) > width:
            lines.append(current)
            candidate = word
        while len(candidate) > 1 and draw.textlength(candidate, font=font) > width:
            cut = max(1, int(len(candidate) * width / draw.textlength(candidate, font=font)))
            lines.append(candidate[:cut])
            candidate = candidate[cut:]
        current = candidate
    return lines + ([current] if current else [])


def report_thumbnail(ds: Any, max_width: int | None, max_height: int | None) -> NDArray[np.uint8]:
    """The report's title and first lines on a white A4-portrait page fitted to the box, HxWx3 uint8."""
    _require_report(ds)
    width, height = _page_size(max_width, max_height)
    page = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(page)
    margin = max(1, round(width * 0.08))
    body_size = max(4, round(height / 45))
    title_font = ImageFont.load_default(size=max(5, round(body_size * 1.5)))
    body_font = ImageFont.load_default(size=body_size)
    y = float(margin)
    usable = width - 2 * margin
    for line in _wrap(draw, _title(ds), title_font, usable)[:3]:
        draw.text((margin, y), line, fill=(0, 0, 0), font=title_font)
        y += body_size * 1.8
    y += body_size * 0.6
    indent_step = body_size * 1.2
    for depth, shown in _text_lines(ds, _THUMBNAIL_LINES):
        indent = min(depth, 6) * indent_step
        for line in _wrap(draw, shown, body_font, max(body_size, usable - indent)):
            if y + body_size > height - margin:
                return np.ascontiguousarray(np.asarray(page, dtype=np.uint8))
            draw.text((margin + indent, y), line, fill=(40, 40, 40), font=body_font)
            y += math.ceil(body_size * 1.35)
    return np.ascontiguousarray(np.asarray(page, dtype=np.uint8))
