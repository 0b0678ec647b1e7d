"""The background warm-up worker.

Nothing here asserts a duration: the worker's clock is replaced by one the test moves
(:class:`_Clock`), and real time is only a generous bound on waits that end much sooner.
"""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from types import SimpleNamespace

import pytest

from previewer.plugin import warmup
from previewer.plugin.warmup import Warmer

#: Real seconds a wait may take before the test fails: a bound, never the expected time.
TIMEOUT = 30.0


def _wait(condition: Callable[[], bool], timeout: float = TIMEOUT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


class _Clock:
    """A monotonic clock that only the test moves; ``sleep`` blocks until it has moved far enough."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeping_until: float | None = None
        self._changed = threading.Condition()

    def monotonic(self) -> float:
        with self._changed:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._changed:
            until = self.now + seconds
            self.sleeping_until = until
            self._changed.notify_all()
            woke = self._changed.wait_for(lambda: self.now >= until, timeout=TIMEOUT)
            self.sleeping_until = None
        assert woke, f"the clock never reached {until}"

    def advance(self, seconds: float) -> None:
        with self._changed:
            self.now += seconds
            self._changed.notify_all()

    def asleep_after_now(self) -> bool:
        """Whether someone sleeps until a time still to come (the worker waits for the clock)."""
        with self._changed:
            return self.sleeping_until is not None and self.sleeping_until > self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    """The warm-up module's clock, replaced by a :class:`_Clock`."""
    fake = _Clock()
    monkeypatch.setattr(warmup, "time", SimpleNamespace(monotonic=fake.monotonic, sleep=fake.sleep))
    return fake


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
        """While the worker is busy, a full queue drops the ID at once instead of blocking ingestion: of ten
        submits, the two that fit are queued and eight are dropped, and the submitting thread finishes."""
        busy, release = threading.Event(), threading.Event()

        def work(instance_id: str) -> None:
            busy.set()
            release.wait(TIMEOUT)
        warmer = Warmer(work, lambda i, e: None, capacity=2, quiet=0.0)
        warmer.start()
        try:
            warmer.submit("first")
            assert busy.wait(TIMEOUT)   # the worker holds "first"; the queue is empty again
            results: list[bool] = []
            submitter = threading.Thread(target=lambda: results.extend(warmer.submit(str(n)) for n in range(10)))
            submitter.start()
            submitter.join(TIMEOUT)     # a blocking submit would still be waiting for the worker here
            assert not submitter.is_alive() and not release.is_set()
            assert results == [True, True] + [False] * 8
            assert warmer.stats.dropped == 8 and warmer.stats.queued == 3
        finally:
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

    def test_work_waits_for_a_quiet_moment(self, clock: _Clock) -> None:
        """While instances keep arriving (one a second, quiet period 3 s), nothing is warmed; the worker waits
        until 3 s after the last one, then warms them all."""
        done: list[str] = []
        warmer = Warmer(done.append, lambda i, e: None, quiet=3.0)
        warmer.start()
        try:
            for n in range(5):
                warmer.submit(str(n))
                assert _wait(clock.asleep_after_now)   # the worker holds an ID and waits for the clock
                assert done == []
                clock.advance(1.0)
            clock.advance(1.0)                       # 2 s after the last arrival (at 4 s): still waiting
            assert _wait(clock.asleep_after_now) and done == []
            clock.advance(1.0)                       # 3 s after it
            assert _wait(lambda: len(done) == 5)
            assert done == ["0", "1", "2", "3", "4"]
        finally:
            clock.advance(1000.0)
            warmer.stop()

    def test_worker_runs_at_low_priority(self) -> None:
        """The worker thread runs at nice 19."""
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
