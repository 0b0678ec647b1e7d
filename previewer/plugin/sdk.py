"""Pythonic wrapper of the Orthanc plugin SDK.

Every SDK function the plugin may call has a wrapper here; nothing else in the
package touches ``lib`` or ``ffi`` (apart from the buffer hand-off in
:meth:`RestOutput.png`).  Rules kept throughout:

- an error code becomes :class:`OrthancError` through :func:`check`;
- a string or memory buffer that Orthanc allocates is copied, then freed
  exactly once, in the same function that received it;
- a Python exception never crosses into C: :func:`_guarded` logs it with its
  traceback and returns an error code to Orthanc.
"""
from __future__ import annotations

import contextlib
import json
import re
import threading
import traceback
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from . import timing
from ._ffi import ffi, lib

SUCCESS = 0
ERROR_PLUGIN = 1
ERROR_UNKNOWN_RESOURCE = 17
ERROR_INEXISTENT_ITEM = 7
ERROR_STORAGE_AREA_PLUGIN = 32

PIXEL_FORMATS = {
    "gray8": lib.OrthancPluginPixelFormat_Grayscale8,
    "gray16": lib.OrthancPluginPixelFormat_Grayscale16,
    "signed16": lib.OrthancPluginPixelFormat_SignedGrayscale16,
    "rgb24": lib.OrthancPluginPixelFormat_RGB24,
    "rgba32": lib.OrthancPluginPixelFormat_RGBA32,
}

CONTENT_TYPES = {
    lib.OrthancPluginContentType_Unknown: "unknown",
    lib.OrthancPluginContentType_Dicom: "dicom",
    lib.OrthancPluginContentType_DicomAsJson: "dicom-as-json",
}

_METHODS = {
    lib.OrthancPluginHttpMethod_Get: "GET",
    lib.OrthancPluginHttpMethod_Post: "POST",
    lib.OrthancPluginHttpMethod_Put: "PUT",
    lib.OrthancPluginHttpMethod_Delete: "DELETE",
}

_context: Any = None


class OrthancError(Exception):
    """An SDK call failed; ``code`` is Orthanc's error code."""

    def __init__(self, code: int, description: str, call: str = "") -> None:
        self.code = code
        self.description = description
        super().__init__(f"{call + ': ' if call else ''}Orthanc error {code}: {description}")


class OrthancNotFound(OrthancError):
    """The resource does not exist (Orthanc's "unknown resource" or "inexistent item")."""


_NOT_FOUND = (ERROR_UNKNOWN_RESOURCE, ERROR_INEXISTENT_ITEM)


def bind(context: Any) -> None:
    """Remember the plugin context that Orthanc passed to Initialize."""
    global _context
    _context = context


def error_description(code: int) -> str:
    """Orthanc's own text for an error code."""
    text = lib.OrthancPluginGetErrorDescription(_context, code)
    return ffi.string(text).decode("utf-8", "replace") if text != ffi.NULL else f"error {code}"


def check(code: int, call: str = "") -> None:
    """Raise :class:`OrthancError` (:class:`OrthancNotFound` for a missing resource) unless success."""
    if code != SUCCESS:
        kind = OrthancNotFound if code in _NOT_FOUND else OrthancError
        raise kind(int(code), error_description(code), call)


def _bytes(text: str) -> bytes:
    return text.encode("utf-8")


def _take_string(pointer: Any) -> str | None:
    """Copy and free a string that Orthanc allocated (``None`` for NULL)."""
    if pointer == ffi.NULL:
        return None
    try:
        return ffi.string(pointer).decode("utf-8", "replace")  # type: ignore[no-any-return]
    finally:
        lib.OrthancPluginFreeString(_context, pointer)


def _borrowed_string(pointer: Any) -> str | None:
    """Copy a string that Orthanc keeps ownership of."""
    if pointer == ffi.NULL:
        return None
    return ffi.string(pointer).decode("utf-8", "replace")  # type: ignore[no-any-return]


