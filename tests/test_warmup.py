"""The background warm-up worker."""
from __future__ import annotations

import threading
import time

from previewer.warmup import Warmer


def _wait(condition: object, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


class TestWarmer:
    def test_work_runs_in_the_background(self) -> None:
        """Submitted IDs are processed by the worker thread."""
        seen: list[tuple[str, str]] = []
        warmer = Warmer(lambda i: seen.append((i, threading.current_thread().name)), lambda i, e: None)
        warmer.start()
        warmer.submit("a")
        warmer.submit("b")
        assert _wait(lambda: len(seen) == 2)
        assert {name for _, name in seen} == {"previewer-warmup"}
        warmer.stop()
        assert warmer.stats.done == 2

    def test_submit_never_waits(self) -> None:
        """A full queue drops the ID at once instead of blocking ingestion."""
        release = threading.Event()
        warmer = Warmer(lambda i: release.wait(), lambda i, e: None, capacity=2)
        warmer.start()
        started = time.monotonic()
        results = [warmer.submit(str(n)) for n in range(10)]
        assert time.monotonic() - started < 0.5
        assert results.count(False) >= 7 and warmer.stats.dropped == results.count(False)
        release.set()
        warmer.stop()

    def test_errors_are_reported_and_the_worker_goes_on(self) -> None:
        """An exception in work() is reported, and later IDs are still processed."""
        errors: list[str] = []
        done: list[str] = []

        def work(instance_id: str) -> None:
            if instance_id == "bad":
                raise ValueError("cannot decode")
            done.append(instance_id)
        warmer = Warmer(work, lambda i, e: errors.append(f"{i}: {e}"))
        warmer.start()
        for instance_id in ("bad", "good"):
            warmer.submit(instance_id)
        assert _wait(lambda: done == ["good"])
        warmer.stop()
        assert errors == ["bad: cannot decode"] and warmer.stats.failed == 1

    def test_stop_joins_the_thread(self) -> None:
        """stop() ends the worker thread."""
        warmer = Warmer(lambda i: None, lambda i, e: None)
        warmer.start()
        warmer.stop()
        assert not warmer._thread.is_alive()
