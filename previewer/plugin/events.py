"""The thread that takes Orthanc's events from the queue of native/events.c.

Orthanc's stored-instance and change callbacks only queue an instance ID in C
(they never take the GIL in Orthanc's threads, which can deadlock beside the
orthanc-python plugin); this thread hands each ID to the previewer's handlers.
"""
from __future__ import annotations

import threading
import traceback
from collections.abc import Callable, Mapping

from . import sdk

Handler = Callable[[str], object]


class EventPump:
    """One daemon thread calling ``handlers[kind](instance_id)`` for each queued event."""

    def __init__(self, handlers: Mapping[str, Handler], log_error: Callable[[str], None]) -> None:
        self._handlers = dict(handlers)
        self._log_error = log_error
        self._thread = threading.Thread(target=self._run, name="previewer-events", daemon=True)

    def start(self) -> None:
        sdk.watch_events(set(self._handlers))
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        sdk.close_events()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            try:
                event = sdk.next_event(1.0)
            except sdk.EventsClosed:
                return
            if event is None:
                continue
            kind, instance_id = event
            handler = self._handlers.get(kind)
            if handler is None:
                continue
            try:
                handler(instance_id)
            except Exception:  # noqa: BLE001 - one event's failure never stops the pump
                self._log_error(f"Orthanc Previewer: error handling the {kind} event of "
                                f"{instance_id}:\n{traceback.format_exc()}")
