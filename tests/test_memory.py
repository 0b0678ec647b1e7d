"""previewer.plugin.memory: the arena bound and the trimmer thread (no Orthanc: a counting trim)."""
from __future__ import annotations

import os
import time
from collections.abc import Callable

from previewer.plugin import memory

DEADLINE = 30.0   # a timeout for a loaded machine, not a speed goal


def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, "the trimmer thread did not get there"
        time.sleep(0.005)


def test_arena_count_is_two_per_usable_cpu() -> None:
    """The bound follows the CPUs this process may run on, never below 2."""
    assert memory.arena_count() == max(2, 2 * len(os.sched_getaffinity(0)))


def test_trims_only_after_requests_and_once_per_busy_interval() -> None:
    """Idle: no trim however long it waits; a touch gives one trim at the next wake-up, not one per touch."""
    calls: list[int] = []
    trimmer = memory.Trimmer(lambda: calls.append(1), interval=0.01)
    trimmer.start()
    try:
        _until(lambda: trimmer.checks >= 5)
        assert calls == [] and trimmer.trims == 0
        for _ in range(100):
            trimmer.touch()
        _until(lambda: trimmer.trims == 1)
        seen = trimmer.checks
        _until(lambda: trimmer.checks >= seen + 5)
        assert len(calls) == 1 and trimmer.trims == 1
        trimmer.touch()
        _until(lambda: trimmer.trims == 2)
    finally:
        trimmer.stop()
    assert not trimmer.running


def test_stop_ends_a_long_wait_at_once() -> None:
    """stop() wakes a thread that sleeps for an hour; nothing is trimmed after it."""
    trimmer = memory.Trimmer(lambda: None, interval=3600)
    trimmer.start()
    trimmer.touch()
    trimmer.stop(timeout=DEADLINE)
    assert not trimmer.running and trimmer.trims == 0
