"""Reading attribute values that may be malformed, naming each problem instead of failing.

The summaries of :mod:`.rtplan`, :mod:`.rtdose` and :mod:`.summary` show
what a file holds, also when a value breaks its VR (PS3.5 6.2): a Decimal
String that is not a number, an Integer String "1A", a NaN.  A
:class:`Values` reads each through the accessors of
:mod:`previewer.pixels.elements`, the ones the renderers use; where they
raise :class:`Malformed`, it gives None instead and adds the message, which
names the tag, the attribute and the value, to its ``problems``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..pixels import elements
from ..pixels.elements import finite_of, integer_of, label, quoted, tag_text
from ..pixels.errors import Malformed

__all__ = ["Values", "finite_of", "integer_of", "label", "quoted", "tag_text"]

_T = TypeVar("_T")


@dataclass
class Values:
    """Reads values of datasets, collecting in ``problems`` what it could not read."""

    problems: list[str] = field(default_factory=list)

    def _read(self, read: Callable[..., _T], *args: Any, **options: Any) -> _T | None:
        try:
            return read(*args, **options)
        except Malformed as error:
            self.problems.append(error.message)
            return None

    def text(self, item: Any, keyword: str) -> str:
        """The value as stored, one line ('' when absent or unreadable); multiple values joined by backslashes."""
        return self._read(elements.string, item, keyword) or ""

    def integer(self, item: Any, keyword: str, where: str = "") -> int | None:
        """An integer (IS, US, ...); None when absent or empty, None and a problem when malformed."""
        return self._read(elements.integer, item, keyword, where=where)

    def number(self, item: Any, keyword: str, where: str = "") -> float | None:
        """A finite number (DS, FD, ...); None when absent or empty, None and a problem when malformed."""
        return self._read(elements.number, item, keyword, where=where)

    def numbers(self, item: Any, keyword: str, count: int | None = None, where: str = "",
                limit: int | None = None) -> list[float] | None:
        """Every value of a multi-valued number (``count`` of them if given, the first ``limit`` if given)."""
        found = self._read(elements.numbers, item, keyword, count, limit=limit, where=where)
        return None if found is None else list(found)

    def sequence(self, item: Any, keyword: str, where: str = "", required: bool = False) -> list[Any]:
        """The items of a sequence; [] when absent (a problem if ``required``) or not a sequence."""
        found = self._read(elements.sequence, item, keyword, where=where)
        if found is None:
            return []
        if not found and required:
            self.problems.append(f"{where}{label(keyword)} is missing")
        return list(found)
