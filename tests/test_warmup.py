"""The background warm-up worker."""
from __future__ import annotations

import threading
import time

from previewer.plugin.warmup import Warmer


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
        warmer = Warmer(lambda i: seen.append((i, threading.current_thread().name)), lambda i, e: None, quiet=0.0)
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
        warmer = Warmer(lambda i: release.wait(), lambda i, e: None, capacity=2, quiet=0.0)
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
        warmer = Warmer(work, lambda i, e: errors.append(f"{i}: {e}"), quiet=0.0)
        warmer.start()
        for instance_id in ("bad", "good"):
            warmer.submit(instance_id)
        assert _wait(lambda: done == ["good"])
        warmer.stop()
        assert errors == ["bad: cannot decode"] and warmer.stats.failed == 1

    def test_work_waits_for_a_quiet_moment(self) -> None:
        """While instances keep arriving, nothing is warmed; after the quiet period, all are."""
        done: list[str] = []
        warmer = Warmer(done.append, lambda i, e: None, quiet=0.3)
        warmer.start()
        for n in range(5):
            warmer.submit(str(n))
            time.sleep(0.1)
        assert done == []
        assert _wait(lambda: len(done) == 5, timeout=3)
        warmer.stop()

    def test_worker_runs_at_low_priority(self) -> None:
        """The worker thread runs at nice 19."""
        import os
        seen: list[int] = []
        warmer = Warmer(lambda i: seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id())),
                        lambda i, e: None, quiet=0.0)
        warmer.start()
        warmer.submit("x")
        assert _wait(lambda: seen == [19])
        warmer.stop()

    def test_stop_joins_the_thread(self) -> None:
        """stop() ends the worker thread."""
        warmer = Warmer(lambda i: None, lambda i, e: None)
        warmer.start()
        warmer.stop()
        assert not warmer._thread.is_alive()
