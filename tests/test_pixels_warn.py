"""previewer.pixels.warn: per-thread warning capture that leaves no process-wide state behind."""
from __future__ import annotations

import random
import threading
import time
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from pixels_corpus import PYDICOM_DIR
from previewer.pixels import reader, warn


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Warnings that reach the hook in place before ours, which is this list's recorder."""
    seen: list[str] = []

    def previous(message: Any, category: Any, filename: Any, lineno: Any, file: Any = None,
                 line: Any = None) -> None:
        seen.append(str(message))

    monkeypatch.setattr(warnings, "showwarning", previous)
    monkeypatch.setattr(warn, "_shown_once", set())
    yield seen


def _warn_twice(text: str) -> None:
    for _ in range(2):
        warnings.warn(text, UserWarning, stacklevel=1)


def test_recorded_keeps_every_warning_of_the_block(shown: list[str]) -> None:
    """Repeated warnings from one line are all recorded ("always"), and none is shown."""
    with warn.recorded() as caught:
        _warn_twice("first")
        warnings.warn("second", RuntimeWarning, stacklevel=1)
    assert caught == ["first", "first", "second"]
    assert shown == []


def test_silenced_drops_warnings(shown: list[str]) -> None:
    """Nothing raised inside silenced() reaches the previous hook."""
    with warn.silenced():
        _warn_twice("dropped")
    assert shown == []


def test_nested_blocks_record_separately(shown: list[str]) -> None:
    """An inner block takes its own warnings; the outer one gets its list back."""
    with warn.recorded() as outer:
        warnings.warn("outer-1", UserWarning, stacklevel=1)
        with warn.recorded() as inner:
            warnings.warn("inner", UserWarning, stacklevel=1)
        warnings.warn("outer-2", UserWarning, stacklevel=1)
    assert (outer, inner) == (["outer-1", "outer-2"], ["inner"])


def test_warnings_outside_a_block_are_shown_once_per_location(shown: list[str]) -> None:
    """Outside any block a warning goes to the previous hook once per code location."""
    with warn.recorded():
        pass  # installs the hook
    _warn_twice("same line")
    warnings.warn("another line", UserWarning, stacklevel=1)
    assert shown == ["same line", "another line"]


def test_threads_each_get_their_own_warnings(shown: list[str]) -> None:
    """16 threads recording at once see exactly their own warnings, and nothing leaks."""
    failures: list[str] = []
    start = threading.Barrier(16)

    def worker(n: int) -> None:
        rng = random.Random(n)
        start.wait()
        for round_ in range(200):
            with warn.recorded() as caught:
                warnings.warn(f"{n}:{round_}", UserWarning, stacklevel=1)
                time.sleep(rng.random() / 10000)
            if caught != [f"{n}:{round_}"]:
                failures.append(f"thread {n} round {round_}: {caught}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert shown == []
    assert warnings.showwarning is warn._show


def test_parallel_reads_leave_the_warnings_machinery_as_it_was() -> None:
    """read_dataset in 16 threads on a file that warns installs no recorder for good.

    With warnings.catch_warnings this failed: a thread restored another's
    record list as the process's warning printer, which then grew for ever.
    """
    data = (PYDICOM_DIR / "badVR.dcm").read_bytes()
    with warn.recorded():
        pass
    impl_before = warnings._showwarnmsg_impl  # type: ignore[attr-defined]
    hook_before, filters_before = warnings.showwarning, list(warnings.filters)
    start = threading.Barrier(16)

    def worker() -> None:
        start.wait()
        for _ in range(100):
            reader.read_dataset(data)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert warnings._showwarnmsg_impl is impl_before  # type: ignore[attr-defined]
    assert warnings.showwarning is hook_before
    assert warnings.filters == filters_before
