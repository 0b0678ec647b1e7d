"""Memory the process no longer uses goes back to the system.

glibc's malloc keeps what is freed in its arenas' free lists; the pages stay
resident until a free chunk happens to lie at the top of an arena. Under a
steady mix of requests the frames, PNG buffers and numpy temporaries of
different sizes leave free chunks scattered through the heap, and the
resident size drifts up although the heap in use is flat (the soak of
tests/soak.py measures both). Two things bound that:

- the number of arenas (``M_ARENA_MAX``): each Orthanc HTTP thread would
  otherwise get one of up to 8 per core, each with its own fragments;
- a :class:`Trimmer` thread that calls ``malloc_trim(0)`` every
  ``interval`` seconds while requests are being answered, which hands the
  free pages inside every arena back (``madvise``), not only the top.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable

#: Arenas per CPU (glibc's default is 8).
ARENAS_PER_CPU = 2


def arena_count() -> int:
    """The arena bound: :data:`ARENAS_PER_CPU` per CPU this process may run on, at least 2."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(2, ARENAS_PER_CPU * cpus)


class Trimmer:
    """A daemon thread that calls ``trim()`` every ``interval`` s after :meth:`touch` was called."""

    def __init__(self, trim: Callable[[], object], interval: float) -> None:
        self._trim = trim
        self._interval = interval
        self._busy = False
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="previewer-trim", daemon=True)
        self.trims = 0
        self.checks = 0

    def start(self) -> None:
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def touch(self) -> None:
        """Note that a request was answered (a plain store: no lock, no wait)."""
        self._busy = True

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            self.checks += 1
            if self._busy:
                self._busy = False
                self._trim()
                self.trims += 1
