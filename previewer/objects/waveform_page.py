"""Pictures of waveforms: ECG paper, stacked channels, audio envelopes (:mod:`.waveform` reads them).

The geometry is a public contract (docs/API.md), in millimetres of paper;
the picture is the page scaled to the requested box, ``scale`` pixels per mm
(4 with no box), so a pixel's centre is at (mm + 0.5 / scale):

- **ECG** (the ECG SOP Classes, every channel in volts): 25 mm/s and 10 mm/mV on a
  1 mm / 5 mm grid, with 5 mm margins and a 10 mm header; rows 30 mm high.  With
  the 12 standard leads and 10 s of samples, 10 s of paper (250 mm) whose rows
  are I/aVR/V1/V4, II/aVL/V2/V5, III/aVF/V3/V6 (2.5 s per column) and a lead II
  rhythm strip; otherwise one strip per lead, as long as the group up to 10 s
  (and at least 2 s).  A sample of value v mV at t s in row r
  lies at x = 5 + 25 t, y = 15 + 30 (r + ½) − 10 v.
- **Other waveforms**: one 20 mm strip per channel, its own range, beside a
  40 mm label column, the whole group over 200 mm with a time axis in seconds.
- **Audio**: the same strips, each an amplitude envelope symmetric about 0.

The thumbnail (``view=thumbnail``) is the first 2.5 s of lead II on ECG
paper, or the first 10 s of the first channel.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from ..pixels.errors import BadParameter, TooLarge
from .waveform import VOLTS, Multiplex

SPEED = 25.0          # mm/s
GAIN = 10.0           # mm/mV
MARGIN = 5.0
HEADER = 10.0
ROW = 30.0
PAPER_SECONDS = 10.0
COLUMN_SECONDS = 2.5
LABELS = 40.0
PLOT = 200.0
STRIP = 20.0
AXIS = 10.0
DEFAULT_SCALE = 4.0
MAX_SIDE = 8192

#: The standard layout's columns, top to bottom, then the rhythm strip's lead.
STANDARD = (("I", "II", "III"), ("aVR", "aVL", "aVF"), ("V1", "V2", "V3"), ("V4", "V5", "V6"))
RHYTHM = "II"

_PAPER = (255, 253, 250)
_MINOR = (248, 208, 208)
_MAJOR = (232, 150, 150)
_INK = (20, 20, 20)
_AUDIO = (30, 80, 160)
_RULE = (215, 215, 215)

Box = tuple[int, int, int, int]   # left, top, right, bottom in pixels (right and bottom exclusive)


def is_paper(multiplex: Multiplex, kind: str) -> bool:
    """True when the group is drawn on ECG paper: an ECG whose every channel is in volts."""
    return kind == "ecg" and all(channel.unit in VOLTS for channel in multiplex.group.channels)


def _scale(width_mm: float, height_mm: float, max_width: int | None, max_height: int | None,
           default: float) -> float:
    """Pixels per mm that fit the page in the box (``default`` without one), checked against MAX_SIDE."""
    for side in (max_width, max_height):
        if side is not None and side < 1:
            raise BadParameter(f"the picture's size must be positive, not {side}")
    fits = [side / extent for side, extent in ((max_width, width_mm), (max_height, height_mm)) if side is not None]
    scale = min(fits) if fits else default
    if max(width_mm, height_mm) * scale > MAX_SIDE:
        raise TooLarge(f"the waveform picture would be over {MAX_SIDE} pixels on a side")
    return scale


def _page(width_mm: float, height_mm: float, scale: float, colour: tuple[int, int, int]) -> NDArray[np.uint8]:
    width, height = max(1, round(width_mm * scale)), max(1, round(height_mm * scale))
    return np.full((height, width, 3), colour, np.uint8)


def _px(mm: float, scale: float) -> int:
    return int(math.floor(mm * scale))


def _grid(page: NDArray[np.uint8], box: Box, scale: float) -> None:
    """ECG paper: a line each mm (when they are at least 2 px apart) and a darker one each 5 mm."""
    left, top, right, bottom = box
    for step, colour in ((1.0, _MINOR), (5.0, _MAJOR)):
        if step * scale < 2:
            continue
        xs = np.arange(left, right + 1e-6, step * scale).astype(int)
        ys = np.arange(top, bottom + 1e-6, step * scale).astype(int)
        page[top:bottom, xs[xs < page.shape[1]]] = colour
        page[ys[ys < page.shape[0]], left:right] = colour


def _trace(page: NDArray[np.uint8], x: NDArray[np.float64], y: NDArray[np.float64], box: Box,
           colour: tuple[int, int, int], width: int) -> None:
    """The polyline through pixel coordinates (x increasing), clipped to ``box``.

    Each pixel column is painted from the lowest to the highest point of the
    line inside it, so a peak sample is always drawn, however dense the samples.
    """
    left, top, right, bottom = box
    if x.size == 0 or right <= left or bottom <= top:
        return
    if x.size > 1 and (x[-1] - x[0]) / (x.size - 1) > 0.5:   # sparse samples: the line between them
        dense = np.append(np.arange(x[0], x[-1], 0.5), x[-1])
        y, x = np.interp(dense, x, y), dense
    columns = np.floor(x).astype(np.int64)
    previous = np.concatenate([y[:1], y[:-1]])
    starts = np.flatnonzero(np.r_[True, columns[1:] != columns[:-1]])
    low = np.minimum.reduceat(np.minimum(y, previous), starts)
    high = np.maximum.reduceat(np.maximum(y, previous), starts)
    half = (width - 1) / 2
    cols = columns[starts]
    inside = (cols >= left) & (cols < right)
    cols = cols[inside] - left
    first = np.clip(np.floor(low[inside] - half), top, bottom).astype(np.int64) - top
    last = np.clip(np.floor(high[inside] + half) + 1, top, bottom).astype(np.int64) - top
    runs = np.zeros((bottom - top + 1, right - left), np.int32)
    np.add.at(runs, (first, cols), 1)
    np.add.at(runs, (last, cols), -1)
    mask = np.cumsum(runs, axis=0)[:-1] > 0
    spread = mask.copy()
    for shift in range(1, width):
        spread[:, shift:] |= mask[:, :-shift]
    page[top:bottom, left:right][spread] = colour


def _font(scale: float, mm: float) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(6, round(mm * scale)))


def _write(page: NDArray[np.uint8], texts: Sequence[tuple[float, float, str]], scale: float,
           mm: float = 3.0) -> NDArray[np.uint8]:
    """``texts`` as (x mm, y mm, text), drawn in ink."""
    if not texts:
        return page
    image = Image.fromarray(page)
    draw = ImageDraw.Draw(image)
    font = _font(scale, mm)
    for x, y, line in texts:
        draw.text((x * scale, y * scale), line, fill=_INK, font=font)
    return np.asarray(image, dtype=np.uint8).copy()


def _volts(multiplex: Multiplex, column: int) -> NDArray[np.float64]:
    """A channel's values in mV."""
    return multiplex.values[:, column] * (VOLTS[multiplex.group.channels[column].unit] / 1e-3)


