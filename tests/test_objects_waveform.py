"""Waveform values (PS3.3 C.10.9) against pydicom's, G.711 against the ITU table, and hostile waveforms."""
from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from previewer.objects import kind_of, waveform
from previewer.pixels.errors import FrameNotFound, Malformed, PixelError, TooLarge, Unsupported

#: pydicom's 12-lead ECG: two groups (RHYTHM, 10 s; MEDIAN BEAT, 1.2 s), 12 leads at 1000 Hz in uV.
ECG_FILE = get_testdata_file("waveform_ecg.dcm")


@pytest.fixture(scope="module")
def ecg() -> pydicom.Dataset:
    return pydicom.dcmread(ECG_FILE)


def test_kind_and_description(ecg: pydicom.Dataset) -> None:
    """The ECG is a waveform, of kind ecg, whose groups name their label, rate, length and leads."""
    assert kind_of(ecg) == "waveform"
    assert waveform.kind(ecg.SOPClassUID) == "ecg"
    groups = waveform.describe(ecg)
    assert [(g.label, g.frequency, g.samples) for g in groups] == [("RHYTHM", 1000.0, 10000), ("MEDIAN BEAT", 1000.0, 1200)]
    assert groups[0].duration == 10.0
    leads = [c.lead for c in groups[0].channels]
    assert leads == ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    assert groups[0].channels[0].label == "Lead I (Einthoven)"
    assert {(c.unit, c.unit_meaning) for c in groups[0].channels} == {("uV", "microvolt")}


@pytest.mark.parametrize("index", [0, 1])
def test_values_equal_pydicoms(ecg: pydicom.Dataset, index: int) -> None:
    """Each group's values are exactly pydicom's waveform_array (sensitivity, correction, baseline applied)."""
    found = waveform.multiplex(ecg, index).values
    expected = ecg.waveform_array(index)
    assert found.shape == expected.shape
    assert np.array_equal(found, expected)
    assert not np.array_equal(found, ecg.waveform_array(index) / 1.25), "the sensitivity 1.25 is applied"


def test_a_missing_group_is_404(ecg: pydicom.Dataset) -> None:
    """A group index past the last is FrameNotFound, naming the range."""
    with pytest.raises(FrameNotFound, match="0..1"):
        waveform.multiplex(ecg, 2)


def test_g711_expansion_matches_the_itu_table() -> None:
    """mu-law and A-law codes expand as ITU-T G.711's tables give them (16-bit scale)."""
    mu, a = waveform._g711("MB"), waveform._g711("AB")
    # mu-law: 0x00 the most negative value, 0x80 the most positive, 0xFF and 0x7F zero, 0xFE the first step;
    # the segments start at 132 and 396 (codes 0xEF, 0xDF).
    assert (mu[0x00], mu[0x80], mu[0xFF], mu[0x7F], mu[0xFE]) == (-32124, 32124, 0, 0, 8)
    assert (mu[0xEF], mu[0xDF], mu[0x6F]) == (132, 396, -132)
    # A-law (even bits inverted): 0xD5 and 0x55 the smallest magnitudes, 0xAA and 0x2A the largest,
    # the second segment starting at 264 (0xC5).
    assert (a[0xD5], a[0x55], a[0xAA], a[0x2A], a[0xC5]) == (8, -8, 32256, -32256, 264)
    assert len(set(mu.tolist())) == 255 and len(set(a.tolist())) == 256


def _mutant(ecg: pydicom.Dataset, change: Callable[[Any], None]) -> pydicom.Dataset:
    """A copy of pydicom's ECG with its first group changed (a synthesized edge case no real file has)."""
    ds = copy.deepcopy(ecg)
    change(ds.WaveformSequence[0])
    return ds


def _set_channel(keyword: str, value: Any) -> Callable[[Any], None]:
    def change(group: Any) -> None:
        setattr(group.ChannelDefinitionSequence[3], keyword, value)
    return change


