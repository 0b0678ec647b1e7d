"""The plugin inside Orthanc: start-up and shut-down (called from native/init.py).

:func:`initialize` reads the configuration, builds the store over Orthanc's
files and REST API, registers the route table of :mod:`.table` as one REST
callback, and starts the event pump and the warm-up; :func:`finalize` stops
them.
"""
from __future__ import annotations

import contextlib
import faulthandler
import importlib.util
import threading
import traceback
from collections.abc import Iterator, Mapping
from types import ModuleType
from typing import Any

from .. import __version__
from ..config import SECTION, Config, ConfigError, from_section
from ..pixels import output
from ..pixels.params import parse_params
from . import memory, sdk, table, timing
from .cache import LruCache
from .endpoints import links, measurements, static
from .events import EventPump, Handler
from .http import PREFIX, HttpError, Router, send
from .store import RestGet, Store, UnknownInstance, UnknownResource, warm
from .warmup import Warmer

_modules: list[ModuleType] = []
_warmers: list[Warmer] = []
_pumps: list[EventPump] = []
_trimmers: list[memory.Trimmer] = []


def _read_error(instance_id: str, error: sdk.OrthancError) -> Exception:
    if isinstance(error, sdk.OrthancNotFound):
        return UnknownInstance(instance_id)
    # Orthanc answers -1 for the ID of another resource level, and any
    # code when the instance vanished mid-read: tell those apart from a
    # storage area that cannot read an existing file.
    if sdk.instance_file_uuid(instance_id) is None:
        return UnknownInstance(instance_id)
    return HttpError(503, f"Orthanc cannot read the DICOM file of instance {instance_id}: "
                          f"{error.description}", instance=instance_id)


def _dicom_from_orthanc(instance_id: str) -> bytes:
    try:
        return sdk.dicom_for_instance(instance_id)
    except sdk.OrthancError as error:
        raise _read_error(instance_id, error) from None


@contextlib.contextmanager
def _borrowed_from_orthanc(instance_id: str) -> Iterator[memoryview]:
    """The DICOM file in Orthanc's own buffer (no copy), valid inside the block."""
    with contextlib.ExitStack() as stack:
        try:
            view = stack.enter_context(sdk.borrowed_dicom(instance_id))
        except sdk.OrthancError as error:
            raise _read_error(instance_id, error) from None
        yield view


def _orthanc_rest_get(uri: str) -> bytes:
    """``sdk.rest_api_get``, with Orthanc's unknown-resource errors as :class:`UnknownResource`."""
    try:
        return sdk.rest_api_get(uri)
    except sdk.OrthancNotFound:
        raise UnknownResource(uri) from None


def _orthanc_rest_post(uri: str, body: bytes) -> bytes:
    """``sdk.rest_api_post``; Orthanc refusing the body (say, a full disk) is :class:`StoreRefused`."""
    try:
        return sdk.rest_api_post(uri, body)
    except sdk.OrthancError as error:
        raise measurements.StoreRefused(str(error)) from None


def _resolver(rest_get: RestGet) -> links.Resolver:
    return links.Resolver(
        lookup={
            "PatientID": sdk.lookup_patient,
            "StudyInstanceUID": sdk.lookup_study,
            "AccessionNumber": sdk.lookup_study_with_accession_number,
            "SeriesInstanceUID": sdk.lookup_series,
            "SOPInstanceUID": sdk.lookup_instance,
        },
        rest_get=rest_get,
        rest_post=sdk.rest_api_post,
    )


def _shared_index(configuration: Mapping[str, object]) -> bool:
    """True when an index plugin is enabled: other Orthanc servers may change the same index."""
    for name in ("PostgreSQL", "MySQL", "Odbc"):
        section = configuration.get(name)
        if isinstance(section, Mapping) and section.get("EnableIndex"):
            return True
    return False


def _warm_stats() -> dict[str, int] | None:
    return dict(_warmers[0].stats.__dict__) if _warmers else None


def _start_warmer(store: Store, config: Config) -> Warmer:
    thumbnail = parse_params({"size": str(config.thumbnail_size)})

    def work(instance_id: str) -> None:
        warm(store, instance_id, thumbnail)

    def failed(instance_id: str, error: BaseException) -> None:
        sdk.log_info(f"Orthanc Previewer: no warm-up for instance {instance_id}: {error}")

    warmer = Warmer(work, failed)
    warmer.start()
    return warmer