def _ecg_rows(multiplex: Multiplex) -> tuple[float, list[list[tuple[int, float, float]]]]:
    """The seconds of paper, and per row its cells as (channel, first second, end second)."""
    group = multiplex.group
    leads = {channel.lead: number for number, channel in enumerate(group.channels) if channel.lead}
    if all(lead in leads for column in STANDARD for lead in column) and \
            group.duration >= PAPER_SECONDS - 1 / group.frequency:
        rows = [[(leads[STANDARD[c][r]], c * COLUMN_SECONDS, (c + 1) * COLUMN_SECONDS) for c in range(4)]
                for r in range(3)]
        return PAPER_SECONDS, rows + [[(leads[RHYTHM], 0.0, PAPER_SECONDS)]]
    seconds = min(PAPER_SECONDS, group.duration)
    return seconds, [[(number, 0.0, seconds)] for number in range(len(group.channels))]


def ecg_page(multiplex: Multiplex, max_width: int | None, max_height: int | None) -> NDArray[np.uint8]:
    """The group on ECG paper (the module's geometry), HxWx3 uint8."""
    group = multiplex.group
    seconds, rows = _ecg_rows(multiplex)
    width_mm = 2 * MARGIN + max(seconds, 2.0) * SPEED
    height_mm = 2 * MARGIN + HEADER + ROW * len(rows)
    scale = _scale(width_mm, height_mm, max_width, max_height, DEFAULT_SCALE)
    page = _page(width_mm, height_mm, scale, _PAPER)
    grid = (_px(MARGIN, scale), _px(MARGIN + HEADER, scale), _px(width_mm - MARGIN, scale),
            _px(height_mm - MARGIN, scale))
    _grid(page, grid, scale)
    times = np.arange(group.samples) / group.frequency
    line = max(1, round(0.3 * scale))
    texts = [(MARGIN, MARGIN + 2, f"{group.label}   {SPEED:g} mm/s   {GAIN:g} mm/mV   {group.frequency:g} Hz")]
    for r, cells in enumerate(rows):
        baseline = MARGIN + HEADER + ROW * (r + 0.5)
        for channel, start, end in cells:
            chosen = (times >= start) & (times < end)
            x = (MARGIN + SPEED * times[chosen]) * scale
            y = (baseline - GAIN * _volts(multiplex, channel)[chosen]) * scale
            _trace(page, x, y, grid, _INK, line)
            name = group.channels[channel].lead or group.channels[channel].label
            texts.append((MARGIN + SPEED * start + 1, baseline - ROW / 2 + 1, name))
            if start > 0:
                mark = _px(MARGIN + SPEED * start, scale)
                page[_px(baseline - 3, scale):_px(baseline + 3, scale), mark:mark + line] = _INK
    return _write(page, texts, scale)


