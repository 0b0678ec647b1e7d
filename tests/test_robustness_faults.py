"""Faults — failing or slow storage, deletion during a render,
exceptions in callbacks, and a restart under load.

The storage area is tests/probe_waits.py's Python one, whose reads the tests
hold and release, or make fail, through /probe/waits/reads; the callbacks'
exceptions are switched through the probe's /probe/faults (tests/plugin_probe.py).
No test asserts a duration: a slow read is one held until the test releases it,
and real time only bounds waits (``TIMEOUT``) that end much sooner.
"""
from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from pydicom.data import get_testdata_file

from conftest import CT_SMALL, MR_SMALL, MULTIFRAME_RGB, RGB_FILE
from orthanc_process import OrthancProcess

#: Seconds a request or a wait may take on a loaded machine before the test fails: a bound, not a goal.
TIMEOUT = 30


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory, plugin_path: Path) -> Iterator[OrthancProcess]:
    folder = tmp_path_factory.mktemp("faults")
    process = OrthancProcess(folder, previewer={"CacheSizeMB": 0, "WarmOnIngest": False},
                             extra={"PreviewerWaits": {"StorageArea": str(folder / "area")},
                                    "MaximumStorageCacheSize": 0})  # every read reaches the area
    process.start()
    yield process
    process.stop()


def _faults(process: OrthancProcess, **switches: float) -> None:
    query = "&".join(f"{k}={v}" for k, v in switches.items())
    assert process.get(f"/probe/faults?{query}").status_code == 200


def _reads(process: OrthancProcess, **switches: int) -> dict[str, Any]:
    """Switch the storage area's reads (hold=0|1, fail=0|1); its counters after the switch."""
    answer = process.get("/probe/waits/reads", params={k: str(v) for k, v in switches.items()})
    assert answer.status_code == 200
    return answer.json()  # type: ignore[no-any-return]


def _until_reads_held(process: OrthancProcess, count: int) -> None:
    """Until ``count`` reads wait in the held storage area (a render is inside its read)."""
    deadline = time.monotonic() + TIMEOUT
    while _reads(process)["waiting"] < count:
        assert time.monotonic() < deadline, f"fewer than {count} reads reached the storage area"
        time.sleep(0.05)


def test_failing_storage_reads_give_a_clear_error(faulty: OrthancProcess) -> None:
    """Reads that raise: a JSON error naming the failure (within the request's timeout, no hang), then
    normal service once fixed."""
    instance = faulty.upload(CT_SMALL)["ID"]
    _reads(faulty, fail=1)
    try:
        for suffix in ("/png", "/info", "/frames/0/png?format=gray16"):
            answer = faulty.http.get(f"{faulty.url}/previewer/instances/{instance}{suffix}", timeout=TIMEOUT)
            assert answer.status_code >= 400, suffix
            body = answer.json()
            assert body["error"] and body["status"] == answer.status_code
    finally:
        _reads(faulty, fail=0)
    assert faulty.get(f"/previewer/instances/{instance}/png").status_code == 200
    assert "probe: deliberate read failure" in faulty.log()


def test_slow_storage_delays_only_its_own_requests(faulty: OrthancProcess) -> None:
    """A read held in the storage area holds that render, not /previewer/stats nor Orthanc's own routes
    meanwhile; released, the render answers."""
    instance = faulty.upload(MR_SMALL)["ID"]
    _reads(faulty, hold=1)
    try:
        with ThreadPoolExecutor(1) as pool:
            slow = pool.submit(faulty.http.get, f"{faulty.url}/previewer/instances/{instance}/png",
                               timeout=TIMEOUT * 2)
            _until_reads_held(faulty, 1)
            quick = requests.get(f"{faulty.url}/previewer/stats", timeout=TIMEOUT)
            core = requests.get(f"{faulty.url}/system", timeout=TIMEOUT)
            assert quick.status_code == 200 and core.status_code == 200
            assert not slow.done()      # answered while the render still waits for its read
            _reads(faulty, hold=0)
            assert slow.result().status_code == 200
    finally:
        _reads(faulty, hold=0)


def test_instance_deleted_while_rendering(faulty: OrthancProcess) -> None:
    """Deleted while a render waits for its read: those requests succeed or are a 404, later ones are 404."""
    instance = faulty.upload(RGB_FILE)["ID"]
    _reads(faulty, hold=1)
    try:
        with ThreadPoolExecutor(4) as pool:
            renders = [pool.submit(requests.get, f"{faulty.url}/previewer/instances/{instance}{suffix}",
                                   timeout=TIMEOUT * 2) for suffix in ("/png", "/info", "/png?size=16")]
            _until_reads_held(faulty, 1)
            assert requests.delete(f"{faulty.url}/instances/{instance}", timeout=TIMEOUT).status_code == 200
            assert not all(future.done() for future in renders)
            _reads(faulty, hold=0)
            statuses = [future.result().status_code for future in renders]
    finally:
        _reads(faulty, hold=0)
    assert all(status in (200, 404) for status in statuses), statuses
    for suffix in ("/png", "/info", "/frames/0/png"):
        assert faulty.get(f"/previewer/instances/{instance}{suffix}").status_code == 404


