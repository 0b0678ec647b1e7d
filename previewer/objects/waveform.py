"""Waveforms: ECG, hemodynamic, arterial pulse, respiratory and audio channels (PS3.3 C.10.9, A.34).

A waveform instance holds one or more multiplex groups in its Waveform
Sequence (5400,0100); each group holds interleaved samples of its channels
(C1S1, C2S1, ..., CnS1, C1S2, ...), described one per channel by the Channel
Definition Sequence (003A,0200).  A channel's value in its unit is the stored
sample × Channel Sensitivity × Channel Sensitivity Correction Factor +
Channel Baseline (PS3.3 C.10.9.1.4.3), the same as pydicom's
``waveform_array``; 8-bit mu-law and A-law samples (MB, AB) are expanded by
ITU-T G.711 first, where pydicom keeps their codes.

:func:`describe` reads only the descriptions, for ``/info``; :func:`multiplex`
decodes one group.  :mod:`.waveform_page` draws them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from ..pixels import elements
from ..pixels.errors import FrameNotFound, Malformed, TooLarge, Unsupported
from ..pixels.meta import is_little_endian, text

#: Every waveform storage SOP Class (PS3.4 B.5) is under this root; ECGs under ``9.1.``, audio under ``9.4.``.
WAVEFORM_ROOT = "1.2.840.10008.5.1.4.1.1.9."
_ECG_ROOT = WAVEFORM_ROOT + "1."
_AUDIO_ROOT = WAVEFORM_ROOT + "4."

#: The most samples (all channels) one group may hold: 80 MB as float64.
MAX_VALUES = 10_000_000

#: Stored sample types by (Waveform Bits Allocated, Waveform Sample Interpretation), PS3.3 C.10.9.1.5.
_SAMPLE_TYPES = {
    (8, "SB"): "i1", (8, "UB"): "u1", (8, "MB"): "u1", (8, "AB"): "u1",
    (16, "SS"): "i2", (16, "US"): "u2", (32, "SL"): "i4", (32, "UL"): "u4",
    (64, "SV"): "i8", (64, "UV"): "u8",
}

#: The standard 12 leads by their codes: SCP-ECG (CID 3001) and MDC (ISO/IEEE 11073) lead numbers.
_LEAD_CODES = {
    "1": "I", "2": "II", "61": "III", "62": "aVR", "63": "aVL", "64": "aVF",
    "3": "V1", "4": "V2", "5": "V3", "6": "V4", "7": "V5", "8": "V6",
}
_LEAD_MEANING = re.compile(r"^\s*lead\s+(iii|ii|i|avr|avl|avf|v[1-6])\b", re.IGNORECASE)
_LEAD_NAMES = {name.lower(): name for name in _LEAD_CODES.values()}

#: Volts per unit of the UCUM voltage codes an ECG channel is recorded in.
VOLTS = {"nV": 1e-9, "uV": 1e-6, "mV": 1e-3, "V": 1.0}


@dataclass(frozen=True)
class Channel:
    """One channel's description: ``lead`` is its standard ECG lead name (I, II, ..., V6) or ''."""

    label: str
    unit: str
    unit_meaning: str
    lead: str


@dataclass(frozen=True)
class Group:
    """One multiplex group's description (PS3.3 C.10.9.1)."""

    index: int
    label: str
    frequency: float
    samples: int
    channels: tuple[Channel, ...]

    @property
    def duration(self) -> float:
        """Seconds the group lasts."""
        return self.samples / self.frequency


@dataclass(frozen=True, eq=False)
class Multiplex:
    """A decoded group: ``values`` is (samples, channels) float64, in each channel's unit."""

    group: Group
    values: NDArray[np.float64]


def kind(sop_class: str) -> str:
    """'ecg', 'audio' or 'waveform' for a waveform SOP Class: how its picture is drawn."""
    if sop_class.startswith(_ECG_ROOT):
        return "ecg"
    if sop_class.startswith(_AUDIO_ROOT):
        return "audio"
    return "waveform"


def _items(ds: Any) -> list[Any]:
    items = list(elements.sequence(ds, "WaveformSequence"))
    if not items:
        raise Unsupported("the instance has no Waveform Sequence (5400,0100) item")
    return items


def _count(item: Any, keyword: str, where: str) -> int:
    """A count the group must give: an integer >= 1 (PS3.3 C.10.9.1)."""
    return elements.required_integer(item, keyword, low=1, where=where)


def _number(item: Any, keyword: str, default: float, where: str) -> float:
    """A finite DS value, or ``default`` when absent or empty."""
    found = elements.number(item, keyword, default, where=where)
    assert found is not None
    return found


def _code(item: Any, sequence: str) -> tuple[str, str]:
    """(Code Value, Code Meaning) of the first item of a code sequence, or ('', '')."""
    code = elements.first(item, sequence)
    if code is None:
        return "", ""
    return elements.string(code, "CodeValue"), elements.string(code, "CodeMeaning")


