"""Reading element values that may be malformed, naming the tag and the value when they are.

pydicom keeps a value that breaks its VR (PS3.5 6.2) as it finds it: an
Integer String '1A' stays text, a Decimal String 'inf' is an infinity, an
element written with another VR holds that VR's type (a float for FD, bytes
for OB, a Sequence for SQ), and a value with a backslash holds several
values (PS3.5 6.4).  Every DICOM value the pixel pipeline and the object
modules convert goes through one accessor here, which gives what the caller
needs or raises :class:`Malformed` (415) at once, naming the tag, its name
and the value as stored: "(0028,0008) Number of Frames '1A' is not an
integer".  Only such errors (and the other :class:`PixelError`) answer a
4xx: anything else that escapes is a bug of ours, a 500.

A caller that shows what it can (an overlay plane left out, a summary that
lists its problems: :class:`previewer.objects.values.Values`) catches
:class:`Malformed`, and only that.  ``key`` is a keyword, or a tag for the
repeating groups (overlays); ``where`` starts the message ("multiplex
group 0: ").
"""
from __future__ import annotations

import math
from collections.abc import Sequence as Items
from typing import Any

from pydicom.datadict import dictionary_description, tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence

from .errors import Malformed

#: A keyword, or a tag as an int (for repeating groups such as 60xx).
Key = str | int

#: Longest value quoted in a message.
QUOTED = 64
#: Longest library message quoted.
_REASON = 300


def text(value: Any) -> str:
    """A dataset value as one line of text ('' when absent): bytes as Latin-1, multi-values joined with backslashes."""
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("latin-1", "replace")
    if isinstance(value, (list, tuple, MultiValue)):
        return "\\".join(text(v) for v in value)
    return str(value)


def tag_of(key: Key) -> int | None:
    """The tag of a keyword (or the tag itself)."""
    return key if isinstance(key, int) else tag_for_keyword(key)


def tag_text(tag: int) -> str:
    """A tag as DICOM writes it: ``(0008,0060)``."""
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def label(key: Key) -> str:
    """The tag and name of an attribute, for messages: ``(3004,000E) Dose Grid Scaling``."""
    tag = tag_of(key)
    if tag is None:
        return str(key)
    try:
        name = dictionary_description(tag)
    except KeyError:   # a private or unknown tag: pydicom's dictionary has no name for it
        return tag_text(tag)
    return f"{tag_text(tag)} {name}"


def quoted(value: Any) -> str:
    """The value as it is stored, quoted and shortened for a message."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        value = bytes(value[:QUOTED + 1])
    elif many(value):
        value = list(value)[:QUOTED]
    shown = text(value)
    return repr(shown if len(shown) <= QUOTED else shown[:QUOTED] + "...")


def reason(error: BaseException) -> str:
    """A library's exception as a short sentence for a message: its text, else its type."""
    said = str(error).strip() or type(error).__name__
    return said if len(said) <= _REASON else said[:_REASON] + "..."


def many(value: Any) -> bool:
    """True for a value of several values (VM > 1), as pydicom holds it."""
    return isinstance(value, (MultiValue, list, tuple))


def absent(value: Any) -> bool:
    """True for an absent or empty value (PS3.5 7.4: a zero-length value)."""
    if value is None:
        return True
    if isinstance(value, (str, bytes, bytearray, memoryview, MultiValue, list, tuple, Sequence)):
        return len(value) == 0 or (isinstance(value, str) and not value.strip())
    return False


def integer_of(value: Any) -> int | None:
    """An integer from an IS, US or text value; None when it is not one (a fraction, text, inf)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value.is_integer() else None
    if not isinstance(value, (str, bytes)):
        return None
    try:
        return int(text(value).strip())
    except ValueError:
        return None


def finite_of(value: Any, finite: bool = True) -> float | None:
    """A finite number from a DS, FD or text value; None for text, and for NaN or an infinity unless
    ``finite`` is False."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:   # an integer beyond a double
            return None
    elif isinstance(value, (str, bytes)):
        try:
            number = float(text(value).strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) or not finite else None


def value(item: Dataset, key: Key) -> Any:
    """The element's value, None when absent; an element pydicom cannot convert is :class:`Malformed`."""
    tag = tag_of(key)
    if tag is None:
        raise ValueError(f"{key!r} is not a DICOM keyword")
    if tag not in item:
        return None
    try:
        return item[tag].value
    except Exception as error:  # noqa: BLE001 - pydicom's conversion of a raw element raises many types
        raise Malformed(f"{label(key)} cannot be read: {reason(error)}") from error


def _values(found: Any) -> list[Any]:
    return list(found) if many(found) else [found]


def _range(number: int, low: int | None, high: int | None) -> str:
    """'' when ``number`` is within low..high, else what is wrong."""
    if low is not None and high is not None and not low <= number <= high:
        return f"is not in {low}..{high}"
    if low is not None and number < low:
        return f"is below {low}"
    if high is not None and number > high:
        return f"is above {high}"
    return ""


def integer(item: Any, key: Key, default: int | None = None, *, low: int | None = None,
            high: int | None = None, required: bool = False, where: str = "") -> int | None:
    """One integer (IS, US, SL, ...): ``default`` when absent or empty, else low <= it <= high."""
    found = value(item, key)
    if absent(found):
        if required:
            raise Malformed(f"{where}{label(key)} is missing")
        return default
    number = None if many(found) else integer_of(found)
    if number is None:
        raise Malformed(f"{where}{label(key)} {quoted(found)} is not an integer")
    wrong = _range(number, low, high)
    if wrong:
        raise Malformed(f"{where}{label(key)} {quoted(found)} {wrong}")
    return number


