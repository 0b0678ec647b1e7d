"""Background warm-up of newly stored instances.

Orthanc's stored-instance callback only enqueues the instance ID (it never
waits: a full queue drops the request), and one worker thread decodes frame 0
into the cache and pre-renders the viewer's thumbnail.  Ingestion never waits
for rendering, and does not compete with it either: the worker starts only
once no instance has arrived for ``quiet`` seconds (a burst is ingested
first, then warmed), and it runs at the lowest CPU priority.
"""
from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class WarmupStats:
    queued: int = 0
    done: int = 0
    failed: int = 0
    dropped: int = 0


class Warmer:
    """A bounded queue of instance IDs and one daemon thread that calls ``work(id)``."""

    def __init__(self, work: Callable[[str], None], on_error: Callable[[str, BaseException], None],
                 capacity: int = 10000, quiet: float = 0.5) -> None:
        self._work = work
        self._quiet = quiet
        self._last_submit = 0.0
        self._on_error = on_error
        self._queue: queue.Queue[str | None] = queue.Queue(capacity)
        self._thread = threading.Thread(target=self._run, name="previewer-warmup", daemon=True)
        self.stats = WarmupStats()

    def start(self) -> None:
        self._thread.start()

    def submit(self, instance_id: str) -> bool:
        """Enqueue without waiting; False (and counted as dropped) when the queue is full."""
        self._last_submit = time.monotonic()
        try:
            self._queue.put_nowait(instance_id)
        except queue.Full:
            self.stats.dropped += 1
            return False
        self.stats.queued += 1
        return True

    def idle(self) -> bool:
        return self._queue.unfinished_tasks == 0

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the item at hand, drop the rest, and join the thread."""
        if not self._thread.is_alive():
            return
        while True:
            try:
                self._queue.get_nowait()
                self._queue.task_done()
            except queue.Empty:
                break
        self._queue.put(None)
        self._thread.join(timeout)

    def _wait_for_quiet(self) -> None:
        while (wait := self._last_submit + self._quiet - time.monotonic()) > 0:
            time.sleep(wait)

    def _run(self) -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)   # this thread only (Linux)
        except OSError:
            pass
        while True:
            instance_id = self._queue.get()
            try:
                if instance_id is None:
                    return
                self._wait_for_quiet()
                self._work(instance_id)
                self.stats.done += 1
            except BaseException as error:  # noqa: BLE001 - reported, the worker goes on
                self.stats.failed += 1
                self._on_error(instance_id or "", error)
            finally:
                self._queue.task_done()