def _nice_step(duration: float) -> float:
    """A round tick interval giving at most 10 ticks over ``duration`` seconds."""
    for step in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600):
        if duration / step <= 10:
            return float(step)
    return 3600.0 * math.ceil(duration / 36000)


def _range(values: NDArray[np.float64], symmetric: bool) -> tuple[float, float]:
    if symmetric:
        peak = float(np.abs(values).max()) if values.size else 0.0
        return (-peak, peak) if peak > 0 else (-1.0, 1.0)
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if high <= low:
        return low - 1, high + 1
    pad = (high - low) * 0.08
    return low - pad, high + pad


def strips_page(multiplex: Multiplex, audio: bool, max_width: int | None,
                max_height: int | None) -> NDArray[np.uint8]:
    """Each channel in its own strip over the group's whole duration, with a time axis, HxWx3 uint8."""
    group = multiplex.group
    count = len(group.channels)
    width_mm = 2 * MARGIN + LABELS + PLOT
    height_mm = 2 * MARGIN + HEADER + STRIP * count + AXIS
    scale = _scale(width_mm, height_mm, max_width, max_height, DEFAULT_SCALE)
    page = _page(width_mm, height_mm, scale, (255, 255, 255))
    left, right = MARGIN + LABELS, MARGIN + LABELS + PLOT
    bottom = MARGIN + HEADER + STRIP * count
    duration = group.duration
    step = _nice_step(duration)
    texts = [(MARGIN, MARGIN + 2, f"{group.label}   {group.frequency:g} Hz   {duration:.4g} s")]
    for k in range(int(duration / step + 1e-9) + 1):
        tick = left + PLOT * k * step / duration
        page[_px(MARGIN + HEADER, scale):_px(bottom + 1.5, scale), min(_px(tick, scale), page.shape[1] - 1)] = _RULE
        texts.append((tick - 2, bottom + 2, f"{k * step:g} s"))
    x = (left + PLOT * np.arange(group.samples) / group.samples) * scale
    line = max(1, round(0.25 * scale))
    for number, channel in enumerate(group.channels):
        top = MARGIN + HEADER + STRIP * number
        page[_px(top + STRIP, scale) - 1, _px(left, scale):_px(right, scale)] = _RULE
        values = multiplex.values[:, number]
        low, high = _range(values, audio)
        y = (top + STRIP * (high - values) / (high - low)) * scale
        box = (_px(left, scale), _px(top, scale), _px(right, scale), _px(top + STRIP, scale))
        _trace(page, x, y, box, _AUDIO if audio else _INK, line)
        unit = f" ({channel.unit})" if channel.unit else ""
        texts += [(MARGIN, top + 3, f"{channel.label[:24]}{unit}"),
                  (MARGIN, top + 9, f"{low:.4g} … {high:.4g}")]
    return _write(page, texts, scale, 2.8)


def thumbnail(multiplex: Multiplex, paper: bool, audio: bool, max_width: int | None,
              max_height: int | None) -> NDArray[np.uint8]:
    """The first 2.5 s of lead II on ECG paper, or the first 10 s of the first channel, HxWx3 uint8."""
    group = multiplex.group
    channel = next((n for n, c in enumerate(group.channels) if c.lead == RHYTHM), 0) if paper else 0
    seconds = COLUMN_SECONDS if paper else min(PAPER_SECONDS, group.duration)
    width_mm = 2 + seconds * SPEED if paper else 2 + PLOT / 2
    scale = _scale(width_mm, ROW, max_width, max_height, DEFAULT_SCALE / 2)
    page = _page(width_mm, ROW, scale, _PAPER if paper else (255, 255, 255))
    box = (_px(1, scale), 0, _px(width_mm - 1, scale), page.shape[0])
    times = np.arange(min(group.samples, math.ceil(seconds * group.frequency))) / group.frequency
    if paper:
        _grid(page, box, scale)
        y = ROW / 2 - GAIN * _volts(multiplex, channel)[:times.size]
        x = 1 + SPEED * times
    else:
        values = multiplex.values[:times.size, channel]
        low, high = _range(values, audio)
        y = ROW * (0.1 + 0.8 * (high - values) / (high - low))
        x = 1 + (width_mm - 2) * times / max(seconds, 1e-9)
    _trace(page, x * scale, y * scale, box, _AUDIO if audio else _INK, max(1, round(0.3 * scale)))
    return page