@contextlib.contextmanager
def _memory_buffer() -> Iterator[Any]:
    """A target ``OrthancPluginMemoryBuffer``, freed on exit if Orthanc filled it."""
    buffer = ffi.new("OrthancPluginMemoryBuffer*")
    buffer.data = ffi.NULL
    buffer.size = 0
    try:
        yield buffer
    finally:
        if buffer.data != ffi.NULL:
            lib.OrthancPluginFreeMemoryBuffer(_context, buffer)


def _filled(call: Callable[[Any], int], name: str) -> bytes:
    with _memory_buffer() as buffer:
        check(call(buffer), name)
        return bytes(ffi.buffer(buffer.data, buffer.size))


# --- logging -----------------------------------------------------------------

def log_error(message: str) -> None:
    lib.OrthancPluginLogError(_context, _bytes(message))


def log_warning(message: str) -> None:
    lib.OrthancPluginLogWarning(_context, _bytes(message))


def log_info(message: str) -> None:
    lib.OrthancPluginLogInfo(_context, _bytes(message))


# --- the Orthanc core --------------------------------------------------------

def set_mmap_threshold(size: int) -> bool:
    """Make glibc serve allocations of ``size`` bytes and more with mmap, process-wide.

    This also turns off glibc's dynamic threshold, which otherwise grows up
    to 32 MB after large blocks are freed, so that the memory of large numpy
    arrays stays in the heap after use.  Returns False if glibc refused.
    """
    return bool(lib.mallopt(lib.M_MMAP_THRESHOLD, size))


def set_arena_max(count: int) -> bool:
    """Bound glibc's malloc arenas to ``count`` (M_ARENA_MAX), process-wide; False if glibc refused.

    glibc gives threads up to 8 arenas per core; each keeps the fragments of
    what its threads freed, so many HTTP threads mean memory that the heap in
    use no longer needs but the process still holds.
    """
    return bool(lib.mallopt(lib.M_ARENA_MAX, count))


def trim_heap() -> bool:
    """Give the free pages of every glibc arena back to the system (malloc_trim(0)); True if any was."""
    return bool(lib.malloc_trim(0))


def check_version() -> bool:
    """True if this Orthanc is at least as new as the SDK we were built with."""
    return bool(lib.OrthancPluginCheckVersion(_context))


def orthanc_path() -> str | None:
    return _take_string(lib.OrthancPluginGetOrthancPath(_context))


def orthanc_directory() -> str | None:
    return _take_string(lib.OrthancPluginGetOrthancDirectory(_context))


def configuration_path() -> str | None:
    return _take_string(lib.OrthancPluginGetConfigurationPath(_context))


def configuration() -> dict[str, Any]:
    """Orthanc's whole configuration, merged from its files, as Orthanc applies it.

    Prefer it to reading the files at :func:`configuration_path`: for a
    folder given without a trailing slash (Debian's systemd unit),
    Orthanc 1.10 reports the folder's parent there.
    """
    text = _take_string(lib.OrthancPluginGetConfiguration(_context))
    value = json.loads(text) if text else {}
    return value if isinstance(value, dict) else {}


def extend_orthanc_explorer(javascript: str) -> None:
    """Add JavaScript to Orthanc Explorer's pages."""
    lib.OrthancPluginExtendOrthancExplorer(_context, _bytes(javascript))


def dicom_for_instance(instance_id: str) -> bytes:
    """The DICOM file of an instance, by Orthanc ID."""
    return _filled(lambda b: lib.OrthancPluginGetDicomForInstance(_context, b, _bytes(instance_id)),
                   "GetDicomForInstance")


@contextlib.contextmanager
def borrowed_dicom(instance_id: str) -> Iterator[memoryview]:
    """The DICOM file of an instance without a copy, valid inside the block."""
    with _memory_buffer() as buffer:
        check(lib.OrthancPluginGetDicomForInstance(_context, buffer, _bytes(instance_id)),
              "GetDicomForInstance")
        view = memoryview(ffi.buffer(buffer.data, buffer.size))
        try:
            yield view
        finally:
            view.release()


def rest_api_get(uri: str) -> bytes:
    return _filled(lambda b: lib.OrthancPluginRestApiGet(_context, b, _bytes(uri)), "RestApiGet")


