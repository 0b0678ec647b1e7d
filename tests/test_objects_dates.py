"""previewer.objects.dates (PS3.5 6.2 DA for display), and the report HTML that shows dates through it.

The cases are strings, not files: DA values as files hold them, the invalid
ones included (no real file here holds 20231332).  tests/test_viewer_format.py
runs the same table through static/format.js's date(), so both agree.
"""
from __future__ import annotations

import pydicom
import pytest
from pydicom.data import get_testdata_file

from previewer.objects import dates, report

#: DA value as stored -> how it is shown.
DATES = {
    "20040119": "2004-01-19",
    "1997.04.24": "1997-04-24",               # ExplVR_BigEnd.dcm's StudyDate: ACR-NEMA 300's form
    " 20140101 ": "2014-01-01",               # padding around it
    "20240229": "2024-02-29",                 # a leap year
    "20000229": "2000-02-29",                 # divisible by 400
    "19000229": "19000229 (invalid date)",    # divisible by 100, not by 400
    "20230229": "20230229 (invalid date)",
    "20231332": "20231332 (invalid date)",    # month 13
    "20230431": "20230431 (invalid date)",    # April has 30 days
    "20230100": "20230100 (invalid date)",
    "00000101": "00000101 (invalid date)",    # there is no year 0
    "2023.13.32": "2023.13.32 (invalid date)",
    "1997.4.24": "1997.4.24 (invalid date)",  # the legacy form has two-digit months
    "2014-01-01": "2014-01-01 (invalid date)",  # ISO is not a DA
    "202301": "202301 (invalid date)",
    "20230101-20230131": "20230101-20230131 (invalid date)",   # a range is a query, not a value
    "yesterday": "yesterday (invalid date)",
    "٢٠٢٣٠١٠١": "٢٠٢٣٠١٠١ (invalid date)",     # Arabic-Indic digits are not DA digits
    "": "",
    "   ": "",
}


@pytest.mark.parametrize("stored", sorted(DATES))
def test_display_date(stored: str) -> None:
    """Valid DA (YYYYMMDD or YYYY.MM.DD, a real calendar date) as YYYY-MM-DD; others as stored, marked."""
    assert dates.display_date(stored) == DATES[stored]


def test_iso_date_is_none_for_invalid() -> None:
    """iso_date gives the ISO form of valid dates only."""
    assert dates.iso_date("1997.04.24") == "1997-04-24" and dates.iso_date("20231332") is None


def _report(**values: str) -> str:
    """The HTML of pydicom's test-SR.dcm with ``values`` set by pydicom (the legacy and invalid dates are synthesized)."""
    ds = pydicom.dcmread(get_testdata_file("test-SR.dcm"))
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    return report.report_html(ds, lambda uid: None)


@pytest.mark.filterwarnings("ignore:Invalid value for VR DA")   # pydicom warns about the invalid date set on purpose
def test_report_header_dates() -> None:
    """test-SR.dcm's 20010213 shows as 2001-02-13; a legacy 1997.04.24 birth date as 1997-04-24; 20011332 marked invalid."""
    assert "2001-02-13" in _report()
    html = _report(PatientBirthDate="1997.04.24", ContentDate="20011332")
    assert "1997-04-24" in html and "20011332 (invalid date)" in html and "1997.04.24" not in html
