"""Reading attribute values that may be malformed, naming each problem instead of failing.

The summaries of :mod:`.rtplan`, :mod:`.rtdose` and :mod:`.summary` show
what a file holds, also when a value breaks its VR (PS3.5 6.2): a Decimal
String that is not a number, an Integer String "1A", a NaN.  pydicom keeps
such values as text when it reads them; a :class:`Values` turns each into a
number or None, and adds a sentence naming the tag, the attribute and the
value to its ``problems``.
"""
from __future__ import annotations

import math
from collections.abc import Sequence as AnySequence
from dataclasses import dataclass, field
from typing import Any

from pydicom.datadict import dictionary_description, tag_for_keyword
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence

from ..pixels.meta import text

#: Longest value quoted in a problem.
_QUOTED = 64


def tag_text(tag: int) -> str:
    """A tag as DICOM writes it: ``(0008,0060)``."""
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def label(keyword: str) -> str:
    """The tag and name of an attribute, for messages: ``(3004,000E) Dose Grid Scaling``."""
    tag = tag_for_keyword(keyword)
    if tag is None:
        return keyword
    return f"{tag_text(tag)} {dictionary_description(tag)}"


def quoted(value: Any) -> str:
    """The value as it is stored, quoted and shortened for a message."""
    shown = text(value)
    return repr(shown if len(shown) <= _QUOTED else shown[:_QUOTED] + "...")


def _many(value: Any) -> bool:
    return isinstance(value, (MultiValue, list, tuple))


def integer_of(value: Any) -> int | None:
    """An integer from an IS, US or text value; None when it is not one (a fraction, text, inf)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value.is_integer() else None
    try:
        return int(text(value).strip())
    except ValueError:
        return None


def finite_of(value: Any) -> float | None:
    """A finite number from a DS, FD or text value; None for text, NaN or an infinity."""
    try:
        number = float(value) if isinstance(value, (int, float)) else float(text(value).strip())
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


@dataclass
class Values:
    """Reads values of datasets, collecting in ``problems`` what it could not read."""

    problems: list[str] = field(default_factory=list)

    def _problem(self, where: str, message: str) -> None:
        self.problems.append(f"{where}{message}")

    def text(self, item: Any, keyword: str) -> str:
        """The value as stored, one line ('' when absent); multiple values joined by backslashes."""
        return text(item.get(keyword)).strip()

    def integer(self, item: Any, keyword: str, where: str = "") -> int | None:
        """An integer (IS, US, ...); None when absent or empty, None and a problem when malformed."""
        value = item.get(keyword)
        if value is None or text(value).strip() == "":
            return None
        number = None if _many(value) else integer_of(value)
        if number is None:
            self._problem(where, f"{label(keyword)} {quoted(value)} is not an integer")
        return number

    def number(self, item: Any, keyword: str, where: str = "") -> float | None:
        """A finite number (DS, FD, ...); None when absent or empty, None and a problem when malformed."""
        value = item.get(keyword)
        if value is None or text(value).strip() == "":
            return None
        number = None if _many(value) else finite_of(value)
        if number is None:
            self._problem(where, f"{label(keyword)} {quoted(value)} is not a finite number")
        return number

    def numbers(self, item: Any, keyword: str, count: int | None = None, where: str = "",
                limit: int | None = None) -> list[float] | None:
        """Every value of a multi-valued number (``count`` of them if given, the first ``limit`` if given)."""
        value = item.get(keyword)
        if value is None or text(value).strip() == "":
            return None
        values = list(value) if _many(value) else [value]
        if count is not None and len(values) != count:
            self._problem(where, f"{label(keyword)} has {len(values)} values, not {count}")
            return None
        numbers = [finite_of(v) for v in values[:limit]]
        if any(number is None for number in numbers):
            self._problem(where, f"{label(keyword)} {quoted(value)} is not all finite numbers")
            return None
        return [float(number) for number in numbers if number is not None]

    def sequence(self, item: Any, keyword: str, where: str = "", required: bool = False) -> list[Any]:
        """The items of a sequence; [] when absent (a problem if ``required``) or not a sequence."""
        value = item.get(keyword)
        if isinstance(value, Sequence):
            return list(value)
        if value is None or (isinstance(value, AnySequence) and not value):
            if required:
                self._problem(where, f"{label(keyword)} is missing")
            return []
        self._problem(where, f"{label(keyword)} is not a sequence")
        return []