def rest_api_post(uri: str, body: bytes) -> bytes:
    return _filled(lambda b: lib.OrthancPluginRestApiPost(_context, b, _bytes(uri), body, len(body)),
                   "RestApiPost")


def rest_api_put(uri: str, body: bytes) -> bytes:
    return _filled(lambda b: lib.OrthancPluginRestApiPut(_context, b, _bytes(uri), body, len(body)),
                   "RestApiPut")


def rest_api_delete(uri: str) -> None:
    check(lib.OrthancPluginRestApiDelete(_context, _bytes(uri)), "RestApiDelete")


def instance_file_uuid(instance_id: str) -> str | None:
    """The UUID of the instance's stored DICOM file, or None if there is no such instance.

    One index lookup.  It changes whenever the file is replaced (Orthanc's
    "OverwriteInstances"), so it versions everything cached for the instance.
    """
    with _memory_buffer() as buffer:
        code = lib.OrthancPluginRestApiGet(
            _context, buffer, _bytes(f"/instances/{instance_id}/attachments/dicom/info"))
        if code in _NOT_FOUND:
            return None
        check(code, "RestApiGet")
        info = json.loads(bytes(ffi.buffer(buffer.data, buffer.size)))
    return str(info["Uuid"])


def lookup_patient(patient_id: str) -> str | None:
    """Orthanc ID of the patient with this PatientID, or None."""
    return _take_string(lib.OrthancPluginLookupPatient(_context, _bytes(patient_id)))


def lookup_study(study_uid: str) -> str | None:
    return _take_string(lib.OrthancPluginLookupStudy(_context, _bytes(study_uid)))


def lookup_study_with_accession_number(accession: str) -> str | None:
    return _take_string(lib.OrthancPluginLookupStudyWithAccessionNumber(_context, _bytes(accession)))


def lookup_series(series_uid: str) -> str | None:
    return _take_string(lib.OrthancPluginLookupSeries(_context, _bytes(series_uid)))


def lookup_instance(sop_instance_uid: str) -> str | None:
    return _take_string(lib.OrthancPluginLookupInstance(_context, _bytes(sop_instance_uid)))


# --- REST requests and answers ----------------------------------------------

def _string_array(pointer: Any, count: int) -> list[str]:
    return [ffi.string(pointer[i]).decode("utf-8", "replace") for i in range(count)]


@dataclass(frozen=True)
class HttpRequest:
    """A copy of ``OrthancPluginHttpRequest``, safe to keep after the callback."""

    method: str
    groups: tuple[str, ...]
    query: dict[str, str]
    body: bytes
    headers: dict[str, str]

    @classmethod
    def from_c(cls, request: Any) -> HttpRequest:
        keys = _string_array(request.getKeys, request.getCount)
        values = _string_array(request.getValues, request.getCount)
        header_keys = _string_array(request.headersKeys, request.headersCount)
        header_values = _string_array(request.headersValues, request.headersCount)
        body = bytes(ffi.buffer(request.body, request.bodySize)) if request.bodySize else b""
        return cls(
            method=_METHODS.get(request.method, "UNKNOWN"),
            groups=tuple(_string_array(request.groups, request.groupsCount)),
            # Orthanc 1.10 hands over the query's keys and values still %-encoded.
            query={urllib.parse.unquote_plus(k): urllib.parse.unquote_plus(v) for k, v in zip(keys, values)},
            body=body,
            headers={k.lower(): v for k, v in zip(header_keys, header_values)},
        )