def install(config: Config) -> Router:
    """Register every route of the table with Orthanc, and the callbacks."""
    shared = _shared_index(sdk.configuration())
    store = Store(dicom=_dicom_from_orthanc, version=sdk.instance_file_uuid,
                  cache=LruCache(config.cache_size_mb * 2**20),
                  max_megapixels=config.max_megapixels, encoder=config.png_encoder,
                  decode_slots=threading.Semaphore(config.decode_concurrency),
                  borrow=_borrowed_from_orthanc,
                  # Another server's changes to a shared index send no event here.
                  generation=None if shared else sdk.generation)
    router = Router(table.routes(store, _orthanc_rest_get, _resolver(_orthanc_rest_get),
                                 thumbnail_size=config.thumbnail_size, warmup=_warm_stats,
                                 rest_post=_orthanc_rest_post), sdk.log_error)

    def on_rest(output: sdk.RestOutput, url: str, request: sdk.HttpRequest) -> None:
        response = router.handle(request.method, url, request.query, request.headers, request.body)
        timing.mark("response")
        send(output, response)
        timing.mark("answer")
        if _trimmers:
            _trimmers[0].touch()

    # One registration for the whole table: Orthanc tests every registered
    # regex on every HTTP request (its own routes' too), and the router
    # matches the path again anyway.
    if not all(regex == PREFIX or regex.startswith(PREFIX + "/") for regex in router.regexes()):
        raise RuntimeError(f"a previewer route is outside {PREFIX}")
    sdk.register_rest_callback(PREFIX + "(/.*)?", on_rest, lock=config.serialize_requests)
    if config.core_routes:
        _answer_core_routes(store, config)
    if not sdk.deferred():   # when deferred, native/entry.c extended it with the same file
        sdk.extend_orthanc_explorer(static.EXPLORER_JS.read_text(encoding="utf-8"))
    handlers: dict[str, Handler] = {"deleted": store.forget}
    if config.warm_on_ingest:
        _warmers.append(_start_warmer(store, config))
        handlers["stored"] = _warmers[-1].submit
    _pumps.append(EventPump(handlers, sdk.log_error))
    _pumps[-1].start()
    return router


def _answer_core_routes(store: Store, config: Config) -> None:
    """Register Orthanc's own /preview and /rendered routes: plugins' callbacks come before core's."""
    core = Router(table.core_routes(store, _orthanc_rest_get), sdk.log_error)

    def on_core(output: sdk.RestOutput, url: str, request: sdk.HttpRequest) -> None:
        send(output, core.handle(request.method, url, request.query, request.headers, request.body))

    for regex in core.regexes():
        sdk.register_rest_callback(regex, on_core, lock=config.serialize_requests)
    sdk.log_warning("Orthanc Previewer: answering Orthanc's /instances/{id}/preview and /rendered (CoreRoutes)")


def _start_trimmer(interval: int) -> None:
    """Bound glibc's arenas and start giving freed heap back while requests come (:mod:`.memory`)."""
    if not sdk.set_arena_max(memory.arena_count()):
        sdk.log_warning("Orthanc Previewer: glibc refused to bound its arenas (M_ARENA_MAX)")
    trimmer = memory.Trimmer(sdk.trim_heap, interval)
    trimmer.start()
    _trimmers.append(trimmer)


def shutdown() -> None:
    """Stop the background threads (called from the plugin's Finalize)."""
    while _trimmers:
        _trimmers.pop().stop()
    while _pumps:
        _pumps.pop().stop()
    while _warmers:
        _warmers.pop().stop()


def _load_test_module(path: str, config: Config) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"previewer_test_module_{len(_modules)}", path)
    if spec is None or spec.loader is None:
        raise ConfigError(f'"Previewer.TestModules": cannot load {path!r}')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.install(config)
    return module


def initialize(context: Any) -> int:
    """Read the configuration and register everything; 1 on success, -1 on failure."""
    sdk.bind(context)
    # A fatal signal prints every Python thread's stack to stderr (Orthanc's log).
    faulthandler.enable(all_threads=True)
    try:
        config = from_section(sdk.configuration().get(SECTION, {}))
        sdk.log_warning(f"Orthanc Previewer {__version__}: {config.describe()}")
        if config.mmap_threshold_kb and not sdk.set_mmap_threshold(config.mmap_threshold_kb * 1024):
            sdk.log_warning("Orthanc Previewer: glibc refused the MmapThresholdKB setting")
        if config.memory_trim_seconds:
            _start_trimmer(config.memory_trim_seconds)
        output.use_gather(sdk.gather)   # the output step's table lookup in C (native/gather.c)
        output.use_window_table(sdk.window_table)   # and its window tables
        install(config)
        for path in config.test_modules:
            _modules.append(_load_test_module(path, config))
            sdk.log_warning(f"Orthanc Previewer: loaded test module {path}")
    except ConfigError as error:
        sdk.log_error(f"Orthanc Previewer: invalid configuration: {error}")
        return -1
    except BaseException:  # noqa: BLE001 - reported, and Orthanc refuses to start
        sdk.log_error(f"Orthanc Previewer: initialisation failed:\n{traceback.format_exc()}")
        return -1
    return 1


def finalize() -> None:
    """Stop background work before Orthanc unloads the plugin."""
    shutdown()
    for module in _modules:
        stop = getattr(module, "finalize", None)
        if stop is not None:
            stop()
