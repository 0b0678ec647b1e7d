"""Waveform pictures: each sample lies where the documented paper geometry puts it, within 1 px."""
from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from previewer.objects import waveform, waveform_page as page
from previewer.pixels.errors import BadParameter, TooLarge

#: pydicom's 12-lead ECG (10 s RHYTHM group, 1.2 s MEDIAN BEAT group; leads in uV).
ECG_FILE = get_testdata_file("waveform_ecg.dcm")
#: The standard layout's cells, as the geometry in docs/API.md gives them: lead -> (row, first second).
CELLS = {"I": (0, 0.0), "aVR": (0, 2.5), "V1": (0, 5.0), "V4": (0, 7.5),
         "II": (1, 0.0), "aVL": (1, 2.5), "V2": (1, 5.0), "V5": (1, 7.5),
         "III": (2, 0.0), "aVF": (2, 2.5), "V3": (2, 5.0), "V6": (2, 7.5)}


@pytest.fixture(scope="module")
def ecg() -> pydicom.Dataset:
    return pydicom.dcmread(ECG_FILE)


def _ink_near(picture: np.ndarray, x: float, y: float, dark: int = 110) -> bool:
    """True when a pixel within 1 px of the point (x, y) is trace ink (every channel below ``dark``)."""
    column, row = int(np.floor(x)), int(np.floor(y))
    window = picture[max(0, row - 1):row + 2, max(0, column - 1):column + 2]
    return bool((window.max(axis=2) < dark).any())


def _extreme(values_mv: np.ndarray, frequency: float, start: float, end: float, sign: int) -> tuple[float, float]:
    """(t, v) of the channel's highest (sign 1) or lowest (-1) sample between start and end seconds."""
    first, last = int(round(start * frequency)), int(round(end * frequency))
    index = first + int(np.argmax(sign * values_mv[first:last]))
    return index / frequency, float(values_mv[index])


@pytest.mark.parametrize("lead", sorted(CELLS))
def test_standard_layout_puts_each_leads_peaks_where_the_paper_says(ecg: pydicom.Dataset, lead: str) -> None:
    """3x4 leads at 25 mm/s and 10 mm/mV: a lead's highest and lowest sample in its cell are drawn at their points."""
    multiplex = waveform.multiplex(ecg, 0)
    picture = page.ecg_page(multiplex, None, None)
    scale = picture.shape[1] / 260            # the page is 260 mm wide (250 mm of paper, 5 mm margins)
    assert picture.shape[:2] == (round(140 * scale), 1040)
    column = [c.lead for c in multiplex.group.channels].index(lead)
    values = multiplex.values[:, column] / 1000   # uV -> mV
    row, start = CELLS[lead]
    for sign in (1, -1):
        t, v = _extreme(values, 1000.0, start, start + 2.5, sign)
        x, y = (5 + 25 * t) * scale, (15 + 30 * (row + 0.5) - 10 * v) * scale
        assert _ink_near(picture, x, y), f"lead {lead}: no trace at ({x:.1f}, {y:.1f}) for {v:.3f} mV at {t:.3f} s"


def test_rhythm_strip_is_lead_two_over_ten_seconds(ecg: pydicom.Dataset) -> None:
    """The fourth row is lead II from 0 to 10 s: its R peaks across the strip are drawn where they fall."""
    multiplex = waveform.multiplex(ecg, 0)
    picture = page.ecg_page(multiplex, None, None)
    values = multiplex.values[:, 1] / 1000
    for start in (0.0, 3.0, 6.0, 9.0):
        t, v = _extreme(values, 1000.0, start, start + 1.0, 1)
        assert _ink_near(picture, (5 + 25 * t) * 4, (15 + 30 * 3.5 - 10 * v) * 4)


def test_the_wrong_sign_is_not_drawn(ecg: pydicom.Dataset) -> None:
    """The check can fail: lead I's tall R peak mirrored about its baseline lands on blank paper."""
    multiplex = waveform.multiplex(ecg, 0)
    picture = page.ecg_page(multiplex, None, None)
    t, v = _extreme(multiplex.values[:, 0] / 1000, 1000.0, 0.0, 2.5, 1)
    assert v > 0.5
    assert not _ink_near(picture, (5 + 25 * t) * 4, (30 + 10 * v) * 4)


@pytest.mark.parametrize(("width", "height", "expected"), [
    (None, None, (560, 1040)), (520, None, (280, 520)), (None, 280, (280, 520)), (300, 300, (162, 300)),
])
def test_the_box_keeps_the_papers_proportions(ecg: pydicom.Dataset, width: int | None, height: int | None,
                                              expected: tuple[int, int]) -> None:
    """width=, height= and size= scale the 260 x 140 mm page without distorting it."""
    assert page.ecg_page(waveform.multiplex(ecg, 0), width, height).shape[:2] == expected


