"""Waveforms: their values as JSON or CSV, their pictures, their description for ``/info``.

``GET /previewer/instances/{id}/waveform?group=G`` answers multiplex group G
(0 by default) in each channel's unit (:mod:`previewer.objects.waveform`);
``format=csv`` gives the same with a time column.  The PNG route draws the
group (:mod:`previewer.objects.waveform_page`) through :func:`render_waveform`.
"""
from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from ...objects import waveform as wf
from ...objects import waveform_page as page
from ...pixels.errors import BadParameter, FrameNotFound, PixelError
from ...pixels.params import RenderParams
from ...pixels.render import Rendered
from ..http import PREFIX, HttpError, Request, Response, check_query
from ..store import Store, cached_render, full_dataset, instance_version, pixel_error
from .documents import as_format

#: What the waveform route takes.
WAVEFORM_PARAMETERS = ("group", "format")
#: What ``view=`` takes on the PNG route.
VIEWS = ("page", "thumbnail")


def parse_group(query: Mapping[str, str]) -> int:
    """``group=`` as a 0-based index (400 when it is not one)."""
    text = query.get("group", "0")
    if not text.isdigit() or len(text) > 6:
        raise BadParameter(f"parameter 'group' must be a multiplex group index (0, 1, ...), not {text[:100]!r}")
    return int(text)


def _multiplex(store: Store, instance_id: str, version: str, group: int) -> wf.Multiplex:
    """Group ``group`` decoded, from the cache or read now."""
    def decode() -> wf.Multiplex:
        with store.decode_slots, full_dataset(store, instance_id) as ds:
            return wf.multiplex(ds, group)
    value: wf.Multiplex = store.cache.get_or_compute(
        (instance_id, version, "waveform", group), decode, lambda found: int(found.values.nbytes) + 4096)
    return value


def _sop_class(store: Store, instance_id: str) -> str:
    with full_dataset(store, instance_id) as ds:
        return str(ds.get("SOPClassUID", ""))


def render_waveform(store: Store, instance_id: str, version: str, frame: int, params: RenderParams,
                    query: Mapping[str, str]) -> Rendered:
    """The PNG route's picture of a waveform: ``group=``, ``view=page|thumbnail``, in the box asked for."""
    if frame != 0:
        raise FrameNotFound(f"a waveform has one picture (frame 0), not frame {frame}; "
                            "its multiplex groups are picked with 'group='")
    group = parse_group(query)
    view = query.get("view", "page")

    def draw() -> Rendered:
        multiplex = _multiplex(store, instance_id, version, group)
        kind = wf.kind(_sop_class(store, instance_id))
        paper, audio = page.is_paper(multiplex, kind), kind == "audio"
        if view == "thumbnail":
            rgb = page.thumbnail(multiplex, paper, audio, params.max_width, params.max_height)
        elif paper:
            rgb = page.ecg_page(multiplex, params.max_width, params.max_height)
        else:
            rgb = page.strips_page(multiplex, audio, params.max_width, params.max_height)
        return as_format(rgb, params)
    return cached_render(store, (instance_id, version, "waveform-page", group, view, params.cache_key()), draw)


def describe(store: Store, instance_id: str, info: dict[str, Any]) -> None:
    """What ``/info`` says of a waveform: its kind, groups, channels, durations and rates."""
    info.update(decodable=True, reason=None, frames=1, waveform=f"{PREFIX}/instances/{instance_id}/waveform")
    try:
        with full_dataset(store, instance_id) as ds:
            groups = wf.describe(ds)
            info["waveform_kind"] = wf.kind(str(ds.get("SOPClassUID", "")))
    except PixelError as error:
        info.update(decodable=False, reason=error.message, groups=[])
        return
    info["groups"] = [{
        "group": group.index, "label": group.label, "frequency": group.frequency, "samples": group.samples,
        "duration": group.duration,
        "channels": [{"label": c.label, "unit": c.unit, "lead": c.lead or None} for c in group.channels],
    } for group in groups]


def _csv(multiplex: wf.Multiplex) -> bytes:
    """The group as CSV: a time column in seconds, then one column per channel ("label (unit)")."""
    group = multiplex.group
    names = ["time_s"] + [f"{c.label} ({c.unit})" if c.unit else c.label for c in group.channels]
    out = io.StringIO()
    out.write(",".join('"' + name.replace('"', '""') + '"' for name in names) + "\r\n")
    for index, row in enumerate(multiplex.values.tolist()):
        out.write(repr(index / group.frequency) + "," + ",".join(map(repr, row)) + "\r\n")
    return out.getvalue().encode("utf-8")


def waveform(store: Store, request: Request) -> Response:
    """GET /previewer/instances/{id}/waveform: a multiplex group's values, JSON or ``format=csv``."""
    check_query(request.query, WAVEFORM_PARAMETERS)
    instance_id = request.params["id"]
    fmt = request.query.get("format", "json")
    if fmt not in ("json", "csv"):
        raise HttpError(400, f"parameter 'format' must be json or csv, not {fmt[:100]!r}")
    version = instance_version(store, instance_id)
    try:
        group = parse_group(request.query)
        with full_dataset(store, instance_id) as ds:
            if not str(ds.get("SOPClassUID", "")).startswith(wf.WAVEFORM_ROOT) and "WaveformSequence" not in ds:
                raise HttpError(415, "the instance is not a waveform", instance=instance_id)
        multiplex = _multiplex(store, instance_id, version, group)
    except PixelError as error:
        raise pixel_error(error, instance_id) from None
    if fmt == "csv":
        return Response(body=_csv(multiplex), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="{instance_id}-group{group}.csv"'})
    found = multiplex.group
    return Response.json({
        "id": instance_id, "group": group, "label": found.label, "frequency": found.frequency,
        "samples": found.samples, "duration": found.duration,
        "channels": [{"label": c.label, "unit": c.unit, "unit_meaning": c.unit_meaning, "lead": c.lead or None,
                      "values": multiplex.values[:, n].tolist()} for n, c in enumerate(found.channels)],
    })