class RestOutput:
    """The HTTP connection of one REST callback; valid only during the callback."""

    def __init__(self, output: Any) -> None:
        self._output = output

    def answer(self, body: bytes, mime_type: str) -> None:
        lib.OrthancPluginAnswerBuffer(_context, self._output, body, len(body), _bytes(mime_type))

    def png(self, format_name: str, width: int, height: int, pitch: int, pixels: Any) -> None:
        """Let Orthanc compress and send a PNG; ``pixels`` is a C-contiguous buffer."""
        with ffi.from_buffer(pixels) as data:
            lib.OrthancPluginCompressAndAnswerPngImage(
                _context, self._output, PIXEL_FORMATS[format_name], width, height, pitch, data)

    def jpeg(self, format_name: str, width: int, height: int, pitch: int, pixels: Any, quality: int) -> None:
        """Let Orthanc compress and send a JPEG (gray8 or rgb24 pixels)."""
        with ffi.from_buffer(pixels) as data:
            lib.OrthancPluginCompressAndAnswerJpegImage(
                _context, self._output, PIXEL_FORMATS[format_name], width, height, pitch, data, quality)

    def redirect(self, location: str) -> None:
        lib.OrthancPluginRedirect(_context, self._output, _bytes(location))

    def send_http_status_code(self, status: int) -> None:
        """A bodiless status (not for 200, 301, 401 or 405: those have their own calls)."""
        lib.OrthancPluginSendHttpStatusCode(_context, self._output, status)

    def send_http_status(self, status: int, body: bytes) -> None:
        """An error status with a body (Orthanc 1.10's twin of SendHttpStatusCode)."""
        lib.OrthancPluginSendHttpStatus(_context, self._output, status, body, len(body))

    def send_unauthorized(self, realm: str) -> None:
        lib.OrthancPluginSendUnauthorized(_context, self._output, _bytes(realm))

    def send_method_not_allowed(self, allowed: str) -> None:
        lib.OrthancPluginSendMethodNotAllowed(_context, self._output, _bytes(allowed))

    def set_cookie(self, name: str, value: str) -> None:
        lib.OrthancPluginSetCookie(_context, self._output, _bytes(name), _bytes(value))

    def set_header(self, key: str, value: str) -> None:
        lib.OrthancPluginSetHttpHeader(_context, self._output, _bytes(key), _bytes(value))


# --- stored instances ---------------------------------------------------------

class DicomInstance:
    """An instance that Orthanc has just stored; valid only during the callback."""

    def __init__(self, instance: Any) -> None:
        self._instance = instance

    @property
    def remote_aet(self) -> str | None:
        return _borrowed_string(lib.OrthancPluginGetInstanceRemoteAet(_context, self._instance))

    @property
    def size(self) -> int:
        size = int(lib.OrthancPluginGetInstanceSize(_context, self._instance))
        if size < 0:
            raise OrthancError(ERROR_PLUGIN, "cannot get the size of the instance", "GetInstanceSize")
        return size

    @property
    def data(self) -> bytes:
        pointer = lib.OrthancPluginGetInstanceData(_context, self._instance)
        if pointer == ffi.NULL:
            raise OrthancError(ERROR_PLUGIN, "cannot get the data of the instance", "GetInstanceData")
        return bytes(ffi.buffer(pointer, self.size))

    @property
    def json(self) -> str | None:
        return _take_string(lib.OrthancPluginGetInstanceJson(_context, self._instance))

    @property
    def simplified_json(self) -> str | None:
        return _take_string(lib.OrthancPluginGetInstanceSimplifiedJson(_context, self._instance))

    def has_metadata(self, name: str) -> bool:
        found = lib.OrthancPluginHasInstanceMetadata(_context, self._instance, _bytes(name))
        if found < 0:
            raise OrthancError(ERROR_PLUGIN, f"cannot look up metadata {name!r}", "HasInstanceMetadata")
        return bool(found)

    def metadata(self, name: str) -> str | None:
        """The metadata value, or None when the instance has none of that name."""
        if not self.has_metadata(name):
            return None
        return _borrowed_string(lib.OrthancPluginGetInstanceMetadata(_context, self._instance, _bytes(name)))


# --- callbacks ------------------------------------------------------------------

RestHandler = Callable[[RestOutput, str, HttpRequest], None]
StoredHandler = Callable[[DicomInstance, str], None]
ChangeHandler = Callable[[str, str, str], None]


class StorageArea(Protocol):
    """What :func:`register_storage_area` needs: three methods on file UUIDs."""

    def create(self, uuid: str, content: bytes, content_type: str) -> None: ...

    def read(self, uuid: str, content_type: str) -> bytes: ...

    def remove(self, uuid: str, content_type: str) -> None: ...