def _log_count(process: OrthancProcess, text: str) -> int:
    return process.log().count(text)


def test_exception_in_stored_instance_callback(faulty: OrthancProcess) -> None:
    """Logged once with its traceback; the upload and later requests still work."""
    _faults(faulty, raise_stored=1)
    try:
        answer = faulty.http.post(f"{faulty.url}/instances", data=MULTIFRAME_RGB.read_bytes(), timeout=TIMEOUT)
    finally:
        _faults(faulty, raise_stored=0)
    log = faulty.log()
    marker = "RuntimeError: probe: deliberate failure in the stored-instance callback"
    assert log.count(marker) == 1
    assert "exception in stored-instance callback:\nTraceback" in log
    assert answer.status_code in (200, 500)  # Orthanc 1.10 reports a failing callback or ignores it
    assert faulty.get("/system").status_code == 200
    instance = faulty.upload(MULTIFRAME_RGB)["ID"]
    assert faulty.get(f"/previewer/instances/{instance}/frames/1/png").status_code == 200


def test_exception_in_change_callback(faulty: OrthancProcess) -> None:
    """A raising change callback is logged once; the cache still forgets deleted instances."""
    instance = faulty.upload(get_testdata_file("liver_1frame.dcm"))["ID"]
    assert faulty.get(f"/previewer/instances/{instance}/png").status_code == 200
    _faults(faulty, raise_change=1)
    try:
        assert requests.delete(f"{faulty.url}/instances/{instance}", timeout=TIMEOUT).status_code == 200
        deadline = time.monotonic() + TIMEOUT
        marker = f"RuntimeError: probe: deliberate failure in the change callback for {instance}"
        while _log_count(faulty, marker) == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        _faults(faulty, raise_change=0)
    assert _log_count(faulty, marker) == 1
    assert "exception in change callback:\nTraceback" in faulty.log()
    assert faulty.get(f"/previewer/instances/{instance}/png").status_code == 404
    assert faulty.get("/system").status_code == 200


def _hashes(process: OrthancProcess, ids: list[str]) -> dict[str, str]:
    out = {}
    for instance in ids:
        for query in ("", "?format=gray16", "?size=64", "?window=40,400"):
            answer = process.get(f"/previewer/instances/{instance}/png{query}")
            out[instance + query] = f"{answer.status_code}:{hashlib.sha1(answer.content).hexdigest()}"
    return out


def test_restart_under_load_keeps_images_and_rebuilds_caches(tmp_path: Path, plugin_path: Path) -> None:
    """SIGTERM while 8 clients render; after a restart the same bytes, and the cache fills again."""
    files = [CT_SMALL, MR_SMALL, RGB_FILE, MULTIFRAME_RGB]
    process = OrthancProcess(tmp_path).start()
    ids = [str(process.upload(path)["ID"]) for path in files]
    before = _hashes(process, ids)
    stop = threading.Event()
    errors: list[str] = []
    answered: list[int] = []

    def client(seed: int) -> None:
        with requests.Session() as http:
            i = seed
            while not stop.is_set():
                i += 1
                try:
                    answer = http.get(f"{process.url}/previewer/instances/{ids[i % len(ids)]}/png?size={16 + i % 200}",
                                      timeout=5)
                    if answer.status_code >= 500:
                        errors.append(f"{answer.status_code} {answer.text[:200]}")
                    answered.append(answer.status_code)
                except requests.RequestException:
                    pass  # the server is going away: expected

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + TIMEOUT
        while len(answered) < 16 and not errors:   # the clients are rendering: stop Orthanc under them
            assert time.monotonic() < deadline, f"only {len(answered)} renders answered"
            time.sleep(0.05)
        assert process.stop() == 0
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
        process.stop()
    assert not errors, errors[:5]
    again = OrthancProcess(tmp_path).start()
    try:
        assert again.get("/previewer/stats").json()["cache"]["entries"] == 0
        after = _hashes(again, ids)
        assert after == before
        assert again.get("/previewer/stats").json()["cache"]["entries"] > 0
        assert "Traceback" not in process.log()
    finally:
        again.stop()
