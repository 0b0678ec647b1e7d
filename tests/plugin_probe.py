"""Test-only module loaded into Orthanc by ``"Previewer": {"TestModules": [this file]}``.

It exposes every SDK wrapper of :mod:`previewer.plugin.sdk` that the previewer's own
routes do not reach, under ``/probe/...``, so that tests drive them through a
real Orthanc.  A "PreviewerProbe" section of the configuration can ask for a
storage area in Python: ``{"StorageArea": "/some/folder"}``.

Fault injection for the robustness tests (tests/test_robustness_*.py):
``/probe/faults?raise_stored=1&raise_change=1`` makes the stored-instance and
change callbacks raise; ``/probe/faults`` alone answers the current switches
(the storage reads are held and released by tests/probe_waits.py).  ``/probe/loop?kind=K&n=N`` calls one SDK wrapper that
returns Orthanc-owned memory N times in-process (tests/test_robustness_memory.py),
``/probe/memory`` answers glibc's heap statistics (``mallinfo2``) for the
soak (tests/soak.py); and ``stored_loop=N`` makes the stored-instance callback call the
DicomInstance getters N times for each new instance.
"""
from __future__ import annotations

import ctypes
import hashlib
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

from previewer.plugin import sdk
from previewer.config import read_orthanc_configuration

_stored: dict[str, dict[str, Any]] = {}
_stored_lock = threading.Lock()
_storage_stats = {"create": 0, "read": 0, "remove": 0}
#: Fault switches, set by /probe/faults.
_faults: dict[str, float] = {"raise_stored": 0, "raise_change": 0, "stored_loop": 0}
_stored_loops = {"done": 0}


class FolderStorage:
    """A storage area in Python: one file per UUID in a folder."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def _path(self, uuid: str, content_type: str) -> Path:
        return self.folder / f"{uuid}.{content_type}"

    def create(self, uuid: str, content: bytes, content_type: str) -> None:
        self._path(uuid, content_type).write_bytes(content)
        _storage_stats["create"] += 1

    def read(self, uuid: str, content_type: str) -> bytes:
        _storage_stats["read"] += 1
        return self._path(uuid, content_type).read_bytes()

    def remove(self, uuid: str, content_type: str) -> None:
        self._path(uuid, content_type).unlink()
        _storage_stats["remove"] += 1


def _json(output: sdk.RestOutput, value: Any) -> None:
    output.answer(json.dumps(value).encode(), "application/json")


def _on_stored(instance: sdk.DicomInstance, instance_id: str) -> None:
    if _faults["raise_stored"]:
        raise RuntimeError(f"probe: deliberate failure in the stored-instance callback for {instance_id}")
    for _ in range(int(_faults["stored_loop"])):
        instance.json
        instance.simplified_json
        instance.remote_aet
        instance.metadata("ReceptionDate")
        instance.data
    if _faults["stored_loop"]:
        _stored_loops["done"] += int(_faults["stored_loop"])
    data = instance.data
    full = json.loads(instance.json or "{}")
    simplified = json.loads(instance.simplified_json or "{}")
    record = {
        "remote_aet": instance.remote_aet,
        "size": instance.size,
        "data_length": len(data),
        "data_md5": hashlib.md5(data).hexdigest(),
        "json_has_patient_id": "0010,0020" in full,
        "simplified_patient_id": simplified.get("PatientID"),
        "has_reception_date": instance.has_metadata("ReceptionDate"),
        "metadata_remote_aet": instance.metadata("RemoteAET"),
        "metadata_missing": instance.metadata("NoSuchMetadata"),
    }
    with _stored_lock:
        _stored[instance_id] = record


def _stored_record(output: sdk.RestOutput, url: str, request: sdk.HttpRequest) -> None:
    with _stored_lock:
        record = _stored.get(request.groups[0])
    if record is None:
        output.send_http_status(404, b'{"error": "not seen by the stored-instance callback"}')
    else:
        _json(output, record)


def _paths(output: sdk.RestOutput, url: str, request: sdk.HttpRequest) -> None:
    _json(output, {
        "orthanc_path": sdk.orthanc_path(),
        "orthanc_directory": sdk.orthanc_directory(),
        "configuration_path": sdk.configuration_path(),
        "version_ok": sdk.check_version(),
    })


_LOOKUPS = {
    "patient": sdk.lookup_patient,
    "study": sdk.lookup_study,
    "accession": sdk.lookup_study_with_accession_number,
    "series": sdk.lookup_series,
    "instance": sdk.lookup_instance,
}


def _lookup(output: sdk.RestOutput, url: str, request: sdk.HttpRequest) -> None:
    _json(output, {"id": _LOOKUPS[request.groups[0]](request.query.get("value", ""))})


def _rest(output: sdk.RestOutput, url: str, request: sdk.HttpRequest) -> None:
    """Forward /probe/rest/URI to the built-in REST API, with the request's method and body."""
    uri = request.groups[0]
    try:
        if request.method == "GET":
            answer = sdk.rest_api_get(uri)
        elif request.method == "POST":
            answer = sdk.rest_api_post(uri, request.body)
        elif request.method == "PUT":
            answer = sdk.rest_api_put(uri, request.body)
        else:
            sdk.rest_api_delete(uri)
            answer = b"{}"
    except sdk.OrthancError as error:
        _json(output, {"error_code": error.code, "description": error.description})
        return
    output.answer(answer, "application/octet-stream")