_rest_handlers: list[tuple[re.Pattern[str], RestHandler]] = []
_stored_handlers: list[StoredHandler] = []
_change_handlers: list[ChangeHandler] = []
_storage: list[StorageArea] = []
_registration_lock = threading.Lock()


def _guarded(name: str, failure: int) -> Callable[[Callable[..., int]], Callable[..., int]]:
    """Run a C callback body; log any exception with its traceback, return ``failure``."""
    def wrap(body: Callable[..., int]) -> Callable[..., int]:
        def run(*args: Any) -> int:
            try:
                return body(*args)
            except BaseException:  # noqa: BLE001 - nothing may cross into C
                try:
                    log_error(f"Orthanc Previewer: exception in {name} callback:\n{traceback.format_exc()}")
                except BaseException:  # noqa: BLE001
                    pass
                return failure
        run.__name__ = body.__name__
        return run
    return wrap


def _c_callback(name: str, failure: int) -> Callable[[Callable[..., int]], Callable[..., int]]:
    """Make ``body`` the Python side of the extern "Python" function of its name, guarded."""
    def register(body: Callable[..., int]) -> Callable[..., int]:
        guarded = _guarded(name, failure)(body)
        ffi.def_extern(name=body.__name__, error=failure)(guarded)
        return guarded
    return register


def deferred() -> bool:
    """Whether Python started after Orthanc's plugin initialisation, beside another
    plugin's Python (native/entry.c): Orthanc then takes no new registrations,
    and the C part's trampolines forward to the handlers registered here."""
    return bool(lib.previewer_deferred_mode())


def _serialized(handler: RestHandler) -> RestHandler:
    lock = threading.Lock()

    def one_at_a_time(output: RestOutput, url: str, request: HttpRequest) -> None:
        with lock:
            handler(output, url, request)
    return one_at_a_time


def register_rest_callback(regex: str, handler: RestHandler, *, lock: bool = False) -> None:
    """Route URIs that fully match ``regex`` to ``handler``.

    With ``lock=False`` (the default) Orthanc's NoLock registration is used and
    handlers run in parallel; ``lock=True`` uses the original registration,
    under which Orthanc runs callbacks one at a time.  When :func:`deferred`,
    only routes under ``/previewer`` exist (the C part registered them), and
    ``lock=True`` serializes this handler's calls.
    """
    if deferred():
        if not _within_deferred_routes(regex):
            raise RuntimeError(f"cannot register the REST route {regex!r} after Orthanc's plugin "
                               "initialisation; only routes under /previewer exist then")
        with _registration_lock:
            _rest_handlers.append((re.compile(regex), _serialized(handler) if lock else handler))
        return
    with _registration_lock:
        _rest_handlers.append((re.compile(regex), handler))
    register = lib.OrthancPluginRegisterRestCallback if lock else lib.OrthancPluginRegisterRestCallbackNoLock
    register(_context, _bytes(regex), lib._previewer_on_rest)


#: Orthanc's own image routes that native/entry.c registers for a deferred start with "CoreRoutes".
DEFERRED_CORE_ROUTES = ("/instances/([^/]+)/preview", "/instances/([^/]+)/frames/([0-9]+)/preview",
                        "/instances/([^/]+)/rendered", "/instances/([^/]+)/frames/([0-9]+)/rendered")


def _within_deferred_routes(regex: str) -> bool:
    """Whether ``regex`` only routes paths the C part registered: those under /previewer
    (as ``/previewer(/.*)?``, native/entry.c), and Orthanc's image routes with "CoreRoutes"."""
    if regex in DEFERRED_CORE_ROUTES:
        return bool(lib.previewer_deferred_core_routes())
    return regex in ("/previewer", "/previewer(/.*)?") or regex.startswith("/previewer/")


def _synchronous_allowed(what: str) -> None:
    if deferred():
        raise RuntimeError(f"cannot register a {what} callback after Orthanc's plugin initialisation; "
                           "use the event queue (watch_events / next_event)")