def required_integer(item: Any, key: Key, *, low: int | None = None, high: int | None = None,
                     where: str = "") -> int:
    """:func:`integer` of an element that must be present."""
    number = integer(item, key, low=low, high=high, required=True, where=where)
    assert number is not None
    return number


def number(item: Any, key: Key, default: float | None = None, *, required: bool = False,
           finite: bool = True, where: str = "") -> float | None:
    """One finite number (DS, FD, ...; also NaN or an infinity unless ``finite``): ``default`` when absent
    or empty."""
    found = value(item, key)
    if absent(found):
        if required:
            raise Malformed(f"{where}{label(key)} is missing")
        return default
    result = None if many(found) else finite_of(found, finite)
    if result is None:
        raise Malformed(f"{where}{label(key)} {quoted(found)} is not a {'finite ' * finite}number")
    return result


def integers(item: Any, key: Key, count: int | None = None, *, low: int | None = None,
             high: int | None = None, where: str = "") -> tuple[int, ...] | None:
    """Every value of a multi-valued integer (``count`` of them if given); None when absent or empty."""
    found = value(item, key)
    if absent(found):
        return None
    values = _values(found)
    if count is not None and len(values) != count:
        raise Malformed(f"{where}{label(key)} {quoted(found)} has {len(values)} values, not {count}")
    numbers = [integer_of(v) for v in values]
    if any(n is None for n in numbers):
        raise Malformed(f"{where}{label(key)} {quoted(found)} is not all integers")
    result = tuple(n for n in numbers if n is not None)
    wrong = next((_range(n, low, high) for n in result if _range(n, low, high)), "")
    if wrong:
        raise Malformed(f"{where}{label(key)} {quoted(found)} has a value that {wrong}")
    return result


def numbers(item: Any, key: Key, count: int | None = None, *, limit: int | None = None,
            finite: bool = True, where: str = "") -> tuple[float, ...] | None:
    """Every value of a multi-valued finite number (``count`` of them if given, the first ``limit`` if
    given; NaN and infinities too unless ``finite``); None when absent or empty."""
    found = value(item, key)
    if absent(found):
        return None
    values = _values(found)
    if count is not None and len(values) != count:
        raise Malformed(f"{where}{label(key)} has {len(values)} values, not {count}")
    result = [finite_of(v, finite) for v in values[:limit]]
    if any(n is None for n in result):
        raise Malformed(f"{where}{label(key)} {quoted(found)} is not all {'finite ' * finite}numbers")
    return tuple(float(n) for n in result if n is not None)


def string(item: Any, key: Key) -> str:
    """The value as text, stripped ('' when absent); several values joined by backslashes."""
    return text(value(item, key)).strip()


def code_string(item: Any, key: Key) -> str:
    """A Code String (CS) as the standard compares it: stripped, upper case ('' when absent)."""
    return string(item, key).upper()


def single_string(item: Any, key: Key, where: str = "") -> str:
    """One value as text, stripped ('' when absent); several values are :class:`Malformed` (a UID, say)."""
    found = value(item, key)
    if many(found):
        raise Malformed(f"{where}{label(key)} {quoted(found)} has {len(found)} values, not 1")
    if isinstance(found, Sequence):
        raise Malformed(f"{where}{label(key)} is a sequence, not a value")
    return text(found).strip()


def strings(item: Any, key: Key) -> list[str]:
    """Each value as text, stripped ([] when absent)."""
    found = value(item, key)
    if absent(found) or isinstance(found, Sequence):
        return []
    return [text(v).strip() for v in _values(found)]


def each(item: Any, key: Key) -> list[Any]:
    """Each value as stored ([] when absent or empty), for callers that judge each value themselves."""
    found = value(item, key)
    if absent(found):
        return []
    return _values(found)


def sequence(item: Any, key: Key, *, required: bool = False, where: str = "") -> Items[Any]:
    """The items of a sequence (none when absent or empty); a value that is not a sequence is :class:`Malformed`."""
    found = value(item, key)
    if isinstance(found, Sequence):
        if not found and required:
            raise Malformed(f"{where}{label(key)} is empty")
        return found
    if absent(found):
        if required:
            raise Malformed(f"{where}{label(key)} is missing")
        return ()
    raise Malformed(f"{where}{label(key)} is not a sequence: it holds {quoted(found)}")


def first(item: Any, key: Key, *, where: str = "") -> Any:
    """The first item of a sequence, or None when absent or empty."""
    items = sequence(item, key, where=where)
    return items[0] if items else None


def data(item: Any, key: Key, *, required: bool = False, where: str = "") -> bytes | memoryview | None:
    """An OB, OW or UN value (bytes, or a read-only view of the file); None when absent (pydicom reads an
    empty OB or OW as None)."""
    found = value(item, key)
    if found is None:
        if required:
            raise Malformed(f"{where}{label(key)} is missing")
        return None
    if isinstance(found, bytearray):
        return bytes(found)
    if not isinstance(found, (bytes, memoryview)):
        raise Malformed(f"{where}{label(key)} is not a byte value: it holds {quoted(found)}")
    return found


def required_data(item: Any, key: Key, *, where: str = "") -> bytes | memoryview:
    """:func:`data` of an element that must be present."""
    found = data(item, key, required=True, where=where)
    assert found is not None
    return found