def _dicom(output: sdk.RestOutput, url: str, request: sdk.HttpRequest) -> None:
    with sdk.borrowed_dicom(request.groups[0]) as view:
        borrowed_md5 = hashlib.md5(view).hexdigest()
    copied = sdk.dicom_for_instance(request.groups[0])
    _json(output, {"md5": hashlib.md5(copied).hexdigest(), "borrowed_md5": borrowed_md5,
                   "length": len(copied)})


def _answers(output: sdk.RestOutput, url: str, request: sdk.HttpRequest) -> None:
    kind = request.groups[0]
    if kind == "cookie":
        output.set_cookie("probe", "cookie-value")
        output.answer(b"cookie", "text/plain")
    elif kind == "header":
        output.set_header("X-Probe", "header-value")
        output.answer(b"header", "text/plain")
    elif kind == "unauthorized":
        output.send_unauthorized("probe-realm")
    elif kind == "redirect":
        output.redirect("/app/explorer.html")
    elif kind == "not-allowed":
        output.send_method_not_allowed("GET,HEAD")
    elif kind == "status":
        output.send_http_status_code(int(request.query.get("code", "204")))
    elif kind == "status-body":
        output.send_http_status(int(request.query.get("code", "418")), b'{"probe": true}')
    elif kind == "png":
        pixels = bytes(range(256)) * 4
        output.png("gray8", 256, 4, 256, pixels)
    elif kind == "raise":
        raise RuntimeError("deliberate failure raised by the probe")
    else:
        output.send_http_status(404, b'{"error": "unknown probe answer"}')


def _log(output: sdk.RestOutput, url: str, request: sdk.HttpRequest) -> None:
    marker = request.query.get("marker", "probe")
    sdk.log_info(f"probe-info {marker}")
    sdk.log_warning(f"probe-warning {marker}")
    sdk.log_error(f"probe-error {marker}")
    _json(output, {"logged": marker})


def _locked(output: sdk.RestOutput, url: str, request: sdk.HttpRequest) -> None:
    time.sleep(float(request.query.get("sleep", "0")))
    _json(output, {"locked": True})


def _unlocked(output: sdk.RestOutput, url: str, request: sdk.HttpRequest) -> None:
    time.sleep(float(request.query.get("sleep", "0")))
    _json(output, {"locked": False})


def _storage(output: sdk.RestOutput, url: str, request: sdk.HttpRequest) -> None:
    _json(output, dict(_storage_stats))


def _faults_route(output: sdk.RestOutput, url: str, request: sdk.HttpRequest) -> None:
    for key in _faults:
        if key in request.query:
            _faults[key] = float(request.query[key])
    _json(output, {**_faults, "stored_loops_done": _stored_loops["done"]})


def _on_change(change: str, resource_type: str, resource_id: str) -> None:
    if _faults["raise_change"] and change == "deleted":
        raise RuntimeError(f"probe: deliberate failure in the change callback for {resource_id}")


_SYSTEM = "/system"