def register_on_stored_instance(handler: StoredHandler) -> None:
    """Call ``handler(instance, instance_id)`` for every instance Orthanc stores.

    The handler runs in Orthanc's storing thread, with the GIL: beside a
    Python plugin whose code waits in the SDK with the GIL held, that can
    deadlock.  The previewer itself uses :func:`next_event` instead.
    """
    _synchronous_allowed("stored-instance")
    first = not _stored_handlers
    _stored_handlers.append(handler)
    if first:
        lib.OrthancPluginRegisterOnStoredInstanceCallback(_context, lib._previewer_on_stored)


_CHANGES = {
    lib.OrthancPluginChangeType_Deleted: "deleted",
    lib.OrthancPluginChangeType_OrthancStopped: "stopped",
}
_RESOURCES = {
    lib.OrthancPluginResourceType_Patient: "patient",
    lib.OrthancPluginResourceType_Study: "study",
    lib.OrthancPluginResourceType_Series: "series",
    lib.OrthancPluginResourceType_Instance: "instance",
}


def register_on_change(handler: ChangeHandler) -> None:
    """Call ``handler(change, resource_type, resource_id)`` for Orthanc's changes.

    Only the changes the previewer uses are named ("deleted", "stopped");
    others arrive as "other".  Orthanc calls this from its own change thread,
    with the GIL taken there (see :func:`register_on_stored_instance`).
    """
    _synchronous_allowed("change")
    first = not _change_handlers
    _change_handlers.append(handler)
    if first:
        lib.OrthancPluginRegisterOnChangeCallback(_context, lib._previewer_on_change)


# --- the event queue of native/events.c ----------------------------------------

EVENTS = {"stored": lib.PREVIEWER_EVENT_STORED, "deleted": lib.PREVIEWER_EVENT_DELETED}
_EVENT_NAMES = {code: name for name, code in EVENTS.items()}


class EventsClosed(Exception):
    """The event queue was closed (the plugin is finalizing)."""


def watch_events(kinds: set[str]) -> None:
    """Queue these events from now on: "stored" (an instance was stored), "deleted" (an instance)."""
    mask = 0
    for kind in kinds:
        mask |= EVENTS[kind]
    lib.previewer_watch_events(mask)