def test_short_groups_get_one_strip_per_lead(ecg: pydicom.Dataset) -> None:
    """The 1.2 s median beat: 12 strips of 30 mm, each lead's peak at x = 5 + 25 t in its own row."""
    multiplex = waveform.multiplex(ecg, 1)
    picture = page.ecg_page(multiplex, None, None)
    assert picture.shape[:2] == ((20 + 12 * 30) * 4, (10 + 2 * 25) * 4)
    for row in range(12):
        t, v = _extreme(multiplex.values[:, row] / 1000, 1000.0, 0.0, 1.2, 1)
        assert _ink_near(picture, (5 + 25 * t) * 4, (15 + 30 * (row + 0.5) - 10 * v) * 4), f"row {row}"


def _as(ecg: pydicom.Dataset, sop_class: str, unit: str) -> waveform.Multiplex:
    """The ECG's rhythm group relabelled as another waveform (synthesized: no real file of that IOD is at hand)."""
    ds = pydicom.dcmread(ECG_FILE)
    ds.SOPClassUID = sop_class
    for channel in ds.WaveformSequence[0].ChannelDefinitionSequence:
        channel.ChannelSensitivityUnitsSequence[0].CodeValue = unit
    return waveform.multiplex(ds, 0)


def test_other_waveforms_are_stacked_strips_with_their_own_range(ecg: pydicom.Dataset) -> None:
    """A hemodynamic group: one 20 mm strip per channel from x = 45 mm over 200 mm, each channel's extremes at its strip's edges."""
    multiplex = _as(ecg, "1.2.840.10008.5.1.4.1.1.9.2.1", "mm[Hg]")
    assert not page.is_paper(multiplex, waveform.kind("1.2.840.10008.5.1.4.1.1.9.2.1"))
    picture = page.strips_page(multiplex, False, None, None)
    assert picture.shape[:2] == ((20 + 12 * 20 + 10) * 4, 250 * 4)
    for number in (0, 6, 11):
        values = multiplex.values[:, number]
        low, high = values.min(), values.max()
        pad = (high - low) * 0.08
        for index in (int(np.argmax(values)), int(np.argmin(values))):
            x = (45 + 200 * index / values.size) * 4
            y = (15 + 20 * number + 20 * (high + pad - values[index]) / (high - low + 2 * pad)) * 4
            assert _ink_near(picture, x, y), f"channel {number}, sample {index}"


def test_audio_is_an_envelope_symmetric_about_zero(ecg: pydicom.Dataset) -> None:
    """An audio group is drawn filled from each column's lowest to highest sample, about a centred zero."""
    multiplex = _as(ecg, "1.2.840.10008.5.1.4.1.1.9.4.1", "")
    picture = page.strips_page(multiplex, True, None, None)
    strip = picture[15 * 4:35 * 4, 45 * 4:245 * 4].astype(int)
    blue = (strip[..., 2] > 120) & (strip[..., 0] < 80)
    peak = np.abs(multiplex.values[:, 0]).max()
    column = int(np.argmax(multiplex.values[:, 0]) * 800 / multiplex.values.shape[0])
    top = 20 * 4 * (peak - multiplex.values[:, 0].max()) / (2 * peak)
    assert blue[int(top):int(top) + 2, column - 1:column + 2].any()
    assert blue[:, column].sum() >= 2


def test_thumbnail_is_the_first_seconds_of_lead_two(ecg: pydicom.Dataset) -> None:
    """The thumbnail: 2.5 s of lead II on paper (64.5 x 30 mm fitted to the box), its R peak at its point."""
    multiplex = waveform.multiplex(ecg, 0)
    picture = page.thumbnail(multiplex, True, False, 256, 256)
    scale = 256 / 64.5
    assert picture.shape[:2] == (round(30 * scale), 256)
    t, v = _extreme(multiplex.values[:, 1] / 1000, 1000.0, 0.0, 2.5, 1)
    assert _ink_near(picture, (1 + 25 * t) * scale, (15 - 10 * v) * scale)


def test_sizes_are_checked(ecg: pydicom.Dataset) -> None:
    """A zero box is a bad parameter; a page over 8192 px a side is too large."""
    multiplex = waveform.multiplex(ecg, 0)
    with pytest.raises(BadParameter):
        page.ecg_page(multiplex, 0, None)
    with pytest.raises(TooLarge):
        page.ecg_page(multiplex, 40000, None)
