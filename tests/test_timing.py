"""previewer.timing: the per-stage stamps of a request (benchmarks/request_path.py)."""
from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from previewer.plugin import timing


@pytest.fixture
def enabled() -> Iterator[None]:
    timing.take()
    timing.enable()
    yield
    timing.enable(False)
    timing.take()


class TestTiming:
    def test_off_records_nothing(self) -> None:
        """Disabled (the default), a whole request leaves no record."""
        timing.enable(False)
        timing.begin()
        timing.mark("parse")
        timing.end("/x")
        assert timing.take() == []

    def test_marks_in_order_between_entry_and_exit(self, enabled: None) -> None:
        """A record holds entry, the marks in order, then exit, with times that never decrease."""
        timing.begin()
        timing.mark("parse")
        timing.mark("decode")
        timing.end("/previewer/x")
        [(url, marks)] = timing.take()
        assert url == "/previewer/x"
        assert [stage for stage, _ in marks] == ["entry", "parse", "decode", "exit"]
        times = [t for _, t in marks]
        assert times == sorted(times)

    def test_take_forgets(self, enabled: None) -> None:
        """take() answers each record once."""
        timing.begin()
        timing.end("/a")
        assert len(timing.take()) == 1
        assert timing.take() == []

    def test_mark_outside_a_request_is_ignored(self, enabled: None) -> None:
        """A mark with no begin() in this thread (a background thread, say) records nothing."""
        worker = threading.Thread(target=timing.mark, args=("cache",))
        worker.start()
        worker.join()
        timing.end("/b")
        assert timing.take() == []

    def test_threads_keep_their_own_marks(self, enabled: None) -> None:
        """Two threads' requests do not mix their marks."""
        barrier = threading.Barrier(2)

        def request(name: str) -> None:
            timing.begin()
            barrier.wait()
            timing.mark(name)
            barrier.wait()
            timing.end("/" + name)

        threads = [threading.Thread(target=request, args=(n,)) for n in ("one", "two")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        records = dict(timing.take())
        assert [s for s, _ in records["/one"]] == ["entry", "one", "exit"]
        assert [s for s, _ in records["/two"]] == ["entry", "two", "exit"]
