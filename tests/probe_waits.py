"""Test-only module loaded into Orthanc by ``"Previewer": {"TestModules": [this file]}``, beside
tests/plugin_probe.py: callbacks that wait for the test instead of sleeping, so that tests assert
what is blocked, what is not and in which order, and never how long anything took.

``/probe/waits/locked`` and ``/probe/waits/unlocked`` are registered with ``RegisterRestCallback`` and
``RegisterRestCallbackNoLock``.  Each call is recorded as it enters and leaves; ``?meet=N&patience=S``
makes it wait, at most S seconds, until N calls of its route have been inside at once, and it answers
``{"met": bool, "inside": n}`` (n: the most calls of its route inside at once so far).
``/probe/waits/calls?route=locked|unlocked`` answers that route's record, ``[["enter"|"leave", call], ...]``,
and clears it (and the most inside at once).

With ``"PreviewerWaits": {"StorageArea": "/some/folder"}`` it registers a storage area (a file per
UUID, as the probe's) whose reads the test controls: ``/probe/waits/reads?hold=1`` holds every read
that comes from then on until ``hold=0`` (at most :data:`PATIENCE` seconds), ``fail=1`` makes reads
raise ``OSError``; ``/probe/waits/reads`` alone answers ``{"hold", "fail", "waiting", "reads"}``
(``waiting``: reads held now; ``reads``: reads begun).
"""
from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from previewer.config import read_orthanc_configuration
from previewer.plugin import sdk

#: The longest any callback here waits for the test (seconds), so that a failed test never hangs Orthanc.
PATIENCE = 60.0

_calls: dict[str, list[tuple[str, int]]] = {"locked": [], "unlocked": []}
_inside = {"locked": 0, "unlocked": 0}
#: The most calls of each route inside at once since its record was last cleared.
_peak = {"locked": 0, "unlocked": 0}
_numbers = {"next": 0}
_changed = threading.Condition()
_reads: dict[str, Any] = {"hold": False, "fail": False, "waiting": 0, "reads": 0}


def _json(output: sdk.RestOutput, value: Any) -> None:
    output.answer(json.dumps(value).encode(), "application/json")


def _number(request: sdk.HttpRequest, name: str, default: float) -> float:
    return float(request.query.get(name, default))


def _meeting(route: str, output: sdk.RestOutput, request: sdk.HttpRequest) -> None:
    """Enter, wait for ``meet`` calls of ``route`` inside (or ``patience`` s), leave; each step recorded."""
    meet = int(_number(request, "meet", 1))
    patience = min(_number(request, "patience", PATIENCE), PATIENCE)
    with _changed:
        call = _numbers["next"] = _numbers["next"] + 1
        _calls[route].append(("enter", call))
        _inside[route] += 1
        _peak[route] = max(_peak[route], _inside[route])
        _changed.notify_all()
        met = _changed.wait_for(lambda: _peak[route] >= meet, timeout=patience)
        seen = _peak[route]
        _inside[route] -= 1
        _calls[route].append(("leave", call))
        _changed.notify_all()
    _json(output, {"met": met, "inside": seen})


def _locked(output: sdk.RestOutput, url: str, request: sdk.HttpRequest) -> None:
    _meeting("locked", output, request)


def _unlocked(output: sdk.RestOutput, url: str, request: sdk.HttpRequest) -> None:
    _meeting("unlocked", output, request)


def _calls_route(output: sdk.RestOutput, url: str, request: sdk.HttpRequest) -> None:
    route = request.query.get("route", "")
    if route not in _calls:
        output.send_http_status(400, json.dumps({"error": f"route must be one of {sorted(_calls)}"}).encode())
        return
    with _changed:
        record, _calls[route] = _calls[route], []
        _peak[route] = _inside[route]
    _json(output, record)


class HeldStorage:
    """A storage area in Python, one file per UUID in a folder, whose reads the test can hold or fail."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def _path(self, uuid: str, content_type: str) -> Path:
        return self.folder / f"{uuid}.{content_type}"

    def create(self, uuid: str, content: bytes, content_type: str) -> None:
        self._path(uuid, content_type).write_bytes(content)

    def read(self, uuid: str, content_type: str) -> bytes:
        with _changed:
            _reads["reads"] += 1
            _reads["waiting"] += 1
            _changed.notify_all()
            _changed.wait_for(lambda: not _reads["hold"], timeout=PATIENCE)
            _reads["waiting"] -= 1
            fail = _reads["fail"]
        if fail:
            raise OSError(f"probe: deliberate read failure of {uuid}.{content_type}")
        return self._path(uuid, content_type).read_bytes()

    def remove(self, uuid: str, content_type: str) -> None:
        self._path(uuid, content_type).unlink()


def _reads_route(output: sdk.RestOutput, url: str, request: sdk.HttpRequest) -> None:
    with _changed:
        for key in ("hold", "fail"):
            if key in request.query:
                _reads[key] = request.query[key] == "1"
        _changed.notify_all()
        _json(output, dict(_reads))


def install(config: object) -> None:
    """Register the routes, and the storage area when the configuration asks for it (at start-up)."""
    section = read_orthanc_configuration(sdk.configuration_path() or "").get("PreviewerWaits", {})
    if "StorageArea" in section:
        sdk.register_storage_area(HeldStorage(section["StorageArea"]))
    sdk.register_rest_callback("/probe/waits/locked", _locked, lock=True)
    sdk.register_rest_callback("/probe/waits/unlocked", _unlocked)
    sdk.register_rest_callback("/probe/waits/calls", _calls_route)
    sdk.register_rest_callback("/probe/waits/reads", _reads_route)