def gather(table: Any, index: Any, out: Any) -> None:
    """``out[...] = table[index]`` along the table's first axis, in native/gather.c's loop.

    ``index`` is a C-contiguous uint16 array, ``table`` a C-contiguous array
    of any entry size and ``out`` an array of ``index``'s shape by an entry,
    all three numpy arrays; the GIL is released during the loop.
    """
    entries = int(table.shape[0])
    item = int(table.nbytes // entries) if entries else 0
    if index.dtype.itemsize != 2 or out.nbytes != index.size * item or not (
            index.flags.c_contiguous and table.flags.c_contiguous and out.flags.c_contiguous):
        raise ValueError("gather needs C-contiguous uint16 indices and an output of one entry per index")
    with ffi.from_buffer(index) as i, ffi.from_buffer(table) as t, ffi.from_buffer(out, require_writable=True) as o:
        if lib.previewer_gather(ffi.cast("uint16_t*", i), index.size, t, entries, item, o) != 0:
            raise IndexError("an index is outside the table")


def window_table(table: Any, lo: int, hi: int, exact: bool, center: float, width: float,
                 levels: int, inverse: bool) -> None:
    """Fill ``table[uint16(v)]`` for v in lo..hi with a LINEAR (or, ``exact``, LINEAR_EXACT)
    window's levels, in native/gather.c's loop: the values numpy's voi and output steps give.

    ``table`` is a C-contiguous numpy array of 65536 uint8 or uint16 entries.
    """
    if table.shape != (65536,) or table.dtype.itemsize not in (1, 2) or not table.flags.c_contiguous:
        raise ValueError("window_table needs a C-contiguous table of 65536 one- or two-byte entries")
    with ffi.from_buffer(table, require_writable=True) as t:
        if lib.previewer_window_table(lo, hi, int(exact), center, width, levels, int(inverse), t,
                                      table.dtype.itemsize) != 0:
            raise ValueError(f"window_table cannot fill values {lo}..{hi} with {levels} levels "
                             f"(width {width!r})")


def generation() -> int:
    """A counter that moves whenever a stored file may have changed (native/events.c tells when)."""
    return int(lib.previewer_generation())


def next_event(timeout: float) -> tuple[str, str] | None:
    """The next ``(kind, instance_id)``, or ``None`` after ``timeout`` seconds.

    Waits without the GIL (cffi releases it during the C call).  Raises
    :class:`EventsClosed` once the queue is closed.
    """
    target = ffi.new("char[]", 64)
    kind = lib.previewer_next_event(target, 64, max(0, int(timeout * 1000)))
    if kind < 0:
        raise EventsClosed()
    if kind == 0:
        return None
    return _EVENT_NAMES.get(kind, "other"), ffi.string(target).decode("ascii", "replace")


def close_events() -> None:
    """Wake every :func:`next_event` with :class:`EventsClosed` and stop queueing."""
    lib.previewer_close_events()


def register_storage_area(area: StorageArea) -> None:
    """Replace Orthanc's file storage with ``area`` (only during Initialize)."""
    if _storage:
        raise RuntimeError("a storage area is already registered")
    _synchronous_allowed("storage-area")
    _storage.append(area)
    lib.OrthancPluginRegisterStorageArea(
        _context, lib._previewer_storage_create, lib._previewer_storage_read,
        lib._previewer_storage_remove)


@_c_callback("REST", ERROR_PLUGIN)
def _previewer_on_rest(output: Any, url: Any, request: Any) -> int:
    timing.begin()
    path = ffi.string(url).decode("utf-8", "replace")
    try:
        for pattern, handler in _rest_handlers:
            if pattern.fullmatch(path):
                handler(RestOutput(output), path, HttpRequest.from_c(request))
                return SUCCESS
        return ERROR_UNKNOWN_RESOURCE
    finally:
        timing.end(path)


@_c_callback("stored-instance", ERROR_PLUGIN)
def _previewer_on_stored(instance: Any, instance_id: Any) -> int:
    identifier = ffi.string(instance_id).decode("ascii", "replace")
    wrapped = DicomInstance(instance)
    for handler in list(_stored_handlers):
        handler(wrapped, identifier)
    return SUCCESS


@_c_callback("change", ERROR_PLUGIN)
def _previewer_on_change(change: int, resource_type: int, resource_id: Any) -> int:
    identifier = ffi.string(resource_id).decode("ascii", "replace") if resource_id != ffi.NULL else ""
    for handler in list(_change_handlers):
        handler(_CHANGES.get(change, "other"), _RESOURCES.get(resource_type, "other"), identifier)
    return SUCCESS


@_c_callback("storage-create", ERROR_STORAGE_AREA_PLUGIN)
def _previewer_storage_create(uuid: Any, content: Any, size: int, content_type: int) -> int:
    data = bytes(ffi.buffer(content, size)) if size else b""
    _storage[0].create(ffi.string(uuid).decode("ascii"), data, CONTENT_TYPES.get(content_type, "unknown"))
    return SUCCESS


@_c_callback("storage-read", ERROR_STORAGE_AREA_PLUGIN)
def _previewer_storage_read(content: Any, size: Any, uuid: Any, content_type: int) -> int:
    data = _storage[0].read(ffi.string(uuid).decode("ascii"), CONTENT_TYPES.get(content_type, "unknown"))
    # Orthanc takes ownership and releases this block with free().
    block = lib.malloc(max(len(data), 1))
    if block == ffi.NULL:
        raise MemoryError(f"cannot allocate {len(data)} bytes for the storage area")
    ffi.memmove(block, data, len(data))
    content[0] = block
    size[0] = len(data)
    return SUCCESS


@_c_callback("storage-remove", ERROR_STORAGE_AREA_PLUGIN)
def _previewer_storage_remove(uuid: Any, content_type: int) -> int:
    _storage[0].remove(ffi.string(uuid).decode("ascii"), CONTENT_TYPES.get(content_type, "unknown"))
    return SUCCESS
