"""Wall time per stage of a REST request, for ``benchmarks/request_path.py``.

Off unless :func:`enable` was called (only the benchmark's probe module,
loaded through ``"TestModules"``, does).  Off, :func:`mark` is one check of a
module global.  On, the REST callback calls :func:`begin` on entry and
:func:`end` on exit; each :func:`mark` in between closes a stage: the time
since the previous mark (or since entry) is spent in the stage it names.  A
name may come back (say "cache" before and after a decode); the benchmark
adds its intervals up.

Times are ``time.perf_counter_ns()``, that is CLOCK_MONOTONIC on Linux, the
clock a client on the same machine reads too: the client's send and receive
times and the plugin's marks are on one time line.
"""
from __future__ import annotations

import threading
import time
from collections import deque

#: One request: its URL and the (stage, end time in ns) marks, entry first.
Record = tuple[str, list[tuple[str, int]]]

_enabled = False
_local = threading.local()
_records: deque[Record] = deque(maxlen=10_000)
_lock = threading.Lock()


def enable(on: bool = True) -> None:
    """Start (or stop) recording the stages of every REST request."""
    global _enabled
    _enabled = on


def begin() -> None:
    """The REST callback was entered (its first Python line)."""
    if _enabled:
        _local.marks = [("entry", time.perf_counter_ns())]


def mark(stage: str) -> None:
    """The time since the previous mark was spent in ``stage``."""
    if _enabled:
        marks: list[tuple[str, int]] | None = getattr(_local, "marks", None)
        if marks is not None:
            marks.append((stage, time.perf_counter_ns()))


def end(url: str) -> None:
    """The REST callback returns to Orthanc: keep the request's record."""
    if _enabled:
        marks: list[tuple[str, int]] | None = getattr(_local, "marks", None)
        _local.marks = None
        if marks is not None:
            marks.append(("exit", time.perf_counter_ns()))
            with _lock:
                _records.append((url, marks))


def take() -> list[Record]:
    """The records kept since the last call (oldest first), and forget them."""
    with _lock:
        records = list(_records)
        _records.clear()
    return records
