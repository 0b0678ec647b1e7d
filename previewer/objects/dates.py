"""DICOM dates for display (PS3.5 6.2 DA): YYYY-MM-DD, or the stored text marked as invalid.

The same rule as the viewer's ``static/format.js`` ``date()``: DA is YYYYMMDD;
YYYY.MM.DD, the form of ACR-NEMA 300 that PS3.5 6.2 notes, is read too; either
must be a real Gregorian calendar date.
"""
from __future__ import annotations

import calendar
import re

#: What an invalid date is shown with, after its stored text.
INVALID_DATE = "(invalid date)"

_DA = re.compile(r"(\d{4})(?:(\d{2})(\d{2})|\.(\d{2})\.(\d{2}))", re.ASCII)


def iso_date(value: str) -> str | None:
    """'20040119' or '2004.01.19' -> '2004-01-19'; None for anything that is not a calendar date (PS3.5 6.2)."""
    match = _DA.fullmatch(value.strip())
    if match is None:
        return None
    year = int(match[1])
    month = int(match[2] or match[4])
    day = int(match[3] or match[5])
    if year < 1 or not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(year, month)[1]:
        return None
    return f"{match[1]}-{month:02d}-{day:02d}"


def display_date(value: str) -> str:
    """A DA value for display: YYYY-MM-DD; '' for an empty one; else as stored, followed by ' (invalid date)'."""
    shown = value.strip()
    if not shown:
        return ""
    return iso_date(shown) or f"{shown} {INVALID_DATE}"
