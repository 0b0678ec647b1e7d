"""A thread-safe LRU of decoded frames and small renders, bounded in bytes.

Keys start with the Orthanc instance ID: instances are immutable, so an entry
stays valid for as long as its instance exists, and :meth:`LruCache.forget`
drops every entry of an instance when Orthanc deletes it.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any



@dataclass
class Stats:
    hits: int = 0
    misses: int = 0
    evictions: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"hits": self.hits, "misses": self.misses, "evictions": self.evictions}


class LruCache:
    """Least-recently-used entries go first once ``limit_bytes`` is exceeded."""

    def __init__(self, limit_bytes: int) -> None:
        self.limit_bytes = limit_bytes
        self._entries: OrderedDict[tuple[Any, ...], tuple[Any, int]] = OrderedDict()
        self._by_instance: dict[str, set[tuple[Any, ...]]] = {}
        self._size = 0
        self._lock = threading.Lock()
        self._computing: dict[tuple[Any, ...], threading.Lock] = {}
        self.stats = Stats()

    @property
    def size_bytes(self) -> int:
        return self._size

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: tuple[Any, ...]) -> Any:
        """The value for ``key``, or None; a hit makes it the most recent."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.stats.misses += 1
                return None
            self._entries.move_to_end(key)
            self.stats.hits += 1
            return entry[0]

    def put(self, key: tuple[Any, ...], value: Any, size: int) -> None:
        """Store ``value`` (``size`` bytes); too large a value is not stored."""
        if size > self.limit_bytes:
            return
        with self._lock:
            self._drop(key)
            self._entries[key] = (value, size)
            self._by_instance.setdefault(key[0], set()).add(key)
            self._size += size
            while self._size > self.limit_bytes:
                oldest = next(iter(self._entries))
                self._drop(oldest)
                self.stats.evictions += 1

    def get_or_compute(self, key: tuple[Any, ...], compute: Callable[[], Any],
                       size: Callable[[Any], int]) -> Any:
        """The value for ``key``, computed once however many threads ask at the same time."""
        value = self.get(key)
        if value is not None:
            return value
        with self._lock:
            pending = self._computing.setdefault(key, threading.Lock())
        try:
            with pending:
                value = self.get(key)
                if value is None:
                    value = compute()
                    self.put(key, value, size(value))
                return value
        finally:
            with self._lock:
                if self._computing.get(key) is pending:
                    del self._computing[key]

    def forget(self, instance_id: str) -> int:
        """Drop every entry of an instance; the number dropped."""
        with self._lock:
            keys = list(self._by_instance.get(instance_id, ()))
            for key in keys:
                self._drop(key)
            return len(keys)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._by_instance.clear()
            self._size = 0

    def _drop(self, key: tuple[Any, ...]) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        self._size -= entry[1]
        keys = self._by_instance.get(key[0])
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._by_instance[key[0]]