def _loop_call(kind: str, arg: str) -> Any:
    """One call of the SDK wrapper ``kind``; the result is dropped by the caller."""
    if kind in _LOOKUPS:
        return _LOOKUPS[kind](arg)
    if kind == "rest_get":
        return sdk.rest_api_get(arg or _SYSTEM)
    if kind == "rest_get_error":
        try:
            return sdk.rest_api_get("/instances/no-such-instance")
        except sdk.OrthancError as error:
            return error.description
    if kind == "rest_post":
        return sdk.rest_api_post("/tools/lookup", arg.encode())
    if kind == "rest_put":
        return sdk.rest_api_put("/tools/metrics", b"true")
    if kind == "dicom_for_instance":
        return sdk.dicom_for_instance(arg)
    if kind == "borrowed_dicom":
        with sdk.borrowed_dicom(arg) as view:
            return view.nbytes
    if kind == "instance_file_uuid":
        return sdk.instance_file_uuid(arg)
    if kind == "configuration_path":
        return sdk.configuration_path()
    if kind == "orthanc_path":
        return sdk.orthanc_path()
    if kind == "orthanc_directory":
        return sdk.orthanc_directory()
    if kind == "error_description":
        return sdk.error_description(17)
    raise KeyError(kind)


LOOP_KINDS = (*_LOOKUPS, "rest_get", "rest_get_error", "rest_post", "rest_put", "dicom_for_instance",
              "borrowed_dicom", "instance_file_uuid", "configuration_path", "orthanc_path",
              "orthanc_directory", "error_description")


def _loop(output: sdk.RestOutput, url: str, request: sdk.HttpRequest) -> None:
    kind = request.query.get("kind", "")
    if kind not in LOOP_KINDS:
        output.send_http_status(400, json.dumps({"error": f"kind must be one of {LOOP_KINDS}"}).encode())
        return
    n, arg = int(request.query.get("n", "1")), request.query.get("arg", "")
    start = time.monotonic()
    last = None
    for _ in range(n):
        last = _loop_call(kind, arg)
    _json(output, {"kind": kind, "n": n, "seconds": time.monotonic() - start,
                   "last": last if isinstance(last, (str, int, type(None))) else len(last)})


class _MallInfo2(ctypes.Structure):
    """glibc's ``struct mallinfo2`` (malloc.h, glibc 2.33 and later): every field a size_t."""

    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                 "uordblks", "fordblks", "keepcost")]


def _memory(output: sdk.RestOutput, url: str, request: sdk.HttpRequest) -> None:
    """glibc's heap statistics (all arenas) and Python's live block count, for the soak."""
    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype = _MallInfo2
    info = libc.mallinfo2()
    _json(output, {"heap_bytes": info.arena, "in_use_bytes": info.uordblks, "free_bytes": info.fordblks,
                   "mmapped_bytes": info.hblkhd, "python_blocks": sys.getallocatedblocks()})


def install(config: object) -> None:
    """Register the probe routes (called by the plugin at start-up)."""
    section = read_orthanc_configuration(sdk.configuration_path() or "").get("PreviewerProbe", {})
    if "StorageArea" in section:
        sdk.register_storage_area(FolderStorage(section["StorageArea"]))
    sdk.register_on_change(_on_change)
    sdk.register_on_stored_instance(_on_stored)
    sdk.register_rest_callback("/probe/stored/([^/]+)", _stored_record)
    sdk.register_rest_callback("/probe/paths", _paths)
    sdk.register_rest_callback("/probe/lookup/(patient|study|accession|series|instance)", _lookup)
    sdk.register_rest_callback("/probe/rest(/.*)", _rest)
    sdk.register_rest_callback("/probe/dicom/([^/]+)", _dicom)
    sdk.register_rest_callback("/probe/answer/([a-z-]+)", _answers)
    sdk.register_rest_callback("/probe/log", _log)
    sdk.register_rest_callback("/probe/locked", _locked, lock=True)
    sdk.register_rest_callback("/probe/unlocked", _unlocked)
    sdk.register_rest_callback("/probe/storage", _storage)
    sdk.register_rest_callback("/probe/faults", _faults_route)
    sdk.register_rest_callback("/probe/loop", _loop)
    sdk.register_rest_callback("/probe/memory", _memory)
