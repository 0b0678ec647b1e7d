"""Per-thread capture of Python warnings, safe under Orthanc's many HTTP threads.

``warnings.catch_warnings`` swaps process-wide state (the filter list and
the function that shows a warning) on entry and puts it back on exit.  Two
threads inside it at once restore each other's state: in a live Orthanc one
thread's ``record=True`` list was left installed as the process's warning
printer, so that every later warning was appended to it for ever.

Here the process-wide state is set once: the filter action is "always"
(so that no ``__warningregistry__`` grows with every distinct message) and
one hook shows warnings.  A thread that asked for them with :func:`recorded`
gets them in its own list; other warnings are passed on to the previous
hook once per code location, as Python's "default" action would, with a set
bounded by the number of locations.
"""
from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

_local = threading.local()
_install_lock = threading.Lock()
#: The filter that ``warnings.simplefilter("always")`` puts first.
_ALWAYS = ("always", None, Warning, None, 0)
#: The hook that was in place before ours (warnings are passed on to it).
_previous: Any = warnings.showwarning
_shown_once: set[tuple[type[Warning], str, int]] = set()


def _show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
          file: TextIO | None = None, line: str | None = None) -> None:
    sink: list[str] | None = getattr(_local, "sink", None)
    if sink is not None:
        sink.append(str(message))
        return
    location = (category, filename, lineno)
    if location not in _shown_once:
        _shown_once.add(location)
        _previous(message, category, filename, lineno, file, line)


def _install() -> None:
    """Put the "always" filter first and our hook in place, unless they already are.

    Checked on every use, because other code (a test runner's own
    ``catch_warnings``, for one) may have put its state back since.
    """
    global _previous
    if warnings.showwarning is _show and warnings.filters[:1] == [_ALWAYS]:
        return
    with _install_lock:
        if warnings.showwarning is not _show:
            _previous = warnings.showwarning
            warnings.showwarning = _show
        if warnings.filters[:1] != [_ALWAYS]:
            warnings.simplefilter("always")


@contextmanager
def recorded() -> Iterator[list[str]]:
    """The messages of the warnings this thread raises inside the block, none shown."""
    _install()
    outer = getattr(_local, "sink", None)
    sink: list[str] = []
    _local.sink = sink
    try:
        yield sink
    finally:
        _local.sink = outer


@contextmanager
def silenced() -> Iterator[None]:
    """Drop the warnings this thread raises inside the block."""
    with recorded():
        yield