def _lead(code_value: str, meaning: str) -> str:
    """The standard lead a channel records, from its source code or meaning, or ''."""
    number = code_value.rsplit("-", 1)[-1].rsplit(":", 1)[-1]
    if (code_value.startswith("5.6.3-9-") or code_value.startswith("2:")) and number in _LEAD_CODES:
        return _LEAD_CODES[number]
    found = _LEAD_MEANING.match(meaning)
    return _LEAD_NAMES[found.group(1).lower()] if found else ""


def _group(item: Any, index: int) -> Group:
    where = f"multiplex group {index}: "
    count = _count(item, "NumberOfWaveformChannels", where)
    samples = _count(item, "NumberOfWaveformSamples", where)
    frequency = elements.number(item, "SamplingFrequency", required=True, where=where)
    if frequency is None or not frequency > 0:
        raise Malformed(f"{where}{elements.label('SamplingFrequency')} "
                        f"{elements.quoted(elements.value(item, 'SamplingFrequency'))} is not a positive number of Hz")
    described = elements.sequence(item, "ChannelDefinitionSequence", where=where)
    if len(described) != count:
        raise Malformed(f"{where}{elements.label('ChannelDefinitionSequence')} has {len(described)} items "
                        f"for {elements.label('NumberOfWaveformChannels')} {count}")
    channels = []
    for number, definition in enumerate(described, 1):
        code_value, meaning = _code(definition, "ChannelSourceSequence")
        label = meaning or text(definition.get("ChannelLabel")).strip() or f"Channel {number}"
        unit, unit_meaning = _code(definition, "ChannelSensitivityUnitsSequence")
        channels.append(Channel(label, unit, unit_meaning, _lead(code_value, meaning)))
    label = text(item.get("MultiplexGroupLabel")).strip() or f"Group {index + 1}"
    return Group(index, label, frequency, samples, tuple(channels))


def describe(ds: Any) -> list[Group]:
    """Every multiplex group's description, in order; nothing is decoded."""
    return [_group(item, index) for index, item in enumerate(_items(ds))]


def _g711(interpretation: str) -> NDArray[np.float64]:
    """The linear value of each 8-bit mu-law (MB) or A-law (AB) code, ITU-T G.711 (16-bit scale)."""
    codes = np.arange(256)
    if interpretation == "MB":
        inverted = ~codes & 0xFF
        exponent, mantissa = (inverted >> 4) & 7, inverted & 0x0F
        magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
        return np.where(inverted & 0x80, -magnitude, magnitude).astype(np.float64)
    toggled = codes ^ 0x55
    exponent, mantissa = (toggled >> 4) & 7, toggled & 0x0F
    magnitude = np.where(exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0))
    return np.where(toggled & 0x80, magnitude, -magnitude).astype(np.float64)


def multiplex(ds: Any, index: int) -> Multiplex:
    """Group ``index`` decoded into each channel's unit (404 for a group that does not exist)."""
    items = _items(ds)
    if not 0 <= index < len(items):
        raise FrameNotFound(f"the waveform has {len(items)} multiplex group(s), 0..{len(items) - 1}, not {index}")
    item = items[index]
    group = _group(item, index)
    where = f"multiplex group {index}"
    count = len(group.channels)
    if group.samples * count > MAX_VALUES:
        raise TooLarge(f"{where} holds {group.samples} × {count} samples, over the {MAX_VALUES} this server reads")
    bits = _count(item, "WaveformBitsAllocated", f"{where}: ")
    interpretation = elements.string(item, "WaveformSampleInterpretation")
    sample_type = _SAMPLE_TYPES.get((bits, interpretation))
    if sample_type is None:
        raise Unsupported(f"Waveform Bits Allocated {bits} with Waveform Sample Interpretation "
                          f"{interpretation[:8]!r} (5400,1006) is not a sample type of PS3.3 C.10.9.1.5")
    data = elements.data(item, "WaveformData", where=f"{where}: ") or b""
    needed = group.samples * count * int(sample_type[1])
    if len(data) < needed:
        raise Malformed(f"{where}: {elements.label('WaveformData')} has {len(data)} "
                        f"bytes; {group.samples} samples × {count} channels × {bits // 8} bytes need {needed}")
    order = "<" if is_little_endian(ds) else ">"
    stored = np.frombuffer(data, dtype=np.dtype(order + sample_type), count=group.samples * count)
    raw = stored.reshape(group.samples, count)
    values = _g711(interpretation)[raw] if interpretation in ("MB", "AB") else raw.astype(np.float64)
    for column, definition in enumerate(elements.sequence(item, "ChannelDefinitionSequence")):
        channel = f"channel {column + 1} of {where}: "
        sensitivity = _number(definition, "ChannelSensitivity", 1.0, channel)
        correction = _number(definition, "ChannelSensitivityCorrectionFactor", 1.0, channel)
        baseline = _number(definition, "ChannelBaseline", 0.0, channel)
        with np.errstate(over="ignore", invalid="ignore"):   # checked below
            values[:, column] = values[:, column] * sensitivity * correction + baseline
    if not np.isfinite(values).all():
        raise Malformed(f"the values of {where} overflow: Channel Sensitivity × stored samples is not finite")
    return Multiplex(group, values)