HOSTILE: dict[str, tuple[Callable[[Any], None], type[PixelError], str]] = {
    "more channels than defined": (lambda g: setattr(g, "NumberOfWaveformChannels", 13), Malformed, "13"),
    "zero channels": (lambda g: setattr(g, "NumberOfWaveformChannels", 0), Malformed, r"\(003A,0005\) Number of Waveform Channels '0' is below 1"),
    "more samples than stored": (lambda g: setattr(g, "NumberOfWaveformSamples", 10001), Malformed, "need 240024"),
    "truncated data": (lambda g: setattr(g, "WaveformData", g.WaveformData[:1000]), Malformed, "has 1000 bytes"),
    "12 bits allocated": (lambda g: setattr(g, "WaveformBitsAllocated", 12), Unsupported, "Bits Allocated 12"),
    "16 bits as UB": (lambda g: setattr(g, "WaveformSampleInterpretation", "UB"), Unsupported, "'UB'"),
    "zero frequency": (lambda g: setattr(g, "SamplingFrequency", 0), Malformed, r"\(003A,001A\) Sampling Frequency"),
    "NaN frequency": (lambda g: setattr(g, "SamplingFrequency", "NaN"), Malformed,
                      r"\(003A,001A\) Sampling Frequency 'NaN'"),
    "NaN sensitivity": (_set_channel("ChannelSensitivity", "NaN"), Malformed, r"channel 4 .*\(003A,0210\) Channel Sensitivity 'NaN'"),
    "infinite baseline": (_set_channel("ChannelBaseline", "inf"), Malformed, r"\(003A,0213\) Channel Baseline 'inf'"),
    "huge sensitivity": (_set_channel("ChannelSensitivity", "1e308"), Malformed, "overflow"),
    "no channel definitions": (lambda g: delattr(g, "ChannelDefinitionSequence"), Malformed, "0 items"),
    "huge sample count": (lambda g: setattr(g, "NumberOfWaveformSamples", 2**31), TooLarge, "over the"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_groups_raise_named_errors(ecg: pydicom.Dataset, name: str) -> None:
    """Wrong counts, bits, rates, sensitivities and truncated data raise the error that names them."""
    change, error, words = HOSTILE[name]
    ds = _mutant(ecg, change)
    with pytest.raises(error, match=words):
        waveform.multiplex(ds, 0)


def test_a_zero_sensitivity_gives_the_baseline(ecg: pydicom.Dataset) -> None:
    """Channel Sensitivity 0 is a number: the channel is its baseline, the others are unchanged."""
    ds = _mutant(ecg, _set_channel("ChannelSensitivity", 0))
    ds.WaveformSequence[0].ChannelDefinitionSequence[3].ChannelBaseline = 7
    values = waveform.multiplex(ds, 0).values
    assert np.all(values[:, 3] == 7)
    assert np.array_equal(values[:, 2], ecg.waveform_array(0)[:, 2])


def test_no_waveform_sequence_is_unsupported(ecg: pydicom.Dataset) -> None:
    """An instance without a Waveform Sequence item is refused, naming the sequence."""
    ds = copy.deepcopy(ecg)
    del ds.WaveformSequence
    with pytest.raises(Unsupported, match="Waveform Sequence"):
        waveform.describe(ds)


def test_mu_law_audio_values() -> None:
    """An 8-bit mu-law channel (synthesized: no real Basic Voice Audio file is at hand) is expanded, then scaled."""
    ecg = pydicom.dcmread(ECG_FILE)
    group = ecg.WaveformSequence[0]
    codes = np.array([0x00, 0x80, 0xFF, 0xEF, 0x6F, 0x7F], np.uint8)
    group.NumberOfWaveformChannels, group.NumberOfWaveformSamples = 1, codes.size
    group.WaveformBitsAllocated, group.WaveformSampleInterpretation = 8, "MB"
    group.WaveformData = codes.tobytes()
    group.ChannelDefinitionSequence = group.ChannelDefinitionSequence[:1]
    group.ChannelDefinitionSequence[0].ChannelSensitivity = 2
    assert waveform.multiplex(ecg, 0).values[:, 0].tolist() == [-64248, 64248, 0, 264, -264, 0]
    assert math.isclose(waveform.describe(ecg)[0].duration, 0.006)
