"""The byte-bounded LRU cache."""
from __future__ import annotations

import threading

from previewer.plugin.cache import LruCache


class TestLruCache:
    def test_get_returns_what_was_put(self) -> None:
        """A stored value comes back and counts as a hit."""
        cache = LruCache(100)
        cache.put(("a", 0), "frame", 10)
        assert cache.get(("a", 0)) == "frame"
        assert cache.stats.hits == 1 and cache.get(("b", 0)) is None and cache.stats.misses == 1

    def test_least_recently_used_goes_first(self) -> None:
        """Past the limit, the entry used longest ago is evicted."""
        cache = LruCache(30)
        cache.put(("a", 0), 1, 10)
        cache.put(("b", 0), 2, 10)
        cache.put(("c", 0), 3, 10)
        cache.get(("a", 0))
        cache.put(("d", 0), 4, 10)
        assert cache.get(("b", 0)) is None
        assert cache.get(("a", 0)) == 1 and cache.size_bytes == 30 and cache.stats.evictions == 1

    def test_too_large_is_not_stored(self) -> None:
        """A value larger than the whole cache is not kept."""
        cache = LruCache(10)
        cache.put(("a", 0), "big", 11)
        assert len(cache) == 0 and cache.size_bytes == 0

    def test_replacing_a_key_keeps_the_size_right(self) -> None:
        """Putting the same key again replaces it without double counting."""
        cache = LruCache(100)
        cache.put(("a", 0), 1, 40)
        cache.put(("a", 0), 2, 30)
        assert cache.size_bytes == 30 and cache.get(("a", 0)) == 2

    def test_forget_drops_every_entry_of_an_instance(self) -> None:
        """forget() removes all frames and renders of one instance only."""
        cache = LruCache(100)
        cache.put(("a", "frame", 0), 1, 10)
        cache.put(("a", "render", 0, "k"), 2, 10)
        cache.put(("b", "frame", 0), 3, 10)
        assert cache.forget("a") == 2
        assert cache.get(("a", "frame", 0)) is None and cache.get(("b", "frame", 0)) == 3
        assert cache.size_bytes == 10

    def test_zero_limit_disables(self) -> None:
        """CacheSizeMB 0 stores nothing."""
        cache = LruCache(0)
        cache.put(("a", 0), 1, 1)
        assert cache.get(("a", 0)) is None

    def test_parallel_use_keeps_the_bound(self) -> None:
        """Many threads putting and forgetting never break the byte bound."""
        cache = LruCache(1000)

        def work(name: str) -> None:
            for i in range(500):
                cache.put((name, i), i, 7)
                if i % 50 == 0:
                    cache.forget(name)
        threads = [threading.Thread(target=work, args=(f"i{n}",)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert cache.size_bytes <= 1000
        assert cache.size_bytes == 7 * len(cache)

    def test_get_or_compute_runs_once_for_parallel_callers(self) -> None:
        """Eight threads asking for the same missing key compute it once and all get it."""
        import time
        cache = LruCache(1000)
        calls: list[int] = []

        def compute() -> str:
            calls.append(1)
            time.sleep(0.05)
            return "value"
        results: list[str] = []
        threads = [threading.Thread(target=lambda: results.append(cache.get_or_compute(("a", 0), compute, len)))
                   for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert results == ["value"] * 8 and len(calls) == 1
